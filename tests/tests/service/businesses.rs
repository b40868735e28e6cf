//! Businesses as SPEC §9 has them: the platform's own example (`"LLC"`), the additional
//! fields, `/business/update`, block/unblock, KYB, beneficial owners (with the concurrent
//! owner-percentage race), `/business/get-all`, and isolation between programs.

use std::time::Duration;

use domain::BusinessId;
use domain::fixtures::{SeedBusiness, SeedUser};
use serde_json::{Value, json};
use storage::{BusinessLifecycle as _, ProgramRepository as _};
use tests::{TestApp, business_json, json as parse, seed_json, service_test};

async fn call(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let resp = app
        .client()
        .post_json(&format!("/api/v3{path}"), body)
        .await
        .unwrap();
    (resp.status, parse(&resp.body))
}

async fn ok(app: &TestApp, path: &str, body: &Value) -> Value {
    let (status, out) = call(app, path, body).await;
    assert_eq!(status, 200, "{path}: {out}");
    out["data"]["items"][0].clone()
}

fn codes(out: &Value) -> Vec<(String, String)> {
    out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or_default().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect()
}

async fn business(app: &TestApp, n: u32) -> Value {
    ok(
        app,
        "/business/create",
        &business_json(SeedBusiness::new(n)),
    )
    .await
}

async fn user(app: &TestApp, n: u32) -> Value {
    ok(app, "/user/create", &seed_json(SeedUser::new(n))).await
}

fn bid(business: &Value) -> BusinessId {
    BusinessId::parse(business["id"].as_str().unwrap()).unwrap()
}

async fn the_platforms_example_and_the_additional_fields(app: &TestApp) {
    // The platform documentation's example sends the enum as "LLC".
    let mut body = business_json(SeedBusiness::new(1));
    body["business_type"] = json!("LLC");
    body["dba"] = json!("  Acme  ");
    body["naics_code"] = json!("541511");
    body["business_industry"] = json!("Software");
    body["business_description"] = json!("Widgets.\nAnd gadgets.");
    body["website"] = json!("https://www.acme.example/about");
    body["support_email"] = json!("help@acme.example");
    body["support_phone_number"] = json!("+12125550123");
    let created = ok(app, "/business/create", &body).await;
    assert_eq!(created["business_type"], "llc", "answered lowercase");
    assert_eq!(created["dba"], "Acme");
    assert_eq!(created["naics_code"], "541511");
    assert_eq!(created["business_industry"], "Software");
    assert_eq!(created["business_description"], "Widgets.\nAnd gadgets.");
    assert_eq!(created["website"], "https://www.acme.example/about");
    assert_eq!(created["support_email"], "help@acme.example");
    assert_eq!(created["support_phone_number"], "+12125550123");
    let got = ok(app, "/business/get", &json!({"business_id": created["id"]})).await;
    assert_eq!(got, created);

    // Every other letter case too; anything else is still refused.
    for (n, sent) in [(2, "S_Corporation"), (3, "non_PROFIT")] {
        let mut body = business_json(SeedBusiness::new(n));
        body["business_type"] = json!(sent);
        let created = ok(app, "/business/create", &body).await;
        assert_eq!(created["business_type"], sent.to_lowercase());
    }
    // Every broken detail at once, each with its code.
    let mut bad = business_json(SeedBusiness::new(4));
    bad["business_type"] = json!("LTD");
    bad["naics_code"] = json!("99999");
    bad["business_industry"] = json!("x".repeat(129));
    bad["business_description"] = json!("y".repeat(1001));
    bad["website"] = json!("http://acme.example");
    bad["support_email"] = json!("not-an-email");
    bad["support_phone_number"] = json!("5551234");
    let (status, out) = call(app, "/business/create", &bad).await;
    assert_eq!(status, 422, "{out}");
    assert_eq!(
        codes(&out),
        pairs(&[
            ("business_type", "invalid_value"),
            ("naics_code", "invalid_format"),
            ("business_industry", "too_long"),
            ("business_description", "too_long"),
            ("website", "invalid_format"),
            ("support_email", "invalid_format"),
            ("support_phone_number", "invalid_format"),
        ])
    );
    let mut bad = business_json(SeedBusiness::new(5));
    bad["naics_code"] = json!("991234");
    bad["website"] = json!("https://user:pw@acme.example");
    let (status, out) = call(app, "/business/create", &bad).await;
    assert_eq!(status, 422, "{out}");
    assert_eq!(
        codes(&out),
        pairs(&[
            ("naics_code", "invalid_value"),
            ("website", "invalid_format")
        ])
    );
    // Nothing of the refused ones was written.
    let all = call(app, "/business/get-all", &json!({})).await.1;
    assert_eq!(all["data"]["pagination"]["total"], 3);
}
service_test!(
    the_platforms_example_and_the_additional_fields,
    the_platforms_example_and_the_additional_fields
);

