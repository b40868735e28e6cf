//! Migration 10: index-backed user search. Every user gets a stored, case-folded
//! `search_text` (first and last name, email, username, phone, folded by
//! `domain::search::fold` and joined by U+001F) and folded `first_name_folded` /
//! `last_name_folded` (the prefix search of terms shorter than a trigram), all backfilled here
//! for existing rows. Then, per database (ARCHITECTURE.md says why):
//!
//! - PostgreSQL: the `pg_trgm` extension and a GIN trigram index on `search_text`
//!   (`idx_users_search_trgm`), which serves `LIKE '%…%'`;
//! - SQLite: an FTS5 table with the trigram tokenizer over `search_text` (`users_search`,
//!   external content on `users`, kept in sync by three triggers in the writing transaction);
//! - MariaDB: `user_search_trigrams`, one row per distinct trigram of each user's search text,
//!   keyed by (program, trigram, user) and written by storage in the writing transaction.
//!
//! Also indexes for the status and KYC filters, so that their pages and capped totals read
//! an index instead of the program's rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        // Byte-wise order for the prefix ranges of the folded names (PostgreSQL's default
        // collation may not be; SQLite's BINARY and the tables' utf8mb4_bin on MariaDB are).
        let folded = |name: Users| {
            let mut col = ColumnDef::new(name);
            col.string_len(192).not_null().default("");
            if backend == DbBackend::Postgres {
                col.extra("COLLATE \"C\"");
            }
            col
        };
        // One column per statement: SQLite alters one at a time.
        for col in [
            ColumnDef::new(Users::SearchText)
                .text()
                .not_null()
                .default("")
                .to_owned(),
            folded(Users::FirstNameFolded),
            folded(Users::LastNameFolded),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
        }
        if backend == DbBackend::MySql {
            crate::create_table(manager, trigrams_table()).await?;
        }
        backfill(manager).await?;
        for index in indexes() {
            manager.create_index(index).await?;
        }
        let db = manager.get_connection();
        match backend {
            DbBackend::Postgres => {
                db.execute_unprepared("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                    .await?;
                db.execute_unprepared(
                    "CREATE INDEX idx_users_search_trgm ON users USING gin (search_text gin_trgm_ops)",
                )
                .await?;
            }
            DbBackend::Sqlite => {
                for sql in SQLITE_UP {
                    db.execute_unprepared(sql).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        let db = manager.get_connection();
        match backend {
            DbBackend::Postgres => {
                // The extension stays: other objects may use it, and it holds no data.
                db.execute_unprepared("DROP INDEX idx_users_search_trgm")
                    .await?;
            }
            DbBackend::Sqlite => {
                for sql in SQLITE_DOWN {
                    db.execute_unprepared(sql).await?;
                }
            }
            _ => {
                manager
                    .drop_table(Table::drop().table(UserSearchTrigrams::Table).to_owned())
                    .await?;
            }
        }
        for index in indexes() {
            let name = index
                .get_index_spec()
                .get_name()
                .unwrap_or_default()
                .to_owned();
            manager
                .drop_index(Index::drop().name(name).table(Users::Table).to_owned())
                .await?;
        }
        for col in [
            Users::LastNameFolded,
            Users::FirstNameFolded,
            Users::SearchText,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(col)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

/// The FTS5 table over `users.search_text` (trigram tokenizer, case-sensitive because the
/// text is already folded, so a phrase query is exactly a substring test) and the triggers
/// that keep it in step with `users` inside the writing transaction; then filled from the
/// backfilled rows.
const SQLITE_UP: [&str; 5] = [
    "CREATE VIRTUAL TABLE users_search USING fts5(search_text, content='users', content_rowid='rowid', tokenize='trigram case_sensitive 1')",
    "CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN \
       INSERT INTO users_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN \
       INSERT INTO users_search(users_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END",
    "CREATE TRIGGER users_search_update AFTER UPDATE OF search_text ON users \
       WHEN old.search_text IS NOT new.search_text BEGIN \
       INSERT INTO users_search(users_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); \
       INSERT INTO users_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "INSERT INTO users_search(users_search) VALUES ('rebuild')",
];

const SQLITE_DOWN: [&str; 4] = [
    "DROP TRIGGER users_search_update",
    "DROP TRIGGER users_search_delete",
    "DROP TRIGGER users_search_insert",
    "DROP TABLE users_search",
];

fn indexes() -> [IndexCreateStatement; 4] {
    let index = |name: &str, cols: [Users; 4]| {
        let mut i = Index::create();
        i.name(name).table(Users::Table);
        for c in cols {
            i.col(c);
        }
        i
    };
    [
        index(
            "idx_users_program_first_folded",
            [
                Users::ProgramId,
                Users::FirstNameFolded,
                Users::CreatedAt,
                Users::Id,
            ],
        ),
        index(
            "idx_users_program_last_folded",
            [
                Users::ProgramId,
                Users::LastNameFolded,
                Users::CreatedAt,
                Users::Id,
            ],
        ),
        index(
            "idx_users_program_status",
            [Users::ProgramId, Users::Status, Users::CreatedAt, Users::Id],
        ),
        index(
            "idx_users_program_kyc",
            [
                Users::ProgramId,
                Users::KycStatus,
                Users::CreatedAt,
                Users::Id,
            ],
        ),
    ]
}

/// MariaDB's trigram side table: which users' search text contains which trigram.
fn trigrams_table() -> TableCreateStatement {
    Table::create()
        .table(UserSearchTrigrams::Table)
        .col(
            ColumnDef::new(UserSearchTrigrams::ProgramId)
                .string_len(36)
                .not_null(),
        )
        .col(
            ColumnDef::new(UserSearchTrigrams::Trigram)
                .big_integer()
                .not_null(),
        )
        .col(
            ColumnDef::new(UserSearchTrigrams::UserId)
                .string_len(36)
                .not_null(),
        )
        .primary_key(
            Index::create()
                .name("pk_user_search_trigrams")
                .col(UserSearchTrigrams::ProgramId)
                .col(UserSearchTrigrams::Trigram)
                .col(UserSearchTrigrams::UserId),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_user_search_trigrams_user_id")
                .from(UserSearchTrigrams::Table, UserSearchTrigrams::UserId)
                .to(Users::Table, Users::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

/// Rows read per backfill step.
const BACKFILL_BATCH: u64 = 1000;

/// Computes the search columns of every existing user, in batches by id.
async fn backfill(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let mut after = String::new();
    loop {
        let select = Query::select()
            .columns([
                Users::Id,
                Users::ProgramId,
                Users::FirstName,
                Users::LastName,
                Users::Email,
                Users::Username,
                Users::PhoneNumber,
            ])
            .from(Users::Table)
            .and_where(Expr::col(Users::Id).gt(after.clone()))
            .order_by(Users::Id, Order::Asc)
            .limit(BACKFILL_BATCH)
            .to_owned();
        let rows = db.query_all(&select).await?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.try_get("", "id")?;
        for row in rows {
            let id: String = row.try_get("", "id")?;
            let program: String = row.try_get("", "program_id")?;
            let first: String = row.try_get("", "first_name")?;
            let last: String = row.try_get("", "last_name")?;
            let email: String = row.try_get("", "email")?;
            let username: Option<String> = row.try_get("", "username")?;
            let phone: String = row.try_get("", "phone_number")?;
            let text = domain::search::SearchText::person(
                &first,
                &last,
                &email,
                username.as_deref(),
                &phone,
            );
            if backend == DbBackend::MySql {
                let mut insert = Query::insert();
                insert.into_table(UserSearchTrigrams::Table).columns([
                    UserSearchTrigrams::ProgramId,
                    UserSearchTrigrams::Trigram,
                    UserSearchTrigrams::UserId,
                ]);
                let trigrams = text.trigrams();
                for t in &trigrams {
                    insert.values_panic([
                        program.clone().into(),
                        domain::search::trigram_code(*t).into(),
                        id.clone().into(),
                    ]);
                }
                if !trigrams.is_empty() {
                    db.execute(&insert).await?;
                }
            }
            let update = Query::update()
                .table(Users::Table)
                .value(Users::SearchText, String::from(text))
                .value(Users::FirstNameFolded, domain::search::fold(&first))
                .value(Users::LastNameFolded, domain::search::fold(&last))
                .and_where(Expr::col(Users::Id).eq(id))
                .to_owned();
            db.execute(&update).await?;
        }
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    ProgramId,
    FirstName,
    LastName,
    Email,
    Username,
    PhoneNumber,
    Status,
    KycStatus,
    CreatedAt,
    SearchText,
    FirstNameFolded,
    LastNameFolded,
}

#[derive(DeriveIden)]
enum UserSearchTrigrams {
    Table,
    ProgramId,
    Trigram,
    UserId,
}
