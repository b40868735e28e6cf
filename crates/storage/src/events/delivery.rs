//! Deliveries, claimed by any instance with a lease: a claim takes due deliveries whose
//! endpoint is enabled and which have no earlier pending delivery of the same entity to the
//! same endpoint (per-endpoint order by entity sequence, other entities never blocked),
//! marking them with a fresh lease token in one compare-and-set `UPDATE` (a row another
//! instance took meanwhile no longer matches). The outcome of an attempt is written only
//! while the lease token still holds; a lease that runs out (a crashed instance) makes the
//! delivery due again: at least once, never twice at the same time.

use std::collections::HashMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use domain::{EventId, WebhookId};
use sea_orm::sea_query::ExprTrait as _;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait as _, DbBackend, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, Value,
};

use super::entity::{events, webhook_attempts, webhook_deliveries, webhook_endpoints};
use super::webhooks::secret_aad;
use crate::SqlStore;
use crate::db::statement;
use crate::error::{Problem, StorageError};
use crate::secret::SecretString;
use crate::time::{from_ms, to_ms};

/// Waiting to be delivered (or being delivered, under a lease).
pub(crate) const PENDING: &str = "pending";
/// Answered with a 2xx.
const DELIVERED: &str = "delivered";
/// Given up after the last retry.
const FAILED: &str = "failed";

/// A delivery this instance holds the lease of, with what it needs to send it.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    /// The delivery's id.
    pub id: String,
    /// The lease token (the outcome is written only while it holds).
    pub lease: String,
    /// The event (`webhook-id`).
    pub event_id: EventId,
    /// The endpoint.
    pub endpoint: WebhookId,
    /// Where to post.
    pub url: String,
    /// The secrets to sign with: the current one, then the previous one during its overlap.
    pub secrets: Vec<SecretString>,
    /// The body, as stored.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: u32,
    /// When the event was written (or resent): the start of the delivery lag.
    pub due_since: DateTime<Utc>,
    /// Since when the endpoint has failed every attempt, if it has.
    pub failing_since: Option<DateTime<Utc>>,
}

/// What one attempt got.
#[derive(Clone, Debug)]
pub struct AttemptRecord {
    /// When it started.
    pub at: DateTime<Utc>,
    /// The HTTP status, if the endpoint answered.
    pub status_code: Option<u16>,
    /// What went wrong without an answer (never the body).
    pub error: Option<String>,
    /// How long it took.
    pub duration_ms: u64,
}

/// What becomes of a delivery after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    /// Delivered (a 2xx).
    Delivered,
    /// Tried again at this time.
    RetryAt(DateTime<Utc>),
    /// Given up (the last retry failed).
    Failed,
}

/// What becomes of the endpoint after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EndpointEffect {
    /// It answered 2xx: it is not failing.
    Healthy,
    /// It failed: failing since now, unless it already was.
    Failing,
    /// Disabled, with the reason (`gone` after a 410, `failing` after 5 days).
    Disable(&'static str),
}

/// Due deliveries, first in line for their entity and endpoint, of enabled endpoints.
const CANDIDATES: &str = "SELECT d.id FROM webhook_deliveries d \
     JOIN webhook_endpoints e ON e.id = d.endpoint_id \
     WHERE d.state = 'pending' AND d.next_attempt_at <= ? \
     AND (d.lease_until IS NULL OR d.lease_until <= ?) AND e.status = 'enabled' \
     AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id \
     AND p.entity_id = d.entity_id AND p.state = 'pending' AND p.sequence < d.sequence) \
     ORDER BY d.next_attempt_at LIMIT ?";

