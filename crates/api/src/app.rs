//! The actix-web application: routes under `/api/v3` and `/api/v4`, health checks, the
//! OpenAPI document and its page, fallbacks.

use actix_web::HttpResponse;
use actix_web::http::header::{self, ContentType};
use actix_web::web;

use crate::error::{ApiError, Missing};
use crate::routes;
use crate::state::VERSIONS;

/// Registers every route on an `App`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for version in VERSIONS {
        cfg.service(
            web::scope(version)
                // Answers carry personal data: no cache may keep them.
                .wrap(
                    actix_web::middleware::DefaultHeaders::new()
                        .add((header::CACHE_CONTROL, "no-store")),
                )
                .service(post_only("/user/create", routes::users::create))
                .service(post_only("/user/get", routes::users::get))
                .service(post_only("/user/get-all", routes::users::get_all))
                .service(post_only("/user/update", routes::users::update))
                .service(post_only("/user/block", routes::users::block))
                .service(post_only("/user/unblock", routes::users::unblock))
                .service(post_only(
                    "/user/send-verification-request",
                    routes::users::send_verification_request,
                ))
                .service(post_only("/business/create", routes::businesses::create))
                .service(post_only("/business/get", routes::businesses::get))
                .service(post_only(
                    "/business/customers/get-all",
                    routes::businesses::customers,
                ))
                .configure(routes_of_events)
                .configure(routes_of_business_life)
                .default_service(web::to(not_found)),
        );
    }
    cfg.service(web::resource("/healthz").route(web::get().to(routes::health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(routes::health::readyz)))
        .service(web::resource("/metrics").route(web::get().to(crate::metrics::render)))
        .service(web::resource("/openapi.json").route(web::get().to(openapi_json)))
        .service(web::resource("/docs").route(web::get().to(docs_redirect)))
        .service(docs_page())
        .default_service(web::to(not_found));
}

/// The business operations of SPEC §9 (update, block, KYB, owners, listing).
fn routes_of_business_life(cfg: &mut web::ServiceConfig) {
    use routes::business_life as b;
    cfg.service(post_only("/business/update", b::update))
        .service(post_only("/business/block", b::block))
        .service(post_only("/business/unblock", b::unblock))
        .service(post_only(
            "/business/send-verification-request",
            b::send_verification_request,
        ))
        .service(post_only("/business/get-all", b::get_all))
        .service(post_only("/business/add-business-owner", b::add_owner))
        .service(post_only("/business/get-business-owners", b::get_owners))
        .service(post_only(
            "/business/remove-business-owner",
            b::remove_owner,
        ));
}

/// The OpenAPI document, rendered once.
static OPENAPI_JSON: std::sync::LazyLock<String> = std::sync::LazyLock::new(crate::openapi::json);

/// `GET /openapi.json`.
async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(OPENAPI_JSON.as_str())
}

/// `GET /docs` → `/docs/` (Swagger UI's relative asset paths need the slash).
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// `GET /docs/`: Swagger UI rendering `/openapi.json`, from assets compiled into the binary.
/// Nothing is fetched from elsewhere: the online validator is off, and "try it out" too
/// (requests must be signed, which a browser form cannot do).
fn docs_page() -> utoipa_swagger_ui::SwaggerUi {
    utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}").config(
        utoipa_swagger_ui::Config::new(["/openapi.json"])
            .validator_url("none")
            .try_it_out_enabled(false)
            .supported_submit_methods(Vec::<String>::new())
            .display_operation_id(true)
            .deep_linking(true),
    )
}

/// The webhook and event routes (SPEC §7).
fn routes_of_events(cfg: &mut web::ServiceConfig) {
    cfg.service(post_only("/webhook/create", routes::webhooks::create))
        .service(post_only("/webhook/get", routes::webhooks::get))
        .service(post_only("/webhook/get-all", routes::webhooks::get_all))
        .service(post_only("/webhook/update", routes::webhooks::update))
        .service(post_only("/webhook/delete", routes::webhooks::delete))
        .service(post_only(
            "/webhook/rotate-secret",
            routes::webhooks::rotate_secret,
        ))
        .service(post_only("/event/get-all", routes::events::get_all))
        .service(post_only("/event/get", routes::events::get))
        .service(post_only("/event/resend", routes::events::resend));
}

fn post_only<F, Args>(path: &str, handler: F) -> actix_web::Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(web::post().to(handler))
        .default_service(web::to(method_not_allowed))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(Missing::Route))
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}
