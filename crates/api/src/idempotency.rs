//! `Idempotency-Key` (SPEC §3.1): the first response of a key is stored and replayed
//! byte-identical; a reused key with another body is 422; a repeat in flight is 409.
//!
//! The claim is committed before the work so that a concurrent repeat sees it; the success
//! response is written in the SAME transaction as the work (`storage::Along`), so a crash
//! leaves either both or neither. Client errors (4xx) are recorded too; a 5xx frees the key
//! so that the retry can do the work. Used by the pipeline only (`pipeline.rs`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError as _};
use chrono::Duration;
use domain::ProgramId;

use crate::error::{ApiError, ErrorItem};
use crate::state::AppState;
use crate::views::json;

/// The header.
pub const HEADER: &str = "idempotency-key";
/// How long a key is remembered.
pub const RETENTION: Duration = Duration::hours(24);
/// How long an in-progress claim is honoured before another request may take it over.
pub const LEASE: Duration = Duration::seconds(60);

/// The key of a request, validated (1–255 printable ASCII characters).
pub fn key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(HEADER) else {
        return Ok(None);
    };
    let text = value.to_str().ok().filter(|text| {
        (1..=255).contains(&text.len()) && text.bytes().all(|b| (0x20..=0x7e).contains(&b))
    });
    match text {
        Some(text) => Ok(Some(text.to_owned())),
        None => Err(ApiError::Unprocessable(vec![ErrorItem::field(
            "Idempotency-Key",
            "invalid_format",
            "must be 1 to 255 printable ASCII characters",
        )])),
    }
}

/// The digest of a parsed request: a keyed HMAC (the blind-index key, per program) of the
/// endpoint without its API version and of the canonical JSON (keys sorted, no whitespace),
/// so that formatting differences do not count as a different body, `/api/v3` and `/api/v4`
/// are the same endpoint, and the stored digest reveals nothing of the body (an unkeyed hash
/// of a body holding an SSN could be brute-forced).
pub fn digest(state: &AppState, program: ProgramId, path: &str, canonical_json: &str) -> String {
    let endpoint = crate::state::VERSIONS
        .iter()
        .find_map(|v| path.strip_prefix(v))
        .unwrap_or(path);
    let mut message = Vec::with_capacity(endpoint.len() + canonical_json.len() + 1);
    message.extend_from_slice(endpoint.as_bytes());
    message.push(0);
    message.extend_from_slice(canonical_json.as_bytes());
    state
        .store
        .keyed_digest(&format!("idempotency:{}", program.uuid()), &message)
}

/// A key this request holds, and the time it was claimed at (the fencing token).
#[derive(Clone, Debug)]
pub struct Claimed {
    /// The key.
    pub key: String,
    /// The claim's time, as given to `claim`.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// What claiming a key gave.
#[derive(Debug)]
pub enum Claim {
    /// The key is this request's: do the work.
    Held(Claimed),
    /// The key's request finished before: its stored answer, marked replayed.
    Answered(HttpResponse),
}

/// Claims `key` for a request whose digest is `digest`: 422 `idempotency_key_reused` for
/// another body, 409 `idempotency_in_progress` while its first request runs.
pub async fn claim(
    state: &AppState,
    program: ProgramId,
    key: String,
    digest: &str,
) -> Result<Claim, ApiError> {
    let now = state.clock.now();
    match state
        .store
        .claim(program, &key, digest, now, now + RETENTION, LEASE)
        .await?
    {
        storage::Claim::Completed { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            Ok(Claim::Answered(json(status, body, true)))
        }
        storage::Claim::Mismatch => Err(ApiError::Unprocessable(vec![ErrorItem::field(
            "Idempotency-Key",
            "idempotency_key_reused",
            "was already used with a different request body",
        )])),
        storage::Claim::InProgress => Err(ApiError::Conflict(
            "idempotency_in_progress",
            "a request with this Idempotency-Key is still being processed".into(),
        )),
        storage::Claim::Claimed => Ok(Claim::Held(Claimed { key, at: now })),
        storage::Claim::TooLarge => Err(ApiError::Unprocessable(vec![ErrorItem::field(
            "Idempotency-Key",
            "idempotency_answer_too_large",
            "the first answer to this key was too large to keep; send the request with a new key",
        )])),
    }
}

/// Frees a claimed key whose request was refused before any work.
pub async fn release(state: &AppState, program: ProgramId, claim: &Claimed) {
    if let Err(e) = state.store.release(program, &claim.key, claim.at).await {
        tracing::warn!(error = %e, "could not release an idempotency key");
    }
}

/// After the work of a claimed key: its 200 was stored by the work itself; a client error
/// is stored now; a server error frees the key.
pub async fn settle(
    state: &AppState,
    program: ProgramId,
    claim: &Claimed,
    result: Result<String, ApiError>,
) -> Result<HttpResponse, ApiError> {
    match result {
        Ok(body) => Ok(json(StatusCode::OK, body, false)),
        Err(err) if err.status_code().is_client_error() => {
            let (status, body) = err.body();
            state
                .store
                .complete(program, &claim.key, claim.at, status.as_u16(), &body)
                .await?;
            Ok(json(status, body, false))
        }
        Err(err) => {
            release(state, program, claim).await;
            Err(err)
        }
    }
}
