//! What the user and business calls answer, read leniently (unknown fields are ignored, so a
//! newer server does not break an older client).

use serde::Deserialize;

use crate::requests::MetaEntry;

/// A user as the service answers it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct User {
    /// `user-…`.
    pub id: String,
    /// The UUID inside `id`.
    pub uuid: String,
    /// Given name.
    pub first_name: String,
    /// Middle name.
    pub middle_name: Option<String>,
    /// Family name.
    pub last_name: String,
    /// Email.
    pub email: String,
    /// E.164.
    pub phone_number: String,
    /// `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// Street address.
    pub address_one: String,
    /// Second line.
    pub address_two: Option<String>,
    /// City.
    pub city: String,
    /// Subdivision code.
    pub state: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// ZIP code.
    pub postal_code: String,
    /// The last four digits of the SSN; the full SSN is never answered.
    pub ssn_last_4: Option<String>,
    /// `active`, `blocked` or `closed`.
    pub status: String,
    /// `not_started`, `pending`, `verified` or `rejected`.
    pub kyc_status: String,
    /// Sanctions screening: `not_screened`, `clear`, `potential_match` or `confirmed_match`
    /// (never which list entry matched).
    pub screening_status: String,
    /// Username.
    pub username: Option<String>,
    /// Whether the terms were accepted.
    pub terms_accepted: bool,
    /// Integrator-defined pairs.
    pub meta_data: Vec<MetaEntry>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// A business as the service answers it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Business {
    /// `buss-…`.
    pub id: String,
    /// The UUID inside `id`.
    pub uuid: String,
    /// Legal name.
    pub business_name: String,
    /// Email.
    pub email: String,
    /// E.164.
    pub phone_number: String,
    /// Street address.
    pub business_address: String,
    /// Second line.
    pub business_address_2: Option<String>,
    /// City.
    pub city: String,
    /// Subdivision code.
    pub state: String,
    /// ZIP code.
    pub zipcode: String,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    /// The last four digits of the EIN.
    pub ein_last_4: String,
    /// Legal form.
    pub business_type: Option<String>,
    /// `YYYY-MM-DD`.
    pub incorporated_date: Option<String>,
    /// Subdivision code.
    pub incorporated_state: Option<String>,
    /// "Doing business as".
    #[serde(default)]
    pub dba: Option<String>,
    /// Six-digit NAICS code.
    #[serde(default)]
    pub naics_code: Option<String>,
    /// Industry.
    #[serde(default)]
    pub business_industry: Option<String>,
    /// Description.
    #[serde(default)]
    pub business_description: Option<String>,
    /// An `https://` URL.
    #[serde(default)]
    pub website: Option<String>,
    /// Support email.
    #[serde(default)]
    pub support_email: Option<String>,
    /// Support phone, E.164.
    #[serde(default)]
    pub support_phone_number: Option<String>,
    /// `active`, `blocked` or `closed`.
    pub status: String,
    /// Verification state of the business.
    pub kyb_status: String,
    /// Integrator-defined pairs.
    pub meta_data: Vec<MetaEntry>,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// A user linked to a business.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Contact {
    /// `bcus-…`.
    pub id: String,
    /// The UUID inside `id`.
    pub uuid: String,
    /// `buss-…`.
    pub business_id: String,
    /// `customers` or `vendors`.
    pub contact_type: String,
    /// `user-…`.
    pub user_id: String,
    /// The user's given name.
    pub first_name: String,
    /// The user's family name.
    pub last_name: String,
    /// The user's email.
    pub email: String,
    /// The user's phone number.
    pub phone_number: String,
    /// RFC 3339.
    pub created_at: String,
}

/// How a page was cut.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Pagination {
    /// Page number, from 1.
    pub page: u64,
    /// Page size.
    pub per_page: u64,
    /// Items matching in all pages.
    pub total: u64,
    /// Sort order.
    pub sort: String,
    /// The search text, if any.
    pub search: Option<String>,
    /// `total` is a lower bound (the server counts at most 1,000 matches of a filtered
    /// listing), not an exact count; absent means exact.
    #[serde(default)]
    pub total_is_estimate: bool,
}

/// One page of items.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// How they were paged.
    pub pagination: Pagination,
}
