//! Migration 12: businesses as SPEC §9 has them — the optional details (`dba`, `naics_code`,
//! `business_industry`, `business_description`, `website`, `support_email`,
//! `support_phone_number`), a case-folded `search_text` for `/business/get-all`, the running
//! `owners_count`/`owners_hundredths` of beneficial owners (kept by a conditional update, so
//! that concurrent adds cannot pass 100 %), `business_owners` (at most one control person per
//! business through the unique `control_person_of`, which is the business id for the control
//! person and NULL for the others), and `business_events`, the audit trail of every status,
//! KYB and owner change (actor and reason).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

/// The columns added to `businesses`, in order.
fn added_columns() -> Vec<ColumnDef> {
    vec![
        ColumnDef::new(Businesses::Dba)
            .string_len(128)
            .null()
            .to_owned(),
        ColumnDef::new(Businesses::NaicsCode)
            .string_len(6)
            .null()
            .to_owned(),
        ColumnDef::new(Businesses::BusinessIndustry)
            .string_len(128)
            .null()
            .to_owned(),
        ColumnDef::new(Businesses::BusinessDescription)
            .text()
            .null()
            .to_owned(),
        ColumnDef::new(Businesses::Website).text().null().to_owned(),
        ColumnDef::new(Businesses::SupportEmail)
            .string_len(254)
            .null()
            .to_owned(),
        ColumnDef::new(Businesses::SupportPhoneNumber)
            .string_len(16)
            .null()
            .to_owned(),
        // Name (128), email (254) and dba (128), lowercased: lowercasing may lengthen text
        // (`İ` is two characters lowercase), hence the room.
        ColumnDef::new(Businesses::SearchText)
            .string_len(2048)
            .not_null()
            .default("")
            .to_owned(),
        ColumnDef::new(Businesses::OwnersCount)
            .integer()
            .not_null()
            .default(0)
            .to_owned(),
        ColumnDef::new(Businesses::OwnersHundredths)
            .integer()
            .not_null()
            .default(0)
            .to_owned(),
    ]
}

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for column in added_columns() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Businesses::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        backfill_search_text(manager).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_businesses_kyb_queue")
                    .table(Businesses::Table)
                    .col(Businesses::KybStatus)
                    .col(Businesses::UpdatedAt)
                    .to_owned(),
            )
            .await?;
        crate::create_table(manager, business_owners_table()).await?;
        for index in business_owners_indexes() {
            manager.create_index(index).await?;
        }
        crate::create_table(manager, business_events_table()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_business_events_business_created")
                    .table(BusinessEvents::Table)
                    .col(BusinessEvents::BusinessId)
                    .col(BusinessEvents::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            BusinessEvents::Table.into_iden(),
            BusinessOwners::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        // SQLite cannot drop an indexed column: the index goes first.
        manager
            .drop_index(
                Index::drop()
                    .name("idx_businesses_kyb_queue")
                    .table(Businesses::Table)
                    .to_owned(),
            )
            .await?;
        for column in added_columns().iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table(Businesses::Table)
                        .drop_column(column.get_column_name())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// Businesses created before this migration get their search text (name and email,
/// lowercased by the database; on SQLite only ASCII letters are lowered there, new and
/// updated businesses are folded by the application in every script).
async fn backfill_search_text(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let sql = match manager.get_database_backend() {
        DbBackend::MySql => {
            "UPDATE businesses SET search_text = LOWER(CONCAT(business_name, CHAR(10), email))"
        }
        DbBackend::Postgres => {
            "UPDATE businesses SET search_text = LOWER(business_name || chr(10) || email)"
        }
        _ => "UPDATE businesses SET search_text = LOWER(business_name || char(10) || email)",
    };
    manager.get_connection().execute_unprepared(sql).await?;
    Ok(())
}

fn business_owners_table() -> TableCreateStatement {
    Table::create()
        .table(BusinessOwners::Table)
        .col(
            ColumnDef::new(BusinessOwners::Id)
                .string_len(36)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(BusinessOwners::ProgramId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessOwners::BusinessId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessOwners::UserId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessOwners::OwnershipHundredths)
                .integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessOwners::Title)
                .string_len(64)
                .not_null(),
        )
        // The business id for the control person, NULL for every other owner: unique, so
        // that a business has at most one control person, whatever runs concurrently.
        .col(
            ColumnDef::new(BusinessOwners::ControlPersonOf)
                .string_len(36)
                .null(),
        )
        .col(
            ColumnDef::new(BusinessOwners::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_business_owners_program_id")
                .from(BusinessOwners::Table, BusinessOwners::ProgramId)
                .to(Programs::Table, Programs::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_business_owners_business_id")
                .from(BusinessOwners::Table, BusinessOwners::BusinessId)
                .to(Businesses::Table, Businesses::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_business_owners_user_id")
                .from(BusinessOwners::Table, BusinessOwners::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Restrict),
        )
        .to_owned()
}

fn business_owners_indexes() -> [IndexCreateStatement; 3] {
    [
        Index::create()
            .name("uq_business_owners_business_user")
            .table(BusinessOwners::Table)
            .col(BusinessOwners::BusinessId)
            .col(BusinessOwners::UserId)
            .unique()
            .to_owned(),
        Index::create()
            .name("uq_business_owners_control_person")
            .table(BusinessOwners::Table)
            .col(BusinessOwners::ControlPersonOf)
            .unique()
            .to_owned(),
        Index::create()
            .name("idx_business_owners_user")
            .table(BusinessOwners::Table)
            .col(BusinessOwners::UserId)
            .to_owned(),
    ]
}

fn business_events_table() -> TableCreateStatement {
    Table::create()
        .table(BusinessEvents::Table)
        .col(
            ColumnDef::new(BusinessEvents::Id)
                .string_len(36)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(BusinessEvents::ProgramId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessEvents::BusinessId)
                .string_len(36)
                .not_null(),
        )
        // `status`, `kyb`, `owner_added`, `owner_removed` or `updated`.
        .col(
            ColumnDef::new(BusinessEvents::Kind)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessEvents::FromState)
                .string_len(16)
                .null(),
        )
        .col(
            ColumnDef::new(BusinessEvents::ToState)
                .string_len(16)
                .null(),
        )
        // What the event is about besides the business: the owner (`bown-…`).
        .col(
            ColumnDef::new(BusinessEvents::Subject)
                .string_len(41)
                .null(),
        )
        .col(
            ColumnDef::new(BusinessEvents::Reason)
                .string_len(256)
                .null(),
        )
        .col(
            ColumnDef::new(BusinessEvents::Actor)
                .string_len(64)
                .not_null(),
        )
        .col(
            ColumnDef::new(BusinessEvents::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_business_events_business_id")
                .from(BusinessEvents::Table, BusinessEvents::BusinessId)
                .to(Businesses::Table, Businesses::Id)
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
}

#[derive(DeriveIden)]
enum Businesses {
    Table,
    Id,
    KybStatus,
    UpdatedAt,
    Dba,
    NaicsCode,
    BusinessIndustry,
    BusinessDescription,
    Website,
    SupportEmail,
    SupportPhoneNumber,
    SearchText,
    OwnersCount,
    OwnersHundredths,
}

#[derive(DeriveIden)]
enum BusinessOwners {
    Table,
    Id,
    ProgramId,
    BusinessId,
    UserId,
    OwnershipHundredths,
    Title,
    ControlPersonOf,
    CreatedAt,
}

#[derive(DeriveIden)]
enum BusinessEvents {
    Table,
    Id,
    ProgramId,
    BusinessId,
    Kind,
    FromState,
    ToState,
    Subject,
    Reason,
    Actor,
    CreatedAt,
}
