//! What the console lists across programs: the pending KYC cases (the manual verifier's
//! queue, along `idx_users_kyc_queue`) and the failed webhook deliveries (along
//! `idx_webhook_deliveries_due`), a page at a time.

use chrono::{DateTime, Utc};
use domain::{EventId, KycStatus, ProgramId, UserId, WebhookId};
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use crate::SqlStore;
use crate::entity::users;
use crate::error::{Problem, StorageError};
use crate::events::entity::webhook_deliveries;
use crate::time::from_ms;

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

impl SqlStore {
    /// A page of pending KYC cases of every program, the longest unclaimed first (the
    /// order the verifier takes them in).
    pub async fn pending_kyc_cases(
        &self,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<(ProgramId, UserId)>, StorageError> {
        let rows: Vec<(String, String)> = users::Entity::find()
            .select_only()
            .columns([users::Column::ProgramId, users::Column::Id])
            .filter(users::Column::KycStatus.eq(KycStatus::Pending.as_str()))
            .order_by_asc(sea_orm::sea_query::Expr::col(
                sea_orm::sea_query::Alias::new("kyc_claimed_until"),
            ))
            .order_by_asc(users::Column::Id)
            .offset(offset)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?;
        rows.iter()
            .map(|(p, u)| {
                Ok((
                    ProgramId::from_uuid(uuid(p, "users.program_id")?),
                    UserId::from_uuid(uuid(u, "users.id")?),
                ))
            })
            .collect()
    }

    /// A page of failed deliveries of every program, the latest first.
    pub async fn failed_deliveries(
        &self,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<FailedDelivery>, StorageError> {
        webhook_deliveries::Entity::find()
            .filter(webhook_deliveries::Column::State.eq("failed"))
            .order_by_desc(webhook_deliveries::Column::NextAttemptAt)
            .order_by_desc(webhook_deliveries::Column::Id)
            .offset(offset)
            .limit(limit)
            .all(&self.db)
            .await?
            .iter()
            .map(|row| {
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
            .collect()
    }
}
