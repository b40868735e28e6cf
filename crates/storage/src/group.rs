//! Group commit, the mechanism: concurrent callers queue their work and take turns to write
//! everything queued as one batch. Its users: creates (`users/batch.rs`: one transaction of
//! multi-row inserts and one commit — one WAL flush, one fsync — each caller answered only
//! after the commit that holds its user) and the replay guard's records (`replay.rs`).
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

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};

use crate::error::{InternalError, StorageError};

/// How many batches may be written at once by default. One: measured on PostgreSQL with 8
/// clients (`cargo xtask bench --quick --only create`), one batch at a time gave 1953
/// creates/s at 283 µs of server CPU each, two 1650 at 365 µs, four 1542 at 458 µs — more
/// batches at once means smaller ones, and more statements per create. Several instances of
/// the service write their batches in parallel.
pub(crate) const BATCHES_AT_ONCE: usize = 1;

/// At most this many creates, or signatures, in one batch.
pub(crate) const MAX_BATCH: usize = 64;

/// Work waiting for a batch, and the permits to lead one.
pub(crate) struct Queue<T> {
    waiting: Mutex<Vec<Job<T>>>,
    leaders: Arc<Semaphore>,
}

impl<T> std::fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue").finish_non_exhaustive()
    }
}

/// One caller's work and where its answer goes: `Ok(false)` for a replayed signature.
pub(crate) struct Job<T> {
    pub(crate) work: T,
    pub(crate) answer: oneshot::Sender<Result<bool, StorageError>>,
}

impl<T: Send + 'static> Queue<T> {
    /// A queue whose batches are written `batches_at_once` at a time (at least one).
    pub(crate) fn new(batches_at_once: usize) -> Self {
        Self {
            waiting: Mutex::new(Vec::new()),
            leaders: Arc::new(Semaphore::new(batches_at_once.max(1))),
        }
    }

    /// Queues `work`, then leads batches (each written by `write` in a task of its own, which
    /// releases the permit when the next batch may start) until `work`'s answer arrives.
    pub(crate) async fn submit<F, Fut>(&self, work: T, write: F) -> Result<bool, StorageError>
    where
        F: Fn(Vec<Job<T>>, OwnedSemaphorePermit) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (answer, mut answered) = oneshot::channel();
        self.waiting
            .lock()
            .map_err(|_| abandoned())?
            .push(Job { work, answer });
        loop {
            let permit = tokio::select! {
                biased;
                result = &mut answered => return result.unwrap_or_else(|_| Err(abandoned())),
                permit = self.leaders.clone().acquire_owned() => permit.map_err(|_| abandoned())?,
            };
            let batch = {
                let mut waiting = self.waiting.lock().map_err(|_| abandoned())?;
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

/// A lock poisoned or a leader gone: the work's answer is lost.
fn abandoned() -> StorageError {
    InternalError::Abandoned.into()
}
