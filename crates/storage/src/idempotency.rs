//! Idempotency records (SPEC §3.1): a key claimed, completed with its first answer, or
//! released; decided by primary-key uniqueness.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ProgramId;
use sea_orm::{ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _};

use crate::SqlStore;
use crate::entity::idempotency_records as idem;
use crate::error::StorageError;
use crate::error::{ConflictCode, InternalError, Problem};
use crate::time::to_ms;

/// The largest answer kept for an `Idempotency-Key` (bytes). A larger one is replaced by a
/// marker, and a retry with the key is told so ([`Claim::TooLarge`]) instead of getting it:
/// one tenant cannot fill the shared database with stored answers.
pub const MAX_STORED_ANSWER: usize = 128 * 1024;

/// Marks a claimed record completed with its response, on `conn` (a transaction when the
/// work it protects is written too). Fails with `ClaimLost` if the claim is not held. An
/// answer over [`MAX_STORED_ANSWER`] is stored as the marker state `too_large`.
pub(crate) async fn complete_in(
    conn: &impl sea_orm::ConnectionTrait,
    program: ProgramId,
    key: &str,
    claimed_at: DateTime<Utc>,
    status: u16,
    body: &str,
) -> Result<(), StorageError> {
    let (state, body) = if body.len() > MAX_STORED_ANSWER {
        (TOO_LARGE, None)
    } else {
        (COMPLETED, Some(body))
    };
    let res = idem::Entity::update_many()
        .col_expr(idem::Column::State, state.into())
        .col_expr(idem::Column::ResponseStatus, i32::from(status).into())
        .col_expr(idem::Column::ResponseBody, body.into())
        .filter(idem::Column::ProgramId.eq(program.uuid().to_string()))
        .filter(idem::Column::IdempotencyKey.eq(key))
        .filter(idem::Column::State.eq(IN_PROGRESS))
        .filter(idem::Column::CreatedAt.eq(to_ms(claimed_at)))
        .exec(conn)
        .await?;
    if res.rows_affected == 1 {
        Ok(())
    } else {
        Err(StorageError::Conflict(ConflictCode::ClaimLost))
    }
}

/// What claiming an idempotency key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key was free and is now held by the caller.
    Claimed,
    /// Another request holds the key and has not finished.
    InProgress,
    /// The key was used for a different request.
    Mismatch,
    /// The key's request finished, but its answer was over [`MAX_STORED_ANSWER`] bytes and was
    /// not kept.
    TooLarge,
    /// The key's request finished; here is its response.
    Completed {
        /// HTTP status.
        status: u16,
        /// Body bytes as first sent.
        body: String,
    },
}

