//! `/user/get-all` `search` through HTTP: Unicode case folding, substrings, short terms as
//! name prefixes, and the exact-total marker left out of exact answers.

use serde_json::{Value, json};
use tests::{TestApp, json as parse, seed_body, service_test};

async fn call(app: &TestApp, body: &Value) -> (u16, Value) {
    let resp = app
        .client()
        .post_json("/api/v3/user/get-all", body)
        .await
        .unwrap();
    (resp.status, parse(&resp.body))
}

async fn searches_fold_case_and_serve_short_terms_as_prefixes(app: &TestApp) {
    for (n, first, last) in [(1, "Élodie", "Durand"), (2, "Zoë", "Weißmann")] {
        let mut body = seed_body(n);
        body["first_name"] = json!(first);
        body["last_name"] = json!(last);
        let resp = app
            .client()
            .post_json("/api/v3/user/create", &body)
            .await
            .unwrap();
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    }
    let last_names = |out: &Value| -> Vec<String> {
        out["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["last_name"].as_str().unwrap().to_owned())
            .collect()
    };
    for (term, expected) in [
        ("élodie", vec!["Durand"]),
        ("ÉLODIE", vec!["Durand"]),
        ("weiss", vec!["Weißmann"]),
        ("lodi", vec!["Durand"]),
        ("du", vec!["Durand"]),
        ("zo", vec!["Weißmann"]),
        ("od", vec![]),
        ("elodie", vec![]),
    ] {
        let (status, out) = call(app, &json!({ "search": term })).await;
        assert_eq!(status, 200, "{out}");
        assert_eq!(last_names(&out), expected, "{term}");
        assert_eq!(
            out["data"]["pagination"],
            json!({"page": 1, "per_page": 10, "total": expected.len(), "sort": "created_at:desc", "search": term}),
            "an exact total carries no total_is_estimate"
        );
    }
}
service_test!(
    searches_fold_case_and_serve_short_terms_as_prefixes,
    searches_fold_case_and_serve_short_terms_as_prefixes
);
