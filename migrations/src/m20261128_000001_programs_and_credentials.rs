//! Migration 1: `programs` (tenants), their `api_keys` and their `hmac_credentials`.

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

// `async_trait` needs the trait's elided `&SchemaManager` (`<'_>` would make the lifetime
// early-bound and mismatch the trait), which `rust_2018_idioms` would otherwise flag.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::create_table(manager, programs_table()).await?;
        crate::create_table(manager, api_keys_table()).await?;
        for index in api_keys_indexes() {
            manager.create_index(index).await?;
        }
        crate::create_table(manager, hmac_credentials_table()).await?;
        for index in hmac_credentials_indexes() {
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Indexes and foreign keys go with their tables (see the crate docs for why they are
        // not dropped one by one).
        for table in [
            HmacCredentials::Table.into_iden(),
            ApiKeys::Table.into_iden(),
            Programs::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn programs_table() -> TableCreateStatement {
    Table::create()
        .table(Programs::Table)
        .col(
            ColumnDef::new(Programs::Id)
                .string_len(36)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(Programs::Name).string_len(128).not_null())
        .col(ColumnDef::new(Programs::CreatedAt).big_integer().not_null())
        .to_owned()
}

fn api_keys_table() -> TableCreateStatement {
    Table::create()
        .table(ApiKeys::Table)
        // The public key id.
        .col(
            ColumnDef::new(ApiKeys::Id)
                .string_len(32)
                .not_null()
                .primary_key(),
        )
        .col(ColumnDef::new(ApiKeys::ProgramId).string_len(36).not_null())
        // argon2id PHC string.
        .col(ColumnDef::new(ApiKeys::Hash).string_len(255).not_null())
        // Hex keyed hash of the full key, for the fast path.
        .col(
            ColumnDef::new(ApiKeys::LookupDigest)
                .string_len(64)
                .not_null(),
        )
        .col(ColumnDef::new(ApiKeys::CreatedAt).big_integer().not_null())
        .col(ColumnDef::new(ApiKeys::RevokedAt).big_integer().null())
        .foreign_key(
            ForeignKey::create()
                .name("fk_api_keys_program_id")
                .from(ApiKeys::Table, ApiKeys::ProgramId)
                .to(Programs::Table, Programs::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn api_keys_indexes() -> [IndexCreateStatement; 2] {
    [
        Index::create()
            .name("idx_api_keys_program")
            .table(ApiKeys::Table)
            .col(ApiKeys::ProgramId)
            .to_owned(),
        Index::create()
            .name("uq_api_keys_lookup_digest")
            .table(ApiKeys::Table)
            .col(ApiKeys::LookupDigest)
            .unique()
            .to_owned(),
    ]
}

fn hmac_credentials_table() -> TableCreateStatement {
    Table::create()
        .table(HmacCredentials::Table)
        .col(
            ColumnDef::new(HmacCredentials::Username)
                .string_len(64)
                .not_null()
                .primary_key(),
        )
        .col(
            ColumnDef::new(HmacCredentials::ProgramId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(HmacCredentials::SecretCiphertext)
                .blob()
                .not_null(),
        )
        .col(
            ColumnDef::new(HmacCredentials::SecretKeyId)
                .string_len(32)
                .not_null(),
        )
        .col(
            ColumnDef::new(HmacCredentials::CreatedAt)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(HmacCredentials::RevokedAt)
                .big_integer()
                .null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_hmac_credentials_program_id")
                .from(HmacCredentials::Table, HmacCredentials::ProgramId)
                .to(Programs::Table, Programs::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn hmac_credentials_indexes() -> [IndexCreateStatement; 2] {
    [
        Index::create()
            .name("idx_hmac_credentials_program")
            .table(HmacCredentials::Table)
            .col(HmacCredentials::ProgramId)
            .to_owned(),
        Index::create()
            .name("idx_hmac_credentials_key_id")
            .table(HmacCredentials::Table)
            .col(HmacCredentials::SecretKeyId)
            .to_owned(),
    ]
}

#[derive(DeriveIden)]
enum Programs {
    Table,
    Id,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    ProgramId,
    Hash,
    LookupDigest,
    CreatedAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum HmacCredentials {
    Table,
    Username,
    ProgramId,
    SecretCiphertext,
    SecretKeyId,
    CreatedAt,
    RevokedAt,
}
