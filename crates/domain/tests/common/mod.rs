//! Shared fixtures for the domain integration tests.
#![allow(dead_code, unreachable_pub)]

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use onboard_domain::{ParseContext, RawMetaEntry, RawNewBusiness, RawNewUser};

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
    RawNewUser {
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
        ssn: s("XXXXXXXXX"),
        terms_accepted: Some(true),
        meta_data: Some(vec![RawMetaEntry {
            name: s("external_ref"),
            value: s("customer-001"),
        }]),
        business_id: None,
        is_vendor: None,
    }
}

/// The seed body with a valid SSN: passes every rule.
pub fn valid_seed() -> RawNewUser {
    RawNewUser {
        ssn: s("123-45-6789"),
        ..seed_raw()
    }
}

/// A minimal valid business.
pub fn valid_business() -> RawNewBusiness {
    RawNewBusiness {
        business_name: s("Acme Widgets LLC"),
        email: s("ops@acme.example"),
        phone_number: s("+12125551234"),
        business_address: s("1 Main St"),
        business_address_2: None,
        city: s("Austin"),
        state: s("TX"),
        zipcode: s("73301"),
        country: s("US"),
        ein: s("12-3456789"),
        business_type: s("llc"),
        incorporated_date: s("2001-02-03"),
        incorporated_state: s("DE"),
        meta_data: None,
    }
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
