//! Webhooks end to end (SPEC §7): an endpoint created through the API receives every change
//! as a signed event (checked with the `standardwebhooks` crate), in sequence order per
//! entity; the event log and its attempts, resend, secret rotation (both signatures during
//! the overlap), disabling, retries of a failing receiver, 410, and the address rules.

use std::time::Duration;

use client::{CreateWebhook, ListEvents, UpdateWebhook};
use serde_json::{Value, json};
use tests::receiver::{Received, Receiver};
use tests::{TestApp, json as parse, service_test};

fn types(got: &[Received]) -> Vec<String> {
    got.iter()
        .filter(|r| r.status == 200)
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_change_is_delivered_signed_and_logged(app: &TestApp) {
    let receiver = Receiver::start().await;
    let client = app.client();
    let hook = client
        .create_webhook(&CreateWebhook {
            url: receiver.url.clone(),
            event_types: None,
        })
        .await
        .unwrap();
    let secret = hook.secret.clone().expect("shown once");
    assert!(
        secret.starts_with("whsec_") && secret.len() == 6 + 44,
        "{secret}"
    );
    assert!(hook.id.starts_with("whk-"));
    assert_eq!(hook.status, "enabled");
    let read = client.get_webhook(&hook.id).await.unwrap();
    assert_eq!(read.secret, None, "the secret is shown only once");
    assert_eq!(
        client.list_webhooks(None, None).await.unwrap().items.len(),
        1
    );

    let created = client
        .post_json("/api/v3/user/create", &tests::seed_body(1))
        .await
        .unwrap();
    assert_eq!(created.status, 200);
    let user = client
        .get_user(
            parse(&created.body)["data"]["items"][0]["id"]
                .as_str()
                .unwrap(),
        )
        .await
        .unwrap();
    client.block_user(&user.id, Some("test")).await.unwrap();
    let got = receiver
        .wait_for(Duration::from_secs(10), |g| g.len() >= 2)
        .await;
    assert_eq!(types(&got), ["user.created", "user.blocked"]);
    for r in &got {
        assert!(r.verifies_with(&secret), "standardwebhooks accepts it");
        assert!(!r.verifies_with("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD"));
        assert_eq!(r.header("content-type"), Some("application/json"));
        assert_eq!(r.header("webhook-id"), r.json()["id"].as_str());
    }
    let created = got[0].json();
    assert_eq!(created["sequence"], 1);
    assert_eq!(got[1].json()["sequence"], 2);
    assert_eq!(created["data"]["object"]["id"], user.id.as_str());
    assert_eq!(created["data"]["object"]["email"], user.email.as_str());
    assert!(created["data"]["object"].get("ssn").is_none());
    assert_eq!(created["data"]["previous"], json!({}));
    assert!(created["actor"].as_str().unwrap().starts_with("api_key:"));
    let blocked = got[1].json();
    assert_eq!(blocked["data"]["object"]["status"], "blocked");
    assert_eq!(blocked["data"]["previous"]["status"], "active");

    // The audit trail, newest first, and one event with its attempts.
    let trail = client
        .list_events(&ListEvents {
            user_id: Some(user.id.clone()),
            ..ListEvents::default()
        })
        .await
        .unwrap();
    let trail_types: Vec<&str> = trail.items.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(trail_types, ["user.blocked", "user.created"]);
    let event_id = created["id"].as_str().unwrap();
    let event = client.get_event(event_id).await.unwrap();
    let attempts = event.attempts.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["status_code"], 200);
    assert_eq!(attempts[0]["webhook_id"], hook.id.as_str());

    // Resend: the same event (same webhook-id) again.
    client.resend_event(event_id, Some(&hook.id)).await.unwrap();
    let got = receiver
        .wait_for(Duration::from_secs(10), |g| g.len() >= 3)
        .await;
    assert_eq!(got[2].header("webhook-id"), Some(event_id));

    // Rotation: both secrets sign during the overlap.
    let rotated = client.rotate_webhook_secret(&hook.id).await.unwrap();
    let new_secret = rotated.secret.unwrap();
    assert_ne!(new_secret, secret);
    assert!(rotated.previous_secret_expires_at.is_some());
    client.unblock_user(&user.id).await.unwrap();
    let got = receiver
        .wait_for(Duration::from_secs(10), |g| g.len() >= 4)
        .await;
    let last = &got[3];
    assert_eq!(last.json()["type"], "user.unblocked");
    assert_eq!(
        last.header("webhook-signature").unwrap().split(' ').count(),
        2
    );
    assert!(last.verifies_with(&new_secret) && last.verifies_with(&secret));

    // Disabled: nothing more arrives; deleted: gone.
    let off = client
        .update_webhook(&UpdateWebhook {
            webhook_id: hook.id.clone(),
            status: Some("disabled".to_owned()),
            ..UpdateWebhook::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (off.status.as_str(), off.disabled_reason.as_deref()),
        ("disabled", Some("requested"))
    );
    client.block_user(&user.id, None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(receiver.received().len(), 4);
    client.delete_webhook(&hook.id).await.unwrap();
    let gone = client
        .post_json("/api/v3/webhook/get", &json!({"webhook_id": hook.id}))
        .await
        .unwrap();
    assert_eq!(gone.status, 404);
    assert_eq!(parse(&gone.body)["errors"][0]["code"], "not_found");
    // The secrets never reach the logs.
    assert!(!tests::logs_contain(secret.trim_start_matches("whsec_")));
    assert!(!tests::logs_contain(
        new_secret.trim_start_matches("whsec_")
    ));
}
service_test!(
    a_change_is_delivered_signed_and_logged,
    a_change_is_delivered_signed_and_logged
);

async fn requests_are_validated_field_by_field(app: &TestApp) {
    let client = app.client();
    let resp = client
        .post_json(
            "/api/v3/webhook/create",
            &json!({"url": "ftp://x", "event_types": ["user.created", "user.nope", 3]}),
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 400, "a wrong type first");
    let resp = client
        .post_json(
            "/api/v3/webhook/create",
            &json!({"url": "ftp://x", "event_types": ["user.created", "user.nope"]}),
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 422);
    let body: Value = parse(&resp.body);
    let fields: Vec<&str> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["url", "event_types[1]"]);
    let resp = client
        .post_json(
            "/api/v3/event/get-all",
            &json!({"per_page": 501, "type": "x"}),
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 422);
    let resp = client
        .post_json(
            "/api/v3/event/get",
            &json!({"event_id": "evt-01a222b8-1e42-73f6-92e2-c1ebdea6c27c"}),
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 404);
}
service_test!(
    requests_are_validated_field_by_field,
    requests_are_validated_field_by_field
);

/// A receiver that fails, then recovers: every event arrives, each entity's in sequence
/// order, after retries; each failed attempt is logged without the body and counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_everything_in_order_after_retries() {
    let app = tests::spawn_sqlite_with(|s| s.webhooks.retry_scale = 0.001).await;
    // The first five requests fail (500 and 503 in turn), then all succeed.
    let receiver = Receiver::answering(|n| match n {
        0 | 2 | 4 => 500,
        1 | 3 => 503,
        _ => 200,
    })
    .await;
    let client = app.client();
    let hook = client
        .create_webhook(&CreateWebhook {
            url: receiver.url.clone(),
            event_types: None,
        })
        .await
        .unwrap();
    let mut users = Vec::new();
    for n in 1..=3 {
        let created = client
            .post_json("/api/v3/user/create", &tests::seed_body(n))
            .await
            .unwrap();
        let id = parse(&created.body)["data"]["items"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        client.block_user(&id, None).await.unwrap();
        client.unblock_user(&id).await.unwrap();
        users.push(id);
    }
    let got = receiver
        .wait_for(Duration::from_secs(30), |g| {
            g.iter().filter(|r| r.status == 200).count() >= 9
        })
        .await;
    let ok: Vec<Value> = got
        .iter()
        .filter(|r| r.status == 200)
        .map(Received::json)
        .collect();
    assert_eq!(ok.len(), 9, "nothing lost");
    for user in &users {
        let seq: Vec<i64> = ok
            .iter()
            .filter(|e| e["data"]["object"]["id"] == user.as_str())
            .map(|e| e["sequence"].as_i64().unwrap())
            .collect();
        assert_eq!(seq, [1, 2, 3], "{user}: in order, each once");
    }
    assert!(
        got.iter()
            .all(|r| r.verifies_with(hook.secret.as_deref().unwrap()))
    );
    // The failures are in the event log, logged without the body, and counted.
    let first = got[0].json();
    let event = client
        .get_event(first["id"].as_str().unwrap())
        .await
        .unwrap();
    let statuses: Vec<u64> = event
        .attempts
        .unwrap()
        .iter()
        .map(|a| a["status_code"].as_u64().unwrap())
        .collect();
    assert!(
        statuses.len() >= 2 && statuses[0] >= 500 && *statuses.last().unwrap() == 200,
        "{statuses:?}"
    );
    assert!(tests::logs_contain("a webhook delivery attempt failed"));
    let email = first["data"]["object"]["email"].as_str().unwrap();
    assert!(!tests::logs_contain(email), "no body in the logs");
    let metrics = reqwest::get(format!("{}/metrics", app.base_url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("onboard_webhook_deliveries_total{outcome=\"http_5xx\"}"),
        "{metrics}"
    );
    assert!(metrics.contains("onboard_webhook_deliveries_total{outcome=\"delivered\"}"));
    assert!(metrics.contains("onboard_webhook_delivery_lag_seconds"));
    app.cleanup().await;
}

/// An endpoint that answers 410 is disabled at once, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_answering_410_is_disabled() {
    let app = tests::spawn_sqlite_with(|_| {}).await;
    let receiver = Receiver::answering(|_| 410).await;
    let client = app.client();
    let hook = client
        .create_webhook(&CreateWebhook {
            url: receiver.url.clone(),
            event_types: Some(vec!["user.created".to_owned()]),
        })
        .await
        .unwrap();
    client
        .post_json("/api/v3/user/create", &tests::seed_body(1))
        .await
        .unwrap();
    receiver
        .wait_for(Duration::from_secs(10), |g| !g.is_empty())
        .await;
    let start = std::time::Instant::now();
    let mut read = client.get_webhook(&hook.id).await.unwrap();
    while read.status != "disabled" && start.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        read = client.get_webhook(&hook.id).await.unwrap();
    }
    assert_eq!(
        (read.status.as_str(), read.disabled_reason.as_deref()),
        ("disabled", Some("gone"))
    );
    assert_eq!(receiver.received().len(), 1, "not tried again");
    app.cleanup().await;
}

/// Without `webhook_allow_private_targets`, an `http://` URL is refused at creation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_targets_need_the_development_setting() {
    let app = tests::spawn_sqlite_with(|s| s.webhooks.allow_private = false).await;
    let resp = app
        .client()
        .post_json(
            "/api/v3/webhook/create",
            &json!({"url": "http://127.0.0.1:9/hook"}),
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 422);
    assert_eq!(parse(&resp.body)["errors"][0]["field"], "url");
    app.cleanup().await;
}
