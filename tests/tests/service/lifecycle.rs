//! Reading users and businesses: `/user/get`, `/user/get-all`, `/business/create`,
//! `/business/get`, `/business/customers/get-all`.

use domain::fixtures::SeedBusiness;
use serde_json::{Value, json};
use storage::ProgramRepository as _;
use tests::{TestApp, business_json, json as parse, seed_body, service_test};

async fn call(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let resp = app
        .client()
        .post_json(&format!("/api/v3{path}"), body)
        .await
        .unwrap();
    (resp.status, parse(&resp.body))
}

async fn create_user(app: &TestApp, body: &Value) -> Value {
    let (status, out) = call(app, "/user/create", body).await;
    assert_eq!(status, 200, "{out}");
    out["data"]["items"][0].clone()
}

/// Seed business `n` with a meta entry and an empty second address line (stored as none).
fn business_body(n: u32) -> Value {
    business_json(
        SeedBusiness::new(n)
            .meta("crm", "42")
            .with(|b| b.business_address_2 = Some(String::new())),
    )
}

async fn get_returns_the_user_and_hides_other_programs(app: &TestApp) {
    let created = create_user(app, &seed_body(1)).await;
    let (status, out) = call(app, "/user/get", &json!({"user_id": created["id"]})).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(
        out["data"]["items"][0], created,
        "get shows exactly what create answered"
    );

    let other = app
        .store
        .create_program("other", chrono::Utc::now())
        .await
        .unwrap();
    let resp = app
        .client_for(&other)
        .post_json("/api/v4/user/get", &json!({"user_id": created["id"]}))
        .await
        .unwrap();
    assert_eq!(resp.status, 404, "another program's user is 404, never 403");
    assert_eq!(parse(&resp.body)["errors"][0]["code"], "not_found");

    let (status, out) = call(
        app,
        "/user/get",
        &json!({"user_id": "user-nope", "extra": 1}),
    )
    .await;
    assert_eq!(status, 422);
    let mut fields: Vec<&str> = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["extra", "user_id"],
        "unknown fields and the bad id at once"
    );
    let (status, _) = call(app, "/user/get", &json!({})).await;
    assert_eq!(status, 422);
}
service_test!(
    get_returns_the_user_and_hides_other_programs,
    get_returns_the_user_and_hides_other_programs
);

