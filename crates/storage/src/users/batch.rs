//! Creates, group-committed (the mechanism is `group.rs`): a prepared create waits in the
//! queue, and the caller that leads writes everything queued as one transaction of multi-row
//! inserts, its replay-guard records first, with one commit.
//!
//! A batch is all or nothing. When any statement of it fails before the commit (a duplicate
//! email, a replayed signature, a missing business, a lost idempotency claim, a deadlock
//! between batches), it is rolled back and each of its creates runs again alone, in the
//! single-create transaction, which gives each its own answer exactly as without grouping.
//! A failed commit is not retried (whether it took effect is unknown): every create of the
//! batch gets the error. On a server database a batch's commit overlaps the next batch's
//! statements; on SQLite, whose one writer holds the lock until the commit, it does not.

use std::sync::atomic::{AtomicU64, Ordering};

use domain::ProgramId;
use sea_orm::{ColumnTrait as _, ConnectionTrait, DbBackend, EntityTrait as _, QueryFilter as _};
use tokio::sync::OwnedSemaphorePermit;

use super::rows::add_to_count;
use crate::SqlStore;
use crate::along::{RenderedCompletion, rollback};
use crate::entity::{business_contacts, businesses, user_meta_data, users};
use crate::error::{InternalError, Reference, StorageError, is_contention};
use crate::events::dispatch::{Lease, Leased};
use crate::group::{Job, Queue};
use crate::replay::Signature;

/// A create ready to write: its rows built (SSN sealed, blind index computed), its replay
/// record and idempotency completion owned, so that it can wait in a batch.
pub(crate) struct PreparedCreate {
    pub(super) program: ProgramId,
    /// The count shard of the new user.
    pub(super) shard: i32,
    pub(super) user: users::ActiveModel,
    pub(super) meta: Vec<user_meta_data::ActiveModel>,
    pub(super) contact: Option<business_contacts::ActiveModel>,
    pub(super) business_id: Option<String>,
    /// The replay guard's record written with it, if any.
    pub(super) first_use: Option<Signature>,
    pub(super) completion: Option<RenderedCompletion>,
    /// Its `user.created` event, written in the same transaction.
    pub(super) event: crate::events::Sequenced,
}

/// Creates waiting for a batch, and what the batches did.
#[derive(Debug)]
pub(crate) struct Creates {
    queue: Queue<PreparedCreate>,
    /// Creates committed in batches of more than one.
    shared: AtomicU64,
    /// Batches of more than one create committed.
    batches: AtomicU64,
    /// Whether a batch of creates lets the next one start before its own commit.
    overlap_commits: bool,
}

impl Creates {
    /// `batches_at_once` concurrent batches (at least one); `overlap_commits`: see the
    /// module's documentation.
    pub(crate) fn new(batches_at_once: usize, overlap_commits: bool) -> Self {
        Self {
            queue: Queue::new(batches_at_once),
            shared: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            overlap_commits,
        }
    }
}

impl SqlStore {
    /// Group commit so far: (batches of more than one create committed, creates they held).
    pub fn grouped_creates(&self) -> (u64, u64) {
        (
            self.creates.batches.load(Ordering::Relaxed),
            self.creates.shared.load(Ordering::Relaxed),
        )
    }

    /// Writes `create` in a batch with whatever other creates are waiting. `Ok(false)`: its
    /// signature was already recorded (a replay), nothing of it was written.
    pub(crate) async fn create_grouped(
        &self,
        create: PreparedCreate,
    ) -> Result<bool, StorageError> {
        let store = self.clone();
        self.creates
            .queue
            .submit(create, move |batch, permit| {
                let store = store.clone();
                async move { store.write_batch(batch, permit).await }
            })
            .await
    }

