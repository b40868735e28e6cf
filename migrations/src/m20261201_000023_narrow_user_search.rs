//! Migration 23 (PostgreSQL): the trigram index moves to a narrow table of its own,
//! partitioned by program.
//!
//! `user_search` holds, per user, only what a search reads before it knows its page: the
//! program, `created_at` and the folded `search_text` (~190 bytes a row against ~930 for a
//! row of `users`), with the GIN trigram index that `idx_users_search_trgm` was on `users`.
//! A trigram index knows no program: a term's candidates were every program's, each read
//! from `users` (a random read in a 3 GB heap at 3M users) to recheck term and program. Here
//! the table is hash-partitioned by `program_id` into 16 partitions, each with its own GIN
//! index, and a search's `program_id = $1` reads one partition: only the programs that hash
//! there share its posting lists. At 3M users in three programs (each alone in a partition),
//! a selective last name's 2,023 matches take 8 ms warm against 26 ms unpartitioned and
//! ~60–80 ms on `users` (docs/bench-users.md); `storage::users::narrow` reads a page and its
//! total from it in one statement.
//!
//! Kept by triggers in the writing transaction, so that no path that writes users can forget
//! it: a statement-level trigger on insert (one `INSERT … SELECT` from the statement's
//! transition table, however many users a batch inserts), a row-level one when a user's
//! `search_text` changes (a user's program and `created_at` never do) and one on delete (no
//! foreign key: its cascade would look a user up by id alone, in every partition). The
//! triggers are created before the fill: their lock on `users` holds writers back until the
//! migration's transaction commits, so no user is missed or written twice. Then the GIN
//! indexes; `idx_users_search_trgm` is dropped, so a create still maintains one trigram index.
//!
//! SQLite and MariaDB: nothing (their FTS table and trigram side table hold the program).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

/// Hash partitions of `user_search` by program.
const PARTITIONS: u32 = 16;

/// The table and its partitions, the triggers (taken before the fill: their lock on `users`
/// holds other writers until the migration's transaction ends), the fill, the index.
fn postgres_up() -> Vec<String> {
    let mut sql = vec![
        "CREATE TABLE user_search (\
           user_id VARCHAR(36) NOT NULL, \
           program_id VARCHAR(36) NOT NULL, \
           created_at BIGINT NOT NULL, \
           search_text TEXT NOT NULL, \
           CONSTRAINT pk_user_search PRIMARY KEY (program_id, user_id)) \
         PARTITION BY HASH (program_id)"
            .to_owned(),
    ];
    sql.extend((0..PARTITIONS).map(|i| {
        format!(
            "CREATE TABLE user_search_{i} PARTITION OF user_search \
             FOR VALUES WITH (MODULUS {PARTITIONS}, REMAINDER {i})"
        )
    }));
    sql.extend(
        [
            "CREATE FUNCTION user_search_inserted() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               INSERT INTO user_search (user_id, program_id, created_at, search_text) \
               SELECT id, program_id, created_at, search_text FROM inserted_users; \
               RETURN NULL; \
             END $$",
            "CREATE TRIGGER users_search_insert AFTER INSERT ON users \
             REFERENCING NEW TABLE AS inserted_users \
             FOR EACH STATEMENT EXECUTE FUNCTION user_search_inserted()",
            "CREATE FUNCTION user_search_changed() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               UPDATE user_search SET search_text = NEW.search_text \
               WHERE program_id = NEW.program_id AND user_id = NEW.id; \
               RETURN NULL; \
             END $$",
            "CREATE TRIGGER users_search_update AFTER UPDATE OF search_text ON users \
             FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text) \
             EXECUTE FUNCTION user_search_changed()",
            "CREATE FUNCTION user_search_deleted() RETURNS trigger LANGUAGE plpgsql AS $$ \
             BEGIN \
               DELETE FROM user_search WHERE program_id = OLD.program_id AND user_id = OLD.id; \
               RETURN NULL; \
             END $$",
            "CREATE TRIGGER users_search_delete AFTER DELETE ON users \
             FOR EACH ROW EXECUTE FUNCTION user_search_deleted()",
            "INSERT INTO user_search (user_id, program_id, created_at, search_text) \
             SELECT id, program_id, created_at, search_text FROM users",
        ]
        .map(str::to_owned),
    );
    // Each partition's index named here (the parent's then attaches them), so that a plan
    // names `idx_user_search_trgm_<n>`.
    sql.extend((0..PARTITIONS).map(|i| {
        format!(
            "CREATE INDEX idx_user_search_trgm_{i} ON user_search_{i} \
             USING gin (search_text gin_trgm_ops)"
        )
    }));
    sql.extend(
        [
            "CREATE INDEX idx_user_search_trgm ON user_search USING gin (search_text gin_trgm_ops)",
            "DROP INDEX idx_users_search_trgm",
        ]
        .map(str::to_owned),
    );
    sql
}

const POSTGRES_DOWN: [&str; 8] = [
    "CREATE INDEX idx_users_search_trgm ON users USING gin (search_text gin_trgm_ops)",
    "DROP TRIGGER users_search_delete ON users",
    "DROP FUNCTION user_search_deleted()",
    "DROP TRIGGER users_search_update ON users",
    "DROP FUNCTION user_search_changed()",
    "DROP TRIGGER users_search_insert ON users",
    "DROP FUNCTION user_search_inserted()",
    "DROP TABLE user_search",
];

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            for sql in postgres_up() {
                manager.get_connection().execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Postgres {
            for sql in POSTGRES_DOWN {
                manager.get_connection().execute_unprepared(sql).await?;
            }
        }
        Ok(())
    }
}
