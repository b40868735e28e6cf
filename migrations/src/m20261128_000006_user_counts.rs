//! Migration 6: `program_user_counts`, a sharded count of each program's users, so that the
//! `total` of an unfiltered listing is a sum of a few rows instead of a table scan.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(manager, counts_table()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ProgramUserCounts::Table).to_owned())
            .await
    }
}

fn counts_table() -> TableCreateStatement {
    Table::create()
        .table(ProgramUserCounts::Table)
        .col(
            ColumnDef::new(ProgramUserCounts::ProgramId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(ProgramUserCounts::Shard)
                .integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(ProgramUserCounts::Users)
                .big_integer()
                .not_null(),
        )
        .primary_key(
            Index::create()
                .name("pk_program_user_counts")
                .col(ProgramUserCounts::ProgramId)
                .col(ProgramUserCounts::Shard),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_program_user_counts_program_id")
                .from(ProgramUserCounts::Table, ProgramUserCounts::ProgramId)
                .to(Programs::Table, Programs::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum Programs {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ProgramUserCounts {
    Table,
    ProgramId,
    Shard,
    Users,
}
