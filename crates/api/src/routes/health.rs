//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::app::AppState;
use crate::error::ApiError;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "success", "message": "ok"}))
}

/// The database is reachable.
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.store.ping().await?;
    Ok(HttpResponse::Ok().json(json!({"status": "success", "message": "ready"})))
}
