//! Several `onboard serve` processes on one database (SPEC §6), the way a platform runs them
//! behind a load balancer: concurrent signed load spread across three instances, one killed
//! with SIGKILL mid-load; idempotent retries and replays across instances; KYC cases decided
//! once; an outage cut through a TCP proxy, and the recovery.
//!
//! On PostgreSQL and MariaDB (skipped where the server is not configured; failing under
//! `CI=true` as every database test). The processes are the `onboard` binary that
//! `cargo test --workspace` builds next to this test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use domain::fixtures::SeedUser;
use domain::{KycStatus, ProgramId, UserId};
use storage::testing::{Backend, TestDatabase};
use storage::{DatabaseConfig, Keyring, SecretKey, SqlStore, UserRepository as _};
use tests::proxy::{Proxy, through_proxy};
use tests::{RawRequest, Signing, json};

const CREATE: &str = "/api/v3/user/create";

/// The `onboard` binary built with this test (`target/<profile>/onboard`).
fn onboard_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = dir.join("onboard");
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p api --bin onboard` (cargo test --workspace does)",
        bin.display()
    );
    bin
}

/// The keys every process of the test shares.
struct Keys {
    data: SecretKey,
    blind: SecretKey,
}

impl Keys {
    fn apply(&self, command: &mut Command) {
        command
            .env(
                "ONBOARD_DATA_KEYS",
                format!("k1:{}", self.data.to_base64().as_str()),
            )
            .env("ONBOARD_ACTIVE_KEY", "k1")
            .env("ONBOARD_BLIND_INDEX_KEY", self.blind.to_base64().as_str());
    }

    fn keyring(&self) -> Keyring {
        Keyring::new(
            [("k1".to_owned(), self.data.clone())],
            "k1",
            self.blind.clone(),
        )
        .unwrap()
    }
}

/// A program's credentials, as `onboard program create --json` prints them.
#[derive(Clone)]
struct Credentials {
    program: ProgramId,
    api_key: String,
    username: String,
    secret: String,
}

fn create_program(url: &str, keys: &Keys) -> Credentials {
    let mut command = Command::new(onboard_binary());
    command
        .args(["program", "create", "--name", "multi", "--json"])
        .env("DATABASE_URL", url)
        .env("ONBOARD_LOG_FORMAT", "json");
    keys.apply(&mut command);
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Credentials {
        program: created["program_id"].as_str().unwrap().parse().unwrap(),
        api_key: created["api_key"].as_str().unwrap().to_owned(),
        username: created["hmac_username"].as_str().unwrap().to_owned(),
        secret: created["hmac_secret"].as_str().unwrap().to_owned(),
    }
}

/// One `onboard serve` process.
struct Instance {
    child: Child,
    base_url: String,
    log: PathBuf,
}

impl Instance {
    /// Starts `onboard serve` on a free port of 127.0.0.1, and waits until it is ready.
    async fn start(url: &str, keys: &Keys, name: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!(
            "onboard-instances-{}-{name}.log",
            std::process::id()
        ));
        let mut command = Command::new(onboard_binary());
        command
            .arg("serve")
            .env("DATABASE_URL", url)
            .env("ONBOARD_BIND", format!("127.0.0.1:{port}"))
            .env("ONBOARD_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .env("ONBOARD_KYC_VERIFIER", "sandbox")
            .env("ONBOARD_KYC_INTERVAL_MS", "100")
            .env("ONBOARD_RATE_LIMIT_PER_SECOND", "100000")
            .env("ONBOARD_RATE_LIMIT_BURST", "100000")
            // The bounds the outage below is judged against.
            .env("ONBOARD_DB_ACQUIRE_TIMEOUT_MS", "2000")
            .env("ONBOARD_DB_LOCK_TIMEOUT_MS", "1000")
            .env("ONBOARD_DB_STATEMENT_TIMEOUT_MS", "3000")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap());
        keys.apply(&mut command);
        let child = command.spawn().unwrap();
        let instance = Self {
            child,
            base_url: format!("http://127.0.0.1:{port}"),
            log,
        };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(resp) = http
                .get(format!("{}/readyz", instance.base_url))
                .send()
                .await
                && resp.status().is_success()
            {
                return instance;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "instance {name} did not become ready: {}",
            std::fs::read_to_string(&instance.log).unwrap_or_default()
        );
    }

    /// SIGKILL: no graceful shutdown, nothing flushed.
    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A signing client for `creds` on `instance`.
fn client(instance: &Instance, creds: &Credentials) -> client::Client {
    client::Client::new(
        &instance.base_url,
        &creds.api_key,
        &creds.username,
        &creds.secret,
    )
    .with_max_attempts(1)
}

/// Sends a request signed beforehand (its signature fixed) to `base_url`.
async fn send(base_url: &str, request: &RawRequest) -> (u16, Vec<u8>) {
    let mut builder = reqwest::Client::new()
        .post(format!("{base_url}{}", request.path))
        .body(request.body.clone());
    for (k, v) in &request.headers {
        if k != "content-length" {
            builder = builder.header(k.as_str(), v.as_str());
        }
    }
    let resp = builder.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.bytes().await.unwrap().to_vec())
}

fn seed(n: u32) -> Vec<u8> {
    serde_json::to_vec(&tests::seed_json(SeedUser::new(n))).unwrap()
}

fn user_id(body: &[u8]) -> UserId {
    json(body)["data"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

async fn several_instances_on_one_database(backend: Backend) {
    // reqwest is built without a crypto provider (the workspace's clients bring their own).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let Some(db) = TestDatabase::create(backend).await.unwrap() else {
        tests::note(&format!("skipped: {backend:?} is not configured"));
        return;
    };
    let keys = Keys {
        data: SecretKey::generate().unwrap(),
        blind: SecretKey::generate().unwrap(),
    };
    let creds = create_program(&db.url, &keys);
    let (target, _) = through_proxy(&db.url, 0);
    let proxy = Proxy::start(target).await;
    let proxied = through_proxy(&db.url, proxy.port).1;
    let mut instances = Vec::new();
    for name in ["a", "b", "c"] {
        instances.push(Instance::start(&proxied, &keys, name).await);
    }
    // The test's own view of the database, as a fourth process would have it.
    let store = SqlStore::open(&DatabaseConfig::new(db.url.clone()), keys.keyring())
        .await
        .unwrap();

    // 1. The same Idempotency-Key sent at once to all three: one user, identical answers.
    let key = uuid::Uuid::new_v4().to_string();
    let body = seed(1);
    let sends = instances.iter().map(|i| {
        let (c, key, body) = (client(i, &creds), key.clone(), body.clone());
        async move {
            // A request still in progress elsewhere answers 409; retried with the same key
            // it gets the stored answer.
            for _ in 0..100 {
                let resp = c.post(CREATE, &body, Some(&key)).await.unwrap();
                if resp.status != 409 {
                    return resp;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("the idempotent create never completed");
        }
    });
    let answers = futures_join_all(sends).await;
    for a in &answers {
        assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
        assert_eq!(
            a.body, answers[0].body,
            "every instance answers the same bytes"
        );
    }
    let email = SeedUser::new(1).raw().email.unwrap();
    assert_eq!(
        store
            .count_raw(&format!(
                "SELECT COUNT(*) FROM users WHERE email = '{email}'"
            ))
            .await
            .unwrap(),
        1,
        "exactly one user for one key"
    );

    // 2. A create signed once, sent to two instances: accepted once, a replay for the other.
    let signing = Signing {
        username: &creds.username,
        secret: &creds.secret,
        date: std::time::SystemTime::now(),
        content_type: "application/json",
        api_key: Some(&creds.api_key),
        sign_api_key: true,
    };
    let once = RawRequest::build(CREATE, &seed(2), &signing);
    let (x, y) = tokio::join!(
        send(&instances[0].base_url, &once),
        send(&instances[1].base_url, &once)
    );
    let mut statuses = [x.0, y.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 401], "{:?} / {:?}", json(&x.1), json(&y.1));
    let refused = if x.0 == 401 { &x.1 } else { &y.1 };
    assert_eq!(json(refused)["errors"][0]["code"], "replayed_request");

    // 3. KYC cases submitted through all three instances, with the sandbox verifier running
    // in each: every case decided exactly once.
    let mut cases = Vec::new();
    for n in 10..40u32 {
        let i = &instances[n as usize % 3];
        let created = client(i, &creds)
            .post(CREATE, &seed(n), None)
            .await
            .unwrap();
        assert_eq!(created.status, 200);
        let id = user_id(&created.body);
        let submit = serde_json::to_vec(&serde_json::json!({"user_id": id.to_string()})).unwrap();
        let submitted = client(&instances[(n as usize + 1) % 3], &creds)
            .post("/api/v3/user/send-verification-request", &submit, None)
            .await
            .unwrap();
        assert_eq!(
            submitted.status,
            200,
            "{}",
            String::from_utf8_lossy(&submitted.body)
        );
        cases.push(id);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for id in &cases {
        loop {
            let user = store.get_user(creds.program, *id).await.unwrap().unwrap();
            if user.kyc_status() != KycStatus::Pending {
                break;
            }
            assert!(Instant::now() < deadline, "case {id} was never decided");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for id in &cases {
        let decisions: Vec<_> = store
            .user_events(creds.program, *id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.kind == "kyc" && e.from == "pending")
            .collect();
        assert_eq!(decisions.len(), 1, "case {id}: {decisions:?}");
        assert_eq!(decisions[0].actor, "verifier:sandbox");
    }

    // ... and the verifier was asked once per case, whichever instance claimed it.
    let mut calls = 0;
    for i in &instances {
        calls += metric(&i.base_url, "onboard_kyc_verifier_calls_total").await;
    }
    assert_eq!(calls, cases.len(), "verifier calls across the instances");

    // 4. Concurrent creates spread over the three; one is killed with SIGKILL mid-load.
    // Every acknowledged create is readable through the survivors.
    let acknowledged = Arc::new(std::sync::Mutex::new(BTreeMap::<UserId, u32>::new()));
    let bases: Vec<String> = instances.iter().map(|i| i.base_url.clone()).collect();
    let workers: Vec<_> = (0..6u32)
        .map(|w| {
            let (bases, creds, acknowledged) = (bases.clone(), creds.clone(), acknowledged.clone());
            tokio::spawn(async move {
                for k in 0..60u32 {
                    let n = 1000 + w * 100 + k;
                    let base = &bases[(w + k) as usize % bases.len()];
                    let c =
                        client::Client::new(base, &creds.api_key, &creds.username, &creds.secret)
                            .with_max_attempts(1);
                    // A request to the killed instance fails in transport: not acknowledged.
                    if let Ok(resp) = c.post(CREATE, &seed(n), None).await
                        && resp.status == 200
                    {
                        acknowledged.lock().unwrap().insert(user_id(&resp.body), n);
                    }
                }
            })
        })
        .collect();
    while acknowledged.lock().unwrap().len() < 60 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    instances[0].kill();
    for w in workers {
        w.await.unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 60, "load went on after the kill");
    for (k, (id, n)) in acknowledged.iter().enumerate() {
        let survivor = &instances[1 + k % 2];
        let req = serde_json::to_vec(&serde_json::json!({"user_id": id.to_string()})).unwrap();
        let got = client(survivor, &creds)
            .post("/api/v3/user/get", &req, None)
            .await
            .unwrap();
        assert_eq!(
            got.status, 200,
            "acknowledged create {n} ({id}) is readable"
        );
        assert_eq!(
            json(&got.body)["data"]["items"][0]["email"],
            format!("jane.doe{n}@example.com")
        );
    }

    // 5. The database cut off: every request in flight answers 503 within the configured
    // bound (2 s to get a connection, 3 s a statement); after it comes back the service
    // resumes by itself within 5 s.
    let survivors = &instances[1..];
    let in_flight: Vec<_> = (0..12u32)
        .map(|k| {
            let c = client(&survivors[k as usize % 2], &creds);
            tokio::spawn(async move {
                let started = Instant::now();
                let resp = c.post(CREATE, &seed(5000 + k), None).await.unwrap();
                (resp.status, started.elapsed(), resp.body)
            })
        })
        .collect();
    proxy.cut();
    let mut refused = 0;
    for f in in_flight {
        let (status, took, body) = f.await.unwrap();
        assert!(
            status == 200 || status == 503,
            "{status}: {}",
            String::from_utf8_lossy(&body)
        );
        if status == 503 {
            refused += 1;
            assert_eq!(json(&body)["errors"][0]["code"], "storage_unavailable");
        }
        assert!(took < Duration::from_secs(10), "answered after {took:?}");
    }
    // Requests that start during the outage are refused within the bound too.
    for (k, survivor) in (6000..).zip(survivors) {
        let started = Instant::now();
        let resp = client(survivor, &creds)
            .post(CREATE, &seed(k), None)
            .await
            .unwrap();
        assert_eq!(resp.status, 503);
        assert!(started.elapsed() < Duration::from_secs(10));
    }
    tests::note(&format!(
        "{refused} of 12 in-flight creates refused by the cut"
    ));
    proxy.restore();
    let back = Instant::now();
    let mut resumed = BTreeSet::new();
    let mut n = 7000;
    while resumed.len() < survivors.len() {
        assert!(
            back.elapsed() < Duration::from_secs(5),
            "the service did not resume within 5 s of the database coming back"
        );
        for (k, survivor) in survivors.iter().enumerate() {
            n += 1;
            if !resumed.contains(&k)
                && client(survivor, &creds)
                    .post(CREATE, &seed(n), None)
                    .await
                    .unwrap()
                    .status
                    == 200
            {
                resumed.insert(k);
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    drop(instances);
    let _ = store.connection().clone().close().await;
    db.drop_database().await;
}

/// The value of a counter in an instance's `/metrics` (0 when absent).
async fn metric(base_url: &str, name: &str) -> usize {
    let text = reqwest::get(format!("{base_url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<usize>().ok())
        .sum()
}

/// Awaits every future, concurrently.
async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_instances_on_postgres() {
    several_instances_on_one_database(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn several_instances_on_mysql() {
    several_instances_on_one_database(Backend::Mysql).await;
}
