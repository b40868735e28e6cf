//! Migration 5: `user_events`, the audit trail of every status and KYC transition.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(manager, user_events_table()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_user_events_user_created")
                    .table(UserEvents::Table)
                    .col(UserEvents::UserId)
                    .col(UserEvents::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UserEvents::Table).to_owned())
            .await
    }
}

fn user_events_table() -> TableCreateStatement {
    Table::create()
        .table(UserEvents::Table)
        .col(
            ColumnDef::new(UserEvents::Id)
                .string_len(36)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(UserEvents::ProgramId)
                .string_len(36)
                .not_null(),
        )
        .col(ColumnDef::new(UserEvents::UserId).string_len(36).not_null())
        .col(ColumnDef::new(UserEvents::Kind).string_len(16).not_null())
        .col(
            ColumnDef::new(UserEvents::FromState)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(UserEvents::ToState)
                .string_len(16)
                .not_null(),
        )
        .col(ColumnDef::new(UserEvents::Reason).string_len(256).null())
        .col(ColumnDef::new(UserEvents::Actor).string_len(64).not_null())
        .col(
            ColumnDef::new(UserEvents::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_user_events_user_id")
                .from(UserEvents::Table, UserEvents::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum UserEvents {
    Table,
    Id,
    ProgramId,
    UserId,
    Kind,
    FromState,
    ToState,
    Reason,
    Actor,
    CreatedAt,
}
