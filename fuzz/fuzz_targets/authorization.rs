//! Fuzz target: the `Authorization` header parser, and what the server builds from a header
//! that parses (the signing string, the verification), and the client's rendering of it.
#![no_main]

use client::signing::{self, Authorization};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|header: &str| {
    let Ok(auth) = Authorization::parse(header) else {
        return;
    };
    assert!(!auth.username.is_empty() && !auth.algorithm.is_empty());
    assert!(!auth.signature.is_empty());

    // As `api::auth` does: lowercase names, the signing string from the request's headers
    // (here: every other name is missing), the constant-time verification.
    let names: Vec<String> = auth
        .headers
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let text = signing::signing_string("POST", "/api/v3/user/create?x=1", &refs, |n| {
        (n.len() % 2 == 0).then(|| format!("value of {n}"))
    });
    if let Ok(text) = text {
        let _ = signing::verify(b"secret", &text, &auth.signature);
        let signature = signing::sign(b"secret", &text);
        assert!(signing::verify(b"secret", &text, &signature));
    }

    // The header the client renders for these values parses back to them.
    if !auth.headers.is_empty() {
        let headers: Vec<&str> = auth.headers.iter().map(String::as_str).collect();
        let rendered = signing::authorization_header(&auth.username, &headers, &auth.signature);
        let again = Authorization::parse(&rendered).expect("a rendered header parses");
        assert_eq!(again.username, auth.username);
        assert_eq!(again.headers, auth.headers);
        assert_eq!(again.signature, auth.signature);
        assert_eq!(again.algorithm, signing::ALGORITHM);
    }
});
