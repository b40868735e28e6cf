//! Name preparation: what both a listed name and a searched name go through before scoring.
//!
//! - accents stripped (NFD, combining marks removed; `ß ø æ œ ł đ þ ı` spelled out in ASCII);
//! - lowercase;
//! - punctuation removed: `'`, `’`, `` ` `` and `.` are deleted (`O'Brien` → `obrien`,
//!   `P.C.C.` → `pcc`), any other non-alphanumeric character separates words (`AL-HASSAN` →
//!   `al hassan`, so that a user who writes the name with a space or a hyphen is found alike);
//! - an individual's `SURNAME, Given Names` reordered to `Given Names SURNAME` (the first comma
//!   only; a listed name without a comma is kept in its order).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A prepared name: lowercase ASCII-folded words separated by single spaces.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PreparedName(String);

impl PreparedName {
    /// Prepares a name as written (no reordering): a searched name, or a listed non-individual.
    pub fn new(raw: &str) -> Self {
        Self(fold(raw))
    }

    /// Prepares a listed individual's name: `SURNAME, Given` becomes `Given SURNAME`.
    pub fn individual(raw: &str) -> Self {
        match raw.split_once(',') {
            Some((surname, given)) if !given.trim().is_empty() && !surname.trim().is_empty() => {
                Self(fold(&format!("{given} {surname}")))
            }
            _ => Self::new(raw),
        }
    }

    /// A searched person's name from its parts, in the order first, middle, last.
    pub fn person<'a>(parts: impl IntoIterator<Item = &'a str>) -> Self {
        let joined: Vec<&str> = parts.into_iter().collect();
        Self::new(&joined.join(" "))
    }

    /// The prepared text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The words of the name.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.0.split(' ').filter(|t| !t.is_empty())
    }

    /// True when nothing is left to compare.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Folds to lowercase ASCII where a letter has an ASCII base, and normalises separators.
fn fold(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut pending_space = false;
    for c in raw.nfd() {
        if is_combining_mark(c) || matches!(c, '\'' | '’' | '‘' | '`' | '´' | '.') {
            continue;
        }
        let spelled = spell(c);
        if spelled.is_empty() {
            pending_space = true;
            continue;
        }
        if pending_space && !out.is_empty() {
            out.push(' ');
        }
        pending_space = false;
        out.push_str(&spelled);
    }
    out
}

/// A character's lowercase spelling, or nothing for a separator.
fn spell(c: char) -> String {
    let ascii = match c {
        'ß' | 'ẞ' => "ss",
        'ø' | 'Ø' => "o",
        'æ' | 'Æ' => "ae",
        'œ' | 'Œ' => "oe",
        'ł' | 'Ł' => "l",
        'đ' | 'Đ' | 'ð' | 'Ð' => "d",
        'þ' | 'Þ' => "th",
        'ı' => "i",
        _ if c.is_alphanumeric() => return c.to_lowercase().collect(),
        _ => "",
    };
    ascii.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn individuals_are_reordered_and_folded() {
        assert_eq!(
            PreparedName::individual("MORENO, Daniel").as_str(),
            "daniel moreno"
        );
        assert_eq!(
            PreparedName::individual("LOGAN MOREY, Elvis Angus").as_str(),
            "elvis angus logan morey"
        );
        assert_eq!(
            PreparedName::individual("KARADH AL-HASSAN").as_str(),
            "karadh al hassan"
        );
    }

    #[test]
    fn accents_case_and_punctuation_go() {
        assert_eq!(
            PreparedName::new("  José  Ñúñez-O'Brien ").as_str(),
            "jose nunez obrien"
        );
        assert_eq!(PreparedName::new("Straße Øre").as_str(), "strasse ore");
        assert_eq!(
            PreparedName::new("P.C.C. (SINGAPORE) PRIVATE LIMITED").as_str(),
            "pcc singapore private limited"
        );
        assert!(PreparedName::new(" - , ").is_empty());
    }

    #[test]
    fn a_person_is_joined_from_parts() {
        let name = PreparedName::person(["Álex", "J.", "Rivera"]);
        assert_eq!(name.tokens().collect::<Vec<_>>(), ["alex", "j", "rivera"]);
    }
}
