//! Migration 17: the console's lists page by key instead of by offset, each along an index
//! that serves its order to the last column; and operators' last login.
//!
//! - `console_operators.last_login_at` (epoch ms), written with each new session.
//! - Three indexes gain the id after their sort column, so that a keyset page
//!   (`… AND (t > k OR id > i) ORDER BY t, id LIMIT n`) reads one range of the index in order,
//!   with no sort of the rows before it: `idx_users_kyc_queue` becomes
//!   `(kyc_status, kyc_claimed_until, id)` (the KYC queue; the verifiers' claim reads it as
//!   before), `idx_webhook_deliveries_due` `(state, next_attempt_at, id)` (the failed
//!   deliveries; the delivery worker's claim as before), `idx_operator_actions_created_at`
//!   `(created_at, id)` (the audit page). On MariaDB an InnoDB secondary index already ends
//!   with the primary key, so there the new ones hold the same entries as the old; on
//!   PostgreSQL and SQLite the old ones left the id to a sort (tried: partial indexes over
//!   just the queue's rows were passed over by both planners for the existing index and a
//!   sort, so the existing indexes are extended instead).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

/// (table, index, columns before, the column added).
const EXTENDED: [(&str, &str, &[&str], &str); 3] = [
    (
        "users",
        "idx_users_kyc_queue",
        &["kyc_status", "kyc_claimed_until"],
        "id",
    ),
    (
        "webhook_deliveries",
        "idx_webhook_deliveries_due",
        &["state", "next_attempt_at"],
        "id",
    ),
    (
        "operator_actions",
        "idx_operator_actions_created_at",
        &["created_at"],
        "id",
    ),
];

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ConsoleOperators::Table)
                    .add_column(
                        ColumnDef::new(ConsoleOperators::LastLoginAt)
                            .big_integer()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        for (table, name, columns, id) in EXTENDED {
            replace(manager, table, name, columns, Some(id)).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, columns, _) in EXTENDED {
            replace(manager, table, name, columns, None).await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table(ConsoleOperators::Table)
                    .drop_column(ConsoleOperators::LastLoginAt)
                    .to_owned(),
            )
            .await
    }
}

/// Drops index `name` of `table` and creates it again over `columns`, then `last` if given.
async fn replace(
    manager: &SchemaManager<'_>,
    table: &str,
    name: &str,
    columns: &[&str],
    last: Option<&str>,
) -> Result<(), DbErr> {
    manager
        .drop_index(Index::drop().name(name).table(Alias::new(table)).to_owned())
        .await?;
    let mut index = Index::create();
    index.name(name).table(Alias::new(table));
    for column in columns.iter().chain(last.as_ref()) {
        index.col(Alias::new(*column));
    }
    manager.create_index(index).await
}

#[derive(DeriveIden)]
enum ConsoleOperators {
    Table,
    LastLoginAt,
}
