//! The optional details of a business beyond §3.2 (SPEC §9): `dba`, `naics_code`,
//! `business_industry`, `business_description`, `website`, `support_email`,
//! `support_phone_number`. Each has a rule and a stable code like the user's fields; `""`
//! means none (as `business_address_2`), so that an update can clear it.

use crate::error::{Collector, ErrorCode, Violation};
use crate::text::{blank_is_none, bounded_text};
use crate::{Email, PhoneNumber};

use super::RawNewBusiness;

/// A short free text (`dba`, `business_industry`): 1–128 characters after trimming, no
/// control characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ShortText(String);

impl ShortText {
    /// Longest accepted text, in characters.
    pub const MAX: usize = 128;

    /// Parses and trims.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        bounded_text(raw, Self::MAX).map(Self)
    }
    /// The trimmed text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A NAICS code: exactly six ASCII digits whose first two are a NAICS sector (11, 21, 22,
/// 23, 31–33, 42, 44–45, 48–49, 51–56, 61, 62, 71, 72, 81, 92).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NaicsCode(String);

impl NaicsCode {
    /// The two-digit sectors of NAICS.
    const SECTORS: [u8; 24] = [
        11, 21, 22, 23, 31, 32, 33, 42, 44, 45, 48, 49, 51, 52, 53, 54, 55, 56, 61, 62, 71, 72, 81,
        92,
    ];

    /// Parses a trimmed six-digit code.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let t = raw.trim();
        if t.len() != 6 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must be a 6-digit NAICS code",
            ));
        }
        let sector = t
            .get(..2)
            .and_then(|s| s.parse::<u8>().ok())
            .unwrap_or_default();
        if !Self::SECTORS.contains(&sector) {
            return Err(Violation::new(
                ErrorCode::InvalidValue,
                "must start with a NAICS sector (11, 21, 22, 23, 31-33, 42, 44-45, 48-49, 51-56, 61, 62, 71, 72, 81 or 92)",
            ));
        }
        Ok(Self(t.to_owned()))
    }
    /// The six digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A business description: 1–1,000 characters after trimming; line breaks and tabs are
/// allowed, other control characters are not.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Description(String);

impl Description {
    /// Longest accepted description, in characters.
    pub const MAX: usize = 1000;

    /// Parses and trims.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let t = raw.trim();
        if t.is_empty() {
            return Err(Violation::required());
        }
        if t.chars()
            .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        {
            return Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must not contain control characters other than line breaks and tabs",
            ));
        }
        if t.chars().count() > Self::MAX {
            return Err(Violation::too_long(Self::MAX));
        }
        Ok(Self(t.to_owned()))
    }
    /// The trimmed text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A website: an `https://` URL of at most 2,048 characters whose host is a DNS name with
/// at least one dot (letters, digits and `-` in each label, a letter-only top label), with
/// an optional port, path, query and fragment; no user name or password, no spaces.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Website(String);

impl Website {
    /// Longest accepted URL, in characters.
    pub const MAX: usize = 2048;

    /// Parses a trimmed URL.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let t = raw.trim();
        if t.chars().count() > Self::MAX {
            return Err(Violation::too_long(Self::MAX));
        }
        let not_https = || Violation::new(ErrorCode::InvalidFormat, "must be an https:// URL");
        let scheme = t.get(..8).ok_or_else(not_https)?;
        if !scheme.eq_ignore_ascii_case("https://") {
            return Err(not_https());
        }
        let rest = &t[8..];
        if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must not contain spaces or control characters",
            ));
        }
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let bad_host = || {
            Violation::new(
                ErrorCode::InvalidFormat,
                "must name a host such as https://www.example.com (no user name or password)",
            )
        };
        if authority.contains('@') {
            return Err(bad_host());
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if port.is_some_and(|p| {
            !p.bytes().all(|b| b.is_ascii_digit()) || p.parse::<u16>().map_or(true, |n| n == 0)
        }) {
            return Err(bad_host());
        }
        let labels: Vec<&str> = host.split('.').collect();
        let label_ok = |l: &&str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        let top_ok = labels
            .last()
            .is_some_and(|l| l.len() >= 2 && l.bytes().all(|b| b.is_ascii_alphabetic()));
        if labels.len() < 2 || host.len() > 253 || !labels.iter().all(label_ok) || !top_ok {
            return Err(bad_host());
        }
        Ok(Self(t.to_owned()))
    }
    /// The URL as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The optional details of a business. Built only inside a business's parse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BusinessDetails {
    dba: Option<ShortText>,
    naics_code: Option<NaicsCode>,
    industry: Option<ShortText>,
    description: Option<Description>,
    website: Option<Website>,
    support_email: Option<Email>,
    support_phone_number: Option<PhoneNumber>,
}

