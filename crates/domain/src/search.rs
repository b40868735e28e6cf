//! Search folding: the one case folding applied both to what is stored for search and to what
//! is searched, so that every database compares the same folded strings byte for byte.
//!
//! [`fold`] is NFC normalisation, Unicode lowercasing (full mappings, so `İ` and final sigma are
//! handled), then the case-folding cases that lowercasing leaves apart: `ß`/`ẞ` → `ss`,
//! `ς` → `σ`, and the Latin ligatures `ﬀ ﬁ ﬂ ﬃ ﬄ ﬅ ﬆ`. Accents are kept (`é` ≠ `e`): folding is
//! about case only. A [`SearchText`] is the folded fields of one record joined by
//! [`SEPARATOR`], which no search term can contain (control characters are refused), so a
//! match never spans two fields. A [`SearchTerm`] is a folded search text with what an index
//! needs: its trigrams (terms of at least [`SearchTerm::INDEXED`] characters) or, for shorter
//! terms, the bounds of a prefix range.

use unicode_normalization::UnicodeNormalization as _;

/// Between two fields of a stored search text (U+001F, the unit separator).
pub const SEPARATOR: char = '\u{1f}';

/// `text` folded for search: NFC, Unicode lowercase, then `ß` → `ss`, `ς` → `σ` and the Latin
/// ligatures expanded.
///
/// ```
/// use onboard_domain::search::fold;
/// assert_eq!(fold("Élodie"), "élodie");
/// assert_eq!(fold("E\u{301}LODIE"), "élodie"); // decomposed input, NFC output
/// assert_eq!(fold("Straße"), "strasse");
/// assert_eq!(fold("ΟΔΥΣΣΕΥΣ"), "οδυσσευσ");
/// ```
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfc().flat_map(char::to_lowercase) {
        match c {
            'ß' | 'ẞ' => out.push_str("ss"),
            'ς' => out.push('σ'),
            'ﬀ' => out.push_str("ff"),
            'ﬁ' => out.push_str("fi"),
            'ﬂ' => out.push_str("fl"),
            'ﬃ' => out.push_str("ffi"),
            'ﬄ' => out.push_str("ffl"),
            'ﬅ' | 'ﬆ' => out.push_str("st"),
            c => out.push(c),
        }
    }
    // Lowercasing can leave a sequence that is no longer composed (e.g. `İ` → `i` + U+0307).
    if out.is_ascii() {
        out
    } else {
        out.nfc().collect()
    }
}

/// The stored search text of one record: its folded fields, joined by [`SEPARATOR`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchText(String);

impl SearchText {
    /// The search text of `fields` (absent fields are left out).
    ///
    /// ```
    /// use onboard_domain::search::SearchText;
    /// let t = SearchText::of(["Élodie", "Müller", "e@x.io"].into_iter().map(Some));
    /// assert_eq!(t.as_str(), "élodie\u{1f}müller\u{1f}e@x.io");
    /// ```
    pub fn of<'a>(fields: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut out = String::new();
        for field in fields.into_iter().flatten() {
            if !out.is_empty() {
                out.push(SEPARATOR);
            }
            out.push_str(&fold(field));
        }
        Self(out)
    }

    /// The search text of a person: first and last name, email, username and phone number,
    /// in that order (the one definition, used by storage and by the migration's backfill).
    pub fn person(
        first_name: &str,
        last_name: &str,
        email: &str,
        username: Option<&str>,
        phone_number: &str,
    ) -> Self {
        Self::of([
            Some(first_name),
            Some(last_name),
            Some(email),
            username,
            Some(phone_number),
        ])
    }

    /// The text as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its distinct trigrams, in order of first appearance (what a trigram side table holds).
    pub fn trigrams(&self) -> Vec<[char; 3]> {
        trigrams(&self.0)
    }
}

impl From<SearchText> for String {
    fn from(t: SearchText) -> Self {
        t.0
    }
}

/// A search term, folded: what every backend looks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchTerm {
    folded: String,
    chars: usize,
}

impl SearchTerm {
    /// The shortest term a trigram index can serve; shorter terms are prefix searches.
    pub const INDEXED: usize = 3;

    /// The folded term, or `None` if nothing is left to search for.
    pub fn new(text: &str) -> Option<Self> {
        let folded = fold(text);
        let chars = folded.chars().count();
        (chars > 0).then_some(Self { folded, chars })
    }

