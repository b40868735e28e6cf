//! `POST /api/v3/user/create` (and v4): shapes, validation, links, duplicates, isolation.

use domain::BusinessId;
use domain::fixtures::SeedBusiness;
use serde_json::{Value, json};
use storage::{ProgramRepository as _, UserRepository as _};
use tests::{TestApp, business_json, json as parse, seed_body, service_test, ssn};

const CREATE: &str = "/api/v3/user/create";

async fn post(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let resp = app.client().post_json(path, body).await.unwrap();
    (resp.status, parse(&resp.body))
}

fn is_timestamp(v: &Value) -> bool {
    let s = v.as_str().unwrap_or_default();
    s.len() == 24
        && s.ends_with('Z')
        && chrono::DateTime::parse_from_rfc3339(s).is_ok()
        && s.as_bytes()[19] == b'.'
}

async fn seed_example_returns_the_exact_shape(app: &TestApp) {
    for (n, path) in [(1, CREATE), (2, "/api/v4/user/create")] {
        let (status, body) = post(app, path, &seed_body(n)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "success");
        assert_eq!(body["message"], "operation completed");
        let items = body["data"]["items"].as_array().unwrap();
        assert_eq!(items.len(), 1);
        let user = &items[0];
        let keys: std::collections::BTreeSet<&str> = user
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        let expected: std::collections::BTreeSet<&str> = [
            "id",
            "uuid",
            "first_name",
            "middle_name",
            "last_name",
            "email",
            "phone_number",
            "date_of_birth",
            "address_one",
            "address_two",
            "city",
            "state",
            "country",
            "postal_code",
            "ssn_last_4",
            "status",
            "kyc_status",
            "screening_status",
            "created_at",
            "updated_at",
            "username",
            "terms_accepted",
            "meta_data",
        ]
        .into_iter()
        .collect();
        assert_eq!(keys, expected);
        let id = user["id"].as_str().unwrap();
        assert_eq!(id, format!("user-{}", user["uuid"].as_str().unwrap()));
        assert!(
            uuid::Uuid::parse_str(user["uuid"].as_str().unwrap())
                .unwrap()
                .get_version_num()
                == 7
        );
        assert_eq!(user["first_name"], "Alex");
        assert_eq!(user["middle_name"], Value::Null, "\"\" means none");
        assert_eq!(user["last_name"], "Rivera");
        assert_eq!(user["email"], format!("jane.doe{n}@example.com"));
        assert_eq!(user["phone_number"], "+15555551234");
        assert_eq!(user["date_of_birth"], "1980-04-20");
        assert_eq!(user["address_one"], "100 Innovation Way");
        assert_eq!(user["address_two"], "Suite 100");
        assert_eq!(user["city"], "Anytown");
        assert_eq!(user["state"], "TX");
        assert_eq!(user["country"], "US");
        assert_eq!(user["postal_code"], "30044");
        assert_eq!(user["ssn_last_4"], ssn(n)[7..]);
        assert_eq!(user["status"], "active");
        assert_eq!(user["kyc_status"], "not_started");
        assert_eq!(user["screening_status"], "not_screened");
        assert_eq!(user["username"], format!("janedoe{n}"));
        assert_eq!(user["terms_accepted"], true);
        assert_eq!(
            user["meta_data"],
            json!([{"name": "external_ref", "value": "customer-001"}])
        );
        assert!(
            is_timestamp(&user["created_at"]) && is_timestamp(&user["updated_at"]),
            "{user}"
        );
        let pagination = &body["data"]["pagination"];
        assert_eq!(
            pagination,
            &json!({"page": 1, "per_page": 1, "total": 1, "sort": "created_at:desc", "search": null})
        );
        let text = body.to_string();
        assert!(!text.contains(&ssn(n)) && !text.contains(&ssn(n).replace('-', "")));
    }
}
service_test!(
    seed_example_returns_the_exact_shape,
    seed_example_returns_the_exact_shape
);

async fn normalises_as_specified(app: &TestApp) {
    let mut body = seed_body(3);
    body["email"] = json!("  Jane.Doe3@EXAMPLE.Com ");
    body["state"] = json!("tx");
    body["country"] = json!("us");
    body["ssn"] = json!(ssn(3).replace('-', ""));
    body["first_name"] = json!("  José ");
    let (status, out) = post(app, CREATE, &body).await;
    assert_eq!(status, 200, "{out}");
    let user = &out["data"]["items"][0];
    assert_eq!(user["email"], "Jane.Doe3@example.com");
    assert_eq!(user["state"], "TX");
    assert_eq!(user["country"], "US");
    assert_eq!(user["first_name"], "José");
}
service_test!(normalises_as_specified, normalises_as_specified);

