//! Sanctions screening in the service (SPEC §8): the list in memory ([`Screener`], swapped
//! atomically when the database's current version changes), loading a list directory, and the
//! background worker that polls for new versions and runs the rescreen of every submitted
//! user under the database's lease.
//!
//! A list is loaded into the database (`onboard screening load DIR`, or `screening_list_dir` at
//! start); every instance builds its index from the stored files of the current version, so all
//! instances screen against the same version and pick up a new one within `screening_poll_ms`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::screening::{
    ListFile, ListReport, PersonQuery, PreparedName, ScreeningIndex, ScreeningStatus, parse_sdn,
};
use domain::{ProgramId, User};
use storage::screening::{
    ListFiles, ListVersion, Loaded, MatchedEntry, RescreenBatch, ScreeningWrite, Trigger,
};
use storage::{OperatorAction, SqlStore, StorageError};

use crate::clock::Clock;

/// The rescreen's lease: a holder that stops renewing it is replaced after this long.
const RESCREEN_LEASE_SECS: i64 = 60;
/// Users claimed per rescreen batch.
pub const RESCREEN_BATCH: u64 = 1000;
/// Who the rescreen's screenings are by.
const RESCREEN_ACTOR: &str = "screening:rescreen";

/// A list version in memory, ready to screen against.
#[derive(Debug)]
pub struct ActiveList {
    /// The stored version.
    pub version: ListVersion,
    /// Its individuals, indexed.
    pub index: ScreeningIndex,
}

/// The current list of this instance (none: screening is off) and the review threshold.
#[derive(Debug)]
pub struct Screener {
    threshold: f64,
    current: RwLock<Option<Arc<ActiveList>>>,
    /// Whether the worker has made its first attempt at the configured list (see
    /// [`Screener::until_started`]).
    started: tokio::sync::watch::Sender<bool>,
}

/// The longest a submission waits at start-up for the configured list.
const STARTUP_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a list could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The files hold no entry at all.
    #[error("{0}: no entry could be read from sdn.csv")]
    Empty(PathBuf),
    /// The database refused.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl ActiveList {
    /// Screens a user against this list, a best score at or above `threshold` being a
    /// potential match. CPU work (≈ 0.1–0.7 ms a name against the full list).
    pub fn screen(
        &self,
        user: &User,
        threshold: f64,
        trigger: Trigger,
        actor: &str,
        now: DateTime<Utc>,
    ) -> ScreeningWrite {
        let profile = user.profile();
        let name = PreparedName::person(
            std::iter::once(profile.first_name().as_str())
                .chain(profile.middle_name().map(domain::PersonName::as_str))
                .chain(std::iter::once(profile.last_name().as_str())),
        );
        let query = PersonQuery {
            name,
            dob: profile.date_of_birth().map(|d| d.date()),
        };
        let hit = self.index.screen(&query, threshold);
        let outcome = ScreeningStatus::of_score(hit.as_ref().map(|h| h.score), threshold);
        ScreeningWrite {
            user: user.id(),
            list_id: self.version.id,
            trigger,
            best: hit.map(|h| MatchedEntry {
                score: h.score,
                entry_number: h.entry_number,
                entry_name: h.listed_name,
            }),
            outcome,
            actor: actor.to_owned(),
            at: now,
        }
    }
}

impl Screener {
    /// Screening off until a list is installed.
    pub fn new(threshold: f64) -> Self {
        Self {
            threshold,
            current: RwLock::new(None),
            started: tokio::sync::watch::Sender::new(false),
        }
    }

    /// Waits (at most 10 s) until the worker's first attempt to load the configured list and
    /// install the current one has ended, so that a submission arriving while the service
    /// starts is screened instead of passing unscreened.
    pub async fn until_started(&self) {
        let mut started = self.started.subscribe();
        let _ = tokio::time::timeout(STARTUP_WAIT, started.wait_for(|s| *s)).await;
    }

    /// The review threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The list in use, if any.
    pub fn active(&self) -> Option<Arc<ActiveList>> {
        self.current.read().map_or(None, |c| c.clone())
    }

    fn install(&self, list: Arc<ActiveList>) {
        if let Ok(mut current) = self.current.write() {
            *current = Some(list);
        }
    }