/// An audit event as (kind, from, to, reason).
type Row<'a> = (&'a str, Option<&'a str>, Option<&'a str>, Option<&'a str>);

async fn update_block_and_unblock(app: &TestApp) {
    let b = business(app, 1).await;
    let other = business(app, 2).await;
    let id = b["id"].clone();
    let updated = ok(
        app,
        "/business/update",
        &json!({"business_id": id, "dba": "Acme", "city": "Dallas", "business_type": "Corporation", "ein": "12-9999999"}),
    )
    .await;
    assert_eq!(updated["dba"], "Acme");
    assert_eq!(updated["city"], "Dallas");
    assert_eq!(updated["business_type"], "corporation");
    assert_eq!(updated["ein_last_4"], "9999");
    assert_eq!(updated["business_name"], b["business_name"], "unchanged");
    assert!(updated["updated_at"].as_str() >= b["updated_at"].as_str());
    assert_eq!(
        ok(app, "/business/get", &json!({"business_id": id})).await,
        updated
    );
    // `""` clears an optional text.
    let cleared = ok(
        app,
        "/business/update",
        &json!({"business_id": id, "dba": ""}),
    )
    .await;
    assert_eq!(cleared["dba"], Value::Null);

    // The EIN is re-checked for uniqueness.
    let (status, out) = call(
        app,
        "/business/update",
        &json!({"business_id": other["id"], "ein": "129999999"}),
    )
    .await;
    assert_eq!((status, codes(&out)), (409, pairs(&[("ein", "duplicate")])));
    // The create rules, every failing field, unknown fields with them.
    let (status, out) = call(
        app,
        "/business/update",
        &json!({"business_id": id, "state": "ON", "zipcode": "1", "status": "blocked"}),
    )
    .await;
    assert_eq!(status, 422, "{out}");
    assert_eq!(
        codes(&out),
        pairs(&[
            ("status", "unknown_field"),
            ("state", "not_in_country"),
            ("zipcode", "invalid_format"),
        ])
    );

    // Block and unblock: guarded, with reasons, audited.
    let blocked = ok(
        app,
        "/business/block",
        &json!({"business_id": id, "reason": "chargebacks"}),
    )
    .await;
    assert_eq!(blocked["status"], "blocked");
    let (status, out) = call(app, "/business/block", &json!({"business_id": id})).await;
    assert_eq!(
        (status, out["errors"][0]["code"].clone()),
        (409, json!("invalid_transition"))
    );
    let unblocked = ok(
        app,
        "/business/unblock",
        &json!({"business_id": id, "reason": "cleared"}),
    )
    .await;
    assert_eq!(unblocked["status"], "active");
    let (status, _) = call(app, "/business/unblock", &json!({"business_id": id})).await;
    assert_eq!(status, 409);

    let events = app
        .store
        .business_events(app.program.program_id, bid(&b))
        .await
        .unwrap();
    let got: Vec<Row<'_>> = events
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.from.as_deref(),
                e.to.as_deref(),
                e.reason.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("updated", None, None, None),
            ("updated", None, None, None),
            (
                "status",
                Some("active"),
                Some("blocked"),
                Some("chargebacks")
            ),
            ("status", Some("blocked"), Some("active"), Some("cleared")),
        ]
    );
    let key_id = &app.store.list_programs().await.unwrap()[0].active_api_key_ids[0];
    assert!(
        events
            .iter()
            .all(|e| e.actor == format!("api_key:{key_id}"))
    );

    // Another program's business is not found, for every operation.
    let stranger = app
        .store
        .create_program("other", chrono::Utc::now())
        .await
        .unwrap();
    for (path, body) in [
        (
            "/business/update",
            json!({"business_id": id, "city": "Austin"}),
        ),
        ("/business/block", json!({"business_id": id})),
        ("/business/unblock", json!({"business_id": id})),
        (
            "/business/send-verification-request",
            json!({"business_id": id}),
        ),
        ("/business/get-business-owners", json!({"business_id": id})),
    ] {
        let resp = app
            .client_for(&stranger)
            .post_json(&format!("/api/v4{path}"), &body)
            .await
            .unwrap();
        assert_eq!(resp.status, 404, "{path}");
        assert_eq!(parse(&resp.body)["errors"][0]["code"], "not_found");
    }
    assert_eq!(
        ok(app, "/business/get", &json!({"business_id": id})).await["city"],
        "Dallas",
        "nothing changed"
    );
}
service_test!(update_block_and_unblock, update_block_and_unblock);

