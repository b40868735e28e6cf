//! The one front half of every `/api` request, in order: the key check (503 while the keys do
//! not match the database), body limit (413), authentication (401; 429 once the client's
//! address has used up its budget of failures), the program's rate limit (429, before anything
//! is written), media type (415), a JSON object (400), and for changes the `Idempotency-Key`
//! (422), its claim, and the replay guard. Then the handler's work, then what follows from its result (the key completed or
//! released, the signature recorded). A handler is only its work:
//!
//! ```text
//! serve(&state, &req, payload, Policy::Changes, async |mut call, mut fields| {
//!     let new = fields.finish_with(NewX::parse(&raw_x(&mut fields)))?;
//!     let x = written(state.store.create_x(call.program, &new, call.along(render_x)).await?)?;
//!     render_x(&x).map_err(ApiError::render)
//! })
//! ```
//!
//! The replay guard's record of a change without `Idempotency-Key` is not written here but
//! handed to the work ([`Call::along`]), which writes it in the change's own transaction (one
//! commit instead of two); when the work fails it is written afterwards, so that the request
//! cannot be replayed either way (SPEC §2.1). With a key, the key is claimed first — a retry
//! whose key already has the same request's record gets that record's answer, even with the
//! same signature — and the signature recorded right after (seen before: 401, the key
//! released). Reads write nothing, unless `replay_guard = "all"`: then it is recorded at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::web;
use actix_web::{HttpRequest, HttpResponse, ResponseError as _};
use domain::ProgramId;
use futures_util::StreamExt as _;
use storage::{Along, Completion, Outcome, Render, SecretString, Signature};
use zeroize::Zeroizing;

use crate::body::Fields;
use crate::client_addr;
use crate::error::{ApiError, AuthFailure, ErrorItem};
use crate::idempotency::{self, Claimed};
use crate::state::AppState;
use crate::views;

/// The longest `X-Request-Id` an event keeps.
const MAX_REQUEST_ID: usize = 128;

/// What a request may do, which decides the steps it passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Reads: no `Idempotency-Key`; the signature recorded before the work.
    Reads,
    /// Changes: an optional `Idempotency-Key`; the signature recorded with the change.
    Changes,
}

/// An authenticated request, as its handler's work gets it (with its fields, separately).
#[derive(Debug)]
pub struct Call {
    /// The caller's program.
    pub program: ProgramId,
    /// The id of the API key used (for the audit trail).
    pub key_id: String,
    /// The request's `X-Request-Id`, if it sent one (carried by the change's event).
    pub request_id: Option<String>,
    /// The signature's record, when the change is to write it.
    replay: Option<Signature>,
    /// The idempotency key this request holds, if any.
    claim: Option<Claimed>,
    /// Whether the work took what goes along (see [`serve`] when it does not).
    taken: Arc<AtomicBool>,
}

impl Call {
    /// What the change must write in its own transaction: the signature's record and the
    /// completion of the claimed key, whose answer `render` makes from the changed value.
    /// Taken once; a second call gets nothing along.
    pub fn along<T>(&mut self, render: Render<T>) -> Along<T> {
        self.taken.store(true, Ordering::Relaxed);
        Along {
            replay: self.replay.take(),
            idempotency: self.claim.take().map(|c| Completion {
                key: c.key,
                claimed_at: c.at,
                render,
            }),
            origin: storage::Origin {
                actor: Some(self.actor()),
                request_id: self.request_id.clone(),
            },
            screening: None,
        }
    }

    /// The actor of the audit trail: `api_key:<key id>`.
    pub fn actor(&self) -> String {
        format!("api_key:{}", self.key_id)
    }
}

/// The value a change wrote; a replayed signature is 401 `replayed_request`.
pub fn written<T>(outcome: Outcome<T>) -> Result<T, ApiError> {
    outcome
        .written()
        .ok_or(ApiError::Unauthorized(AuthFailure::ReplayedRequest))
}

/// Runs one request through the front half, its `work` (which returns the 200 body), and
/// what follows from the work's result.
pub async fn serve<W>(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    policy: Policy,
    work: W,
) -> Result<HttpResponse, ApiError>
where
    W: AsyncFnOnce(Call, Fields) -> Result<String, ApiError>,
{
    let (call, fields) = match front(state, req, payload, policy).await? {
        Front::Work(call, fields) => (call, fields),
        Front::Answered(stored) => return Ok(stored),
    };
    // The signature's record, if the work is to write it with its change.
    let mut deferred = call.replay.clone();
    let (program, claim, taken) = (call.program, call.claim.clone(), call.taken.clone());
    let result = match work(call, fields).await {
        Ok(body) if !taken.load(Ordering::Relaxed) => {
            // A change that took nothing along (it changed nothing in storage): what goes
            // along is written now, in commits of its own.
            if let Some(replay) = deferred.take() {
                record_replay(state, req, replay).await?;
            }
            if let Some(claim) = &claim {
                let status = StatusCode::OK.as_u16();
                state
                    .store
                    .complete(program, &claim.key, claim.at, status, &body)
                    .await?;
            }
            Ok(body)
        }
        result => result,
    };
    let answer = match claim {
        None => result.map(|body| views::json(StatusCode::OK, body, false)),
        Some(claim) => idempotency::settle(state, program, &claim, result).await,
    };
    match (answer, deferred) {
        (Err(e), Some(replay)) => {
            // The change failed, so its transaction did not write the signature's record
            // either: write it now, so that this request cannot be replayed (SPEC §2.1).
            match record_replay(state, req, replay).await {
                Err(replayed) if !e.status_code().is_server_error() => Err(replayed),
                _ => Err(e),
            }
        }
        (answer, _) => answer,
    }
}

