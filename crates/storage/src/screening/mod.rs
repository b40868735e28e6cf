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

use chrono::{DateTime, Utc};
use domain::screening::ScreeningStatus;
use domain::{EventType, ProgramId, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
};

pub use cases::{DecidedCase, NoOpenCase, ScreeningCase};
pub use lists::{ListFiles, ListVersion, Loaded};
pub use rescreen::RescreenClaim;

use crate::entity::{user_events, users};
use crate::error::{Problem, StorageError};
use crate::events::{EventViews, NewEvent, Subject};
use crate::time::to_ms;
use entity::{screening_subjects, screenings};

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

/// The request a screening came with: its outbox event's `request` (none for the rescreen).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RequestRef<'a> {
    /// The request's `X-Request-Id`.
    pub(crate) id: Option<&'a str>,
    /// The request's `Idempotency-Key`.
    pub(crate) idempotency_key: Option<&'a str>,
}

/// Writes a screening through `conn` (the transaction of its change): the `screenings` row, the
/// user's `screening_subjects` row, and a `user_events` row. A user whose match an operator
/// confirmed stays `confirmed_match`; one an operator cleared stays `clear` while the best hit is
/// the entry the operator cleared. The user's row must be locked by the caller's transaction.
///
/// A user who becomes `potential_match` (from any other status) gets the outbox event
/// `user.screening.potential_match`, actor `screening`; a screening that leaves the status as it
/// was (a rescreen of an unchanged outcome) writes no event. The event never names the entry.
pub(crate) async fn write_in(
    conn: &impl ConnectionTrait,
    views: &EventViews,
    program: ProgramId,
    write: &ScreeningWrite,
    request: RequestRef<'_>,
) -> Result<ScreeningStatus, StorageError> {
    let uid = write.user.uuid().to_string();
    let previous = screening_subjects::Entity::find_by_id(uid.clone())
        .one(conn)
        .await?;
    let previous_status = match &previous {
        Some(row) => parse_status(&row.status)?,
        None => ScreeningStatus::NotScreened,
    };
    let cleared_entry = match &previous {
        Some(row) if previous_status == ScreeningStatus::Clear => {
            screenings::Entity::find_by_id(row.screening_id.clone())
                .one(conn)
                .await?
                .filter(|s| s.decision.as_deref() == Some("clear"))
                .and_then(|s| s.entry_number)
        }
        _ => None,
    };
    let best_entry = write.best.as_ref().map(|b| i64::from(b.entry_number));
    let status = match (previous_status, write.outcome) {
        (ScreeningStatus::ConfirmedMatch, _) => ScreeningStatus::ConfirmedMatch,
        (_, ScreeningStatus::PotentialMatch)
            if cleared_entry.is_some() && cleared_entry.map(i64::from) == best_entry =>
        {
            ScreeningStatus::Clear
        }
        (_, outcome) => outcome,
    };
    let id = uuid::Uuid::now_v7().to_string();
    let at = to_ms(write.at);
    screenings::Entity::insert(screenings::ActiveModel {
        id: Set(id.clone()),
        program_id: Set(program.uuid().to_string()),
        user_id: Set(uid.clone()),
        list_id: Set(write.list_id.to_string()),
        cause: Set(write.trigger.as_str().to_owned()),
        score: Set(write.best.as_ref().map(|b| b.score)),
        entry_number: Set(write
            .best
            .as_ref()
            .map(|b| i32::try_from(b.entry_number).unwrap_or(i32::MAX))),
        entry_name: Set(write
            .best
            .as_ref()
            .map(|b| b.entry_name.chars().take(512).collect())),
        outcome: Set(write.outcome.as_str().to_owned()),
        decision: Set(None),
        decided_by: Set(None),
        decision_reason: Set(None),
        decided_at: Set(None),
        created_at: Set(at),
    })
    .exec_without_returning(conn)
    .await?;
    let subject = screening_subjects::ActiveModel {
        user_id: Set(uid.clone()),
        program_id: Set(program.uuid().to_string()),
        status: Set(status.as_str().to_owned()),
        list_id: Set(write.list_id.to_string()),
        screening_id: Set(id),
        updated_at: Set(at),
    };
    if status != previous_status {
        set_user_status(conn, &uid, status).await?;
    }
    if previous.is_some() {
        screening_subjects::Entity::update(subject)
            .exec(conn)
            .await?;
    } else {
        screening_subjects::Entity::insert(subject)
            .exec_without_returning(conn)
            .await?;
    }
    event_in(
        conn,
        program,
        &uid,
        previous_status,
        status,
        None,
        &write.actor,
        write.at,
    )
    .await?;
    if status == ScreeningStatus::PotentialMatch && previous_status != status {
        outbox_event(conn, views, program, write, previous_status, request).await?;
    }
    Ok(status)
}

/// The outbox event of a user who became `potential_match`: the user as the API answers it (its
/// `screening_status` already the new one) and the status before in `previous`.
async fn outbox_event(
    conn: &impl ConnectionTrait,
    views: &EventViews,
    program: ProgramId,
    write: &ScreeningWrite,
    previous_status: ScreeningStatus,
    request: RequestRef<'_>,
) -> Result<(), StorageError> {
    let row = users::Entity::find_by_id(write.user.uuid().to_string())
        .one(conn)
        .await?
        .ok_or(StorageError::NotFound(crate::error::Entity::User))?;
    let user = crate::users::rows::load_user(conn, program, row).await?;
    let object = (views.user)(&user);
    let mut before = object.clone();
    if let Some(field) = before.get_mut("screening_status") {
        *field = previous_status.as_str().into();
    }
    let event = NewEvent {
        program,
        subject: Subject::User(write.user),
        event_type: EventType::UserScreeningPotentialMatch,
        previous: crate::events::changed(&before, &object),
        object,
        actor: "screening".to_owned(),
        request_id: request.id.map(ToOwned::to_owned),
        idempotency_key: request.idempotency_key.map(ToOwned::to_owned),
        extra: serde_json::Map::new(),
    };
    crate::events::emit(conn, event, write.at).await?;
    Ok(())
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
    user_events::Entity::insert(user_events::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        program_id: Set(program.uuid().to_string()),
        user_id: Set(uid.to_owned()),
        kind: Set("screening".to_owned()),
        from_state: Set(from.as_str().to_owned()),
        to_state: Set(to.as_str().to_owned()),
        reason: Set(reason.map(|r| r.chars().take(256).collect())),
        actor: Set(actor.chars().take(64).collect()),
        created_at: Set(to_ms(at)),
    })
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