impl SqlStore {
    /// Claims up to `limit` due deliveries for `lease` from `now`.
    pub async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        lease: chrono::Duration,
        limit: u64,
    ) -> Result<Vec<ClaimedDelivery>, StorageError> {
        let backend = self.db.get_database_backend();
        let now_ms = to_ms(now);
        let rows = self
            .db
            .query_all_raw(statement(
                backend,
                CANDIDATES,
                vec![now_ms.into(), now_ms.into(), limit.into()],
            ))
            .await?;
        let ids: Vec<String> = rows
            .iter()
            .map(|r| r.try_get_by_index::<String>(0))
            .collect::<Result<_, _>>()?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let token = uuid::Uuid::new_v4().to_string();
        let claimed = self.lease(ids, &token, now_ms, to_ms(now + lease)).await?;
        // What the batch needs, in one query per table (not two per delivery), and each
        // endpoint's secrets opened once however many of its deliveries the batch holds.
        let mut event_ids: Vec<String> = claimed.iter().map(|d| d.event_id.clone()).collect();
        event_ids.sort_unstable();
        event_ids.dedup();
        let bodies: HashMap<String, String> = events::Entity::find()
            .filter(events::Column::Id.is_in(event_ids))
            .all(&self.db)
            .await?
            .into_iter()
            .map(|e| (e.id, e.body))
            .collect();
        let mut endpoint_ids: Vec<String> = claimed.iter().map(|d| d.endpoint_id.clone()).collect();
        endpoint_ids.sort_unstable();
        endpoint_ids.dedup();
        let mut endpoints = HashMap::new();
        for endpoint in webhook_endpoints::Entity::find()
            .filter(webhook_endpoints::Column::Id.is_in(endpoint_ids))
            .all(&self.db)
            .await?
        {
            let secrets = self.secrets(&endpoint, now)?;
            endpoints.insert(endpoint.id.clone(), (endpoint, secrets));
        }
        let mut out = Vec::with_capacity(claimed.len());
        for d in claimed {
            let (Some(body), Some((endpoint, secrets))) =
                (bodies.get(&d.event_id), endpoints.get(&d.endpoint_id))
            else {
                continue;
            };
            out.push(ClaimedDelivery {
                secrets: secrets.clone(),
                lease: token.clone(),
                event_id: EventId::from_uuid(uuid_of("webhook_deliveries.event_id", &d.event_id)?),
                endpoint: WebhookId::from_uuid(uuid_of(
                    "webhook_deliveries.endpoint_id",
                    &d.endpoint_id,
                )?),
                url: endpoint.url.clone(),
                body: body.clone(),
                attempts: u32::try_from(d.attempts).unwrap_or(0),
                due_since: from_ms(d.event_created_at)?,
                failing_since: endpoint.failing_since.map(from_ms).transpose()?,
                id: d.id,
            });
        }
        Ok(out)
    }

    /// Leases the deliveries `ids` that are still pending and not leased, to `token` until
    /// `until_ms`, in a transaction of its own; answers them as leased.
    async fn lease(
        &self,
        ids: Vec<String>,
        token: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<webhook_deliveries::Model>, StorageError> {
        let txn = crate::db::begin_relaxed(&self.db).await?;
        let lease_update = webhook_deliveries::Entity::update_many()
            .col_expr(webhook_deliveries::Column::LeaseOwner, token.into())
            .col_expr(webhook_deliveries::Column::LeaseUntil, until_ms.into())
            .filter(webhook_deliveries::Column::Id.is_in(ids))
            .filter(webhook_deliveries::Column::State.eq(PENDING))
            .filter(
                webhook_deliveries::Column::LeaseUntil
                    .is_null()
                    .or(webhook_deliveries::Column::LeaseUntil.lte(now_ms)),
            );
        // The rows leased, as the UPDATE leaves them (`RETURNING`: PostgreSQL and SQLite),
        // or read back by their lease token after the commit (MySQL/MariaDB).
        let returning = self.db.support_returning();
        let leased = if returning {
            lease_update.exec_with_returning(&txn).await
        } else {
            lease_update.exec(&txn).await.map(|_| Vec::new())
        };
        let claimed = match leased {
            Ok(rows) => {
                txn.commit().await?;
                rows
            }
            Err(e) => {
                crate::along::rollback(txn).await;
                return Err(e.into());
            }
        };
        if returning {
            Ok(claimed)
        } else {
            webhook_deliveries::Entity::find()
                .filter(webhook_deliveries::Column::LeaseOwner.eq(token))
                .filter(webhook_deliveries::Column::State.eq(PENDING))
                .all(&self.db)
                .await
                .map_err(Into::into)
        }
    }

    /// The endpoint's signing secrets at `now`: the current one, and the previous one while
    /// its overlap lasts.
    pub(super) fn secrets(
        &self,
        endpoint: &webhook_endpoints::Model,
        now: DateTime<Utc>,
    ) -> Result<Vec<SecretString>, StorageError> {
        let open = |key_id: &str, bytes: &[u8], column: &str| {
            let plain = self
                .keys
                .open(key_id, bytes, secret_aad(column, &endpoint.id))?;
            String::from_utf8(plain.to_vec())
                .map(SecretString::new)
                .map_err(|_| StorageError::corrupt("webhook_endpoints.secret", Problem::NotUtf8))
        };
        let mut secrets = vec![open(
            &endpoint.secret_key_id,
            &endpoint.secret_ciphertext,
            "secret_ciphertext",
        )?];
        if let (Some(bytes), Some(key_id), Some(until)) = (
            &endpoint.old_secret_ciphertext,
            &endpoint.old_secret_key_id,
            endpoint.old_secret_until,
        ) && until > to_ms(now)
        {
            secrets.push(open(key_id, bytes, "old_secret_ciphertext")?);
        }
        Ok(secrets)
    }

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

    /// Deliveries waiting (due or not, of enabled endpoints or not): the queue depth.
    pub async fn pending_deliveries(&self) -> Result<u64, StorageError> {
        Ok(webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::State.eq(PENDING))
            .count(&self.db)
            .await?)
    }
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

