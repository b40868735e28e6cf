//! Migration 23 (PostgreSQL): the trigram index moves to a narrow table of its own.
//!
//! `user_search` holds, per user, only what a search reads before it knows its page: the
//! program, `created_at` and the folded `search_text` (~130 bytes a row against ~930 for a
//! row of `users`), with the GIN trigram index that `idx_users_search_trgm` was on `users`.
//! A term's candidates are every program's records holding its trigrams (the index knows no
//! program); each is read to recheck the term and the program, and on `users` each was a
//! random read in a 3 GB heap at 3M users. In the narrow table the same candidates take
//! ~7× fewer pages, so a selective term's page and its total are read in one pass over them
//! (`storage::users::narrow`): 24–26 ms against 60–80 ms, measured in SQL on a 3M-row copy
//! (docs/bench-users.md, "The narrow table, tried in SQL").
//!
//! Kept by triggers in the writing transaction, so that no path that writes users can forget
//! it: a statement-level trigger on insert (one `INSERT … SELECT` from the statement's
//! transition table, however many users a batch inserts) and a row-level one when a user's
//! `search_text` changes (a user's program and `created_at` never do). Deleting a user deletes
//! its row (foreign key, cascade). Filled from `users` here; `idx_users_search_trgm` is
//! dropped, so a create still maintains one trigram index.
//!
//! SQLite and MariaDB: nothing (their FTS table and trigram side table hold the program).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

const POSTGRES_UP: [&str; 8] = [
    "CREATE TABLE user_search (\
       user_id VARCHAR(36) NOT NULL, \
       program_id VARCHAR(36) NOT NULL, \
       created_at BIGINT NOT NULL, \
       search_text TEXT NOT NULL, \
       CONSTRAINT pk_user_search PRIMARY KEY (user_id), \
       CONSTRAINT fk_user_search_user_id FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE)",
    "INSERT INTO user_search (user_id, program_id, created_at, search_text) \
     SELECT id, program_id, created_at, search_text FROM users",
    "CREATE INDEX idx_user_search_trgm ON user_search USING gin (search_text gin_trgm_ops)",
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
       UPDATE user_search SET search_text = NEW.search_text WHERE user_id = NEW.id; \
       RETURN NULL; \
     END $$",
    "CREATE TRIGGER users_search_update AFTER UPDATE OF search_text ON users \
     FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text) \
     EXECUTE FUNCTION user_search_changed()",
    "DROP INDEX idx_users_search_trgm",
];

const POSTGRES_DOWN: [&str; 6] = [
    "CREATE INDEX idx_users_search_trgm ON users USING gin (search_text gin_trgm_ops)",
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
            for sql in POSTGRES_UP {
                manager.get_connection().execute_unprepared(sql).await?;
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
