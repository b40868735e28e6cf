//! Valid example data for tests (feature `fixtures`): the seed user and business, numbered so that many coexist.
//!
//! [`SeedUser::example`] is the body of the create-user documentation's example with a valid
//! SSN; [`SeedUser::new`]`(n)` is the same person with an email, a username and an SSN of
//! its own, so that users `1`, `2`, … can be created side by side in one program. Both always
//! pass [`NewUser::parse`](crate::NewUser::parse) (for a date of birth of 1980, any `today`
//! from 1998 on). [`SeedBusiness`] does the same for businesses. Modifiers change what a test
//! is about; anything else can be changed through [`SeedUser::with`] or on the
//! [`RawNewUser`] that [`SeedUser::raw`] returns. Nothing here panics.

use zeroize::Zeroizing;

use crate::{RawMetaEntry, RawNewBusiness, RawNewUser};

#[cfg(feature = "serde")]
mod json;
pub mod screening;

/// A valid, dashed SSN (`AAA-GG-SSSS`) unique to `n` for `n` below 801,000: area 100–599,
/// group 10–98, serial 1000–9999.
pub fn ssn(n: u32) -> String {
    format!(
        "{:03}-{:02}-{:04}",
        100 + n % 500,
        10 + (n / 500) % 89,
        1000 + n % 9000
    )
}

/// A valid EIN (`12-NNNNNNN`) unique to `n` for `n` below 6,544,000; `ein(789)` is the
/// example's `12-3456789`.
pub fn ein(n: u32) -> String {
    format!("12-{:07}", (3_456_000 + u64::from(n)) % 10_000_000)
}

/// `Some(v.to_owned())`: raw inputs are optional strings.
#[allow(clippy::unnecessary_wraps)]
fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// Builds a [`RawNewUser`] that parses: the seed person, numbered or not, and what a test
/// changes about it.
///
/// ```
/// use onboard_domain::fixtures::{SeedUser, ssn};
///
/// let raw = SeedUser::new(6).raw();
/// assert_eq!(raw.email.as_deref(), Some("jane.doe6@example.com"));
/// assert_eq!(raw.username.as_deref(), Some("janedoe6"));
/// assert_eq!(raw.ssn.as_ref().map(|s| s.as_str()), Some(ssn(6).as_str()));
/// assert_eq!(raw.address_one.as_deref(), Some("100 Innovation Way"));
///
/// let bare = SeedUser::new(7).without_ssn().without_date_of_birth().raw();
/// assert!(bare.ssn.is_none() && bare.date_of_birth.is_none());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedUser(RawNewUser);

impl SeedUser {
    /// The documentation's example body (`seed/create-user-endpoint.txt`, without `api_key`)
    /// with the valid SSN `123-45-6789`: Alex Rivera, `jane.doe@example.com`, `janedoe`,
    /// born 1980-04-20, 100 Innovation Way, Suite 100, Anytown TX 30044 US, `+15555551234`,
    /// terms accepted, one meta entry `external_ref` = `customer-001`, no middle name (`""`).
    pub fn example() -> Self {
        Self(RawNewUser {
            first_name: s("Alex"),
            middle_name: s(""),
            last_name: s("Rivera"),
            email: s("jane.doe@example.com"),
            phone_number: s("+15555551234"),
            address_one: s("100 Innovation Way"),
            address_two: s("Suite 100"),
            city: s("Anytown"),
            state: s("TX"),
            country: s("US"),
            postal_code: s("30044"),
            username: s("janedoe"),
            date_of_birth: s("1980-04-20"),
            ssn: s("123-45-6789").map(Zeroizing::new),
            terms_accepted: Some(true),
            meta_data: Some(vec![RawMetaEntry {
                name: s("external_ref"),
                value: s("customer-001"),
            }]),
            business_id: None,
            is_vendor: None,
        })
    }

    /// Seed user `n`: the [`example`](Self::example) with email `jane.doe{n}@example.com`,
    /// username `janedoe{n}` and SSN [`ssn(n)`](ssn) — unique per `n` (below 801,000).
    pub fn new(n: u32) -> Self {
        Self(RawNewUser {
            email: Some(format!("jane.doe{n}@example.com")),
            username: Some(format!("janedoe{n}")),
            ssn: Some(Zeroizing::new(ssn(n))),
            ..Self::example().0
        })
    }

    /// Another email.
    #[must_use]
    pub fn email(mut self, email: impl Into<String>) -> Self {
        self.0.email = Some(email.into());
        self
    }

    /// Another username.
    #[must_use]
    pub fn username(mut self, username: impl Into<String>) -> Self {
        self.0.username = Some(username.into());
        self
    }

    /// Another SSN.
    #[must_use]
    pub fn ssn(mut self, ssn: impl Into<String>) -> Self {
        self.0.ssn = Some(Zeroizing::new(ssn.into()));
        self
    }

