//! Migration 2: `users` (people onboarded by a program) and their ordered `user_meta_data`.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

// `async_trait` needs the trait's elided `&SchemaManager` (`<'_>` would make the lifetime
// early-bound and mismatch the trait), which `rust_2018_idioms` would otherwise flag.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(manager, users_table()).await?;
        for index in users_indexes() {
            manager.create_index(index).await?;
        }
        crate::create_table(manager, user_meta_data_table()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Indexes and foreign keys go with their tables (see the crate docs for why they are
        // not dropped one by one).
        for table in [UserMetaData::Table.into_iden(), Users::Table.into_iden()] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn users_table() -> TableCreateStatement {
    Table::create()
        .table(Users::Table)
        .col(
            ColumnDef::new(Users::Id)
                .string_len(36)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(Users::ProgramId).string_len(36).not_null())
        .col(ColumnDef::new(Users::FirstName).string_len(64).not_null())
        .col(ColumnDef::new(Users::MiddleName).string_len(64).null())
        .col(ColumnDef::new(Users::LastName).string_len(64).not_null())
        .col(ColumnDef::new(Users::Email).string_len(254).not_null())
        .col(ColumnDef::new(Users::EmailKey).string_len(254).not_null())
        .col(ColumnDef::new(Users::PhoneNumber).string_len(16).not_null())
        .col(ColumnDef::new(Users::AddressOne).string_len(128).not_null())
        .col(ColumnDef::new(Users::AddressTwo).string_len(128).null())
        .col(ColumnDef::new(Users::City).string_len(64).not_null())
        .col(ColumnDef::new(Users::State).string_len(3).not_null())
        .col(ColumnDef::new(Users::Country).string_len(2).not_null())
        .col(ColumnDef::new(Users::PostalCode).string_len(5).not_null())
        .col(ColumnDef::new(Users::Username).string_len(32).null())
        .col(ColumnDef::new(Users::UsernameKey).string_len(32).null())
        .col(ColumnDef::new(Users::DateOfBirth).string_len(10).null())
        .col(ColumnDef::new(Users::SsnCiphertext).blob().null())
        .col(ColumnDef::new(Users::SsnKeyId).string_len(32).null())
        .col(ColumnDef::new(Users::SsnBlindIndex).string_len(64).null())
        .col(ColumnDef::new(Users::SsnLast4).string_len(4).null())
        .col(ColumnDef::new(Users::TermsAcceptedAt).big_integer().null())
        .col(ColumnDef::new(Users::Status).string_len(16).not_null())
        .col(ColumnDef::new(Users::KycStatus).string_len(16).not_null())
        .col(ColumnDef::new(Users::CreatedAt).big_integer().not_null())
        .col(ColumnDef::new(Users::UpdatedAt).big_integer().not_null())
        .foreign_key(
            ForeignKey::create()
                .name("fk_users_program_id")
                .from(Users::Table, Users::ProgramId)
                .to(Programs::Table, Programs::Id)
                .on_delete(ForeignKeyAction::Restrict),
        )
        .to_owned()
}

fn users_indexes() -> [IndexCreateStatement; 6] {
    [
        Index::create()
            .name("uq_users_program_email")
            .table(Users::Table)
            .col(Users::ProgramId)
            .col(Users::EmailKey)
            .unique()
            .to_owned(),
        Index::create()
            .name("uq_users_program_username")
            .table(Users::Table)
            .col(Users::ProgramId)
            .col(Users::UsernameKey)
            .unique()
            .to_owned(),
        Index::create()
            .name("uq_users_program_ssn")
            .table(Users::Table)
            .col(Users::ProgramId)
            .col(Users::SsnBlindIndex)
            .unique()
            .to_owned(),
        Index::create()
            .name("idx_users_program_created")
            .table(Users::Table)
            .col(Users::ProgramId)
            .col(Users::CreatedAt)
            .col(Users::Id)
            .to_owned(),
        Index::create()
            .name("idx_users_program_last_name")
            .table(Users::Table)
            .col(Users::ProgramId)
            .col(Users::LastName)
            .col(Users::Id)
            .to_owned(),
        Index::create()
            .name("idx_users_ssn_key_id")
            .table(Users::Table)
            .col(Users::SsnKeyId)
            .to_owned(),
    ]
}

fn user_meta_data_table() -> TableCreateStatement {
    Table::create()
        .table(UserMetaData::Table)
        .col(
            ColumnDef::new(UserMetaData::UserId)
                .string_len(36)
                .not_null(),
        )
        .col(ColumnDef::new(UserMetaData::Position).integer().not_null())
        .col(ColumnDef::new(UserMetaData::Name).string_len(64).not_null())
        .col(
            ColumnDef::new(UserMetaData::Value)
                .string_len(512)
                .not_null(),
        )
        .primary_key(
            Index::create()
                .name("pk_user_meta_data")
                .col(UserMetaData::UserId)
                .col(UserMetaData::Position),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_user_meta_data_user_id")
                .from(UserMetaData::Table, UserMetaData::UserId)
                .to(Users::Table, Users::Id)
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
enum Users {
    Table,
    Id,
    ProgramId,
    FirstName,
    MiddleName,
    LastName,
    Email,
    EmailKey,
    PhoneNumber,
    AddressOne,
    AddressTwo,
    City,
    State,
    Country,
    PostalCode,
    Username,
    UsernameKey,
    DateOfBirth,
    SsnCiphertext,
    SsnKeyId,
    SsnBlindIndex,
    #[sea_orm(iden = "ssn_last_4")]
    SsnLast4,
    TermsAcceptedAt,
    Status,
    KycStatus,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum UserMetaData {
    Table,
    UserId,
    Position,
    Name,
    Value,
}
