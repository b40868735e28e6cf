//! Migration 13: sanctions screening (SPEC §8).
//!
//! - `screening_lists`: each loaded list version — the three files as loaded (so that every
//!   instance builds the same index from the database), their SHA-256, the counts, who loaded it;
//! - `screening_state`: one row (`id = 1`) naming the current list, and the lease of the
//!   rescreen of all submitted users after a list changes (holder, until);
//! - `screenings`: every screening of a user — list version, best score, matched entry number
//!   and name, outcome, and an operator's decision with who, why and when;
//! - `screening_subjects`: each screened user's current status and the list it was last
//!   screened against (what the rescreen and the KYC worker read).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        crate::create_table(manager, lists_table(backend)).await?;
        crate::create_table(manager, state_table()).await?;
        crate::create_table(manager, screenings_table()).await?;
        crate::create_table(manager, subjects_table()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_screenings_user_created")
                    .table(Screenings::Table)
                    .col(Screenings::UserId)
                    .col(Screenings::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_screening_subjects_status")
                    .table(ScreeningSubjects::Table)
                    .col(ScreeningSubjects::Status)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ScreeningSubjects::Table.into_iden(),
            Screenings::Table.into_iden(),
            ScreeningState::Table.into_iden(),
            ScreeningLists::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// A list file: `LONGBLOB` on MySQL/MariaDB (a `BLOB` holds 64 KiB), a blob elsewhere.
fn file_column(backend: sea_orm::DbBackend, name: ScreeningLists) -> ColumnDef {
    let mut col = ColumnDef::new(name);
    if backend == sea_orm::DbBackend::MySql {
        col.custom(Alias::new("LONGBLOB"));
    } else {
        col.blob();
    }
    col.not_null();
    col
}

fn lists_table(backend: sea_orm::DbBackend) -> TableCreateStatement {
    Table::create()
        .table(ScreeningLists::Table)
        .col(
            ColumnDef::new(ScreeningLists::Id)
                .string_len(36)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(ScreeningLists::Sha256)
                .string_len(64)
                .not_null(),
        )
        .col(file_column(backend, ScreeningLists::SdnCsv))
        .col(file_column(backend, ScreeningLists::AltCsv))
        .col(file_column(backend, ScreeningLists::AddCsv))
        .col(ColumnDef::new(ScreeningLists::Entries).integer().not_null())
        .col(ColumnDef::new(ScreeningLists::Aliases).integer().not_null())
        .col(
            ColumnDef::new(ScreeningLists::Addresses)
                .integer()
                .not_null(),
        )
        .col(ColumnDef::new(ScreeningLists::Skipped).integer().not_null())
        .col(
            ColumnDef::new(ScreeningLists::LoadedBy)
                .string_len(128)
                .not_null(),
        )
        .col(
            ColumnDef::new(ScreeningLists::LoadedAt)
                .big_integer()
                .not_null(),
        )
        .to_owned()
}

fn state_table() -> TableCreateStatement {
    Table::create()
        .table(ScreeningState::Table)
        .col(
            ColumnDef::new(ScreeningState::Id)
                .integer()
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(ScreeningState::CurrentListId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(ScreeningState::RescreenHolder)
                .string_len(64)
                .null(),
        )
        .col(
            ColumnDef::new(ScreeningState::RescreenUntil)
                .big_integer()
                .null(),
        )
        .col(
            ColumnDef::new(ScreeningState::RescreenDoneAt)
                .big_integer()
                .null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_screening_state_list")
                .from(ScreeningState::Table, ScreeningState::CurrentListId)
                .to(ScreeningLists::Table, ScreeningLists::Id),
        )
        .to_owned()
}

fn screenings_table() -> TableCreateStatement {
    Table::create()
        .table(Screenings::Table)
        .col(
            ColumnDef::new(Screenings::Id)
                .string_len(36)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(Screenings::ProgramId)
                .string_len(36)
                .not_null(),
        )
        .col(ColumnDef::new(Screenings::UserId).string_len(36).not_null())
        .col(ColumnDef::new(Screenings::ListId).string_len(36).not_null())
        .col(ColumnDef::new(Screenings::Cause).string_len(16).not_null())
        .col(ColumnDef::new(Screenings::Score).double().null())
        .col(ColumnDef::new(Screenings::EntryNumber).integer().null())
        .col(ColumnDef::new(Screenings::EntryName).string_len(512).null())
        .col(
            ColumnDef::new(Screenings::Outcome)
                .string_len(16)
                .not_null(),
        )
        .col(ColumnDef::new(Screenings::Decision).string_len(16).null())
        .col(ColumnDef::new(Screenings::DecidedBy).string_len(128).null())
        .col(
            ColumnDef::new(Screenings::DecisionReason)
                .string_len(256)
                .null(),
        )
        .col(ColumnDef::new(Screenings::DecidedAt).big_integer().null())
        .col(
            ColumnDef::new(Screenings::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_screenings_user_id")
                .from(Screenings::Table, Screenings::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_screenings_list_id")
                .from(Screenings::Table, Screenings::ListId)
                .to(ScreeningLists::Table, ScreeningLists::Id),
        )
        .to_owned()
}

fn subjects_table() -> TableCreateStatement {
    Table::create()
        .table(ScreeningSubjects::Table)
        .col(
            ColumnDef::new(ScreeningSubjects::UserId)
                .string_len(36)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(ScreeningSubjects::ProgramId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(ScreeningSubjects::Status)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(ScreeningSubjects::ListId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(ScreeningSubjects::ScreeningId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(ScreeningSubjects::UpdatedAt)
                .big_integer()
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_screening_subjects_user_id")
                .from(ScreeningSubjects::Table, ScreeningSubjects::UserId)
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

#[derive(DeriveIden, Clone, Copy)]
enum ScreeningLists {
    Table,
    Id,
    Sha256,
    SdnCsv,
    AltCsv,
    AddCsv,
    Entries,
    Aliases,
    Addresses,
    Skipped,
    LoadedBy,
    LoadedAt,
}

#[derive(DeriveIden)]
enum ScreeningState {
    Table,
    Id,
    CurrentListId,
    RescreenHolder,
    RescreenUntil,
    RescreenDoneAt,
}

#[derive(DeriveIden)]
enum Screenings {
    Table,
    Id,
    ProgramId,
    UserId,
    ListId,
    Cause,
    Score,
    EntryNumber,
    EntryName,
    Outcome,
    Decision,
    DecidedBy,
    DecisionReason,
    DecidedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ScreeningSubjects {
    Table,
    UserId,
    ProgramId,
    Status,
    ListId,
    ScreeningId,
    UpdatedAt,
}
