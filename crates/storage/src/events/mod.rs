//! The event outbox (SPEC §7): every change writes its event in its own transaction, with
//! the entity's next `sequence`, the entity as the API answers it (through the store's
//! [`EventViews`]), the previous values of what changed, the request and the actor; and, in
//! the same statement batch, one delivery per enabled endpoint of the program that takes the
//! event's type.
//!
//! - `entity`: the tables of migration 11.
//! - `reads`: the event log (`/event/get-all`, `/event/get` with its attempts).
//! - `webhooks`: endpoints (create, update, rotate the secret, delete) and resends.
//! - `delivery`: deliveries claimed with a lease and their outcome recorded.
//! - `dispatch`: a creation's deliveries handed to the instance's worker once committed.
//!
//! Other changes emit their event with one call, inside their transaction, with the entity's
//! row locked (the lock orders the sequence): `events::emit(&txn, event, now).await?`.

pub(crate) mod delivery;
pub(crate) mod dispatch;
pub(crate) mod entity;
pub(crate) mod outcomes;
pub(crate) mod reads;
pub(crate) mod webhooks;

use chrono::{DateTime, Utc};
use domain::{Business, BusinessId, BusinessOwner, EventId, EventType, ProgramId, User, UserId};
use sea_orm::sea_query::{Expr, ExprTrait as _, SqliteQueryBuilder};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, DbBackend, EntityTrait as _,
    QueryFilter as _, QuerySelect as _, QueryTrait as _,
};
use serde_json::{Map, Value};

use self::entity::{events, webhook_deliveries, webhook_endpoints};
use crate::along::Along;
use crate::error::StorageError;
use crate::time::{to_ms, truncate};

/// How an entity appears in its events: the API's own view of it (set by the API with
/// [`crate::SqlStore::with_event_views`]; by default only the entity's id).
#[derive(Clone, Copy, Debug)]
pub struct EventViews {
    /// A user as the API answers it.
    pub user: fn(&User) -> Value,
    /// A business as the API answers it.
    pub business: fn(&Business) -> Value,
    /// A beneficial owner as the API answers it (`data.owner` of `business.owner.added`).
    pub owner: fn(&BusinessOwner) -> Value,
}

impl Default for EventViews {
    fn default() -> Self {
        Self {
            user: |u| serde_json::json!({ "id": u.id().to_string() }),
            business: |b| serde_json::json!({ "id": b.id().to_string() }),
            owner: |o| serde_json::json!({ "id": o.id().to_string() }),
        }
    }
}

/// The entity an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A user.
    User(UserId),
    /// A business.
    Business(BusinessId),
}

impl Subject {
    /// `user` or `business`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::User(_) => "user",
            Self::Business(_) => "business",
        }
    }

    /// The bare UUID, as stored.
    pub(crate) fn uuid(self) -> String {
        match self {
            Self::User(id) => id.uuid().to_string(),
            Self::Business(id) => id.uuid().to_string(),
        }
    }
}

/// An event to write with a change.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// The program of the entity.
    pub program: ProgramId,
    /// The entity.
    pub subject: Subject,
    /// What happened.
    pub event_type: EventType,
    /// The entity after the change, as the API answers it.
    pub object: Value,
    /// The changed fields and their earlier values (empty for a creation).
    pub previous: Map<String, Value>,
    /// `api_key:<key id>`, `operator`, `verifier:<name>`, `screening`, …
    pub actor: String,
    /// The request's `X-Request-Id`.
    pub request_id: Option<String>,
    /// The request's `Idempotency-Key`.
    pub idempotency_key: Option<String>,
    /// Further members of `data` beside `object` and `previous`: `reason` of `user.kyc.failed`
    /// (`sanctions_match`, or the verifier's), `owner` of `business.owner.added`.
    pub extra: Map<String, Value>,
}

impl NewEvent {
    /// An event of the change that `along` goes with: its request, and its actor (or
    /// `default_actor`). `before` is the entity's view before the change (`None` for a
    /// creation): `previous` holds the fields whose values differ.
    pub fn of<T>(
        program: ProgramId,
        subject: Subject,
        event_type: EventType,
        before: Option<&Value>,
        object: Value,
        along: &Along<T>,
        default_actor: &str,
    ) -> Self {
        Self {
            program,
            subject,
            event_type,
            previous: before.map(|b| changed(b, &object)).unwrap_or_default(),
            object,
            actor: along.actor_or(default_actor).to_owned(),
            request_id: along.origin.request_id.clone(),
            idempotency_key: along.idempotency_key().map(ToOwned::to_owned),
            extra: Map::new(),
        }
    }
}

