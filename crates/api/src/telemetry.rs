//! Structured logs: JSON lines (or pretty text) on stderr, filtered by `RUST_LOG`.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls do nothing.
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if format.eq_ignore_ascii_case("pretty") {
        builder.try_init()
    } else {
        builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    };
}

/// The root span of every request: method, route pattern, status and (recorded by the
/// handler) program — what an operator filters by — and the client's `x-request-id` when it
/// sent one. Lighter than tracing-actix-web's default (a dozen OpenTelemetry fields, the
/// connection info parsed and a random request id drawn per request, each formatted into
/// JSON whether or not anything is logged), which cost a fifth of a read's CPU.
#[derive(Debug)]
pub struct RequestSpan;

/// The longest `x-request-id` copied into the logs.
const MAX_REQUEST_ID: usize = 64;

impl tracing_actix_web::RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &actix_web::dev::ServiceRequest) -> tracing::Span {
        let route = request.match_pattern();
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .filter(|v| v.len() <= MAX_REQUEST_ID);
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = route.as_deref().unwrap_or("default"),
            request_id,
            status = tracing::field::Empty,
            error = tracing::field::Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: tracing::Span,
        outcome: &Result<actix_web::dev::ServiceResponse<B>, actix_web::Error>,
    ) {
        let (status, error) = match outcome {
            Ok(response) => (
                response.status(),
                response.response().error().map(ToString::to_string),
            ),
            Err(error) => (
                error.as_response_error().status_code(),
                Some(error.to_string()),
            ),
        };
        span.record("status", status.as_u16());
        if let Some(error) = error.filter(|_| status.is_server_error()) {
            span.record("error", error.as_str());
        }
    }
}
