//! Harness for the black-box tests: a running service on a fresh database, signed clients,
//! raw signed requests, captured logs, and a TCP proxy that can cut the database off.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod cdp;
pub mod console;
pub mod proxy;
pub mod receiver;

use std::io::Write as _;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use api::clock::SystemClock;
use api::limits::Rate;
use api::server::Settings;
use storage::testing::{Backend, TestDatabase};
use storage::{
    DatabaseConfig, IssuedCredentials, Keyring, ProgramRepository as _, SecretKey, SqlStore,
};

/// Every log line the service wrote during this test binary's run.
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing JSON subscriber (debug level, so every event is seen) once.
pub fn capture_logs() {
    // reqwest is built without a crypto provider (the workspace's clients configure their
    // own); the tests' direct reqwest calls use ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    LOGS.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Capture(buf.clone());
        let _ = tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_env_filter("debug")
            .with_writer(move || writer.clone())
            .try_init();
        buf
    });
}

/// Whether any captured log line contains `needle`.
pub fn logs_contain(needle: &str) -> bool {
    LOGS.get()
        .is_some_and(|b| String::from_utf8_lossy(&b.lock().unwrap()).contains(needle))
}

/// A service running on a fresh database with one program.
#[allow(missing_debug_implementations)]
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// The service's store (to set up data the API cannot create yet, and to inspect).
    pub store: SqlStore,
    /// The program's credentials.
    pub program: IssuedCredentials,
    /// The backend.
    pub backend: Backend,
    handle: actix_web::dev::ServerHandle,
    db: TestDatabase,
}

/// A fresh keyring.
pub fn keyring() -> Keyring {
    Keyring::new(
        [("k1".to_owned(), SecretKey::generate().unwrap())],
        "k1",
        SecretKey::generate().unwrap(),
    )
    .unwrap()
}

/// A clock running `offset` ahead of the system clock; tests move it forward.
#[derive(Debug, Default)]
pub struct OffsetClock(Mutex<chrono::Duration>);

impl OffsetClock {
    /// Moves the clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }

    /// The clock's "now" as a `SystemTime`, for signing X-Date.
    pub fn system_now(&self) -> std::time::SystemTime {
        api::clock::Clock::now(self).into()
    }
}

impl api::clock::Clock for OffsetClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + *self.0.lock().unwrap()
    }
}

/// Settings for tests: the production defaults with limits high enough not to interfere.
pub fn test_settings() -> Settings {
    Settings {
        min_age: 18,
        body_limit: 64 * 1024,
        api_key_ttl: Duration::from_secs(30),
        program_rate: Rate {
            per_second: 10_000.0,
            burst: 10_000.0,
        },
        auth_failure_rate: Rate {
            per_second: 10_000.0,
            burst: 10_000.0,
        },
        kyc_verifier: Arc::new(api::kyc::Sandbox),
        kyc_interval: Duration::from_millis(100),
        trusted_proxies: api::client_addr::TrustedProxies::default(),
        replay_reads: false,
        tls: None,
        // Receivers in tests listen on loopback.
        webhooks: api::delivery::DeliverySettings {
            allow_private: true,
            interval: Duration::from_millis(50),
            ..api::delivery::DeliverySettings::default()
        },
        screening_list_dir: None,
        screening_threshold: domain::screening::DEFAULT_REVIEW_THRESHOLD,
        screening_poll: Duration::from_millis(100),
    }
}

/// How to start a test service.
pub struct AppOptions {
    /// Rewrites the database URL the service uses (for the proxy).
    pub rewrite_url: Box<dyn FnOnce(&str) -> String>,
    /// Settings.
    pub settings: Settings,
    /// Clock.
    pub clock: Arc<dyn api::clock::Clock>,
}

impl std::fmt::Debug for AppOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppOptions")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            rewrite_url: Box::new(ToOwned::to_owned),
            settings: test_settings(),
            clock: Arc::new(SystemClock),
        }
    }
}

/// Starts the service on `backend`, or `None` when that database is not configured.
pub async fn spawn_app(backend: Backend) -> Option<TestApp> {
    spawn_app_with(backend, AppOptions::default()).await
}

/// Starts the service, letting the caller rewrite the database URL it uses (for the proxy).
pub async fn spawn_app_via(
    backend: Backend,
    rewrite: impl FnOnce(&str) -> String + 'static,
) -> Option<TestApp> {
    let options = AppOptions {
        rewrite_url: Box::new(rewrite),
        ..AppOptions::default()
    };
    spawn_app_with(backend, options).await
}

