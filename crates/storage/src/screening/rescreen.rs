//! The rescreen of every submitted user after a new list version, resumable and done once
//! across instances: one instance at a time holds a lease on the `screening_state` row (holder
//! and expiry), claims a batch of submitted users not yet screened against the current list,
//! screens them in memory, and writes their screenings in one transaction that first checks it
//! still holds the lease. A holder that dies loses its lease when it expires and another
//! instance continues where the database says the work stands; a user is written at most once
//! per list version (its `screening_subjects.list_id` is checked under the user's row lock).
//!
//! Users are walked in id order along the primary key: a claim reads the next users after
//! `screening_state.rescreen_cursor` (migration 19), which each written batch moves to its
//! last user, so that a claim costs the same at the end of a rescreen of a million users as at
//! its start (searching all users for those not yet screened, as each claim did before, made
//! the whole rescreen quadratic). The cursor moves only with a written batch, so a batch
//! claimed by a holder that died is claimed again. A holder may claim its next batch before
//! it has written the one before ([`RescreenBatch`] says where that one ended): such a claim
//! only reads, so that it runs beside the writing.
//!
//! The walk misses a user submitted behind the cursor whose submission was not screened
//! against the current list: by an instance that had not yet installed the new version (or
//! had no list yet). So when the walk reaches the last user, a sweep searches all submitted
//! users for any not screened against the current list, and the rescreen is marked done only
//! when that search, under the state row's lock and with no claimed batch left to write, finds
//! none (what each claim searched before).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use domain::{KycStatus, ProgramId, User};
use sea_orm::sea_query::{Condition, Expr, ExprTrait as _, JoinType};
use sea_orm::{
    ColumnTrait as _, ConnectionTrait, DatabaseTransaction, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _, QueryTrait,
};

use super::ScreeningWrite;
use super::entity::{screening_state, screening_subjects};
use super::write::{RequestRef, write_many_in};
use crate::SqlStore;
use crate::entity::users;
use crate::error::{Problem, StorageError};
use crate::time::to_ms;

/// Where a claimed batch of the rescreen ends: handed back with its screenings to
/// [`SqlStore::record_rescreen`], and to the holder's next [`SqlStore::claim_rescreen`] when it
/// claims before the batch is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RescreenBatch {
    /// The list version to screen against.
    pub list_id: uuid::Uuid,
    /// Where the batch ends: its last user, or the last of the walk's window it comes from
    /// (whose other users were screened already).
    last: String,
    /// Whether the batch is of the final sweep (see the module) rather than of the walk.
    sweep: bool,
}

/// A claimed batch of the rescreen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RescreenClaim {
    /// Which batch it is.
    pub batch: RescreenBatch,
    /// The users to screen (of any programs), in id order.
    pub users: Vec<User>,
}

/// Locks the state row (a no-op write) and reads it.
async fn lock_state(
    txn: &DatabaseTransaction,
) -> Result<Option<screening_state::Model>, StorageError> {
    screening_state::Entity::update_many()
        .col_expr(
            screening_state::Column::Id,
            Expr::col(screening_state::Column::Id),
        )
        .filter(screening_state::Column::Id.eq(1))
        .exec(txn)
        .await?;
    Ok(screening_state::Entity::find_by_id(1).one(txn).await?)
}

