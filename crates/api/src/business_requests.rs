//! The request bodies of the business operations of SPEC §9, as the OpenAPI document
//! describes them (see `requests.rs` for the conventions). Enum values of business requests
//! are accepted in any letter case (`"LLC"`): their schemas are those of `any_case`.

use serde::Deserialize;
use utoipa::ToSchema;

use crate::any_case::{BusinessStatusInput, BusinessTypeInput, KybStatusInput};
use crate::requests::MetaEntryInput;

/// `POST /business/update`: `business_id` and any create field, with the create rules.
/// Omitted fields are unchanged; `""` clears an optional text; `meta_data` replaces the list.
/// `ein` is locked once KYB was requested (409 `invalid_transition`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "business_id": "buss-01a222b8-1e42-73f6-92e2-c1ebdea6c27c",
    "dba": "Acme",
    "business_type": "LLC",
    "naics_code": "541511",
    "website": "https://acme.example"
}))]
pub struct UpdateBusinessRequest {
    /// The business.
    #[schema(
        pattern = r"^\s*buss-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub business_id: String,
    /// As in create.
    #[schema(min_length = 1)]
    pub business_name: Option<String>,
    /// As in create.
    #[schema(pattern = "@")]
    pub email: Option<String>,
    /// As in create.
    #[schema(pattern = r"^\s*\+[1-9][0-9]{7,14}\s*$")]
    pub phone_number: Option<String>,
    /// As in create.
    #[schema(min_length = 1)]
    pub business_address: Option<String>,
    /// As in create; `""` clears it.
    pub business_address_2: Option<String>,
    /// As in create.
    #[schema(min_length = 1)]
    pub city: Option<String>,
    /// As in create; judged against the new or the stored `country`.
    #[schema(pattern = r"^\s*[A-Za-z0-9]{1,3}\s*$")]
    pub state: Option<String>,
    /// As in create.
    #[schema(pattern = r"^\s*[0-9]{5}\s*$")]
    pub zipcode: Option<String>,
    /// As in create.
    #[schema(pattern = r"^\s*[A-Za-z]{2}\s*$")]
    pub country: Option<String>,
    /// As in create: re-encrypted, unique in the program (409 `duplicate`); refused once KYB
    /// was requested.
    #[schema(pattern = r"^\s*([0-9]{9}|[0-9]{2}-[0-9]{7})\s*$")]
    pub ein: Option<String>,
    /// As in create, in any letter case.
    #[schema(value_type = Option<BusinessTypeInput>)]
    pub business_type: Option<String>,
    /// As in create.
    #[schema(
        pattern = r"^\s*(1[89][0-9]{2}|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\s*$"
    )]
    pub incorporated_date: Option<String>,
    /// As in create.
    #[schema(pattern = r"^\s*[A-Za-z0-9]{1,3}\s*$")]
    pub incorporated_state: Option<String>,
    /// As in create; `""` clears it.
    pub dba: Option<String>,
    /// As in create; `""` clears it.
    #[schema(pattern = r"^\s*([0-9]{6})?\s*$")]
    pub naics_code: Option<String>,
    /// As in create; `""` clears it.
    pub business_industry: Option<String>,
    /// As in create; `""` clears it.
    pub business_description: Option<String>,
    /// As in create; `""` clears it.
    #[schema(pattern = r"^\s*([Hh][Tt][Tt][Pp][Ss]://\S+)?\s*$")]
    pub website: Option<String>,
    /// As in create; `""` clears it.
    pub support_email: Option<String>,
    /// As in create; `""` clears it.
    #[schema(pattern = r"^\s*(\+[1-9][0-9]{7,14})?\s*$")]
    pub support_phone_number: Option<String>,
    /// Replaces the whole list.
    #[schema(max_items = 50)]
    pub meta_data: Option<Vec<MetaEntryInput>>,
}

/// `POST /business/block` and `/business/unblock`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "business_id": "buss-01a222b8-1e42-73f6-92e2-c1ebdea6c27c",
    "reason": "chargeback investigation"
}))]
pub struct BusinessReasonRequest {
    /// The business (404 if it does not exist in the caller's program).
    #[schema(
        pattern = r"^\s*buss-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub business_id: String,
    /// Why: 1–256 characters after trimming, no control characters; kept in the audit trail.
    #[schema(min_length = 1)]
    pub reason: Option<String>,
}

/// `POST /business/get-all`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"page": 1, "per_page": 10, "search": "acme", "kyb_status": "PENDING"}))]
pub struct ListBusinessesRequest {
    /// Page number (default 1).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (default 10).
    #[schema(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
    /// Case-insensitive substring of the name, `dba` or email: 1–128 characters after
    /// trimming.
    #[schema(min_length = 1)]
    pub search: Option<String>,
    /// Only businesses with this status (any letter case).
    #[schema(value_type = Option<BusinessStatusInput>)]
    pub status: Option<String>,
    /// Only businesses with this KYB status (any letter case).
    #[schema(value_type = Option<KybStatusInput>)]
    pub kyb_status: Option<String>,
}

/// `POST /business/add-business-owner`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "business_id": "buss-01a222b8-1e42-73f6-92e2-c1ebdea6c27c",
    "user_id": "user-01a222b8-1e42-73f6-92e2-c1ebdea6c27c",
    "ownership_percent": 25.5,
    "title": "CEO",
    "is_control_person": true
}))]
pub struct AddBusinessOwnerRequest {
    /// The business (404 if it does not exist in the caller's program).
    #[schema(
        pattern = r"^\s*buss-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub business_id: String,
    /// A user of the caller's program (422 `not_found` otherwise), not yet an owner of the
    /// business (409 `duplicate`).
    #[schema(
        pattern = r"^\s*user-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub user_id: String,
    /// A number from 0 to 100 with at most two decimals (422 `invalid_format` beyond); the
    /// owners' shares sum to at most 100 (422 `out_of_range`).
    #[schema(value_type = f64, minimum = 0, maximum = 100)]
    pub ownership_percent: serde_json::Value,
    /// 1–64 characters after trimming.
    #[schema(min_length = 1)]
    pub title: String,
    /// Whether this owner controls the business: at most one per business (409 `duplicate`).
    pub is_control_person: Option<bool>,
}

/// `POST /business/remove-business-owner`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "business_id": "buss-01a222b8-1e42-73f6-92e2-c1ebdea6c27c",
    "owner_id": "bown-01a222b8-1e42-73f6-92e2-c1ebdea6c27c"
}))]
pub struct RemoveBusinessOwnerRequest {
    /// The business (404 if it does not exist in the caller's program).
    #[schema(
        pattern = r"^\s*buss-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub business_id: String,
    /// The owner (`bown-…`) of that business (404 otherwise).
    #[schema(
        pattern = r"^\s*bown-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub owner_id: String,
}

/// `POST /business/get-business-owners`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "business_id": "buss-01a222b8-1e42-73f6-92e2-c1ebdea6c27c",
    "page": 1,
    "per_page": 50
}))]
pub struct ListBusinessOwnersRequest {
    /// The business (404 if it does not exist in the caller's program).
    #[schema(
        pattern = r"^\s*buss-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub business_id: String,
    /// Page number (default 1).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (default 10).
    #[schema(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}
