//! Retries never create twice: idempotency keys, duplicates decided by the database, and
//! rate limits.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use api::limits::Rate;
use serde_json::json;
use storage::testing::Backend;
use tests::{AppOptions, OffsetClock, RawRequest, Signing, TestApp, json, seed_body, service_test};

const CREATE: &str = "/api/v3/user/create";
const CONCURRENCY: u64 = 32;

/// A signed request with an Idempotency-Key, dated `age_s` seconds ago (so that concurrent
/// copies have distinct signatures and pass the replay guard).
fn keyed(app: &TestApp, body: &[u8], key: Option<&str>, age_s: u64) -> RawRequest {
    let date = SystemTime::now() - Duration::from_secs(age_s);
    RawRequest::build(
        CREATE,
        body,
        &Signing {
            date,
            ..Signing::of(app)
        },
    )
    .header("idempotency-key", key)
}

async fn concurrently(app: &TestApp, requests: Vec<RawRequest>) -> Vec<(u16, bool, Vec<u8>)> {
    let app_url = app.base_url.clone();
    let mut set = tokio::task::JoinSet::new();
    for req in requests {
        let url = app_url.clone();
        set.spawn(async move {
            let http = reqwest::Client::new();
            let mut r = http
                .post(format!("{url}{}", req.path))
                .body(req.body.clone());
            for (k, v) in &req.headers {
                if k != "content-length" {
                    r = r.header(k.as_str(), v.as_str());
                }
            }
            let resp = r.send().await.unwrap();
            let status = resp.status().as_u16();
            let replayed = resp
                .headers()
                .get("idempotent-replayed")
                .is_some_and(|v| v == "true");
            (status, replayed, resp.bytes().await.unwrap().to_vec())
        });
    }
    set.join_all().await
}

async fn same_key_concurrently_creates_once(app: &TestApp) {
    let body = seed_body(1).to_string();
    let requests = (0..CONCURRENCY)
        .map(|i| keyed(app, body.as_bytes(), Some("retry-1"), i))
        .collect();
    let results = concurrently(app, requests).await;
    let ok: Vec<&(u16, bool, Vec<u8>)> = results.iter().filter(|r| r.0 == 200).collect();
    let in_progress = results
        .iter()
        .filter(|r| r.0 == 409 && json(&r.2)["errors"][0]["code"] == "idempotency_in_progress")
        .count();
    assert_eq!(
        ok.len() + in_progress,
        results.len(),
        "only 200s and 409 in-progress: {results:?}"
    );
    assert!(!ok.is_empty());
    assert!(
        ok.iter().all(|r| r.2 == ok[0].2),
        "every 200 is byte-identical"
    );
    assert_eq!(
        ok.iter().filter(|r| !r.1).count(),
        1,
        "exactly one original, the rest replays"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    tests::note(&format!(
        "{:?}: {} requests with one key: {} x 200 ({} replayed), {} x 409 in progress, users: 1",
        app.backend,
        results.len(),
        ok.len(),
        ok.len() - 1,
        in_progress
    ));

    // Later repeats replay the first response exactly (dated apart from the 32 above, so
    // that their signatures differ).
    let (status, headers, again) = keyed(app, body.as_bytes(), Some("retry-1"), 40)
        .send(app)
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again, ok[0].2);
    // Whitespace and key order do not make a different request.
    let reformatted = serde_json::to_string_pretty(&seed_body(1)).unwrap();
    let (status, _, again) = keyed(app, reformatted.as_bytes(), Some("retry-1"), 41)
        .send(app)
        .await;
    assert_eq!((status, again == ok[0].2), (200, true));
}
service_test!(
    same_key_concurrently_creates_once,
    same_key_concurrently_creates_once
);

async fn concurrent_duplicates_are_decided_by_the_database(app: &TestApp) {
    for (field, make) in [
        (
            "email",
            (|i: u32| {
                let mut b = seed_body(100 + i);
                b["email"] = json!("same@example.com");
                b
            }) as fn(u32) -> serde_json::Value,
        ),
        ("ssn", |i: u32| {
            let mut b = seed_body(200 + i);
            b["ssn"] = json!("123-45-6789");
            b
        }),
    ] {
        let requests = (0..u32::try_from(CONCURRENCY).unwrap())
            .map(|i| keyed(app, make(i).to_string().as_bytes(), None, 0))
            .collect();
        let results = concurrently(app, requests).await;
        let ok = results.iter().filter(|r| r.0 == 200).count();
        let dup = results
            .iter()
            .filter(|r| {
                let v = json(&r.2);
                r.0 == 409
                    && v["errors"][0]["code"] == "duplicate"
                    && v["errors"][0]["field"] == field
            })
            .count();
        assert_eq!((ok, dup), (1, results.len() - 1), "{field}: {results:?}");
        tests::note(&format!(
            "{:?}: {CONCURRENCY} concurrent creates with one {field}: {ok} x 200, {dup} x 409 duplicate",
            app.backend
        ));
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 2);
}
service_test!(
    concurrent_duplicates_are_decided_by_the_database,
    concurrent_duplicates_are_decided_by_the_database
);

