//! The outcomes of delivery attempts (`SqlStore::finish_deliveries`): a batch's attempts
//! written in one transaction — the deliveries whose lease still holds updated by one
//! statement, their attempts inserted by another, each endpoint's health written once.
//!
//! PostgreSQL passes a batch as one JSON document (`json_to_recordset`), so both statements
//! are the same text whatever the batch's size: prepared once per connection and planned
//! once, where an `UPDATE` of `CASE id WHEN … THEN …` arms took a fresh plan of up to 1,152
//! parameters for every batch and compared each row's id with every arm. SQLite and
//! MariaDB keep the arms (SQLite prepares in-process; MariaDB has no `json_to_recordset`).

use std::collections::HashMap;
use std::fmt::Write as _;

use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait as _, DbBackend, EntityTrait as _,
    IntoActiveModel as _, QueryFilter as _, Value,
};

use super::delivery::{
    AttemptRecord, ClaimedDelivery, DELIVERED, EndpointEffect, FAILED, NextStep, PENDING,
};
use super::entity::{webhook_attempts, webhook_endpoints};
use crate::SqlStore;
use crate::db::statement;
use crate::error::StorageError;
use crate::time::to_ms;

impl SqlStore {
    /// Records an attempt of a claimed delivery and what follows, in one transaction, if the
    /// lease still holds. `false`: the lease was lost (nothing written). See
    /// [`SqlStore::finish_deliveries`].
    pub async fn finish_delivery(
        &self,
        delivery: &ClaimedDelivery,
        attempt: &AttemptRecord,
        next: NextStep,
        effect: EndpointEffect,
    ) -> Result<bool, StorageError> {
        let lost = self
            .finish_deliveries(&[Attempted {
                delivery,
                attempt: attempt.clone(),
                next,
                effect,
            }])
            .await?;
        Ok(lost.is_empty())
    }

