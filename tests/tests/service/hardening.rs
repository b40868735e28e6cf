//! Issue 15 as a user sees it: a failing neighbour cannot lock a tenant out, hostile bodies
//! get small answers, an immediate keyed retry gets the first answer, reads write nothing, a
//! throttled tenant costs no write, answers are never cached.

use api::limits::Rate;
use serde_json::{Value, json};
use tests::{RawRequest, Signing, TestApp, json, seed_body, service_test};

const CREATE: &str = "/api/v3/user/create";
const GET: &str = "/api/v3/user/get";

/// 35 requests with a wrong signature from one address, then correctly signed ones from the
/// same address: the failures end in 429, the signed requests all pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_an_address_do_not_lock_out_signed_requests() {
    let app = tests::spawn_sqlite_with(|s| {
        s.auth_failure_rate = Rate {
            per_second: 0.5,
            burst: 30.0,
        };
    })
    .await;
    let mut statuses = Vec::new();
    for _ in 0..35 {
        let bad = RawRequest::build(
            CREATE,
            b"{}",
            &Signing {
                secret: "wrong",
                ..Signing::of(&app)
            },
        );
        statuses.push(bad.send(&app).await.0);
    }
    assert!(statuses[..30].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses[34], 429, "{statuses:?}");
    for n in 0..3 {
        let body = seed_body(n).to_string();
        let (status, _, out) = RawRequest::signed(&app, CREATE, body.as_bytes())
            .send(&app)
            .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&out));
    }
    app.cleanup().await;
}

/// Behind a trusted proxy, each forwarded client has its own budget of failures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_client_has_its_own_budget() {
    let app = tests::spawn_sqlite_with(|s| {
        s.auth_failure_rate = Rate {
            per_second: 0.1,
            burst: 2.0,
        };
        s.trusted_proxies = api::client_addr::TrustedProxies::parse(&["127.0.0.1"]).unwrap();
    })
    .await;
    let bad = |client: &str| {
        RawRequest::build(
            CREATE,
            b"{}",
            &Signing {
                secret: "wrong",
                ..Signing::of(&app)
            },
        )
        .header("x-forwarded-for", Some(client))
    };
    let mut first = Vec::new();
    for _ in 0..3 {
        first.push(bad("198.51.100.1").send(&app).await.0);
    }
    assert_eq!(first, [401, 401, 429]);
    assert_eq!(
        bad("198.51.100.2").send(&app).await.0,
        401,
        "another client"
    );
    // An IPv6 client rotating addresses inside its /64 shares one budget.
    let mut v6 = Vec::new();
    for last in 1..=3 {
        v6.push(bad(&format!("2001:db8:1:2::{last}")).send(&app).await.0);
    }
    assert_eq!(v6, [401, 401, 429]);
    app.cleanup().await;
}

async fn hostile_bodies_get_small_answers(app: &TestApp) {
    // 30,000 meta_data elements: one error, and a small answer.
    let mut body = seed_body(1);
    body["meta_data"] = Value::Array(vec![json!(0); 30_000]);
    let bytes = body.to_string();
    let (status, _, out) = RawRequest::signed(app, CREATE, bytes.as_bytes())
        .header("idempotency-key", Some("hostile-1"))
        .send(app)
        .await;
    assert!(out.len() < 16 * 1024, "{} bytes", out.len());
    assert!(matches!(status, 400 | 422), "{status}");
    let errors = json(&out)["errors"].as_array().unwrap().clone();
    assert!(errors.len() <= 51, "{} errors", errors.len());
    // 80 unknown fields: 50 listed, then one item saying how many more.
    let mut body = seed_body(2);
    for i in 0..80 {
        body[format!("extra_{i:02}")] = json!(true);
    }
    let bytes = body.to_string();
    let (status, _, out) = RawRequest::signed(app, CREATE, bytes.as_bytes())
        .send(app)
        .await;
    assert_eq!(status, 422);
    let errors = json(&out)["errors"].as_array().unwrap().clone();
    assert_eq!(errors.len(), 51);
    assert_eq!(
        errors[50],
        json!({"code": "too_many_errors", "message": "30 more errors are not listed"})
    );
}
service_test!(
    hostile_bodies_get_small_answers,
    hostile_bodies_get_small_answers
);