/// One invalid value per field, and the code it must produce.
fn invalid_values() -> Vec<(&'static str, Value, &'static str)> {
    vec![
        ("first_name", json!("R2-D2"), "invalid_format"),
        ("first_name", Value::Null, "required"),
        ("middle_name", json!("x".repeat(65)), "too_long"),
        ("last_name", json!(""), "required"),
        ("email", json!("jane.example.com"), "invalid_format"),
        ("phone_number", json!("+10555551234"), "invalid_value"),
        ("phone_number", json!("555-1234"), "invalid_format"),
        ("address_one", json!("a".repeat(129)), "too_long"),
        ("address_two", json!("a".repeat(129)), "too_long"),
        ("city", json!(""), "required"),
        ("state", json!("ZZ"), "not_in_country"),
        ("country", json!("XX"), "invalid_value"),
        ("postal_code", json!("3004"), "invalid_format"),
        ("username", json!("-bad"), "invalid_format"),
        ("date_of_birth", json!("2015-01-01"), "underage"),
        ("date_of_birth", json!("1980-02-30"), "invalid_format"),
        ("date_of_birth", json!("1899-12-31"), "out_of_range"),
        ("ssn", json!("XXXXXXXXX"), "invalid_format"),
        ("ssn", json!("666-12-3456"), "invalid_value"),
        (
            "meta_data[0].name",
            json!([{"name": "bad name!", "value": "v"}]),
            "invalid_format",
        ),
        ("business_id", json!("buss-nope"), "invalid_format"),
        ("is_vendor", json!(true), "requires_business_id"),
    ]
}

