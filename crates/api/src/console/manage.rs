//! Operator management, shared by `onboard operator …` and the console's operators page:
//! create (a one-time password and a new TOTP secret, handed back to be shown once and never
//! stored in the clear), disable and enable, reset (new password and secret). Disabling and
//! resetting end every session of the operator at once (storage deletes them in the same
//! transaction). Each is recorded as the caller's `OperatorAction`.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use domain::{OperatorId, OperatorRole};
use storage::console::{Operator, OperatorRef};
use storage::{ConflictCode, OperatorAction, SecretString, SqlStore, StorageError};

use super::totp::{self, NewSecret};

/// What a new or reset operator is given, once: its password and TOTP secret.
#[derive(Debug)]
pub struct Credentials {
    /// The operator.
    pub operator: Operator,
    /// The one-time password (redacted in `Debug`).
    pub password: SecretString,
    /// The TOTP secret, as base32 and as an `otpauth://` URI (redacted in `Debug`).
    pub totp: NewSecret,
}

/// Why an operator command was not done.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// The email does not parse.
    #[error("email {0}")]
    Email(domain::Violation),
    /// The role does not parse.
    #[error("role {0}")]
    Role(domain::Violation),
    /// Another operator has this email (in any case).
    #[error("an operator with this email already exists")]
    Duplicate,
    /// No operator has this id or email.
    #[error("no such operator")]
    NoSuchOperator,
    /// No randomness or no TOTP secret could be made.
    #[error(transparent)]
    Totp(#[from] totp::TotpError),
    /// The storage failed.
    #[error(transparent)]
    Storage(StorageError),
}

impl From<StorageError> for ManageError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound(_) => Self::NoSuchOperator,
            StorageError::Conflict(ConflictCode::Duplicate(_)) => Self::Duplicate,
            other => Self::Storage(other),
        }
    }
}

/// A one-time password: 128 random bits, base64url.
fn new_password() -> Result<SecretString, ManageError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| totp::TotpError::Rng)?;
    Ok(SecretString::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
    ))
}

/// Creates an operator with `email` and `role` (as typed; parsed here), recorded as `by`.
pub async fn create(
    store: &SqlStore,
    email: &str,
    role: &str,
    by: &OperatorAction,
    now: DateTime<Utc>,
) -> Result<Credentials, ManageError> {
    let email = domain::Email::parse(email.trim()).map_err(ManageError::Email)?;
    let role = OperatorRole::parse(role).map_err(ManageError::Role)?;
    let password = new_password()?;
    let totp = totp::new_secret(email.as_str())?;
    let new = storage::console::NewOperator {
        id: OperatorId::from_uuid(uuid::Uuid::now_v7()),
        email: &email,
        role,
    };
    let operator = store
        .create_operator(&new, &password, &totp.bytes, now, by)
        .await?;
    Ok(Credentials {
        operator,
        password,
        totp,
    })
}

/// Disables (`true`) or enables the operator `which`; disabling ends its sessions at once.
pub async fn set_disabled(
    store: &SqlStore,
    which: &OperatorRef,
    disabled: bool,
    by: &OperatorAction,
    now: DateTime<Utc>,
) -> Result<Operator, ManageError> {
    Ok(store
        .set_operator_disabled(which, disabled, now, by)
        .await?)
}

/// Gives the operator `which` a new password and TOTP secret; its sessions end at once.
pub async fn reset(
    store: &SqlStore,
    which: &OperatorRef,
    by: &OperatorAction,
    now: DateTime<Utc>,
) -> Result<Credentials, ManageError> {
    let current = store
        .find_operator(which)
        .await?
        .ok_or(ManageError::NoSuchOperator)?;
    let password = new_password()?;
    let totp = totp::new_secret(&current.email)?;
    let operator = store
        .reset_operator(
            &OperatorRef::Id(current.id),
            &password,
            &totp.bytes,
            now,
            by,
        )
        .await?;
    Ok(Credentials {
        operator,
        password,
        totp,
    })
}