async fn an_immediate_keyed_retry_gets_the_first_answer(app: &TestApp) {
    let body = seed_body(3).to_string();
    // One signed request, sent twice (a client's retry within the same second, with the
    // platform's usual signed headers: the signature is identical).
    let request =
        RawRequest::signed(app, CREATE, body.as_bytes()).header("idempotency-key", Some("same"));
    let (status, first_headers, first) = request.send(app).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&first));
    assert!(first_headers.get("idempotent-replayed").is_none());
    let (status, headers, again) = request.send(app).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&again));
    assert_eq!(headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again, first, "byte for byte");
    // The same signature with another (unsigned) key is still a replay.
    let (status, _, out) = request
        .clone()
        .header("idempotency-key", Some("other"))
        .send(app)
        .await;
    assert_eq!(status, 401, "{}", String::from_utf8_lossy(&out));
    assert_eq!(json(&out)["errors"][0]["code"], "replayed_request");
    // … and that key stays free for its own request.
    let (status, _, _) = RawRequest::signed(app, CREATE, seed_body(4).to_string().as_bytes())
        .header("idempotency-key", Some("other"))
        .send(app)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users").await,
        2,
        "one user per original request"
    );
}
service_test!(
    an_immediate_keyed_retry_gets_the_first_answer,
    an_immediate_keyed_retry_gets_the_first_answer
);

async fn reads_write_nothing_and_answers_are_not_cached(app: &TestApp) {
    let body = seed_body(5).to_string();
    let (status, headers, out) = RawRequest::signed(app, CREATE, body.as_bytes())
        .send(app)
        .await;
    assert_eq!(status, 200);
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    let id = json(&out)["data"]["items"][0]["id"].clone();
    let signatures = app.count("SELECT COUNT(*) FROM seen_signatures").await;
    let get = json!({ "user_id": id }).to_string();
    let read = RawRequest::signed(app, GET, get.as_bytes());
    for _ in 0..2 {
        // The same signed read twice: both answered (reads are not replay-guarded).
        let (status, headers, _) = read.send(app).await;
        assert_eq!(status, 200);
        assert_eq!(headers.get("cache-control").unwrap(), "no-store");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM seen_signatures").await,
        signatures,
        "a read writes no replay record"
    );
    // Errors are not cached either.
    let (status, headers, _) = RawRequest::signed(app, "/api/v3/nope", b"{}")
        .send(app)
        .await;
    assert_eq!(status, 404);
    assert_eq!(headers.get("cache-control").unwrap(), "no-store");
}
service_test!(
    reads_write_nothing_and_answers_are_not_cached,
    reads_write_nothing_and_answers_are_not_cached
);

/// `replay_guard = "all"` restores the guard on reads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_guard_all_guards_reads_too() {
    let app = tests::spawn_sqlite_with(|s| {
        s.replay_reads = true;
    })
    .await;
    let get = json!({ "user_id": "user-01a228dd-0186-7093-8b1d-09c93df70f87" }).to_string();
    let read = RawRequest::signed(&app, GET, get.as_bytes());
    assert_eq!(read.send(&app).await.0, 404);
    let (status, _, out) = read.send(&app).await;
    assert_eq!(status, 401);
    assert_eq!(json(&out)["errors"][0]["code"], "replayed_request");
    app.cleanup().await;
}

/// A throttled program's requests are refused before anything is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_program_costs_no_write() {
    let app = tests::spawn_sqlite_with(|s| {
        s.program_rate = Rate {
            per_second: 0.01,
            burst: 1.0,
        };
    })
    .await;
    let body = seed_body(6).to_string();
    assert_eq!(
        RawRequest::signed(&app, CREATE, body.as_bytes())
            .send(&app)
            .await
            .0,
        200
    );
    let written = app.count("SELECT COUNT(*) FROM seen_signatures").await;
    for n in 7..10 {
        let body = seed_body(n).to_string();
        let (status, _, _) = RawRequest::signed(&app, CREATE, body.as_bytes())
            .header("idempotency-key", Some(&format!("k{n}")))
            .send(&app)
            .await;
        assert_eq!(status, 429);
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM seen_signatures").await,
        written
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM idempotency_records").await,
        0
    );
    app.cleanup().await;
}

/// Every endpoint that changes state is served under the `Changes` policy (its
/// `Idempotency-Key` is read and checked), every read under `Reads` (the header is ignored):
/// a handler registered with the wrong policy would be replay-guarded wrongly.
async fn each_endpoint_has_the_policy_of_what_it_does(app: &TestApp) {
    for endpoint in client::Endpoint::ALL {
        for version in ["/api/v3", "/api/v4"] {
            let path = format!("{version}{}", endpoint.path());
            let (status, _, out) = RawRequest::signed(app, &path, b"{}")
                .header("idempotency-key", Some(""))
                .send(app)
                .await;
            let first = json(&out)["errors"][0].clone();
            let checked = status == 422 && first["field"] == "Idempotency-Key";
            assert_eq!(checked, endpoint.mutating(), "{path}: {status} {first}");
        }
    }
}
service_test!(
    each_endpoint_has_the_policy_of_what_it_does,
    each_endpoint_has_the_policy_of_what_it_does
);