/// The body of [`SqlStore::finish_deliveries`].
async fn write_outcomes(
    txn: &sea_orm::DatabaseTransaction,
    done: &[Attempted<'_>],
) -> Result<Vec<usize>, StorageError> {
    let backend = txn.get_database_backend();
    let all: Vec<usize> = (0..done.len()).collect();
    let held: Vec<usize> = if txn.support_returning() {
        // One statement: the deliveries whose lease still holds are updated, and their ids
        // come back (PostgreSQL, SQLite).
        let (sql, values) = outcome_update(done, &all, true);
        let rows = txn
            .query_all_raw(statement(backend, &format!("{sql} RETURNING id"), values))
            .await?;
        let mut updated = std::collections::HashSet::with_capacity(rows.len());
        for row in rows {
            updated.insert(row.try_get_by_index::<String>(0)?);
        }
        all.into_iter()
            .filter(|&i| updated.contains(&done[i].delivery.id))
            .collect()
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
    webhook_attempts::Entity::insert_many(held.iter().map(|&i| {
        let d = &done[i];
        webhook_attempts::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            delivery_id: Set(d.delivery.id.clone()),
            event_id: Set(d.delivery.event_id.uuid().to_string()),
            endpoint_id: Set(d.delivery.endpoint.uuid().to_string()),
            attempted_at: Set(to_ms(d.attempt.at)),
            status_code: Set(d.attempt.status_code.map(i32::from)),
            error: Set(d
                .attempt
                .error
                .as_ref()
                .map(|e| e.chars().take(256).collect())),
            duration_ms: Set(i64::try_from(d.attempt.duration_ms).unwrap_or(i64::MAX)),
        }
    }))
    .exec_without_returning(txn)
    .await?;
    for (endpoint, health) in endpoint_health(done, &held) {
        write_health(txn, &endpoint, health).await?;
    }
    Ok(lost)
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
        let at = to_ms(d.attempt.at);
        let (s, n, f) = match d.next {
            NextStep::Delivered => (DELIVERED, at, Some(at)),
            NextStep::RetryAt(t) => (PENDING, to_ms(t), None),
            NextStep::Failed => (FAILED, at, Some(at)),
        };
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

pub(super) fn uuid_of(column: &'static str, s: &str) -> Result<uuid::Uuid, StorageError> {
    uuid::Uuid::parse_str(s).map_err(|_| StorageError::corrupt(column, Problem::NotUuid))
}
