//! The request bodies as the OpenAPI document describes them.
//!
//! Handlers read bodies field by field ([`crate::body::Fields`]) so that every wrong type,
//! unknown field and broken rule is reported at once; these types exist for the document.
//! Each schema is *implied* by the server's rules: whatever the schema rejects, the server
//! rejects too (schemathesis checks this with generated negative data), while some rules
//! (an existing calling code, a subdivision of the given country, a real date, uniqueness)
//! are only in the descriptions. Surrounding whitespace is trimmed from text, hence the
//! `\s*` at both ends of the patterns; enum tokens are exact. `null` is the same as absent.
//! The test `requests_match_handlers` posts every example and checks each property is a
//! field its handler reads.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::schemas::{KycStatusSchema, SortSchema, UserStatusSchema};

/// One `{name, value}` pair of `meta_data`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MetaDataEntryInput)]
pub struct MetaEntryInput {
    /// 1–64 of `A-Z a-z 0-9 _ . -`, unique within the list.
    #[schema(pattern = r"^\s*[A-Za-z0-9_.-]{1,64}\s*$", example = "external_ref")]
    pub name: String,
    /// Any text of at most 512 characters, stored as given; no control characters other
    /// than tab and line breaks.
    #[schema(max_length = 512, example = "customer-001")]
    pub value: String,
}

/// `POST /user/create`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "email": "jane.doe@example.com",
    "first_name": "Alex",
    "middle_name": "",
    "last_name": "Rivera",
    "phone_number": "+15555551234",
    "postal_code": "30044",
    "country": "US",
    "state": "TX",
    "city": "Anytown",
    "address_one": "100 Innovation Way",
    "address_two": "Suite 100",
    "username": "janedoe",
    "date_of_birth": "1980-04-20",
    "ssn": "123-45-6789",
    "terms_accepted": true,
    "meta_data": [{"name": "external_ref", "value": "customer-001"}]
}))]
pub struct CreateUserRequest {
    /// 1–64 characters after trimming: letters of any script, spaces, `-`, `'`, `.`.
    #[schema(min_length = 1)]
    pub first_name: String,
    /// As `first_name`; `""` means none.
    pub middle_name: Option<String>,
    /// As `first_name`.
    #[schema(min_length = 1)]
    pub last_name: String,
    /// An addr-spec of at most 254 characters with a DNS domain; unique in the program,
    /// compared case-insensitively (409 `duplicate`). The domain is stored lowercase.
    #[schema(pattern = "@", example = "jane.doe@example.com")]
    pub email: String,
    /// E.164: `+`, an existing country calling code, 8–15 digits in all. A `+1` number has
    /// 10 national digits whose area code and exchange start with 2–9.
    #[schema(pattern = r"^\s*\+[1-9][0-9]{7,14}\s*$", example = "+15555551234")]
    pub phone_number: String,
    /// 1–128 characters after trimming.
    #[schema(min_length = 1)]
    pub address_one: String,
    /// 0–128 characters after trimming; `""` means none.
    pub address_two: Option<String>,
    /// 1–64 characters after trimming.
    #[schema(min_length = 1)]
    pub city: String,
    /// An ISO 3166-2 subdivision of `country` without the country prefix (`TX`),
    /// case-insensitive, stored uppercase.
    #[schema(pattern = r"^\s*[A-Za-z0-9]{1,3}\s*$", example = "TX")]
    pub state: String,
    /// A US ZIP code: exactly five digits.
    #[schema(pattern = r"^\s*[0-9]{5}\s*$", example = "30044")]
    pub postal_code: String,
    /// An ISO 3166-1 alpha-2 code, case-insensitive, stored uppercase.
    #[schema(pattern = r"^\s*[A-Za-z]{2}\s*$", example = "US")]
    pub country: String,
    /// 3–32 of `a-z A-Z 0-9 . _ -`, starting with a letter or digit; unique in the program,
    /// case-insensitively (409 `duplicate`).
    #[schema(
        pattern = r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{2,31}\s*$",
        example = "janedoe"
    )]
    pub username: Option<String>,
    /// `YYYY-MM-DD`: a real date, not in the future, not before 1900-01-01; the person is
    /// at least the configured minimum age (default 18, code `underage`).
    #[schema(
        pattern = r"^\s*(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\s*$",
        example = "1980-04-20"
    )]
    pub date_of_birth: Option<String>,
    /// 9 digits, optionally `AAA-GG-SSSS`; area not 000, 666 or 900–999, group not 00,
    /// serial not 0000; unique in the program (409 `duplicate`). Encrypted at rest and never
    /// returned: answers carry `ssn_last_4`.
    #[schema(
        pattern = r"^\s*([0-9]{9}|[0-9]{3}-[0-9]{2}-[0-9]{4})\s*$",
        example = "123-45-6789"
    )]
    pub ssn: Option<String>,
    /// Whether the user accepted the program's terms; the time of acceptance is recorded.
    pub terms_accepted: Option<bool>,
    /// At most 50 pairs with unique names.
    #[schema(max_items = 50)]
    pub meta_data: Option<Vec<MetaEntryInput>>,
    /// An existing business of the program (422 `not_found` otherwise); the user becomes
    /// its contact in the same transaction.
    #[schema(
        pattern = r"^\s*buss-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub business_id: Option<String>,
    /// Only with `business_id` (422 `requires_business_id`): the contact is a vendor.
    pub is_vendor: Option<bool>,
}

