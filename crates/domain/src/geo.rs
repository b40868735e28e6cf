//! Where a person lives: ISO 3166-1 country, ISO 3166-2 subdivision of that country, US ZIP code.

use crate::error::{ErrorCode, Violation};

/// An ISO 3166-1 alpha-2 country code, case-insensitive on input, stored uppercase.
/// Backed by the `rust_iso3166` tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Country(&'static str);

impl Country {
    /// Parses a two-letter country code.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Violation::required());
        }
        if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must be an ISO 3166-1 alpha-2 country code such as US",
            ));
        }
        let upper = s.to_ascii_uppercase();
        rust_iso3166::from_alpha2(&upper)
            .map(|c| Self(c.alpha2))
            .ok_or(Violation::new(
                ErrorCode::InvalidValue,
                "is not an ISO 3166-1 alpha-2 country code",
            ))
    }

    /// The uppercase alpha-2 code.
    pub fn as_str(&self) -> &'static str {
        self.0
    }
}

/// An ISO 3166-2 subdivision code of a given country, without the country prefix (`TX`),
/// case-insensitive on input, stored uppercase.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct State(String);

impl State {
    /// Parses a subdivision code and checks that it belongs to `country`.
    pub fn parse(raw: &str, country: Country) -> Result<Self, Violation> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Violation::required());
        }
        if !(1..=3).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must be an ISO 3166-2 subdivision code without the country prefix, such as TX",
            ));
        }
        let upper = s.to_ascii_uppercase();
        let full = format!("{}-{upper}", country.as_str());
        if rust_iso3166::iso3166_2::from_code(&full).is_some() {
            Ok(Self(upper))
        } else {
            Err(Violation::new(
                ErrorCode::NotInCountry,
                "is not an ISO 3166-2 subdivision of the given country",
            ))
        }
    }

    /// The uppercase code without country prefix (`TX`).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A US ZIP code: exactly five ASCII digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PostalCode(String);

impl PostalCode {
    /// Parses a ZIP code.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Violation::required());
        }
        if s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must be a 5-digit US ZIP code",
            ))
        }
    }

    /// The five digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A postal address as the user endpoints carry it; `state` is always a subdivision of `country`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub(crate) line_one: crate::AddressLine,
    pub(crate) line_two: Option<crate::AddressLine>,
    pub(crate) city: crate::City,
    pub(crate) state: State,
    pub(crate) country: Country,
    pub(crate) postal_code: PostalCode,
}

impl Address {
    /// Street line 1.
    pub fn line_one(&self) -> &crate::AddressLine {
        &self.line_one
    }
    /// Street line 2, if any.
    pub fn line_two(&self) -> Option<&crate::AddressLine> {
        self.line_two.as_ref()
    }
    /// City.
    pub fn city(&self) -> &crate::City {
        &self.city
    }
    /// Subdivision of [`Address::country`].
    pub fn state(&self) -> &State {
        &self.state
    }
    /// Country.
    pub fn country(&self) -> Country {
        self.country
    }
    /// ZIP code.
    pub fn postal_code(&self) -> &PostalCode {
        &self.postal_code
    }
}
