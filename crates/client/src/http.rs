//! Signed HTTP calls to an Onboard service, with automatic idempotency keys and retries.

use std::fmt;
use std::time::{Duration, SystemTime};

use zeroize::Zeroizing;

use crate::api::{ApiVersion, DEFAULT_ATTEMPTS};
use crate::signing::{self, SignedRequest, SigningError};

/// The headers the client signs on every call, in this order (SPEC §2.1 and §2.2).
/// `x-request-id` carries a fresh random id, so that two identical calls within the same
/// second (X-Date has a one-second resolution) still have distinct signatures and are not
/// refused as replays.
pub const CLIENT_SIGNED: [&str; 7] = [
    "request-line",
    "x-date",
    "content-type",
    "content-sha512",
    "content-length",
    "api_key",
    "x-request-id",
];

/// The headers the client signs on a call carrying an `Idempotency-Key`: [`CLIENT_SIGNED`]
/// and the key, so that nobody on the way can move a signed request to another key.
pub const CLIENT_SIGNED_IDEMPOTENT: [&str; 8] = [
    "request-line",
    "x-date",
    "content-type",
    "content-sha512",
    "content-length",
    "api_key",
    "x-request-id",
    "idempotency-key",
];

/// The base URL when `ONBOARD_URL` is not set.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// Whole-request timeout of the underlying HTTP client.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Connect timeout of the underlying HTTP client.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// First retry delay of [`Client::post_idempotent`]; it doubles on each attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Ceiling of the exponential backoff.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Ceiling of a server-sent `Retry-After` that the client is willing to honour.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);

/// What can go wrong calling the service.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// A required environment variable is missing or empty.
    #[error("{0} is not set")]
    MissingEnv(&'static str),
    /// The base URL and path do not make a valid http(s) URL.
    #[error("invalid URL {0:?}")]
    InvalidUrl(String),
    /// The request could not be signed.
    #[error(transparent)]
    Signing(#[from] SigningError),
    /// Transport failure (connect, timeout, I/O, invalid header value).
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
    /// Headers in received order (lowercase names; non-UTF-8 bytes replaced).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of a header (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// Whether the body is an error envelope listing `code` in its `errors`.
    pub fn has_error_code(&self, code: &str) -> bool {
        self.json().is_ok_and(|v| {
            v["errors"]
                .as_array()
                .is_some_and(|errors| errors.iter().any(|e| e["code"] == code))
        })
    }

    /// `Retry-After` in seconds, when present and numeric.
    fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    }
}