async fn owners_are_users_of_the_program_within_100_percent(app: &TestApp) {
    let b = business(app, 1).await;
    let id = b["id"].clone();
    let (alice, bob, carol) = (user(app, 1).await, user(app, 2).await, user(app, 3).await);
    let first = ok(
        app,
        "/business/add-business-owner",
        &json!({"business_id": id, "user_id": alice["id"], "ownership_percent": 25.5, "title": " CEO ", "is_control_person": true}),
    )
    .await;
    assert!(first["id"].as_str().unwrap().starts_with("bown-"));
    assert_eq!(first["business_id"], id);
    assert_eq!(first["user_id"], alice["id"]);
    assert_eq!(first["ownership_percent"], 25.5);
    assert_eq!(first["title"], "CEO");
    assert_eq!(first["is_control_person"], true);
    assert_eq!(first["kyc_status"], "not_started");
    assert_eq!(first["first_name"], alice["first_name"]);

    // A second control person, the same user twice: refused by the database's constraints.
    let (status, out) = call(
        app,
        "/business/add-business-owner",
        &json!({"business_id": id, "user_id": bob["id"], "ownership_percent": 10, "title": "CFO", "is_control_person": true}),
    )
    .await;
    assert_eq!(
        (status, codes(&out)),
        (409, pairs(&[("is_control_person", "duplicate")]))
    );
    let (status, out) = call(
        app,
        "/business/add-business-owner",
        &json!({"business_id": id, "user_id": alice["id"], "ownership_percent": 1, "title": "CEO"}),
    )
    .await;
    assert_eq!(
        (status, codes(&out)),
        (409, pairs(&[("user_id", "duplicate")]))
    );
    // Field rules, all at once.
    let (status, out) = call(
        app,
        "/business/add-business-owner",
        &json!({"business_id": id, "user_id": "user-1", "ownership_percent": 12.345, "title": ""}),
    )
    .await;
    assert_eq!(status, 422, "{out}");
    assert_eq!(
        codes(&out),
        pairs(&[
            ("user_id", "invalid_format"),
            ("ownership_percent", "invalid_format"),
            ("title", "required"),
        ])
    );
    for (percent, code) in [(json!(100.01), "out_of_range"), (json!(-1), "out_of_range")] {
        let (status, out) = call(
            app,
            "/business/add-business-owner",
            &json!({"business_id": id, "user_id": bob["id"], "ownership_percent": percent, "title": "CFO"}),
        )
        .await;
        assert_eq!(
            (status, codes(&out)),
            (422, pairs(&[("ownership_percent", code)]))
        );
    }
    let (status, out) = call(
        app,
        "/business/add-business-owner",
        &json!({"business_id": id, "user_id": bob["id"], "ownership_percent": "10", "title": "CFO"}),
    )
    .await;
    assert_eq!(
        (status, codes(&out)),
        (400, pairs(&[("ownership_percent", "wrong_type")]))
    );

    // The sum: 25.5 + 74.5 = 100; one hundredth more is refused.
    let second = ok(
        app,
        "/business/add-business-owner",
        &json!({"business_id": id, "user_id": bob["id"], "ownership_percent": 74.5, "title": "CFO"}),
    )
    .await;
    assert_eq!(second["is_control_person"], false);
    let (status, out) = call(
        app,
        "/business/add-business-owner",
        &json!({"business_id": id, "user_id": carol["id"], "ownership_percent": 0.01, "title": "COO"}),
    )
    .await;
    assert_eq!(
        (status, codes(&out)),
        (422, pairs(&[("ownership_percent", "out_of_range")]))
    );
    assert!(
        out["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("100.00"),
        "{out}"
    );
    // 0 % still fits.
    let third = ok(
        app,
        "/business/add-business-owner",
        &json!({"business_id": id, "user_id": carol["id"], "ownership_percent": 0, "title": "COO"}),
    )
    .await;

    let (status, out) = call(
        app,
        "/business/get-business-owners",
        &json!({"business_id": id}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["data"]["items"], json!([first, second, third]));
    assert_eq!(out["data"]["pagination"]["total"], 3);

    // Removing frees the share.
    let removed = ok(
        app,
        "/business/remove-business-owner",
        &json!({"business_id": id, "owner_id": second["id"]}),
    )
    .await;
    assert_eq!(removed, second);
    let (status, _) = call(
        app,
        "/business/remove-business-owner",
        &json!({"business_id": id, "owner_id": second["id"]}),
    )
    .await;
    assert_eq!(status, 404);
    ok(
        app,
        "/business/add-business-owner",
        &json!({"business_id": id, "user_id": bob["id"], "ownership_percent": 74.5, "title": "CFO"}),
    )
    .await;

    // Another program's user is not the program's; another program's business is not found.
    let stranger = app
        .store
        .create_program("other", chrono::Utc::now())
        .await
        .unwrap();
    let their_user = {
        let resp = app
            .client_for(&stranger)
            .post_json("/api/v3/user/create", &seed_json(SeedUser::new(9)))
            .await
            .unwrap();
        parse(&resp.body)["data"]["items"][0].clone()
    };
    let their_business = {
        let resp = app
            .client_for(&stranger)
            .post_json(
                "/api/v3/business/create",
                &business_json(SeedBusiness::new(9)),
            )
            .await
            .unwrap();
        parse(&resp.body)["data"]["items"][0].clone()
    };
    let b2 = business(app, 2).await;
    let (status, out) = call(
        app,
        "/business/add-business-owner",
        &json!({"business_id": b2["id"], "user_id": their_user["id"], "ownership_percent": 5, "title": "CEO"}),
    )
    .await;
    assert_eq!(
        (status, codes(&out)),
        (422, pairs(&[("user_id", "not_found")]))
    );
    let (status, out) = call(
        app,
        "/business/add-business-owner",
        &json!({"business_id": their_business["id"], "user_id": alice["id"], "ownership_percent": 5, "title": "CEO"}),
    )
    .await;
    assert_eq!(
        (status, out["errors"][0]["code"].clone()),
        (404, json!("not_found"))
    );
    let (status, _) = call(
        app,
        "/business/get-business-owners",
        &json!({"business_id": their_business["id"]}),
    )
    .await;
    assert_eq!(status, 404);
    let events = app
        .store
        .business_events(app.program.program_id, bid(&b))
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "owner_added",
            "owner_added",
            "owner_added",
            "owner_removed",
            "owner_added"
        ]
    );
    assert_eq!(events[3].subject.as_deref(), second["id"].as_str());
}
service_test!(
    owners_are_users_of_the_program_within_100_percent,
    owners_are_users_of_the_program_within_100_percent
);

