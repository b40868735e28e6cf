//! Migration 3: `businesses`, their ordered `business_meta_data` and the `business_contacts` linking them to users.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

// `async_trait` needs the trait's elided `&SchemaManager` (`<'_>` would make the lifetime
// early-bound and mismatch the trait), which `rust_2018_idioms` would otherwise flag.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(manager, businesses_table()).await?;
        for index in businesses_indexes() {
            manager.create_index(index).await?;
        }
        crate::create_table(manager, business_meta_data_table()).await?;
        crate::create_table(manager, business_contacts_table()).await?;
        for index in business_contacts_indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Indexes and foreign keys go with their tables (see the crate docs for why they are
        // not dropped one by one).
        for table in [
            BusinessContacts::Table.into_iden(),
            BusinessMetaData::Table.into_iden(),
            Businesses::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn businesses_table() -> TableCreateStatement {
    Table::create()
        .table(Businesses::Table)
        .col(
            ColumnDef::new(Businesses::Id)
                .string_len(36)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(Businesses::ProgramId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(Businesses::BusinessName)
                .string_len(128)
                .not_null(),
        )
        .col(ColumnDef::new(Businesses::Email).string_len(254).not_null())
        .col(
            ColumnDef::new(Businesses::PhoneNumber)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(Businesses::AddressOne)
                .string_len(128)
                .not_null(),
        )
        .col(
            ColumnDef::new(Businesses::AddressTwo)
                .string_len(128)
                .null(),
        )
        .col(ColumnDef::new(Businesses::City).string_len(64).not_null())
        .col(ColumnDef::new(Businesses::State).string_len(3).not_null())
        .col(ColumnDef::new(Businesses::Zipcode).string_len(5).not_null())
        .col(ColumnDef::new(Businesses::Country).string_len(2).not_null())
        .col(ColumnDef::new(Businesses::EinCiphertext).blob().not_null())
        .col(
            ColumnDef::new(Businesses::EinKeyId)
                .string_len(32)
                .not_null(),
        )
        .col(
            ColumnDef::new(Businesses::EinBlindIndex)
                .string_len(64)
                .not_null(),
        )
        .col(
            ColumnDef::new(Businesses::EinLast4)
                .string_len(4)
                .not_null(),
        )
        .col(
            ColumnDef::new(Businesses::BusinessType)
                .string_len(32)
                .null(),
        )
        .col(
            ColumnDef::new(Businesses::IncorporatedDate)
                .string_len(10)
                .null(),
        )
        .col(
            ColumnDef::new(Businesses::IncorporatedState)
                .string_len(3)
                .null(),
        )
        .col(ColumnDef::new(Businesses::Status).string_len(16).not_null())
        .col(
            ColumnDef::new(Businesses::KybStatus)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(Businesses::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(Businesses::UpdatedAt)
                .big_integer()
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_businesses_program_id")
                .from(Businesses::Table, Businesses::ProgramId)
                .to(Programs::Table, Programs::Id)
                .on_delete(ForeignKeyAction::Restrict),
        )
        .to_owned()
}

fn businesses_indexes() -> [IndexCreateStatement; 3] {
    [
        Index::create()
            .name("uq_businesses_program_ein")
            .table(Businesses::Table)
            .col(Businesses::ProgramId)
            .col(Businesses::EinBlindIndex)
            .unique()
            .to_owned(),
        Index::create()
            .name("idx_businesses_program_created")
            .table(Businesses::Table)
            .col(Businesses::ProgramId)
            .col(Businesses::CreatedAt)
            .col(Businesses::Id)
            .to_owned(),
        Index::create()
            .name("idx_businesses_ein_key_id")
            .table(Businesses::Table)
            .col(Businesses::EinKeyId)
            .to_owned(),
    ]
}

fn business_meta_data_table() -> TableCreateStatement {
    Table::create()
        .table(BusinessMetaData::Table)
        .col(
            ColumnDef::new(BusinessMetaData::BusinessId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessMetaData::Position)
                .integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessMetaData::Name)
                .string_len(64)
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessMetaData::Value)
                .string_len(512)
                .not_null(),
        )
        .primary_key(
            Index::create()
                .name("pk_business_meta_data")
                .col(BusinessMetaData::BusinessId)
                .col(BusinessMetaData::Position),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_business_meta_data_business_id")
                .from(BusinessMetaData::Table, BusinessMetaData::BusinessId)
                .to(Businesses::Table, Businesses::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn business_contacts_table() -> TableCreateStatement {
    Table::create()
        .table(BusinessContacts::Table)
        .col(
            ColumnDef::new(BusinessContacts::Id)
                .string_len(36)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(BusinessContacts::ProgramId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessContacts::BusinessId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessContacts::UserId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessContacts::ContactType)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessContacts::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_business_contacts_program_id")
                .from(BusinessContacts::Table, BusinessContacts::ProgramId)
                .to(Programs::Table, Programs::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_business_contacts_business_id")
                .from(BusinessContacts::Table, BusinessContacts::BusinessId)
                .to(Businesses::Table, Businesses::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_business_contacts_user_id")
                .from(BusinessContacts::Table, BusinessContacts::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn business_contacts_indexes() -> [IndexCreateStatement; 3] {
    [
        Index::create()
            .name("uq_business_contacts_business_user")
            .table(BusinessContacts::Table)
            .col(BusinessContacts::BusinessId)
            .col(BusinessContacts::UserId)
            .unique()
            .to_owned(),
        Index::create()
            .name("idx_business_contacts_listing")
            .table(BusinessContacts::Table)
            .col(BusinessContacts::BusinessId)
            .col(BusinessContacts::ContactType)
            .col(BusinessContacts::CreatedAt)
            .col(BusinessContacts::Id)
            .to_owned(),
        Index::create()
            .name("idx_business_contacts_user")
            .table(BusinessContacts::Table)
            .col(BusinessContacts::UserId)
            .to_owned(),
    ]
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
}

#[derive(DeriveIden)]
enum Businesses {
    Table,
    Id,
    ProgramId,
    BusinessName,
    Email,
    PhoneNumber,
    AddressOne,
    AddressTwo,
    City,
    State,
    Zipcode,
    Country,
    EinCiphertext,
    EinKeyId,
    EinBlindIndex,
    #[sea_orm(iden = "ein_last_4")]
    EinLast4,
    BusinessType,
    IncorporatedDate,
    IncorporatedState,
    Status,
    KybStatus,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum BusinessMetaData {
    Table,
    BusinessId,
    Position,
    Name,
    Value,
}

#[derive(DeriveIden)]
enum BusinessContacts {
    Table,
    Id,
    ProgramId,
    BusinessId,
    UserId,
    ContactType,
    CreatedAt,
}
