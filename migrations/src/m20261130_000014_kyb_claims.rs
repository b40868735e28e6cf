//! Migration 14: `businesses.kyb_claimed_until`, the lease of a pending KYB case (epoch ms; 0 =
//! unclaimed), as migration 9 gave KYC cases theirs: an instance claims a batch of pending
//! cases by moving their lease into the future, so no other instance hands them to a verifier
//! meanwhile. `idx_businesses_kyb_claims` serves the claim without scanning the businesses.

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
                    .table(Businesses::Table)
                    .add_column(
                        ColumnDef::new(Businesses::KybClaimedUntil)
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
                    .name("idx_businesses_kyb_claims")
                    .table(Businesses::Table)
                    .col(Businesses::KybStatus)
                    .col(Businesses::KybClaimedUntil)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_businesses_kyb_claims")
                    .table(Businesses::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Businesses::Table)
                    .drop_column(Businesses::KybClaimedUntil)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Businesses {
    Table,
    KybStatus,
    KybClaimedUntil,
}
