//! List queries: pages, filters and sort orders of `get-all` endpoints, validated.

use crate::error::{Collector, ErrorCode, ValidationErrors, Violation};
use crate::status::{ContactType, KycStatus, UserStatus};

/// A page request: `page` 1–1,000,000, `per_page` 1–500 (default 10). The page cap keeps the
/// offset a database integer (a larger one would overflow `BIGINT`) and bounds the rows a
/// deep page makes the database skip; beyond it, narrow the query with filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    page: u64,
    per_page: u64,
}

impl PageRequest {
    /// Largest page size.
    pub const MAX_PER_PAGE: u64 = 500;
    /// Page size when none is given.
    pub const DEFAULT_PER_PAGE: u64 = 10;
    /// Largest page number.
    pub const MAX_PAGE: u64 = 1_000_000;

    /// Parses a page and a page size (defaults 1 and 10), reporting each that fails.
    pub fn parse(page: Option<u64>, per_page: Option<u64>) -> Result<Self, ValidationErrors> {
        let mut c = Collector::default();
        let parsed = Self::parse_into(page, per_page, &mut c);
        c.finish()?;
        parsed.ok_or_else(crate::error::inconsistent)
    }

    pub(crate) fn parse_into(
        page: Option<u64>,
        per_page: Option<u64>,
        e: &mut Collector,
    ) -> Option<Self> {
        let page = e.take(
            "page",
            match page {
                None => Ok(1),
                Some(p) if (1..=Self::MAX_PAGE).contains(&p) => Ok(p),
                Some(_) => Err(Violation::new(
                    ErrorCode::OutOfRange,
                    "must be between 1 and 1000000",
                )),
            },
        );
        let per_page = e.take(
            "per_page",
            match per_page {
                None => Ok(Self::DEFAULT_PER_PAGE),
                Some(n) if (1..=Self::MAX_PER_PAGE).contains(&n) => Ok(n),
                Some(_) => Err(Violation::new(
                    ErrorCode::OutOfRange,
                    "must be between 1 and 500",
                )),
            },
        );
        Some(Self {
            page: page?,
            per_page: per_page?,
        })
    }

    /// Page number, from 1.
    pub fn page(&self) -> u64 {
        self.page
    }
    /// Page size.
    pub fn per_page(&self) -> u64 {
        self.per_page
    }
    /// Rows to skip.
    pub fn offset(&self) -> u64 {
        (self.page - 1).saturating_mul(self.per_page)
    }
}

/// How users are ordered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserSort {
    /// Newest first (default).
    #[default]
    CreatedDesc,
    /// Oldest first.
    CreatedAsc,
    /// By last name, A–Z.
    LastNameAsc,
    /// By last name, Z–A.
    LastNameDesc,
}

impl UserSort {
    /// Every order, the default first.
    pub const ALL: &'static [Self] = &[
        Self::CreatedDesc,
        Self::CreatedAsc,
        Self::LastNameAsc,
        Self::LastNameDesc,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedDesc => "created_at:desc",
            Self::CreatedAsc => "created_at:asc",
            Self::LastNameAsc => "last_name:asc",
            Self::LastNameDesc => "last_name:desc",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        match raw {
            "created_at:desc" => Ok(Self::CreatedDesc),
            "created_at:asc" => Ok(Self::CreatedAsc),
            "last_name:asc" => Ok(Self::LastNameAsc),
            "last_name:desc" => Ok(Self::LastNameDesc),
            _ => Err(Violation::new(
                ErrorCode::InvalidValue,
                "must be one of: created_at:desc created_at:asc last_name:asc last_name:desc",
            )),
        }
    }
}

/// `/user/get-all` as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(default))]
pub struct RawUserQuery {
    /// `page`.
    pub page: Option<u64>,
    /// `per_page`.
    pub per_page: Option<u64>,
    /// `email` (exact, case-insensitive).
    pub email: Option<String>,
    /// `search` (case-insensitive substring).
    pub search: Option<String>,
    /// `status`.
    pub status: Option<String>,
    /// `kyc_status`.
    pub kyc_status: Option<String>,
    /// `sort`.
    pub sort: Option<String>,
}

