//! PostgreSQL: a batch of creates written by one statement. Its replay records, users, count
//! increments, meta_data and `user.created` events are data-modifying `WITH`s of a select of
//! the programs' enabled webhook endpoints, so that a batch's transaction is three round trips
//! (`BEGIN`, this, `COMMIT`) instead of eight; a fourth, the events' deliveries, only when a
//! program has an endpoint that takes them. Each table's rows are one JSON parameter
//! (`recordset.rs`): the statement's text does not change with the batch's size.
//!
//! The statement fails as a whole, as the batch's separate statements did (a duplicate email
//! or a replayed signature is a unique violation of it). Its foreign keys, and the search
//! table's insert trigger, run at the statement's end, when every row of it is there; all its
//! parts read one snapshot, taken before any of them writes.

use std::fmt::Write as _;
use std::sync::Arc;

use domain::ProgramId;
use sea_orm::sea_query::SqliteQueryBuilder;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait as _, QueryTrait as _};

use crate::entity::{program_user_counts, seen_signatures, user_meta_data, users};
use crate::error::StorageError;
use crate::events::dispatch::{Lease, Leased};
use crate::events::entity::webhook_endpoints;
use crate::events::{Sequenced, event_rows, subscribed_query, write_deliveries};
use crate::recordset;

/// The rows of a batch of creates, but their events.
pub(super) struct Rows {
    /// Their replay records (when not written already).
    pub(super) seen: Vec<seen_signatures::ActiveModel>,
    pub(super) users: Vec<users::ActiveModel>,
    /// One count increment per program: (program, shard, n), in program order.
    pub(super) counts: Vec<(ProgramId, i32, i64)>,
    pub(super) meta: Vec<user_meta_data::ActiveModel>,
}

/// Writes `rows` and `events` on `txn`, then the events' deliveries (those of first events
/// under `lease`, answered).
pub(super) async fn write_rows(
    txn: &impl ConnectionTrait,
    rows: Rows,
    events: Vec<Sequenced>,
    lease: Option<&Lease>,
) -> Result<Vec<Leased>, StorageError> {
    let counts: Vec<_> = rows
        .counts
        .into_iter()
        .map(|(program, shard, n)| program_user_counts::ActiveModel {
            program_id: Set(program.uuid().to_string()),
            shard: Set(shard),
            users: Set(n),
        })
        .collect();
    let (bodies, event_rows) = event_rows(&events);
    let mut writes = Vec::with_capacity(5);
    writes.extend(recordset::insert(&rows.seen)?);
    writes.extend(recordset::insert(&rows.users)?);
    if let Some((sql, counted)) = recordset::insert(&counts)? {
        writes.push((
            format!(
                "{sql} ON CONFLICT (\"program_id\", \"shard\") \
                 DO UPDATE SET \"users\" = \"program_user_counts\".\"users\" + EXCLUDED.\"users\""
            ),
            counted,
        ));
    }
    writes.extend(recordset::insert(&rows.meta)?);
    writes.extend(recordset::insert(&event_rows)?);
    // `?` placeholders, numbered by `db::statement`.
    let mut sql = String::from("WITH ");
    let mut values = Vec::with_capacity(writes.len() + 1);
    for (i, (text, parameter)) in writes.into_iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "w{i} AS ({text})");
        values.push(parameter);
    }
    let (select, more) = subscribed_query(&events)
        .into_query()
        .build(SqliteQueryBuilder);
    let _ = write!(sql, " {select}");
    values.extend(more.0);
    let statement = crate::db::statement(DbBackend::Postgres, &sql, values);
    let endpoints: Vec<Arc<webhook_endpoints::Model>> = webhook_endpoints::Entity::find()
        .from_raw_sql(statement)
        .all(txn)
        .await?
        .into_iter()
        .map(Arc::new)
        .collect();
    write_deliveries(txn, &events, bodies, &endpoints, lease).await
}
