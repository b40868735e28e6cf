//! Lifecycle changes: block/unblock and KYC submission, with the sandbox verifier deciding,
//! every transition audited.

use std::time::Duration;

use serde_json::{Value, json};
use storage::{ProgramRepository as _, UserRepository as _};
use tests::{TestApp, json as parse, seed_body, service_test};

async fn call(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let resp = app
        .client()
        .post_json(&format!("/api/v3{path}"), body)
        .await
        .unwrap();
    (resp.status, parse(&resp.body))
}

async fn create(app: &TestApp, body: &Value) -> (Value, domain::UserId) {
    let (status, out) = call(app, "/user/create", body).await;
    assert_eq!(status, 200, "{out}");
    let user = out["data"]["items"][0].clone();
    let id = user["id"].as_str().unwrap().parse().unwrap();
    (user, id)
}

fn code(out: &Value) -> &str {
    out["errors"][0]["code"].as_str().unwrap_or_default()
}

async fn block_and_unblock_are_guarded_and_audited(app: &TestApp) {
    let (user, id) = create(app, &seed_body(1)).await;
    let (status, out) = call(
        app,
        "/user/block",
        &json!({"user_id": user["id"], "reason": "chargeback"}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["data"]["items"][0]["status"], "blocked");
    assert!(out["data"]["items"][0]["updated_at"].as_str() >= user["updated_at"].as_str());
    let (status, out) = call(app, "/user/block", &json!({"user_id": user["id"]})).await;
    assert_eq!((status, code(&out)), (409, "invalid_transition"), "{out}");
    let (status, out) = call(app, "/user/unblock", &json!({"user_id": user["id"]})).await;
    assert_eq!(
        (status, out["data"]["items"][0]["status"].as_str()),
        (200, Some("active"))
    );
    let (status, out) = call(app, "/user/unblock", &json!({"user_id": user["id"]})).await;
    assert_eq!((status, code(&out)), (409, "invalid_transition"));

    let (status, out) = call(
        app,
        "/user/block",
        &json!({"user_id": user["id"], "reason": "x".repeat(257)}),
    )
    .await;
    assert_eq!(
        (status, out["errors"][0]["field"].as_str()),
        (422, Some("reason"))
    );
    let (status, out) = call(
        app,
        "/user/unblock",
        &json!({"user_id": user["id"], "reason": "no"}),
    )
    .await;
    assert_eq!(
        (status, code(&out)),
        (422, "unknown_field"),
        "unblock takes no reason"
    );

    let events = app
        .store
        .user_events(app.program.program_id, id)
        .await
        .unwrap();
    let got: Vec<(&str, &str, &str, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.from.as_str(),
                e.to.as_str(),
                e.reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("status", "active", "blocked", Some("chargeback")),
            ("status", "blocked", "active", None)
        ]
    );
    let key_id = &app.store.list_programs().await.unwrap()[0].active_api_key_ids[0];
    assert!(
        events
            .iter()
            .all(|e| e.actor == format!("api_key:{key_id}")),
        "{events:?}"
    );

    let other = app
        .store
        .create_program("other", chrono::Utc::now())
        .await
        .unwrap();
    let resp = app
        .client_for(&other)
        .post_json("/api/v3/user/block", &json!({"user_id": user["id"]}))
        .await
        .unwrap();
    assert_eq!(resp.status, 404);
}
service_test!(
    block_and_unblock_are_guarded_and_audited,
    block_and_unblock_are_guarded_and_audited
);

