//! User endpoints: create, get, get-all, update, block, unblock, send-verification-request.
//! Each handler is its work: read the fields, parse into the domain, call one storage
//! method, render (the front half is `pipeline::serve`).

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{
    ContactId, NewUser, ParseContext, RawNewUser, RawUserQuery, UserChange, UserId, UserQuery,
};
use storage::{Audit, Entity, NewUserIds};
use uuid::Uuid;

use crate::body::Fields;
use crate::error::ApiError;
use crate::pipeline::{Policy, serve, written};
use crate::routes::support::{required_id, truncate_ms};
use crate::state::AppState;
use crate::views::{Pagination, Success, UserView, render_user, to_body};

/// Reads the create-user fields (SPEC §3.1) out of a JSON object.
pub fn raw_new_user(f: &mut Fields) -> RawNewUser {
    RawNewUser {
        business_id: f.string("business_id"),
        is_vendor: f.boolean("is_vendor"),
        ..raw_new_user_without_link(f)
    }
}

/// `POST /user/create`: validates, stores, and answers with the created user.
#[utoipa::path(
    post,
    path = "/user/create",
    operation_id = "create_user",
    tag = "users",
    request_body = crate::requests::CreateUserRequest,
    responses(
        (status = 200, description = "The created user (one item).", body = crate::views::Success<crate::views::UserView>),
        (status = 409, description = "`duplicate` (`email`, `username` or `ssn` already used in the program), or `idempotency_in_progress`: a request with this Idempotency-Key is still being processed.", body = crate::schemas::ErrorEnvelopeSchema),
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
            let raw = raw_new_user(&mut fields);
            let now = truncate_ms(state.clock.now());
            let ctx = ParseContext {
                today: now.date_naive(),
                min_age: state.min_age,
            };
            let new_user = fields.finish_with(NewUser::parse(&raw, ctx))?;
            let ids = NewUserIds {
                user: UserId::from_uuid(Uuid::now_v7()),
                contact: ContactId::from_uuid(Uuid::now_v7()),
            };
            let along = call.along(render_user);
            let user = written(
                state
                    .store
                    .create_user(call.program, ids, &new_user, now, along)
                    .await?,
            )?;
            tracing::info!(user = %user.id(), "user created");
            render_user(&user).map_err(ApiError::render)
        },
    )
    .await
}

/// `POST /user/get`: one user of the caller's program (404 otherwise, also for another
/// program's user).
#[utoipa::path(
    post,
    path = "/user/get",
    operation_id = "get_user",
    tag = "users",
    request_body = crate::requests::UserIdRequest,
    responses(
        (status = 200, description = "The user (one item).", body = crate::views::Success<crate::views::UserView>),
        (status = 404, description = "`not_found`: no such user in the caller's program (another program's user is not found either).", body = crate::schemas::ErrorEnvelopeSchema),
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
            let raw_id = fields.string("user_id");
            let id = fields.finish_with(required_id("user_id", raw_id, UserId::parse))?;
            let user = state
                .store
                .get_user(call.program, id)
                .await?
                .ok_or(ApiError::not_found(Entity::User))?;
            render_user(&user).map_err(ApiError::render)
        },
    )
    .await
}

/// `POST /user/get-all`: a page of the program's users with filters, search and sort.
#[utoipa::path(
    post,
    path = "/user/get-all",
    operation_id = "list_users",
    tag = "users",
    request_body = crate::requests::ListUsersRequest,
    responses(
        (status = 200, description = "A page of users and the total.", body = crate::views::Success<crate::views::UserView>),
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
            let raw = RawUserQuery {
                page: f.integer("page"),
                per_page: f.integer("per_page"),
                email: f.string("email"),
                search: f.string("search"),
                status: f.string("status"),
                kyc_status: f.string("kyc_status"),
                sort: f.string("sort"),
            };
            let query = fields.finish_with(UserQuery::parse(&raw))?;
            let page = state.store.list_users(call.program, &query).await?;
            let pagination =
                Pagination::of(query.page(), &page, query.sort().as_str(), query.search());
            let items = page.items.iter().map(UserView::from).collect();
            to_body(&Success::page(items, pagination))
        },
    )
    .await
}

/// The common work of block, unblock and send-verification-request: read `user_id` (and
/// for block an optional `reason`), apply the change.
async fn change(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
    change: UserChange,
) -> Result<HttpResponse, ApiError> {
    serve(
        &state,
        &req,
        payload,
        Policy::Changes,
        async |mut call, mut fields| {
            let raw_id = fields.string("user_id");
            let raw_reason = if change == UserChange::Block {
                fields.string("reason")
            } else {
                None
            };
            let parsed = required_id("user_id", raw_id, UserId::parse).and_then(|id| {
                let reason = raw_reason
                    .as_deref()
                    .map(domain::Reason::parse)
                    .transpose()
                    .map_err(|v| domain::ValidationErrors::single("reason", v))?;
                Ok((id, reason))
            });
            let (id, reason) = fields.finish_with(parsed)?;
            let actor = call.actor();
            let audit = Audit {
                actor: &actor,
                reason: reason.as_ref().map(domain::Reason::as_str),
            };
            let mut along = call.along(render_user);
            if change == UserChange::SubmitKyc {
                // Screened before any KYC verifier is asked, recorded with the submission
                // (SPEC §8); a refused submission records nothing.
                along.screening = crate::screening::submission(
                    &state.screening,
                    state.store.as_ref(),
                    call.program,
                    id,
                    &actor,
                    state.clock.now(),
                )
                .await?;
            }
            let user = written(
                state
                    .store
                    .change_user(call.program, id, change, audit, state.clock.now(), along)
                    .await?,
            )?;
            tracing::info!(user = %user.id(), ?change, "user changed");
            render_user(&user).map_err(ApiError::render)
        },
    )
    .await
}

