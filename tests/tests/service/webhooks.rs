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
