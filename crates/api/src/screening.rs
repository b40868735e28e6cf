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
use domain::User;
use domain::screening::{
    ListFile, ListReport, PersonQuery, PreparedName, ScreeningIndex, ScreeningStatus, parse_sdn,
};
use storage::screening::{ListFiles, ListVersion, Loaded, MatchedEntry, ScreeningWrite, Trigger};
use storage::{OperatorAction, SqlStore, StorageError, UserRepository as _};

use crate::clock::Clock;

/// The rescreen's lease: a holder that stops renewing it is replaced after this long.
const RESCREEN_LEASE_SECS: i64 = 60;
/// Users claimed per rescreen batch.
const RESCREEN_BATCH: u64 = 200;

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
        let hit = list.index.screen(&query, self.threshold);
        let outcome = ScreeningStatus::of_score(hit.as_ref().map(|h| h.score), self.threshold);
        Some(ScreeningWrite {
            user: user.id(),
            list_id: list.version.id,
            trigger,
            best: hit.map(|h| MatchedEntry {
                score: h.score,
                entry_number: h.entry_number,
                entry_name: h.listed_name,
            }),
            outcome,
            actor: actor.to_owned(),
            at: now,
        })
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

/// Rescreens claimed batches until nothing is left for this holder; returns how many users were
/// screened. Runs only with the database's current version in memory.
pub async fn rescreen(
    store: &SqlStore,
    screener: &Screener,
    holder: &str,
    clock: &dyn Clock,
) -> Result<usize, StorageError> {
    let lease = chrono::Duration::seconds(RESCREEN_LEASE_SECS);
    let mut total = 0;
    while let Some(claim) = store
        .claim_rescreen(holder, lease, RESCREEN_BATCH, clock.now())
        .await?
    {
        if screener
            .active()
            .is_none_or(|a| a.version.id != claim.list_id)
        {
            // This instance has not installed the new version yet: the next pass will.
            return Ok(total);
        }
        let mut writes = Vec::with_capacity(claim.users.len());
        for (program, id) in claim.users {
            let Some(user) = store.get_user(program, id).await? else {
                continue;
            };
            if let Some(write) =
                screener.screen(&user, Trigger::Rescreen, "screening:rescreen", clock.now())
            {
                writes.push((program, write));
            }
        }
        match store
            .record_rescreen(holder, lease, claim.list_id, &writes, clock.now())
            .await?
        {
            Some(n) => total += n,
            None => return Ok(total),
        }
    }
    Ok(total)
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
