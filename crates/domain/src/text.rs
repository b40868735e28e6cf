//! Free-text fields with length and character rules: person names, address lines, cities.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::error::{ErrorCode, Violation};

/// Trims, rejects blank and control characters, and checks the length in characters.
pub(crate) fn bounded_text(raw: &str, max: usize) -> Result<String, Violation> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(Violation::required());
    }
    if trimmed.chars().any(char::is_control) {
        return Err(Violation::new(
            ErrorCode::InvalidFormat,
            "must not contain control characters",
        ));
    }
    if trimmed.chars().count() > max {
        return Err(Violation::too_long(max));
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The normalised value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<&str> for $name {
            type Error = Violation;
            fn try_from(raw: &str) -> Result<Self, Violation> {
                Self::parse(raw)
            }
        }
    };
}

text_newtype!(
    /// A first, middle or last name: 1–64 characters after trimming and NFC normalisation;
    /// letters of any script (with their combining marks), spaces, `-`, `'` and `.`, at least one letter.
    PersonName
);

impl PersonName {
    /// Longest accepted name, in characters.
    pub const MAX: usize = 64;

    /// Parses and normalises a name.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let nfc: String = raw.trim().nfc().collect();
        let text = bounded_text(&nfc, Self::MAX)?;
        let mut chars = text.chars();
        let first_ok = chars.next().is_some_and(|c| !is_combining_mark(c));
        let all_ok = text.chars().all(|c| {
            c.is_alphabetic() || is_combining_mark(c) || matches!(c, ' ' | '-' | '\'' | '.')
        });
        if !first_ok || !all_ok || !text.chars().any(char::is_alphabetic) {
            return Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must contain letters and only letters, spaces, '-', ''' or '.'",
            ));
        }
        Ok(Self(text))
    }
}

text_newtype!(
    /// A street address line: 1–128 characters after trimming, no control characters.
    AddressLine
);

impl AddressLine {
    /// Longest accepted line, in characters.
    pub const MAX: usize = 128;

    /// Parses and trims an address line.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        bounded_text(raw, Self::MAX).map(Self)
    }
}

text_newtype!(
    /// A city: 1–64 characters after trimming, no control characters.
    City
);

impl City {
    /// Longest accepted city, in characters.
    pub const MAX: usize = 64;

    /// Parses and trims a city.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        bounded_text(raw, Self::MAX).map(Self)
    }
}

text_newtype!(
    /// A business's legal name: 1–128 characters after trimming, no control characters.
    BusinessName
);

impl BusinessName {
    /// Longest accepted name, in characters.
    pub const MAX: usize = 128;

    /// Parses and trims a business name.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        bounded_text(raw, Self::MAX).map(Self)
    }
}

text_newtype!(
    /// Why a user was blocked: 1–256 characters after trimming, no control characters.
    Reason
);

impl Reason {
    /// Longest accepted reason, in characters.
    pub const MAX: usize = 256;

    /// Parses and trims a reason.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        bounded_text(raw, Self::MAX).map(Self)
    }
}

/// An optional text whose blank value means "none" (`middle_name`, `address_two`).
pub(crate) fn blank_is_none(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.trim().is_empty())
}