/// `POST /user/block`: `active` → `blocked`, with an optional reason (≤ 256).
#[utoipa::path(
    post,
    path = "/user/block",
    operation_id = "block_user",
    tag = "users",
    request_body = crate::requests::BlockUserRequest,
    responses(
        (status = 200, description = "The blocked user.", body = crate::views::Success<crate::views::UserView>),
        (status = 404, description = "`not_found`: no such user in the caller's program (another program's user is not found either).", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`invalid_transition` (already blocked), or `idempotency_in_progress`: a request with this Idempotency-Key is still being processed.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn block(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    change(state, req, payload, UserChange::Block).await
}

/// `POST /user/unblock`: `blocked` → `active`.
#[utoipa::path(
    post,
    path = "/user/unblock",
    operation_id = "unblock_user",
    tag = "users",
    request_body = crate::requests::UserIdRequest,
    responses(
        (status = 200, description = "The active user.", body = crate::views::Success<crate::views::UserView>),
        (status = 404, description = "`not_found`: no such user in the caller's program (another program's user is not found either).", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`invalid_transition` (not blocked), or `idempotency_in_progress`: a request with this Idempotency-Key is still being processed.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn unblock(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    change(state, req, payload, UserChange::Unblock).await
}

/// `POST /user/send-verification-request`: KYC `not_started` → `pending`.
#[utoipa::path(
    post,
    path = "/user/send-verification-request",
    operation_id = "send_verification_request",
    tag = "users",
    request_body = crate::requests::UserIdRequest,
    responses(
        (status = 200, description = "The user, KYC `pending`. A 422 lists what is missing: `date_of_birth`, `ssn`, `terms_accepted: true`.", body = crate::views::Success<crate::views::UserView>),
        (status = 404, description = "`not_found`: no such user in the caller's program (another program's user is not found either).", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`invalid_transition` (blocked, or KYC already requested), or `idempotency_in_progress`: a request with this Idempotency-Key is still being processed.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn send_verification_request(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    change(state, req, payload, UserChange::SubmitKyc).await
}

/// `POST /user/update`: a partial update with the create rules; `email`, `business_id` and
/// `is_vendor` cannot be updated.
#[utoipa::path(
    post,
    path = "/user/update",
    operation_id = "update_user",
    tag = "users",
    request_body = crate::requests::UpdateUserRequest,
    responses(
        (status = 200, description = "The updated user.", body = crate::views::Success<crate::views::UserView>),
        (status = 404, description = "`not_found`: no such user in the caller's program (another program's user is not found either).", body = crate::schemas::ErrorEnvelopeSchema),
        (status = 409, description = "`duplicate` (`username` or `ssn`), `invalid_transition` (names, date of birth or SSN after KYC was requested), or `idempotency_in_progress`: a request with this Idempotency-Key is still being processed.", body = crate::schemas::ErrorEnvelopeSchema),
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
            let raw_id = fields.string("user_id");
            let raw = raw_new_user_without_link(&mut fields);
            let now = state.clock.now();
            let ctx = ParseContext {
                today: now.date_naive(),
                min_age: state.min_age,
            };
            // Judge the update against the stored user first, so that its field errors are
            // reported together with unknown fields; the write re-checks inside its transaction.
            let checked = match required_id("user_id", raw_id, UserId::parse) {
                Err(e) => Err(e),
                Ok(id) => match state.store.get_user(call.program, id).await? {
                    None => Ok((id, false)),
                    Some(user) => match user.update(&raw, ctx, now) {
                        Err(domain::ChangeError::Missing(errors)) => Err(errors),
                        _ => Ok((id, true)),
                    },
                },
            };
            let (id, found) = fields.finish_with(checked)?;
            if !found {
                return Err(ApiError::not_found(Entity::User));
            }
            let along = call.along(render_user);
            let user = written(
                state
                    .store
                    .update_user(call.program, id, &raw, ctx, now, along)
                    .await?,
            )?;
            tracing::info!(user = %user.id(), "user updated");
            render_user(&user).map_err(ApiError::render)
        },
    )
    .await
}

/// The create fields other than `business_id` and `is_vendor` (which stay unread, so that
/// sending them is an unknown field).
fn raw_new_user_without_link(f: &mut Fields) -> RawNewUser {
    RawNewUser {
        first_name: f.string("first_name"),
        middle_name: f.string("middle_name"),
        last_name: f.string("last_name"),
        email: f.string("email"),
        phone_number: f.string("phone_number"),
        address_one: f.string("address_one"),
        address_two: f.string("address_two"),
        city: f.string("city"),
        state: f.string("state"),
        country: f.string("country"),
        postal_code: f.string("postal_code"),
        username: f.string("username"),
        date_of_birth: f.string("date_of_birth"),
        ssn: f.secret("ssn"),
        terms_accepted: f.boolean("terms_accepted"),
        meta_data: f.meta_data("meta_data"),
        business_id: None,
        is_vendor: None,
    }
}
