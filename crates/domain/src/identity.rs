//! Who a person is: username, date of birth, and the secrets SSN and EIN.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use zeroize::Zeroize;

use crate::error::{ErrorCode, Violation};

/// A username: 3–32 of `a-z A-Z 0-9 . _ -`, starting with a letter or digit.
/// Kept as given; unique per program case-insensitively (see [`Username::unique_key`]).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// Shortest accepted username.
    pub const MIN: usize = 3;
    /// Longest accepted username.
    pub const MAX: usize = 32;

    /// Parses a username.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Violation::required());
        }
        let charset_ok = s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        let first_ok = s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if !charset_ok || !first_ok {
            return Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must be letters, digits, '.', '_' or '-', starting with a letter or digit",
            ));
        }
        if s.len() < Self::MIN {
            return Err(Violation::too_short(Self::MIN));
        }
        if s.len() > Self::MAX {
            return Err(Violation::too_long(Self::MAX));
        }
        Ok(Self(s.to_owned()))
    }

    /// The username as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which usernames are unique: lowercase.
    pub fn unique_key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// Parses a strict `YYYY-MM-DD` calendar date.
pub(crate) fn parse_iso_date(raw: &str) -> Result<NaiveDate, Violation> {
    const BAD: Violation = Violation::new(
        ErrorCode::InvalidFormat,
        "must be a real calendar date in YYYY-MM-DD format",
    );
    let s = raw.trim();
    if s.is_empty() {
        return Err(Violation::required());
    }
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return Err(BAD);
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().map_err(|_| BAD);
    let year = i32::try_from(num(0..4)?).map_err(|_| BAD)?;
    NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?).ok_or(BAD)
}

/// The date on which someone born on `born` turns `years` old. A 29 February birthday
/// falls on 1 March in years without one.
pub fn anniversary(born: NaiveDate, years: u32) -> NaiveDate {
    let year = born
        .year()
        .saturating_add(i32::try_from(years).unwrap_or(i32::MAX));
    NaiveDate::from_ymd_opt(year, born.month(), born.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .unwrap_or(NaiveDate::MAX)
}

/// A date of birth: a real date, not in the future, not before 1900-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateOfBirth(NaiveDate);

impl DateOfBirth {
    /// The earliest accepted date of birth.
    pub const EARLIEST: NaiveDate = match NaiveDate::from_ymd_opt(1900, 1, 1) {
        Some(d) => d,
        None => NaiveDate::MIN,
    };

    /// Parses `YYYY-MM-DD` and checks range and minimum age against `today` (the caller's clock).
    pub fn parse(raw: &str, today: NaiveDate, min_age: u32) -> Result<Self, Violation> {
        let date = parse_iso_date(raw)?;
        Self::new(date, today, min_age)
    }

    /// Checks an already-parsed date.
    pub fn new(date: NaiveDate, today: NaiveDate, min_age: u32) -> Result<Self, Violation> {
        let dob = Self::from_record(date)?;
        if date > today {
            return Err(Violation::new(
                ErrorCode::OutOfRange,
                "must not be in the future",
            ));
        }
        if anniversary(date, min_age) > today {
            return Err(Violation::with_message(
                ErrorCode::Underage,
                format!("the person must be at least {min_age} years old"),
            ));
        }
        Ok(dob)
    }

    /// Rebuilds a stored date of birth: only the timeless rule (not before 1900) is checked,
    /// because age and "not in the future" were judged when it was accepted.
    pub fn from_record(date: NaiveDate) -> Result<Self, Violation> {
        if date < Self::EARLIEST {
            return Err(Violation::new(
                ErrorCode::OutOfRange,
                "must not be before 1900-01-01",
            ));
        }
        Ok(Self(date))
    }

    /// The date.
    pub fn date(&self) -> NaiveDate {
        self.0
    }

    /// `YYYY-MM-DD`.
    pub fn to_iso(&self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }
}

/// The last four digits of a secret number, safe to store and show.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Last4([u8; 4]);

impl Last4 {
    /// Parses four ASCII digits (as stored).
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let b = raw.as_bytes();
        if b.len() == 4 && b.iter().all(u8::is_ascii_digit) {
            Ok(Self([b[0], b[1], b[2], b[3]]))
        } else {
            Err(Violation::new(ErrorCode::InvalidFormat, "must be 4 digits"))
        }
    }

    /// The four digits.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("????")
    }
}

