//! Every authentication failure of SPEC §2.3, provoked once, and the replay guard.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use storage::ProgramRepository as _;
use tests::{RawRequest, Signing, TestApp, json, seed_body, service_test};

const CREATE: &str = "/api/v3/user/create";

async fn expect_401(app: &TestApp, req: RawRequest, code: &str) {
    let (status, _, body) = req.send(app).await;
    let v: Value = json(&body);
    assert_eq!(status, 401, "{code}: {v}");
    assert_eq!(v["status"], "error");
    assert_eq!(v["errors"][0]["code"], code, "{v}");
    let text = v.to_string();
    assert!(
        !text.contains(app.program.api_key.expose())
            && !text.contains(app.program.hmac_secret.expose())
    );
}

fn auth_header(req: &RawRequest) -> String {
    req.headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.clone())
        .unwrap()
}

async fn every_auth_failure_has_its_code(app: &TestApp) {
    let body = seed_body(1).to_string();
    let bytes = body.as_bytes();
    let ok = || RawRequest::signed(app, CREATE, bytes);

    expect_401(app, ok().header("authorization", None), "missing_signature").await;
    expect_401(
        app,
        ok().header("authorization", Some("hmac nonsense")),
        "malformed_signature",
    )
    .await;
    let sha256 = auth_header(&ok()).replace("hmac-sha512", "hmac-sha256");
    expect_401(
        app,
        ok().header("authorization", Some(&sha256)),
        "unsupported_algorithm",
    )
    .await;
    let unsigned_date = auth_header(&ok()).replace("request-line x-date ", "request-line ");
    expect_401(
        app,
        ok().header("authorization", Some(&unsigned_date)),
        "missing_signed_header",
    )
    .await;
    expect_401(
        app,
        ok().header("api_key", None).header("x-date", None),
        "missing_signed_header",
    )
    .await;
    let old = SystemTime::now() - Duration::from_secs(301);
    let stale = RawRequest::build(
        CREATE,
        bytes,
        &Signing {
            date: old,
            ..Signing::of(app)
        },
    );
    expect_401(app, stale, "stale_date").await;
    let mut tampered = ok();
    tampered.body = body.replace("Anytown", "Evilton").into_bytes();
    expect_401(app, tampered, "digest_mismatch").await;
    let wrong_secret = RawRequest::build(
        CREATE,
        bytes,
        &Signing {
            secret: "not-the-secret",
            ..Signing::of(app)
        },
    );
    expect_401(app, wrong_secret, "signature_mismatch").await;
    let nobody = RawRequest::build(
        CREATE,
        bytes,
        &Signing {
            username: "hm_nobody",
            secret: "whatever",
            ..Signing::of(app)
        },
    );
    expect_401(app, nobody, "unknown_credentials").await;

    // The api_key header is signed by `signed`; build requests that sign without it.
    let no_key = without_api_key(app, bytes, None);
    expect_401(app, no_key, "missing_api_key").await;
    let wrong_key = without_api_key(
        app,
        bytes,
        Some("onb_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    );
    expect_401(app, wrong_key, "invalid_api_key").await;
    // Another program's valid key with this program's signature.
    let other = app
        .store
        .create_program("other", chrono::Utc::now())
        .await
        .unwrap();
    let crossed = without_api_key(app, bytes, Some(other.api_key.expose()));
    expect_401(app, crossed, "invalid_api_key").await;

    // The same signed request twice: the second is a replay.
    let once = ok();
    let (status, _, body) = once.send(app).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let signature = client::signing::Authorization::parse(&auth_header(&once))
        .unwrap()
        .signature;
    expect_401(app, once, "replayed_request").await;
    // Neither the signature nor any credential reaches the logs.
    assert!(!tests::logs_contain(&signature));
    assert!(!tests::logs_contain(app.program.api_key.expose()));
    assert!(!tests::logs_contain(app.program.hmac_secret.expose()));
}
service_test!(
    every_auth_failure_has_its_code,
    every_auth_failure_has_its_code
);

/// A create refused by validation records its signature all the same: its replay is 401,
/// not a second 422 (the create's own transaction, which records accepted signatures, never
/// ran).
async fn a_refused_create_cannot_be_replayed(app: &TestApp) {
    let mut body = seed_body(7);
    body["postal_code"] = "nope".into();
    let bytes = body.to_string();
    let refused = RawRequest::signed(app, CREATE, bytes.as_bytes());
    let (status, _, reply) = refused.send(app).await;
    assert_eq!(status, 422, "{}", String::from_utf8_lossy(&reply));
    expect_401(app, refused, "replayed_request").await;
}
service_test!(
    a_refused_create_cannot_be_replayed,
    a_refused_create_cannot_be_replayed
);

/// A request that does not sign the api_key header, sending `api_key` (or none).
fn without_api_key(app: &TestApp, body: &[u8], api_key: Option<&str>) -> RawRequest {
    RawRequest::build(
        CREATE,
        body,
        &Signing {
            api_key,
            sign_api_key: false,
            ..Signing::of(app)
        },
    )
}
