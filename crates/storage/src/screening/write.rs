//! A screening written with the change it belongs to (a submission, or a rescreen batch): its
//! rows, the user's status, and the outbox event of a user who became a potential match.

use domain::screening::ScreeningStatus;
use domain::{EventType, ProgramId};
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait as _};

use super::entity::{screening_subjects, screenings};
use super::{ScreeningWrite, event_in, parse_status, set_user_status};
use crate::entity::users;
use crate::error::StorageError;
use crate::events::{EventViews, NewEvent, Subject};
use crate::time::to_ms;

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