async fn failures_are_recorded_and_keys_scoped(app: &TestApp) {
    let mut bad = seed_body(3);
    bad["postal_code"] = json!("nope");
    let (s1, h1, b1) = keyed(app, bad.to_string().as_bytes(), Some("k-bad"), 0)
        .send(app)
        .await;
    let (s2, h2, b2) = keyed(app, bad.to_string().as_bytes(), Some("k-bad"), 1)
        .send(app)
        .await;
    assert_eq!((s1, s2), (422, 422));
    assert!(h1.get("idempotent-replayed").is_none());
    assert_eq!(h2.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(b1, b2);

    let (s, _, b) = keyed(app, seed_body(4).to_string().as_bytes(), Some("k-bad"), 2)
        .send(app)
        .await;
    assert_eq!(s, 422);
    assert_eq!(json(&b)["errors"][0]["code"], "idempotency_key_reused");

    let (s, _, b) = keyed(app, seed_body(4).to_string().as_bytes(), Some(""), 3)
        .send(app)
        .await;
    assert_eq!(
        (s, json(&b)["errors"][0]["field"].as_str()),
        (422, Some("Idempotency-Key"))
    );
}
service_test!(
    failures_are_recorded_and_keys_scoped,
    failures_are_recorded_and_keys_scoped
);

async fn keys_are_free_again_after_retention(backend: Backend) {
    let clock = Arc::new(OffsetClock::default());
    let options = AppOptions {
        clock: clock.clone(),
        ..AppOptions::default()
    };
    let Some(app) = tests::spawn_app_with(backend, options).await else {
        return;
    };
    let sign = |body: &serde_json::Value| {
        RawRequest::build(
            CREATE,
            body.to_string().as_bytes(),
            &Signing {
                date: clock.system_now(),
                ..Signing::of(&app)
            },
        )
        .header("idempotency-key", Some("daily"))
    };
    assert_eq!(sign(&seed_body(5)).send(&app).await.0, 200);
    assert_eq!(
        sign(&seed_body(6)).send(&app).await.0,
        422,
        "reused within 24 h"
    );
    clock.advance(chrono::Duration::hours(24) + chrono::Duration::seconds(1));
    let (status, headers, _) = sign(&seed_body(6)).send(&app).await;
    assert_eq!(status, 200, "free again after the retention window");
    assert!(headers.get("idempotent-replayed").is_none());
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 2);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_free_again_after_retention_sqlite() {
    keys_are_free_again_after_retention(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_free_again_after_retention_postgres() {
    keys_are_free_again_after_retention(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_free_again_after_retention_mysql() {
    keys_are_free_again_after_retention(Backend::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_over_the_limit_get_429_then_recover() {
    let app = tests::spawn_sqlite_with(|s| {
        s.program_rate = Rate {
            per_second: 0.2,
            burst: 3.0,
        };
        s.auth_failure_rate = Rate {
            per_second: 2.0,
            burst: 2.0,
        };
    })
    .await;
    let mut statuses = Vec::new();
    for n in 0..5 {
        let (status, headers, body) = keyed(&app, seed_body(n).to_string().as_bytes(), None, 0)
            .send(&app)
            .await;
        if status == 429 {
            let retry: u64 = headers
                .get("retry-after")
                .unwrap()
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=5).contains(&retry), "Retry-After {retry}");
            assert_eq!(json(&body)["errors"][0]["code"], "rate_limited");
        }
        statuses.push(status);
    }
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    tokio::time::sleep(Duration::from_millis(5100)).await;
    assert_eq!(
        keyed(&app, seed_body(9).to_string().as_bytes(), None, 0)
            .send(&app)
            .await
            .0,
        200
    );

    // Authentication failures are limited per address before any credential work.
    let bad = || {
        RawRequest::build(
            CREATE,
            b"{}",
            &Signing {
                secret: "wrong",
                ..Signing::of(&app)
            },
        )
    };
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(bad().send(&app).await.0);
    }
    assert_eq!(seen, [401, 401, 429]);
    app.cleanup().await;
}