    /// Screens a user against the list in use; `None` when screening is off.
    pub fn screen(
        &self,
        user: &User,
        trigger: Trigger,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Option<ScreeningWrite> {
        let list = self.active()?;
        Some(list.screen(user, self.threshold, trigger, actor, now))
    }

    /// Installs the database's current version if it is not the one in use; `true` when it
    /// changed. Parsing and indexing run off the async executor.
    pub async fn refresh(&self, store: &SqlStore) -> Result<bool, StorageError> {
        let Some(version) = store.current_screening_list().await? else {
            return Ok(false);
        };
        if self.active().is_some_and(|a| a.version.id == version.id) {
            return Ok(false);
        }
        let Some(files) = store.screening_list_files(version.id).await? else {
            return Ok(false);
        };
        let index = tokio::task::spawn_blocking(move || {
            ScreeningIndex::for_people(&parse_sdn(&files.sdn, &files.alt, &files.add))
        })
        .await
        .map_err(|_| StorageError::unavailable("screening index build stopped"))?;
        tracing::info!(
            list = %version.id,
            sha256 = %version.sha256,
            entries = version.entries,
            individuals = index.entry_count(),
            "screening list in use"
        );
        self.install(Arc::new(ActiveList { version, index }));
        Ok(true)
    }
}

/// Reads `sdn.csv`, `alt.csv` and `add.csv` of a list directory.
pub fn read_dir(dir: &Path) -> Result<ListFiles, LoadError> {
    let read = |file: ListFile| {
        let path = dir.join(file.file_name());
        std::fs::read(&path).map_err(|source| LoadError::Read { path, source })
    };
    Ok(ListFiles {
        sdn: read(ListFile::Sdn)?,
        alt: read(ListFile::Alt)?,
        add: read(ListFile::Add)?,
    })
}

/// Parses a list directory and stores it as the current version (unless it is the current one
/// already), logging a warning with the count of malformed rows skipped.
pub async fn load_dir(
    store: &SqlStore,
    dir: &Path,
    action: &OperatorAction,
    now: DateTime<Utc>,
) -> Result<(Loaded, ListReport), LoadError> {
    let files = read_dir(dir)?;
    let parsed = {
        let files = files.clone();
        tokio::task::spawn_blocking(move || parse_sdn(&files.sdn, &files.alt, &files.add))
            .await
            .map_err(|_| StorageError::unavailable("list parsing stopped"))?
    };
    if parsed.report.entries == 0 {
        return Err(LoadError::Empty(dir.to_owned()));
    }
    if !parsed.report.skipped.is_empty() {
        tracing::warn!(
            dir = %dir.display(),
            skipped = parsed.report.skipped.len(),
            first = ?parsed.report.skipped.first(),
            "screening list: malformed rows skipped"
        );
    }
    let loaded = store
        .load_screening_list(&files, &parsed.report, action, now)
        .await?;
    Ok((loaded, parsed.report))
}

/// Rescreens claimed batches of [`RESCREEN_BATCH`] users until nothing is left for this holder;
/// returns how many users were screened. Runs only with the database's current version in
/// memory.
pub async fn rescreen(
    store: &SqlStore,
    screener: &Screener,
    holder: &str,
    clock: &dyn Clock,
) -> Result<usize, StorageError> {
    rescreen_in_batches(store, screener, holder, clock, RESCREEN_BATCH).await
}

/// A batch screened, waiting to be written.
type Screened = (RescreenBatch, Vec<(ProgramId, ScreeningWrite)>);

/// [`rescreen`] in batches of `batch` users, three at a time in flight: while a batch is
/// screened on a blocking thread (CPU work), the batch after it is claimed and the one before
/// it written.
pub async fn rescreen_in_batches(
    store: &SqlStore,
    screener: &Screener,
    holder: &str,
    clock: &dyn Clock,
    batch: u64,
) -> Result<usize, StorageError> {
    let lease = chrono::Duration::seconds(RESCREEN_LEASE_SECS);
    // Writes a screened batch: `None` when this holder lost the lease (or the list changed).
    let write = |screened: Option<Screened>| async move {
        match screened {
            Some((claimed, writes)) => {
                store
                    .record_rescreen(holder, lease, &claimed, &writes, clock.now())
                    .await
            }
            None => Ok(Some(0)),
        }
    };
    let claim_after = |previous: Option<RescreenBatch>| async move {
        store
            .claim_rescreen(holder, lease, batch, previous.as_ref(), clock.now())
            .await
    };
    let mut total = 0;
    let mut next = claim_after(None).await?;
    // Whether a batch of this pass was claimed since the last claim without one.
    let mut claimed_after = false;
    let mut unwritten: Option<Screened> = None;
    loop {
        let list = next.as_ref().and_then(|c| {
            screener
                .active()
                .filter(|a| a.version.id == c.batch.list_id)
        });
        let (Some(claim), Some(list)) = (next.take(), list) else {
            // Nothing after the last batch claimed (or this instance has not installed the new
            // version yet: the next pass will): write what is screened, then claim once more
            // from where the database says the rescreen stands (the sweep, or done).
            match write(unwritten.take()).await? {
                Some(n) => total += n,
                None => return Ok(total),
            }
            if std::mem::take(&mut claimed_after) {
                next = claim_after(None).await?;
                continue;
            }
            return Ok(total);
        };
        let threshold = screener.threshold();
        let now = clock.now();
        let users = claim.users;
        let screening = tokio::task::spawn_blocking(move || {
            users
                .iter()
                .map(|u| {
                    let write = list.screen(u, threshold, Trigger::Rescreen, RESCREEN_ACTOR, now);
                    (u.program_id(), write)
                })
                .collect::<Vec<_>>()
        });
        let (batch_writes, following, written) = tokio::join!(
            screening,
            claim_after(Some(claim.batch.clone())),
            write(unwritten.take())
        );
        match written? {
            Some(n) => total += n,
            None => return Ok(total),
        }
        let writes =
            batch_writes.map_err(|_| StorageError::unavailable("rescreen screening stopped"))?;
        unwritten = Some((claim.batch, writes));
        next = following?;
        claimed_after = true;
    }
}

/// Loads `dir` (if configured) at start, then every `every`: picks up a new current version and
/// runs the rescreen.
pub fn spawn_worker(
    store: SqlStore,
    screener: Arc<Screener>,
    clock: Arc<dyn Clock>,
    dir: Option<PathBuf>,
    every: Duration,
) {
    tokio::spawn(async move {
        if let Some(dir) = &dir {
            let action = OperatorAction::new(
                "config:screening_list_dir",
                format!("screening load {}", dir.display()),
            );
            match load_dir(&store, dir, &action, clock.now()).await {
                Ok((Loaded::New(v), _)) => {
                    tracing::info!(list = %v.id, sha256 = %v.sha256, entries = v.entries, "screening list loaded from screening_list_dir");
                }
                Ok((Loaded::Unchanged(v), _)) => {
                    tracing::info!(list = %v.id, "screening_list_dir holds the current list");
                }
                Err(e) => tracing::error!(error = %e, "screening_list_dir could not be loaded"),
            }
        }
        match screener.refresh(&store).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "screening is off: no sanctions list loaded (screening_list_dir, or onboard screening load DIR)"
            ),
            Err(e) => tracing::warn!(error = %e, "the screening list could not be read"),
        }
        screener.started.send_replace(true);
        let holder = format!("instance:{}", uuid::Uuid::now_v7());
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = screener.refresh(&store).await {
                tracing::warn!(error = %e, "the screening list could not be refreshed");
                continue;
            }
            match rescreen(&store, &screener, &holder, clock.as_ref()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(users = n, "rescreened against the new list"),
                Err(e) => tracing::warn!(error = %e, "the rescreen failed a pass"),
            }
        }
    });
}

/// The screening of a submission (`send-verification-request`), to record with it: `None` when
/// screening is off or the user is not the program's (the change then answers 404).
pub async fn submission(
    screener: &Screener,
    store: &dyn storage::Repositories,
    program: domain::ProgramId,
    id: domain::UserId,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<Option<ScreeningWrite>, StorageError> {
    screener.until_started().await;
    if screener.active().is_none() {
        return Ok(None);
    }
    let Some(user) = store.get_user(program, id).await? else {
        return Ok(None);
    };
    Ok(screener.screen(&user, Trigger::Submission, actor, now))
}