/// Starts the service on SQLite with the test settings as `adjust` changes them.
pub async fn spawn_sqlite_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = test_settings();
    adjust(&mut settings);
    let options = AppOptions {
        settings,
        ..AppOptions::default()
    };
    spawn_app_with(Backend::Sqlite, options)
        .await
        .expect("SQLite is always available")
}

/// Starts the service with `options`.
pub async fn spawn_app_with(backend: Backend, options: AppOptions) -> Option<TestApp> {
    let rewrite = options.rewrite_url;
    capture_logs();
    let db = TestDatabase::create(backend).await.unwrap()?;
    let keys = keyring();
    // Migrate directly, then serve through the (possibly rewritten) URL.
    let direct = db.store(keys.clone()).await.unwrap();
    let program = direct
        .create_program("test-program", chrono::Utc::now())
        .await
        .unwrap();
    let _ = direct.connection().clone().close().await;
    let mut config = DatabaseConfig::new(rewrite(&db.url));
    config.max_connections = 8;
    config.acquire_timeout = Duration::from_secs(1);
    let store = SqlStore::open(&config, keys).await.unwrap();

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let key_mismatch = store.check_keys(chrono::Utc::now()).await.unwrap().err();
    let server = api::server::run(
        listener,
        store.clone(),
        options.clock,
        &options.settings,
        key_mismatch,
    )
    .unwrap();
    let handle = server.handle();
    tokio::spawn(server);
    Some(TestApp {
        base_url: format!("http://127.0.0.1:{port}"),
        store,
        program,
        backend,
        handle,
        db,
    })
}

impl TestApp {
    /// A signing client with the program's credentials.
    pub fn client(&self) -> client::Client {
        client::Client::new(
            &self.base_url,
            self.program.api_key.expose(),
            &self.program.hmac_username,
            self.program.hmac_secret.expose(),
        )
    }

    /// A signing client for another program's credentials.
    pub fn client_for(&self, creds: &IssuedCredentials) -> client::Client {
        client::Client::new(
            &self.base_url,
            creds.api_key.expose(),
            &creds.hmac_username,
            creds.hmac_secret.expose(),
        )
    }

    /// Stops the server and drops the database.
    pub async fn cleanup(self) {
        self.handle.stop(true).await;
        let _ = self.store.connection().clone().close().await;
        self.db.drop_database().await;
    }
}

pub use domain::fixtures::ssn;

/// The seed example of the endpoint documentation, with a valid SSN and unique values from `n`:
/// `domain::fixtures::SeedUser::new(n)` as the JSON a client sends.
pub fn seed_body(n: u32) -> serde_json::Value {
    seed_json(domain::fixtures::SeedUser::new(n))
}

/// A seed user as the JSON a client sends (absent fields omitted).
pub fn seed_json(seed: domain::fixtures::SeedUser) -> serde_json::Value {
    serde_json::to_value(seed.raw()).unwrap()
}

/// A seed business as the JSON a client sends (absent fields omitted).
pub fn business_json(seed: domain::fixtures::SeedBusiness) -> serde_json::Value {
    serde_json::to_value(seed.raw()).unwrap()
}

/// A response's parsed JSON body.
pub fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(body)))
}

/// Writes to stderr (the test log) without tripping the print lints.
pub fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

/// Declares one service test run on each backend: `name::sqlite`, `name::postgres`, `name::mysql`.
#[macro_export]
macro_rules! service_test {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            async fn run(backend: storage::testing::Backend) {
                let Some(app) = tests::spawn_app(backend).await else {
                    tests::note(&format!("skipped: {backend:?} is not configured"));
                    return;
                };
                $body(&app).await;
                app.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                run(storage::testing::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                run(storage::testing::Backend::Postgres).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn mysql() {
                run(storage::testing::Backend::Mysql).await;
            }
        }
    };
}

/// A request signed by hand, so tests can break one part of it.
#[derive(Clone, Debug)]
pub struct RawRequest {
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// Body bytes.
    pub body: Vec<u8>,
    /// Headers to send (names lowercase), Authorization included.
    pub headers: Vec<(String, String)>,
}

/// How [`RawRequest::build`] signs.
#[derive(Clone, Debug)]
pub struct Signing<'a> {
    /// HMAC username.
    pub username: &'a str,
    /// HMAC secret.
    pub secret: &'a str,
    /// X-Date.
    pub date: std::time::SystemTime,
    /// Content-Type sent (and signed).
    pub content_type: &'a str,
    /// The `api_key` header, if any.
    pub api_key: Option<&'a str>,
    /// Whether the `api_key` header is among the signed headers.
    pub sign_api_key: bool,
}