/// The fields of `before` whose values `after` does not share, with their earlier values.
pub fn changed(before: &Value, after: &Value) -> Map<String, Value> {
    let (Value::Object(before), Value::Object(after)) = (before, after) else {
        return Map::new();
    };
    before
        .iter()
        .filter(|(k, v)| after.get(k.as_str()) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Writes `event` on `conn` (the change's open transaction, the entity's row locked) with the
/// entity's next sequence, and its deliveries. Answers the event's id.
pub async fn emit(
    conn: &impl ConnectionTrait,
    event: NewEvent,
    now: DateTime<Utc>,
) -> Result<EventId, StorageError> {
    let last: Option<Option<i64>> = events::Entity::find()
        .select_only()
        .column_as(Expr::col(events::Column::Sequence).max(), "last")
        .filter(events::Column::EntityId.eq(event.subject.uuid()))
        .into_tuple()
        .one(conn)
        .await?;
    let sequence = last.flatten().unwrap_or(0) + 1;
    let id = EventId::from_uuid(uuid::Uuid::now_v7());
    let at = truncate(now);
    write(
        conn,
        vec![Sequenced {
            id,
            sequence,
            at,
            event,
        }],
    )
    .await?;
    Ok(id)
}

/// An event with its id and sequence decided (a creation's is 1).
#[derive(Clone, Debug)]
pub(crate) struct Sequenced {
    pub(crate) id: EventId,
    pub(crate) sequence: i64,
    /// When it happened (the change's `now`).
    pub(crate) at: DateTime<Utc>,
    pub(crate) event: NewEvent,
}

impl Sequenced {
    /// The first event of a new entity.
    pub(crate) fn first(event: NewEvent, now: DateTime<Utc>) -> Self {
        Self {
            id: EventId::from_uuid(uuid::Uuid::now_v7()),
            sequence: 1,
            at: truncate(now),
            event,
        }
    }
}

/// The event body, as stored, listed and delivered (SPEC §7).
fn body(e: &Sequenced) -> Value {
    let mut data = e.event.extra.clone();
    data.insert("object".to_owned(), e.event.object.clone());
    data.insert(
        "previous".to_owned(),
        Value::Object(e.event.previous.clone()),
    );
    serde_json::json!({
        "id": e.id.to_string(),
        "type": e.event.event_type.as_str(),
        "created_at": e.at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "program_id": e.event.program.to_string(),
        "sequence": e.sequence,
        "data": data,
        "request": { "id": e.event.request_id, "idempotency_key": e.event.idempotency_key },
        "actor": e.event.actor,
    })
}

/// Writes events (one multi-row insert) and their deliveries, on `conn`.
pub(crate) async fn write(
    conn: &impl ConnectionTrait,
    batch: Vec<Sequenced>,
) -> Result<(), StorageError> {
    write_leased(conn, batch, None).await.map(drop)
}

/// [`write`], with the deliveries of each first event (sequence 1) written under `lease`:
/// answers those, for [`crate::SqlStore::dispatch`] once the transaction has committed.
///
/// The events' program endpoints are read first; on PostgreSQL the events and their
/// deliveries are then inserted by one statement (the deliveries' insert with the events'
/// as a data-modifying `WITH`: its foreign keys are checked at the statement's end), one
/// round trip fewer in every create's transaction when a program has an endpoint.
pub(crate) async fn write_leased(
    conn: &impl ConnectionTrait,
    batch: Vec<Sequenced>,
    lease: Option<&dispatch::Lease>,
) -> Result<Vec<dispatch::Leased>, StorageError> {
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let endpoints = subscribed(conn, &batch).await?;
    let (bodies, rows) = event_rows(&batch);
    let events = events::Entity::insert_many(rows);
    let (deliveries, leased) = fan_out(&batch, bodies, &endpoints, lease);
    if deliveries.is_empty() {
        events.exec_without_returning(conn).await?;
    } else if conn.get_database_backend() == DbBackend::Postgres
        && deliveries.len() <= DELIVERIES_PER_STATEMENT
    {
        let deliveries = webhook_deliveries::Entity::insert_many(deliveries);
        // Built with `?` placeholders (and double-quoted names), numbered by `statement`.
        let (events_sql, mut values) = events.into_query().build(SqliteQueryBuilder);
        let (deliveries_sql, more) = deliveries.into_query().build(SqliteQueryBuilder);
        values.0.extend(more.0);
        conn.execute_raw(crate::db::statement(
            DbBackend::Postgres,
            &format!("WITH written AS ({events_sql}) {deliveries_sql}"),
            values.0,
        ))
        .await?;
    } else {
        events.exec_without_returning(conn).await?;
        insert_deliveries(conn, deliveries).await?;
    }
    Ok(leased)
}

/// The bodies of `batch`'s events, as stored, and their rows.
pub(crate) fn event_rows(batch: &[Sequenced]) -> (Vec<String>, Vec<events::ActiveModel>) {
    let bodies: Vec<String> = batch.iter().map(|e| body(e).to_string()).collect();
    let rows: Vec<events::ActiveModel> = batch
        .iter()
        .zip(&bodies)
        .map(|(e, body)| events::ActiveModel {
            id: Set(e.id.uuid().to_string()),
            program_id: Set(e.event.program.uuid().to_string()),
            entity_type: Set(e.event.subject.kind().to_owned()),
            entity_id: Set(e.event.subject.uuid()),
            sequence: Set(e.sequence),
            event_type: Set(e.event.event_type.as_str().to_owned()),
            body: Set(body.clone()),
            created_at: Set(to_ms(e.at)),
        })
        .collect();
    (bodies, rows)
}

/// The deliveries of `batch`'s events, written already (with `bodies`, from
/// [`event_rows`]), to `endpoints` (their programs' enabled endpoints, read in the same
/// transaction) as in [`write_leased`]; answers those leased.
pub(crate) async fn write_deliveries(
    conn: &impl ConnectionTrait,
    batch: &[Sequenced],
    bodies: Vec<String>,
    endpoints: &[std::sync::Arc<webhook_endpoints::Model>],
    lease: Option<&dispatch::Lease>,
) -> Result<Vec<dispatch::Leased>, StorageError> {
    let (deliveries, leased) = fan_out(batch, bodies, endpoints, lease);
    insert_deliveries(conn, deliveries).await?;
    Ok(leased)
}

/// Inserts delivery rows, [`DELIVERIES_PER_STATEMENT`] at a time.
pub(crate) async fn insert_deliveries(
    conn: &impl ConnectionTrait,
    rows: Vec<webhook_deliveries::ActiveModel>,
) -> Result<(), StorageError> {
    for chunk in rows.chunks(DELIVERIES_PER_STATEMENT) {
        webhook_deliveries::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The most delivery rows one statement inserts: 14 parameters each, so 14,000 of them, under
/// SQLite's 32,766 and PostgreSQL's and MariaDB's 65,535 with a batch's events beside them (a
/// group-committed batch of 64 creates, or a resend, in a program of many endpoints fans out
/// to thousands).
const DELIVERIES_PER_STATEMENT: usize = 1_000;

/// The enabled endpoints of the programs of `batch`.
async fn subscribed(
    conn: &impl ConnectionTrait,
    batch: &[Sequenced],
) -> Result<Vec<std::sync::Arc<webhook_endpoints::Model>>, StorageError> {
    Ok(subscribed_query(batch)
        .all(conn)
        .await?
        .into_iter()
        .map(std::sync::Arc::new)
        .collect())
}

/// The select of [`subscribed`], for a statement that reads it beside its writes.
pub(crate) fn subscribed_query(batch: &[Sequenced]) -> sea_orm::Select<webhook_endpoints::Entity> {
    let mut programs: Vec<String> = batch
        .iter()
        .map(|e| e.event.program.uuid().to_string())
        .collect();
    programs.sort_unstable();
    programs.dedup();
    webhook_endpoints::Entity::find()
        .filter(webhook_endpoints::Column::ProgramId.is_in(programs))
        .filter(webhook_endpoints::Column::Status.eq("enabled"))
}

/// One pending delivery per endpoint of `endpoints` of each event's program that takes its
/// type; those of first events leased to `lease`, and answered beside the rows.
fn fan_out(
    batch: &[Sequenced],
    bodies: Vec<String>,
    endpoints: &[std::sync::Arc<webhook_endpoints::Model>],
    lease: Option<&dispatch::Lease>,
) -> (Vec<webhook_deliveries::ActiveModel>, Vec<dispatch::Leased>) {
    let mut leased = Vec::new();
    let mut rows = Vec::new();
    if endpoints.is_empty() {
        return (rows, leased);
    }
    for (e, body) in batch.iter().zip(bodies) {
        let program = e.event.program.uuid().to_string();
        for endpoint in endpoints {
            if endpoint.program_id != program
                || !takes(endpoint.event_types.as_deref(), e.event.event_type)
            {
                continue;
            }
            let mut row = delivery_row(e, &endpoint.id);
            if let (Some(lease), Some(id)) = (
                lease.filter(|_| e.sequence == 1),
                row.id.try_as_ref().cloned(),
            ) {
                row.lease_owner = Set(Some(lease.token.clone()));
                row.lease_until = Set(Some(to_ms(e.at + lease.duration)));
                leased.push(dispatch::Leased {
                    id,
                    event_id: e.id,
                    endpoint: endpoint.clone(),
                    body: body.clone(),
                    due_since: e.at,
                });
            }
            rows.push(row);
        }
    }
    (rows, leased)
}

/// Whether an endpoint's stored list of types (`None`: every type) takes `t`.
pub(crate) fn takes(types: Option<&str>, t: EventType) -> bool {
    types.is_none_or(|list| {
        serde_json::from_str::<Vec<String>>(list)
            .is_ok_and(|list| list.iter().any(|s| s == t.as_str()))
    })
}

/// A pending delivery of `e` to `endpoint`, due now.
pub(crate) fn delivery_row(e: &Sequenced, endpoint: &str) -> webhook_deliveries::ActiveModel {
    webhook_deliveries::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        program_id: Set(e.event.program.uuid().to_string()),
        event_id: Set(e.id.uuid().to_string()),
        endpoint_id: Set(endpoint.to_owned()),
        entity_id: Set(e.event.subject.uuid()),
        sequence: Set(e.sequence),
        state: Set(delivery::PENDING.to_owned()),
        attempts: Set(0),
        next_attempt_at: Set(to_ms(e.at)),
        lease_owner: Set(None),
        lease_until: Set(None),
        event_created_at: Set(to_ms(e.at)),
        created_at: Set(to_ms(e.at)),
        finished_at: Set(None),
    }
}
