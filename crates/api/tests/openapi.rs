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