impl fmt::Debug for Last4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Last4({})", self.as_str())
    }
}

impl fmt::Display for Last4 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Strips the dashes of `layout` (positions of `-` in the dashed form) and returns the digits.
fn secret_digits(s: &str, dashed_at: &[usize], len: usize) -> Option<[u8; 9]> {
    let b = s.as_bytes();
    let plain = b.len() == len && b.iter().all(u8::is_ascii_digit);
    let dashed = b.len() == len + dashed_at.len()
        && b.iter().enumerate().all(|(i, c)| {
            if dashed_at.contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !plain && !dashed {
        return None;
    }
    let mut out = [0u8; 9];
    for (slot, digit) in out.iter_mut().zip(b.iter().filter(|c| c.is_ascii_digit())) {
        *slot = *digit;
    }
    Some(out)
}

/// A US Social Security Number: 9 digits, dashes of `AAA-GG-SSSS` optional on input and
/// removed. Area not 000, 666 or 900–999; group not 00; serial not 0000.
///
/// A secret: `Debug` prints `[redacted]`, there is no `Display`, the digits are zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Ssn([u8; 9]);

impl Ssn {
    /// Parses an SSN.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Violation::required());
        }
        let digits = secret_digits(s, &[3, 6], 9).ok_or(Violation::new(
            ErrorCode::InvalidFormat,
            "must be 9 digits, optionally as AAA-GG-SSSS",
        ))?;
        let ssn = Self(digits);
        let area = &digits[0..3];
        if area == b"000" || area == b"666" || area[0] == b'9' {
            return Err(Violation::new(
                ErrorCode::InvalidValue,
                "is not an issuable SSN: area 000, 666 and 900-999 are never assigned",
            ));
        }
        if &digits[3..5] == b"00" {
            return Err(Violation::new(
                ErrorCode::InvalidValue,
                "is not an issuable SSN: group 00 is never assigned",
            ));
        }
        if &digits[5..9] == b"0000" {
            return Err(Violation::new(
                ErrorCode::InvalidValue,
                "is not an issuable SSN: serial 0000 is never assigned",
            ));
        }
        Ok(ssn)
    }

    /// The nine digits without dashes, for encryption and blind indexing only.
    pub fn expose_digits(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The last four digits.
    pub fn last4(&self) -> Last4 {
        Last4([self.0[5], self.0[6], self.0[7], self.0[8]])
    }
}

impl fmt::Debug for Ssn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ssn([redacted])")
    }
}

impl Drop for Ssn {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// IRS campus prefixes that are assigned to EINs.
const EIN_PREFIXES: &[(u8, u8)] = &[
    (1, 6),
    (10, 16),
    (20, 27),
    (30, 48),
    (50, 68),
    (71, 77),
    (80, 88),
    (90, 95),
    (98, 99),
];

/// A US Employer Identification Number, `NN-NNNNNNN` (the dash optional on input), with an
/// IRS-assigned prefix. Stored as 9 digits.
///
/// A secret: `Debug` prints `[redacted]`, there is no `Display`, the digits are zeroized on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Ein([u8; 9]);

impl Ein {
    /// Parses an EIN.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Violation::required());
        }
        let digits = secret_digits(s, &[2], 9).ok_or(Violation::new(
            ErrorCode::InvalidFormat,
            "must be 9 digits as NN-NNNNNNN",
        ))?;
        let ein = Self(digits);
        let prefix = (digits[0] - b'0') * 10 + (digits[1] - b'0');
        if !EIN_PREFIXES
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&prefix))
        {
            return Err(Violation::new(
                ErrorCode::InvalidValue,
                "is not an EIN: the prefix is not assigned by the IRS",
            ));
        }
        Ok(ein)
    }

    /// The nine digits without the dash, for encryption and blind indexing only.
    pub fn expose_digits(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The last four digits.
    pub fn last4(&self) -> Last4 {
        Last4([self.0[5], self.0[6], self.0[7], self.0[8]])
    }
}

impl fmt::Debug for Ein {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ein([redacted])")
    }
}

impl Drop for Ein {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}