/// Idempotency keys, scoped to a program.
#[async_trait]
pub trait IdempotencyRepository: Send + Sync {
    /// Claims `key` for a request whose parsed body digests to `digest`. The claim is
    /// committed at once so that concurrent repeats see it (`InProgress`); an in-progress
    /// claim older than `lease` (its holder crashed) is taken over.
    async fn claim(
        &self,
        program: ProgramId,
        key: &str,
        digest: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<Claim, StorageError>;
    /// Stores the first response of a claimed key.
    async fn complete(
        &self,
        program: ProgramId,
        key: &str,
        claimed_at: DateTime<Utc>,
        status: u16,
        body: &str,
    ) -> Result<(), StorageError>;
    /// Frees a claimed key whose request failed without an answer worth replaying.
    async fn release(
        &self,
        program: ProgramId,
        key: &str,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StorageError>;
    /// Deletes up to `batch` records expired at `now`; returns how many.
    async fn sweep_idempotency(&self, now: DateTime<Utc>, batch: u64) -> Result<u64, StorageError>;
}

const IN_PROGRESS: &str = "in_progress";
const COMPLETED: &str = "completed";
const TOO_LARGE: &str = "too_large";

impl SqlStore {
    async fn insert_claim(
        &self,
        program: &str,
        key: &str,
        digest: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let row = idem::ActiveModel {
            program_id: Set(program.to_owned()),
            idempotency_key: Set(key.to_owned()),
            request_digest: Set(digest.to_owned()),
            state: Set(IN_PROGRESS.to_owned()),
            response_status: Set(None),
            response_body: Set(None),
            created_at: Set(to_ms(now)),
            expires_at: Set(to_ms(expires_at)),
        };
        idem::Entity::insert(row)
            .exec_without_returning(&self.db)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl IdempotencyRepository for SqlStore {
    async fn claim(
        &self,
        program: ProgramId,
        key: &str,
        digest: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        lease: chrono::Duration,
    ) -> Result<Claim, StorageError> {
        let program = program.uuid().to_string();
        for _ in 0..2 {
            match self
                .insert_claim(&program, key, digest, now, expires_at)
                .await
            {
                Ok(()) => return Ok(Claim::Claimed),
                Err(e) if e.is_duplicate() => {}
                Err(e) => return Err(e),
            }
            let Some(existing) = idem::Entity::find_by_id((program.clone(), key.to_owned()))
                .one(&self.db)
                .await?
            else {
                continue; // released or swept meanwhile: try to claim again
            };
            if existing.expires_at <= to_ms(now) {
                // Past retention: the key is free again.
                idem::Entity::delete_many()
                    .filter(idem::Column::ProgramId.eq(program.clone()))
                    .filter(idem::Column::IdempotencyKey.eq(key))
                    .filter(idem::Column::ExpiresAt.eq(existing.expires_at))
                    .exec(&self.db)
                    .await?;
                continue;
            }
            if existing.request_digest != digest {
                return Ok(Claim::Mismatch);
            }
            if existing.state == IN_PROGRESS && existing.created_at <= to_ms(now - lease) {
                // The holder crashed or hung past its lease: take the claim over, unless
                // someone else did first.
                let res = idem::Entity::update_many()
                    .col_expr(idem::Column::CreatedAt, to_ms(now).into())
                    .filter(idem::Column::ProgramId.eq(program.clone()))
                    .filter(idem::Column::IdempotencyKey.eq(key))
                    .filter(idem::Column::State.eq(IN_PROGRESS))
                    .filter(idem::Column::CreatedAt.eq(existing.created_at))
                    .exec(&self.db)
                    .await?;
                if res.rows_affected == 1 {
                    return Ok(Claim::Claimed);
                }
                continue;
            }
            return Ok(
                match (
                    existing.state.as_str(),
                    existing.response_status,
                    existing.response_body,
                ) {
                    (TOO_LARGE, _, _) => Claim::TooLarge,
                    (COMPLETED, Some(status), Some(body)) => Claim::Completed {
                        status: u16::try_from(status).map_err(|_| {
                            InternalError::corrupt(
                                "idempotency_records.response_status",
                                Problem::OutOfRange,
                            )
                        })?,
                        body,
                    },
                    _ => Claim::InProgress,
                },
            );
        }
        Ok(Claim::InProgress)
    }

    async fn complete(
        &self,
        program: ProgramId,
        key: &str,
        claimed_at: DateTime<Utc>,
        status: u16,
        body: &str,
    ) -> Result<(), StorageError> {
        complete_in(&self.db, program, key, claimed_at, status, body).await
    }

    async fn release(
        &self,
        program: ProgramId,
        key: &str,
        claimed_at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        idem::Entity::delete_many()
            .filter(idem::Column::ProgramId.eq(program.uuid().to_string()))
            .filter(idem::Column::IdempotencyKey.eq(key))
            .filter(idem::Column::State.eq(IN_PROGRESS))
            .filter(idem::Column::CreatedAt.eq(to_ms(claimed_at)))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn sweep_idempotency(&self, now: DateTime<Utc>, batch: u64) -> Result<u64, StorageError> {
        crate::db::delete_expired(
            &self.db,
            "idempotency_records",
            "program_id, idempotency_key",
            to_ms(now),
            batch,
        )
        .await
    }
}
