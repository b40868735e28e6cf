//! Typed calls of the webhook and event endpoints (SPEC §7), in the wire shape.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::api::{CallError, Endpoint, Page, one, page};
use crate::http::Client;

/// A webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Webhook {
    /// `whk-…`.
    pub id: String,
    /// Where events are posted.
    pub url: String,
    /// The types it takes; `None` for every type.
    pub event_types: Option<Vec<String>>,
    /// `enabled` or `disabled`.
    pub status: String,
    /// Why it is disabled.
    pub disabled_reason: Option<String>,
    /// Until when the previous secret still signs.
    pub previous_secret_expires_at: Option<String>,
    /// The signing secret: only in the answer of a create or a rotation.
    pub secret: Option<String>,
    /// Created.
    pub created_at: String,
    /// Last changed.
    pub updated_at: String,
}

/// An event: the webhook body, and in `/event/get` its delivery attempts.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Event {
    /// `evt-…`.
    pub id: String,
    /// `user.created`, …
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it happened.
    pub created_at: String,
    /// Grows by one per entity.
    pub sequence: u64,
    /// `{object, previous}`.
    pub data: Map<String, Value>,
    /// `{id, idempotency_key}` of the request that made the change.
    pub request: Map<String, Value>,
    /// Who made the change.
    pub actor: String,
    /// The delivery attempts (only from `/event/get`).
    pub attempts: Option<Vec<Map<String, Value>>>,
}

/// `/webhook/create`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct CreateWebhook {
    /// An `https://` URL.
    pub url: String,
    /// The types to take; `None` for every type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
}

/// `/webhook/update`: `None` leaves a field as it is.
#[derive(Clone, Debug, Default, Serialize)]
pub struct UpdateWebhook {
    /// The endpoint.
    pub webhook_id: String,
    /// A new URL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// New types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_types: Option<Vec<String>>,
    /// `enabled` or `disabled`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// `/event/get-all`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ListEvents {
    /// Page number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Page size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u64>,
    /// Only this type.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// Only about this user (its audit trail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Only about this business.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_id: Option<String>,
}

#[derive(Serialize)]
struct WebhookIdBody<'a> {
    webhook_id: &'a str,
}

#[derive(Serialize)]
struct PageBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_page: Option<u64>,
}

#[derive(Serialize)]
struct EventIdBody<'a> {
    event_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    webhook_id: Option<&'a str>,
}

impl Client {
    /// `/webhook/create`: the endpoint with its secret.
    pub async fn create_webhook(&self, webhook: &CreateWebhook) -> Result<Webhook, CallError> {
        one(&self.call(Endpoint::CreateWebhook, webhook).await?)
    }

    /// `/webhook/get`.
    pub async fn get_webhook(&self, webhook_id: &str) -> Result<Webhook, CallError> {
        one(&self
            .call(Endpoint::GetWebhook, &WebhookIdBody { webhook_id })
            .await?)
    }

    /// `/webhook/get-all`.
    pub async fn list_webhooks(
        &self,
        page_number: Option<u64>,
        per_page: Option<u64>,
    ) -> Result<Page<Webhook>, CallError> {
        let body = PageBody {
            page: page_number,
            per_page,
        };
        page(&self.call(Endpoint::ListWebhooks, &body).await?)
    }

    /// `/webhook/update`.
    pub async fn update_webhook(&self, change: &UpdateWebhook) -> Result<Webhook, CallError> {
        one(&self.call(Endpoint::UpdateWebhook, change).await?)
    }

    /// `/webhook/delete`.
    pub async fn delete_webhook(&self, webhook_id: &str) -> Result<Webhook, CallError> {
        one(&self
            .call(Endpoint::DeleteWebhook, &WebhookIdBody { webhook_id })
            .await?)
    }

    /// `/webhook/rotate-secret`: the endpoint with its new secret.
    pub async fn rotate_webhook_secret(&self, webhook_id: &str) -> Result<Webhook, CallError> {
        one(&self
            .call(Endpoint::RotateWebhookSecret, &WebhookIdBody { webhook_id })
            .await?)
    }

    /// `/event/get-all`, newest first.
    pub async fn list_events(&self, query: &ListEvents) -> Result<Page<Event>, CallError> {
        page(&self.call(Endpoint::ListEvents, query).await?)
    }

    /// `/event/get`, with its delivery attempts.
    pub async fn get_event(&self, event_id: &str) -> Result<Event, CallError> {
        let body = EventIdBody {
            event_id,
            webhook_id: None,
        };
        one(&self.call(Endpoint::GetEvent, &body).await?)
    }

    /// `/event/resend`: to `webhook_id`, or to every enabled endpoint taking its type.
    pub async fn resend_event(
        &self,
        event_id: &str,
        webhook_id: Option<&str>,
    ) -> Result<Event, CallError> {
        let body = EventIdBody {
            event_id,
            webhook_id,
        };
        one(&self.call(Endpoint::ResendEvent, &body).await?)
    }
}