impl<'a> Signing<'a> {
    /// The program's own credentials, now, JSON, api_key header signed.
    pub fn of(app: &'a TestApp) -> Self {
        Self {
            username: &app.program.hmac_username,
            secret: app.program.hmac_secret.expose(),
            date: std::time::SystemTime::now(),
            content_type: "application/json",
            api_key: Some(app.program.api_key.expose()),
            sign_api_key: true,
        }
    }
}

impl RawRequest {
    /// A correctly signed POST of `body` to `path` with the program's credentials.
    pub fn signed(app: &TestApp, path: &str, body: &[u8]) -> Self {
        Self::build(path, body, &Signing::of(app))
    }

    /// A POST signed as `s` says.
    pub fn build(path: &str, body: &[u8], s: &Signing<'_>) -> Self {
        let mut headers = vec![
            ("x-date".to_owned(), client::signing::x_date(s.date)),
            ("content-type".to_owned(), s.content_type.to_owned()),
            (
                "content-sha512".to_owned(),
                client::signing::content_sha512(body),
            ),
            ("content-length".to_owned(), body.len().to_string()),
        ];
        if let Some(key) = s.api_key {
            headers.push(("api_key".to_owned(), key.to_owned()));
        }
        // A fresh signed id, so that two builds within one second differ (as the client does).
        headers.push(("x-request-id".to_owned(), uuid::Uuid::new_v4().to_string()));
        let mut names = vec![
            "request-line",
            "x-date",
            "content-type",
            "content-sha512",
            "content-length",
            "x-request-id",
        ];
        if s.sign_api_key && s.api_key.is_some() {
            names.push("api_key");
        }
        let lookup = headers.clone();
        let signing_string = client::signing::signing_string("POST", path, &names, |n| {
            lookup.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())
        })
        .unwrap();
        let signature = client::signing::sign(s.secret.as_bytes(), &signing_string);
        headers.push((
            "authorization".to_owned(),
            client::signing::authorization_header(s.username, &names, &signature),
        ));
        Self {
            method: "POST".to_owned(),
            path: path.to_owned(),
            body: body.to_vec(),
            headers,
        }
    }

    /// Replaces (or with `None` removes) a header.
    #[must_use]
    pub fn header(mut self, name: &str, value: Option<&str>) -> Self {
        self.headers.retain(|(k, _)| k != name);
        if let Some(v) = value {
            self.headers.push((name.to_owned(), v.to_owned()));
        }
        self
    }

    /// Sends it; returns status, headers and body.
    pub async fn send(&self, app: &TestApp) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let http = reqwest::Client::new();
        let method = reqwest::Method::from_bytes(self.method.as_bytes()).unwrap();
        let mut req = http
            .request(method, format!("{}{}", app.base_url, self.path))
            .body(self.body.clone());
        for (k, v) in &self.headers {
            if k != "content-length" {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.unwrap().to_vec();
        (status, headers, body)
    }
}

impl TestApp {
    /// The first column of the first row of `sql`, as an integer.
    pub async fn count(&self, sql: &str) -> i64 {
        self.store.count_raw(sql).await.unwrap()
    }
}

#[cfg(test)]
mod seed_tests {
    use domain::{NewUser, ParseContext, RawNewUser};

    use super::{seed_body, ssn};

    /// What `seed_body` was before it came from `domain::fixtures`, written out.
    fn written_out(n: u32) -> serde_json::Value {
        serde_json::json!({
            "email": format!("jane.doe{n}@example.com"),
            "first_name": "Alex",
            "middle_name": "",
            "last_name": "Rivera",
            "phone_number": "+15555551234",
            "postal_code": "30044",
            "country": "US",
            "state": "TX",
            "city": "Anytown",
            "address_one": "100 Innovation Way",
            "address_two": "Suite 100",
            "username": format!("janedoe{n}"),
            "date_of_birth": "1980-04-20",
            "ssn": format!(
                "{:03}-{:02}-{:04}",
                100 + n % 500,
                10 + (n / 500) % 89,
                1000 + n % 9000
            ),
            "terms_accepted": true,
            "meta_data": [{"name": "external_ref", "value": "customer-001"}]
        })
    }

    #[test]
    fn seed_body_is_the_written_out_seed_and_parses() {
        let today = ParseContext::new(chrono::Utc::now().date_naive());
        for n in (0..1_000).chain([44_500, 800_999]) {
            let body = seed_body(n);
            assert_eq!(body, written_out(n), "seed_body({n}): same keys and values");
            assert_eq!(body["ssn"], ssn(n));
            let raw: RawNewUser = serde_json::from_value(body).unwrap();
            NewUser::parse(&raw, today)
                .unwrap_or_else(|e| panic!("seed_body({n}) no longer parses: {e:?}"));
        }
    }
}
