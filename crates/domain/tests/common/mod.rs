//! Shared fixtures for the domain integration tests.
#![allow(dead_code, unreachable_pub)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use onboard_domain::fixtures::{SeedBusiness, SeedUser};
use onboard_domain::{ParseContext, RawNewBusiness, RawNewUser};

/// The fixed "today" every test parses against.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 4, 16).unwrap()
}

/// `today()` with the default minimum age of 18.
pub fn ctx() -> ParseContext {
    ParseContext::new(today())
}

/// A fixed "now" for building stored entities.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 16, 12, 34, 56).unwrap()
}

/// `Some(v.to_owned())`: raw inputs are optional strings.
#[allow(clippy::unnecessary_wraps)]
pub fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

/// The body of `seed/create-user-endpoint.txt` (minus `api_key`), with the seed's
/// placeholder SSN `XXXXXXXXX`.
pub fn seed_raw() -> RawNewUser {
    SeedUser::example().ssn("XXXXXXXXX").raw()
}

/// The seed body with a valid SSN: passes every rule.
pub fn valid_seed() -> RawNewUser {
    SeedUser::example().raw()
}

/// A minimal valid business.
pub fn valid_business() -> RawNewBusiness {
    SeedBusiness::example().raw()
}

/// The 50 US states, DC and the territories ISO 3166-2:US lists.
pub const US_STATES: [&str; 57] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS",
    "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY",
    "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV",
    "WI", "WY", "DC", "AS", "GU", "MP", "PR", "UM", "VI",
];

/// `(field, code)` pairs of a validation failure, in order.
pub fn pairs(e: &onboard_domain::ValidationErrors) -> Vec<(String, &'static str)> {
    e.errors()
        .iter()
        .map(|f| (f.field.clone(), f.code.as_str()))
        .collect()
}
