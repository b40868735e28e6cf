//! Migration 22 (PostgreSQL): `webhook_deliveries` leaves room on its pages.
//!
//! A claim writes a delivery's lease (`lease_owner`, `lease_until`: no index holds them);
//! with free space on the row's page PostgreSQL makes that a heap-only (HOT) update, with no
//! new entry in any of the table's indexes. At the default fill factor (100) the pages of a
//! queue written in insertion order are full, and every claim wrote a new entry into each of
//! the three indexes.
//!
//! SQLite and MariaDB: nothing (no such setting).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE webhook_deliveries SET (fillfactor = 50)")
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("ALTER TABLE webhook_deliveries RESET (fillfactor)")
                .await?;
        }
        Ok(())
    }
}
