//! A screening written with the change it belongs to (a submission, or a rescreen batch): its
//! rows, the user's status, and the outbox event of a user who became a potential match. A
//! batch is written with multi-row statements (one insert per table and one update per new
//! status), so that a rescreen batch costs a few statements, not a few per user.

use std::collections::HashMap;

use domain::screening::ScreeningStatus;
use domain::{EventType, ProgramId};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QuerySelect as _,
};

use super::entity::{screening_subjects, screenings};
use super::{ScreeningWrite, event_row, parse_status};
use crate::entity::{user_events, users};
use crate::error::StorageError;
use crate::events::{EventViews, NewEvent, Subject};
use crate::time::to_ms;

/// Rows per multi-row statement: well inside every database's limit on bound values
/// (SQLite 32,766; PostgreSQL and MySQL 65,535) at 14 columns.
const ROWS_PER_STATEMENT: usize = 500;

/// The request a screening came with: its outbox event's `request` (none for the rescreen).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RequestRef<'a> {
    /// The request's `X-Request-Id`.
    pub(crate) id: Option<&'a str>,
    /// The request's `Idempotency-Key`.
    pub(crate) idempotency_key: Option<&'a str>,
}

/// Writes a screening through `conn` (the transaction of its change), as [`write_many_in`]
/// does for one user; returns the user's status after it.
pub(crate) async fn write_in(
    conn: &impl ConnectionTrait,
    views: &EventViews,
    program: ProgramId,
    write: &ScreeningWrite,
    request: RequestRef<'_>,
) -> Result<ScreeningStatus, StorageError> {
    let previous = screening_subjects::Entity::find_by_id(write.user.uuid().to_string())
        .one(conn)
        .await?
        .map(|row| (row.user_id.clone(), row))
        .into_iter()
        .collect();
    let statuses = write_many_in(conn, views, &[(program, write)], &previous, request).await?;
    statuses
        .first()
        .copied()
        .ok_or(StorageError::NotFound(crate::error::Entity::User))
}

