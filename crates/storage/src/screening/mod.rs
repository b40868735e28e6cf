//! Sanctions screening's storage (SPEC §8): list versions ([`lists`]), the record of each
//! screening and a user's current screening status (written here, with the change it belongs
//! to), the operator's review queue and decisions ([`cases`]), and the rescreen of every
//! submitted user after a new list, under a lease taken through the database ([`rescreen`]).
//!
//! The status is kept twice, in the same transaction: `screening_subjects.status` (the review
//! queue's index) and `users.screening_status` (migration 16), which every read of a user
//! returns with the row, without a join.
//!
//! Each screening also writes a `user_events` row (`kind = screening`, from the previous status
//! to the new one), in the same transaction: the audit trail and, later, the outbox's event.

mod cases;
pub(crate) mod entity;
mod lists;
mod rescreen;
pub(crate) mod write;

use chrono::{DateTime, Utc};
use domain::screening::ScreeningStatus;
use domain::{ProgramId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
};

pub use cases::{DecidedCase, NoOpenCase, ScreeningCase};
pub use lists::{ListFiles, ListVersion, Loaded};
pub use rescreen::{RescreenBatch, RescreenClaim};

use crate::entity::{user_events, users};
use crate::error::{Problem, StorageError};
use crate::time::to_ms;
use entity::screening_subjects;

/// What caused a screening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `send-verification-request`.
    Submission,
    /// An update of a screened field.
    Update,
    /// A new list version.
    Rescreen,
}

impl Trigger {
    /// The stored token.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Submission => "submission",
            Self::Update => "update",
            Self::Rescreen => "rescreen",
        }
    }
}

/// The listed name that scored best (operators only: never shown to an integrator).
#[derive(Clone, Debug, PartialEq)]
pub struct MatchedEntry {
    /// The best score (after the date-of-birth adjustment).
    pub score: f64,
    /// The entry's number on the list.
    pub entry_number: u32,
    /// The name that scored, as listed.
    pub entry_name: String,
}

/// One screening to record, with the change it belongs to (see [`crate::Along::screening`]).
#[derive(Clone, Debug, PartialEq)]
pub struct ScreeningWrite {
    /// The screened user.
    pub user: UserId,
    /// The list version screened against.
    pub list_id: uuid::Uuid,
    /// Why.
    pub trigger: Trigger,
    /// The best hit at or above the blocking floor, if any.
    pub best: Option<MatchedEntry>,
    /// `clear` or `potential_match`.
    pub outcome: ScreeningStatus,
    /// Who screened (`api_key:…`, `screening:rescreen`).
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Sets `users.screening_status` (migration 16), what the API answers, in the screening's
/// transaction.
pub(crate) async fn set_user_status(
    conn: &impl ConnectionTrait,
    uid: &str,
    status: ScreeningStatus,
) -> Result<(), StorageError> {
    users::Entity::update_many()
        .col_expr(users::Column::ScreeningStatus, status.as_str().into())
        .filter(users::Column::Id.eq(uid))
        .exec(conn)
        .await?;
    Ok(())
}

/// A `user_events` row of kind `screening`.
pub(crate) fn event_row(
    program: ProgramId,
    uid: &str,
    from: ScreeningStatus,
    to: ScreeningStatus,
    reason: Option<&str>,
    actor: &str,
    at: DateTime<Utc>,
) -> user_events::ActiveModel {
    user_events::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        program_id: Set(program.uuid().to_string()),
        user_id: Set(uid.to_owned()),
        kind: Set("screening".to_owned()),
        from_state: Set(from.as_str().to_owned()),
        to_state: Set(to.as_str().to_owned()),
        reason: Set(reason.map(|r| r.chars().take(256).collect())),
        actor: Set(actor.chars().take(64).collect()),
        created_at: Set(to_ms(at)),
    }
}

/// Writes a `user_events` row of kind `screening` (see [`event_row`]).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn event_in(
    conn: &impl ConnectionTrait,
    program: ProgramId,
    uid: &str,
    from: ScreeningStatus,
    to: ScreeningStatus,
    reason: Option<&str>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<(), StorageError> {
    user_events::Entity::insert(event_row(program, uid, from, to, reason, actor, at))
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Locks a user's row inside `conn`'s transaction (a no-op write, as `lock_user` does);
/// `false` when there is no such user.
pub(crate) async fn lock_user_row(
    conn: &impl ConnectionTrait,
    uid: &str,
) -> Result<bool, StorageError> {
    let locked = users::Entity::update_many()
        .col_expr(
            users::Column::UpdatedAt,
            Expr::col(users::Column::UpdatedAt),
        )
        .filter(users::Column::Id.eq(uid))
        .exec(conn)
        .await?;
    Ok(locked.rows_affected > 0)
}

/// The users whose KYC may proceed as far as screening is concerned (SPEC §8): everyone while
/// no list was ever loaded (screening is off); once one is, only users screened `clear` (a
/// potential match waits for an operator, a confirmed one never proceeds, and a user submitted
/// before the list waits for the rescreen).
pub(crate) fn kyc_may_proceed() -> sea_orm::Condition {
    use sea_orm::sea_query::Query;
    let no_list = Query::select()
        .column(entity::screening_state::Column::Id)
        .from(entity::screening_state::Entity)
        .to_owned();
    let clear = Query::select()
        .column(screening_subjects::Column::UserId)
        .from(screening_subjects::Entity)
        .and_where(screening_subjects::Column::Status.eq(ScreeningStatus::Clear.as_str()))
        .to_owned();
    sea_orm::Condition::any()
        .add(sea_orm::Condition::all().not().add(Expr::exists(no_list)))
        .add(users::Column::Id.in_subquery(clear))
}

fn parse_status(raw: &str) -> Result<ScreeningStatus, StorageError> {
    raw.parse()
        .map_err(|_| StorageError::corrupt("screening_subjects.status", Problem::UnknownToken))
}

impl crate::SqlStore {
    /// A user's screening status (`not_screened` when never screened).
    pub async fn screening_status(
        &self,
        program: ProgramId,
        user: UserId,
    ) -> Result<ScreeningStatus, StorageError> {
        let row = screening_subjects::Entity::find_by_id(user.uuid().to_string())
            .filter(screening_subjects::Column::ProgramId.eq(program.uuid().to_string()))
            .one(&self.db)
            .await?;
        row.map_or(Ok(ScreeningStatus::NotScreened), |r| {
            parse_status(&r.status)
        })
    }
}
