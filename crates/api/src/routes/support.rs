//! What handlers share: reading a required id field, the stored time precision.

use chrono::{DateTime, Utc};
use domain::{ErrorCode, ValidationErrors, Violation};

/// Parses a required id field (`user_id`, `business_id`).
pub fn required_id<T>(
    field: &str,
    raw: Option<String>,
    parse: impl FnOnce(&str) -> Result<T, Violation>,
) -> Result<T, ValidationErrors> {
    let raw = raw.ok_or_else(|| {
        ValidationErrors::single(field, Violation::new(ErrorCode::Required, "is required"))
    })?;
    parse(&raw).map_err(|v| ValidationErrors::single(field, v))
}

/// `t` at millisecond precision, as stored (an answer rendered before its write equals the
/// stored entity read back).
pub fn truncate_ms(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}
