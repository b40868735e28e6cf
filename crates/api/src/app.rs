//! The actix-web application: routes under `/api/v3` and `/api/v4`, health checks, fallbacks.

use std::sync::Arc;

use actix_web::http::header::{self, ContentType};
use actix_web::web::{self, Bytes};
use actix_web::{HttpRequest, HttpResponse};
use futures_util::StreamExt as _;
use storage::{SecretString, SqlStore};

use crate::auth::{Authenticator, ReplayRecord};
use crate::body::Fields;
use crate::clock::Clock;
use crate::error::ApiError;
use crate::routes;

/// Everything a handler needs, shared by all workers.
#[derive(Debug)]
pub struct AppState {
    /// Repositories.
    pub store: SqlStore,
    /// Request authentication.
    pub auth: Authenticator,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Minimum age of a user, in years.
    pub min_age: u32,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Rate limits.
    pub limits: crate::limits::Limits,
}

/// The API versions served, with identical behaviour.
pub const VERSIONS: [&str; 2] = ["/api/v3", "/api/v4"];

/// Registers every route on an `App`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for version in VERSIONS {
        cfg.service(
            web::scope(version)
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
    Err(ApiError::NotFound("route"))
}

async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

/// Reads the body, refusing more than `limit` bytes (413) before reading them all.
pub async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(1024).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => ApiError::PayloadTooLarge(limit),
            other => ApiError::BadRequest(vec![crate::error::ErrorItem::general(
                "malformed_body",
                format!("the body could not be read: {other}"),
            )]),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// A signed, authenticated JSON request, with the `api_key` body field already removed.
#[derive(Debug)]
pub struct Authenticated {
    /// The caller's program.
    pub program: domain::ProgramId,
    /// The id of the API key used (for the audit trail).
    pub key_id: String,
    /// The body's fields, ready to be read.
    pub fields: Fields,
}

/// The common front half of every `/api` handler: size limit, authentication (with the
/// replay guard), media type, JSON shape. Order: 413, 401, 415, 400.
pub async fn authenticate(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Authenticated, ApiError> {
    authenticate_inner(state, req, payload, false)
        .await
        .map(|(request, _)| request)
}

/// [`authenticate`], except that the replay guard's record of a request that passes every
/// check is returned instead of written, for the handler to write in the transaction of the
/// work itself (one commit instead of two). The handler must then write it before the
/// request has any effect, and call [`record_replay`] when it fails before writing it.
/// A request that fails a check here has its signature recorded before the error is
/// returned, as with [`authenticate`].
pub async fn authenticate_deferred(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(Authenticated, ReplayRecord), ApiError> {
    let (request, replay) = authenticate_inner(state, req, payload, true).await?;
    let replay = replay.ok_or_else(|| ApiError::Internal("no replay record".into()))?;
    Ok((request, replay))
}

/// Records a verified request's signature (401 `replayed_request`, counted as an
/// authentication failure of the client's address, if it was already recorded).
pub async fn record_replay(
    state: &AppState,
    req: &HttpRequest,
    program: domain::ProgramId,
    replay: &ReplayRecord,
) -> Result<(), ApiError> {
    let result = state.auth.record(program, replay).await;
    if let (Err(ApiError::Unauthorized(_)), Some(ip)) = (&result, req.peer_addr().map(|a| a.ip())) {
        let _ = state
            .limits
            .auth_failures
            .take(&ip, std::time::Instant::now());
    }
    result
}

async fn authenticate_inner(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    defer_replay: bool,
) -> Result<(Authenticated, Option<ReplayRecord>), ApiError> {
    let now = std::time::Instant::now();
    let peer = req.peer_addr().map(|a| a.ip());
    if let Some(ip) = peer {
        state
            .limits
            .auth_failures
            .check(&ip, now)
            .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    }
    let body = read_body(req, payload, state.body_limit).await?;
    let mut parsed = Fields::parse(&body);
    let body_key = parsed
        .as_mut()
        .ok()
        .and_then(|f| f.take_raw("api_key"))
        .and_then(|v| v.as_str().map(|s| SecretString::new(s.to_owned())));
    let verified = match state.auth.verify(req, &body, body_key).await {
        Ok(verified) => verified,
        Err(e) => {
            if let (ApiError::Unauthorized(_), Some(ip)) = (&e, peer) {
                let _ = state.limits.auth_failures.take(&ip, now);
            }
            return Err(e);
        }
    };
    let (program, key_id) = (verified.program, verified.key_id);
    let replay = if defer_replay {
        Some(verified.replay)
    } else {
        record_replay(state, req, program, &verified.replay).await?;
        None
    };
    // Every handler's span declares a `program` field.
    tracing::Span::current().record("program", tracing::field::display(program));
    let checked = (|| {
        state
            .limits
            .programs
            .take(&program, now)
            .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| m.essence_str() == ContentType::json().0.essence_str());
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        parsed
    })();
    match checked {
        Ok(fields) => Ok((
            Authenticated {
                program,
                key_id,
                fields,
            },
            replay,
        )),
        Err(e) => {
            // Refused after all: the signature is used up all the same.
            if let Some(replay) = &replay {
                record_replay(state, req, program, replay).await?;
            }
            Err(e)
        }
    }
}
