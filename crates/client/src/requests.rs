//! What the user and business calls send, in the wire shape of SPEC §3 (the server enforces
//! the rules and lists every failing field in its 422).

use serde::{Deserialize, Serialize};

/// One `{name, value}` pair of `meta_data`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaEntry {
    /// `^[A-Za-z0-9_.-]{1,64}$`, unique in the list.
    pub name: String,
    /// At most 512 characters.
    pub value: String,
}

impl MetaEntry {
    /// A pair.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            value: value.into(),
        }
    }
}

/// The body of `/user/create`. Optional fields left `None` are not sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CreateUser {
    /// Given name.
    pub first_name: String,
    /// Middle name (`""` means none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Family name.
    pub last_name: String,
    /// Unique in the program.
    pub email: String,
    /// E.164, e.g. `+15555551234`.
    pub phone_number: String,
    /// Street address.
    pub address_one: String,
    /// Second address line (`""` means none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_two: Option<String>,
    /// City.
    pub city: String,
    /// ISO 3166-2 subdivision of `country`, without the prefix (`TX`).
    pub state: String,
    /// US ZIP code, five digits.
    pub postal_code: String,
    /// ISO 3166-1 alpha-2 (`US`).
    pub country: String,
    /// Unique in the program.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    /// `NNN-NN-NNNN` or nine digits; encrypted at rest, answered as `ssn_last_4`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssn: Option<String>,
    /// Whether the user accepted the program's terms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms_accepted: Option<bool>,
    /// Integrator-defined pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_data: Option<Vec<MetaEntry>>,
    /// Link the user to this business (`buss-…`) as a contact.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_id: Option<String>,
    /// With `business_id`: a vendor rather than a customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_vendor: Option<bool>,
}

/// The body of `/user/update`: only the fields given change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UpdateUser {
    /// The user, `user-…`.
    pub user_id: String,
    /// New given name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// New middle name; `Some("")` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// New family name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// New phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// New street address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_one: Option<String>,
    /// New second line; `Some("")` clears it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address_two: Option<String>,
    /// New city.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// New state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// New ZIP code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postal_code: Option<String>,
    /// New country.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// New username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// New date of birth.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    /// New SSN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssn: Option<String>,
    /// Terms accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub terms_accepted: Option<bool>,
    /// Replaces the whole list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_data: Option<Vec<MetaEntry>>,
}

/// The body of `/user/get-all`. `None` fields take the server's defaults (page 1, 10 per
/// page, newest first).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ListUsers {
    /// Page number, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Page size, 1–500.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u64>,
    /// Exact email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Case-insensitive substring of names, email, username or phone number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// `active`, `blocked` or `closed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `not_started`, `pending`, `verified` or `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kyc_status: Option<String>,
    /// `created_at:desc`, `created_at:asc`, `last_name:asc` or `last_name:desc`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sort: Option<String>,
}

/// The body of `/business/create`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CreateBusiness {
    /// Legal name.
    pub business_name: String,
    /// Contact email.
    pub email: String,
    /// E.164.
    pub phone_number: String,
    /// Street address.
    pub business_address: String,
    /// Second address line (`""` means none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_address_2: Option<String>,
    /// City.
    pub city: String,
    /// ISO 3166-2 subdivision of `country`, without the prefix.
    pub state: String,
    /// US ZIP code.
    pub zipcode: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// `NN-NNNNNNN`; unique in the program, answered as `ein_last_4`.
    pub ein: String,
    /// `sole_proprietorship`, `partnership`, `llc`, `corporation` or `non_profit`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_type: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incorporated_date: Option<String>,
    /// ISO 3166-2 subdivision of `country`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incorporated_state: Option<String>,
    /// "Doing business as".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dba: Option<String>,
    /// Six-digit NAICS code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naics_code: Option<String>,
    /// Industry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_industry: Option<String>,
    /// Description, at most 1,000 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_description: Option<String>,
    /// An `https://` URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Support email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_email: Option<String>,
    /// Support phone, E.164.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_phone_number: Option<String>,
    /// Integrator-defined pairs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_data: Option<Vec<MetaEntry>>,
}

/// The body of `/business/customers/get-all`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ListContacts {
    /// The business, `buss-…`.
    pub business_id: String,
    /// `customers` or `vendors` (default both).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub contact_type: Option<String>,
    /// Page number, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Page size, 1–500.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u64>,
}