async fn wait_for_kyc(app: &TestApp, id: &Value, want: &str) -> Value {
    for _ in 0..100 {
        let (_, out) = call(app, "/user/get", &json!({"user_id": id})).await;
        let user = out["data"]["items"][0].clone();
        if user["kyc_status"] == want {
            return user;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("kyc_status never became {want}");
}

async fn kyc_goes_pending_then_the_sandbox_decides(app: &TestApp) {
    // Missing data: every missing requirement listed.
    let mut bare = seed_body(2);
    for f in ["ssn", "date_of_birth", "terms_accepted"] {
        bare.as_object_mut().unwrap().remove(f);
    }
    let (bare, _) = create(app, &bare).await;
    let (status, out) = call(
        app,
        "/user/send-verification-request",
        &json!({"user_id": bare["id"]}),
    )
    .await;
    assert_eq!(status, 422, "{out}");
    let mut fields: Vec<&str> = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["date_of_birth", "ssn", "terms_accepted"]);

    // A blocked user cannot be submitted.
    let (blocked, _) = create(app, &seed_body(3)).await;
    call(app, "/user/block", &json!({"user_id": blocked["id"]})).await;
    let (status, out) = call(
        app,
        "/user/send-verification-request",
        &json!({"user_id": blocked["id"]}),
    )
    .await;
    assert_eq!((status, code(&out)), (409, "invalid_transition"), "{out}");

    // not_started → pending → verified (sandbox: ordinary data).
    let (ok_user, ok_id) = create(app, &seed_body(4)).await;
    let (status, out) = call(
        app,
        "/user/send-verification-request",
        &json!({"user_id": ok_user["id"]}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert!(matches!(
        out["data"]["items"][0]["kyc_status"].as_str(),
        Some("pending" | "verified")
    ));
    wait_for_kyc(app, &ok_user["id"], "verified").await;
    let (status, out) = call(
        app,
        "/user/send-verification-request",
        &json!({"user_id": ok_user["id"]}),
    )
    .await;
    assert_eq!(
        (status, code(&out)),
        (409, "invalid_transition"),
        "no resubmission"
    );

    // → rejected (sandbox: a last name starting with "Reject").
    let mut flagged = seed_body(5);
    flagged["last_name"] = json!("Rejectson");
    let (flagged, flagged_id) = create(app, &flagged).await;
    call(
        app,
        "/user/send-verification-request",
        &json!({"user_id": flagged["id"]}),
    )
    .await;
    wait_for_kyc(app, &flagged["id"], "rejected").await;

    let p = app.program.program_id;
    let trail = |events: Vec<storage::UserEvent>| -> Vec<(String, String, String)> {
        events
            .into_iter()
            .map(|e| (e.from, e.to, e.actor))
            .collect()
    };
    let ok_trail = trail(app.store.user_events(p, ok_id).await.unwrap());
    assert_eq!(
        ok_trail[1],
        (
            "pending".into(),
            "verified".into(),
            "verifier:sandbox".into()
        )
    );
    let flagged_events = app.store.user_events(p, flagged_id).await.unwrap();
    assert_eq!(flagged_events[1].to, "rejected");
    assert_eq!(
        flagged_events[1].reason.as_deref(),
        Some("name flagged by the sandbox rules")
    );
}
service_test!(
    kyc_goes_pending_then_the_sandbox_decides,
    kyc_goes_pending_then_the_sandbox_decides
);

async fn update_is_partial_and_keeps_the_rules(app: &TestApp) {
    let (user, id) = create(app, &seed_body(6)).await;
    let (status, out) = call(
        app,
        "/user/update",
        &json!({"user_id": user["id"], "city": "  Springfield ", "middle_name": "Lee", "state": "ca",
                "meta_data": [{"name": "tier", "value": "gold"}]}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let updated = &out["data"]["items"][0];
    assert_eq!(updated["city"], "Springfield");
    assert_eq!(updated["middle_name"], "Lee");
    assert_eq!(updated["state"], "CA");
    assert_eq!(
        updated["meta_data"],
        json!([{"name": "tier", "value": "gold"}])
    );
    for unchanged in [
        "first_name",
        "last_name",
        "email",
        "phone_number",
        "postal_code",
        "ssn_last_4",
        "created_at",
    ] {
        assert_eq!(updated[unchanged], user[unchanged], "{unchanged}");
    }
    assert!(updated["updated_at"].as_str() >= user["updated_at"].as_str());
    let (_, got) = call(app, "/user/get", &json!({"user_id": user["id"]})).await;
    assert_eq!(&got["data"]["items"][0], updated, "stored as answered");

    // "" clears middle_name; every failing field at once; email and links are not updatable.
    let (status, out) = call(
        app,
        "/user/update",
        &json!({"user_id": user["id"], "middle_name": ""}),
    )
    .await;
    assert_eq!(
        (status, &out["data"]["items"][0]["middle_name"]),
        (200, &Value::Null)
    );
    let (status, out) = call(
        app,
        "/user/update",
        &json!({"user_id": user["id"], "email": "new@example.com", "postal_code": "1", "state": "ZZ", "business_id": "x"}),
    )
    .await;
    assert_eq!(status, 422, "{out}");
    let mut got: Vec<(&str, &str)> = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    got.sort_unstable();
    assert_eq!(
        got,
        [
            ("business_id", "unknown_field"),
            ("email", "invalid_value"),
            ("postal_code", "invalid_format"),
            ("state", "not_in_country")
        ]
    );

    // A new SSN is re-encrypted and its uniqueness re-checked.
    let (other, _) = create(app, &seed_body(7)).await;
    let (status, out) = call(
        app,
        "/user/update",
        &json!({"user_id": user["id"], "ssn": tests::ssn(7)}),
    )
    .await;
    assert_eq!(
        (status, out["errors"][0]["field"].as_str()),
        (409, Some("ssn")),
        "{out}"
    );
    let (status, out) = call(
        app,
        "/user/update",
        &json!({"user_id": user["id"], "ssn": "234-56-7891"}),
    )
    .await;
    assert_eq!(
        (status, out["data"]["items"][0]["ssn_last_4"].as_str()),
        (200, Some("7891"))
    );
    let ssn = app
        .store
        .reveal_ssn(app.program.program_id, id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ssn.expose_digits(), "234567891");
    let (status, _) = call(
        app,
        "/user/update",
        &json!({"user_id": other["id"], "username": "janedoe6"}),
    )
    .await;
    assert_eq!(status, 409, "usernames stay unique");

    // Once verification was requested, identity fields are locked.
    call(
        app,
        "/user/send-verification-request",
        &json!({"user_id": user["id"]}),
    )
    .await;
    let (status, out) = call(
        app,
        "/user/update",
        &json!({"user_id": user["id"], "last_name": "Other"}),
    )
    .await;
    assert_eq!((status, code(&out)), (409, "invalid_transition"), "{out}");
    let (status, _) = call(
        app,
        "/user/update",
        &json!({"user_id": user["id"], "city": "Shelbyville"}),
    )
    .await;
    assert_eq!(status, 200, "other fields stay updatable");
}
service_test!(
    update_is_partial_and_keeps_the_rules,
    update_is_partial_and_keeps_the_rules
);
