//! Signed HTTP calls to an Onboard service.

use std::fmt;
use std::time::{Duration, SystemTime};

use crate::signing;

/// What can go wrong calling the service.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A required environment variable is missing.
    #[error("{0} is not set")]
    MissingEnv(&'static str),
    /// The request could not be signed.
    #[error(transparent)]
    Signing(#[from] signing::SigningError),
    /// Transport failure.
    #[error("request failed: {0}")]
    Transport(#[from] reqwest::Error),
    /// The body could not be serialised.
    #[error("body: {0}")]
    Json(#[from] serde_json::Error),
}

/// A response: status, headers and body bytes.
#[derive(Clone, Debug)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers (lowercase names).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A client holding one program's credentials.
#[derive(Clone)]
pub struct Client {
    base_url: String,
    api_key: String,
    username: String,
    secret: String,
    http: reqwest::Client,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("api_key", &"[redacted]")
            .field("secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

/// The headers signed by the client: the defaults and the api_key.
const SIGNED: [&str; 6] = [
    "request-line",
    "x-date",
    "content-type",
    "content-sha512",
    "content-length",
    "api_key",
];

impl Client {
    /// A client for `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: &str, api_key: &str, hmac_username: &str, hmac_secret: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: api_key.to_owned(),
            username: hmac_username.to_owned(),
            secret: hmac_secret.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// From `ONBOARD_URL` (default `http://127.0.0.1:8080`), `ONBOARD_API_KEY`,
    /// `ONBOARD_HMAC_USERNAME` and `ONBOARD_HMAC_SECRET`.
    pub fn from_env() -> Result<Self, ClientError> {
        let var =
            |name: &'static str| std::env::var(name).map_err(|_| ClientError::MissingEnv(name));
        let url =
            std::env::var("ONBOARD_URL").unwrap_or_else(|_| "http://127.0.0.1:8080".to_owned());
        Ok(Self::new(
            &url,
            &var("ONBOARD_API_KEY")?,
            &var("ONBOARD_HMAC_USERNAME")?,
            &var("ONBOARD_HMAC_SECRET")?,
        ))
    }

    /// A signed POST of `body` to `path`, with an optional `Idempotency-Key`.
    pub async fn post(
        &self,
        path: &str,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<Response, ClientError> {
        let body_for_signing: &[u8] = body;
        let signed: &[&str] = if body.is_empty() {
            &["request-line", "x-date", "api_key"]
        } else {
            &SIGNED
        };
        let headers = signing::signed_headers(&signing::RequestToSign {
            method: "POST",
            path_and_query: path,
            body: body_for_signing,
            username: &self.username,
            secret: self.secret.as_bytes(),
            date: SystemTime::now(),
            signed,
            extra: &[("api_key", &self.api_key)],
        })?;
        let mut req = self
            .http
            .post(format!("{}{path}", self.base_url))
            .body(body.to_vec());
        for (k, v) in &headers {
            if k != "content-length" {
                req = req.header(k.as_str(), v.as_str());
            }
        }
        if let Some(key) = idempotency_key {
            req = req.header("idempotency-key", key);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    v.to_str().unwrap_or_default().to_owned(),
                )
            })
            .collect();
        let body = resp.bytes().await?.to_vec();
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    /// A signed POST of a JSON value.
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Response, ClientError> {
        self.post(path, &serde_json::to_vec(body)?, None).await
    }

    /// A signed POST with one generated `Idempotency-Key`, retried (same key) on transport
    /// errors, 409 `idempotency_in_progress`, 429 and 5xx, up to `max_attempts`.
    pub async fn post_idempotent(
        &self,
        path: &str,
        body: &[u8],
        max_attempts: u32,
    ) -> Result<Response, ClientError> {
        let key = uuid::Uuid::new_v4().to_string();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let result = self.post(path, body, Some(&key)).await;
            let retry = match &result {
                Err(ClientError::Transport(_)) => true,
                Ok(r) => {
                    r.status == 429
                        || r.status >= 500
                        || (r.status == 409
                            && String::from_utf8_lossy(&r.body).contains("idempotency_in_progress"))
                }
                Err(_) => false,
            };
            if !retry || attempt >= max_attempts.max(1) {
                return result;
            }
            tokio_sleep(Duration::from_millis(100 * u64::from(attempt))).await;
        }
    }
}

async fn tokio_sleep(d: Duration) {
    // reqwest runs on tokio, so a tokio timer is available wherever this client is used.
    tokio::time::sleep(d).await;
}
