//! Framework-level failures answer in the error envelope with the status codes of SPEC §4.

use serde_json::Value;
use tests::{RawRequest, Signing, TestApp, json, seed_body, service_test};

const CREATE: &str = "/api/v3/user/create";

fn assert_envelope(status: u16, expected: u16, body: &[u8], code: &str) {
    let v: Value = json(body);
    assert_eq!(status, expected, "{v}");
    assert_eq!(v["status"], "error", "{v}");
    assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(v["errors"][0]["code"], code, "{v}");
}

async fn framework_failures_use_the_envelope(app: &TestApp) {
    // 400: not JSON, and JSON that is not an object.
    let (s, _, b) = RawRequest::signed(app, CREATE, b"{not json")
        .send(app)
        .await;
    assert_envelope(s, 400, &b, "malformed_json");
    let (s, _, b) = RawRequest::signed(app, CREATE, b"[1,2]").send(app).await;
    assert_envelope(s, 400, &b, "malformed_json");

    // 413: over 64 KiB.
    let mut big = seed_body(1);
    big["address_two"] = Value::String("a".repeat(70 * 1024));
    let (s, _, b) = RawRequest::signed(app, CREATE, big.to_string().as_bytes())
        .send(app)
        .await;
    assert_envelope(s, 413, &b, "payload_too_large");

    // 415: a signed body that is not declared as JSON.
    let body = seed_body(2).to_string();
    let raw = RawRequest::signed(app, CREATE, body.as_bytes());
    let (s, _, b) = RawRequest {
        headers: raw.headers.clone(),
        ..raw
    }
    .header("content-type", Some("text/plain"))
    .send(app)
    .await;
    // content-type is signed, so changing it breaks the signature: sign text/plain instead.
    assert_eq!(s, 401, "{}", String::from_utf8_lossy(&b));
    let (s, _, b) = text_plain(app, body.as_bytes()).await;
    assert_envelope(s, 415, &b, "unsupported_media_type");

    // 404: unknown route (signed or not), 405: wrong method.
    let http = reqwest::Client::new();
    for path in ["/api/v3/user/nope", "/nope", "/api/v5/user/create"] {
        let r = http
            .post(format!("{}{path}", app.base_url))
            .send()
            .await
            .unwrap();
        let s = r.status().as_u16();
        assert_envelope(s, 404, &r.bytes().await.unwrap(), "not_found");
    }
    let r = http
        .get(format!("{}{CREATE}", app.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    let s = r.status().as_u16();
    assert_envelope(s, 405, &r.bytes().await.unwrap(), "method_not_allowed");

    // Health checks need no credentials.
    for path in ["/healthz", "/readyz"] {
        let r = http
            .get(format!("{}{path}", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
}
service_test!(
    framework_failures_use_the_envelope,
    framework_failures_use_the_envelope
);

async fn text_plain(app: &TestApp, body: &[u8]) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    RawRequest::build(
        CREATE,
        body,
        &Signing {
            content_type: "text/plain",
            ..Signing::of(app)
        },
    )
    .send(app)
    .await
}
