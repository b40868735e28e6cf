//! Migration 15: the operator console (SPEC §10) — `console_operators` (argon2id password
//! hash, the TOTP secret sealed like an SSN, role, disabled flag), `console_sessions` (only
//! a SHA-256 of the opaque session id is stored; idle and absolute expiry) and
//! `console_login_throttle` (failed logins per account and per address, kept in the database
//! so that every instance counts the same failures).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(manager, operators_table()).await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_console_operators_email_key")
                    .table(ConsoleOperators::Table)
                    .unique()
                    .col(ConsoleOperators::EmailKey)
                    .to_owned(),
            )
            .await?;
        crate::create_table(manager, sessions_table()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_console_sessions_operator")
                    .table(ConsoleSessions::Table)
                    .col(ConsoleSessions::OperatorId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_console_sessions_expires")
                    .table(ConsoleSessions::Table)
                    .col(ConsoleSessions::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        crate::create_table(manager, throttle_table()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ConsoleLoginThrottle::Table.into_iden(),
            ConsoleSessions::Table.into_iden(),
            ConsoleOperators::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn operators_table() -> TableCreateStatement {
    Table::create()
        .table(ConsoleOperators::Table)
        .col(
            ColumnDef::new(ConsoleOperators::Id)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleOperators::Email)
                .string_len(254)
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleOperators::EmailKey)
                .string_len(254)
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleOperators::Role)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleOperators::PasswordHash)
                .string_len(255)
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleOperators::TotpCiphertext)
                .blob()
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleOperators::TotpKeyId)
                .string_len(64)
                .not_null(),
        )
        .col(ColumnDef::new(ConsoleOperators::TotpLastStep).big_integer())
        .col(ColumnDef::new(ConsoleOperators::DisabledAt).big_integer())
        .col(
            ColumnDef::new(ConsoleOperators::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleOperators::UpdatedAt)
                .big_integer()
                .not_null(),
        )
        .primary_key(
            Index::create()
                .name("pk_console_operators")
                .col(ConsoleOperators::Id),
        )
        .to_owned()
}

fn sessions_table() -> TableCreateStatement {
    Table::create()
        .table(ConsoleSessions::Table)
        .col(
            ColumnDef::new(ConsoleSessions::IdHash)
                .string_len(64)
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleSessions::OperatorId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleSessions::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleSessions::LastSeenAt)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleSessions::ExpiresAt)
                .big_integer()
                .not_null(),
        )
        .primary_key(
            Index::create()
                .name("pk_console_sessions")
                .col(ConsoleSessions::IdHash),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_console_sessions_operator_id")
                .from(ConsoleSessions::Table, ConsoleSessions::OperatorId)
                .to(ConsoleOperators::Table, ConsoleOperators::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn throttle_table() -> TableCreateStatement {
    Table::create()
        .table(ConsoleLoginThrottle::Table)
        .col(
            ColumnDef::new(ConsoleLoginThrottle::ThrottleKey)
                .string_len(80)
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleLoginThrottle::Failures)
                .integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(ConsoleLoginThrottle::WindowStartedAt)
                .big_integer()
                .not_null(),
        )
        .primary_key(
            Index::create()
                .name("pk_console_login_throttle")
                .col(ConsoleLoginThrottle::ThrottleKey),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum ConsoleOperators {
    Table,
    Id,
    Email,
    EmailKey,
    Role,
    PasswordHash,
    TotpCiphertext,
    TotpKeyId,
    TotpLastStep,
    DisabledAt,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum ConsoleSessions {
    Table,
    IdHash,
    OperatorId,
    CreatedAt,
    LastSeenAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ConsoleLoginThrottle {
    Table,
    ThrottleKey,
    Failures,
    WindowStartedAt,
}
