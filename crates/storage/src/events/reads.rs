//! The event log: a program's events, newest first, filtered (`/event/get-all`, a user's or
//! business's audit trail), and one event with the attempts to deliver it (`/event/get`).

use chrono::{DateTime, Utc};
use domain::{EventId, EventQuery, EventType, ProgramId, WebhookId};
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};
use serde_json::Value;

use super::entity::{events, webhook_attempts};
use crate::SqlStore;
use crate::error::{Problem, StorageError};
use crate::page::Page;
use crate::time::{from_ms, to_ms};

/// An event as stored: its body is what is delivered.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    /// Its id.
    pub id: EventId,
    /// Its type.
    pub event_type: EventType,
    /// The body (SPEC §7), as delivered.
    pub body: Value,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// One attempt to deliver an event to an endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// When it started.
    pub at: DateTime<Utc>,
    /// The endpoint.
    pub endpoint: WebhookId,
    /// The HTTP status answered, if any.
    pub status_code: Option<u16>,
    /// What went wrong without an answer (timeout, refused address, …).
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
}

pub(crate) fn event(row: &events::Model) -> Result<StoredEvent, StorageError> {
    let id = uuid::Uuid::parse_str(&row.id)
        .map_err(|_| StorageError::corrupt("events.id", Problem::NotUuid))?;
    Ok(StoredEvent {
        id: EventId::from_uuid(id),
        event_type: EventType::parse(&row.event_type)
            .map_err(|e| StorageError::corrupt("events.event_type", e))?,
        body: serde_json::from_str(&row.body)
            .map_err(|_| StorageError::corrupt("events.body", Problem::NotJson))?,
        created_at: from_ms(row.created_at)?,
    })
}

impl SqlStore {
    /// A page of the program's events matching `q`, newest first, and the total.
    pub(crate) async fn list_events_page(
        &self,
        program: ProgramId,
        q: &EventQuery,
    ) -> Result<Page<StoredEvent>, StorageError> {
        let mut select =
            events::Entity::find().filter(events::Column::ProgramId.eq(program.uuid().to_string()));
        if let Some(t) = q.event_type() {
            select = select.filter(events::Column::EventType.eq(t.as_str()));
        }
        if let Some(user) = q.user() {
            select = select
                .filter(events::Column::EntityType.eq("user"))
                .filter(events::Column::EntityId.eq(user.uuid().to_string()));
        }
        if let Some(business) = q.business() {
            select = select
                .filter(events::Column::EntityType.eq("business"))
                .filter(events::Column::EntityId.eq(business.uuid().to_string()));
        }
        if let Some(from) = q.created_from() {
            select = select.filter(events::Column::CreatedAt.gte(to_ms(from)));
        }
        if let Some(to) = q.created_to() {
            select = select.filter(events::Column::CreatedAt.lte(to_ms(to)));
        }
        let total = select.clone().count(&self.db).await?;
        let rows = select
            .order_by_desc(events::Column::CreatedAt)
            .order_by_desc(events::Column::Id)
            .offset(q.page().offset())
            .limit(q.page().per_page())
            .all(&self.db)
            .await?;
        Ok(Page {
            items: rows.iter().map(event).collect::<Result<_, _>>()?,
            total,
            // Counted exactly: an event log or a program's endpoints, filtered by indexed
            // columns.
            total_is_estimate: false,
        })
    }

    /// One event of the program with its delivery attempts, oldest first.
    pub(crate) async fn get_event_with_attempts(
        &self,
        program: ProgramId,
        id: EventId,
    ) -> Result<Option<(StoredEvent, Vec<Attempt>)>, StorageError> {
        let Some(row) = events::Entity::find_by_id(id.uuid().to_string())
            .filter(events::Column::ProgramId.eq(program.uuid().to_string()))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let attempts = webhook_attempts::Entity::find()
            .filter(webhook_attempts::Column::EventId.eq(row.id.clone()))
            .order_by_asc(webhook_attempts::Column::AttemptedAt)
            .order_by_asc(webhook_attempts::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(attempt)
            .collect::<Result<_, _>>()?;
        Ok(Some((event(&row)?, attempts)))
    }
}

fn attempt(row: webhook_attempts::Model) -> Result<Attempt, StorageError> {
    let endpoint = uuid::Uuid::parse_str(&row.endpoint_id)
        .map_err(|_| StorageError::corrupt("webhook_attempts.endpoint_id", Problem::NotUuid))?;
    Ok(Attempt {
        at: from_ms(row.attempted_at)?,
        endpoint: WebhookId::from_uuid(endpoint),
        status_code: row.status_code.and_then(|c| u16::try_from(c).ok()),
        error: row.error,
        duration_ms: u64::try_from(row.duration_ms).unwrap_or(0),
    })
}
