//! The credential lifecycle as a client sees it: a rotated-out HMAC secret keeps working for
//! its overlap, and a revoked credential or a disabled program answers 401 once the
//! authenticator's cache bound (`api_key_cache_ttl_secs`, short here) has passed.

use std::time::Duration;

use storage::testing::Backend;
use storage::{OperatorAction, ProgramRepository as _};
use tests::{AppOptions, TestApp, json, test_settings};

const LIST: &str = "/api/v3/user/get-all";

/// The authenticator's cache bound in these tests.
const CACHE: Duration = Duration::from_millis(300);

/// Waits until every cached credential has been looked up again.
async fn past_the_cache_bound() {
    tokio::time::sleep(CACHE * 2).await;
}

async fn status(client: &client::Client) -> u16 {
    client.post(LIST, b"{}", None).await.unwrap().status
}

/// A 401 whose code names no credential as the right one.
async fn refused(app: &TestApp, client: &client::Client) {
    let response = client.post(LIST, b"{}", None).await.unwrap();
    let v = json(&response.body);
    assert_eq!(response.status, 401, "{v}");
    let code = v["errors"][0]["code"].as_str().unwrap();
    assert!(
        ["unknown_credentials", "invalid_api_key"].contains(&code),
        "{v}"
    );
    let text = v.to_string();
    assert!(!text.contains("disabled") && !text.contains(&app.program.hmac_username));
}

async fn lifecycle(backend: Backend) {
    let mut settings = test_settings();
    settings.api_key_ttl = CACHE;
    let options = AppOptions {
        settings,
        ..AppOptions::default()
    };
    let Some(app) = tests::spawn_app_with(backend, options).await else {
        tests::note(&format!("skipped: {backend:?} is not configured"));
        return;
    };
    let by = OperatorAction::new("alice", "test");
    let program = app.program.program_id;
    let old = app.client();
    assert_eq!(status(&old).await, 200);

    // Rotated with an overlap: both secrets work, also once the cache has been refreshed.
    let rotated = app
        .store
        .rotate_hmac(program, chrono::Duration::hours(1), chrono::Utc::now(), &by)
        .await
        .unwrap();
    let new = client::Client::new(
        &app.base_url,
        app.program.api_key.expose(),
        &rotated.username,
        rotated.secret.expose(),
    );
    past_the_cache_bound().await;
    assert_eq!(status(&old).await, 200, "within the overlap");
    assert_eq!(status(&new).await, 200);

    // Revoked: the old secret stops; the new one goes on.
    app.store
        .revoke_hmac(&app.program.hmac_username, chrono::Utc::now(), &by)
        .await
        .unwrap();
    past_the_cache_bound().await;
    refused(&app, &old).await;
    assert_eq!(status(&new).await, 200);

    // Disabled: every request of the program is refused, until it is enabled again.
    app.store
        .set_program_disabled(program, true, chrono::Utc::now(), &by)
        .await
        .unwrap();
    past_the_cache_bound().await;
    refused(&app, &new).await;
    app.store
        .set_program_disabled(program, false, chrono::Utc::now(), &by)
        .await
        .unwrap();
    past_the_cache_bound().await;
    assert_eq!(status(&new).await, 200);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_lifecycle_sqlite() {
    lifecycle(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_lifecycle_postgres() {
    lifecycle(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_lifecycle_mysql() {
    lifecycle(Backend::Mysql).await;
}