    /// Writes one batch and answers each of its creates; `permit` is released once no
    /// statement of the batch is left but the commit.
    async fn write_batch(&self, batch: Vec<Job<PreparedCreate>>, permit: OwnedSemaphorePermit) {
        let mut permit = Some(permit);
        if batch.len() == 1 {
            // Nothing to share: the single-create transaction.
            for job in batch {
                let result = self.create_alone(&job.work).await;
                let _ = job.answer.send(result);
            }
            return;
        }
        let creates: Vec<&PreparedCreate> = batch.iter().map(|j| &j.work).collect();
        let lease = self.dispatch_lease();
        match self
            .create_together(&creates, &mut permit, lease.as_ref())
            .await
        {
            Ok(leased) => {
                self.dispatch(lease, leased);
                self.creates.batches.fetch_add(1, Ordering::Relaxed);
                self.creates
                    .shared
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                for job in batch {
                    let _ = job.answer.send(Ok(true));
                }
            }
            Err(Failed::BeforeCommit(e)) if !one_by_one(&e) => {
                // The database is away or a lock or statement timed out: each create alone
                // would only wait out the same timeout in turn. All answer at once.
                tracing::warn!(size = batch.len(), error = %e, "a batch of creates failed");
                for job in batch {
                    let _ = job.answer.send(Err(replicate(&e)));
                }
            }
            Err(Failed::BeforeCommit(e)) => {
                tracing::debug!(size = batch.len(), error = %e, "batch refused; creating one by one");
                for job in batch {
                    let result = self.create_alone(&job.work).await;
                    let _ = job.answer.send(result);
                }
            }
            Err(Failed::Commit(e)) => {
                tracing::warn!(size = batch.len(), error = %e, "a batch's commit failed");
                for job in batch {
                    let _ = job.answer.send(Err(replicate(&e)));
                }
            }
        }
    }

    /// Every create of `creates` in one transaction, with multi-row inserts.
    async fn create_together(
        &self,
        creates: &[&PreparedCreate],
        permit: &mut Option<OwnedSemaphorePermit>,
        lease: Option<&Lease>,
    ) -> Result<Vec<Leased>, Failed> {
        let txn = crate::db::begin_write(&self.db)
            .await
            .map_err(|e| Failed::BeforeCommit(e.into()))?;
        // The replay records first: a replay is refused before anything else is tried (and
        // on SQLite the transaction takes the write lock at once).
        let signatures: Vec<&Signature> = creates
            .iter()
            .filter_map(|c| c.first_use.as_ref())
            .collect();
        let leased = match insert_batch(&txn, &signatures, creates, lease).await {
            Ok(leased) => leased,
            Err(e) => {
                // Rolled back before the creates run again one by one, so that none of them waits
                // for a lock this transaction still holds.
                let _ = txn.rollback().await;
                // The permit stays held for the creates' second, one-by-one attempt.
                return Err(Failed::BeforeCommit(e));
            }
        };
        if self.creates.overlap_commits {
            drop(permit.take());
        }
        txn.commit().await.map_err(|e| Failed::Commit(e.into()))?;
        Ok(leased)
    }
}

/// Whether a batch that failed with `e` before its commit runs again one create at a time:
/// for a conflict of one of its creates (a duplicate, a replayed signature, a missing
/// business, a lost claim) or a deadlock between batches — not for an outage or a timeout.
fn one_by_one(e: &StorageError) -> bool {
    match e {
        StorageError::Unavailable(_) => is_contention(e),
        StorageError::Internal(_) => false,
        StorageError::NotFound(_)
        | StorageError::MissingReference(_)
        | StorageError::Conflict(_)
        | StorageError::Rejected(_) => true,
    }
}

/// (program, id, search text) of a user row, for the search index's side table.
pub(super) fn search_record(row: &users::ActiveModel) -> Option<(&str, &str, &str)> {
    Some((
        row.program_id.try_as_ref()?.as_str(),
        row.id.try_as_ref()?.as_str(),
        row.search_text.try_as_ref()?.as_str(),
    ))
}

enum Failed {
    BeforeCommit(StorageError),
    Commit(StorageError),
}

