//! The rescreen of every submitted user after a new list version, resumable and done once
//! across instances: one instance at a time holds a lease on the `screening_state` row (holder
//! and expiry), claims a batch of submitted users not yet screened against the current list,
//! screens them in memory, and writes their screenings in one transaction that first checks it
//! still holds the lease. A holder that dies loses its lease when it expires and another
//! instance continues where the database says the work stands; a user is written at most once
//! per list version (its `screening_subjects.list_id` is checked under the user's row lock).

use chrono::{DateTime, Duration, Utc};
use domain::{KycStatus, ProgramId, UserId};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait as _, DatabaseTransaction, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};

use super::entity::{screening_state, screening_subjects};
use super::write::{RequestRef, write_in};
use super::{ScreeningWrite, lock_user_row};
use crate::SqlStore;
use crate::entity::users;
use crate::error::{Problem, StorageError};
use crate::time::to_ms;

/// A claimed batch of the rescreen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RescreenClaim {
    /// The list version to screen against.
    pub list_id: uuid::Uuid,
    /// The users, by id.
    pub users: Vec<(ProgramId, UserId)>,
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
    /// Takes or renews the rescreen lease for `holder` until `now + lease`, and claims the next
    /// `batch` submitted users (KYC requested) not yet screened against the current list.
    /// `None`: no list, another holder's lease is live, or nothing is left (the rescreen is then
    /// marked done and the lease released).
    pub async fn claim_rescreen(
        &self,
        holder: &str,
        lease: Duration,
        batch: u64,
        now: DateTime<Utc>,
    ) -> Result<Option<RescreenClaim>, StorageError> {
        let txn = crate::db::begin_write(&self.db).await?;
        let claimed = async {
            let Some(state) = lock_state(&txn).await? else {
                return Ok(None);
            };
            let taken_by_other = state
                .rescreen_holder
                .as_deref()
                .is_some_and(|h| h != holder)
                && state.rescreen_until.is_some_and(|until| until > to_ms(now));
            if state.rescreen_done_at.is_some() || taken_by_other {
                return Ok(None);
            }
            let screened = Query::select()
                .column(screening_subjects::Column::UserId)
                .from(screening_subjects::Entity)
                .and_where(screening_subjects::Column::ListId.eq(state.current_list_id.clone()))
                .to_owned();
            let rows: Vec<(String, String)> = users::Entity::find()
                .select_only()
                .column(users::Column::ProgramId)
                .column(users::Column::Id)
                .filter(users::Column::KycStatus.ne(KycStatus::NotStarted.as_str()))
                .filter(users::Column::Id.not_in_subquery(screened))
                .order_by_asc(users::Column::Id)
                .limit(batch)
                .into_tuple()
                .all(&txn)
                .await?;
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
            if rows.is_empty() {
                return Ok(None);
            }
            let list_id = state.current_list_id.parse().map_err(|_| {
                StorageError::corrupt("screening_state.current_list_id", Problem::NotUuid)
            })?;
            let users = rows
                .into_iter()
                .map(|(p, u)| {
                    let parse = |s: &str, column| {
                        s.parse::<uuid::Uuid>()
                            .map_err(|_| StorageError::corrupt(column, Problem::NotUuid))
                    };
                    Ok((
                        ProgramId::from_uuid(parse(&p, "users.program_id")?),
                        UserId::from_uuid(parse(&u, "users.id")?),
                    ))
                })
                .collect::<Result<Vec<_>, StorageError>>()?;
            Ok(Some(RescreenClaim { list_id, users }))
        }
        .await;
        finish(txn, claimed, true).await
    }

    /// Writes a claimed batch's screenings, in one transaction, if `holder` still holds the lease
    /// and `list_id` is still current (else `None`: nothing written); renews the lease. Users
    /// already screened against `list_id` (by their submission meanwhile) or deleted are skipped.
    /// Returns how many screenings were written.
    pub async fn record_rescreen(
        &self,
        holder: &str,
        lease: Duration,
        list_id: uuid::Uuid,
        writes: &[(ProgramId, ScreeningWrite)],
        now: DateTime<Utc>,
    ) -> Result<Option<usize>, StorageError> {
        let txn = crate::db::begin_write(&self.db).await?;
        let list = list_id.to_string();
        let written = async {
            let Some(state) = lock_state(&txn).await? else {
                return Ok(None);
            };
            if state.current_list_id != list || state.rescreen_holder.as_deref() != Some(holder) {
                return Ok(None);
            }
            let mut written = 0;
            for (program, write) in writes {
                let uid = write.user.uuid().to_string();
                if !lock_user_row(&txn, &uid).await? {
                    continue;
                }
                let current = screening_subjects::Entity::find_by_id(uid)
                    .one(&txn)
                    .await?;
                if current.is_some_and(|s| s.list_id == list) {
                    continue;
                }
                write_in(&txn, &self.views, *program, write, RequestRef::default()).await?;
                written += 1;
            }
            screening_state::Entity::update_many()
                .col_expr(
                    screening_state::Column::RescreenUntil,
                    Some(to_ms(now + lease)).into(),
                )
                .filter(screening_state::Column::Id.eq(1))
                .exec(&txn)
                .await?;
            Ok(Some(written))
        }
        .await;
        let commit = matches!(written, Ok(Some(_)));
        finish(txn, written, commit).await
    }
}
