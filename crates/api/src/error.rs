//! The one HTTP error type: every failure becomes the error envelope with its status code.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::ValidationErrors;
use serde::Serialize;
use storage::{ConflictCode, ConflictField, Entity, StorageError};

/// One entry of the envelope's `errors` list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ErrorItem {
    /// JSON path of the offending value (`meta_data[2].name`); absent for non-field errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, example = "postal_code")]
    pub field: Option<String>,
    /// Stable snake_case code.
    #[schema(pattern = "^[a-z][a-z0-9_]*$", example = "invalid_format")]
    pub code: String,
    /// Human explanation.
    pub message: String,
}

impl ErrorItem {
    /// A field error.
    pub fn field(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: Some(field.into()),
            code: code.to_owned(),
            message: message.into(),
        }
    }

    /// A non-field error.
    pub fn general(code: &str, message: impl Into<String>) -> Self {
        Self {
            field: None,
            code: code.to_owned(),
            message: message.into(),
        }
    }
}

/// Why authentication failed (SPEC §2.3). The message never says which credential was right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No Authorization header.
    MissingSignature,
    /// The Authorization header or X-Date cannot be parsed.
    MalformedSignature,
    /// An algorithm other than hmac-sha512.
    UnsupportedAlgorithm,
    /// A required header is not signed, or a signed header is missing.
    MissingSignedHeader,
    /// X-Date more than 300 s from the server clock.
    StaleDate,
    /// Content-sha512 does not match the body received.
    DigestMismatch,
    /// The signature does not verify.
    SignatureMismatch,
    /// Unknown HMAC username.
    UnknownCredentials,
    /// No API key in header or body.
    MissingApiKey,
    /// The API key is unknown, revoked, or of another program.
    InvalidApiKey,
    /// The signature was already used.
    ReplayedRequest,
}

impl AuthFailure {
    /// The code of SPEC §2.3.
    pub fn code(self) -> &'static str {
        match self {
            Self::MissingSignature => "missing_signature",
            Self::MalformedSignature => "malformed_signature",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::MissingSignedHeader => "missing_signed_header",
            Self::StaleDate => "stale_date",
            Self::DigestMismatch => "digest_mismatch",
            Self::SignatureMismatch => "signature_mismatch",
            Self::UnknownCredentials => "unknown_credentials",
            Self::MissingApiKey => "missing_api_key",
            Self::InvalidApiKey => "invalid_api_key",
            Self::ReplayedRequest => "replayed_request",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Self::MissingSignature => "the Authorization header with an HMAC signature is required",
            Self::MalformedSignature => "the Authorization or X-Date header is malformed",
            Self::UnsupportedAlgorithm => "only the hmac-sha512 algorithm is supported",
            Self::MissingSignedHeader => {
                "request-line, x-date and (with a body) content-sha512 must be signed and present"
            }
            Self::StaleDate => "X-Date is more than 300 seconds away from the server clock",
            Self::DigestMismatch => "Content-sha512 does not match the request body",
            Self::SignatureMismatch | Self::UnknownCredentials | Self::InvalidApiKey => {
                "the request credentials are not valid"
            }
            Self::MissingApiKey => "an api_key header or body field is required",
            Self::ReplayedRequest => "this signed request was already received",
        }
    }
}

/// Every failure a handler can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON, or fields have the wrong JSON type.
    #[error("bad request")]
    BadRequest(Vec<ErrorItem>),
    /// 401.
    #[error("authentication failed: {}", .0.code())]
    Unauthorized(AuthFailure),
    /// 404: unknown route or entity.
    #[error("not found")]
    NotFound(Missing),
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 409 `duplicate`.
    #[error("duplicate {}", .0.as_str())]
    Duplicate(ConflictField),
    /// 409 with another code (`invalid_transition`, `idempotency_in_progress`).
    #[error("conflict: {0}")]
    Conflict(&'static str, String),
    /// 413.
    #[error("payload too large")]
    PayloadTooLarge(usize),
    /// 415.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 422: validation, unknown fields, references to missing entities.
    #[error("unprocessable entity")]
    Unprocessable(Vec<ErrorItem>),
    /// 429.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after: u64,
    },
    /// 503: the database cannot be reached.
    #[error("storage unavailable")]
    Unavailable,
    /// 503: the configured keys do not match the database (SPEC §5); nothing is served.
    #[error("keys do not match the database")]
    KeysMismatch,
    /// 500: a bug. The cause is logged, never sent.
    #[error("internal error")]
    Internal(#[source] InternalCause),
}

/// What a 404 did not find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    /// No route has this path.
    Route,
    /// The entity the request addresses is not the program's.
    Entity(Entity),
}

impl Missing {
    fn as_str(self) -> &'static str {
        match self {
            Self::Route => "route",
            Self::Entity(entity) => entity.as_str(),
        }
    }
}

/// The cause of a 500, logged with its whole chain.
#[derive(Debug, thiserror::Error)]
pub enum InternalCause {
    /// A storage failure that is not the client's (a bug, damaged data, an id collision).
    #[error(transparent)]
    Storage(StorageError),
    /// A response could not be serialised.
    #[error("serialising a response")]
    Render(#[source] serde_json::Error),
    /// The API key verifier's semaphore was closed.
    #[error("the key verifier is closed")]
    VerifierClosed,
}

impl ApiError {
    /// A response that could not be serialised.
    pub fn render(err: serde_json::Error) -> Self {
        Self::Internal(InternalCause::Render(err))
    }

