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
    waiting: Arc<Mutex<Vec<Job<T>>>>,
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
            waiting: Arc::new(Mutex::new(Vec::new())),
            leaders: Arc::new(Semaphore::new(batches_at_once.max(1))),
        }
    }

    /// Queues `work`, then leads batches (each written by `write` in a task of its own, which
    /// releases the permit when the next batch may start) until `work`'s answer arrives.
    ///
    /// A caller that goes away (its client disconnected and the request was dropped) leaves
    /// a task behind that leads until the queue it left is written: work once queued is
    /// written and answered, never stranded until the next caller arrives.
    pub(crate) async fn submit<F, Fut>(&self, work: T, write: F) -> Result<bool, StorageError>
    where
        F: Fn(Vec<Job<T>>, OwnedSemaphorePermit) -> Fut + Clone + Send + Sync + 'static,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        let (answer, mut answered) = oneshot::channel();
        self.waiting
            .lock()
            .map_err(|_| abandoned())?
            .push(Job { work, answer });
        let leader = Leader {
            waiting: self.waiting.clone(),
            leaders: self.leaders.clone(),
            write,
        };
        let stand_in = Leader {
            waiting: leader.waiting.clone(),
            leaders: leader.leaders.clone(),
            write: leader.write.clone(),
        };
        let mut left = Left(Some(Box::new(move || {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(stand_in.drain());
            }
        })));
        let result = async {
            loop {
                let permit = tokio::select! {
                    biased;
                    result = &mut answered => return result.unwrap_or_else(|_| Err(abandoned())),
                    permit = leader.leaders.clone().acquire_owned() => permit.map_err(|_| abandoned())?,
                };
                if !leader.lead(permit)? {
                    // Another leader took this work; its answer is on the way.
                    return answered.await.unwrap_or_else(|_| Err(abandoned()));
                }
            }
        }
        .await;
        left.0 = None;
        result
    }
}

/// What a caller needs to lead batches: the queue, the permits and the writer.
struct Leader<T, F> {
    waiting: Arc<Mutex<Vec<Job<T>>>>,
    leaders: Arc<Semaphore>,
    write: F,
}

impl<T, F, Fut> Leader<T, F>
where
    T: Send + 'static,
    F: Fn(Vec<Job<T>>, OwnedSemaphorePermit) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    /// With `permit`, takes what is queued (up to [`MAX_BATCH`]) and writes it in a task of
    /// its own. `Ok(false)`: nothing was queued.
    fn lead(&self, permit: OwnedSemaphorePermit) -> Result<bool, StorageError> {
        let batch = {
            let mut waiting = self.waiting.lock().map_err(|_| abandoned())?;
            let n = waiting.len().min(MAX_BATCH);
            waiting.drain(..n).collect::<Vec<_>>()
        };
        if batch.is_empty() {
            return Ok(false);
        }
        tokio::spawn((self.write)(batch, permit));
        Ok(true)
    }
}

/// Dropped with a caller's `submit`: if the caller went away before its answer (the stand-in
/// is still there), a task takes its place and leads until the queue is empty.
struct Left(Option<Box<dyn FnOnce() + Send>>);

impl Drop for Left {
    fn drop(&mut self) {
        if let Some(stand_in) = self.0.take() {
            stand_in();
        }
    }
}

impl<T, F> Leader<T, F>
where
    T: Send + 'static,
{
    /// Leads batches until nothing is queued.
    async fn drain<Fut>(self)
    where
        F: Fn(Vec<Job<T>>, OwnedSemaphorePermit) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        loop {
            let Ok(permit) = self.leaders.clone().acquire_owned().await else {
                return;
            };
            if !matches!(self.lead(permit), Ok(true)) {
                return;
            }
        }
    }
}

/// A lock poisoned or a leader gone: the work's answer is lost.
fn abandoned() -> StorageError {
    InternalError::Abandoned.into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use tokio::sync::OwnedSemaphorePermit;

    use super::{Job, Queue};

    /// A writer that records what it wrote and answers each job.
    fn recorder(
        written: &Arc<Mutex<Vec<u32>>>,
    ) -> impl Fn(
        Vec<Job<u32>>,
        OwnedSemaphorePermit,
    ) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
    + Clone
    + Send
    + Sync
    + 'static {
        let written = written.clone();
        move |batch, permit| {
            let written = written.clone();
            Box::pin(async move {
                for job in batch {
                    written.lock().unwrap().push(job.work);
                    let _ = job.answer.send(Ok(true));
                }
                drop(permit);
            })
        }
    }

    #[tokio::test]
    async fn work_whose_caller_went_away_is_still_written() {
        let queue = Arc::new(Queue::<u32>::new(1));
        let written = Arc::new(Mutex::new(Vec::new()));
        // The only permit is held, as by a batch being written.
        let busy = queue.leaders.clone().acquire_owned().await.unwrap();
        let caller = {
            let (queue, write) = (queue.clone(), recorder(&written));
            tokio::spawn(async move { queue.submit(7, write).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        // The client disconnects: the request, waiting for the permit, is dropped.
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        drop(busy);
        for _ in 0..200 {
            if !written.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            *written.lock().unwrap(),
            [7],
            "written without another caller arriving"
        );
    }

    #[tokio::test]
    async fn callers_get_their_own_answers() {
        let queue = Arc::new(Queue::<u32>::new(1));
        let written = Arc::new(Mutex::new(Vec::new()));
        let callers: Vec<_> = (0..20)
            .map(|n| {
                let (queue, write) = (queue.clone(), recorder(&written));
                tokio::spawn(async move { queue.submit(n, write).await })
            })
            .collect();
        for caller in callers {
            assert!(caller.await.unwrap().unwrap());
        }
        let mut all = written.lock().unwrap().clone();
        all.sort_unstable();
        assert_eq!(all, (0..20).collect::<Vec<_>>());
    }
}
