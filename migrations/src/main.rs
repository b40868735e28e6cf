//! Command-line entry point of the migrator (`up`, `down`, `status`, `fresh`, …; reads `DATABASE_URL`).

use sea_orm_migration::cli;

#[tokio::main]
async fn main() {
    cli::run_cli(migrations::Migrator).await;
}