    /// Another last name.
    #[must_use]
    pub fn last_name(mut self, last_name: impl Into<String>) -> Self {
        self.0.last_name = Some(last_name.into());
        self
    }

    /// Adds a meta entry after the present ones.
    #[must_use]
    pub fn meta(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0
            .meta_data
            .get_or_insert_with(Vec::new)
            .push(RawMetaEntry {
                name: Some(name.into()),
                value: Some(value.into()),
            });
        self
    }

    /// No `meta_data` (absent).
    #[must_use]
    pub fn without_meta_data(mut self) -> Self {
        self.0.meta_data = None;
        self
    }

    /// No `ssn` (absent).
    #[must_use]
    pub fn without_ssn(mut self) -> Self {
        self.0.ssn = None;
        self
    }

    /// No `date_of_birth` (absent).
    #[must_use]
    pub fn without_date_of_birth(mut self) -> Self {
        self.0.date_of_birth = None;
        self
    }

    /// No `terms_accepted` (absent).
    #[must_use]
    pub fn without_terms(mut self) -> Self {
        self.0.terms_accepted = None;
        self
    }

    /// Linked to the business `id` (its `buss-…` text) as a customer.
    #[must_use]
    pub fn customer_of(mut self, id: impl Into<String>) -> Self {
        self.0.business_id = Some(id.into());
        self.0.is_vendor = None;
        self
    }

    /// Linked to the business `id` (its `buss-…` text) as a vendor.
    #[must_use]
    pub fn vendor_of(mut self, id: impl Into<String>) -> Self {
        self.0.business_id = Some(id.into());
        self.0.is_vendor = Some(true);
        self
    }

    /// Any other change, made on the raw input.
    #[must_use]
    pub fn with(mut self, change: impl FnOnce(&mut RawNewUser)) -> Self {
        change(&mut self.0);
        self
    }

    /// The raw input, for [`NewUser::parse`](crate::NewUser::parse) (or, with the `serde`
    /// feature, to send as JSON: absent fields are omitted).
    pub fn raw(self) -> RawNewUser {
        self.0
    }
}

impl From<SeedUser> for RawNewUser {
    fn from(seed: SeedUser) -> Self {
        seed.0
    }
}

/// Builds a [`RawNewBusiness`] that parses: the seed business, numbered or not.
///
/// ```
/// use onboard_domain::fixtures::{SeedBusiness, ein};
///
/// let raw = SeedBusiness::new(1).raw();
/// assert_eq!(raw.business_name.as_deref(), Some("Acme 1 LLC"));
/// assert_eq!(raw.ein.as_ref().map(|e| e.as_str()), Some(ein(1).as_str()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeedBusiness(RawNewBusiness);

impl SeedBusiness {
    /// Acme Widgets LLC, `ops@acme.example`, `+12125551234`, 1 Main St, Austin TX 73301 US,
    /// EIN `12-3456789`, an `llc` incorporated in DE on 2015-06-01; no second address line,
    /// no meta_data.
    pub fn example() -> Self {
        Self(RawNewBusiness {
            business_name: s("Acme Widgets LLC"),
            email: s("ops@acme.example"),
            phone_number: s("+12125551234"),
            business_address: s("1 Main St"),
            business_address_2: None,
            city: s("Austin"),
            state: s("TX"),
            zipcode: s("73301"),
            country: s("US"),
            ein: s("12-3456789").map(Zeroizing::new),
            business_type: s("llc"),
            incorporated_date: s("2015-06-01"),
            incorporated_state: s("DE"),
            meta_data: None,
            ..RawNewBusiness::default()
        })
    }

    /// Seed business `n`: the [`example`](Self::example) named `Acme {n} LLC` with EIN
    /// [`ein(n)`](ein).
    pub fn new(n: u32) -> Self {
        Self(RawNewBusiness {
            business_name: Some(format!("Acme {n} LLC")),
            ein: Some(Zeroizing::new(ein(n))),
            ..Self::example().0
        })
    }

    /// Adds a meta entry after the present ones.
    #[must_use]
    pub fn meta(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.0
            .meta_data
            .get_or_insert_with(Vec::new)
            .push(RawMetaEntry {
                name: Some(name.into()),
                value: Some(value.into()),
            });
        self
    }

    /// Any other change, made on the raw input.
    #[must_use]
    pub fn with(mut self, change: impl FnOnce(&mut RawNewBusiness)) -> Self {
        change(&mut self.0);
        self
    }

    /// The raw input, for [`NewBusiness::parse`](crate::NewBusiness::parse) (or, with the
    /// `serde` feature, to send as JSON: absent fields are omitted).
    pub fn raw(self) -> RawNewBusiness {
        self.0
    }
}

impl From<SeedBusiness> for RawNewBusiness {
    fn from(seed: SeedBusiness) -> Self {
        seed.0
    }
}