/// Many adds at once whose shares would pass 100 %: exactly the ones that fit succeed, and
/// of several control persons at once exactly one.
async fn concurrent_owner_adds_never_pass_100_percent(app: &TestApp) {
    let b = business(app, 1).await;
    let mut users = Vec::new();
    for n in 0..14 {
        users.push(user(app, n + 10).await);
    }
    // 14 × 10 % at once: 10 fit.
    let mut tasks = Vec::new();
    for u in &users {
        let client = app.client();
        let body = json!({"business_id": b["id"], "user_id": u["id"], "ownership_percent": 10, "title": "Partner"});
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post_json("/api/v3/business/add-business-owner", &body)
                .await
                .unwrap();
            (resp.status, parse(&resp.body))
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        let (status, out) = t.await.unwrap();
        if status != 200 {
            assert_eq!(
                (status, codes(&out)),
                (422, pairs(&[("ownership_percent", "out_of_range")])),
                "{out}"
            );
        }
        statuses.push(status);
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        10,
        "{statuses:?}"
    );
    let (_, out) = call(
        app,
        "/business/get-business-owners",
        &json!({"business_id": b["id"], "per_page": 500}),
    )
    .await;
    let items = out["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    let sum: f64 = items
        .iter()
        .map(|o| o["ownership_percent"].as_f64().unwrap())
        .sum();
    assert!((sum - 100.0).abs() < 1e-9, "{sum}");

    // Six control persons at 0 % at once on another business: exactly one.
    let c = business(app, 2).await;
    let mut tasks = Vec::new();
    for u in users.iter().take(6) {
        let client = app.client();
        let body = json!({"business_id": c["id"], "user_id": u["id"], "ownership_percent": 0, "title": "Director", "is_control_person": true});
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post_json("/api/v3/business/add-business-owner", &body)
                .await
                .unwrap();
            (resp.status, parse(&resp.body))
        }));
    }
    let mut won = 0;
    for t in tasks {
        let (status, out) = t.await.unwrap();
        match status {
            200 => won += 1,
            _ => assert_eq!(
                (status, codes(&out)),
                (409, pairs(&[("is_control_person", "duplicate")]))
            ),
        }
    }
    assert_eq!(won, 1);
}
service_test!(
    concurrent_owner_adds_never_pass_100_percent,
    concurrent_owner_adds_never_pass_100_percent
);

