//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::error::ApiError;
use crate::state::AppState;

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "The process answers.", body = crate::schemas::HealthSchema)),
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "success", "message": "ok"}))
}

/// The database is reachable.
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "The database answers.", body = crate::schemas::HealthSchema),
        (status = 503, description = "The database cannot be reached (`storage_unavailable`), or the configured keys do not match it (`keys_mismatch`).", body = crate::schemas::ErrorEnvelopeSchema),
    ),
)]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.key_mismatch.is_some() {
        return Err(ApiError::KeysMismatch);
    }
    state.store.ping().await?;
    Ok(HttpResponse::Ok().json(json!({"status": "success", "message": "ready"})))
}
