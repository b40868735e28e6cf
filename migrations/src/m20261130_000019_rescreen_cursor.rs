//! Migration 19: `screening_state.rescreen_cursor`, how far the rescreen of every submitted
//! user has come: the id of the last user of the last batch written (users are walked in id
//! order; `NULL`: from the start). Each claim of the rescreen reads the next users after it
//! along the primary key instead of searching all users for those not yet screened, so a
//! batch costs the same at the end of a rescreen as at its start. A new list version sets it
//! back to `NULL`.

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
                    .table(ScreeningState::Table)
                    .add_column(
                        ColumnDef::new(ScreeningState::RescreenCursor)
                            .string_len(36)
                            .null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(ScreeningState::Table)
                    .drop_column(ScreeningState::RescreenCursor)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum ScreeningState {
    Table,
    RescreenCursor,
}
