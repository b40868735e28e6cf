//! The OpenAPI document against the running service: it is served as generated, every
//! property of every request schema is a field its handler reads, and every example body is
//! accepted.

use serde_json::{Value, json};
use tests::{TestApp, json as parse, service_test};

async fn served_document(app: &TestApp) -> Value {
    let resp = reqwest::get(format!("{}/openapi.json", app.base_url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert_eq!(text, api::openapi::json(), "served as generated");
    serde_json::from_str(&text).unwrap()
}

/// The request schema of the POST operation at `path`.
fn request_schema<'a>(doc: &'a Value, path: &str) -> &'a Value {
    let reference =
        doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{path} has a request schema"));
    let name = reference.trim_start_matches("#/components/schemas/");
    &doc["components"]["schemas"][name]
}

fn codes(body: &Value) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| format!("{}:{}", e["field"].as_str().unwrap_or(""), e["code"]))
                .collect()
        })
        .unwrap_or_default()
}

async fn every_property_is_a_field_its_handler_reads(app: &TestApp) {
    let doc = served_document(app).await;
    let client = app.client();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        if item.get("post").is_none() {
            continue;
        }
        let schema = request_schema(&doc, path);
        assert_eq!(schema["additionalProperties"], json!(false), "{path}");
        // `null` is "absent" to every handler: no property may be an unknown field.
        let body: serde_json::Map<String, Value> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| (k.clone(), Value::Null))
            .collect();
        let resp = client.post_json(path, &Value::Object(body)).await.unwrap();
        let answer = parse(&resp.body);
        assert!(
            !codes(&answer).iter().any(|c| c.contains("unknown_field")),
            "{path}: {answer}"
        );
        // And a name outside the schema is one.
        let resp = client
            .post_json(path, &json!({"not_in_the_schema": 1}))
            .await
            .unwrap();
        assert_eq!(resp.status, 422, "{path}");
        assert!(
            codes(&parse(&resp.body)).contains(&"not_in_the_schema:\"unknown_field\"".to_owned()),
            "{path}"
        );
        checked += 1;
    }
    assert_eq!(checked, 54, "twenty-seven operations under two versions");
}
service_test!(
    request_schemas_match_the_handlers,
    every_property_is_a_field_its_handler_reads
);

/// Posts the example of `path`'s request schema, with `ids` put in place of its ids.
async fn post_example(app: &TestApp, doc: &Value, path: &str, ids: &[(&str, &str)]) -> Value {
    let mut body = request_schema(doc, path)["example"].clone();
    assert!(body.is_object(), "{path} has an example");
    for (name, id) in ids {
        if body.get(name).is_some() || (*name == "business_id" && path.ends_with("/user/create")) {
            body[name] = json!(id);
        }
    }
    let resp = app.client().post_json(path, &body).await.unwrap();
    let answer = parse(&resp.body);
    assert_eq!(resp.status, 200, "{path}: {answer}");
    answer
}

async fn every_example_is_accepted(app: &TestApp) {
    let doc = served_document(app).await;
    let v3 = |p: &str| format!("/api/v3{p}");
    let business = post_example(app, &doc, &v3("/business/create"), &[]).await;
    let business_id = business["data"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let user = post_example(
        app,
        &doc,
        &v3("/user/create"),
        &[("business_id", &business_id)],
    )
    .await;
    let user_id = user["data"]["items"][0]["id"].as_str().unwrap().to_owned();
    let ids = [
        ("user_id", user_id.as_str()),
        ("business_id", business_id.as_str()),
    ];
    for path in [
        "/user/get",
        "/user/get-all",
        "/user/update",
        "/user/block",
        "/user/unblock",
        "/user/send-verification-request",
        "/business/get",
        "/business/customers/get-all",
    ] {
        post_example(app, &doc, &v3(path), &ids).await;
    }
    let contacts = post_example(app, &doc, &v3("/business/customers/get-all"), &ids).await;
    assert_eq!(
        contacts["data"]["pagination"]["total"], 0,
        "the example lists vendors; the user is a customer"
    );
    // The business operations of SPEC §9, in an order in which each example applies.
    for path in [
        "/business/update",
        "/business/get-all",
        "/business/block",
        "/business/unblock",
    ] {
        post_example(app, &doc, &v3(path), &ids).await;
    }
    let owner = post_example(app, &doc, &v3("/business/add-business-owner"), &ids).await;
    let owner_id = owner["data"]["items"][0]["id"].as_str().unwrap().to_owned();
    post_example(app, &doc, &v3("/business/get-business-owners"), &ids).await;
    let with_owner = [ids[0], ids[1], ("owner_id", owner_id.as_str())];
    post_example(
        app,
        &doc,
        &v3("/business/remove-business-owner"),
        &with_owner,
    )
    .await;
    post_example(app, &doc, &v3("/business/add-business-owner"), &ids).await;
    let submitted = post_example(app, &doc, &v3("/business/send-verification-request"), &ids).await;
    assert_eq!(submitted["data"]["items"][0]["kyb_status"], "pending");
    let hook = post_example(app, &doc, &v3("/webhook/create"), &[]).await;
    let webhook_id = hook["data"]["items"][0]["id"].as_str().unwrap().to_owned();
    let events = post_example(app, &doc, &v3("/event/get-all"), &ids).await;
    let event_id = events["data"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ids = [
        ("user_id", user_id.as_str()),
        ("webhook_id", webhook_id.as_str()),
        ("event_id", event_id.as_str()),
    ];
    for path in [
        "/webhook/get",
        "/webhook/get-all",
        "/webhook/update",
        "/webhook/rotate-secret",
        "/event/get",
        "/event/resend",
        "/webhook/delete",
    ] {
        post_example(app, &doc, &v3(path), &ids).await;
    }
}
service_test!(examples_are_accepted, every_example_is_accepted);
