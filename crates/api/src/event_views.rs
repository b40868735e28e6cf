//! The answers of the webhook and event endpoints: an endpoint (with its secret only when it
//! was just made), an event (the webhook body itself) with its delivery attempts; and the
//! store's event views (a user or business in its events exactly as the API answers it).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use storage::{Attempt, StoredEvent, Webhook};
use utoipa::ToSchema;

use crate::schemas::{EventTypeSchema, WebhookStatusSchema};
use crate::views::{BusinessView, Success, UserView, timestamp};

/// A webhook endpoint as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[schema(as = Webhook)]
pub struct WebhookView {
    /// `whk-` and a UUID.
    #[schema(pattern = "^whk-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    id: String,
    #[schema(format = Uuid)]
    uuid: String,
    /// Where events are posted.
    #[schema(example = "https://example.com/webhooks/onboard")]
    url: String,
    /// The types it takes; `null` for every type.
    #[schema(value_type = Option<Vec<EventTypeSchema>>)]
    event_types: Option<Vec<&'static str>>,
    #[schema(value_type = WebhookStatusSchema)]
    status: &'static str,
    /// Why it is disabled: `requested`, `gone` (it answered 410) or `failing` (every
    /// attempt failed for 5 days); `null` while enabled.
    disabled_reason: Option<String>,
    /// Until when the previous secret still signs beside the current one (after a rotation).
    #[schema(format = DateTime)]
    previous_secret_expires_at: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
    /// The signing secret (`whsec_` + base64 of 32 random bytes): only in the answer of
    /// `/webhook/create` and `/webhook/rotate-secret`, shown this once (a replay of the
    /// request with its `Idempotency-Key` answers without it: it is never stored in clear).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^whsec_[A-Za-z0-9+/]{43}=$")]
    secret: Option<String>,
}

impl WebhookView {
    /// The view, with the secret if `with_secret` and the value holds it.
    fn of(w: &Webhook, with_secret: bool) -> Self {
        Self {
            id: w.id.to_string(),
            uuid: w.id.uuid().to_string(),
            url: w.url.as_str().to_owned(),
            event_types: w
                .event_types
                .as_ref()
                .map(|t| t.iter().map(|t| t.as_str()).collect()),
            status: w.status.as_str(),
            disabled_reason: w.disabled_reason.clone(),
            previous_secret_expires_at: w.previous_secret_expires_at.map(timestamp),
            created_at: timestamp(w.created_at),
            updated_at: timestamp(w.updated_at),
            secret: w
                .secret
                .as_ref()
                .filter(|_| with_secret)
                .map(|s| s.expose().to_owned()),
        }
    }
}

/// The answer with one endpoint, without a secret: as stored for an `Idempotency-Key`.
pub fn render_webhook(w: &Webhook) -> Result<String, serde_json::Error> {
    serde_json::to_string(&Success::one(WebhookView::of(w, false)))
}

/// The answer with one endpoint and its new secret (create, rotation): sent, never stored.
pub fn render_webhook_with_secret(w: &Webhook) -> Result<String, serde_json::Error> {
    serde_json::to_string(&Success::one(WebhookView::of(w, true)))
}

/// A page of endpoints.
pub fn webhook_items(items: &[Webhook]) -> Vec<WebhookView> {
    items.iter().map(|w| WebhookView::of(w, false)).collect()
}

/// `data` of an event: the entity after the change and the earlier values of what changed.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EventData)]
pub struct EventDataView {
    /// The user or business as the API answers it, after the change.
    #[schema(value_type = Object)]
    object: Value,
    /// The fields that changed, with their earlier values (`{}` for a creation).
    #[schema(value_type = Object)]
    previous: Map<String, Value>,
    /// `user.kyc.failed` only: why (`sanctions_match` after a confirmed sanctions match, else
    /// the verifier's reason).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    reason: Option<String>,
    /// `business.owner.added` only: the owner added, as `/business/add-business-owner` answers.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    #[schema(value_type = Option<crate::business_views::OwnerView>)]
    owner: Option<Value>,
}

/// `request` of an event: the request that made the change, if any.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EventRequest)]
pub struct EventRequestView {
    /// Its `X-Request-Id`.
    id: Option<String>,
    /// Its `Idempotency-Key`.
    idempotency_key: Option<String>,
}

/// One attempt to deliver an event.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = DeliveryAttempt)]
pub struct AttemptView {
    /// When it started.
    #[schema(format = DateTime)]
    at: String,
    /// The endpoint (`whk-…`).
    webhook_id: String,
    /// The HTTP status it answered, if it answered.
    status_code: Option<u16>,
    /// What went wrong without an answer (timeout, refused address, connection error).
    error: Option<String>,
    /// How long it took, in milliseconds.
    duration_ms: u64,
}

/// An event: the webhook body (SPEC §7), and in `/event/get` its delivery attempts.
#[derive(Clone, Debug, Serialize, Deserialize, ToSchema)]
#[schema(as = Event)]
pub struct EventView {
    /// `evt-` and a UUID; the `webhook-id` of its deliveries.
    #[schema(pattern = "^evt-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    id: String,
    #[serde(rename = "type")]
    #[schema(value_type = EventTypeSchema)]
    event_type: String,
    #[schema(format = DateTime)]
    created_at: String,
    /// The program (`prog-…`).
    program_id: String,
    /// Grows by one per entity: a receiver drops an event older than one it has applied.
    #[schema(minimum = 1)]
    sequence: u64,
    data: EventDataView,
    request: EventRequestView,
    /// `api_key:<key id>`, `operator`, `operator:<id>`, `verifier:<name>` or `screening`.
    actor: String,
    /// The delivery attempts, oldest first (only in `/event/get`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    attempts: Option<Vec<AttemptView>>,
}

impl EventView {
    /// The stored body as the view (the body was written in this shape).
    pub fn of(e: &StoredEvent) -> Result<Self, serde_json::Error> {
        Self::deserialize(&e.body)
    }

    /// With its attempts.
    #[must_use]
    pub fn with_attempts(mut self, attempts: &[Attempt]) -> Self {
        self.attempts = Some(
            attempts
                .iter()
                .map(|a| AttemptView {
                    at: timestamp(a.at),
                    webhook_id: a.endpoint.to_string(),
                    status_code: a.status_code,
                    error: a.error.clone(),
                    duration_ms: a.duration_ms,
                })
                .collect(),
        );
        self
    }
}

/// The answer with one event (of a resend: as sent and as stored).
pub fn render_event(e: &StoredEvent) -> Result<String, serde_json::Error> {
    serde_json::to_string(&Success::one(EventView::of(e)?))
}

/// How the API's answers show entities in their events.
pub fn store_views() -> storage::EventViews {
    storage::EventViews {
        user: |u| serde_json::to_value(UserView::from(u)).unwrap_or(Value::Null),
        business: |b| serde_json::to_value(BusinessView::from(b)).unwrap_or(Value::Null),
        owner: |o| {
            serde_json::to_value(crate::business_views::OwnerView::from(o)).unwrap_or(Value::Null)
        },
    }
}
