//! Request authentication (SPEC §2): HMAC-SHA512 signature, program API key, replay guard.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use client::signing::{self, Authorization};
use domain::ProgramId;
use sha2::{Digest as _, Sha256};
use storage::{Repositories, SecretString, Signature};
use subtle::ConstantTimeEq as _;

use crate::clock::Clock;
use crate::error::{ApiError, AuthFailure, InternalCause};

/// Largest accepted distance between X-Date and the server clock.
pub const MAX_SKEW: Duration = Duration::from_secs(300);
/// How much longer than the skew window a signature is remembered: the clocks of several
/// instances drift apart, and one whose clock is behind must still find the record.
pub const REPLAY_MARGIN: Duration = Duration::from_secs(60);
/// Entries kept per cache before it is emptied (bounds memory under key-spraying).
const CACHE_CAPACITY: usize = 10_000;

struct CachedKey {
    program: ProgramId,
    key_id: String,
    checked: Instant,
}

struct CachedCredential {
    program: ProgramId,
    secret: SecretString,
    fetched: Instant,
}

/// Verifies requests. API keys verified once by argon2id are remembered (by their SHA-256)
/// for `ttl`; after that their revocation status is re-read from the database without
/// argon2, so a revoked key stops working within `ttl`.
pub struct Authenticator {
    store: Arc<dyn Repositories>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    keys: RwLock<HashMap<[u8; 32], CachedKey>>,
    credentials: RwLock<HashMap<String, CachedCredential>>,
    /// One argon2id verification at a time: each takes ~19 MiB and ~50 ms of a core, and a
    /// burst of requests with a key not yet cached (every connection of a client at once,
    /// after a restart) would otherwise run one each, in parallel. Requests that waited
    /// look in the cache again first, so such a burst costs one verification.
    verifying: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

/// A request whose signature and API key are valid, not yet recorded by the replay guard.
#[derive(Debug)]
#[must_use = "a verified request's signature must be recorded by the replay guard"]
pub struct Verified {
    /// The caller's program.
    pub program: ProgramId,
    /// The id of the API key used.
    pub key_id: String,
    /// What the replay guard must record: the signature's digest (SHA-256, hex), kept for
    /// the skew window past the later of X-Date and now.
    pub replay: Signature,
}

fn fail(f: AuthFailure) -> ApiError {
    ApiError::Unauthorized(f)
}

/// A header's value as received (several values joined by `, `).
fn header_value(req: &HttpRequest, name: &str) -> Option<String> {
    let mut values = req.headers().get_all(name).peekable();
    values.peek()?;
    let parts: Option<Vec<&str>> = values.map(|v| v.to_str().ok()).collect();
    parts.map(|p| p.join(", "))
}

impl Authenticator {
    /// An authenticator over `store`, remembering verified keys for `ttl`.
    pub fn new(store: Arc<dyn Repositories>, clock: Arc<dyn Clock>, ttl: Duration) -> Self {
        Self {
            store,
            clock,
            ttl,
            keys: RwLock::new(HashMap::new()),
            credentials: RwLock::new(HashMap::new()),
            verifying: tokio::sync::Semaphore::new(1),
        }
    }

    /// Records a verified request's signature; 401 `replayed_request` if it was already
    /// recorded.
    pub async fn record(&self, replay: Signature) -> Result<(), ApiError> {
        if self.store.first_use(replay).await? {
            Ok(())
        } else {
            Err(fail(AuthFailure::ReplayedRequest))
        }
    }

    /// Everything about a request's credentials except the replay guard: the returned
    /// [`Signature`] must then be recorded, by [`Authenticator::record`] or in the transaction
    /// of the work the request asks for (`storage::Along`), before the request has any effect.
    pub async fn verify(
        &self,
        req: &HttpRequest,
        body: &[u8],
        body_api_key: Option<SecretString>,
    ) -> Result<Verified, ApiError> {
        let header = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .ok_or(fail(AuthFailure::MissingSignature))?;
        let header = header
            .to_str()
            .map_err(|_| fail(AuthFailure::MalformedSignature))?;
        let auth =
            Authorization::parse(header).map_err(|_| fail(AuthFailure::MalformedSignature))?;
        if !auth.algorithm.eq_ignore_ascii_case("hmac-sha512") {
            return Err(fail(AuthFailure::UnsupportedAlgorithm));
        }
        let names: Vec<String> = auth
            .headers
            .iter()
            .map(|h| h.to_ascii_lowercase())
            .collect();
        let signed = |n: &str| names.iter().any(|h| h == n);
        if !signed("request-line")
            || !signed("x-date")
            || (!body.is_empty() && !signed("content-sha512"))
        {
            return Err(fail(AuthFailure::MissingSignedHeader));
        }

        let x_date = header_value(req, "x-date").ok_or(fail(AuthFailure::MissingSignedHeader))?;
        let sent = signing::parse_x_date(&x_date).ok_or(fail(AuthFailure::MalformedSignature))?;
        let now = self.clock.now();
        let sent: chrono::DateTime<chrono::Utc> = sent.into();
        let skew = (now - sent).abs();
        if skew > chrono::Duration::from_std(MAX_SKEW).unwrap_or(chrono::Duration::MAX) {
            return Err(fail(AuthFailure::StaleDate));
        }

        if signed("content-sha512") {
            let claimed = header_value(req, "content-sha512")
                .ok_or(fail(AuthFailure::MissingSignedHeader))?;
            let actual = signing::content_sha512(body);
            if !bool::from(claimed.as_bytes().ct_eq(actual.as_bytes())) {
                return Err(fail(AuthFailure::DigestMismatch));
            }
        }

        let path = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.uri().path(), |p| p.as_str());
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let signing_string =
            signing::signing_string(req.method().as_str(), path, &name_refs, |n| {
                header_value(req, n)
            })
            .map_err(|_| fail(AuthFailure::MissingSignedHeader))?;

