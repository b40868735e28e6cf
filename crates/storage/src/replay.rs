//! The replay guard (SPEC §2.1): a signature is accepted once within the skew window,
//! decided by primary-key uniqueness of its digest.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::ProgramId;
use sea_orm::{ActiveValue::Set, EntityTrait as _};

use crate::SqlStore;
use crate::entity::seen_signatures as seen;
use crate::error::StorageError;
use crate::group::Job;
use crate::time::to_ms;

/// The replay guard's record of one request signature: its program, the digest of the
/// signature, and until when it is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    pub(crate) program: ProgramId,
    pub(crate) digest: String,
    pub(crate) expires_at: DateTime<Utc>,
}

impl Signature {
    /// The record of a signature of `program` whose digest is `digest`, kept until
    /// `expires_at`.
    pub fn new(program: ProgramId, digest: String, expires_at: DateTime<Utc>) -> Self {
        Self {
            program,
            digest,
            expires_at,
        }
    }

    /// The program whose request it signed.
    pub fn program(&self) -> ProgramId {
        self.program
    }

    /// The digest of the signature: what is unique.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Until when the record is kept.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.expires_at
    }
}

/// The replay guard: signatures accepted within the skew window.
#[async_trait]
pub trait ReplayGuard: Send + Sync {
    /// Records a signature; `false` if it was already recorded (a replay).
    async fn first_use(&self, signature: Signature) -> Result<bool, StorageError>;
    /// Deletes up to `batch` expired records; returns how many.
    async fn sweep_signatures(&self, now: DateTime<Utc>, batch: u64) -> Result<u64, StorageError>;
}

/// The `seen_signatures` row of a signature.
pub(crate) fn seen_row(s: &Signature) -> seen::ActiveModel {
    seen::ActiveModel {
        signature_digest: Set(s.digest.clone()),
        program_id: Set(s.program.uuid().to_string()),
        expires_at: Set(to_ms(s.expires_at)),
    }
}

/// Records a signature as used, on `conn` (a transaction when the work it authorises is
/// written in the same one, so that both commit together). `Ok(false)` if it was already
/// recorded; then, inside a transaction, the transaction must be abandoned.
pub(crate) async fn first_use_in(
    conn: &impl sea_orm::ConnectionTrait,
    signature: &Signature,
) -> Result<bool, StorageError> {
    match seen::Entity::insert(seen_row(signature))
        .exec_without_returning(conn)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => match StorageError::from(e) {
            e if e.is_duplicate() => Ok(false),
            other => Err(other),
        },
    }
}

/// Records many signatures as used in one statement; fails as a whole (a duplicate among
/// them included).
pub(crate) async fn insert_signatures(
    conn: &impl sea_orm::ConnectionTrait,
    signatures: impl IntoIterator<Item = &Signature>,
) -> Result<(), StorageError> {
    seen::Entity::insert_many(signatures.into_iter().map(seen_row))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

#[async_trait]
impl ReplayGuard for SqlStore {
    async fn first_use(&self, signature: Signature) -> Result<bool, StorageError> {
        self.first_use_grouped(signature).await
    }

    async fn sweep_signatures(&self, now: DateTime<Utc>, batch: u64) -> Result<u64, StorageError> {
        crate::db::delete_expired(
            &self.db,
            "seen_signatures",
            "signature_digest",
            to_ms(now),
            batch,
        )
        .await
    }
}

impl SqlStore {
    /// Records a signature as used, in one multi-row insert with whatever other signatures
    /// are waiting (a single statement: committed when it returns). `Ok(false)`: already
    /// recorded. A batch refused by a duplicate is retried one by one, so only the replay
    /// is refused.
    pub(crate) async fn first_use_grouped(
        &self,
        signature: Signature,
    ) -> Result<bool, StorageError> {
        let store = self.clone();
        self.signatures
            .submit(signature, move |batch, permit| {
                let store = store.clone();
                async move {
                    store.write_signatures(batch).await;
                    drop(permit);
                }
            })
            .await
    }

    async fn write_signatures(&self, batch: Vec<Job<Signature>>) {
        if batch.len() > 1 {
            let signatures = batch.iter().map(|j| &j.work);
            if insert_signatures(&self.db, signatures).await.is_ok() {
                for job in batch {
                    let _ = job.answer.send(Ok(true));
                }
                return;
            }
        }
        for job in batch {
            let result = first_use_in(&self.db, &job.work).await;
            let _ = job.answer.send(result);
        }
    }
}
