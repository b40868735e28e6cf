//! Work that must happen once across instances (SPEC §6), claimed through the database:
//!
//! - **KYC and KYB cases**: [`SqlStore::claim_kyc_cases`] (and `claim_kyb_cases`) moves the lease (`users.kyc_claimed_until`)
//!   of a batch of pending, unclaimed cases into the future in one transaction, the rows
//!   picked `FOR UPDATE SKIP LOCKED` on PostgreSQL and MariaDB (under SQLite's one write lock
//!   on SQLite), so two instances never claim the same case at once. The decision itself is a
//!   guarded transition (`pending` → `verified`/`rejected`), so even a case whose lease ran
//!   out while its verifier was slow is decided once.
//! - **Named leases** ([`SqlStore::try_lease`]): a job one instance at a time runs (the
//!   sweepers). A lease is held until its expiry and renewed by its holder; an instance that
//!   dies loses it when it runs out.

use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::{BusinessId, KycStatus, ProgramId, UserId};
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, LockBehavior, LockType, Query};
use sea_orm::{ConnectionTrait as _, DbBackend};

use crate::SqlStore;
use crate::error::StorageError;
use crate::time::to_ms;
use crate::users::rows::uuid_of;

/// A queue of pending cases: the table, its status column, its lease column, and which
/// pending rows may be claimed at all.
struct Queue {
    table: &'static str,
    status: &'static str,
    claimed_until: &'static str,
    only: Option<sea_orm::Condition>,
}

/// Milliseconds of a lease, saturating.
fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl SqlStore {
    /// Claims up to `limit` pending KYC cases of any program for `lease`: cases nobody holds,
    /// that screening lets proceed, the longest unclaimed first. Returns them; their lease
    /// ends at `now + lease`.
    pub async fn claim_kyc_cases(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u64,
    ) -> Result<Vec<(ProgramId, UserId)>, StorageError> {
        let queue = Queue {
            table: "users",
            status: "kyc_status",
            claimed_until: "kyc_claimed_until",
            // Once a sanctions list is loaded, only cases screened `clear` (SPEC §8).
            only: Some(crate::screening::kyc_may_proceed()),
        };
        self.claim(&queue, now, lease, limit)
            .await?
            .into_iter()
            .map(|(program, id)| {
                Ok((
                    ProgramId::from_uuid(uuid_of(&program, "users.program_id")?),
                    UserId::from_uuid(uuid_of(&id, "users.id")?),
                ))
            })
            .collect()
    }

    /// Claims up to `limit` pending KYB cases of any program for `lease`, as
    /// [`SqlStore::claim_kyc_cases`] does KYC cases.
    pub async fn claim_kyb_cases(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u64,
    ) -> Result<Vec<(ProgramId, BusinessId)>, StorageError> {
        let queue = Queue {
            table: "businesses",
            status: "kyb_status",
            claimed_until: "kyb_claimed_until",
            only: None,
        };
        self.claim(&queue, now, lease, limit)
            .await?
            .into_iter()
            .map(|(program, id)| {
                Ok((
                    ProgramId::from_uuid(uuid_of(&program, "businesses.program_id")?),
                    BusinessId::from_uuid(uuid_of(&id, "businesses.id")?),
                ))
            })
            .collect()
    }

    /// Hands a claimed KYB case back to the queue from `at` on, before its lease would run out
    /// (its verifier could not decide it yet: an owner's KYC is still open).
    pub async fn postpone_kyb_case(
        &self,
        id: BusinessId,
        at: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let update = Query::update()
            .table(Alias::new("businesses"))
            .value(Alias::new("kyb_claimed_until"), to_ms(at))
            .and_where(Expr::col(Alias::new("id")).eq(id.uuid().to_string()))
            .to_owned();
        self.db.execute(&update).await?;
        Ok(())
    }

    /// Claims up to `limit` pending rows of `queue` (ids and their programs) in one
    /// transaction: picked `FOR UPDATE SKIP LOCKED` on the server databases (under SQLite's
    /// write lock on SQLite), their lease moved to `now + lease`.
    async fn claim(
        &self,
        queue: &Queue,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u64,
    ) -> Result<Vec<(String, String)>, StorageError> {
        let backend = self.db.get_database_backend();
        let txn = crate::db::begin_write(&self.db).await?;
        let table = Alias::new(queue.table);
        let claimed_until = Alias::new(queue.claimed_until);
        let mut select = Query::select();
        select
            .columns([Alias::new("program_id"), Alias::new("id")])
            .from(table.clone())
            .and_where(Expr::col(Alias::new(queue.status)).eq(KycStatus::Pending.as_str()))
            .and_where(Expr::col(claimed_until.clone()).lte(to_ms(now)))
            .order_by(claimed_until.clone(), sea_orm::sea_query::Order::Asc)
            .limit(limit);
        if let Some(only) = &queue.only {
            select.cond_where(only.clone());
        }
        if backend != DbBackend::Sqlite {
            select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
        }
        let rows = txn.query_all(&select).await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let program: String = row.try_get("", "program_id")?;
            let id: String = row.try_get("", "id")?;
            claimed.push((program, id));
        }
        if !claimed.is_empty() {
            let update = Query::update()
                .table(table)
                .value(claimed_until, to_ms(now) + ms(lease))
                .and_where(
                    Expr::col(Alias::new("id")).is_in(claimed.iter().map(|(_, id)| id.clone())),
                )
                .to_owned();
            txn.execute(&update).await?;
        }
        txn.commit().await?;
        Ok(claimed)
    }

    /// Takes or renews the lease `name` for `holder` until `now + ttl`. `Ok(false)`: another
    /// holder has it and it has not run out.
    pub async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Result<bool, StorageError> {
        let leases = Alias::new("leases");
        let until = to_ms(now) + ms(ttl);
        let take = Query::update()
            .table(leases.clone())
            .value(Alias::new("holder"), holder)
            .value(Alias::new("expires_at"), until)
            .and_where(Expr::col(Alias::new("name")).eq(name))
            .and_where(
                Expr::col(Alias::new("expires_at"))
                    .lt(to_ms(now))
                    .or(Expr::col(Alias::new("holder")).eq(holder)),
            )
            .to_owned();
        if self.db.execute(&take).await?.rows_affected() == 1 {
            return Ok(true);
        }
        // Either held by someone else, or no row yet: the first to insert it holds it.
        let insert = Query::insert()
            .into_table(leases)
            .columns([
                Alias::new("name"),
                Alias::new("holder"),
                Alias::new("expires_at"),
            ])
            .values_panic([name.into(), holder.into(), until.into()])
            .to_owned();
        match self.db.execute(&insert).await {
            Ok(_) => Ok(true),
            Err(e) => match StorageError::from(e) {
                StorageError::Conflict(_) => Ok(false),
                other => Err(other),
            },
        }
    }

    /// Gives up the lease `name` if `holder` has it (on shutdown), so another instance need
    /// not wait for it to run out.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StorageError> {
        let release = Query::update()
            .table(Alias::new("leases"))
            .value(Alias::new("expires_at"), 0_i64)
            .and_where(Expr::col(Alias::new("name")).eq(name))
            .and_where(Expr::col(Alias::new("holder")).eq(holder))
            .to_owned();
        self.db.execute(&release).await?;
        Ok(())
    }
}
