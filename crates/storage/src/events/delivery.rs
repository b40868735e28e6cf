//! Deliveries, claimed by any instance with a lease: a claim takes due deliveries whose
//! endpoint is enabled and which have no earlier pending delivery of the same entity to the
//! same endpoint (per-endpoint order by entity sequence, other entities never blocked),
//! marking them with a fresh lease token in one compare-and-set `UPDATE` (a row another
//! instance took meanwhile no longer matches). The outcome of an attempt is written only
//! while the lease token still holds; a lease that runs out (a crashed instance) makes the
//! delivery due again: at least once, never twice at the same time.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::{EventId, WebhookId};
use sea_orm::sea_query::ExprTrait as _;
use sea_orm::{
    ColumnTrait as _, ConnectionTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _,
};

use super::entity::{events, webhook_deliveries, webhook_endpoints};
use super::webhooks::secret_aad;
use crate::SqlStore;
use crate::db::statement;
use crate::error::{Problem, StorageError};
use crate::secret::SecretString;
use crate::time::{from_ms, to_ms};

/// Waiting to be delivered (or being delivered, under a lease).
pub(crate) const PENDING: &str = "pending";
/// Answered with a 2xx.
pub(super) const DELIVERED: &str = "delivered";
/// Given up after the last retry.
pub(super) const FAILED: &str = "failed";

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

    /// Deliveries waiting (due or not, of enabled endpoints or not): the queue depth.
    pub async fn pending_deliveries(&self) -> Result<u64, StorageError> {
        Ok(webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::State.eq(PENDING))
            .count(&self.db)
            .await?)
    }
}

pub(super) fn uuid_of(column: &'static str, s: &str) -> Result<uuid::Uuid, StorageError> {
    uuid::Uuid::parse_str(s).map_err(|_| StorageError::corrupt(column, Problem::NotUuid))
}
