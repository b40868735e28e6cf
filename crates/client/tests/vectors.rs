//! The signer reproduces every independently computed vector of `shared/vectors/hmac-signing.json`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use client::signing::{self, Authorization, SignedRequest};
use serde_json::Value;

fn vectors_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/hmac-signing.json")
}

fn vectors() -> Vec<Value> {
    let path = vectors_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the signing vectors must be at {} (the `shared` folder beside the repository): {e}",
            path.display()
        )
    });
    let doc: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let vectors = doc["vectors"]
        .as_array()
        .unwrap_or_else(|| panic!("{} has no `vectors` array", path.display()))
        .clone();
    assert!(!vectors.is_empty(), "{} has no vectors", path.display());
    vectors
}

/// One vector's fields, read strictly.
struct Vector<'a> {
    name: &'a str,
    method: &'a str,
    path: &'a str,
    body: &'a [u8],
    username: &'a str,
    secret: &'a [u8],
    x_date: &'a str,
    signed: Vec<&'a str>,
    extra: Vec<(&'a str, &'a str)>,
    content_sha512: &'a str,
    signing_string: &'a str,
    authorization: &'a str,
}

fn field<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector {}: `{key}` must be a string", v["name"]))
}

impl<'a> Vector<'a> {
    fn read(v: &'a Value) -> Self {
        Self {
            name: field(v, "name"),
            method: field(v, "method"),
            path: field(v, "path"),
            body: field(v, "body").as_bytes(),
            username: field(v, "username"),
            secret: field(v, "secret").as_bytes(),
            x_date: field(v, "x_date"),
            signed: v["signed_headers"]
                .as_array()
                .expect("signed_headers is an array")
                .iter()
                .map(|n| n.as_str().expect("signed header names are strings"))
                .collect(),
            extra: v["extra_headers"]
                .as_object()
                .expect("extra_headers is an object")
                .iter()
                .map(|(k, val)| (k.as_str(), val.as_str().expect("extra values are strings")))
                .collect(),
            content_sha512: field(v, "expected_content_sha512"),
            signing_string: field(v, "expected_signing_string"),
            authorization: field(v, "expected_authorization"),
        }
    }

    /// The request's headers as the server would receive them (lowercase names).
    fn received_headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![
            ("x-date".to_owned(), self.x_date.to_owned()),
            ("content-type".to_owned(), "application/json".to_owned()),
            (
                "content-sha512".to_owned(),
                signing::content_sha512(self.body),
            ),
            ("content-length".to_owned(), self.body.len().to_string()),
        ];
        for (k, val) in &self.extra {
            headers.push((k.to_ascii_lowercase(), (*val).to_owned()));
        }
        headers
    }

    fn date(&self) -> std::time::SystemTime {
        signing::parse_x_date(self.x_date)
            .unwrap_or_else(|| panic!("{}: x_date {:?} parses", self.name, self.x_date))
    }
}

/// The signature with one bit of its first byte flipped.
fn flip_one_bit(sig: &str) -> String {
    let mut bytes = B64.decode(sig).unwrap();
    bytes[0] ^= 1;
    B64.encode(bytes)
}

#[test]
fn the_vectors_file_is_found() {
    assert!(
        vectors_path().is_file(),
        "missing {}",
        vectors_path().display()
    );
}

#[test]
fn every_vector_is_reproduced_by_the_primitives() {
    let all = vectors();
    for raw in &all {
        let v = Vector::read(raw);
        let name = v.name;

        assert_eq!(
            signing::content_sha512(v.body),
            v.content_sha512,
            "{name}: content-sha512"
        );
        assert_eq!(
            signing::x_date(v.date()),
            v.x_date,
            "{name}: x-date round-trip"
        );

        let headers = v.received_headers();
        let text = signing::signing_string(v.method, v.path, &v.signed, |n| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, val)| val.clone())
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(text, v.signing_string, "{name}: signing string");

        let signature = signing::sign(v.secret, &text);
        let header = signing::authorization_header(v.username, &v.signed, &signature);
        assert_eq!(header, v.authorization, "{name}: authorization");

        let parsed =
            Authorization::parse(v.authorization).unwrap_or_else(|e| panic!("{name}: parse: {e}"));
        assert_eq!(parsed.username, v.username, "{name}");
        assert_eq!(parsed.algorithm, "hmac-sha512", "{name}");
        assert_eq!(parsed.headers, v.signed, "{name}");
        assert_eq!(parsed.signature, signature, "{name}");
        let names: Vec<&str> = parsed.headers.iter().map(String::as_str).collect();
        assert_eq!(
            signing::authorization_header(&parsed.username, &names, &parsed.signature),
            v.authorization,
            "{name}: parse round-trips"
        );

        assert!(
            signing::verify(v.secret, v.signing_string, &parsed.signature),
            "{name}: verifies"
        );
        assert!(
            !signing::verify(v.secret, v.signing_string, &flip_one_bit(&parsed.signature)),
            "{name}: a flipped bit fails"
        );
        assert!(
            !signing::verify(b"another secret", v.signing_string, &parsed.signature),
            "{name}: another secret fails"
        );
    }
}

#[test]
fn every_vector_is_reproduced_by_the_builder() {
    for raw in &vectors() {
        let v = Vector::read(raw);
        let mut request =
            SignedRequest::new(v.method, v.path, v.body, v.username, v.secret, v.date())
                .signed_headers(&v.signed);
        for (k, val) in &v.extra {
            request = request.header(k, val);
        }
        let headers = request
            .build()
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(
            headers.get("authorization"),
            Some(v.authorization),
            "{}: authorization",
            v.name
        );
    }
}

#[test]
fn the_builder_sends_the_headers_of_the_first_vector() {
    let all = vectors();
    let v = Vector::read(&all[0]);
    assert_eq!(
        v.signed,
        signing::DEFAULT_SIGNED,
        "the first vector uses the default list"
    );
    // No explicit list: the builder's default for a non-empty body.
    let headers = SignedRequest::new(v.method, v.path, v.body, v.username, v.secret, v.date())
        .build()
        .unwrap();
    let expected: Vec<(String, String)> = vec![
        ("x-date".into(), v.x_date.into()),
        ("content-type".into(), "application/json".into()),
        ("content-sha512".into(), v.content_sha512.into()),
        ("content-length".into(), v.body.len().to_string()),
        ("authorization".into(), v.authorization.into()),
    ];
    assert_eq!(headers.as_slice(), expected.as_slice());
    // And the server's rebuild from exactly those headers gives the vector's string.
    let text = signing::signing_string(v.method, v.path, &v.signed, |n| {
        headers.get(n).map(str::to_owned)
    })
    .unwrap();
    assert_eq!(text, v.signing_string);
}
