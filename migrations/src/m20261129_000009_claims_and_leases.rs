//! Migration 9: work that must happen once across instances (SPEC §6) is claimed through the
//! database.
//!
//! - `users.kyc_claimed_until`: the lease of a pending KYC case (epoch ms; 0 = unclaimed). An
//!   instance claims a batch of pending cases by moving their lease into the future, so no
//!   other instance asks a verifier about them meanwhile; a case whose verifier failed waits
//!   for its lease to run out, behind the others. `idx_users_kyc_queue` serves the claim
//!   (pending cases, oldest lease first) without scanning the users.
//! - `leases`: named leases for jobs one instance at a time runs (the sweepers): a row per
//!   job, held by one instance until `expires_at`.

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
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::KycClaimedUntil)
                            .big_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_users_kyc_queue")
                    .table(Users::Table)
                    .col(Users::KycStatus)
                    .col(Users::KycClaimedUntil)
                    .to_owned(),
            )
            .await?;
        crate::create_table(manager, leases_table()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Leases::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_users_kyc_queue")
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::KycClaimedUntil)
                    .to_owned(),
            )
            .await
    }
}

fn leases_table() -> TableCreateStatement {
    Table::create()
        .table(Leases::Table)
        .col(
            ColumnDef::new(Leases::Name)
                .string_len(64)
                .not_null()
                .primary_key(),
        )
        // The instance holding it (a random id per process).
        .col(ColumnDef::new(Leases::Holder).string_len(64).not_null())
        .col(ColumnDef::new(Leases::ExpiresAt).big_integer().not_null())
        .to_owned()
}

#[derive(DeriveIden)]
enum Users {
    Table,
    KycStatus,
    KycClaimedUntil,
}

#[derive(DeriveIden)]
enum Leases {
    Table,
    Name,
    Holder,
    ExpiresAt,
}
