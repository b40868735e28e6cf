//! What the console lists across programs, a keyset page at a time: the pending KYC cases
//! (the manual verifier's queue, the longest unclaimed first, along `idx_users_kyc_queue`,
//! `(kyc_status, kyc_claimed_until, id)`) and the failed webhook deliveries (the latest first,
//! along `idx_webhook_deliveries_due`, `(state, next_attempt_at, id)`; both extended with the
//! id by migration 17).

use chrono::{DateTime, Utc};
use domain::{EventId, KycStatus, ProgramId, User, WebhookId};
use sea_orm::sea_query::{Alias, Expr};
use sea_orm::{
    ColumnTrait as _, DbBackend, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _, QueryTrait as _, Select,
};

use crate::SqlStore;
use crate::entity::users;
use crate::error::{Problem, StorageError};
use crate::events::entity::webhook_deliveries;
use crate::keyset::{self, KeyOrder, KeysetPage, PageKey, Seek};
use crate::time::from_ms;

/// A delivery whose every attempt failed.
const FAILED: &str = "failed";

fn uuid(text: &str, column: &'static str) -> Result<uuid::Uuid, StorageError> {
    text.parse()
        .map_err(|_| StorageError::corrupt(column, Problem::NotUuid))
}

/// A delivery that gave up: every attempt failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedDelivery {
    /// The program.
    pub program: ProgramId,
    /// The event.
    pub event: EventId,
    /// The endpoint.
    pub endpoint: WebhookId,
    /// Attempts made.
    pub attempts: u32,
    /// When it was marked failed.
    pub failed_at: Option<DateTime<Utc>>,
}

/// The KYC queue's order: by lease end (0 = never claimed), then id.
fn kyc_order() -> KeyOrder {
    KeyOrder {
        ms: Expr::col((users::Entity, Alias::new("kyc_claimed_until"))),
        id: Expr::col((users::Entity, users::Column::Id)),
        descending: false,
    }
}

/// The failed deliveries' order: the latest failure first.
fn failed_order() -> KeyOrder {
    KeyOrder {
        ms: Expr::col((
            webhook_deliveries::Entity,
            webhook_deliveries::Column::NextAttemptAt,
        )),
        id: Expr::col((webhook_deliveries::Entity, webhook_deliveries::Column::Id)),
        descending: true,
    }
}

/// The select of a KYC queue page's keys: (id, lease end), at most a page and one more.
fn kyc_keys(backend: DbBackend, seek: Seek, per_page: u64) -> Select<users::Entity> {
    let order = kyc_order();
    let dir = order.read_order(seek);
    let mut select = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column_as(Expr::col(Alias::new("kyc_claimed_until")), "claimed_until")
        .filter(users::Column::KycStatus.eq(KycStatus::Pending.as_str()));
    if let Some(c) = order.condition(backend, seek) {
        select = select.filter(c);
    }
    select
        .order_by(order.ms, dir.clone())
        .order_by(order.id, dir)
        .limit(keyset::bounded(per_page) + 1)
}

/// The select of a failed-deliveries page: at most a page and one more.
fn failed_rows(
    backend: DbBackend,
    seek: Seek,
    per_page: u64,
) -> Select<webhook_deliveries::Entity> {
    let order = failed_order();
    let dir = order.read_order(seek);
    let mut select =
        webhook_deliveries::Entity::find().filter(webhook_deliveries::Column::State.eq(FAILED));
    if let Some(c) = order.condition(backend, seek) {
        select = select.filter(c);
    }
    select
        .order_by(order.ms, dir.clone())
        .order_by(order.id, dir)
        .limit(keyset::bounded(per_page) + 1)
}

impl SqlStore {
    /// A page of pending KYC cases of every program, the longest unclaimed first (the order
    /// the verifier takes them in), as users: three statements (the page's keys along the
    /// queue's index, the users, their meta_data) whatever the page's depth.
    pub async fn pending_kyc_page(
        &self,
        seek: Seek,
        per_page: u64,
    ) -> Result<KeysetPage<User>, StorageError> {
        let rows: Vec<(String, i64)> = kyc_keys(self.db.get_database_backend(), seek, per_page)
            .into_tuple()
            .all(&self.db)
            .await?;
        let keyed = rows
            .into_iter()
            .map(|(id, ms)| {
                let key = PageKey {
                    ms,
                    id: uuid(&id, "users.id")?,
                };
                Ok((key, id))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let page = keyset::finish(keyed, per_page, seek, |(k, _)| *k);
        let ids: Vec<String> = page.items.iter().map(|(_, id)| id.clone()).collect();
        let users = crate::users::rows::by_ids(&self.db, &ids).await?;
        Ok(KeysetPage {
            items: users,
            previous: page.previous,
            next: page.next,
        })
    }

    /// A page of failed deliveries of every program, the latest first.
    pub async fn failed_deliveries_page(
        &self,
        seek: Seek,
        per_page: u64,
    ) -> Result<KeysetPage<FailedDelivery>, StorageError> {
        let rows = failed_rows(self.db.get_database_backend(), seek, per_page)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| {
                let key = PageKey {
                    ms: row.next_attempt_at,
                    id: uuid(&row.id, "webhook_deliveries.id")?,
                };
                Ok((key, row))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        keyset::finish(rows, per_page, seek, |(k, _)| *k).try_map(|(_, row)| {
            Ok(FailedDelivery {
                program: ProgramId::from_uuid(uuid(
                    &row.program_id,
                    "webhook_deliveries.program_id",
                )?),
                event: EventId::from_uuid(uuid(&row.event_id, "webhook_deliveries.event_id")?),
                endpoint: WebhookId::from_uuid(uuid(
                    &row.endpoint_id,
                    "webhook_deliveries.endpoint_id",
                )?),
                attempts: u32::try_from(row.attempts).unwrap_or(0),
                failed_at: row.finished_at.map(from_ms).transpose()?,
            })
        })
    }

    /// The database's plans (`EXPLAIN`; SQLite `EXPLAIN QUERY PLAN`) of a KYC queue page's
    /// and a failed-deliveries page's statements at `seek`, for tests: which index serves them.
    pub async fn explain_console_queues(
        &self,
        seek: Seek,
    ) -> Result<(Vec<String>, Vec<String>), StorageError> {
        let backend = self.db.get_database_backend();
        Ok((
            self.explain(kyc_keys(backend, seek, 25).build(backend))
                .await?,
            self.explain(failed_rows(backend, seek, 25).build(backend))
                .await?,
        ))
    }
}
