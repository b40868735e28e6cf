//! The operator console in tests: a console server beside a [`crate::TestApp`] (its own
//! listener, on the app's store), operators created with a known password and TOTP secret,
//! and a tiny cookie-keeping HTTP client that posts forms like a browser without JavaScript.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::sync::Arc;

use api::clock::Clock;
use api::console::{Console, totp};
use domain::{OperatorId, OperatorRole};
use storage::console::{Operator, SessionPolicy};
use storage::{OperatorAction, SecretString, SqlStore};

/// A running console.
#[allow(missing_debug_implementations)]
pub struct TestConsole {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Its clock (TOTP codes are computed at its time).
    pub clock: Arc<crate::OffsetClock>,
    handle: actix_web::dev::ServerHandle,
}

impl TestConsole {
    /// Starts a console on `store` (cookies without `Secure` when `insecure`), operators
    /// deciding KYB cases (the `manual` verifier).
    pub fn start(store: &SqlStore, insecure: bool) -> Self {
        Self::start_with(store, insecure, true)
    }

    /// [`Self::start`], with the `manual` verifier configured or not.
    pub fn start_with(store: &SqlStore, insecure: bool, manual_verifier: bool) -> Self {
        let clock = Arc::new(crate::OffsetClock::default());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let console = Console::new(
            store.clone(),
            clock.clone(),
            SessionPolicy::default(),
            insecure,
        )
        .with_manual_verifier(manual_verifier);
        let server = api::console::run(listener, console).unwrap();
        let handle = server.handle();
        tokio::spawn(server);
        Self {
            base_url: format!("http://127.0.0.1:{port}"),
            clock,
            handle,
        }
    }

    /// A fresh TOTP code at the console's time, one step after the last one given (a code is
    /// accepted once, so each login moves the clock to the next step).
    pub fn next_code(&self, secret: &[u8]) -> String {
        self.clock.advance(chrono::Duration::seconds(30));
        let unix = u64::try_from(self.clock.now().timestamp()).unwrap();
        totp::code_at(secret, unix).unwrap()
    }

    /// Stops the console.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// An operator with its credentials.
#[derive(Debug)]
pub struct TestOperator {
    /// The operator.
    pub operator: Operator,
    /// Its password.
    pub password: String,
    /// Its TOTP secret.
    pub secret: Vec<u8>,
}

/// Creates an operator `email` with `role`.
pub async fn operator(store: &SqlStore, email: &str, role: OperatorRole) -> TestOperator {
    let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
    let secret: Vec<u8> = uuid::Uuid::new_v4()
        .as_bytes()
        .iter()
        .chain(b"totp")
        .copied()
        .collect();
    let operator = store
        .create_operator(
            &storage::console::NewOperator {
                id: OperatorId::from_uuid(uuid::Uuid::now_v7()),
                email: &domain::Email::parse(email).unwrap(),
                role,
            },
            &SecretString::new(password.clone()),
            &secret,
            chrono::Utc::now(),
            &OperatorAction::new("test", "operator create"),
        )
        .await
        .unwrap();
    TestOperator {
        operator,
        password,
        secret,
    }
}

/// An answer: status, headers (lowercase names; `set-cookie` joined by newlines) and body.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: BTreeMap<String, String>,
    /// Body text.
    pub body: String,
}

impl Answer {
    /// The `Location` of a redirect.
    pub fn location(&self) -> &str {
        self.headers.get("location").map_or("", String::as_str)
    }

    /// The text of the element with `id="…"` (no markup inside it).
    pub fn text_of(&self, id: &str) -> String {
        let marker = format!("id=\"{id}\">");
        let start = self.body.find(&marker).expect("the element") + marker.len();
        let end = self.body[start..].find('<').unwrap() + start;
        self.body[start..end].to_owned()
    }

    /// The first CSRF token in the page's forms.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start = self.body.find(marker).expect("a form with a CSRF token") + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        self.body[start..end].to_owned()
    }
}

/// A browser without JavaScript: keeps cookies, follows no redirect.
#[allow(missing_debug_implementations)]
pub struct Browser {
    base: String,
    http: reqwest::Client,
    /// The cookies it holds.
    pub cookies: BTreeMap<String, String>,
}

impl Browser {
    /// A browser pointed at `base`.
    pub fn new(base: &str) -> Self {
        crate::capture_logs();
        Self {
            base: base.to_owned(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Answer {
        let status = resp.status().as_u16();
        let mut headers = BTreeMap::new();
        for (name, value) in resp.headers() {
            let value = value.to_str().unwrap_or_default().to_owned();
            if name.as_str() == "set-cookie" {
                let pair = value.split(';').next().unwrap_or_default();
                if let Some((k, v)) = pair.split_once('=') {
                    if v.is_empty() {
                        self.cookies.remove(k);
                    } else {
                        self.cookies.insert(k.to_owned(), v.to_owned());
                    }
                }
            }
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|old: &mut String| {
                    old.push('\n');
                    old.push_str(&value);
                })
                .or_insert(value);
        }
        let body = resp.text().await.unwrap_or_default();
        Answer {
            status,
            headers,
            body,
        }
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Answer {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        self.finish(resp).await
    }

    /// `POST path` with a urlencoded form.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Answer {
        let body: String = url_encode(fields);
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        self.finish(resp).await
    }

    /// Logs in as `op` with a fresh code from `console`; answers the login's answer.
    pub async fn log_in(&mut self, console: &TestConsole, op: &TestOperator) -> Answer {
        let form = self.get("/console/login").await;
        let csrf = form.csrf();
        let code = console.next_code(&op.secret);
        self.post(
            "/console/login",
            &[
                ("email", &op.operator.email),
                ("password", &op.password),
                ("totp", &code),
                ("csrf", &csrf),
            ],
        )
        .await
    }
}

fn url_encode(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| {
            let enc = |s: &str| -> String {
                s.bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                            (b as char).to_string()
                        }
                        b' ' => "+".to_owned(),
                        _ => format!("%{b:02X}"),
                    })
                    .collect()
            };
            format!("{}={}", enc(k), enc(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}