        let (program, secret) = self.credential(&auth.username).await?;
        if !signing::verify(secret.expose().as_bytes(), &signing_string, &auth.signature) {
            return Err(fail(AuthFailure::SignatureMismatch));
        }

        let api_key = match header_value(req, "api_key") {
            Some(k) => SecretString::new(k),
            None => body_api_key.ok_or(fail(AuthFailure::MissingApiKey))?,
        };
        let (key_program, key_id) = self.api_key_program(&api_key).await?;
        if key_program != program {
            return Err(fail(AuthFailure::InvalidApiKey));
        }

        let digest = hex(&Sha256::digest(auth.signature.as_bytes()));
        let keep_until = sent.max(now)
            + chrono::Duration::from_std(MAX_SKEW + REPLAY_MARGIN).unwrap_or_default();
        Ok(Verified {
            program,
            key_id,
            replay: Signature::new(program, digest, keep_until),
        })
    }

    async fn credential(&self, username: &str) -> Result<(ProgramId, SecretString), ApiError> {
        if let Ok(cache) = self.credentials.read()
            && let Some(c) = cache
                .get(username)
                .filter(|c| c.fetched.elapsed() < self.ttl)
        {
            return Ok((c.program, c.secret.clone()));
        }
        if username.len() > 64 {
            return Err(fail(AuthFailure::UnknownCredentials));
        }
        let cred = self
            .store
            .hmac_credential(username)
            .await?
            .ok_or(fail(AuthFailure::UnknownCredentials))?;
        if let Ok(mut cache) = self.credentials.write() {
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(
                username.to_owned(),
                CachedCredential {
                    program: cred.program_id,
                    secret: cred.secret.clone(),
                    fetched: Instant::now(),
                },
            );
        }
        Ok((cred.program_id, cred.secret))
    }

    /// The program and key id of a presented API key.
    async fn api_key_program(&self, key: &SecretString) -> Result<(ProgramId, String), ApiError> {
        let fingerprint: [u8; 32] = Sha256::digest(key.expose().as_bytes()).into();
        let cached = self.keys.read().ok().and_then(|cache| {
            cache
                .get(&fingerprint)
                .map(|c| (c.program, c.key_id.clone(), c.checked.elapsed() < self.ttl))
        });
        match cached {
            Some((program, key_id, true)) => return Ok((program, key_id)),
            Some((program, key_id, false)) => {
                // Stale: re-read revocation without argon2.
                if self.store.api_key_active(&key_id).await? {
                    if let Ok(mut cache) = self.keys.write()
                        && let Some(c) = cache.get_mut(&fingerprint)
                    {
                        c.checked = Instant::now();
                    }
                    return Ok((program, key_id));
                }
                if let Ok(mut cache) = self.keys.write() {
                    cache.remove(&fingerprint);
                }
                return Err(fail(AuthFailure::InvalidApiKey));
            }
            None => {}
        }
        let _permit = self
            .verifying
            .acquire()
            .await
            .map_err(|_| ApiError::Internal(InternalCause::VerifierClosed))?;
        let verified_meanwhile = self.keys.read().ok().and_then(|cache| {
            cache
                .get(&fingerprint)
                .filter(|c| c.checked.elapsed() < self.ttl)
                .map(|c| (c.program, c.key_id.clone()))
        });
        if let Some(found) = verified_meanwhile {
            return Ok(found);
        }
        let verified = self
            .store
            .verify_api_key(key.expose())
            .await?
            .ok_or(fail(AuthFailure::InvalidApiKey))?;
        if let Ok(mut cache) = self.keys.write() {
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(
                fingerprint,
                CachedKey {
                    program: verified.program_id,
                    key_id: verified.key_id.clone(),
                    checked: Instant::now(),
                },
            );
        }
        Ok((verified.program_id, verified.key_id))
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