/// Writes the screenings of `batch` through `conn` (the transaction of their change): for each
/// user a `screenings` row, its `screening_subjects` row (inserted or replaced), its status on
/// `users.screening_status` where it changed, and a `user_events` row. `previous` holds the
/// users' `screening_subjects` rows as they are (by user id; none: never screened). The users'
/// rows must be locked by the caller's transaction. Returns each user's new status, in order.
///
/// A user whose match an operator confirmed stays `confirmed_match`; one an operator cleared
/// stays `clear` while the best hit is the entry the operator cleared. A user who becomes
/// `potential_match` (from any other status) gets the outbox event
/// `user.screening.potential_match`, actor `screening`; a screening that leaves the status as it
/// was (a rescreen of an unchanged outcome) writes no event. The event never names the entry.
pub(crate) async fn write_many_in(
    conn: &impl ConnectionTrait,
    views: &EventViews,
    batch: &[(ProgramId, &ScreeningWrite)],
    previous: &HashMap<String, screening_subjects::Model>,
    request: RequestRef<'_>,
) -> Result<Vec<ScreeningStatus>, StorageError> {
    let cleared = cleared_entries(conn, previous).await?;
    let mut screening_rows = Vec::with_capacity(batch.len());
    let mut subject_rows = Vec::with_capacity(batch.len());
    let mut event_rows = Vec::with_capacity(batch.len());
    let mut changed: HashMap<ScreeningStatus, Vec<String>> = HashMap::new();
    let mut became_matches = Vec::new();
    let mut statuses = Vec::with_capacity(batch.len());
    for &(program, write) in batch {
        let uid = write.user.uuid().to_string();
        let before = previous.get(&uid);
        let previous_status = match before {
            Some(row) => parse_status(&row.status)?,
            None => ScreeningStatus::NotScreened,
        };
        let cleared_entry = before
            .filter(|_| previous_status == ScreeningStatus::Clear)
            .and_then(|row| cleared.get(&row.screening_id).copied());
        let status = resulting_status(previous_status, cleared_entry, write);
        let id = uuid::Uuid::now_v7().to_string();
        let at = to_ms(write.at);
        screening_rows.push(screening_row(&id, program, write));
        subject_rows.push(screening_subjects::ActiveModel {
            user_id: Set(uid.clone()),
            program_id: Set(program.uuid().to_string()),
            status: Set(status.as_str().to_owned()),
            list_id: Set(write.list_id.to_string()),
            screening_id: Set(id),
            updated_at: Set(at),
        });
        event_rows.push(event_row(
            program,
            &uid,
            previous_status,
            status,
            None,
            &write.actor,
            write.at,
        ));
        if status != previous_status {
            changed.entry(status).or_default().push(uid);
        }
        if status == ScreeningStatus::PotentialMatch && previous_status != status {
            became_matches.push((program, write, previous_status));
        }
        statuses.push(status);
    }
    for chunk in screening_rows.chunks(ROWS_PER_STATEMENT) {
        screenings::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    for (status, uids) in changed {
        for chunk in uids.chunks(ROWS_PER_STATEMENT) {
            users::Entity::update_many()
                .col_expr(users::Column::ScreeningStatus, status.as_str().into())
                .filter(users::Column::Id.is_in(chunk.iter().cloned()))
                .exec(conn)
                .await?;
        }
    }
    for chunk in subject_rows.chunks(ROWS_PER_STATEMENT) {
        screening_subjects::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::column(screening_subjects::Column::UserId)
                    .update_columns([
                        screening_subjects::Column::ProgramId,
                        screening_subjects::Column::Status,
                        screening_subjects::Column::ListId,
                        screening_subjects::Column::ScreeningId,
                        screening_subjects::Column::UpdatedAt,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(conn)
            .await?;
    }
    for chunk in event_rows.chunks(ROWS_PER_STATEMENT) {
        user_events::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    for (program, write, previous_status) in became_matches {
        outbox_event(conn, views, program, write, previous_status, request).await?;
    }
    Ok(statuses)
}

/// The entry an operator cleared, by screening id, for the users of `previous` at `clear`.
async fn cleared_entries(
    conn: &impl ConnectionTrait,
    previous: &HashMap<String, screening_subjects::Model>,
) -> Result<HashMap<String, i32>, StorageError> {
    let clear: Vec<String> = previous
        .values()
        .filter(|row| row.status == ScreeningStatus::Clear.as_str())
        .map(|row| row.screening_id.clone())
        .collect();
    let mut cleared = HashMap::new();
    for chunk in clear.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<(String, Option<i32>)> = screenings::Entity::find()
            .select_only()
            .column(screenings::Column::Id)
            .column(screenings::Column::EntryNumber)
            .filter(screenings::Column::Id.is_in(chunk.iter().cloned()))
            .filter(screenings::Column::Decision.eq("clear"))
            .into_tuple()
            .all(conn)
            .await?;
        cleared.extend(rows.into_iter().filter_map(|(id, e)| Some((id, e?))));
    }
    Ok(cleared)
}

/// The status a screening leaves a user at, from the status before it and, for a user at
/// `clear` by an operator's decision, the entry the operator cleared.
fn resulting_status(
    previous: ScreeningStatus,
    cleared_entry: Option<i32>,
    write: &ScreeningWrite,
) -> ScreeningStatus {
    let best_entry = write.best.as_ref().map(|b| i64::from(b.entry_number));
    match (previous, write.outcome) {
        (ScreeningStatus::ConfirmedMatch, _) => ScreeningStatus::ConfirmedMatch,
        (_, ScreeningStatus::PotentialMatch)
            if cleared_entry.is_some() && cleared_entry.map(i64::from) == best_entry =>
        {
            ScreeningStatus::Clear
        }
        (_, outcome) => outcome,
    }
}

/// The `screenings` row of a screening.
fn screening_row(id: &str, program: ProgramId, write: &ScreeningWrite) -> screenings::ActiveModel {
    screenings::ActiveModel {
        id: Set(id.to_owned()),
        program_id: Set(program.uuid().to_string()),
        user_id: Set(write.user.uuid().to_string()),
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
        created_at: Set(to_ms(write.at)),
    }
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
