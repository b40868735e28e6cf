//! Ways to reach a person: email address and E.164 phone number.

use email_address::{EmailAddress, Options};

use crate::error::{ErrorCode, Violation};

/// An email address: a valid ASCII addr-spec of at most 254 characters whose domain is a
/// DNS host name with a top-level domain. The domain is stored lowercase; the local part as given.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Longest accepted address (RFC 5321 path limit).
    pub const MAX: usize = 254;

    /// Parses and normalises an email address.
    ///
    /// ```
    /// use onboard_domain::{Email, ErrorCode};
    ///
    /// let email = Email::parse(" Jane.Doe@EXAMPLE.com ").unwrap();
    /// assert_eq!(email.as_str(), "Jane.Doe@example.com"); // trimmed, domain lowercased
    /// assert_eq!(email.unique_key(), "jane.doe@example.com");
    ///
    /// let refused = Email::parse("jane.doe@localhost").unwrap_err();
    /// assert_eq!(refused.code, ErrorCode::InvalidFormat);
    /// assert_eq!(Email::parse("").unwrap_err().code, ErrorCode::Required);
    /// ```
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        const BAD: Violation = Violation::new(
            ErrorCode::InvalidFormat,
            "must be a valid email address such as name@example.com",
        );
        let s = raw.trim();
        if s.is_empty() {
            return Err(Violation::required());
        }
        if s.len() > Self::MAX {
            return Err(Violation::too_long(Self::MAX));
        }
        if !s.is_ascii() || s.starts_with('"') {
            return Err(BAD);
        }
        let options = Options::default()
            .without_display_text()
            .without_domain_literal()
            .with_required_tld();
        let parsed = EmailAddress::parse_with_options(s, options).map_err(|_| BAD)?;
        let domain = parsed.domain().to_ascii_lowercase();
        if !is_host_name(&domain) {
            return Err(BAD);
        }
        Ok(Self(format!("{}@{domain}", parsed.local_part())))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key under which addresses are unique: the whole address lowercased.
    pub fn unique_key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// Dot-separated labels of `a-z 0-9 -` (no leading/trailing hyphen, ≤ 63 each), alphabetic TLD.
fn is_host_name(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_lowercase()))
}

/// A phone number in E.164: `+`, a country calling code that exists, 8–15 digits in all.
/// For `+1` (NANP) exactly 10 national digits whose area code and exchange start with 2–9.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    calling_code: u16,
}

impl PhoneNumber {
    /// Parses an E.164 number. No spaces or punctuation are accepted.
    ///
    /// ```
    /// use onboard_domain::{ErrorCode, PhoneNumber};
    ///
    /// let phone = PhoneNumber::parse("+442079460958").unwrap();
    /// assert_eq!(phone.calling_code(), 44);
    ///
    /// // Punctuation is not E.164; a +1 area code cannot start with 0 or 1.
    /// assert_eq!(PhoneNumber::parse("+1 212 555 1234").unwrap_err().code, ErrorCode::InvalidFormat);
    /// assert_eq!(PhoneNumber::parse("+11125551234").unwrap_err().code, ErrorCode::InvalidValue);
    /// ```
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Violation::required());
        }
        let Some(digits) = s.strip_prefix('+') else {
            return Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must be in E.164 format: '+' followed by digits, e.g. +12125551234",
            ));
        };
        if !digits.bytes().all(|b| b.is_ascii_digit()) || !(8..=15).contains(&digits.len()) {
            return Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must be in E.164 format: '+' and 8 to 15 digits, e.g. +12125551234",
            ));
        }
        if digits.starts_with('0') {
            return Err(Violation::new(
                ErrorCode::InvalidValue,
                "must start with an existing country calling code",
            ));
        }
        let calling_code = (1..=3)
            .filter_map(|n| digits.get(..n)?.parse::<u16>().ok())
            .find(|code| calling_code_exists(*code))
            .ok_or(Violation::new(
                ErrorCode::InvalidValue,
                "must start with an existing country calling code",
            ))?;
        if calling_code == 1 {
            let national = &digits.as_bytes()[1..];
            let nanp_ok = national.len() == 10
                && (b'2'..=b'9').contains(&national[0])
                && (b'2'..=b'9').contains(&national[3]);
            if !nanp_ok {
                return Err(Violation::new(
                    ErrorCode::InvalidValue,
                    "a +1 number needs 10 digits whose area code and exchange start with 2-9",
                ));
            }
        }
        Ok(Self {
            e164: s.to_owned(),
            calling_code,
        })
    }

    /// The number in E.164 (`+15555551234`).
    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// The country calling code (`1` for NANP).
    pub fn calling_code(&self) -> u16 {
        self.calling_code
    }

    /// Loads libphonenumber's metadata now: its first use compiles its patterns (tens of
    /// milliseconds of CPU), which a service does at start rather than in its first request.
    pub fn load_metadata() {
        let _ = calling_code_exists(1);
    }
}

/// Whether libphonenumber's metadata (through the `phonenumber` crate) knows this calling code.
fn calling_code_exists(code: u16) -> bool {
    phonenumber::metadata::DATABASE.by_code(&code).is_some()
}