/// The sweep: the submitted users (KYC requested) with an id after each of `after`, not
/// screened against `list`, the first `limit` in id order. An anti-join of the users' primary
/// key with the subjects' (`LEFT JOIN … IS NULL`: MariaDB turns `NOT EXISTS` into a
/// materialized subquery), the same bounds on both sides so that PostgreSQL's merge anti-join
/// reads no subject before them; it reads every user after them, once a rescreen.
async fn unscreened(
    db: &impl ConnectionTrait,
    list: &str,
    after: &[&str],
    limit: u64,
) -> Result<Vec<users::Model>, StorageError> {
    let subject = |c: screening_subjects::Column| Expr::col((screening_subjects::Entity, c));
    let mut on = Condition::all()
        .add(subject(screening_subjects::Column::UserId).equals((users::Entity, users::Column::Id)))
        .add(subject(screening_subjects::Column::ListId).eq(list));
    let mut select = users::Entity::find()
        .filter(users::Column::KycStatus.ne(KycStatus::NotStarted.as_str()))
        .filter(subject(screening_subjects::Column::UserId).is_null());
    for id in after {
        select = select.filter(users::Column::Id.gt(*id));
        on = on.add(subject(screening_subjects::Column::UserId).gt(*id));
    }
    QueryTrait::query(&mut select).join(JoinType::LeftJoin, screening_subjects::Entity, on);
    Ok(select
        .order_by_asc(users::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The walk's next users after each of `after` (the cursor, a holder's previous batch): the
/// next window of `limit` submitted users, those of them not screened against `list` (the
/// others were screened by their submission), and where the window ends (`None`: the walk is
/// at its end). A window whose users were all screened is passed over. Both statements read a
/// range of a primary key no longer than the window, whatever plan the database picks.
async fn walk(
    db: &impl ConnectionTrait,
    list: &str,
    after: &[&str],
    limit: u64,
) -> Result<(Vec<users::Model>, Option<String>), StorageError> {
    let mut after: Vec<String> = after.iter().map(|&a| a.to_owned()).collect();
    loop {
        let mut window = users::Entity::find()
            .filter(users::Column::KycStatus.ne(KycStatus::NotStarted.as_str()));
        for id in &after {
            window = window.filter(users::Column::Id.gt(id.as_str()));
        }
        let rows = window
            .order_by_asc(users::Column::Id)
            .limit(limit)
            .all(db)
            .await?;
        let Some(end) = rows.last().map(|r| r.id.clone()) else {
            return Ok((rows, None));
        };
        let mut screened = screening_subjects::Entity::find()
            .select_only()
            .column(screening_subjects::Column::UserId)
            .filter(screening_subjects::Column::ListId.eq(list))
            .filter(screening_subjects::Column::UserId.lte(end.as_str()));
        for id in &after {
            screened = screened.filter(screening_subjects::Column::UserId.gt(id.as_str()));
        }
        let screened: HashSet<String> = screened
            .into_tuple::<String>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let rows: Vec<users::Model> = rows
            .into_iter()
            .filter(|r| !screened.contains(&r.id))
            .collect();
        if !rows.is_empty() {
            return Ok((rows, Some(end)));
        }
        after = vec![end];
    }
}

/// Whether `holder` may claim: a list is current, its rescreen is not done, and no other
/// holder's lease is live.
fn open_to(state: &screening_state::Model, holder: &str, now: DateTime<Utc>) -> bool {
    let taken_by_other = state
        .rescreen_holder
        .as_deref()
        .is_some_and(|h| h != holder)
        && state.rescreen_until.is_some_and(|until| until > to_ms(now));
    state.rescreen_done_at.is_none() && !taken_by_other
}

/// The claim of `rows` (none: `None`) ending at `last`, their users read with their meta data.
async fn claimed(
    db: &impl ConnectionTrait,
    list_id: uuid::Uuid,
    rows: Vec<users::Model>,
    last: Option<String>,
    sweep: bool,
) -> Result<Option<RescreenClaim>, StorageError> {
    let Some(last) = last.filter(|_| !rows.is_empty()) else {
        return Ok(None);
    };
    let users = crate::users::rows::with_meta(db, rows).await?;
    Ok(Some(RescreenClaim {
        batch: RescreenBatch {
            list_id,
            last,
            sweep,
        },
        users,
    }))
}

async fn finish<T>(
    txn: DatabaseTransaction,
    result: Result<T, StorageError>,
    commit: bool,
) -> Result<T, StorageError> {
    match result {
        Ok(value) if commit => {
            txn.commit().await?;
            Ok(value)
        }
        Ok(value) => {
            crate::along::rollback(txn).await;
            Ok(value)
        }
        Err(e) => {
            crate::along::rollback(txn).await;
            Err(e)
        }
    }
}

impl SqlStore {
    /// Claims the next `batch` submitted users (KYC requested) not yet screened against the
    /// current list for `holder`: after `previous` (this holder's last claimed batch, written or
    /// not) or, without it, after the last batch written (the database's cursor); once the walk
    /// is at its end, the sweep. A claim without `previous` takes or renews the lease until
    /// `now + lease`, in a transaction under the state row's lock; a claim after `previous` only
    /// reads (the holder renews its lease with each batch it writes), so that it can run beside
    /// the writing of `previous`.
    ///
    /// `None`: no list, another holder's lease is live, the list changed since `previous`, or
    /// nothing is left after `previous` (write it, then claim without it) or at all (the
    /// rescreen is then marked done and the lease released — only by a claim without
    /// `previous`, so never while a claimed batch may still be written).
    pub async fn claim_rescreen(
        &self,
        holder: &str,
        lease: Duration,
        batch: u64,
        previous: Option<&RescreenBatch>,
        now: DateTime<Utc>,
    ) -> Result<Option<RescreenClaim>, StorageError> {
        let Some(previous) = previous else {
            return self.start_rescreen(holder, lease, batch, now).await;
        };
        let Some(state) = screening_state::Entity::find_by_id(1).one(&self.db).await? else {
            return Ok(None);
        };
        if !open_to(&state, holder, now) || previous.list_id.to_string() != state.current_list_id {
            return Ok(None);
        }
        let current = state.current_list_id.as_str();
        let (rows, last) = if previous.sweep {
            let rows = unscreened(&self.db, current, &[&previous.last], batch).await?;
            let last = rows.last().map(|r| r.id.clone());
            (rows, last)
        } else {
            let mut after: Vec<&str> = state.rescreen_cursor.as_deref().into_iter().collect();
            after.push(&previous.last);
            walk(&self.db, current, &after, batch).await?
        };
        claimed(&self.db, previous.list_id, rows, last, previous.sweep).await
    }

    /// A claim without a previous batch (see [`SqlStore::claim_rescreen`]).
    async fn start_rescreen(
        &self,
        holder: &str,
        lease: Duration,
        batch: u64,
        now: DateTime<Utc>,
    ) -> Result<Option<RescreenClaim>, StorageError> {
        let txn = crate::db::begin_write(&self.db).await?;
        let result = async {
            let Some(state) = lock_state(&txn).await? else {
                return Ok(None);
            };
            if !open_to(&state, holder, now) {
                return Ok(None);
            }
            let current = state.current_list_id.as_str();
            let list_id = current.parse().map_err(|_| {
                StorageError::corrupt("screening_state.current_list_id", Problem::NotUuid)
            })?;
            let after: Vec<&str> = state.rescreen_cursor.as_deref().into_iter().collect();
            let (mut rows, mut last) = walk(&txn, current, &after, batch).await?;
            let mut sweep = false;
            if rows.is_empty() {
                // The walk is at its end: the sweep, from the first user.
                sweep = true;
                rows = unscreened(&txn, current, &[], batch).await?;
                last = rows.last().map(|r| r.id.clone());
            }
            let (holder_value, until, done) = if rows.is_empty() {
                (None, None, Some(to_ms(now)))
            } else {
                (Some(holder.to_owned()), Some(to_ms(now + lease)), None)
            };
            screening_state::Entity::update_many()
                .col_expr(screening_state::Column::RescreenHolder, holder_value.into())
                .col_expr(screening_state::Column::RescreenUntil, until.into())
                .col_expr(screening_state::Column::RescreenDoneAt, done.into())
                .filter(screening_state::Column::Id.eq(1))
                .exec(&txn)
                .await?;
            claimed(&txn, list_id, rows, last, sweep).await
        }
        .await;
        finish(txn, result, true).await
    }

    /// Writes a claimed batch's screenings, in one transaction, if `holder` still holds the lease
    /// and the batch's list is still current (else `None`: nothing written); renews the lease
    /// and moves the cursor past the batch. Users already screened against the list (by their
    /// submission meanwhile, or by an earlier holder of the batch) or deleted are skipped, as are
    /// writes for another list. Returns how many screenings were written.
    pub async fn record_rescreen(
        &self,
        holder: &str,
        lease: Duration,
        batch: &RescreenBatch,
        writes: &[(ProgramId, ScreeningWrite)],
        now: DateTime<Utc>,
    ) -> Result<Option<usize>, StorageError> {
        let txn = crate::db::begin_write(&self.db).await?;
        let list = batch.list_id.to_string();
        let written = async {
            // The lease checked and renewed, and the cursor moved, in one statement that locks
            // the state row (so that batches are written one at a time).
            let mut state = screening_state::Entity::update_many()
                .col_expr(
                    screening_state::Column::RescreenUntil,
                    Some(to_ms(now + lease)).into(),
                )
                .filter(screening_state::Column::Id.eq(1))
                .filter(screening_state::Column::CurrentListId.eq(list.clone()))
                .filter(screening_state::Column::RescreenHolder.eq(holder));
            if !batch.sweep {
                let cursor = Expr::col(screening_state::Column::RescreenCursor);
                state = state.col_expr(
                    screening_state::Column::RescreenCursor,
                    Expr::case(
                        cursor
                            .clone()
                            .is_null()
                            .or(cursor.clone().lt(batch.last.as_str())),
                        batch.last.as_str(),
                    )
                    .finally(cursor)
                    .into(),
                );
            }
            if state.exec(&txn).await?.rows_affected == 0 {
                return Ok(None);
            }
            let mut seen = HashSet::new();
            let writes: Vec<(ProgramId, &ScreeningWrite)> = writes
                .iter()
                .filter(|(_, w)| w.list_id == batch.list_id && seen.insert(w.user))
                .map(|(p, w)| (*p, w))
                .collect();
            let ids: Vec<String> = writes
                .iter()
                .map(|(_, w)| w.user.uuid().to_string())
                .collect();
            // The users' rows locked (SQLite: the transaction holds the database already), and
            // only then their subjects read: MariaDB's snapshot starts at that first plain read.
            let mut present = HashSet::new();
            for chunk in ids.chunks(500) {
                let locked: Vec<String> = users::Entity::find()
                    .select_only()
                    .column(users::Column::Id)
                    .filter(users::Column::Id.is_in(chunk.iter().cloned()))
                    .order_by_asc(users::Column::Id)
                    .lock_exclusive()
                    .into_tuple()
                    .all(&txn)
                    .await?;
                present.extend(locked);
            }
            let mut subjects = HashMap::new();
            for chunk in ids.chunks(500) {
                let rows = screening_subjects::Entity::find()
                    .filter(screening_subjects::Column::UserId.is_in(chunk.iter().cloned()))
                    .all(&txn)
                    .await?;
                subjects.extend(rows.into_iter().map(|r| (r.user_id.clone(), r)));
            }
            let todo: Vec<(ProgramId, &ScreeningWrite)> = writes
                .into_iter()
                .filter(|(_, w)| {
                    let uid = w.user.uuid().to_string();
                    present.contains(&uid) && subjects.get(&uid).is_none_or(|s| s.list_id != list)
                })
                .collect();
            write_many_in(&txn, &self.views, &todo, &subjects, RequestRef::default()).await?;
            Ok(Some(todo.len()))
        }
        .await;
        let commit = matches!(written, Ok(Some(_)));
        finish(txn, written, commit).await
    }
}
