//! Business endpoints: `/business/create`, `/business/get`, `/business/customers/get-all`.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{Business, BusinessId, ContactQuery, NewBusiness, RawContactQuery, RawNewBusiness};
use storage::{BusinessRepository as _, Completion};
use uuid::Uuid;

use crate::app::{AppState, authenticate};
use crate::body::Fields;
use crate::error::ApiError;
use crate::idempotency;
use crate::routes::users::{required_id, to_body, truncate_ms};
use crate::views::{BusinessView, ContactView, Pagination, Success};

/// Reads the create-business fields (SPEC §3.2).
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
        ein: f.string("ein"),
        business_type: f.string("business_type"),
        incorporated_date: f.string("incorporated_date"),
        incorporated_state: f.string("incorporated_state"),
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
        (status = 409, description = "`duplicate` (`ein` already used in the program), or `idempotency_in_progress`: a request with this Idempotency-Key is still being processed.", body = crate::openapi::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let request = idempotency::begin(&state, &req, payload).await?;
    let (program, key, digest) = (request.program, request.key, request.digest);
    let mut fields = request.fields;
    let work_state = state.clone();
    idempotency::run(&state, program, key, &digest, |claim| async move {
        let state = work_state;
        let raw = raw_new_business(&mut fields);
        let now = truncate_ms(state.clock.now());
        let new = fields.finish_with(NewBusiness::parse(&raw, now.date_naive()))?;
        let id = BusinessId::from_uuid(Uuid::now_v7());
        let body = to_body(&Success::one(BusinessView::from(&Business::create(
            id, program, &new, now,
        ))))?;
        let completion = claim.as_ref().map(|c| Completion {
            key: &c.key,
            claimed_at: c.at,
            status: 200,
            body: &body,
        });
        let business = state
            .store
            .create_business(program, id, &new, now, completion)
            .await?;
        tracing::info!(business = %business.id(), "business created");
        Ok(body)
    })
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
        (status = 404, description = "`not_found`: no such business in the caller's program.", body = crate::openapi::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn get(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut request = authenticate(&state, &req, payload).await?;
    let raw_id = request.fields.string("business_id");
    let id = request
        .fields
        .finish_with(required_id("business_id", raw_id, BusinessId::parse))?;
    let business = state
        .store
        .get_business(request.program, id)
        .await?
        .ok_or(ApiError::NotFound("business"))?;
    Ok(HttpResponse::Ok().json(Success::one(BusinessView::from(&business))))
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
        (status = 404, description = "`not_found`: no such business in the caller's program.", body = crate::openapi::ErrorEnvelopeSchema),
    ),
)]
#[tracing::instrument(skip_all, fields(program))]
pub async fn customers(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut request = authenticate(&state, &req, payload).await?;
    let f = &mut request.fields;
    let raw = RawContactQuery {
        business_id: f.string("business_id"),
        contact_type: f.string("type"),
        page: f.integer("page"),
        per_page: f.integer("per_page"),
    };
    let query = request.fields.finish_with(ContactQuery::parse(&raw))?;
    let page = state
        .store
        .list_contacts(request.program, &query)
        .await?
        .ok_or(ApiError::NotFound("business"))?;
    let pagination = Pagination {
        page: query.page().page(),
        per_page: query.page().per_page(),
        total: page.total,
        sort: "created_at:desc".to_owned(),
        search: None,
    };
    let items = page.items.iter().map(ContactView::from).collect();
    Ok(HttpResponse::Ok().json(Success::page(items, pagination)))
}
