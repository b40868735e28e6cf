//! The schemas the API's types share with the OpenAPI document: the wire tokens of the
//! domain's enums, the error envelope, the health answer.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::error::ErrorItem;

/// A string schema allowing exactly `values`.
pub fn string_enum<'a>(
    description: Option<&str>,
    values: impl IntoIterator<Item = &'a str>,
) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .description(description)
        .enum_values(Some(values))
        .into()
}

/// Declares a named schema (a marker type) for a set of wire tokens.
macro_rules! token_schema {
    ($(#[$doc:meta])* $marker:ident, $name:literal, $description:literal, $values:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $marker;

        impl PartialSchema for $marker {
            fn schema() -> RefOr<Schema> {
                string_enum(Some($description), $values)
            }
        }

        impl ToSchema for $marker {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

token_schema!(
    /// `"success"`.
    SuccessStatus,
    "SuccessStatus",
    "Always `success` in a success envelope.",
    ["success"]
);
token_schema!(
    /// `"error"`.
    ErrorStatus,
    "ErrorStatus",
    "Always `error` in an error envelope.",
    ["error"]
);
token_schema!(
    /// The user (and business) account statuses, from the domain.
    UserStatusSchema,
    "UserStatus",
    "Whether the account may be used: `active` → `blocked` by /user/block, back by /user/unblock.",
    domain::UserStatus::ALL.iter().map(|s| s.as_str())
);
token_schema!(
    /// The KYC/KYB statuses, from the domain.
    KycStatusSchema,
    "KycStatus",
    "`not_started` → `pending` (/user/send-verification-request) → `verified` | `rejected`.",
    domain::KycStatus::ALL.iter().map(|s| s.as_str())
);
token_schema!(
    /// The sanctions screening statuses, from the domain.
    ScreeningStatusSchema,
    "ScreeningStatus",
    "Sanctions screening (SPEC §8): `not_screened` (no list, or not submitted yet), `clear`, `potential_match` (KYC waits for an operator), `confirmed_match` (KYC rejected, user blocked). Never which list entry matched.",
    domain::screening::ScreeningStatus::ALL.iter().map(|s| s.as_str())
);
token_schema!(
    /// The legal forms of a business, from the domain.
    BusinessTypeSchema,
    "BusinessType",
    "The legal form of a business.",
    domain::BusinessType::ALL.iter().map(|s| s.as_str())
);
token_schema!(
    /// User orders, from the domain.
    SortSchema,
    "UserSort",
    "The order of /user/get-all.",
    domain::UserSort::ALL.iter().map(|s| s.as_str())
);
token_schema!(
    /// Contact types as the API spells them.
    ContactTypeSchema,
    "ContactType",
    "`customers` (linked without `is_vendor`) or `vendors`.",
    domain::ContactType::ALL
        .iter()
        .map(|t| contact_type(*t))
);
token_schema!(
    /// The event catalog, from the domain.
    EventTypeSchema,
    "EventType",
    "The type of an event (SPEC §7).",
    domain::EventType::ALL.iter().map(|t| t.as_str())
);
token_schema!(
    /// Webhook endpoint statuses, from the domain.
    WebhookStatusSchema,
    "WebhookStatus",
    "`enabled`, or `disabled` (by /webhook/update, after a 410, or after 5 days of failures).",
    domain::WebhookStatus::ALL.iter().map(|s| s.as_str())
);

/// The error envelope: `{"status":"error","message":…,"errors":[…]}`.
#[derive(Debug, ToSchema)]
#[schema(as = ErrorEnvelope, example = json!({
    "status": "error",
    "message": "The request failed validation.",
    "errors": [{"field": "postal_code", "code": "invalid_format", "message": "must be a 5-digit US ZIP code"}]
}))]
#[allow(dead_code)]
pub struct ErrorEnvelopeSchema {
    #[schema(value_type = ErrorStatus)]
    status: String,
    /// One human sentence.
    message: String,
    /// Every failure, not only the first.
    #[schema(min_items = 1)]
    errors: Vec<ErrorItem>,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Debug, ToSchema)]
#[schema(as = Health)]
#[allow(dead_code)]
pub struct HealthSchema {
    #[schema(value_type = SuccessStatus)]
    status: String,
    #[schema(example = "ok")]
    message: String,
}

/// The wire spelling of a contact type, in answers and in the `type` filter.
pub fn contact_type(t: domain::ContactType) -> &'static str {
    match t {
        domain::ContactType::Customer => "customers",
        domain::ContactType::Vendor => "vendors",
    }
}
