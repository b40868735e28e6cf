//! Migration 7: `key_checks`, what the database was written with — for each data key id (and
//! the blind-index key) a MAC of a constant under that key, never the key — so that a start
//! with other keys refuses instead of failing on live traffic (SPEC §5).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(manager, key_checks_table()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(KeyChecks::Table).to_owned())
            .await
    }
}

fn key_checks_table() -> TableCreateStatement {
    Table::create()
        .table(KeyChecks::Table)
        .col(ColumnDef::new(KeyChecks::KeyId).string_len(64).not_null())
        .col(ColumnDef::new(KeyChecks::Purpose).string_len(16).not_null())
        .col(
            ColumnDef::new(KeyChecks::CheckMac)
                .string_len(128)
                .not_null(),
        )
        .col(
            ColumnDef::new(KeyChecks::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .primary_key(Index::create().name("pk_key_checks").col(KeyChecks::KeyId))
        .to_owned()
}

#[derive(DeriveIden)]
enum KeyChecks {
    Table,
    KeyId,
    Purpose,
    CheckMac,
    CreatedAt,
}