async fn wait_for_kyb(app: &TestApp, id: &Value, want: &str) -> Value {
    for _ in 0..100 {
        let got = ok(app, "/business/get", &json!({"business_id": id})).await;
        if got["kyb_status"] == want {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("kyb_status never became {want}");
}

async fn kyb_needs_its_prerequisites_then_the_sandbox_decides(app: &TestApp) {
    // No incorporation date or state, no owner: everything missing is listed.
    let bare = business_json(SeedBusiness::new(1).with(|b| {
        b.incorporated_date = None;
        b.incorporated_state = None;
    }));
    let b = ok(app, "/business/create", &bare).await;
    let id = b["id"].clone();
    let (status, out) = call(
        app,
        "/business/send-verification-request",
        &json!({"business_id": id}),
    )
    .await;
    assert_eq!(status, 422, "{out}");
    assert_eq!(
        codes(&out),
        pairs(&[
            ("incorporated_date", "required"),
            ("incorporated_state", "required"),
            ("owners", "required"),
        ])
    );
    ok(
        app,
        "/business/update",
        &json!({"business_id": id, "incorporated_date": "2015-06-01", "incorporated_state": "de"}),
    )
    .await;
    let owner = user(app, 1).await;
    ok(
        app,
        "/business/add-business-owner",
        &json!({"business_id": id, "user_id": owner["id"], "ownership_percent": 100, "title": "Owner", "is_control_person": true}),
    )
    .await;
    // A blocked business cannot be submitted.
    ok(app, "/business/block", &json!({"business_id": id})).await;
    let (status, _) = call(
        app,
        "/business/send-verification-request",
        &json!({"business_id": id}),
    )
    .await;
    assert_eq!(status, 409);
    ok(app, "/business/unblock", &json!({"business_id": id})).await;

    let pending = ok(
        app,
        "/business/send-verification-request",
        &json!({"business_id": id}),
    )
    .await;
    assert_eq!(pending["kyb_status"], "pending");
    // Submitted: the EIN and the owners are locked; a resubmission is a conflict.
    for (path, body) in [
        (
            "/business/update",
            json!({"business_id": id, "ein": "98-7654321"}),
        ),
        (
            "/business/send-verification-request",
            json!({"business_id": id}),
        ),
        (
            "/business/add-business-owner",
            json!({"business_id": id, "user_id": user(app, 2).await["id"], "ownership_percent": 0, "title": "Clerk"}),
        ),
    ] {
        let (status, out) = call(app, path, &body).await;
        assert_eq!(
            (status, out["errors"][0]["code"].clone()),
            (409, json!("invalid_transition")),
            "{path}"
        );
    }
    // Other fields may still change.
    ok(
        app,
        "/business/update",
        &json!({"business_id": id, "dba": "Acme"}),
    )
    .await;
    // The sandbox waits for the owners' KYC, then verifies.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        ok(app, "/business/get", &json!({"business_id": id})).await["kyb_status"],
        "pending"
    );
    ok(
        app,
        "/user/send-verification-request",
        &json!({"user_id": owner["id"]}),
    )
    .await;
    wait_for_kyb(app, &id, "verified").await;
    let (_, owners) = call(
        app,
        "/business/get-business-owners",
        &json!({"business_id": id}),
    )
    .await;
    assert_eq!(owners["data"]["items"][0]["kyc_status"], "verified");

    // A name the sandbox flags is rejected.
    let flagged = ok(
        app,
        "/business/create",
        &business_json(
            SeedBusiness::new(3).with(|b| b.business_name = Some("Reject Holdings".into())),
        ),
    )
    .await;
    ok(
        app,
        "/business/add-business-owner",
        &json!({"business_id": flagged["id"], "user_id": owner["id"], "ownership_percent": 50, "title": "Owner"}),
    )
    .await;
    ok(
        app,
        "/business/send-verification-request",
        &json!({"business_id": flagged["id"]}),
    )
    .await;
    wait_for_kyb(app, &flagged["id"], "rejected").await;

    let trail = |events: Vec<storage::BusinessEvent>| -> Vec<(String, Option<String>, String)> {
        events
            .into_iter()
            .filter(|e| e.kind == "kyb")
            .map(|e| (e.to.unwrap_or_default(), e.reason, e.actor))
            .collect()
    };
    let p = app.program.program_id;
    let ok_trail = trail(app.store.business_events(p, bid(&b)).await.unwrap());
    assert_eq!(
        ok_trail[1],
        ("verified".to_owned(), None, "verifier:sandbox".to_owned())
    );
    assert_eq!(ok_trail[0].0, "pending");
    assert!(ok_trail[0].2.starts_with("api_key:"));
    let flagged_trail = trail(app.store.business_events(p, bid(&flagged)).await.unwrap());
    assert_eq!(
        flagged_trail[1],
        (
            "rejected".to_owned(),
            Some("name flagged by the sandbox rules".to_owned()),
            "verifier:sandbox".to_owned()
        )
    );
}
service_test!(
    kyb_needs_its_prerequisites_then_the_sandbox_decides,
    kyb_needs_its_prerequisites_then_the_sandbox_decides
);

/// `onboard kyb decide`'s work: an operator decides a case the verifier leaves open.
async fn an_operator_decides_a_kyb_case(app: &TestApp) {
    let b = business(app, 1).await;
    let owner = user(app, 1).await;
    ok(
        app,
        "/business/add-business-owner",
        &json!({"business_id": b["id"], "user_id": owner["id"], "ownership_percent": 60, "title": "Owner"}),
    )
    .await;
    ok(
        app,
        "/business/send-verification-request",
        &json!({"business_id": b["id"]}),
    )
    .await;
    // The owner's KYC was never requested: the sandbox leaves the case open.
    let action = storage::OperatorAction::new("alice", format!("kyb decide {} rejected", b["id"]));
    let reason = domain::Reason::parse("documents forged").unwrap();
    let decided = api::kyb::decide(
        &app.store,
        bid(&b),
        false,
        Some(&reason),
        "operator",
        &action,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    assert_eq!(decided.kyb_status(), domain::KycStatus::Rejected);
    assert_eq!(
        ok(app, "/business/get", &json!({"business_id": b["id"]})).await["kyb_status"],
        "rejected"
    );
    let again = api::kyb::decide(
        &app.store,
        bid(&b),
        true,
        None,
        "operator",
        &action,
        chrono::Utc::now(),
    )
    .await;
    assert!(
        matches!(
            again,
            Err(api::kyb::KybDecideError::Storage(
                storage::StorageError::Rejected(_)
            ))
        ),
        "a decided case stays decided: {again:?}"
    );
    let events = app
        .store
        .business_events(app.program.program_id, bid(&b))
        .await
        .unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (
            last.to.as_deref(),
            last.reason.as_deref(),
            last.actor.as_str()
        ),
        (Some("rejected"), Some("documents forged"), "operator")
    );
    let recorded = app.store.operator_actions(1).await.unwrap();
    assert_eq!(recorded[0].action, action);
}
service_test!(
    an_operator_decides_a_kyb_case,
    an_operator_decides_a_kyb_case
);

async fn get_all_searches_and_filters(app: &TestApp) {
    let mut created = Vec::new();
    for n in 1..=5 {
        let mut body = business_json(SeedBusiness::new(n));
        if n == 3 {
            body["dba"] = json!("GRÜNE Widgets");
        }
        created.push(ok(app, "/business/create", &body).await);
    }
    let (status, out) = call(app, "/business/get-all", &json!({"per_page": 2, "page": 2})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["data"]["pagination"]["total"], 5);
    assert_eq!(out["data"]["pagination"]["sort"], "created_at:desc");
    let ids: Vec<&Value> = out["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| &b["id"])
        .collect();
    assert_eq!(ids, [&created[2]["id"], &created[1]["id"]], "newest first");

    // Search: case-insensitive, in the name, the dba (any script) and the email.
    let search = |text: &str| json!({"search": text});
    let (_, out) = call(app, "/business/get-all", &search("ACME 4")).await;
    assert_eq!(out["data"]["pagination"]["total"], 1);
    assert_eq!(out["data"]["pagination"]["search"], "ACME 4");
    assert_eq!(out["data"]["items"][0]["id"], created[3]["id"]);
    let (_, out) = call(app, "/business/get-all", &search("grüne")).await;
    assert_eq!(out["data"]["items"][0]["id"], created[2]["id"]);
    let (_, out) = call(app, "/business/get-all", &search("OPS@ACME")).await;
    assert_eq!(out["data"]["pagination"]["total"], 5);
    let (_, out) = call(app, "/business/get-all", &search("100%")).await;
    assert_eq!(
        out["data"]["pagination"]["total"], 0,
        "wildcards are literal"
    );

    // Filters, in any letter case.
    ok(
        app,
        "/business/block",
        &json!({"business_id": created[0]["id"]}),
    )
    .await;
    let (_, out) = call(app, "/business/get-all", &json!({"status": "BLOCKED"})).await;
    assert_eq!(out["data"]["pagination"]["total"], 1);
    assert_eq!(out["data"]["items"][0]["id"], created[0]["id"]);
    let (_, out) = call(
        app,
        "/business/get-all",
        &json!({"status": "active", "kyb_status": "Not_Started"}),
    )
    .await;
    assert_eq!(out["data"]["pagination"]["total"], 4);
    let (status, out) = call(
        app,
        "/business/get-all",
        &json!({"status": "closed", "kyb_status": "done", "per_page": 501, "sort": "x"}),
    )
    .await;
    assert_eq!(status, 422, "{out}");
    assert_eq!(
        codes(&out),
        pairs(&[
            ("sort", "unknown_field"),
            ("per_page", "out_of_range"),
            ("status", "invalid_value"),
            ("kyb_status", "invalid_value"),
        ])
    );
    // Another program sees none of them.
    let stranger = app
        .store
        .create_program("other", chrono::Utc::now())
        .await
        .unwrap();
    let resp = app
        .client_for(&stranger)
        .post_json("/api/v3/business/get-all", &json!({}))
        .await
        .unwrap();
    assert_eq!(parse(&resp.body)["data"]["pagination"]["total"], 0);
}
service_test!(get_all_searches_and_filters, get_all_searches_and_filters);

/// Changes of businesses go through the one pipeline: a retry with the same
/// `Idempotency-Key` gets the first answer and changes nothing; a replayed signature is 401.
async fn business_changes_are_idempotent_and_replay_protected(app: &TestApp) {
    let b = business(app, 1).await;
    let u = user(app, 1).await;
    let client = app.client();
    let body = serde_json::to_vec(&json!({"business_id": b["id"], "user_id": u["id"], "ownership_percent": 30, "title": "CEO"})).unwrap();
    let path = "/api/v3/business/add-business-owner";
    let first = client.post(path, &body, Some("owner-key-1")).await.unwrap();
    assert_eq!(first.status, 200);
    let again = client.post(path, &body, Some("owner-key-1")).await.unwrap();
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        parse(&again.body),
        parse(&first.body),
        "the first answer again"
    );
    let (_, owners) = call(
        app,
        "/business/get-business-owners",
        &json!({"business_id": b["id"]}),
    )
    .await;
    assert_eq!(owners["data"]["pagination"]["total"], 1, "added once");
    // The same key with another body is refused.
    let other = serde_json::to_vec(&json!({"business_id": b["id"], "user_id": u["id"], "ownership_percent": 31, "title": "CEO"})).unwrap();
    let reused = client
        .post(path, &other, Some("owner-key-1"))
        .await
        .unwrap();
    assert_eq!(reused.status, 422);
    assert_eq!(
        parse(&reused.body)["errors"][0]["code"],
        "idempotency_key_reused"
    );

    // A signed block sent twice as it is: the second is a replay.
    let raw = tests::RawRequest::signed(
        app,
        "/api/v3/business/block",
        &serde_json::to_vec(&json!({"business_id": b["id"], "reason": "review"})).unwrap(),
    );
    let (status, _, _) = raw.send(app).await;
    assert_eq!(status, 200);
    let (status, _, body) = raw.send(app).await;
    assert_eq!(status, 401);
    assert_eq!(parse(&body)["errors"][0]["code"], "replayed_request");
    let events = app
        .store
        .business_events(app.program.program_id, bid(&b))
        .await
        .unwrap();
    assert_eq!(
        events.iter().filter(|e| e.kind == "status").count(),
        1,
        "blocked once"
    );
}
service_test!(
    business_changes_are_idempotent_and_replay_protected,
    business_changes_are_idempotent_and_replay_protected
);

/// Business changes are events of the log (SPEC §7), written with the change: created,
/// updated, blocked, unblocked, each with the business as answered and what changed.
async fn business_changes_are_events(app: &TestApp) {
    let b = business(app, 71).await;
    let id = b["id"].clone();
    ok(
        app,
        "/business/update",
        &serde_json::json!({"business_id": id, "dba": "Corner Shop"}),
    )
    .await;
    ok(
        app,
        "/business/block",
        &serde_json::json!({"business_id": id, "reason": "review"}),
    )
    .await;
    ok(
        app,
        "/business/unblock",
        &serde_json::json!({"business_id": id}),
    )
    .await;
    let (status, out) = call(
        app,
        "/event/get-all",
        &serde_json::json!({"business_id": id, "per_page": 10}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let items = out["data"]["items"].as_array().unwrap();
    let mut types: Vec<&str> = items.iter().map(|e| e["type"].as_str().unwrap()).collect();
    types.reverse();
    assert_eq!(
        types,
        [
            "business.created",
            "business.updated",
            "business.blocked",
            "business.unblocked"
        ],
        "{out}"
    );
    let blocked = &items[1];
    assert_eq!(blocked["data"]["object"]["status"], "blocked", "{blocked}");
    assert_eq!(blocked["data"]["previous"]["status"], "active", "{blocked}");
}
service_test!(business_changes_are_events, business_changes_are_events);