async fn each_invalid_field_is_named(app: &TestApp) {
    for (n, (field, value, code)) in invalid_values().into_iter().enumerate() {
        let mut body = seed_body(100 + u32::try_from(n).unwrap());
        let key = field.split('[').next().unwrap();
        body[key] = value;
        let (status, out) = post(app, CREATE, &body).await;
        assert_eq!(status, 422, "{field}: {out}");
        assert_eq!(out["status"], "error");
        let errors = out["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "only {field} fails: {out}");
        assert_eq!(errors[0]["field"], field, "{out}");
        assert_eq!(errors[0]["code"], code, "{field}: {out}");
        assert!(errors[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}
service_test!(each_invalid_field_is_named, each_invalid_field_is_named);

async fn five_broken_fields_are_all_listed(app: &TestApp) {
    let mut body = seed_body(4);
    body["postal_code"] = json!("ABCDE");
    body["email"] = json!("nope");
    body["ssn"] = json!("XXXXXXXXX");
    body["phone_number"] = json!("12345");
    body["date_of_birth"] = json!("2099-01-01");
    let (status, out) = post(app, CREATE, &body).await;
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
        [
            "date_of_birth",
            "email",
            "phone_number",
            "postal_code",
            "ssn"
        ]
    );
}
service_test!(
    five_broken_fields_are_all_listed,
    five_broken_fields_are_all_listed
);

async fn unknown_and_server_owned_fields_are_rejected(app: &TestApp) {
    let mut body = seed_body(5);
    body["status"] = json!("blocked");
    body["kyc_status"] = json!("verified");
    let (status, out) = post(app, CREATE, &body).await;
    assert_eq!(status, 422, "{out}");
    let mut fields: Vec<(&str, &str)> = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [("kyc_status", "unknown_field"), ("status", "unknown_field")]
    );
}
service_test!(
    unknown_and_server_owned_fields_are_rejected,
    unknown_and_server_owned_fields_are_rejected
);

async fn wrong_json_types_are_400_naming_each_field(app: &TestApp) {
    let mut body = seed_body(6);
    body["postal_code"] = json!(30044);
    body["terms_accepted"] = json!("yes");
    let (status, out) = post(app, CREATE, &body).await;
    assert_eq!(status, 400, "{out}");
    let mut fields: Vec<&str> = out["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["postal_code", "terms_accepted"]);
}
service_test!(
    wrong_json_types_are_400_naming_each_field,
    wrong_json_types_are_400_naming_each_field
);

async fn duplicates_are_409_naming_the_field(app: &TestApp) {
    assert_eq!(post(app, CREATE, &seed_body(7)).await.0, 200);
    let mut same_email = seed_body(8);
    same_email["email"] = json!("JANE.DOE7@example.com");
    let (status, out) = post(app, CREATE, &same_email).await;
    assert_eq!(status, 409, "{out}");
    assert_eq!(out["errors"][0]["field"], "email");
    assert_eq!(out["errors"][0]["code"], "duplicate");
    let mut same_ssn = seed_body(9);
    same_ssn["ssn"] = json!(ssn(7).replace('-', ""));
    let (status, out) = post(app, CREATE, &same_ssn).await;
    assert_eq!(
        (status, out["errors"][0]["field"].as_str()),
        (409, Some("ssn")),
        "{out}"
    );
}
service_test!(
    duplicates_are_409_naming_the_field,
    duplicates_are_409_naming_the_field
);

async fn business_link_and_program_isolation(app: &TestApp) {
    let business = business_json(SeedBusiness::example());
    let (status, out) = post(app, "/api/v3/business/create", &business).await;
    assert_eq!(status, 200, "{out}");
    let bid: BusinessId = out["data"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let mut body = seed_body(10);
    body["business_id"] = json!(bid.to_string());
    body["is_vendor"] = json!(true);
    let (status, out) = post(app, CREATE, &body).await;
    assert_eq!(status, 200, "{out}");
    let uid: domain::UserId = out["data"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    let mut unknown = seed_body(11);
    unknown["business_id"] = json!(BusinessId::from_uuid(uuid::Uuid::now_v7()).to_string());
    let (status, out) = post(app, CREATE, &unknown).await;
    assert_eq!(status, 422);
    assert_eq!(
        out["errors"][0],
        json!({"field": "business_id", "code": "not_found", "message": "does not exist in this program"})
    );

    // Program B: cannot see A's user or link to A's business; may hold the same person.
    let other = app
        .store
        .create_program("other", chrono::Utc::now())
        .await
        .unwrap();
    assert!(
        app.store
            .get_user(other.program_id, uid)
            .await
            .unwrap()
            .is_none()
    );
    let b = app.client_for(&other);
    let resp = b.post_json(CREATE, &body).await.unwrap();
    assert_eq!(resp.status, 422, "A's business is not B's");
    let mut same_person = seed_body(10);
    same_person["meta_data"] = json!([]);
    let resp = b.post_json(CREATE, &same_person).await.unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
}
service_test!(
    business_link_and_program_isolation,
    business_link_and_program_isolation
);

async fn api_key_in_the_body_is_accepted_and_never_echoed(app: &TestApp) {
    let mut body = seed_body(12);
    body["api_key"] = json!(app.program.api_key.expose());
    let resp = raw_without_api_key_header(app, &body).await;
    assert_eq!(resp.0, 200, "{}", String::from_utf8_lossy(&resp.2));
    assert!(!String::from_utf8_lossy(&resp.2).contains(app.program.api_key.expose()));
    assert!(!tests::logs_contain(app.program.api_key.expose()));
}
service_test!(
    api_key_in_the_body_is_accepted_and_never_echoed,
    api_key_in_the_body_is_accepted_and_never_echoed
);

async fn raw_without_api_key_header(
    app: &TestApp,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let signing = tests::Signing {
        api_key: None,
        ..tests::Signing::of(app)
    };
    tests::RawRequest::build(CREATE, body.to_string().as_bytes(), &signing)
        .send(app)
        .await
}

async fn the_ssn_never_leaves_the_server(app: &TestApp) {
    let (status, out) = post(app, CREATE, &seed_body(13)).await;
    assert_eq!(status, 200);
    let mut broken = seed_body(14);
    broken["postal_code"] = json!("x");
    let (status, out2) = post(app, CREATE, &broken).await;
    assert_eq!(status, 422);
    for (n, text) in [(13, out.to_string()), (14, out2.to_string())] {
        assert!(!text.contains(&ssn(n).replace('-', "")) && !text.contains(&ssn(n)));
        assert!(
            !tests::logs_contain(&ssn(n).replace('-', "")),
            "SSN {n} in the logs"
        );
        assert!(!tests::logs_contain(&ssn(n)), "SSN {n} in the logs");
    }
    // The logs are really captured: this request's own "user created" line is there.
    let id = out["data"]["items"][0]["id"].as_str().unwrap();
    assert!(tests::logs_contain(id), "the created user's id is logged");
    assert!(!tests::logs_contain(app.program.hmac_secret.expose()));
}
service_test!(
    the_ssn_never_leaves_the_server,
    the_ssn_never_leaves_the_server
);