    /// Records the attempts of a batch and what follows each, in one transaction: the
    /// deliveries whose lease still holds are updated by one statement, their attempts
    /// inserted by another, and each endpoint's health written once. Answers the indexes (in
    /// `done`) of the deliveries whose lease was lost: nothing is written for those.
    pub async fn finish_deliveries(
        &self,
        done: &[Attempted<'_>],
    ) -> Result<Vec<usize>, StorageError> {
        if done.is_empty() {
            return Ok(Vec::new());
        }
        let txn = crate::db::begin_relaxed(&self.db).await?;
        match write_outcomes(&txn, done).await {
            Ok(lost) => {
                txn.commit().await?;
                Ok(lost)
            }
            Err(e) => {
                crate::along::rollback(txn).await;
                Err(e)
            }
        }
    }
}

/// The body of [`SqlStore::finish_deliveries`].
async fn write_outcomes(
    txn: &sea_orm::DatabaseTransaction,
    done: &[Attempted<'_>],
) -> Result<Vec<usize>, StorageError> {
    let backend = txn.get_database_backend();
    let all: Vec<usize> = (0..done.len()).collect();
    let held: Vec<usize> = if backend == DbBackend::Postgres {
        update_pg(txn, done).await?
    } else if txn.support_returning() {
        // One statement: the deliveries whose lease still holds are updated, and their ids
        // come back (SQLite).
        let (sql, values) = outcome_update(done, &all, true);
        let rows = txn
            .query_all_raw(statement(backend, &format!("{sql} RETURNING id"), values))
            .await?;
        updated(done, rows)?
    } else {
        // MySQL/MariaDB (no `UPDATE … RETURNING`): which leases still hold, the rows locked
        // until the end (SQLite, should it come here: its transaction holds the write lock
        // already), then the update of those.
        let marks = vec!["?"; done.len()].join(", ");
        let lock = if backend == DbBackend::Sqlite {
            ""
        } else {
            " FOR UPDATE"
        };
        let rows = txn
            .query_all_raw(statement(
                backend,
                &format!(
                    "SELECT id, lease_owner FROM webhook_deliveries WHERE id IN ({marks}){lock}"
                ),
                done.iter().map(|d| d.delivery.id.clone().into()).collect(),
            ))
            .await?;
        let mut leases = HashMap::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get_by_index(0)?;
            let owner: Option<String> = row.try_get_by_index(1)?;
            leases.insert(id, owner);
        }
        let held: Vec<usize> = all
            .into_iter()
            .filter(|&i| {
                let d = done[i].delivery;
                leases
                    .get(&d.id)
                    .is_some_and(|owner| owner.as_deref() == Some(d.lease.as_str()))
            })
            .collect();
        if !held.is_empty() {
            let (sql, values) = outcome_update(done, &held, false);
            txn.execute_raw(statement(backend, &sql, values)).await?;
        }
        held
    };
    let lost: Vec<usize> = (0..done.len()).filter(|i| !held.contains(i)).collect();
    if held.is_empty() {
        return Ok(lost);
    }
    if backend == DbBackend::Postgres {
        insert_attempts_pg(txn, done, &held).await?;
    } else {
        insert_attempts(txn, done, &held).await?;
    }
    for (endpoint, health) in endpoint_health(done, &held) {
        write_health(txn, &endpoint, health).await?;
    }
    Ok(lost)
}

/// The attempts of `done[i]` for `i` in `held`, as their rows.
fn attempt_rows<'a>(
    done: &'a [Attempted<'_>],
    held: &'a [usize],
) -> impl Iterator<Item = webhook_attempts::Model> + 'a {
    held.iter().map(|&i| {
        let d = &done[i];
        webhook_attempts::Model {
            id: uuid::Uuid::now_v7().to_string(),
            delivery_id: d.delivery.id.clone(),
            event_id: d.delivery.event_id.uuid().to_string(),
            endpoint_id: d.delivery.endpoint.uuid().to_string(),
            attempted_at: to_ms(d.attempt.at),
            status_code: d.attempt.status_code.map(i32::from),
            error: d
                .attempt
                .error
                .as_ref()
                .map(|e| e.chars().take(256).collect()),
            duration_ms: i64::try_from(d.attempt.duration_ms).unwrap_or(i64::MAX),
        }
    })
}