/// Where the front half leaves a request.
enum Front {
    /// On to the work.
    Work(Call, Fields),
    /// Answered already: the stored answer of its `Idempotency-Key`.
    Answered(HttpResponse),
}

/// The steps before the work. A request refused here has its signature recorded, if it was
/// verified (a refused request is not replayable either).
async fn front(
    state: &AppState,
    req: &HttpRequest,
    payload: web::Payload,
    policy: Policy,
) -> Result<Front, ApiError> {
    if state.key_mismatch.is_some() {
        return Err(ApiError::KeysMismatch);
    }
    let now = std::time::Instant::now();
    let body = read_body(req, payload, state.body_limit).await?;
    let mut parsed = Fields::parse(&body);
    let body_key = parsed
        .as_mut()
        .ok()
        .and_then(|f| f.take_raw("api_key"))
        .and_then(|v| match v {
            serde_json::Value::String(key) => Some(SecretString::new(key)),
            _ => None,
        });
    let verified = match state.auth.verify(req, &body, body_key).await {
        Ok(verified) => verified,
        Err(e) => return Err(failed(state, req, e, now)),
    };
    let (program, key_id, replay) = (verified.program, verified.key_id, verified.replay);
    // Every handler's span declares a `program` field.
    tracing::Span::current().record("program", tracing::field::display(program));
    // Before anything is written: a throttled program costs no database write.
    state
        .limits
        .programs
        .take(&program, now)
        .map_err(|retry_after| ApiError::RateLimited { retry_after })?;
    // Reads write nothing unless `replay_guard = "all"` (SPEC §2.1).
    let mut replay = match policy {
        Policy::Reads if state.replay_reads => {
            record_replay(state, req, replay).await?;
            None
        }
        Policy::Reads => None,
        Policy::Changes => Some(replay),
    };
    let checked = (|| {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<mime::Mime>().ok())
            .is_some_and(|m| m.essence_str() == ContentType::json().0.essence_str());
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let fields = parsed?;
        let key = match policy {
            Policy::Reads => None,
            Policy::Changes => idempotency::key(req)?,
        };
        Ok((fields, key))
    })();
    let (fields, key) = match checked {
        Ok(checked) => checked,
        Err(e) => {
            // A refused change is not replayable either.
            if let Some(replay) = replay {
                record_replay(state, req, replay).await?;
            }
            return Err(e);
        }
    };
    let claim = match key {
        None => None,
        Some(key) => {
            let digest = idempotency::digest(state, program, req.path(), &fields.canonical()?);
            // The key first: a retry of a request whose key has a record gets its answer,
            // even when it repeats the signature (SPEC §2.1) …
            let claimed = match idempotency::claim(state, program, key, &digest).await? {
                idempotency::Claim::Held(claimed) => claimed,
                idempotency::Claim::Answered(stored) => return Ok(Front::Answered(stored)),
            };
            // … then the signature: seen before with another key, it is a replay.
            if let Some(replay) = replay.take()
                && let Err(replayed) = record_replay(state, req, replay).await
            {
                idempotency::release(state, program, &claimed).await;
                return Err(replayed);
            }
            Some(claimed)
        }
    };
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(MAX_REQUEST_ID).collect());
    let call = Call {
        program,
        key_id,
        request_id,
        replay,
        claim,
        taken: Arc::new(AtomicBool::new(false)),
    };
    Ok(Front::Work(call, fields))
}

/// An authentication failure: 401, or 429 once the client's address has used up its budget
/// of failures. Only failures count: a request that verifies is never refused here, so a
/// client cannot lock others out by failing from their address.
fn failed(state: &AppState, req: &HttpRequest, e: ApiError, now: std::time::Instant) -> ApiError {
    let client = state
        .trusted_proxies
        .client(req)
        .map(client_addr::limiter_key);
    match (&e, client) {
        (ApiError::Unauthorized(_), Some(ip)) => match state.limits.auth_failures.take(&ip, now) {
            Ok(()) => e,
            Err(retry_after) => ApiError::RateLimited { retry_after },
        },
        _ => e,
    }
}

/// Records a verified request's signature (401 `replayed_request`, counted as an
/// authentication failure of the client's address, if it was already recorded).
async fn record_replay(
    state: &AppState,
    req: &HttpRequest,
    replay: Signature,
) -> Result<(), ApiError> {
    let result = state.auth.record(replay).await;
    if let (Err(ApiError::Unauthorized(_)), Some(ip)) = (
        &result,
        state
            .trusted_proxies
            .client(req)
            .map(client_addr::limiter_key),
    ) {
        let _ = state
            .limits
            .auth_failures
            .take(&ip, std::time::Instant::now());
    }
    result
}

/// Reads the body, refusing more than `limit` bytes (413) before reading them all. The copy is
/// wiped from memory when dropped (it may hold an SSN, an EIN, an API key).
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut body = Zeroizing::new(Vec::with_capacity(declared.unwrap_or(1024).min(limit)));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => ApiError::PayloadTooLarge(limit),
            other => ApiError::BadRequest(vec![ErrorItem::general(
                "malformed_body",
                format!("the body could not be read: {other}"),
            )]),
        })?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        if body.len() + chunk.len() > body.capacity() {
            // Grow by hand, so that the smaller buffer is wiped, not left behind.
            let mut bigger = Zeroizing::new(Vec::with_capacity(
                (body.capacity() * 2)
                    .max(body.len() + chunk.len())
                    .min(limit),
            ));
            bigger.extend_from_slice(&body);
            body = bigger;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}
