//! Migration 4: `idempotency_records` (stored responses per Idempotency-Key) and `seen_signatures` (HMAC replay guard).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

// `async_trait` needs the trait's elided `&SchemaManager` (`<'_>` would make the lifetime
// early-bound and mismatch the trait), which `rust_2018_idioms` would otherwise flag.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(
            manager,
            idempotency_records_table(manager.get_database_backend()),
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_idempotency_records_expires")
                    .table(IdempotencyRecords::Table)
                    .col(IdempotencyRecords::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        crate::create_table(manager, seen_signatures_table()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_seen_signatures_expires")
                    .table(SeenSignatures::Table)
                    .col(SeenSignatures::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Indexes and foreign keys go with their tables (see the crate docs for why they are
        // not dropped one by one).
        for table in [
            SeenSignatures::Table.into_iden(),
            IdempotencyRecords::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn idempotency_records_table(backend: sea_orm::DbBackend) -> TableCreateStatement {
    Table::create()
        .table(IdempotencyRecords::Table)
        .col(
            ColumnDef::new(IdempotencyRecords::ProgramId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(IdempotencyRecords::IdempotencyKey)
                .string_len(255)
                .not_null(),
        )
        .col(
            ColumnDef::new(IdempotencyRecords::RequestDigest)
                .string_len(64)
                .not_null(),
        )
        .col(
            ColumnDef::new(IdempotencyRecords::State)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(IdempotencyRecords::ResponseStatus)
                .integer()
                .null(),
        )
        .col(
            // Up to 16 MiB on MySQL/MariaDB (`TEXT` there stops at 64 KiB, less than a
            // response to a 64 KiB request); unbounded elsewhere.
            response_body_column(backend),
        )
        .col(
            ColumnDef::new(IdempotencyRecords::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(IdempotencyRecords::ExpiresAt)
                .big_integer()
                .not_null(),
        )
        .primary_key(
            Index::create()
                .name("pk_idempotency_records")
                .col(IdempotencyRecords::ProgramId)
                .col(IdempotencyRecords::IdempotencyKey),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_idempotency_records_program_id")
                .from(IdempotencyRecords::Table, IdempotencyRecords::ProgramId)
                .to(Programs::Table, Programs::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn seen_signatures_table() -> TableCreateStatement {
    Table::create()
        .table(SeenSignatures::Table)
        .col(
            ColumnDef::new(SeenSignatures::SignatureDigest)
                .string_len(64)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(SeenSignatures::ProgramId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(SeenSignatures::ExpiresAt)
                .big_integer()
                .not_null(),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum Programs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum IdempotencyRecords {
    Table,
    ProgramId,
    IdempotencyKey,
    RequestDigest,
    State,
    ResponseStatus,
    ResponseBody,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum SeenSignatures {
    Table,
    SignatureDigest,
    ProgramId,
    ExpiresAt,
}

/// `response_body`: `MEDIUMTEXT` on MySQL/MariaDB, `TEXT` elsewhere.
fn response_body_column(backend: sea_orm::DbBackend) -> ColumnDef {
    let mut col = ColumnDef::new(IdempotencyRecords::ResponseBody);
    if backend == sea_orm::DbBackend::MySql {
        col.custom(Alias::new("MEDIUMTEXT"));
    } else {
        col.text();
    }
    col.null();
    col
}
