//! `/business/get-all`: page, search text, status and KYB filters, validated. Enum values
//! are matched in any letter case, as in every business request (SPEC §9).

use crate::error::{Collector, ErrorCode, ValidationErrors, Violation};
use crate::query::PageRequest;
use crate::status::{KycStatus, UserStatus};

/// `/business/get-all` as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawBusinessQuery {
    /// `page`.
    pub page: Option<u64>,
    /// `per_page`.
    pub per_page: Option<u64>,
    /// `search`: a case-insensitive substring of the name, `dba` or email.
    pub search: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `kyb_status`.
    pub kyb_status: Option<String>,
}

/// A validated business listing. Built only by [`BusinessQuery::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessQuery {
    page: PageRequest,
    search: Option<String>,
    status: Option<UserStatus>,
    kyb_status: Option<KycStatus>,
}

impl BusinessQuery {
    /// Longest search text.
    pub const MAX_SEARCH: usize = 128;

    /// Checks every rule, reporting every failing field.
    pub fn parse(raw: &RawBusinessQuery) -> Result<Self, ValidationErrors> {
        let mut e = Collector::default();
        let page = PageRequest::parse_into(raw.page, raw.per_page, &mut e);
        let search = e.optional("search", raw.search.as_deref(), |s| {
            let t = s.trim();
            if t.chars().count() > Self::MAX_SEARCH {
                Err(Violation::too_long(Self::MAX_SEARCH))
            } else if t.chars().any(char::is_control) {
                Err(Violation::new(
                    ErrorCode::InvalidFormat,
                    "must not contain control characters",
                ))
            } else {
                Ok(t.to_owned())
            }
        });
        let status = e.optional("status", raw.status.as_deref(), UserStatus::parse_any_case);
        let kyb_status = e.optional(
            "kyb_status",
            raw.kyb_status.as_deref(),
            KycStatus::parse_any_case,
        );
        e.finish()?;
        match (page, search, status, kyb_status) {
            (Some(page), Some(search), Some(status), Some(kyb_status)) => Ok(Self {
                page,
                search,
                status,
                kyb_status,
            }),
            _ => Err(crate::error::inconsistent()),
        }
    }

    /// The page.
    pub fn page(&self) -> PageRequest {
        self.page
    }
    /// Search text, trimmed, as given (echoed back).
    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }
    /// The search text case-folded, as the stored search text is.
    pub fn search_key(&self) -> Option<String> {
        self.search.as_deref().map(fold)
    }
    /// Status filter.
    pub fn status(&self) -> Option<UserStatus> {
        self.status
    }
    /// KYB filter.
    pub fn kyb_status(&self) -> Option<KycStatus> {
        self.kyb_status
    }
}

/// Case folding for search: lowercase (every script), as stored in `search_text`.
pub fn fold(text: &str) -> String {
    text.to_lowercase()
}

impl crate::Business {
    /// The text a search looks in: the legal name, `dba` and email, case-folded, one per line.
    pub fn search_text(&self) -> String {
        let p = self.profile();
        let mut parts = vec![p.name().as_str(), p.email().as_str()];
        if let Some(dba) = p.details().dba() {
            parts.push(dba.as_str());
        }
        fold(&parts.join("\n"))
    }
}
