//! Migration 16: `users.screening_status`, the user's sanctions screening status as the API
//! answers it (`not_screened`, `clear`, `potential_match`, `confirmed_match`), kept by storage in
//! the transaction of every screening and decision beside `screening_subjects.status` (migration
//! 13), so that reading a user is still one row and no join. Existing users take their status
//! from `screening_subjects` (`not_screened` when they have none).

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
                        ColumnDef::new(Users::ScreeningStatus)
                            .string_len(16)
                            .not_null()
                            .default("not_screened"),
                    )
                    .to_owned(),
            )
            .await?;
        // One statement on the three databases: the correlated subquery reads another table.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE users SET screening_status = (SELECT s.status FROM screening_subjects s \
                 WHERE s.user_id = users.id) WHERE EXISTS (SELECT 1 FROM screening_subjects s \
                 WHERE s.user_id = users.id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::ScreeningStatus)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    ScreeningStatus,
}