impl BusinessDetails {
    /// Parses the seven fields of `raw`, recording each failure in `e` (in input order).
    pub(crate) fn parse_into(raw: &RawNewBusiness, e: &mut Collector) -> Option<Self> {
        let text = |v: &Option<String>| blank_is_none(v.as_deref()).map(str::to_owned);
        let dba = e.optional("dba", text(&raw.dba).as_deref(), ShortText::parse);
        let naics_code = e.optional(
            "naics_code",
            text(&raw.naics_code).as_deref(),
            NaicsCode::parse,
        );
        let industry = e.optional(
            "business_industry",
            text(&raw.business_industry).as_deref(),
            ShortText::parse,
        );
        let description = e.optional(
            "business_description",
            text(&raw.business_description).as_deref(),
            Description::parse,
        );
        let website = e.optional("website", text(&raw.website).as_deref(), Website::parse);
        let support_email = e.optional(
            "support_email",
            text(&raw.support_email).as_deref(),
            Email::parse,
        );
        let support_phone_number = e.optional(
            "support_phone_number",
            text(&raw.support_phone_number).as_deref(),
            PhoneNumber::parse,
        );
        Some(Self {
            dba: dba?,
            naics_code: naics_code?,
            industry: industry?,
            description: description?,
            website: website?,
            support_email: support_email?,
            support_phone_number: support_phone_number?,
        })
    }

    /// Writes the details back into `raw`'s fields.
    pub(crate) fn fill_raw(&self, raw: &mut RawNewBusiness) {
        raw.dba = self.dba.as_ref().map(|v| v.as_str().to_owned());
        raw.naics_code = self.naics_code.as_ref().map(|v| v.as_str().to_owned());
        raw.business_industry = self.industry.as_ref().map(|v| v.as_str().to_owned());
        raw.business_description = self.description.as_ref().map(|v| v.as_str().to_owned());
        raw.website = self.website.as_ref().map(|v| v.as_str().to_owned());
        raw.support_email = self.support_email.as_ref().map(|v| v.as_str().to_owned());
        raw.support_phone_number = self
            .support_phone_number
            .as_ref()
            .map(|v| v.as_str().to_owned());
    }

    /// `dba`.
    pub fn dba(&self) -> Option<&ShortText> {
        self.dba.as_ref()
    }
    /// `naics_code`.
    pub fn naics_code(&self) -> Option<&NaicsCode> {
        self.naics_code.as_ref()
    }
    /// `business_industry`.
    pub fn industry(&self) -> Option<&ShortText> {
        self.industry.as_ref()
    }
    /// `business_description`.
    pub fn description(&self) -> Option<&Description> {
        self.description.as_ref()
    }
    /// `website`.
    pub fn website(&self) -> Option<&Website> {
        self.website.as_ref()
    }
    /// `support_email`.
    pub fn support_email(&self) -> Option<&Email> {
        self.support_email.as_ref()
    }
    /// `support_phone_number`.
    pub fn support_phone_number(&self) -> Option<&PhoneNumber> {
        self.support_phone_number.as_ref()
    }
}
