//! The request bodies of the webhook and event endpoints, as the OpenAPI document describes
//! them (see [`crate::requests`] for how these schemas relate to the handlers).

use serde::Deserialize;
use utoipa::ToSchema;

use crate::schemas::{EventTypeSchema, WebhookStatusSchema};

/// `POST /webhook/create`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "url": "https://example.com/webhooks/onboard",
    "event_types": ["user.created", "user.kyc.verified", "user.kyc.failed"]
}))]
pub struct CreateWebhookRequest {
    /// An absolute `https://` URL without credentials or fragment, at most 2048 characters
    /// (`http://` too only where `webhook_allow_private_targets` is set). Where it resolves
    /// is checked at every delivery: never a loopback, private or link-local address.
    #[schema(min_length = 1, max_length = 2048)]
    pub url: String,
    /// The event types to receive, each once; omitted or `null` for every type.
    #[schema(value_type = Option<Vec<EventTypeSchema>>, min_items = 1, max_items = 64)]
    pub event_types: Option<Vec<String>>,
}

/// `POST /webhook/get`, `/webhook/delete` and `/webhook/rotate-secret`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"webhook_id": "whk-01a222b8-1e42-73f6-92e2-c1ebdea6c27c"}))]
pub struct WebhookIdRequest {
    /// The endpoint (404 if it does not exist in the caller's program).
    #[schema(
        pattern = r"^\s*whk-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub webhook_id: String,
}

/// `POST /webhook/get-all`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"page": 1, "per_page": 50}))]
pub struct ListWebhooksRequest {
    /// Page number (default 1).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (default 10).
    #[schema(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
}

/// `POST /webhook/update`: omitted fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "webhook_id": "whk-01a222b8-1e42-73f6-92e2-c1ebdea6c27c",
    "status": "enabled"
}))]
pub struct UpdateWebhookRequest {
    /// The endpoint.
    #[schema(
        pattern = r"^\s*whk-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub webhook_id: String,
    /// A new URL (the rules of `/webhook/create`).
    #[schema(min_length = 1, max_length = 2048)]
    pub url: Option<String>,
    /// New event types; `null` for every type.
    #[schema(value_type = Option<Vec<EventTypeSchema>>, min_items = 1, max_items = 64)]
    pub event_types: Option<Vec<String>>,
    /// `enabled` re-enables a disabled endpoint (what was left pending is delivered);
    /// `disabled` stops its deliveries.
    #[schema(value_type = Option<WebhookStatusSchema>)]
    pub status: Option<String>,
}

/// `POST /event/get-all`: newest first.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "user_id": "user-01a222b8-1e42-73f6-92e2-c1ebdea6c27c",
    "page": 1,
    "per_page": 50
}))]
pub struct ListEventsRequest {
    /// Page number (default 1).
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub page: Option<u64>,
    /// Page size (default 10).
    #[schema(minimum = 1, maximum = 500)]
    pub per_page: Option<u64>,
    /// Only events of this type.
    #[serde(rename = "type")]
    #[schema(value_type = Option<EventTypeSchema>)]
    pub event_type: Option<String>,
    /// Only events about this user: its audit trail.
    #[schema(
        pattern = r"^\s*user-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub user_id: Option<String>,
    /// Only events about this business.
    #[schema(
        pattern = r"^\s*buss-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub business_id: Option<String>,
    /// Only events created at or after this time (RFC 3339).
    #[schema(format = DateTime)]
    pub created_from: Option<String>,
    /// Only events created at or before this time (RFC 3339).
    #[schema(format = DateTime)]
    pub created_to: Option<String>,
}

/// `POST /event/get`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"event_id": "evt-01a222b8-1e42-73f6-92e2-c1ebdea6c27c"}))]
pub struct EventIdRequest {
    /// The event (404 if it does not exist in the caller's program).
    #[schema(
        pattern = r"^\s*evt-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub event_id: String,
}

/// `POST /event/resend`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"event_id": "evt-01a222b8-1e42-73f6-92e2-c1ebdea6c27c"}))]
pub struct ResendEventRequest {
    /// The event.
    #[schema(
        pattern = r"^\s*evt-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub event_id: String,
    /// Only to this endpoint (default: every enabled endpoint that takes the event's type).
    #[schema(
        pattern = r"^\s*whk-[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\s*$"
    )]
    pub webhook_id: Option<String>,
}
