//! Timestamps are stored as milliseconds since the Unix epoch (portable across backends).

use chrono::{DateTime, Utc};

use crate::error::{Problem, StorageError};

/// Milliseconds since the epoch.
pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

/// Back from milliseconds; out-of-range values are corrupt rows.
pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>, StorageError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StorageError::corrupt("timestamp", Problem::Timestamp))
}

/// `t` truncated to what storage keeps, so a returned value equals its re-read.
pub(crate) fn truncate(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}
