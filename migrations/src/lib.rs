//! Onboard's schema migrations: the `Migrator` listing every migration in order.
//!
//! The same migrations run unchanged on SQLite, PostgreSQL and MariaDB/MySQL, so they use only
//! portable column types: ids are `VARCHAR(36)` lowercase UUID text, timestamps are `BIGINT`
//! milliseconds since the Unix epoch (UTC), dates are `VARCHAR(10)` `YYYY-MM-DD`, ciphertexts
//! are blobs (`bytea` on PostgreSQL) and blind indexes are `VARCHAR(64)` hex. There are no
//! functional indexes (MariaDB lacks them): case-insensitive uniqueness uses stored lowercase
//! `*_key` columns. Every constraint and index is named; foreign keys are `fk_<table>_<column>`
//! and are declared inside `CREATE TABLE` because SQLite cannot add them afterwards.
//!
//! Each `down` drops the tables its `up` created, in reverse order; their indexes and
//! constraints go with them. Indexes are not dropped one by one first: MariaDB silently
//! replaces the implicit index of a foreign key with a later index on the same leading column
//! and then refuses to drop that index (error 1553, "needed in a foreign key constraint").

use sea_orm_migration::MigrationTrait;
pub use sea_orm_migration::MigratorTrait;
use sea_orm_migration::prelude::{DbErr, SchemaManager, TableCreateStatement};
use sea_orm_migration::sea_orm::DbBackend;

/// Creates a table; on MySQL/MariaDB with `utf8mb4` and the binary collation, so that text
/// compares and sorts byte-wise as on SQLite (case-sensitive idempotency keys, any script in
/// names) whatever the server's defaults are.
async fn create_table(
    manager: &SchemaManager<'_>,
    mut table: TableCreateStatement,
) -> Result<(), DbErr> {
    if manager.get_database_backend() == DbBackend::MySql {
        table.character_set("utf8mb4").collate("utf8mb4_bin");
    }
    manager.create_table(table).await
}

mod m20261128_000001_programs_and_credentials;
mod m20261128_000002_users;
mod m20261128_000003_businesses;
mod m20261128_000004_idempotency_and_replay;
mod m20261128_000005_user_events;
mod m20261128_000006_user_counts;
mod m20261129_000007_key_checks;
mod m20261129_000008_credential_lifecycle;
mod m20261129_000009_claims_and_leases;
mod m20261129_000010_user_search;
mod m20261129_000011_events_and_webhooks;
mod m20261129_000012_business_owners_and_kyb;
mod m20261129_000013_screening;
mod m20261130_000014_kyb_claims;
mod m20261130_000015_console;
mod m20261130_000016_user_screening_status;
mod m20261130_000017_console_keysets;
mod m20261130_000018_attempts_by_delivery;
mod m20261130_000019_rescreen_cursor;
mod m20261130_000020_search_by_program;
mod m20261130_000021_users_insert_order;
mod m20261201_000022_delivery_fillfactor;
mod m20261201_000023_narrow_user_search;

/// Runs Onboard's migrations: `Migrator::up(&db, None)` applies every pending one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261128_000001_programs_and_credentials::Migration),
            Box::new(m20261128_000002_users::Migration),
            Box::new(m20261128_000003_businesses::Migration),
            Box::new(m20261128_000004_idempotency_and_replay::Migration),
            Box::new(m20261128_000005_user_events::Migration),
            Box::new(m20261128_000006_user_counts::Migration),
            Box::new(m20261129_000007_key_checks::Migration),
            Box::new(m20261129_000008_credential_lifecycle::Migration),
            Box::new(m20261129_000009_claims_and_leases::Migration),
            Box::new(m20261129_000010_user_search::Migration),
            Box::new(m20261129_000011_events_and_webhooks::Migration),
            Box::new(m20261129_000012_business_owners_and_kyb::Migration),
            Box::new(m20261129_000013_screening::Migration),
            Box::new(m20261130_000014_kyb_claims::Migration),
            Box::new(m20261130_000015_console::Migration),
            Box::new(m20261130_000016_user_screening_status::Migration),
            Box::new(m20261130_000017_console_keysets::Migration),
            Box::new(m20261130_000018_attempts_by_delivery::Migration),
            Box::new(m20261130_000019_rescreen_cursor::Migration),
            Box::new(m20261130_000020_search_by_program::Migration),
            Box::new(m20261130_000021_users_insert_order::Migration),
            Box::new(m20261201_000022_delivery_fillfactor::Migration),
            Box::new(m20261201_000023_narrow_user_search::Migration),
        ]
    }
}