/// `POST /user/update`: `user_id` and any create field except `email`, `business_id` and
/// `is_vendor`, with the create rules. Omitted fields are unchanged; `""` clears
/// `middle_name` and `address_two`. Names, date of birth and SSN are locked once KYC was
/// requested (409 `invalid_transition`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "user_id": "user-01a222b8-1e42-73f6-92e2-c1ebdea6c27c",
    "city": "Austin",
    "postal_code": "73301"
}))]
pub struct UpdateUserRequest {
    /// The user.
    #[schema(
        pattern = r"^\s*user-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub user_id: String,
    /// As in create.
    #[schema(min_length = 1)]
    pub first_name: Option<String>,
    /// As in create; `""` clears it.
    pub middle_name: Option<String>,
    /// As in create.
    #[schema(min_length = 1)]
    pub last_name: Option<String>,
    /// As in create.
    #[schema(pattern = r"^\s*\+[1-9][0-9]{7,14}\s*$")]
    pub phone_number: Option<String>,
    /// As in create.
    #[schema(min_length = 1)]
    pub address_one: Option<String>,
    /// As in create; `""` clears it.
    pub address_two: Option<String>,
    /// As in create.
    #[schema(min_length = 1)]
    pub city: Option<String>,
    /// As in create; judged against the new or the stored `country`.
    #[schema(pattern = r"^\s*[A-Za-z0-9]{1,3}\s*$")]
    pub state: Option<String>,
    /// As in create.
    #[schema(pattern = r"^\s*[0-9]{5}\s*$")]
    pub postal_code: Option<String>,
    /// As in create.
    #[schema(pattern = r"^\s*[A-Za-z]{2}\s*$")]
    pub country: Option<String>,
    /// As in create.
    #[schema(pattern = r"^\s*[A-Za-z0-9][A-Za-z0-9._-]{2,31}\s*$")]
    pub username: Option<String>,
    /// As in create.
    #[schema(pattern = r"^\s*(19[0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\s*$")]
    pub date_of_birth: Option<String>,
    /// As in create.
    #[schema(pattern = r"^\s*([0-9]{9}|[0-9]{3}-[0-9]{2}-[0-9]{4})\s*$")]
    pub ssn: Option<String>,
    /// As in create.
    pub terms_accepted: Option<bool>,
    /// Replaces the whole list.
    #[schema(max_items = 50)]
    pub meta_data: Option<Vec<MetaEntryInput>>,
}

/// `POST /user/get`, `/user/unblock` and `/user/send-verification-request`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"user_id": "user-01a222b8-1e42-73f6-92e2-c1ebdea6c27c"}))]
pub struct UserIdRequest {
    /// The user (404 if it does not exist in the caller's program).
    #[schema(
        pattern = r"^\s*user-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub user_id: String,
}

/// `POST /user/block`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "user_id": "user-01a222b8-1e42-73f6-92e2-c1ebdea6c27c",
    "reason": "chargeback investigation"
}))]
pub struct BlockUserRequest {
    /// The user.
    #[schema(
        pattern = r"^\s*user-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub user_id: String,
    /// Why: 1–256 characters after trimming, no control characters; kept in the audit trail.
    #[schema(min_length = 1)]
    pub reason: Option<String>,
}

/// `POST /user/get-all`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"page": 1, "per_page": 10, "search": "rivera", "sort": "last_name:asc"}))]
pub struct ListUsersRequest {
    /// Page number (default 1).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (default 10).
    #[schema(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
    /// Exact email, case-insensitive: an address as in /user/create (422 otherwise).
    #[schema(pattern = "@", example = "jane.doe@example.com")]
    pub email: Option<String>,
    /// Case-insensitive substring of first or last name, email, username or phone number
    /// (Unicode case folding: `élodie` finds `Élodie`, `strasse` finds `Straße`; accents are
    /// not ignored): 1–128 characters after trimming. A term of one or two characters
    /// (after folding) is a prefix of the first or last name instead (`du` finds `Durand`).
    /// Over 1,000 matches, `total` is 1,000 with `total_is_estimate: true`.
    #[schema(min_length = 1)]
    pub search: Option<String>,
    /// Only users with this status.
    #[schema(value_type = Option<UserStatusSchema>)]
    pub status: Option<String>,
    /// Only users with this KYC status.
    #[schema(value_type = Option<KycStatusSchema>)]
    pub kyc_status: Option<String>,
    /// Order (default `created_at:desc`).
    #[schema(value_type = Option<SortSchema>)]
    pub sort: Option<String>,
}

