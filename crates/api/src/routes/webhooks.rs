//! Webhook endpoints: `/webhook/create|get|get-all|update|delete|rotate-secret` (SPEC §7).

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{NewWebhook, PageRequest, RawNewWebhook, RawWebhookUpdate, WebhookId, WebhookUpdate};
use storage::Entity;
use uuid::Uuid;

use crate::error::ApiError;
use crate::event_views::{render_webhook, render_webhook_with_secret, webhook_items};
use crate::pipeline::{Policy, serve, written};
use crate::routes::support::{required_id, truncate_ms};
use crate::state::AppState;
use crate::views::{Pagination, Success, to_body};

/// How long a rotated-out secret keeps signing beside the new one.
const SECRET_OVERLAP: chrono::Duration = chrono::Duration::hours(24);

/// `POST /webhook/create`.
#[utoipa::path(
    post,
    path = "/webhook/create",
    operation_id = "create_webhook",
    tag = "webhooks",
    request_body = crate::requests_webhooks::CreateWebhookRequest,
    responses(
        (status = 200, description = "The endpoint (one item) with its `secret`, shown this once.", body = crate::views::Success<crate::event_views::WebhookView>),
        (status = 409, description = "`idempotency_in_progress`: a request with this Idempotency-Key is still being processed.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    serve(
        &state,
        &req,
        payload,
        Policy::Changes,
        async |mut call, mut fields| {
            let raw = RawNewWebhook {
                url: fields.string("url"),
                event_types: fields.string_list("event_types").flatten(),
            };
            let new = fields.finish_with(NewWebhook::parse(&raw, state.webhook_allow_private))?;
            let id = WebhookId::from_uuid(Uuid::now_v7());
            let now = truncate_ms(state.clock.now());
            let along = call.along(render_webhook);
            let webhook = written(
                state
                    .store
                    .create_webhook(call.program, id, &new, now, along)
                    .await?,
            )?;
            tracing::info!(webhook = %webhook.id, "webhook created");
            render_webhook_with_secret(&webhook).map_err(ApiError::render)
        },
    )
    .await
}

/// `POST /webhook/get`.
#[utoipa::path(
    post,
    path = "/webhook/get",
    operation_id = "get_webhook",
    tag = "webhooks",
    request_body = crate::requests_webhooks::WebhookIdRequest,
    responses(
        (status = 200, description = "The endpoint (one item), without its secret.", body = crate::views::Success<crate::event_views::WebhookView>),
        (status = 404, description = "`not_found`: no such endpoint in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    serve(
        &state,
        &req,
        payload,
        Policy::Reads,
        async |call, mut fields| {
            let raw = fields.string("webhook_id");
            let id = fields.finish_with(required_id("webhook_id", raw, WebhookId::parse))?;
            let webhook = state
                .store
                .get_webhook(call.program, id)
                .await?
                .ok_or(ApiError::not_found(Entity::Webhook))?;
            render_webhook(&webhook).map_err(ApiError::render)
        },
    )
    .await
}

/// `POST /webhook/get-all`.
#[utoipa::path(
    post,
    path = "/webhook/get-all",
    operation_id = "list_webhooks",
    tag = "webhooks",
    request_body = crate::requests_webhooks::ListWebhooksRequest,
    responses(
        (status = 200, description = "A page of the program's endpoints, newest first.", body = crate::views::Success<crate::event_views::WebhookView>),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn get_all(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    serve(
        &state,
        &req,
        payload,
        Policy::Reads,
        async |call, mut fields| {
            let (page, per_page) = (fields.integer("page"), fields.integer("per_page"));
            let page = fields.finish_with(PageRequest::parse(page, per_page))?;
            let found = state.store.list_webhooks(call.program, page).await?;
            let pagination = Pagination::of(page, &found, "created_at:desc", None);
            to_body(&Success::page(webhook_items(&found.items), pagination))
        },
    )
    .await
}

/// `POST /webhook/update`.
#[utoipa::path(
    post,
    path = "/webhook/update",
    operation_id = "update_webhook",
    tag = "webhooks",
    request_body = crate::requests_webhooks::UpdateWebhookRequest,
    responses(
        (status = 200, description = "The endpoint (one item) as changed.", body = crate::views::Success<crate::event_views::WebhookView>),
        (status = 404, description = "`not_found`: no such endpoint in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`idempotency_in_progress`.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn update(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    serve(
        &state,
        &req,
        payload,
        Policy::Changes,
        async |mut call, mut fields| {
            let raw_id = fields.string("webhook_id");
            let raw = RawWebhookUpdate {
                url: fields.string("url"),
                event_types: fields.string_list("event_types"),
                status: fields.string("status"),
            };
            let parsed = match (
                required_id("webhook_id", raw_id, WebhookId::parse),
                WebhookUpdate::parse(&raw, state.webhook_allow_private),
            ) {
                (Ok(id), Ok(update)) => Ok((id, update)),
                (Err(a), Err(b)) => Err(a.merge(b)),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            let (id, update) = fields.finish_with(parsed)?;
            let now = truncate_ms(state.clock.now());
            let along = call.along(render_webhook);
            let webhook = written(
                state
                    .store
                    .update_webhook(call.program, id, &update, now, along)
                    .await?,
            )?;
            render_webhook(&webhook).map_err(ApiError::render)
        },
    )
    .await
}

/// `POST /webhook/delete`.
#[utoipa::path(
    post,
    path = "/webhook/delete",
    operation_id = "delete_webhook",
    tag = "webhooks",
    request_body = crate::requests_webhooks::WebhookIdRequest,
    responses(
        (status = 200, description = "The deleted endpoint (one item); its pending deliveries are dropped.", body = crate::views::Success<crate::event_views::WebhookView>),
        (status = 404, description = "`not_found`: no such endpoint in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`idempotency_in_progress`.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    serve(
        &state,
        &req,
        payload,
        Policy::Changes,
        async |mut call, mut fields| {
            let raw = fields.string("webhook_id");
            let id = fields.finish_with(required_id("webhook_id", raw, WebhookId::parse))?;
            let now = truncate_ms(state.clock.now());
            let along = call.along(render_webhook);
            let webhook = written(
                state
                    .store
                    .delete_webhook(call.program, id, now, along)
                    .await?,
            )?;
            render_webhook(&webhook).map_err(ApiError::render)
        },
    )
    .await
}

/// `POST /webhook/rotate-secret`.
#[utoipa::path(
    post,
    path = "/webhook/rotate-secret",
    operation_id = "rotate_webhook_secret",
    tag = "webhooks",
    request_body = crate::requests_webhooks::WebhookIdRequest,
    responses(
        (status = 200, description = "The endpoint (one item) with its new `secret`, shown this once; the previous secret keeps signing beside it for 24 hours (`previous_secret_expires_at`).", body = crate::views::Success<crate::event_views::WebhookView>),
        (status = 404, description = "`not_found`: no such endpoint in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`idempotency_in_progress`.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    serve(
        &state,
        &req,
        payload,
        Policy::Changes,
        async |mut call, mut fields| {
            let raw = fields.string("webhook_id");
            let id = fields.finish_with(required_id("webhook_id", raw, WebhookId::parse))?;
            let now = truncate_ms(state.clock.now());
            let along = call.along(render_webhook);
            let webhook = written(
                state
                    .store
                    .rotate_webhook_secret(call.program, id, SECRET_OVERLAP, now, along)
                    .await?,
            )?;
            tracing::info!(webhook = %webhook.id, "webhook secret rotated");
            render_webhook_with_secret(&webhook).map_err(ApiError::render)
        },
    )
    .await
}