async fn get_all_pages_filters_searches_and_sorts(app: &TestApp) {
    let names = ["Zimmer", "Adams", "Miller", "O'Neil", "Baker"];
    let mut ids = Vec::new();
    for (i, last) in names.iter().enumerate() {
        let mut body = seed_body(10 + u32::try_from(i).unwrap());
        body["last_name"] = json!(last);
        ids.push(create_user(app, &body).await["id"].clone());
    }
    // Default: newest first, 10 per page, total, search null.
    let (status, out) = call(app, "/user/get-all", &json!({})).await;
    assert_eq!(status, 200, "{out}");
    let items = out["data"]["items"].as_array().unwrap();
    assert_eq!(
        items.iter().map(|u| u["id"].clone()).collect::<Vec<_>>(),
        ids.iter().rev().cloned().collect::<Vec<_>>()
    );
    assert_eq!(
        out["data"]["pagination"],
        json!({"page": 1, "per_page": 10, "total": 5, "sort": "created_at:desc", "search": null})
    );

    // Paging.
    let (_, out) = call(
        app,
        "/user/get-all",
        &json!({"page": 2, "per_page": 2, "sort": "created_at:asc"}),
    )
    .await;
    let got: Vec<Value> = out["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].clone())
        .collect();
    assert_eq!(got, ids[2..4].to_vec());
    assert_eq!(out["data"]["pagination"]["total"], 5);

    // Sort by last name.
    let (_, out) = call(app, "/user/get-all", &json!({"sort": "last_name:asc"})).await;
    let got: Vec<&str> = out["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["last_name"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["Adams", "Baker", "Miller", "O'Neil", "Zimmer"]);
    let (_, out) = call(
        app,
        "/user/get-all",
        &json!({"sort": "last_name:desc", "per_page": 1}),
    )
    .await;
    assert_eq!(out["data"]["items"][0]["last_name"], "Zimmer");

    // Search: case-insensitive substring over names, email, username, phone; echoed.
    let (_, out) = call(app, "/user/get-all", &json!({"search": "MILL"})).await;
    assert_eq!(out["data"]["pagination"]["total"], 1);
    assert_eq!(out["data"]["pagination"]["search"], "MILL");
    let (_, out) = call(app, "/user/get-all", &json!({"search": "JANEDOE1"})).await;
    assert_eq!(
        out["data"]["pagination"]["total"], 5,
        "usernames janedoe10..14"
    );
    let (_, out) = call(app, "/user/get-all", &json!({"search": "%"})).await;
    assert_eq!(
        out["data"]["pagination"]["total"], 0,
        "LIKE wildcards are literal"
    );
    let (_, out) = call(app, "/user/get-all", &json!({"search": "o'n"})).await;
    assert_eq!(out["data"]["pagination"]["total"], 1);

    // Exact email, case-insensitive; status and KYC filters.
    let (_, out) = call(
        app,
        "/user/get-all",
        &json!({"email": "JANE.DOE12@EXAMPLE.COM"}),
    )
    .await;
    assert_eq!(out["data"]["items"][0]["id"], ids[2]);
    let (_, out) = call(app, "/user/get-all", &json!({"status": "blocked"})).await;
    assert_eq!(out["data"]["pagination"]["total"], 0);
    let (_, out) = call(
        app,
        "/user/get-all",
        &json!({"status": "active", "kyc_status": "not_started"}),
    )
    .await;
    assert_eq!(out["data"]["pagination"]["total"], 5);

    // Validation: every failing field at once.
    let (status, out) = call(
        app,
        "/user/get-all",
        &json!({"page": 0, "per_page": 501, "sort": "name", "status": "gone", "kyc_status": "x"}),
    )
    .await;
    assert_eq!(status, 422);
    let mut fields: Vec<&str> = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["kyc_status", "page", "per_page", "sort", "status"]);
    let (status, _) = call(app, "/user/get-all", &json!({"page": "1"})).await;
    assert_eq!(status, 400, "wrong JSON type");

    // Another program sees none of them.
    let other = app
        .store
        .create_program("other", chrono::Utc::now())
        .await
        .unwrap();
    let resp = app
        .client_for(&other)
        .post_json("/api/v3/user/get-all", &json!({}))
        .await
        .unwrap();
    assert_eq!(parse(&resp.body)["data"]["pagination"]["total"], 0);
}
service_test!(
    get_all_pages_filters_searches_and_sorts,
    get_all_pages_filters_searches_and_sorts
);

async fn businesses_and_their_contacts(app: &TestApp) {
    let (status, out) = call(app, "/business/create", &business_body(1)).await;
    assert_eq!(status, 200, "{out}");
    let business = out["data"]["items"][0].clone();
    let id = business["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("buss-"));
    assert_eq!(business["ein_last_4"], "6001");
    assert_eq!(business["status"], "active");
    assert_eq!(business["kyb_status"], "not_started");
    assert_eq!(business["business_address_2"], Value::Null);
    assert!(
        !out.to_string().contains("3456001"),
        "the full EIN is never returned"
    );

    let (status, got) = call(app, "/business/get", &json!({"business_id": id})).await;
    assert_eq!(status, 200);
    assert_eq!(got["data"]["items"][0], business);

    let (status, out) = call(app, "/business/create", &business_body(1)).await;
    assert_eq!(
        (status, out["errors"][0]["field"].as_str()),
        (409, Some("ein"))
    );
    let mut bad = business_body(2);
    bad["ein"] = json!("00-1234567");
    bad["zipcode"] = json!("1");
    bad["incorporated_state"] = json!("ZZ");
    let (status, out) = call(app, "/business/create", &bad).await;
    assert_eq!(status, 422);
    let mut fields: Vec<&str> = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["ein", "incorporated_state", "zipcode"]);

    // Users linked through user/create with business_id appear as contacts.
    let mut customer = seed_body(20);
    customer["business_id"] = json!(id);
    let customer = create_user(app, &customer).await;
    let mut vendor = seed_body(21);
    vendor["business_id"] = json!(id);
    vendor["is_vendor"] = json!(true);
    let vendor = create_user(app, &vendor).await;

    let (status, out) = call(
        app,
        "/business/customers/get-all",
        &json!({"business_id": id}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    let items = out["data"]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["user_id"], vendor["id"], "newest first");
    assert_eq!(items[0]["contact_type"], "vendors");
    assert!(items[0]["id"].as_str().unwrap().starts_with("bcus-"));
    assert_eq!(items[1]["user_id"], customer["id"]);
    assert_eq!(items[1]["email"], customer["email"]);
    let (_, out) = call(
        app,
        "/business/customers/get-all",
        &json!({"business_id": id, "type": "customers"}),
    )
    .await;
    assert_eq!(out["data"]["pagination"]["total"], 1);
    assert_eq!(out["data"]["items"][0]["user_id"], customer["id"]);
    let (status, _) = call(
        app,
        "/business/customers/get-all",
        &json!({"business_id": id, "type": "partners"}),
    )
    .await;
    assert_eq!(status, 422);

    let other = app
        .store
        .create_program("other", chrono::Utc::now())
        .await
        .unwrap();
    let b = app.client_for(&other);
    for (path, body) in [
        ("/api/v3/business/get", json!({"business_id": id})),
        (
            "/api/v3/business/customers/get-all",
            json!({"business_id": id}),
        ),
    ] {
        assert_eq!(
            b.post_json(path, &body).await.unwrap().status,
            404,
            "{path}"
        );
    }
}
service_test!(businesses_and_their_contacts, businesses_and_their_contacts);