    /// The entity was not found (404).
    pub fn not_found(entity: Entity) -> Self {
        Self::NotFound(Missing::Entity(entity))
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        Self::Unprocessable(
            errors
                .into_errors()
                .into_iter()
                .map(|e| ErrorItem::field(e.field, e.code.as_str(), e.message))
                .collect(),
        )
    }
}

impl From<StorageError> for ApiError {
    fn from(err: StorageError) -> Self {
        // Exhaustive on purpose: a new kind of storage error must be given its answer here.
        match err {
            StorageError::NotFound(entity) => Self::not_found(entity),
            StorageError::MissingReference(reference) => {
                Self::Unprocessable(vec![ErrorItem::field(
                    reference.field(),
                    "not_found",
                    "does not exist in this program",
                )])
            }
            StorageError::Conflict(ConflictCode::Duplicate(ConflictField::Id)) => {
                // A generated id or an unnamed unique key collided: not the client's doing.
                Self::Internal(InternalCause::Storage(err))
            }
            StorageError::Conflict(ConflictCode::Duplicate(field)) => Self::Duplicate(field),
            StorageError::Conflict(ConflictCode::ClaimLost) => Self::Conflict(
                "idempotency_in_progress",
                "a request with this Idempotency-Key is still being processed".into(),
            ),
            StorageError::Rejected(domain::ChangeError::Missing(errors)) => errors.into(),
            StorageError::Rejected(other) => {
                Self::Conflict("invalid_transition", other.to_string())
            }
            StorageError::Unavailable(_) => Self::Unavailable,
            StorageError::Internal(_) => Self::Internal(InternalCause::Storage(err)),
        }
    }
}

/// The error and all its sources, for the log.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// At most this many errors are listed in one answer, then one `too_many_errors` item: the
/// answer to a hostile body stays small.
pub const MAX_ERROR_ITEMS: usize = 50;

/// The error envelope.
#[derive(Serialize)]
struct Envelope<'a> {
    status: &'static str,
    message: &'a str,
    errors: &'a [ErrorItem],
}

impl ApiError {
    fn message_and_items(&self) -> (&'static str, Vec<ErrorItem>) {
        match self {
            Self::BadRequest(items) => (
                "The request body is not valid JSON of the expected shape.",
                items.clone(),
            ),
            Self::Unauthorized(f) => (
                "Authentication failed.",
                vec![ErrorItem::general(f.code(), f.message())],
            ),
            Self::NotFound(what) => (
                "The requested resource was not found.",
                vec![ErrorItem::general(
                    "not_found",
                    format!("{} not found", what.as_str()),
                )],
            ),
            Self::MethodNotAllowed => (
                "The method is not allowed for this resource.",
                vec![ErrorItem::general("method_not_allowed", "use POST")],
            ),
            Self::Duplicate(field) => (
                "A record with the same value already exists.",
                vec![ErrorItem::field(
                    field.as_str(),
                    "duplicate",
                    "is already in use in this program",
                )],
            ),
            Self::Conflict(code, message) => (
                "The request conflicts with the current state.",
                vec![ErrorItem::general(code, message.clone())],
            ),
            Self::PayloadTooLarge(limit) => (
                "The request body is too large.",
                vec![ErrorItem::general(
                    "payload_too_large",
                    format!("the body must be at most {limit} bytes"),
                )],
            ),
            Self::UnsupportedMediaType => (
                "The request body must be JSON.",
                vec![ErrorItem::general(
                    "unsupported_media_type",
                    "Content-Type must be application/json",
                )],
            ),
            Self::Unprocessable(items) => ("The request failed validation.", items.clone()),
            Self::RateLimited { retry_after } => (
                "Too many requests.",
                vec![ErrorItem::general(
                    "rate_limited",
                    format!("retry after {retry_after} seconds"),
                )],
            ),
            Self::Unavailable => (
                "The service is temporarily unavailable.",
                vec![ErrorItem::general(
                    "storage_unavailable",
                    "the database cannot be reached; retry later",
                )],
            ),
            Self::KeysMismatch => (
                "The service is not ready.",
                vec![ErrorItem::general(
                    "keys_mismatch",
                    "the service's encryption keys do not match its database; an operator must correct the key configuration",
                )],
            ),
            Self::Internal(_) => (
                "An internal error occurred.",
                vec![ErrorItem::general("internal_error", "the error was logged")],
            ),
        }
    }
}

impl ApiError {
    /// The status and the exact envelope bytes of this error (also stored for replays).
    pub fn body(&self) -> (StatusCode, String) {
        let (message, mut items) = self.message_and_items();
        if items.len() > MAX_ERROR_ITEMS {
            let more = items.len() - MAX_ERROR_ITEMS;
            items.truncate(MAX_ERROR_ITEMS);
            items.push(ErrorItem::general(
                "too_many_errors",
                format!("{more} more errors are not listed"),
            ));
        }
        let body = serde_json::to_string(&Envelope {
            status: "error",
            message,
            errors: &items,
        })
        .unwrap_or_else(|_| String::from("{\"status\":\"error\"}"));
        (self.status_code(), body)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Duplicate(_) | Self::Conflict(..) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable | Self::KeysMismatch => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(cause = %error_chain(cause), "internal error");
        }
        let (status, body) = self.body();
        let mut builder = HttpResponse::build(status);
        match self {
            Self::RateLimited { retry_after } => {
                builder.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            Self::Unavailable => {
                builder.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
            }
            Self::MethodNotAllowed => {
                builder.insert_header((header::ALLOW, HeaderValue::from_static("POST")));
            }
            _ => {}
        }
        builder.content_type("application/json").body(body)
    }
}