/// The same error for each create of a batch whose commit failed (whether it took effect is
/// unknown).
fn replicate(e: &StorageError) -> StorageError {
    match e {
        StorageError::Unavailable(db) => {
            StorageError::unavailable(format!("a batch of creates failed: {db}"))
        }
        other => InternalError::BatchCommit(other.to_string()).into(),
    }
}

impl SqlStore {
    /// One create in its own transaction. `Ok(false)`: a replayed signature, nothing written.
    pub(crate) async fn create_alone(&self, create: &PreparedCreate) -> Result<bool, StorageError> {
        let Some(txn) = self.begin_once(create.first_use.as_ref()).await? else {
            return Ok(false);
        };
        let lease = self.dispatch_lease();
        match insert_batch(&txn, &[], &[create], lease.as_ref()).await {
            Ok(leased) => {
                txn.commit().await?;
                self.dispatch(lease, leased);
                Ok(true)
            }
            Err(e) => {
                rollback(txn).await;
                Err(e)
            }
        }
    }
}

/// Writes the rows of `creates` on `txn` with `signatures` (their replay records, when not
/// written already), with one multi-row insert per table, and completes their idempotency
/// keys. Fails as a whole. Answers the deliveries written under `lease`, to dispatch after
/// the commit. On PostgreSQL the rows are one statement (`fold.rs`).
pub(crate) async fn insert_batch(
    txn: &impl ConnectionTrait,
    signatures: &[&Signature],
    creates: &[&PreparedCreate],
    lease: Option<&Lease>,
) -> Result<Vec<Leased>, StorageError> {
    let events: Vec<crate::events::Sequenced> = creates.iter().map(|c| c.event.clone()).collect();
    let users: Vec<users::ActiveModel> = creates.iter().map(|c| c.user.clone()).collect();
    let meta: Vec<user_meta_data::ActiveModel> = creates
        .iter()
        .flat_map(|c| c.meta.iter().cloned())
        .collect();
    let leased = if txn.get_database_backend() == DbBackend::Postgres {
        let rows = super::fold::Rows {
            seen: signatures
                .iter()
                .map(|s| crate::replay::seen_row(s))
                .collect(),
            users,
            counts: per_program(creates),
            meta,
        };
        super::fold::write_rows(txn, rows, events, lease).await?
    } else {
        if !signatures.is_empty() {
            crate::replay::insert_signatures(txn, signatures.iter().copied()).await?;
        }
        users::Entity::insert_many(users)
            .exec_without_returning(txn)
            .await?;
        crate::search::USERS
            .insert_trigrams(txn, creates.iter().filter_map(|c| search_record(&c.user)))
            .await?;
        for (program, shard, n) in per_program(creates) {
            add_to_count(txn, program, shard, n).await?;
        }
        if !meta.is_empty() {
            user_meta_data::Entity::insert_many(meta)
                .exec_without_returning(txn)
                .await?;
        }
        crate::events::write_leased(txn, events, lease).await?
    };
    for c in creates {
        if let (Some(contact), Some(business_id)) = (&c.contact, &c.business_id) {
            let found = businesses::Entity::find_by_id(business_id.clone())
                .filter(businesses::Column::ProgramId.eq(c.program.uuid().to_string()))
                .one(txn)
                .await?;
            if found.is_none() {
                return Err(StorageError::MissingReference(Reference::BusinessId));
            }
            business_contacts::Entity::insert(contact.clone())
                .exec_without_returning(txn)
                .await?;
        }
    }
    for c in creates {
        if let Some(completion) = &c.completion {
            completion.write(txn, c.program).await?;
        }
    }
    Ok(leased)
}

/// The user count increments of `creates`: one per program (on the shard of its first user),
/// in program order, so that concurrent batches lock count rows in the same order.
fn per_program(creates: &[&PreparedCreate]) -> Vec<(ProgramId, i32, i64)> {
    let mut per_program = std::collections::BTreeMap::<String, (ProgramId, i32, i64)>::new();
    for c in creates {
        per_program
            .entry(c.program.uuid().to_string())
            .or_insert((c.program, c.shard, 0))
            .2 += 1;
    }
    per_program.into_values().collect()
}