/// A validated `/user/get-all` query. Built only by [`UserQuery::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserQuery {
    page: PageRequest,
    email_key: Option<String>,
    search: Option<String>,
    status: Option<UserStatus>,
    kyc_status: Option<KycStatus>,
    sort: UserSort,
}

impl UserQuery {
    /// The page.
    pub fn page(&self) -> PageRequest {
        self.page
    }
    /// Exact email filter, lowercased (the unique key).
    pub fn email_key(&self) -> Option<&str> {
        self.email_key.as_deref()
    }
    /// Search text, trimmed, 1–128 characters, as given (echoed back).
    pub fn search(&self) -> Option<&str> {
        self.search.as_deref()
    }
    /// Status filter.
    pub fn status(&self) -> Option<UserStatus> {
        self.status
    }
    /// KYC filter.
    pub fn kyc_status(&self) -> Option<KycStatus> {
        self.kyc_status
    }
    /// Order.
    pub fn sort(&self) -> UserSort {
        self.sort
    }

    /// Longest search text.
    pub const MAX_SEARCH: usize = 128;

    /// Checks every rule, reporting every failing field.
    pub fn parse(raw: &RawUserQuery) -> Result<Self, ValidationErrors> {
        let mut e = Collector::default();
        let page = PageRequest::parse_into(raw.page, raw.per_page, &mut e);
        let email_key = e.optional("email", raw.email.as_deref(), |s| {
            crate::Email::parse(s).map(|m| m.unique_key())
        });
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
        let status = e.optional("status", raw.status.as_deref(), UserStatus::parse);
        let kyc_status = e.optional("kyc_status", raw.kyc_status.as_deref(), KycStatus::parse);
        let sort = e.optional("sort", raw.sort.as_deref(), UserSort::parse);
        e.finish()?;
        match (page, email_key, search, status, kyc_status, sort) {
            (
                Some(page),
                Some(email_key),
                Some(search),
                Some(status),
                Some(kyc_status),
                Some(sort),
            ) => Ok(Self {
                page,
                email_key,
                search,
                status,
                kyc_status,
                sort: sort.unwrap_or_default(),
            }),
            _ => Err(crate::error::inconsistent()),
        }
    }
}

/// `/business/customers/get-all` as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(default))]
pub struct RawContactQuery {
    /// `business_id`.
    pub business_id: Option<String>,
    /// `type`: `customers` or `vendors`.
    #[cfg_attr(feature = "serde", serde(rename = "type"))]
    pub contact_type: Option<String>,
    /// `page`.
    pub page: Option<u64>,
    /// `per_page`.
    pub per_page: Option<u64>,
}

/// A validated contact listing. Built only by [`ContactQuery::parse`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ContactQuery {
    business_id: crate::BusinessId,
    contact_type: Option<ContactType>,
    page: PageRequest,
}

impl ContactQuery {
    /// The business.
    pub fn business_id(&self) -> crate::BusinessId {
        self.business_id
    }
    /// Only customers or only vendors; `None` for both.
    pub fn contact_type(&self) -> Option<ContactType> {
        self.contact_type
    }
    /// The page.
    pub fn page(&self) -> PageRequest {
        self.page
    }

    /// Checks every rule.
    pub fn parse(raw: &RawContactQuery) -> Result<Self, ValidationErrors> {
        let mut e = Collector::default();
        let business_id = e.required(
            "business_id",
            raw.business_id.as_deref(),
            crate::BusinessId::parse,
        );
        // Any letter case, as every enum of a business request (SPEC §9).
        let contact_type = e.optional("type", raw.contact_type.as_deref(), |s| {
            match s.to_ascii_lowercase().as_str() {
                "customers" => Ok(ContactType::Customer),
                "vendors" => Ok(ContactType::Vendor),
                _ => Err(Violation::new(
                    ErrorCode::InvalidValue,
                    "must be customers or vendors",
                )),
            }
        });
        let page = PageRequest::parse_into(raw.page, raw.per_page, &mut e);
        e.finish()?;
        match (business_id, contact_type, page) {
            (Some(business_id), Some(contact_type), Some(page)) => Ok(Self {
                business_id,
                contact_type,
                page,
            }),
            _ => Err(crate::error::inconsistent()),
        }
    }
}
