//! Group commit for creates: concurrent `create_user` calls share one transaction, written
//! with multi-row inserts, and one commit (one WAL flush, one fsync) — each caller is still
//! answered only after the commit that holds its user.
//!
//! There is no background task: the callers themselves take turns to lead. A caller queues
//! its create, then waits for whichever comes first, its answer or a batch permit; with a
//! permit it takes everything queued (up to [`MAX_BATCH`]) and writes it as one batch, in a
//! task of its own so that a caller that goes away cannot abandon the others' writes.
//!
//! A batch is all or nothing. When any statement of it fails before the commit (a duplicate
//! email, a replayed signature, a missing business, a lost idempotency claim, a deadlock
//! between batches), it is rolled back and each of its creates runs again alone, in the
//! single-create transaction, which gives each its own answer exactly as without grouping.
//! A failed commit is not retried (whether it took effect is unknown): every create of the
//! batch gets the error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sea_orm::{DbErr, TransactionTrait as _};
use tokio::sync::{Semaphore, oneshot};

use crate::SqlStore;
use crate::error::StorageError;
use crate::users::PreparedCreate;

/// How many batches may be written at once by default. One: measured on PostgreSQL with 8
/// clients (`cargo xtask bench --quick --only create`), one batch at a time gave 1953
/// creates/s at 283 µs of server CPU each, two 1650 at 365 µs, four 1542 at 458 µs — more
/// batches at once means smaller ones, and more statements per create. Several instances of
/// the service write their batches in parallel.
pub(crate) const BATCHES_AT_ONCE: usize = 1;

/// At most this many creates in one batch.
pub(crate) const MAX_BATCH: usize = 64;

/// The queue of creates waiting for a batch, and how many batches may be written at once.
pub(crate) struct GroupCommit {
    queue: Mutex<Vec<Job>>,
    leaders: Semaphore,
    /// Creates committed in batches of more than one.
    shared: AtomicU64,
    /// Batches of more than one committed.
    batches: AtomicU64,
}

struct Job {
    create: PreparedCreate,
    answer: oneshot::Sender<Result<bool, StorageError>>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("batches_at_once", &self.leaders.available_permits())
            .finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// `batches_at_once` concurrent batch transactions (at least one).
    pub(crate) fn new(batches_at_once: usize) -> Self {
        Self {
            queue: Mutex::new(Vec::new()),
            leaders: Semaphore::new(batches_at_once.max(1)),
            shared: AtomicU64::new(0),
            batches: AtomicU64::new(0),
        }
    }
}

impl SqlStore {
    /// Group commit so far: (batches of more than one create committed, creates they held).
    pub fn grouped_creates(&self) -> (u64, u64) {
        (
            self.group.batches.load(Ordering::Relaxed),
            self.group.shared.load(Ordering::Relaxed),
        )
    }

    /// Writes `create` in a batch with whatever other creates are waiting. `Ok(false)`: its
    /// signature was already recorded (a replay), nothing of it was written.
    pub(crate) async fn create_grouped(
        &self,
        create: PreparedCreate,
    ) -> Result<bool, StorageError> {
        let (answer, mut answered) = oneshot::channel();
        self.group
            .queue
            .lock()
            .map_err(|_| poisoned())?
            .push(Job { create, answer });
        loop {
            let permit = tokio::select! {
                biased;
                result = &mut answered => return result.unwrap_or_else(|_| Err(abandoned())),
                permit = self.group.leaders.acquire() => permit.map_err(|_| abandoned())?,
            };
            let batch = {
                let mut queue = self.group.queue.lock().map_err(|_| poisoned())?;
                let n = queue.len().min(MAX_BATCH);
                queue.drain(..n).collect::<Vec<_>>()
            };
            if batch.is_empty() {
                // Another leader took this create; its answer is on the way.
                drop(permit);
                return answered.await.unwrap_or_else(|_| Err(abandoned()));
            }
            let store = self.clone();
            let written = tokio::spawn(async move { store.write_batch(batch).await });
            let _ = written.await;
            drop(permit);
            // This create was in that batch, unless more than MAX_BATCH were queued ahead.
        }
    }

    /// Writes one batch and answers each of its creates.
    async fn write_batch(&self, batch: Vec<Job>) {
        if batch.len() == 1 {
            // Nothing to share: the single-create transaction.
            for job in batch {
                let result = self.create_alone(&job.create).await;
                let _ = job.answer.send(result);
            }
            return;
        }
        let creates: Vec<&PreparedCreate> = batch.iter().map(|j| &j.create).collect();
        match self.create_together(&creates).await {
            Ok(()) => {
                self.group.batches.fetch_add(1, Ordering::Relaxed);
                self.group
                    .shared
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                for job in batch {
                    let _ = job.answer.send(Ok(true));
                }
            }
            Err(Failed::BeforeCommit(e)) => {
                tracing::debug!(size = batch.len(), error = %e, "batch refused; creating one by one");
                for job in batch {
                    let result = self.create_alone(&job.create).await;
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
    async fn create_together(&self, creates: &[&PreparedCreate]) -> Result<(), Failed> {
        let txn = self
            .db
            .begin()
            .await
            .map_err(|e| Failed::BeforeCommit(e.into()))?;
        if let Err(e) = crate::users::insert_batch(&txn, creates).await {
            // Rolled back before the creates run again one by one, so that none of them waits
            // for a lock this transaction still holds.
            let _ = txn.rollback().await;
            return Err(Failed::BeforeCommit(e));
        }
        txn.commit().await.map_err(|e| Failed::Commit(e.into()))
    }
}

enum Failed {
    BeforeCommit(StorageError),
    Commit(StorageError),
}

/// The same error for each create of a batch whose commit failed.
fn replicate(e: &StorageError) -> StorageError {
    let err = DbErr::Custom(format!("the commit of a batch of creates failed: {e}"));
    match e {
        StorageError::Unavailable(_) => StorageError::Unavailable(err),
        _ => StorageError::Database(err),
    }
}

fn poisoned() -> StorageError {
    StorageError::Database(DbErr::Custom("the create queue's lock is poisoned".into()))
}

fn abandoned() -> StorageError {
    StorageError::Database(DbErr::Custom("a batch of creates was abandoned".into()))
}

/// Shared by clones of one store.
pub(crate) type Shared = Arc<GroupCommit>;