/// Inserts the attempts of `done[i]` for `i` in `held` (SQLite, MySQL/MariaDB).
async fn insert_attempts(
    txn: &sea_orm::DatabaseTransaction,
    done: &[Attempted<'_>],
    held: &[usize],
) -> Result<(), StorageError> {
    // `reset_all`: every column set, so that every one is inserted.
    webhook_attempts::Entity::insert_many(
        attempt_rows(done, held).map(|m| m.into_active_model().reset_all()),
    )
    .exec_without_returning(txn)
    .await?;
    Ok(())
}

/// PostgreSQL: the outcome `UPDATE` of every delivery of `done` whose lease still holds, the
/// batch passed as one JSON document; answers the indexes of those updated.
async fn update_pg(
    txn: &sea_orm::DatabaseTransaction,
    done: &[Attempted<'_>],
) -> Result<Vec<usize>, StorageError> {
    let batch: Vec<serde_json::Value> = done
        .iter()
        .map(|d| {
            let (state, next_at, finished_at) = outcome(d);
            serde_json::json!({
                "id": d.delivery.id,
                "state": state,
                "next_at": next_at,
                "finished_at": finished_at,
                "lease": d.delivery.lease,
            })
        })
        .collect();
    let rows = txn
        .query_all_raw(statement(
            DbBackend::Postgres,
            "UPDATE webhook_deliveries AS d SET attempts = d.attempts + 1, lease_owner = NULL, \
             lease_until = NULL, state = v.state, next_attempt_at = v.next_at, \
             finished_at = v.finished_at \
             FROM json_to_recordset(?::json) AS v(id text, state text, next_at bigint, \
             finished_at bigint, lease text) \
             WHERE d.id = v.id AND d.lease_owner = v.lease RETURNING d.id",
            vec![serde_json::Value::Array(batch).to_string().into()],
        ))
        .await?;
    updated(done, rows)
}

/// The indexes in `done` of the deliveries whose ids an `UPDATE … RETURNING id` answered.
fn updated(
    done: &[Attempted<'_>],
    rows: Vec<sea_orm::QueryResult>,
) -> Result<Vec<usize>, StorageError> {
    let mut ids = std::collections::HashSet::with_capacity(rows.len());
    for row in rows {
        ids.insert(row.try_get_by_index::<String>(0)?);
    }
    Ok((0..done.len())
        .filter(|&i| ids.contains(&done[i].delivery.id))
        .collect())
}

/// PostgreSQL: inserts the attempts of `done[i]` for `i` in `held`, passed as one JSON
/// document (`recordset.rs`).
async fn insert_attempts_pg(
    txn: &sea_orm::DatabaseTransaction,
    done: &[Attempted<'_>],
    held: &[usize],
) -> Result<(), StorageError> {
    let rows: Vec<webhook_attempts::ActiveModel> = attempt_rows(done, held)
        .map(sea_orm::IntoActiveModel::into_active_model)
        .collect();
    if let Some((sql, parameter)) = crate::recordset::insert(&rows)? {
        txn.execute_raw(statement(DbBackend::Postgres, &sql, vec![parameter]))
            .await?;
    }
    Ok(())
}

/// A delivery's state, next attempt and end after its attempt.
fn outcome(d: &Attempted<'_>) -> (&'static str, i64, Option<i64>) {
    let at = to_ms(d.attempt.at);
    match d.next {
        NextStep::Delivered => (DELIVERED, at, Some(at)),
        NextStep::RetryAt(t) => (PENDING, to_ms(t), None),
        NextStep::Failed => (FAILED, at, Some(at)),
    }
}

/// The `UPDATE` of the deliveries `done[i]` for `i` in `which`: each one's state, next attempt
/// and end picked by id; with `check_lease`, only those whose lease is still the one they
/// were claimed with.
fn outcome_update(
    done: &[Attempted<'_>],
    which: &[usize],
    check_lease: bool,
) -> (String, Vec<Value>) {
    let mut state = String::from("CASE id");
    let mut next_at = String::from("CASE id");
    let mut finished_at = String::from("CASE id");
    let mut lease = String::from("CASE id");
    let (mut v_state, mut v_next, mut v_finished, mut v_lease) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &i in which {
        let d = &done[i];
        let (s, n, f) = outcome(d);
        for (text, values, value) in [
            (&mut state, &mut v_state, Value::from(s)),
            (&mut next_at, &mut v_next, Value::from(n)),
            (&mut finished_at, &mut v_finished, Value::from(f)),
            (
                &mut lease,
                &mut v_lease,
                Value::from(d.delivery.lease.clone()),
            ),
        ] {
            text.push_str(" WHEN ? THEN ?");
            values.extend([Value::from(d.delivery.id.clone()), value]);
        }
    }
    let mut values: Vec<Value> = Vec::with_capacity(which.len() * 9);
    values.extend(v_state);
    values.extend(v_next);
    values.extend(v_finished);
    values.extend(
        which
            .iter()
            .map(|&i| Value::from(done[i].delivery.id.clone())),
    );
    let mut sql = format!(
        "UPDATE webhook_deliveries SET attempts = attempts + 1, lease_owner = NULL, \
         lease_until = NULL, state = {state} END, next_attempt_at = {next_at} END, \
         finished_at = {finished_at} END WHERE id IN ({})",
        vec!["?"; which.len()].join(", ")
    );
    if check_lease {
        let _ = write!(sql, " AND lease_owner = {lease} END");
        values.extend(v_lease);
    }
    (sql, values)
}

/// One attempt of a claimed delivery, and what follows from it.
#[derive(Clone, Debug)]
pub struct Attempted<'a> {
    /// The delivery, as claimed.
    pub delivery: &'a ClaimedDelivery,
    /// What the attempt got.
    pub attempt: AttemptRecord,
    /// What becomes of the delivery.
    pub next: NextStep,
    /// What becomes of its endpoint.
    pub effect: EndpointEffect,
}

/// What a batch's attempts make of an endpoint's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Health {
    /// Disabled, with the reason, at this time.
    Disabled(&'static str, i64),
    /// Failing since this time: set if it was not failing already, or replaced when it
    /// recovered and failed again within the batch.
    FailingSince { since: i64, replace: bool },
    /// Healthy again after failing.
    Recovered,
}

/// An endpoint as a batch found it and as its attempts leave it.
struct Tally {
    endpoint: String,
    failing_before: Option<i64>,
    failing_after: Option<i64>,
    disabled: Option<(&'static str, i64)>,
}

/// What the held attempts of `done` make of each endpoint, replayed in the order they were
/// made; endpoints whose health does not change are left out.
fn endpoint_health(done: &[Attempted<'_>], held: &[usize]) -> Vec<(String, Health)> {
    let mut order: Vec<usize> = held.to_vec();
    order.sort_by_key(|&i| done[i].attempt.at);
    let mut tallies: Vec<Tally> = Vec::new();
    for i in order {
        let d = &done[i];
        let endpoint = d.delivery.endpoint.uuid().to_string();
        let at = to_ms(d.attempt.at);
        let k = if let Some(k) = tallies.iter().position(|t| t.endpoint == endpoint) {
            k
        } else {
            let before = d.delivery.failing_since.map(to_ms);
            tallies.push(Tally {
                endpoint,
                failing_before: before,
                failing_after: before,
                disabled: None,
            });
            tallies.len() - 1
        };
        let t = &mut tallies[k];
        match d.effect {
            EndpointEffect::Healthy => t.failing_after = None,
            EndpointEffect::Failing => t.failing_after = t.failing_after.or(Some(at)),
            EndpointEffect::Disable(reason) => t.disabled = t.disabled.or(Some((reason, at))),
        }
    }
    tallies
        .into_iter()
        .filter_map(|t| {
            let health = match (t.disabled, t.failing_before, t.failing_after) {
                (Some((reason, at)), ..) => Health::Disabled(reason, at),
                (None, Some(_), None) => Health::Recovered,
                (None, before, Some(since)) if before != Some(since) => Health::FailingSince {
                    since,
                    replace: before.is_some(),
                },
                _ => return None,
            };
            Some((t.endpoint, health))
        })
        .collect()
}

async fn write_health(
    txn: &sea_orm::DatabaseTransaction,
    endpoint_id: &str,
    health: Health,
) -> Result<(), StorageError> {
    let endpoint = webhook_endpoints::Entity::update_many()
        .filter(webhook_endpoints::Column::Id.eq(endpoint_id.to_owned()));
    match health {
        Health::Recovered => {
            endpoint
                .col_expr(
                    webhook_endpoints::Column::FailingSince,
                    Option::<i64>::None.into(),
                )
                .exec(txn)
                .await?;
        }
        Health::FailingSince { since, replace } => {
            let endpoint = endpoint.col_expr(webhook_endpoints::Column::FailingSince, since.into());
            let endpoint = if replace {
                endpoint
            } else {
                endpoint.filter(webhook_endpoints::Column::FailingSince.is_null())
            };
            endpoint.exec(txn).await?;
        }
        Health::Disabled(reason, at) => {
            endpoint
                .col_expr(webhook_endpoints::Column::Status, "disabled".into())
                .col_expr(webhook_endpoints::Column::DisabledReason, reason.into())
                .col_expr(webhook_endpoints::Column::UpdatedAt, at.into())
                .exec(txn)
                .await?;
        }
    }
    Ok(())
}
