//! Business endpoints after creation (SPEC §9): `/business/update`, `/business/block`,
//! `/business/unblock`, `/business/send-verification-request`, `/business/get-all`,
//! `/business/add-business-owner`, `/business/get-business-owners`,
//! `/business/remove-business-owner`. Each handler is its work inside `pipeline::serve`.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{
    BusinessChange, BusinessId, BusinessOwnerId, BusinessQuery, NewBusinessOwner, PageRequest,
    RawBusinessQuery, RawNewBusinessOwner, ValidationErrors,
};
use storage::{Audit, Entity};
use uuid::Uuid;

use crate::business_views::{OwnerView, render_owner};
use crate::error::ApiError;
use crate::pipeline::{Policy, serve, written};
use crate::routes::businesses::raw_new_business;
use crate::routes::support::{required_id, truncate_ms};
use crate::state::AppState;
use crate::views::{BusinessView, Pagination, Success, render_business, to_body};

/// `POST /business/update`: a partial update with the create rules.
#[utoipa::path(
    post,
    path = "/business/update",
    operation_id = "update_business",
    tag = "businesses",
    request_body = crate::business_requests::UpdateBusinessRequest,
    responses(
        (status = 200, description = "The updated business.", body = crate::views::Success<crate::views::BusinessView>),
        (status = 404, description = "`not_found`: no such business in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`duplicate` (`ein`), `invalid_transition` (`ein` after KYB was requested), or `idempotency_in_progress`.", body = crate::schemas::ErrorEnvelopeSchema),
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
            let raw_id = fields.string("business_id");
            let raw = raw_new_business(&mut fields);
            let now = truncate_ms(state.clock.now());
            let today = now.date_naive();
            // Judged against the stored business first, so that its field errors are reported
            // together with unknown fields; the write decides again inside its transaction.
            let checked = match required_id("business_id", raw_id, BusinessId::parse) {
                Err(e) => Err(e),
                Ok(id) => match state.store.get_business(call.program, id).await? {
                    None => Ok((id, false)),
                    Some(business) => match business.update(&raw, today, now) {
                        Err(domain::ChangeError::Missing(errors)) => Err(errors),
                        _ => Ok((id, true)),
                    },
                },
            };
            let (id, found) = fields.finish_with(checked)?;
            if !found {
                return Err(ApiError::not_found(Entity::Business));
            }
            let actor = call.actor();
            let audit = Audit {
                actor: &actor,
                reason: None,
            };
            let along = call.along(render_business);
            let business = written(
                state
                    .store
                    .update_business(call.program, id, &raw, now, audit, along)
                    .await?,
            )?;
            tracing::info!(business = %business.id(), "business updated");
            render_business(&business).map_err(ApiError::render)
        },
    )
    .await
}

/// The common work of block, unblock and send-verification-request: `business_id`, and for
/// block and unblock an optional `reason`.
async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
    change: BusinessChange,
) -> Result<HttpResponse, ApiError> {
    serve(
        &state,
        &req,
        payload,
        Policy::Changes,
        async |mut call, mut fields| {
            let raw_id = fields.string("business_id");
            let raw_reason = match change {
                BusinessChange::Block | BusinessChange::Unblock => fields.string("reason"),
                _ => None,
            };
            let parsed = required_id("business_id", raw_id, BusinessId::parse).and_then(|id| {
                let reason = raw_reason
                    .as_deref()
                    .map(domain::Reason::parse)
                    .transpose()
                    .map_err(|v| ValidationErrors::single("reason", v))?;
                Ok((id, reason))
            });
            let (id, reason) = fields.finish_with(parsed)?;
            let actor = call.actor();
            let audit = Audit {
                actor: &actor,
                reason: reason.as_ref().map(domain::Reason::as_str),
            };
            let along = call.along(render_business);
            let business = written(
                state
                    .store
                    .change_business(call.program, id, change, audit, state.clock.now(), along)
                    .await?,
            )?;
            tracing::info!(business = %business.id(), ?change, "business changed");
            render_business(&business).map_err(ApiError::render)
        },
    )
    .await
}

