//! The event log: `/event/get-all` (with `user_id`, a user's audit trail), `/event/get` (with
//! its delivery attempts) and `/event/resend` (SPEC §7).

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{EventId, EventQuery, RawEventQuery, WebhookId};
use storage::Entity;

use crate::error::ApiError;
use crate::event_views::{EventView, render_event};
use crate::pipeline::{Policy, serve, written};
use crate::routes::support::{required_id, truncate_ms};
use crate::state::AppState;
use crate::views::{Pagination, Success, to_body};

/// `POST /event/get-all`: newest first.
#[utoipa::path(
    post,
    path = "/event/get-all",
    operation_id = "list_events",
    tag = "events",
    request_body = crate::requests_webhooks::ListEventsRequest,
    responses(
        (status = 200, description = "A page of the program's events, newest first; with `user_id` (or `business_id`), that entity's audit trail.", body = crate::views::Success<crate::event_views::EventView>),
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
            let f = &mut fields;
            let raw = RawEventQuery {
                page: f.integer("page"),
                per_page: f.integer("per_page"),
                event_type: f.string("type"),
                user_id: f.string("user_id"),
                business_id: f.string("business_id"),
                created_from: f.string("created_from"),
                created_to: f.string("created_to"),
            };
            let query = fields.finish_with(EventQuery::parse(&raw))?;
            let found = state.store.list_events(call.program, &query).await?;
            let items = found
                .items
                .iter()
                .map(EventView::of)
                .collect::<Result<Vec<_>, _>>()
                .map_err(ApiError::render)?;
            let pagination = Pagination::of(query.page(), &found, "created_at:desc", None);
            to_body(&Success::page(items, pagination))
        },
    )
    .await
}

/// `POST /event/get`.
#[utoipa::path(
    post,
    path = "/event/get",
    operation_id = "get_event",
    tag = "events",
    request_body = crate::requests_webhooks::EventIdRequest,
    responses(
        (status = 200, description = "The event (one item) with `attempts`: every delivery attempt, oldest first.", body = crate::views::Success<crate::event_views::EventView>),
        (status = 404, description = "`not_found`: no such event in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
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
            let raw = fields.string("event_id");
            let id = fields.finish_with(required_id("event_id", raw, EventId::parse))?;
            let (event, attempts) = state
                .store
                .get_event(call.program, id)
                .await?
                .ok_or(ApiError::not_found(Entity::Event))?;
            let view = EventView::of(&event)
                .map_err(ApiError::render)?
                .with_attempts(&attempts);
            to_body(&Success::one(view))
        },
    )
    .await
}

/// `POST /event/resend`.
#[utoipa::path(
    post,
    path = "/event/resend",
    operation_id = "resend_event",
    tag = "events",
    request_body = crate::requests_webhooks::ResendEventRequest,
    responses(
        (status = 200, description = "The event (one item), queued again for `webhook_id` or for every enabled endpoint that takes its type.", body = crate::views::Success<crate::event_views::EventView>),
        (status = 404, description = "`not_found`: no such event (or endpoint) in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`idempotency_in_progress`.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn resend(
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
            let raw_event = fields.string("event_id");
            let raw_webhook = fields.string("webhook_id");
            let event = required_id("event_id", raw_event, EventId::parse);
            let webhook = match raw_webhook {
                None => Ok(None),
                some => required_id("webhook_id", some, WebhookId::parse).map(Some),
            };
            let parsed = match (event, webhook) {
                (Ok(e), Ok(w)) => Ok((e, w)),
                (Err(a), Err(b)) => Err(a.merge(b)),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            let (id, webhook) = fields.finish_with(parsed)?;
            let now = truncate_ms(state.clock.now());
            let along = call.along(render_event);
            let event = written(
                state
                    .store
                    .resend_event(call.program, id, webhook, now, along)
                    .await?,
            )?;
            render_event(&event).map_err(ApiError::render)
        },
    )
    .await
}
