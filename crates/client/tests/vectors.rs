//! The signer reproduces every independently computed vector of `shared/vectors/hmac-signing.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use client::signing::{self, Authorization};
use serde_json::Value;

fn vectors() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors/hmac-signing.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("the signing vectors must be at {}: {e}", path.display()));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["vectors"].as_array().unwrap().clone()
}

#[test]
fn every_vector_is_reproduced() {
    let vectors = vectors();
    assert!(vectors.len() >= 4, "all vectors are read");
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let body = v["body"].as_str().unwrap().as_bytes();
        let digest = signing::content_sha512(body);
        assert_eq!(
            digest,
            v["expected_content_sha512"].as_str().unwrap(),
            "{name}: digest"
        );

        let mut headers: Vec<(String, String)> = vec![
            ("x-date".into(), v["x_date"].as_str().unwrap().into()),
            ("content-type".into(), "application/json".into()),
            ("content-sha512".into(), digest),
            ("content-length".into(), body.len().to_string()),
        ];
        for (k, val) in v["extra_headers"].as_object().unwrap() {
            headers.push((k.to_ascii_lowercase(), val.as_str().unwrap().into()));
        }
        let names: Vec<&str> = v["signed_headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap())
            .collect();
        let text = signing::signing_string(
            v["method"].as_str().unwrap(),
            v["path"].as_str().unwrap(),
            &names,
            |n| {
                headers
                    .iter()
                    .find(|(k, _)| k == n)
                    .map(|(_, val)| val.clone())
            },
        )
        .unwrap();
        assert_eq!(
            text,
            v["expected_signing_string"].as_str().unwrap(),
            "{name}: signing string"
        );

        let secret = v["secret"].as_str().unwrap().as_bytes();
        let signature = signing::sign(secret, &text);
        let header =
            signing::authorization_header(v["username"].as_str().unwrap(), &names, &signature);
        let expected = v["expected_authorization"].as_str().unwrap();
        assert_eq!(header, expected, "{name}: authorization");

        let parsed = Authorization::parse(expected).unwrap();
        assert_eq!(parsed.username, v["username"].as_str().unwrap());
        assert_eq!(parsed.algorithm, "hmac-sha512");
        assert_eq!(parsed.headers, names);
        assert!(
            signing::verify(secret, &text, &parsed.signature),
            "{name}: verifies"
        );
        let mut flipped = base64_flip(&parsed.signature);
        assert!(
            !signing::verify(secret, &text, &flipped),
            "{name}: a flipped bit fails"
        );
        flipped.clear();
    }
}

/// The signature with one bit of its first byte flipped.
fn base64_flip(sig: &str) -> String {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let mut bytes = engine.decode(sig).unwrap();
    bytes[0] ^= 1;
    engine.encode(bytes)
}

#[test]
fn the_builder_signs_the_documented_headers() {
    let v = &vectors()[0];
    let body = v["body"].as_str().unwrap().as_bytes();
    let date = signing::parse_x_date(v["x_date"].as_str().unwrap()).unwrap();
    let headers = signing::signed_headers(&signing::RequestToSign {
        method: "POST",
        path_and_query: v["path"].as_str().unwrap(),
        body,
        username: v["username"].as_str().unwrap(),
        secret: v["secret"].as_str().unwrap().as_bytes(),
        date,
        signed: &signing::DEFAULT_SIGNED,
        extra: &[],
    })
    .unwrap();
    let auth = headers.iter().find(|(k, _)| k == "authorization").unwrap();
    assert_eq!(auth.1, v["expected_authorization"].as_str().unwrap());
}
