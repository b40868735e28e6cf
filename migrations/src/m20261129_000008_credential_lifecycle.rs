//! Migration 8: the credential lifecycle — `programs.disabled_at` (a disabled program's
//! credentials stop working) and `operator_actions` (who ran which operator command, and when).
//! An HMAC credential's existing `revoked_at` may now lie in the future: a rotated-out secret
//! stays valid until then.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Programs::Table)
                    .add_column(ColumnDef::new(Programs::DisabledAt).big_integer().null())
                    .to_owned(),
            )
            .await?;
        crate::create_table(manager, operator_actions_table()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_operator_actions_created_at")
                    .table(OperatorActions::Table)
                    .col(OperatorActions::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OperatorActions::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Programs::Table)
                    .drop_column(Programs::DisabledAt)
                    .to_owned(),
            )
            .await
    }
}

fn operator_actions_table() -> TableCreateStatement {
    Table::create()
        .table(OperatorActions::Table)
        .col(
            ColumnDef::new(OperatorActions::Id)
                .string_len(36)
                .not_null()
                .primary_key(),
        )
        // The operator: `--actor`, or the OS user running the command.
        .col(
            ColumnDef::new(OperatorActions::Actor)
                .string_len(128)
                .not_null(),
        )
        // The command as run, without secrets (`program disable prog-…`).
        .col(
            ColumnDef::new(OperatorActions::Command)
                .string_len(512)
                .not_null(),
        )
        .col(
            ColumnDef::new(OperatorActions::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum Programs {
    Table,
    DisabledAt,
}

#[derive(DeriveIden)]
enum OperatorActions {
    Table,
    Id,
    Actor,
    Command,
    CreatedAt,
}
