//! Operators: created with a password (stored as an argon2id hash) and a TOTP secret (sealed
//! under the active data key, bound to the row), disabled (every session ends with it),
//! enabled, reset (new password and secret, sessions ended), and the password check of a login.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash};
use chrono::{DateTime, Utc};
use domain::{OperatorId, OperatorRole};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _,
};

use super::entity::{console_operators, console_sessions};
use super::{Operator, PasswordVerified, operator, totp_aad};
use crate::SqlStore;
use crate::error::{Entity, InternalError, StorageError};
use crate::operators::{OperatorAction, record};
use crate::secret::SecretString;
use crate::time::to_ms;

/// An argon2id hash of no password anyone knows (made once per process): an unknown email
/// costs the same verification as a known one, so timing does not tell which emails exist.
static DECOY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn decoy_hash() -> String {
    DECOY_HASH
        .get_or_init(|| {
            Argon2::default()
                .hash_password(uuid::Uuid::new_v4().as_bytes())
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone()
}

async fn hash(password: &SecretString) -> Result<String, StorageError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose().as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(|_| InternalError::Task)?
    .map_err(|_| InternalError::Hashing.into())
}

async fn verify(password: &str, stored: Option<String>) -> Result<bool, StorageError> {
    let candidate = SecretString::new(password.to_owned());
    tokio::task::spawn_blocking(move || {
        let stored = stored.unwrap_or_else(decoy_hash);
        PasswordHash::new(&stored).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(candidate.expose().as_bytes(), &parsed)
                .is_ok()
        })
    })
    .await
    .map_err(|_| InternalError::Task.into())
}

/// The stored lowercase key of an email (uniqueness and lookup are case-insensitive).
fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A new operator: its id (the caller's), login email and role.
#[derive(Clone, Copy, Debug)]
pub struct NewOperator<'a> {
    /// `opr-…`.
    pub id: OperatorId,
    /// The login email.
    pub email: &'a domain::Email,
    /// Its role.
    pub role: OperatorRole,
}

/// Which operator a command names: its id or its email.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorRef {
    /// `opr-…`.
    Id(OperatorId),
    /// Its login email.
    Email(String),
}

impl OperatorRef {
    /// `opr-…` is an id; anything else an email.
    pub fn parse(text: &str) -> Self {
        OperatorId::parse(text).map_or_else(|_| Self::Email(text.to_owned()), Self::Id)
    }
}

impl SqlStore {
    async fn operator_row(
        &self,
        which: &OperatorRef,
    ) -> Result<console_operators::Model, StorageError> {
        let find = console_operators::Entity::find();
        let find = match which {
            OperatorRef::Id(id) => {
                find.filter(console_operators::Column::Id.eq(id.uuid().to_string()))
            }
            OperatorRef::Email(email) => {
                find.filter(console_operators::Column::EmailKey.eq(email_key(email)))
            }
        };
        find.one(&self.db)
            .await?
            .ok_or(StorageError::NotFound(Entity::Operator))
    }

