//! Business endpoints: `/business/create`, `/business/get`, `/business/customers/get-all`.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{BusinessId, ContactQuery, NewBusiness, RawContactQuery, RawNewBusiness};
use storage::Entity;
use uuid::Uuid;

use crate::body::Fields;
use crate::error::ApiError;
use crate::pipeline::{Policy, serve, written};
use crate::routes::support::{required_id, truncate_ms};
use crate::state::AppState;
use crate::views::{ContactView, Pagination, Success, render_business, to_body};

/// Reads the create-business fields (SPEC §3.2 and §9); also the fields of an update.
pub fn raw_new_business(f: &mut Fields) -> RawNewBusiness {
    RawNewBusiness {
        business_name: f.string("business_name"),
        email: f.string("email"),
        phone_number: f.string("phone_number"),
        business_address: f.string("business_address"),
        business_address_2: f.string("business_address_2"),
        city: f.string("city"),
        state: f.string("state"),
        zipcode: f.string("zipcode"),
        country: f.string("country"),
        ein: f.secret("ein"),
        business_type: f.string("business_type"),
        incorporated_date: f.string("incorporated_date"),
        incorporated_state: f.string("incorporated_state"),
        dba: f.string("dba"),
        naics_code: f.string("naics_code"),
        business_industry: f.string("business_industry"),
        business_description: f.string("business_description"),
        website: f.string("website"),
        support_email: f.string("support_email"),
        support_phone_number: f.string("support_phone_number"),
        meta_data: f.meta_data("meta_data"),
    }
}

/// `POST /business/create`.
#[utoipa::path(
    post,
    path = "/business/create",
    operation_id = "create_business",
    tag = "businesses",
    request_body = crate::requests::CreateBusinessRequest,
    responses(
        (status = 200, description = "The created business (one item).", body = crate::views::Success<crate::views::BusinessView>),
        (status = 409, description = "`duplicate` (`ein` already used in the program), or `idempotency_in_progress`: a request with this Idempotency-Key is still being processed.", body = crate::schemas::ErrorEnvelopeSchema),
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
            let raw = raw_new_business(&mut fields);
            let now = truncate_ms(state.clock.now());
            let new = fields.finish_with(NewBusiness::parse(&raw, now.date_naive()))?;
            let id = BusinessId::from_uuid(Uuid::now_v7());
            let along = call.along(render_business);
            let business = written(
                state
                    .store
                    .create_business(call.program, id, &new, now, along)
                    .await?,
            )?;
            tracing::info!(business = %business.id(), "business created");
            render_business(&business).map_err(ApiError::render)
        },
    )
    .await
}

/// `POST /business/get`.
#[utoipa::path(
    post,
    path = "/business/get",
    operation_id = "get_business",
    tag = "businesses",
    request_body = crate::requests::BusinessIdRequest,
    responses(
        (status = 200, description = "The business (one item).", body = crate::views::Success<crate::views::BusinessView>),
        (status = 404, description = "`not_found`: no such business in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
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
            let raw_id = fields.string("business_id");
            let id = fields.finish_with(required_id("business_id", raw_id, BusinessId::parse))?;
            let business = state
                .store
                .get_business(call.program, id)
                .await?
                .ok_or(ApiError::not_found(Entity::Business))?;
            render_business(&business).map_err(ApiError::render)
        },
    )
    .await
}

/// `POST /business/customers/get-all`: the business's contacts, newest first.
#[utoipa::path(
    post,
    path = "/business/customers/get-all",
    operation_id = "list_business_contacts",
    tag = "businesses",
    request_body = crate::requests::ListContactsRequest,
    responses(
        (status = 200, description = "A page of the business's contacts, newest first.", body = crate::views::Success<crate::views::ContactView>),
        (status = 404, description = "`not_found`: no such business in the caller's program.", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn customers(
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
            let raw = RawContactQuery {
                business_id: f.string("business_id"),
                contact_type: f.string("type"),
                page: f.integer("page"),
                per_page: f.integer("per_page"),
            };
            let query = fields.finish_with(ContactQuery::parse(&raw))?;
            let page = state
                .store
                .list_contacts(call.program, &query)
                .await?
                .ok_or(ApiError::not_found(Entity::Business))?;
            let pagination = Pagination::of(query.page(), &page, "created_at:desc", None);
            let items = page.items.iter().map(ContactView::from).collect();
            to_body(&Success::page(items, pagination))
        },
    )
    .await
}
