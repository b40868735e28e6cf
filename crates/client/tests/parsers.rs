//! The header parsers under arbitrary input (proptest): `Authorization::parse` and
//! `parse_x_date` never panic, and what they accept prints back to the same value. The
//! coverage-guided counterparts are `fuzz/fuzz_targets/authorization.rs` and `x_date.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use client::signing::{self, Authorization};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// A header built from the grammar's pieces in any order and number, so that most inputs get
/// past the scheme and into the parameters.
fn header_like() -> impl Strategy<Value = String> {
    let key = select(vec![
        "username",
        "algorithm",
        "headers",
        "signature",
        "Username",
        "extra",
        "",
    ]);
    let sep = select(vec!["", " ", ",", ", ", " ,", "\t", "=", "\"", "\u{a0}"]);
    let value = prop_oneof![
        "[ -~]{0,12}",
        any::<String>(),
        Just("request-line x-date content-sha512".to_owned()),
    ];
    let param = (
        key,
        select(vec!["=", " = ", "", "=="]),
        select(vec!["\"", "", "'"]),
        value,
    )
        .prop_map(|(k, eq, q, v)| format!("{k}{eq}{q}{v}{q}"));
    (
        select(vec!["hmac", "HMAC", "Hmac", "hmac-sha512", "", "Basic"]),
        select(vec![" ", "\t", "  ", ""]),
        vec((param, sep), 0..7),
    )
        .prop_map(|(scheme, space, params)| {
            let mut out = format!("{scheme}{space}");
            for (p, s) in params {
                out.push_str(&p);
                out.push_str(s);
            }
            out
        })
}

fn check_authorization(header: &str) {
    let Ok(auth) = Authorization::parse(header) else {
        return;
    };
    assert!(!auth.username.is_empty() && !auth.signature.is_empty());
    let names: Vec<String> = auth
        .headers
        .iter()
        .map(|h| h.to_ascii_lowercase())
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    if let Ok(text) = signing::signing_string("POST", "/p", &refs, |n| Some(n.to_owned())) {
        let _ = signing::verify(b"k", &text, &auth.signature);
    }
    if !auth.headers.is_empty() {
        let headers: Vec<&str> = auth.headers.iter().map(String::as_str).collect();
        let rendered = signing::authorization_header(&auth.username, &headers, &auth.signature);
        let again = Authorization::parse(&rendered).unwrap();
        assert_eq!(
            (again.username, again.headers, again.signature),
            (auth.username, auth.headers, auth.signature)
        );
    }
}

/// Dates built from RFC 1123's pieces with out-of-range fields.
fn date_like() -> impl Strategy<Value = String> {
    (
        select(vec!["Mon", "Tue", "Sat", "Sun", "Sunday", "Xyz", ""]),
        0u32..100,
        select(vec!["Jan", "Feb", "Nov", "Dec", "jan", "Foo"]),
        prop_oneof![0u32..10_000, any::<u32>()],
        (0u32..100, 0u32..100, 0u32..100),
        select(vec![" GMT", " UTC", "", " GMT "]),
    )
        .prop_map(|(day, d, month, year, (h, m, s), zone)| {
            format!("{day}, {d:02} {month} {year} {h:02}:{m:02}:{s:02}{zone}")
        })
}

fn check_x_date(text: &str) {
    if let Some(t) = signing::parse_x_date(text) {
        let printed = signing::x_date(t);
        assert_eq!(signing::parse_x_date(&printed), Some(t), "{printed}");
        assert!(t >= std::time::UNIX_EPOCH);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn authorization_takes_any_string(s in any::<String>()) {
        check_authorization(&s);
    }

    #[test]
    fn authorization_takes_anything_shaped_like_a_header(s in header_like()) {
        check_authorization(&s);
    }

    #[test]
    fn x_date_takes_any_string(s in any::<String>()) {
        check_x_date(&s);
    }

    #[test]
    fn x_date_takes_anything_shaped_like_a_date(s in date_like()) {
        check_x_date(&s);
    }
}