    /// Creates an operator with `password` (hashed) and `totp_secret` (sealed), recorded as
    /// `by`. A second operator with the same email (in any case) is a conflict on `email`.
    pub async fn create_operator(
        &self,
        new: &NewOperator<'_>,
        password: &SecretString,
        totp_secret: &[u8],
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<Operator, StorageError> {
        let NewOperator { id, email, role } = *new;
        let rid = id.uuid().to_string();
        let hash = hash(password).await?;
        let sealed = self.keys.seal(totp_secret, totp_aad(&rid))?;
        let txn = crate::db::begin_write(&self.db).await?;
        console_operators::Entity::insert(console_operators::ActiveModel {
            id: Set(rid.clone()),
            email: Set(email.as_str().to_owned()),
            email_key: Set(email_key(email.as_str())),
            role: Set(role.as_str().to_owned()),
            password_hash: Set(hash),
            totp_ciphertext: Set(sealed.bytes),
            totp_key_id: Set(sealed.key_id),
            totp_last_step: Set(None),
            disabled_at: Set(None),
            created_at: Set(to_ms(now)),
            updated_at: Set(to_ms(now)),
            last_login_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        record(&txn, by, now).await?;
        txn.commit().await?;
        let row = self.operator_row(&OperatorRef::Id(id)).await?;
        operator(&row)
    }

    /// Disables (`true`) or enables an operator; disabling ends every session of it at once.
    pub async fn set_operator_disabled(
        &self,
        which: &OperatorRef,
        disabled: bool,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<Operator, StorageError> {
        let row = self.operator_row(which).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        console_operators::Entity::update_many()
            .col_expr(
                console_operators::Column::DisabledAt,
                (disabled.then(|| to_ms(now))).into(),
            )
            .col_expr(console_operators::Column::UpdatedAt, to_ms(now).into())
            .filter(console_operators::Column::Id.eq(row.id.clone()))
            .exec(&txn)
            .await?;
        if disabled {
            console_sessions::Entity::delete_many()
                .filter(console_sessions::Column::OperatorId.eq(row.id.clone()))
                .exec(&txn)
                .await?;
        }
        record(&txn, by, now).await?;
        txn.commit().await?;
        operator(&self.operator_row(which).await?)
    }

    /// Gives an operator a new password and TOTP secret; every session of it ends.
    pub async fn reset_operator(
        &self,
        which: &OperatorRef,
        password: &SecretString,
        totp_secret: &[u8],
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<Operator, StorageError> {
        let row = self.operator_row(which).await?;
        let hash = hash(password).await?;
        let sealed = self.keys.seal(totp_secret, totp_aad(&row.id))?;
        let txn = crate::db::begin_write(&self.db).await?;
        console_operators::Entity::update_many()
            .col_expr(console_operators::Column::PasswordHash, hash.into())
            .col_expr(
                console_operators::Column::TotpCiphertext,
                sealed.bytes.into(),
            )
            .col_expr(console_operators::Column::TotpKeyId, sealed.key_id.into())
            .col_expr(
                console_operators::Column::TotpLastStep,
                Option::<i64>::None.into(),
            )
            .col_expr(console_operators::Column::UpdatedAt, to_ms(now).into())
            .filter(console_operators::Column::Id.eq(row.id.clone()))
            .exec(&txn)
            .await?;
        console_sessions::Entity::delete_many()
            .filter(console_sessions::Column::OperatorId.eq(row.id.clone()))
            .exec(&txn)
            .await?;
        record(&txn, by, now).await?;
        txn.commit().await?;
        operator(&self.operator_row(which).await?)
    }

    /// The operator `which` names, if there is one.
    pub async fn find_operator(
        &self,
        which: &OperatorRef,
    ) -> Result<Option<Operator>, StorageError> {
        match self.operator_row(which).await {
            Ok(row) => operator(&row).map(Some),
            Err(StorageError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every operator, oldest first.
    pub async fn list_operators(&self) -> Result<Vec<Operator>, StorageError> {
        console_operators::Entity::find()
            .order_by_asc(console_operators::Column::CreatedAt)
            .order_by_asc(console_operators::Column::Id)
            .all(&self.db)
            .await?
            .iter()
            .map(operator)
            .collect()
    }

    /// The first factor of a login: `None` unless the email names an enabled operator whose
    /// password is `password` (an unknown email is verified against a decoy hash, so it costs
    /// the same time).
    pub async fn verify_operator_password(
        &self,
        email: &str,
        password: &str,
    ) -> Result<Option<PasswordVerified>, StorageError> {
        let row = console_operators::Entity::find()
            .filter(console_operators::Column::EmailKey.eq(email_key(email)))
            .one(&self.db)
            .await?;
        let stored = row.as_ref().map(|r| r.password_hash.clone());
        let ok = verify(password, stored).await?;
        let Some(row) = row.filter(|r| ok && r.disabled_at.is_none()) else {
            return Ok(None);
        };
        let totp_secret =
            self.keys
                .open(&row.totp_key_id, &row.totp_ciphertext, totp_aad(&row.id))?;
        Ok(Some(PasswordVerified {
            operator: operator(&row)?,
            totp_secret,
        }))
    }

    /// Accepts TOTP `step` for the operator once: answers false when this step or a later one
    /// was already used (a code is never accepted twice, RFC 6238 §5.2).
    pub async fn accept_totp_step(&self, id: OperatorId, step: u64) -> Result<bool, StorageError> {
        use sea_orm::sea_query::Condition;
        let step = i64::try_from(step).unwrap_or(i64::MAX);
        let done = console_operators::Entity::update_many()
            .col_expr(console_operators::Column::TotpLastStep, Some(step).into())
            .filter(console_operators::Column::Id.eq(id.uuid().to_string()))
            .filter(console_operators::Column::DisabledAt.is_null())
            .filter(
                Condition::any()
                    .add(console_operators::Column::TotpLastStep.is_null())
                    .add(console_operators::Column::TotpLastStep.lt(step)),
            )
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected == 1)
    }
}
