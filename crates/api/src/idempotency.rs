//! `Idempotency-Key` (SPEC §3.1): the first response of a key is stored and replayed
//! byte-identical; a reused key with another body is 422; a repeat in flight is 409.
//!
//! The claim is committed before the work so that a concurrent repeat sees it; the success
//! response is written in the SAME transaction as the work (see `storage::Completion`), so
//! a crash leaves either both or neither. Client errors (4xx) are recorded too; a 5xx frees
//! the key so that the retry can do the work.

use std::future::Future;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError as _};
use chrono::Duration;
use domain::ProgramId;
use storage::{Claim, IdempotencyRepository as _};

use crate::app::AppState;
use crate::auth::ReplayRecord;
use crate::error::{ApiError, ErrorItem};

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
    let text = value.to_str().unwrap_or_default();
    if (1..=255).contains(&text.len()) && text.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Ok(Some(text.to_owned()))
    } else {
        Err(ApiError::Unprocessable(vec![ErrorItem::field(
            "Idempotency-Key",
            "invalid_format",
            "must be 1 to 255 printable ASCII characters",
        )]))
    }
}

/// The digest of a parsed request: a keyed HMAC (the blind-index key, per program) of the
/// endpoint without its API version and of the canonical JSON (keys sorted, no whitespace),
/// so that formatting differences do not count as a different body, `/api/v3` and `/api/v4`
/// are the same endpoint, and the stored digest reveals nothing of the body (an unkeyed hash
/// of a body holding an SSN could be brute-forced).
pub fn digest(state: &AppState, program: ProgramId, path: &str, canonical_json: &str) -> String {
    let endpoint = crate::app::VERSIONS
        .iter()
        .find_map(|v| path.strip_prefix(v))
        .unwrap_or(path);
    let mut message = Vec::with_capacity(endpoint.len() + canonical_json.len() + 1);
    message.extend_from_slice(endpoint.as_bytes());
    message.push(0);
    message.extend_from_slice(canonical_json.as_bytes());
    state
        .store
        .keyring()
        .blind_index(&format!("idempotency:{}", program.uuid()), &message)
}

/// An authenticated mutating request: who, its fields, and its idempotency key and digest.
#[derive(Debug)]
pub struct Mutation {
    /// The caller's program.
    pub program: ProgramId,
    /// The API key used (for the audit trail).
    pub key_id: String,
    /// The body's fields.
    pub fields: crate::body::Fields,
    /// The `Idempotency-Key`, if sent.
    pub key: Option<String>,
    /// The digest of the parsed request.
    pub digest: String,
}

/// The front half of every mutating handler: authentication (see `app::authenticate`), then
/// the `Idempotency-Key` and the request's digest.
pub async fn begin(
    state: &AppState,
    req: &HttpRequest,
    payload: actix_web::web::Payload,
) -> Result<Mutation, ApiError> {
    let request = crate::app::authenticate(state, req, payload).await?;
    let key = key(req)?;
    let digest = digest(
        state,
        request.program,
        req.path(),
        &request.fields.canonical(),
    );
    Ok(Mutation {
        program: request.program,
        key_id: request.key_id,
        fields: request.fields,
        key,
        digest,
    })
}

/// [`begin`] for a handler that writes the replay guard's record in its own transaction (see
/// `app::authenticate_deferred`): the record is returned when there is no `Idempotency-Key`.
/// With a key, the record is written here, before the key is claimed, as by [`begin`].
pub async fn begin_deferred(
    state: &AppState,
    req: &HttpRequest,
    payload: actix_web::web::Payload,
) -> Result<(Mutation, Option<ReplayRecord>), ApiError> {
    let (request, replay) = crate::app::authenticate_deferred(state, req, payload).await?;
    let key = match key(req) {
        Ok(key) => key,
        Err(e) => {
            crate::app::record_replay(state, req, request.program, &replay).await?;
            return Err(e);
        }
    };
    let replay = if key.is_some() {
        crate::app::record_replay(state, req, request.program, &replay).await?;
        None
    } else {
        Some(replay)
    };
    let digest = digest(
        state,
        request.program,
        req.path(),
        &request.fields.canonical(),
    );
    Ok((
        Mutation {
            program: request.program,
            key_id: request.key_id,
            fields: request.fields,
            key,
            digest,
        },
        replay,
    ))
}

fn json_response(status: StatusCode, body: String, replayed: bool) -> HttpResponse {
    let mut builder = HttpResponse::build(status);
    builder.content_type("application/json");
    if replayed {
        builder.insert_header(("Idempotent-Replayed", "true"));
    }
    builder.body(body)
}

/// A key this request holds, and the time it was claimed at (the fencing token).
#[derive(Clone, Debug)]
pub struct Claimed {
    /// The key.
    pub key: String,
    /// The claim's time, as given to `claim`.
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Runs `work` at most once per (program, key). `work` gets the claim (to complete it in its
/// own transaction) and returns the 200 body it wrote.
pub async fn run<F, Fut>(
    state: &AppState,
    program: ProgramId,
    key: Option<String>,
    digest: &str,
    work: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(Option<Claimed>) -> Fut,
    Fut: Future<Output = Result<String, ApiError>>,
{
    let Some(key) = key else {
        return work(None)
            .await
            .map(|body| json_response(StatusCode::OK, body, false));
    };
    let now = state.clock.now();
    match state
        .store
        .claim(program, &key, digest, now, now + RETENTION, LEASE)
        .await?
    {
        Claim::Completed { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            return Ok(json_response(status, body, true));
        }
        Claim::Mismatch => {
            return Err(ApiError::Unprocessable(vec![ErrorItem::field(
                "Idempotency-Key",
                "idempotency_key_reused",
                "was already used with a different request body",
            )]));
        }
        Claim::InProgress => {
            return Err(ApiError::Conflict(
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still being processed".into(),
            ));
        }
        Claim::Claimed => {}
    }
    match work(Some(Claimed {
        key: key.clone(),
        at: now,
    }))
    .await
    {
        Ok(body) => Ok(json_response(StatusCode::OK, body, false)),
        Err(err) if err.status_code().is_client_error() => {
            let (status, body) = err.body();
            state
                .store
                .complete(program, &key, now, status.as_u16(), &body)
                .await?;
            Ok(json_response(status, body, false))
        }
        Err(err) => {
            if let Err(e) = state.store.release(program, &key, now).await {
                tracing::warn!(error = %e, "could not release an idempotency key");
            }
            Err(err)
        }
    }
}
