//! The operator console's storage (SPEC §10, migration 15): operators with an argon2id
//! password hash and a sealed TOTP secret (`accounts`), sessions stored by the SHA-256 of
//! their opaque id with idle and absolute expiry (`sessions`), and failed-login counts per
//! account and per address (`throttle`). All of it lives in the database, so every instance
//! accepts the same sessions and a logout or a disable takes effect at once everywhere.
//! `queues` pages the console's cross-program lists by key (migration 17's indexes).

pub(crate) mod accounts;
pub(crate) mod entity;
pub(crate) mod queues;
pub(crate) mod sessions;
pub(crate) mod throttle;

use chrono::{DateTime, Utc};
use domain::{OperatorId, OperatorRole};
use zeroize::Zeroizing;

use crate::crypto::Aad;
use crate::error::{Problem, StorageError};
use crate::time::from_ms;

pub use accounts::{NewOperator, OperatorRef};
pub use queues::FailedDelivery;
pub use sessions::{SessionPolicy, SessionToken};
pub use throttle::ThrottleRule;

/// A console operator (never its password hash or TOTP secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    /// `opr-…`.
    pub id: OperatorId,
    /// The login email, as given.
    pub email: String,
    /// What it may do.
    pub role: OperatorRole,
    /// When it was disabled, if it is.
    pub disabled_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last logged in (its latest session opened), if it ever did.
    pub last_login_at: Option<DateTime<Utc>>,
}

/// An operator whose email and password verified: the TOTP secret to check the second factor
/// against, and the last TOTP step accepted (a code is accepted once).
pub struct PasswordVerified {
    /// The operator.
    pub operator: Operator,
    /// The raw TOTP secret bytes (zeroized on drop).
    pub totp_secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for PasswordVerified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordVerified")
            .field("operator", &self.operator)
            .field("totp_secret", &"[redacted]")
            .finish()
    }
}

/// The associated data of an operator's sealed TOTP secret.
pub(crate) fn totp_aad(id: &str) -> Aad<'_> {
    Aad {
        table: "console_operators",
        column: "totp_ciphertext",
        row_id: id,
    }
}

/// An operator row back as an [`Operator`].
pub(crate) fn operator(row: &entity::console_operators::Model) -> Result<Operator, StorageError> {
    let id = row
        .id
        .parse::<uuid::Uuid>()
        .map_err(|_| StorageError::corrupt("console_operators.id", Problem::NotUuid))?;
    Ok(Operator {
        id: OperatorId::from_uuid(id),
        email: row.email.clone(),
        role: OperatorRole::parse(&row.role)
            .map_err(|_| StorageError::corrupt("console_operators.role", Problem::UnknownToken))?,
        disabled_at: row.disabled_at.map(from_ms).transpose()?,
        created_at: from_ms(row.created_at)?,
        last_login_at: row.last_login_at.map(from_ms).transpose()?,
    })
}