/// `POST /business/block`: `active` → `blocked`, with an optional reason.
#[utoipa::path(
    post,
    path = "/business/block",
    operation_id = "block_business",
    tag = "businesses",
    request_body = crate::business_requests::BusinessReasonRequest,
    responses(
        (status = 200, description = "The blocked business.", body = crate::views::Success<crate::views::BusinessView>),
        (status = 404, description = "`not_found`: no such business in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`invalid_transition` (already blocked), or `idempotency_in_progress`.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn block(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    change(state, req, payload, BusinessChange::Block).await
}

/// `POST /business/unblock`: `blocked` → `active`, with an optional reason.
#[utoipa::path(
    post,
    path = "/business/unblock",
    operation_id = "unblock_business",
    tag = "businesses",
    request_body = crate::business_requests::BusinessReasonRequest,
    responses(
        (status = 200, description = "The active business.", body = crate::views::Success<crate::views::BusinessView>),
        (status = 404, description = "`not_found`: no such business in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`invalid_transition` (not blocked), or `idempotency_in_progress`.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn unblock(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    change(state, req, payload, BusinessChange::Unblock).await
}

/// `POST /business/send-verification-request`: KYB `not_started` → `pending`.
#[utoipa::path(
    post,
    path = "/business/send-verification-request",
    operation_id = "send_business_verification_request",
    tag = "businesses",
    request_body = crate::requests::BusinessIdRequest,
    responses(
        (status = 200, description = "The business, KYB `pending`. A 422 lists everything missing: `incorporated_date`, `incorporated_state`, `owners` (at least one beneficial owner).", body = crate::views::Success<crate::views::BusinessView>),
        (status = 404, description = "`not_found`: no such business in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`invalid_transition` (blocked, or KYB already requested), or `idempotency_in_progress`.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn send_verification_request(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    change(state, req, payload, BusinessChange::SubmitKyb).await
}

/// `POST /business/get-all`: a page of the program's businesses, newest first.
#[utoipa::path(
    post,
    path = "/business/get-all",
    operation_id = "list_businesses",
    tag = "businesses",
    request_body = crate::business_requests::ListBusinessesRequest,
    responses(
        (status = 200, description = "A page of businesses, newest first, and the total.", body = crate::views::Success<crate::views::BusinessView>),
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
            let raw = RawBusinessQuery {
                page: f.integer("page"),
                per_page: f.integer("per_page"),
                search: f.string("search"),
                status: f.string("status"),
                kyb_status: f.string("kyb_status"),
            };
            let query = fields.finish_with(BusinessQuery::parse(&raw))?;
            let page = state.store.list_businesses(call.program, &query).await?;
            let pagination = Pagination::of(query.page(), &page, "created_at:desc", query.search());
            let items = page.items.iter().map(BusinessView::from).collect();
            to_body(&Success::page(items, pagination))
        },
    )
    .await
}

/// `POST /business/add-business-owner`: a user of the program becomes a beneficial owner.
#[utoipa::path(
    post,
    path = "/business/add-business-owner",
    operation_id = "add_business_owner",
    tag = "businesses",
    request_body = crate::business_requests::AddBusinessOwnerRequest,
    responses(
        (status = 200, description = "The owner (`bown-…`, one item). A 422 `out_of_range` on `ownership_percent` when the owners' shares would pass 100; `not_found` on `user_id` for a user not in the program.", body = crate::views::Success<crate::business_views::OwnerView>),
        (status = 404, description = "`not_found`: no such business in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`duplicate` (`user_id` already an owner, or `is_control_person`: the business has one), `invalid_transition` (KYB already requested), or `idempotency_in_progress`.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn add_owner(
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
            let f = &mut fields;
            let raw = RawNewBusinessOwner {
                business_id: f.string("business_id"),
                user_id: f.string("user_id"),
                ownership_percent: f.number_text("ownership_percent"),
                title: f.string("title"),
                is_control_person: f.boolean("is_control_person"),
            };
            let owner = fields.finish_with(NewBusinessOwner::parse(&raw))?;
            let id = BusinessOwnerId::from_uuid(Uuid::now_v7());
            let actor = call.actor();
            let audit = Audit {
                actor: &actor,
                reason: None,
            };
            let along = call.along(render_owner);
            let added = written(
                state
                    .store
                    .add_business_owner(call.program, id, &owner, audit, state.clock.now(), along)
                    .await?,
            )?;
            tracing::info!(owner = %added.id(), business = %added.business_id(), "business owner added");
            render_owner(&added).map_err(ApiError::render)
        },
    )
    .await
}

