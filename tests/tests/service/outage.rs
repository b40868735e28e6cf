//! With the database cut off, requests answer 503 `storage_unavailable` with `Retry-After`,
//! `/readyz` fails, nothing is half-written, and the service recovers by itself.

use storage::testing::Backend;
use tests::proxy::{Proxy, through_proxy};
use tests::{json, seed_body};

async fn outage_and_recovery(backend: Backend) {
    let Some(var) = backend.env() else { return };
    let Ok(url) = std::env::var(var) else {
        tests::note(&format!("skipped: {var} is not set"));
        return;
    };
    let (target, _) = through_proxy(&url, 0);
    let proxy = Proxy::start(target).await;
    let port = proxy.port;
    let app = tests::spawn_app_via(backend, move |db_url| through_proxy(db_url, port).1)
        .await
        .unwrap();
    let client = app.client();
    let path = "/api/v3/user/create";
    assert_eq!(
        client.post_json(path, &seed_body(1)).await.unwrap().status,
        200
    );

    proxy.cut();
    let resp = client.post_json(path, &seed_body(2)).await.unwrap();
    assert_eq!(resp.status, 503, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(json(&resp.body)["errors"][0]["code"], "storage_unavailable");
    assert!(
        resp.headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("retry-after") && !v.is_empty())
    );
    let ready = reqwest::get(format!("{}/readyz", app.base_url))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 503);
    assert_eq!(
        json(&ready.bytes().await.unwrap())["errors"][0]["code"],
        "storage_unavailable"
    );

    proxy.restore();
    let mut recovered = None;
    for _ in 0..20 {
        let resp = client.post_json(path, &seed_body(3)).await.unwrap();
        if resp.status != 503 {
            recovered = Some(resp.status);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert_eq!(recovered, Some(200), "the service recovers by itself");
    // The request made during the outage left nothing behind: its user does not exist,
    // so creating it now succeeds rather than conflicting.
    assert_eq!(
        client.post_json(path, &seed_body(2)).await.unwrap().status,
        200
    );
    let ready = reqwest::get(format!("{}/readyz", app.base_url))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_is_503_and_recovers() {
    outage_and_recovery(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_outage_is_503_and_recovers() {
    outage_and_recovery(Backend::Mysql).await;
}

#[test]
fn urls_are_rewritten_through_the_proxy() {
    let (t, u) = through_proxy("postgres://postgres@127.0.0.1:5432/db1", 9999);
    assert_eq!(
        (t.as_str(), u.as_str()),
        ("127.0.0.1:5432", "postgres://postgres@127.0.0.1:9999/db1")
    );
    let (t, u) = through_proxy("mysql://root@127.0.0.1:3306/test", 7);
    assert_eq!(
        (t.as_str(), u.as_str()),
        ("127.0.0.1:3306", "mysql://root@127.0.0.1:7/test")
    );
}
