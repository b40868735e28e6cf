//! The committed `docs/openapi.json` is the document the code generates.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[test]
fn committed_openapi_document_is_up_to_date() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == api::openapi::json(),
        "docs/openapi.json is out of date: run `cargo xtask openapi` and commit the result"
    );
}

/// The client crate has a typed call for every operation of the document, and sends an
/// `Idempotency-Key` exactly where the document takes one.
#[test]
fn the_client_covers_every_operation() {
    let doc: serde_json::Value = serde_json::from_str(&api::openapi::json()).unwrap();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/") {
            continue;
        }
        let post = &item["post"];
        let takes_key = post["parameters"].as_array().is_some_and(|ps| {
            ps.iter()
                .any(|p| p["$ref"] == "#/components/parameters/IdempotencyKey")
        });
        documented.push((path.clone(), takes_key));
    }
    documented.sort();
    let mut covered: Vec<(String, bool)> = client::Endpoint::ALL
        .into_iter()
        .flat_map(|e| {
            [client::ApiVersion::V3, client::ApiVersion::V4]
                .map(|v| (format!("{}{}", v.prefix(), e.path()), e.mutating()))
        })
        .collect();
    covered.sort();
    assert_eq!(documented, covered);
}