/// `POST /business/create`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "business_name": "Acme Widgets LLC",
    "email": "ops@acme.example",
    "phone_number": "+15125550100",
    "business_address": "1 Commerce St",
    "city": "Austin",
    "state": "TX",
    "zipcode": "73301",
    "country": "US",
    "ein": "12-3456789",
    "business_type": "LLC",
    "incorporated_date": "2015-06-01",
    "incorporated_state": "DE",
    "dba": "Acme",
    "naics_code": "541511",
    "website": "https://acme.example",
    "support_email": "support@acme.example",
    "support_phone_number": "+15125550101"
}))]
pub struct CreateBusinessRequest {
    /// The legal name: 1–128 characters after trimming.
    #[schema(min_length = 1)]
    pub business_name: String,
    /// As a user's email (not unique).
    #[schema(pattern = "@")]
    pub email: String,
    /// E.164, as a user's phone number.
    #[schema(pattern = r"^\s*\+[1-9][0-9]{7,14}\s*$")]
    pub phone_number: String,
    /// 1–128 characters after trimming.
    #[schema(min_length = 1)]
    pub business_address: String,
    /// 0–128 characters after trimming; `""` means none.
    pub business_address_2: Option<String>,
    /// 1–64 characters after trimming.
    #[schema(min_length = 1)]
    pub city: String,
    /// An ISO 3166-2 subdivision of `country`, without the prefix.
    #[schema(pattern = r"^\s*[A-Za-z0-9]{1,3}\s*$")]
    pub state: String,
    /// A US ZIP code.
    #[schema(pattern = r"^\s*[0-9]{5}\s*$")]
    pub zipcode: String,
    /// ISO 3166-1 alpha-2.
    #[schema(pattern = r"^\s*[A-Za-z]{2}\s*$")]
    pub country: String,
    /// `NN-NNNNNNN` (the dash optional) with an IRS-assigned prefix; unique in the program
    /// (409 `duplicate`). Encrypted at rest and never returned: answers carry `ein_last_4`.
    #[schema(
        pattern = r"^\s*([0-9]{9}|[0-9]{2}-[0-9]{7})\s*$",
        example = "12-3456789"
    )]
    pub ein: String,
    /// The legal form, in any letter case (`LLC` is `llc`, as the platform's examples send
    /// it); answered lowercase.
    #[schema(value_type = Option<crate::any_case::BusinessTypeInput>)]
    pub business_type: Option<String>,
    /// `YYYY-MM-DD`, a real date not in the future and not before 1800-01-01.
    #[schema(
        pattern = r"^\s*(1[89][0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\s*$"
    )]
    pub incorporated_date: Option<String>,
    /// An ISO 3166-2 subdivision of `country`, without the prefix.
    #[schema(pattern = r"^\s*[A-Za-z0-9]{1,3}\s*$")]
    pub incorporated_state: Option<String>,
    /// "Doing business as": 1–128 characters after trimming; `""` means none.
    pub dba: Option<String>,
    /// Six digits starting with a NAICS sector (`invalid_value` otherwise); `""` means none.
    #[schema(pattern = r"^\s*([0-9]{6})?\s*$", example = "541511")]
    pub naics_code: Option<String>,
    /// 1–128 characters after trimming; `""` means none.
    pub business_industry: Option<String>,
    /// 1–1,000 characters after trimming (line breaks allowed); `""` means none.
    pub business_description: Option<String>,
    /// An `https://` URL (at most 2,048 characters) naming a DNS host; `""` means none.
    #[schema(
        pattern = r"^\s*([Hh][Tt][Tt][Pp][Ss]://\S+)?\s*$",
        example = "https://acme.example"
    )]
    pub website: Option<String>,
    /// An email address as `email`; `""` means none.
    pub support_email: Option<String>,
    /// E.164, as `phone_number`; `""` means none.
    #[schema(pattern = r"^\s*(\+[1-9][0-9]{7,14})?\s*$")]
    pub support_phone_number: Option<String>,
    /// At most 50 pairs with unique names.
    #[schema(max_items = 50)]
    pub meta_data: Option<Vec<MetaEntryInput>>,
}

/// `POST /business/get`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"business_id": "buss-01a222b8-1e42-73f6-92e2-c1ebdea6c27c"}))]
pub struct BusinessIdRequest {
    /// The business (404 if it does not exist in the caller's program).
    #[schema(
        pattern = r"^\s*buss-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub business_id: String,
}

/// `POST /business/customers/get-all`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "business_id": "buss-01a222b8-1e42-73f6-92e2-c1ebdea6c27c",
    "type": "vendors",
    "page": 1,
    "per_page": 50
}))]
pub struct ListContactsRequest {
    /// The business (404 if it does not exist in the caller's program).
    #[schema(
        pattern = r"^\s*buss-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub business_id: String,
    /// Only customers or only vendors (default both), in any letter case.
    #[serde(rename = "type")]
    #[schema(value_type = Option<crate::any_case::ContactTypeInput>)]
    pub contact_type: Option<String>,
    /// Page number (default 1).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (default 10).
    #[schema(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}