/// A client holding one program's credentials. `Debug` hides the API key and the HMAC
/// secret, which are zeroized on drop.
#[derive(Clone)]
pub struct Client {
    base_url: String,
    api_key: Zeroizing<String>,
    username: String,
    secret: Zeroizing<String>,
    http: reqwest::Client,
    version: ApiVersion,
    max_attempts: u32,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("api_key", &"[redacted]")
            .field("username", &self.username)
            .field("secret", &"[redacted]")
            .field("version", &self.version)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client for `base_url` (e.g. `http://127.0.0.1:8080`, optionally with a path prefix).
    pub fn new(base_url: &str, api_key: &str, hmac_username: &str, hmac_secret: &str) -> Self {
        // No redirects: a redirect would re-send the API key and the body to wherever the
        // answer points; a 3xx is returned as it is.
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .tls_backend_preconfigured(tls_config())
            .build()
            // Building without TLS or proxies cannot fail in practice; fall back to defaults.
            .unwrap_or_default();
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            api_key: Zeroizing::new(api_key.to_owned()),
            username: hmac_username.to_owned(),
            secret: Zeroizing::new(hmac_secret.to_owned()),
            http,
            version: ApiVersion::default(),
            max_attempts: DEFAULT_ATTEMPTS,
        }
    }

    /// The same client, with typed calls under `version` (default `/api/v3`).
    #[must_use]
    pub fn with_version(mut self, version: ApiVersion) -> Self {
        self.version = version;
        self
    }

    /// The same client, with typed calls making at most `attempts` attempts (at least one;
    /// default [`DEFAULT_ATTEMPTS`]).
    #[must_use]
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The API version of typed calls.
    pub fn version(&self) -> ApiVersion {
        self.version
    }

    /// The attempts of a typed call.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// From `ONBOARD_URL` (default `http://127.0.0.1:8080`), `ONBOARD_API_KEY`,
    /// `ONBOARD_HMAC_USERNAME` and `ONBOARD_HMAC_SECRET`.
    pub fn from_env() -> Result<Self, ClientError> {
        fn var(name: &'static str) -> Option<Zeroizing<String>> {
            std::env::var(name)
                .ok()
                .map(Zeroizing::new)
                .filter(|v| !v.is_empty())
        }
        let required = |name: &'static str| var(name).ok_or(ClientError::MissingEnv(name));
        let url = var("ONBOARD_URL");
        Ok(Self::new(
            url.as_ref().map_or(DEFAULT_URL, |u| u.as_str()),
            &required("ONBOARD_API_KEY")?,
            &required("ONBOARD_HMAC_USERNAME")?,
            &required("ONBOARD_HMAC_SECRET")?,
        ))
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// A signed POST of `body` to `path` (e.g. `/api/v3/user/create`, may carry a query),
    /// with an optional `Idempotency-Key`. Each call signs afresh with the current time.
    /// Any status is a `Response`; only transport and signing failures are errors.
    ///
    /// Every call signs a fresh `x-request-id`, so identical calls within one second (the
    /// resolution of `X-Date`) are distinct requests, not replays.
    pub async fn post(
        &self,
        path: &str,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<Response, ClientError> {
        self.send(path, body, idempotency_key, SystemTime::now())
            .await
    }

    async fn send(
        &self,
        path: &str,
        body: &[u8],
        idempotency_key: Option<&str>,
        date: SystemTime,
    ) -> Result<Response, ClientError> {
        let separator = if path.starts_with('/') { "" } else { "/" };
        let raw = format!("{}{separator}{path}", self.base_url);
        let url = reqwest::Url::parse(&raw)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or(ClientError::InvalidUrl(raw))?;
        // Sign the request target exactly as it goes on the wire (after URL normalisation,
        // and including any path prefix of the base URL).
        let mut target = url.path().to_owned();
        if let Some(query) = url.query() {
            target.push('?');
            target.push_str(query);
        }
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut signed = SignedRequest::new(
            "POST",
            &target,
            body,
            &self.username,
            self.secret.as_bytes(),
            date,
        )
        .header("api_key", &self.api_key)
        .header("x-request-id", &request_id);
        signed = match idempotency_key {
            Some(key) => signed
                .signed_headers(&CLIENT_SIGNED_IDEMPOTENT)
                .header("idempotency-key", key),
            None => signed.signed_headers(&CLIENT_SIGNED),
        };
        let headers = signed.build()?;

        let mut req = self.http.post(url).body(body.to_vec());
        // Content-Length goes too: the transport would omit it for an empty body, yet it is
        // signed; for other bodies the transport keeps the (identical) value given here.
        for (name, value) in headers.as_slice() {
            req = req.header(name.as_str(), value.as_str());
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
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

    /// A signed POST of a JSON value (no idempotency key).
    pub async fn post_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<Response, ClientError> {
        self.post(path, &serde_json::to_vec(body)?, None).await
    }

    /// A signed POST with one generated `Idempotency-Key` (UUIDv4), retried with the same
    /// key on transport errors, 409 `idempotency_in_progress`, 429 and 5xx, up to
    /// `max_attempts` attempts in all (at least one). The delay starts at 100 ms and doubles
    /// up to 2 s; a `Retry-After` is honoured up to 5 s. Every attempt is signed afresh with
    /// an `X-Date` of its own second (waiting for the next second if needed), so that the
    /// replay guard never refuses a retry. The last response or error is returned.
    pub async fn post_idempotent(
        &self,
        path: &str,
        body: &[u8],
        max_attempts: u32,
    ) -> Result<Response, ClientError> {
        let key = uuid::Uuid::new_v4().to_string();
        self.retrying(path, body, Some(&key), max_attempts).await
    }

    /// A signed POST without an idempotency key, retried like [`Client::post_idempotent`].
    /// Only for calls that change nothing (reads): a retried change could apply twice.
    pub async fn post_retrying(
        &self,
        path: &str,
        body: &[u8],
        max_attempts: u32,
    ) -> Result<Response, ClientError> {
        self.retrying(path, body, None, max_attempts).await
    }

    async fn retrying(
        &self,
        path: &str,
        body: &[u8],
        key: Option<&str>,
        max_attempts: u32,
    ) -> Result<Response, ClientError> {
        let mut attempt = 1;
        let mut date = SystemTime::now();
        loop {
            let result = self.send(path, body, key, date).await;
            match retry_delay(&result, attempt) {
                Some(delay) if attempt < max_attempts => {
                    tokio::time::sleep(delay).await;
                    date = next_second_date(date).await;
                    attempt += 1;
                }
                _ => return result,
            }
        }
    }
}

/// The current time, once its `X-Date` differs from that of `previous` (the signature of a
/// retry must differ from the one already sent, and the body and headers are the same).
async fn next_second_date(previous: SystemTime) -> SystemTime {
    let sent = signing::x_date(previous);
    loop {
        let now = SystemTime::now();
        if signing::x_date(now) != sent {
            return now;
        }
        let into_second = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(Duration::ZERO, |d| {
                Duration::from_nanos(u64::from(d.subsec_nanos()))
            });
        let rest = Duration::from_secs(1).saturating_sub(into_second);
        tokio::time::sleep(rest + Duration::from_millis(5)).await;
    }
}

/// How long to wait before retrying after `result` (the `attempt`-th, from 1), or `None`
/// when it must not be retried.
fn retry_delay(result: &Result<Response, ClientError>, attempt: u32) -> Option<Duration> {
    let backoff = FIRST_BACKOFF
        .saturating_mul(1 << attempt.saturating_sub(1).min(8))
        .min(MAX_BACKOFF);
    match result {
        // An unsendable request (bad header value) will not get better.
        Err(ClientError::Transport(e)) if !e.is_builder() => Some(backoff),
        Ok(r) if r.status == 429 || (500..600).contains(&r.status) => Some(
            r.retry_after()
                .map_or(backoff, |after| after.min(MAX_RETRY_AFTER).max(backoff)),
        ),
        Ok(r) if r.status == 409 && r.has_error_code("idempotency_in_progress") => Some(backoff),
        // Signing and URL errors, final answers.
        _ => None,
    }
}

/// The TLS configuration of every client this workspace builds: rustls with the ring
/// provider and the Mozilla root certificates (`webpki-roots`), HTTP/1.1. Configured here,
/// so that no client depends on a process-wide crypto provider.
pub fn tls_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let mut config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_or_else(
        // Unreachable: the ring provider supports the default protocol versions.
        |_| {
            rustls::ClientConfig::builder()
                .with_root_certificates(roots.clone())
                .with_no_client_auth()
        },
        |b| {
            b.with_root_certificates(roots.clone())
                .with_no_client_auth()
        },
    );
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn retries_only_transient_answers() {
        let in_progress = r#"{"status":"error","message":"m","errors":[{"code":"idempotency_in_progress","message":"x"}]}"#;
        let duplicate = r#"{"status":"error","message":"m","errors":[{"field":"email","code":"duplicate","message":"x"}]}"#;
        assert!(retry_delay(&Ok(response(409, &[], in_progress)), 1).is_some());
        assert!(retry_delay(&Ok(response(409, &[], duplicate)), 1).is_none());
        assert!(retry_delay(&Ok(response(429, &[], "{}")), 1).is_some());
        assert!(retry_delay(&Ok(response(500, &[], "")), 1).is_some());
        assert!(retry_delay(&Ok(response(503, &[], "")), 1).is_some());
        for status in [200, 400, 401, 404, 413, 415, 422] {
            assert!(
                retry_delay(&Ok(response(status, &[], "{}")), 1).is_none(),
                "{status}"
            );
        }
        let signing = Err(ClientError::Signing(SigningError::Malformed));
        assert!(retry_delay(&signing, 1).is_none());
    }

    #[test]
    fn backoff_doubles_is_capped_and_honours_retry_after() {
        let delay = |attempt| retry_delay(&Ok(response(500, &[], "")), attempt);
        assert_eq!(delay(1), Some(Duration::from_millis(100)));
        assert_eq!(delay(2), Some(Duration::from_millis(200)));
        assert_eq!(delay(3), Some(Duration::from_millis(400)));
        assert_eq!(delay(40), Some(MAX_BACKOFF));
        let limited =
            |after: &str| retry_delay(&Ok(response(429, &[("Retry-After", after)], "")), 1);
        assert_eq!(limited("2"), Some(Duration::from_secs(2)));
        assert_eq!(limited("3600"), Some(MAX_RETRY_AFTER));
        assert_eq!(limited("soon"), Some(FIRST_BACKOFF));
    }

    #[test]
    fn debug_hides_the_credentials() {
        let c = Client::new("http://h/", "APIKEY123", "user", "TOPSECRET");
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("APIKEY123") && !shown.contains("TOPSECRET"),
            "{shown}"
        );
        assert_eq!(c.base_url(), "http://h");
    }
}
