//! The bare endpoint: actix-web answering a small JSON document with no authentication and no
//! database, in its own process with actix's default worker count (as `onboard serve` has),
//! the ceiling of what any read endpoint on this machine can reach.

use actix_web::{App, HttpResponse, HttpServer, web};

async fn bare(body: web::Bytes) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "status": "success",
        "message": "operation completed",
        "data": {"items": [], "pagination": {"page": 1, "per_page": 10, "total": body.len(), "sort": "created_at:desc", "search": null}}
    }))
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().body("ok")
}

/// Serves until killed.
pub(crate) fn serve(bind: &str) -> std::io::Result<()> {
    actix_web::rt::System::new().block_on(async {
        HttpServer::new(|| {
            App::new()
                .route(crate::workload::BARE_PATH, web::post().to(bare))
                .route("/healthz", web::get().to(healthz))
        })
        .bind(bind)?
        .run()
        .await
    })
}