    /// The folded text: a substring of a record's [`SearchText`] when the record matches.
    pub fn folded(&self) -> &str {
        &self.folded
    }

    /// Shorter than a trigram: served as a prefix of an indexed column, not a substring.
    pub fn is_short(&self) -> bool {
        self.chars < Self::INDEXED
    }

    /// Its distinct trigrams (empty for a short term).
    pub fn trigrams(&self) -> Vec<[char; 3]> {
        trigrams(&self.folded)
    }

    /// The exclusive upper bound of the strings starting with this term, in code-point (= UTF-8
    /// byte) order: the term with its last character incremented (a term ending in U+10FFFF
    /// drops it and increments the one before). `None` when every character is U+10FFFF: no
    /// upper bound is needed then.
    pub fn prefix_end(&self) -> Option<String> {
        let mut chars: Vec<char> = self.folded.chars().collect();
        while let Some(last) = chars.pop() {
            if let Some(next) = next_char(last) {
                chars.push(next);
                return Some(chars.into_iter().collect());
            }
        }
        None
    }
}

/// A trigram as one integer (21 bits per character), the key of a trigram side table.
pub fn trigram_code(t: [char; 3]) -> i64 {
    (i64::from(u32::from(t[0])) << 42)
        | (i64::from(u32::from(t[1])) << 21)
        | i64::from(u32::from(t[2]))
}

/// The next Unicode scalar value after `c` (skipping the surrogates).
fn next_char(c: char) -> Option<char> {
    let n = u32::from(c) + 1;
    char::from_u32(n).or_else(|| (n <= 0xE000).then_some('\u{E000}'))
}

/// The distinct trigrams of `text`, in order of first appearance.
pub fn trigrams(text: &str) -> Vec<[char; 3]> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<[char; 3]> = Vec::new();
    for w in chars.windows(3) {
        let t = [w[0], w[1], w[2]];
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn folding_is_unicode_case_folding() {
        assert_eq!(fold("ÉLODIE"), fold("élodie"));
        assert_eq!(fold("Ǆ"), "ǆ");
        assert_eq!(fold("İstanbul"), "i\u{307}stanbul");
        assert_eq!(fold("STRASSE"), fold("Straße"));
        assert_eq!(fold("ẞ"), "ss");
        assert_eq!(fold("ΣΊΣΥΦΟΣ"), fold("σίσυφος"));
        assert_eq!(fold("ﬁnn"), "finn");
        assert_eq!(fold("José"), "josé", "accents are kept");
        assert_eq!(fold("e\u{301}"), "é", "NFC");
    }

    #[test]
    fn folding_is_idempotent() {
        for s in [
            "Élodie",
            "İSTANBUL",
            "Straße",
            "ΣΊΣΥΦΟΣ",
            "ﬃ",
            "O'Neil",
            "+15555551234",
        ] {
            assert_eq!(fold(&fold(s)), fold(s), "{s}");
        }
    }

    #[test]
    fn terms_know_whether_a_trigram_index_serves_them() {
        assert!(
            SearchTerm::new("  ").is_some(),
            "spaces are searched as given"
        );
        assert!(SearchTerm::new("").is_none());
        let short = SearchTerm::new("Ng").unwrap();
        assert!(short.is_short());
        assert!(short.trigrams().is_empty());
        assert_eq!(short.prefix_end().as_deref(), Some("nh"));
        let long = SearchTerm::new("Élodi").unwrap();
        assert!(!long.is_short());
        assert_eq!(
            long.trigrams(),
            [['é', 'l', 'o'], ['l', 'o', 'd'], ['o', 'd', 'i']]
        );
        assert_eq!(
            SearchTerm::new("aaaa").unwrap().trigrams(),
            [['a', 'a', 'a']]
        );
    }

    #[test]
    fn prefix_ends_bound_exactly_the_strings_with_the_prefix() {
        let end = |s: &str| SearchTerm::new(s).unwrap().prefix_end();
        assert_eq!(end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(end("\u{D7FF}").as_deref(), Some("\u{E000}"));
        assert_eq!(end("\u{10FFFF}"), None);
        let e = end("mü").unwrap();
        for s in ["mü", "müller", "mü\u{10FFFE}"] {
            assert!(s >= "mü" && s < e.as_str(), "{s}");
        }
        assert_eq!(e, "mý", "ü + 1");
        assert!("mz" < "mü", "outside below");
    }
}
