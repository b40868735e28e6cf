//! Operations endpoints: `GET /metrics` counts answers by route pattern and status.

use tests::{TestApp, seed_body, service_test};

async fn metrics_count_answers_by_route_and_status(app: &TestApp) {
    let client = app.client();
    let resp = client
        .post_json("/api/v3/user/create", &seed_body(1))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    let user_id = tests::json(&resp.body)["data"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = client
        .post_json(
            "/api/v4/user/get",
            &serde_json::json!({"user_id": "user-nope"}),
        )
        .await
        .unwrap();
    assert_eq!(resp.status, 422);

    let resp = reqwest::get(format!("{}/metrics", app.base_url))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().await.unwrap();
    let counted = |route: &str, status: &str| {
        text.lines().any(|l| {
            l.starts_with("onboard_http_requests_total{")
                && l.contains(&format!("route=\"{route}\""))
                && l.contains(&format!("status=\"{status}\""))
        })
    };
    assert!(counted("/api/v3/user/create", "200"), "{text}");
    assert!(counted("/api/v4/user/get", "422"), "{text}");
    assert!(
        text.contains("onboard_http_request_duration_seconds_bucket"),
        "{text}"
    );
    // Labels are route patterns, never raw paths or ids.
    assert!(!text.contains(&user_id));
}
service_test!(
    metrics_are_exposed,
    metrics_count_answers_by_route_and_status
);
