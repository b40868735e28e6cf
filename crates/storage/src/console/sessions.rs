//! Console sessions: an opaque random id handed to the browser once, stored only as its
//! SHA-256; valid while the operator is enabled, until `expires_at` (absolute) and while
//! used within the idle limit. Logout deletes the row, so it ends on every instance at once.

use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _};
use sha2::{Digest as _, Sha256};

use super::entity::{console_operators, console_sessions};
use super::{Operator, operator};
use crate::SqlStore;
use crate::crypto::{CryptoError, hex};
use crate::error::StorageError;
use crate::secret::SecretString;
use crate::time::to_ms;

/// How long a session lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// Ends when unused this long.
    pub idle: Duration,
    /// Ends this long after the login, used or not.
    pub absolute: Duration,
}

impl Default for SessionPolicy {
    /// SPEC §10: 15 minutes idle, 8 hours absolute.
    fn default() -> Self {
        Self {
            idle: Duration::minutes(15),
            absolute: Duration::hours(8),
        }
    }
}

/// A session's opaque id, as the cookie carries it (256 random bits, base64url).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionToken(SecretString);

impl SessionToken {
    /// A fresh random token.
    pub fn generate() -> Result<Self, StorageError> {
        use base64::Engine as _;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|_| CryptoError::Rng)?;
        Ok(Self(SecretString::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
        )))
    }

    /// A token as presented by a browser.
    pub fn presented(text: &str) -> Self {
        Self(SecretString::new(text.to_owned()))
    }

    /// The token itself, for the cookie.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// What is stored: the SHA-256 of the token, in hex.
    fn stored(&self) -> String {
        hex(&Sha256::digest(self.0.expose().as_bytes()))
    }
}

/// A session's writes of `last_seen_at` are spaced at least this far apart (a page view
/// within it writes nothing).
const TOUCH_EVERY_MS: i64 = 30_000;

impl SqlStore {
    /// Opens a session of `operator` (after both factors verified) and records the login as
    /// its last one, in one transaction.
    pub async fn open_console_session(
        &self,
        operator: &Operator,
        token: &SessionToken,
        policy: SessionPolicy,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let id = operator.id.uuid().to_string();
        let txn = crate::db::begin_write(&self.db).await?;
        console_sessions::Entity::insert(console_sessions::ActiveModel {
            id_hash: Set(token.stored()),
            operator_id: Set(id.clone()),
            created_at: Set(to_ms(now)),
            last_seen_at: Set(to_ms(now)),
            expires_at: Set(to_ms(now + policy.absolute)),
        })
        .exec_without_returning(&txn)
        .await?;
        console_operators::Entity::update_many()
            .col_expr(
                console_operators::Column::LastLoginAt,
                Some(to_ms(now)).into(),
            )
            .filter(console_operators::Column::Id.eq(id))
            .exec(&txn)
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// The operator of a live session, its use recorded; `None` when the session is unknown,
    /// ended, idle too long, past its absolute expiry, or its operator disabled (an expired
    /// session is deleted).
    pub async fn console_session(
        &self,
        token: &SessionToken,
        policy: SessionPolicy,
        now: DateTime<Utc>,
    ) -> Result<Option<Operator>, StorageError> {
        let key = token.stored();
        let Some(session) = console_sessions::Entity::find_by_id(key.clone())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let now_ms = to_ms(now);
        let idle_until = session
            .last_seen_at
            .saturating_add(policy.idle.num_milliseconds());
        if now_ms >= session.expires_at || now_ms >= idle_until {
            self.close_console_session(token).await?;
            return Ok(None);
        }
        let Some(row) = console_operators::Entity::find_by_id(session.operator_id.clone())
            .filter(console_operators::Column::DisabledAt.is_null())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        if now_ms - session.last_seen_at >= TOUCH_EVERY_MS {
            console_sessions::Entity::update_many()
                .col_expr(console_sessions::Column::LastSeenAt, now_ms.into())
                .filter(console_sessions::Column::IdHash.eq(key))
                .exec(&self.db)
                .await?;
        }
        operator(&row).map(Some)
    }

    /// Ends a session (logout): it no longer verifies anywhere.
    pub async fn close_console_session(&self, token: &SessionToken) -> Result<(), StorageError> {
        console_sessions::Entity::delete_many()
            .filter(console_sessions::Column::IdHash.eq(token.stored()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Deletes sessions past their absolute expiry; answers how many.
    pub async fn sweep_console_sessions(&self, now: DateTime<Utc>) -> Result<u64, StorageError> {
        let done = console_sessions::Entity::delete_many()
            .filter(console_sessions::Column::ExpiresAt.lte(to_ms(now)))
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected)
    }
}
