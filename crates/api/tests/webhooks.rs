//! Webhook delivery across `onboard serve` processes (SPEC §6, §7): two instances on one
//! database deliver each event exactly once; an instance killed with `kill -9` while
//! deliveries are pending leaves them to the next one, which delivers all of them. The
//! receiver listens on loopback (`webhook_allow_private_targets`), and every delivery is
//! checked with the `standardwebhooks` crate.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

#[path = "../../../tests/src/receiver.rs"]
mod receiver;

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use client::{Client, CreateWebhook};
use receiver::{Received, Receiver};
use storage::SecretKey;
use storage::testing::{Backend, TestDatabase};

struct Env {
    url: String,
    data_keys: String,
    blind: String,
}

impl Env {
    /// A fresh database of `backend`, the environment over it and a program's credentials;
    /// `None` (the test skipped) when the backend is not configured.
    async fn open(backend: Backend) -> Option<(TestDatabase, Self, serde_json::Value)> {
        let Some(db) = TestDatabase::create(backend).await.unwrap() else {
            eprintln!("skipped: {backend:?} is not configured");
            return None;
        };
        let env = Self::new(&db.url);
        let program = env.program();
        Some((db, env, program))
    }

    fn new(url: &str) -> Self {
        let (k1, blind) = (
            SecretKey::generate().unwrap(),
            SecretKey::generate().unwrap(),
        );
        Self {
            url: url.to_owned(),
            data_keys: format!("k1:{}", k1.to_base64().as_str()),
            blind: blind.to_base64().to_string(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_onboard"));
        command
            .args(args)
            .env("DATABASE_URL", &self.url)
            .env("ONBOARD_DATA_KEYS", &self.data_keys)
            .env("ONBOARD_ACTIVE_KEY", "k1")
            .env("ONBOARD_BLIND_INDEX_KEY", &self.blind)
            .env("ONBOARD_LOG_FORMAT", "json")
            .env("ONBOARD_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")
            .env("ONBOARD_WEBHOOK_INTERVAL_MS", "50")
            .env("ONBOARD_WEBHOOK_RETRY_SCALE", "0.0005")
            .env("ONBOARD_RATE_LIMIT_PER_SECOND", "10000")
            .env("ONBOARD_RATE_LIMIT_BURST", "10000");
        command
    }

    /// A program's credentials, created with `onboard program create --json`.
    fn program(&self) -> serde_json::Value {
        let out = self
            .command(&["program", "create", "--name", "hooks", "--json"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `onboard serve` on a free port, and a client of `program` for it once it answers.
    async fn serve(&self, program: &serde_json::Value) -> (Child, Client) {
        self.serve_with(program, &[]).await
    }

    /// [`Env::serve`] with more environment variables (taking precedence).
    async fn serve_with(
        &self,
        program: &serde_json::Value,
        env: &[(&str, &str)],
    ) -> (Child, Client) {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = self
            .command(&["serve", "--bind", &format!("127.0.0.1:{port}")])
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let client = Client::new(
            &format!("http://127.0.0.1:{port}"),
            program["api_key"].as_str().unwrap(),
            program["hmac_username"].as_str().unwrap(),
            program["hmac_secret"].as_str().unwrap(),
        );
        let start = Instant::now();
        while client.list_webhooks(None, None).await.is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the instance starts"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        (child, client)
    }
}

/// A user created through `client` (seed `n`); its id.
async fn create_user(client: &Client, n: u32) -> String {
    let body = serde_json::to_value(domain::fixtures::SeedUser::new(n).raw()).unwrap();
    let resp = client
        .post_json("/api/v3/user/create", &body)
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    let answer: serde_json::Value = serde_json::from_slice(&resp.body).unwrap();
    answer["data"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An endpoint at `url` for every event type (its secret shown, this once).
async fn subscribe(client: &Client, url: &str) -> client::Webhook {
    client
        .create_webhook(&CreateWebhook {
            url: url.to_owned(),
            event_types: None,
        })
        .await
        .unwrap()
}

/// Deliveries answered 200, by event id.
fn delivered(got: &[Received]) -> BTreeMap<String, usize> {
    let mut by_id = BTreeMap::new();
    for r in got.iter().filter(|r| r.status == 200) {
        *by_id
            .entry(r.header("webhook-id").unwrap().to_owned())
            .or_insert(0) += 1;
    }
    by_id
}

async fn two_instances_deliver_each_event_once(backend: Backend) {
    let Some((db, env, program)) = Env::open(backend).await else {
        return;
    };
    let receiver = Receiver::start().await;
    let (mut a, client_a) = env.serve(&program).await;
    let (mut b, client_b) = env.serve(&program).await;
    let hook = subscribe(&client_a, &receiver.url).await;
    let secret = hook.secret.unwrap();
    let mut users = Vec::new();
    for n in 0..20 {
        let (here, there) = if n % 2 == 0 {
            (&client_a, &client_b)
        } else {
            (&client_b, &client_a)
        };
        let id = create_user(here, n).await;
        if n % 2 == 0 {
            there.block_user(&id, None).await.unwrap();
        }
        users.push(id);
    }
    let expected = 30;
    let got = receiver
        .wait_for(Duration::from_secs(60), |g| delivered(g).len() >= expected)
        .await;
    // Time for a duplicate to show up, if any were to.
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        delivered(&got).len() >= expected,
        "{backend:?}: delivered in time"
    );
    let got = receiver.received();
    let by_id = delivered(&got);
    assert_eq!(by_id.len(), expected, "{backend:?}: every event delivered");
    assert!(
        by_id.values().all(|n| *n == 1),
        "{backend:?}: no event delivered twice: {by_id:?}"
    );
    assert!(got.iter().all(|r| r.verifies_with(&secret)));
    // Per user, its creation arrives before its block.
    for user in &users {
        let sequences: Vec<i64> = got
            .iter()
            .map(Received::json)
            .filter(|e| e["data"]["object"]["id"] == user.as_str())
            .map(|e| e["sequence"].as_i64().unwrap())
            .collect();
        assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    }
    a.kill().unwrap();
    b.kill().unwrap();
    let _ = (a.wait(), b.wait());
    db.drop_database().await;
}

/// A creation's delivery is sent as soon as the create has committed (dispatched to the
/// instance's worker), not at the worker's next poll: polls here are 10 minutes apart.
async fn a_creation_is_delivered_without_waiting_for_a_poll(backend: Backend) {
    let Some((db, env, program)) = Env::open(backend).await else {
        return;
    };
    let receiver = Receiver::start().await;
    let (mut a, client) = env
        .serve_with(&program, &[("ONBOARD_WEBHOOK_INTERVAL_MS", "600000")])
        .await;
    let hook = subscribe(&client, &receiver.url).await;
    let mut users = Vec::new();
    for n in 0..5 {
        users.push(create_user(&client, n).await);
    }
    let got = receiver
        .wait_for(Duration::from_secs(30), |g| delivered(g).len() >= 5)
        .await;
    assert_eq!(
        delivered(&got).len(),
        5,
        "{backend:?}: all five delivered, long before the next poll"
    );
    assert!(
        got.iter()
            .all(|r| r.verifies_with(hook.secret.as_deref().unwrap()))
    );
    for r in &got {
        let event = r.json();
        assert_eq!(event["type"], "user.created");
        assert!(
            users
                .iter()
                .any(|u| event["data"]["object"]["id"] == u.as_str())
        );
    }
    // Each attempt is recorded, under the lease the create wrote (the outcome would
    // otherwise be refused as a lost lease and the delivery sent again after it).
    let event_id = got[0].header("webhook-id").unwrap().to_owned();
    let start = Instant::now();
    loop {
        let event = client.get_event(&event_id).await.unwrap();
        let attempts = event.attempts.unwrap_or_default();
        if attempts.len() == 1 {
            assert_eq!(attempts[0]["status_code"], 200, "{attempts:?}");
            break;
        }
        assert!(attempts.is_empty(), "{attempts:?}");
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{backend:?}: the attempt is recorded"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        delivered(&receiver.received()).values().all(|n| *n == 1),
        "{backend:?}: each sent once"
    );
    a.kill().unwrap();
    let _ = a.wait();
    db.drop_database().await;
}

async fn a_killed_instance_leaves_its_deliveries_to_the_next(backend: Backend) {
    let Some((db, env, program)) = Env::open(backend).await else {
        return;
    };
    // The receiver's port, with nothing listening yet: every attempt is refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (mut a, client_a) = env.serve(&program).await;
    let hook = subscribe(&client_a, &format!("http://127.0.0.1:{port}/hook")).await;
    for n in 0..10 {
        create_user(&client_a, n).await;
    }
    // Attempts fail while nothing listens; then the instance dies without a word.
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.kill().unwrap(); // SIGKILL
    let _ = a.wait();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let receiver = Receiver::on(listener, |_| 200);
    let (mut b, _client_b) = env.serve(&program).await;
    let got = receiver
        .wait_for(Duration::from_secs(120), |g| delivered(g).len() >= 10)
        .await;
    assert_eq!(
        delivered(&got).len(),
        10,
        "{backend:?}: all delivered after the restart"
    );
    assert!(
        got.iter()
            .all(|r| r.verifies_with(hook.secret.as_deref().unwrap()))
    );
    b.kill().unwrap();
    let _ = b.wait();
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_event_once_sqlite() {
    two_instances_deliver_each_event_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_event_once_postgres() {
    two_instances_deliver_each_event_once(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_event_once_mysql() {
    two_instances_deliver_each_event_once(Backend::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_leaves_its_deliveries_to_the_next_sqlite() {
    a_killed_instance_leaves_its_deliveries_to_the_next(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_leaves_its_deliveries_to_the_next_postgres() {
    a_killed_instance_leaves_its_deliveries_to_the_next(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_instance_leaves_its_deliveries_to_the_next_mysql() {
    a_killed_instance_leaves_its_deliveries_to_the_next(Backend::Mysql).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creation_is_delivered_without_waiting_for_a_poll_sqlite() {
    a_creation_is_delivered_without_waiting_for_a_poll(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creation_is_delivered_without_waiting_for_a_poll_postgres() {
    a_creation_is_delivered_without_waiting_for_a_poll(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_creation_is_delivered_without_waiting_for_a_poll_mysql() {
    a_creation_is_delivered_without_waiting_for_a_poll(Backend::Mysql).await;
}