/// `POST /business/remove-business-owner`: removes a beneficial owner (before KYB).
#[utoipa::path(
    post,
    path = "/business/remove-business-owner",
    operation_id = "remove_business_owner",
    tag = "businesses",
    request_body = crate::business_requests::RemoveBusinessOwnerRequest,
    responses(
        (status = 200, description = "The removed owner, as it was (one item).", body = crate::views::Success<crate::business_views::OwnerView>),
        (status = 404, description = "`not_found`: no such business in the caller's program, or no such owner of it.", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`invalid_transition` (KYB already requested), or `idempotency_in_progress`.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn remove_owner(
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
            let raw_business = fields.string("business_id");
            let raw_owner = fields.string("owner_id");
            let business = required_id("business_id", raw_business, BusinessId::parse);
            let owner = required_id("owner_id", raw_owner, BusinessOwnerId::parse);
            let parsed = match (business, owner) {
                (Ok(b), Ok(o)) => Ok((b, o)),
                (Err(a), Err(b)) => Err(a.and(b)),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            let (business, owner) = fields.finish_with(parsed)?;
            let actor = call.actor();
            let audit = Audit {
                actor: &actor,
                reason: None,
            };
            let along = call.along(render_owner);
            let removed = written(
                state
                    .store
                    .remove_business_owner(
                        call.program,
                        business,
                        owner,
                        audit,
                        state.clock.now(),
                        along,
                    )
                    .await?,
            )?;
            tracing::info!(owner = %removed.id(), business = %business, "business owner removed");
            render_owner(&removed).map_err(ApiError::render)
        },
    )
    .await
}

/// `POST /business/get-business-owners`: a page of the business's owners, oldest first, each
/// with the owner's `kyc_status`.
#[utoipa::path(
    post,
    path = "/business/get-business-owners",
    operation_id = "list_business_owners",
    tag = "businesses",
    request_body = crate::business_requests::ListBusinessOwnersRequest,
    responses(
        (status = 200, description = "A page of the business's owners (`bown-…`), oldest first.", body = crate::views::Success<crate::business_views::OwnerView>),
        (status = 404, description = "`not_found`: no such business in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn get_owners(
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
            let raw_id = fields.string("business_id");
            let page = fields.integer("page");
            let per_page = fields.integer("per_page");
            let parsed = match (
                required_id("business_id", raw_id, BusinessId::parse),
                PageRequest::parse(page, per_page),
            ) {
                (Ok(id), Ok(page)) => Ok((id, page)),
                (Err(a), Err(b)) => Err(a.and(b)),
                (Err(e), _) | (_, Err(e)) => Err(e),
            };
            let (id, page_request) = fields.finish_with(parsed)?;
            let page = state
                .store
                .business_owners(call.program, id, page_request)
                .await?
                .ok_or(ApiError::not_found(Entity::Business))?;
            let pagination = Pagination::of(page_request, &page, "created_at:asc", None);
            let items = page.items.iter().map(OwnerView::from).collect();
            to_body(&Success::page(items, pagination))
        },
    )
    .await
}
