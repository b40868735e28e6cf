//! Group commit for creates: concurrent `create_user` calls share one transaction, written
//! with multi-row inserts, and one commit (one WAL flush, one fsync) — each caller is still
//! answered only after the commit that holds its user.
//!
//! There is no background task: the callers themselves take turns to lead. A caller queues
//! its create, then waits for whichever comes first, its answer or a batch permit; with a
//! permit it takes everything queued (up to [`MAX_BATCH`]) and writes it as one batch, in a
//! task of its own so that a caller that goes away cannot abandon the others' writes. On a
//! server database the permit covers a batch's statements, not its commit: the next batch is
//! built while the previous one's commit waits for the disk. (On SQLite, whose one writer
//! holds the lock until the commit, the permit covers the commit too: the next batch would
//! only sleep in the busy handler.)
//!
//! The replay guard's records (`ReplayGuard::first_use`, every authenticated request but a
//! create) are grouped the same way: one multi-row insert for the signatures waiting, a
//! single statement, so committed when it returns.
//!
//! A batch is all or nothing. When any statement of it fails before the commit (a duplicate
//! email, a replayed signature, a missing business, a lost idempotency claim, a deadlock
//! between batches), it is rolled back and each of its creates runs again alone, in the
//! single-create transaction, which gives each its own answer exactly as without grouping.
//! A failed commit is not retried (whether it took effect is unknown): every create of the
//! batch gets the error.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use sea_orm::TransactionTrait as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::SqlStore;
use crate::error::{InternalError, StorageError};
use crate::replay::Signature;
use crate::users::create::PreparedCreate;

/// How many batches may be written at once by default. One: measured on PostgreSQL with 8
/// clients (`cargo xtask bench --quick --only create`), one batch at a time gave 1953
/// creates/s at 283 µs of server CPU each, two 1650 at 365 µs, four 1542 at 458 µs — more
/// batches at once means smaller ones, and more statements per create. Several instances of
/// the service write their batches in parallel.
pub(crate) const BATCHES_AT_ONCE: usize = 1;

/// At most this many creates, or signatures, in one batch.
pub(crate) const MAX_BATCH: usize = 64;

/// Creates and signatures waiting for a batch, and how many batches may be written at once.
pub(crate) struct GroupCommit {
    creates: Queue<PreparedCreate>,
    signatures: Queue<Signature>,
    /// Creates committed in batches of more than one.
    shared: AtomicU64,
    /// Batches of more than one create committed.
    batches: AtomicU64,
    /// Whether a batch of creates lets the next one start before its own commit.
    overlap_commits: bool,
}

/// Work waiting for a batch, and the permits to lead one.
struct Queue<T> {
    waiting: Mutex<Vec<Job<T>>>,
    leaders: Arc<Semaphore>,
}

/// One caller's work and where its answer goes: `Ok(false)` for a replayed signature.
pub(crate) struct Job<T> {
    pub(crate) work: T,
    pub(crate) answer: oneshot::Sender<Result<bool, StorageError>>,
}

impl<T: Send + 'static> Queue<T> {
    fn new(batches_at_once: usize) -> Self {
        Self {
            waiting: Mutex::new(Vec::new()),
            leaders: Arc::new(Semaphore::new(batches_at_once.max(1))),
        }
    }

    /// Queues `work`, then leads batches (each written by `write` in a task of its own, which
    /// releases the permit when the next batch may start) until `work`'s answer arrives.
    async fn submit<F, Fut>(&self, work: T, write: F) -> Result<bool, StorageError>
    where
        F: Fn(Vec<Job<T>>, OwnedSemaphorePermit) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (answer, mut answered) = oneshot::channel();
        self.waiting
            .lock()
            .map_err(|_| poisoned())?
            .push(Job { work, answer });
        loop {
            let permit = tokio::select! {
                biased;
                result = &mut answered => return result.unwrap_or_else(|_| Err(abandoned())),
                permit = self.leaders.clone().acquire_owned() => permit.map_err(|_| abandoned())?,
            };
            let batch = {
                let mut waiting = self.waiting.lock().map_err(|_| poisoned())?;
                let n = waiting.len().min(MAX_BATCH);
                waiting.drain(..n).collect::<Vec<_>>()
            };
            if batch.is_empty() {
                // Another leader took this work; its answer is on the way.
                drop(permit);
                return answered.await.unwrap_or_else(|_| Err(abandoned()));
            }
            // This caller then leads the next batch or gets its answer, whichever comes first
            // (its work was in that batch, unless more than MAX_BATCH were queued ahead).
            tokio::spawn(write(batch, permit));
        }
    }
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit")
            .field("overlap_commits", &self.overlap_commits)
            .finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// `batches_at_once` concurrent batches of each kind (at least one); `overlap_commits`:
    /// see the module's documentation.
    pub(crate) fn new(batches_at_once: usize, overlap_commits: bool) -> Self {
        Self {
            creates: Queue::new(batches_at_once),
            signatures: Queue::new(batches_at_once),
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
        let store = self.clone();
        self.group
            .creates
            .submit(create, move |batch, permit| {
                let store = store.clone();
                async move { store.write_batch(batch, permit).await }
            })
            .await
    }

    /// Records a signature as used, in one multi-row insert with whatever other signatures
    /// are waiting (a single statement: committed when it returns). `Ok(false)`: already
    /// recorded. A batch refused by a duplicate is retried one by one, so only the replay
    /// is refused.
    pub(crate) async fn first_use_grouped(
        &self,
        signature: Signature,
    ) -> Result<bool, StorageError> {
        let store = self.clone();
        self.group
            .signatures
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
            if crate::replay::insert_signatures(&self.db, signatures)
                .await
                .is_ok()
            {
                for job in batch {
                    let _ = job.answer.send(Ok(true));
                }
                return;
            }
        }
        for job in batch {
            let result = crate::replay::first_use_in(&self.db, &job.work).await;
            let _ = job.answer.send(result);
        }
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
        match self.create_together(&creates, &mut permit).await {
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
    ) -> Result<(), Failed> {
        let txn = self
            .db
            .begin()
            .await
            .map_err(|e| Failed::BeforeCommit(e.into()))?;
        // The replay records first: a replay is refused before anything else is tried (and
        // on SQLite the transaction takes the write lock at once).
        let signatures: Vec<&Signature> = creates
            .iter()
            .filter_map(|c| c.first_use.as_ref())
            .collect();
        let written = async {
            if !signatures.is_empty() {
                crate::replay::insert_signatures(&txn, signatures).await?;
            }
            crate::users::create::insert_batch(&txn, creates).await
        }
        .await;
        if let Err(e) = written {
            // Rolled back before the creates run again one by one, so that none of them waits
            // for a lock this transaction still holds.
            let _ = txn.rollback().await;
            // The permit stays held for the creates' second, one-by-one attempt.
            return Err(Failed::BeforeCommit(e));
        }
        if self.group.overlap_commits {
            drop(permit.take());
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
    match e {
        StorageError::Unavailable(db) => StorageError::Unavailable(sea_orm::DbErr::Custom(
            format!("the commit of a batch of creates failed: {db}"),
        )),
        other => InternalError::BatchCommit(Box::new(StorageError::Internal(
            InternalError::Database(sea_orm::DbErr::Custom(other.to_string())),
        )))
        .into(),
    }
}

fn poisoned() -> StorageError {
    InternalError::Abandoned.into()
}

fn abandoned() -> StorageError {
    InternalError::Abandoned.into()
}

/// Shared by clones of one store.
pub(crate) type Shared = Arc<GroupCommit>;
