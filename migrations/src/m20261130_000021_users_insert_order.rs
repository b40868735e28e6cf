//! Migration 21 (SQLite): how far the order users were inserted in strays from their
//! `created_at` order, so that a search can read the FTS index newest first and stop early.
//!
//! The FTS index's rowid is the user's rowid, which SQLite gives in insertion order (one more
//! than the largest). FTS5 reads a match in descending rowid order lazily: the 26 highest of
//! a selective term's 6,169 matches among 3M users take under 1 ms against 11 ms for all of
//! them and 23 ms more to read their `created_at` (`sqlite3` on `cargo xtask bench users`'
//! database). Newest first is `created_at` order, though, and a user created earlier can be
//! inserted later (another instance's clock, a slow request, an import). The one-row table
//! `users_insert_order` bounds that: `newest_ms`, the largest `created_at` inserted so far,
//! and `lateness_ms`, the most any user was inserted after a user created that much later
//! (`newest_ms` at its insert minus its `created_at`), kept by a trigger in the insert's
//! transaction. Any user inserted before another was then created at most `lateness_ms`
//! after it, which is what `storage::users::walk` needs to prove a page exact; when it
//! cannot (a large lateness after an import), the search reads the index in full as before.
//! `ordered` says more when it holds: every user was inserted with a larger key
//! `(created_at, id)` than all before it (`newest_ms`, `newest_id`: the largest so far), so
//! insertion order is the listing's order, ties on `created_at` included (a bulk insert of
//! many users at one instant). Filled from the existing users in rowid order.
//!
//! PostgreSQL and MariaDB: nothing (their search indexes are read otherwise).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

const SQLITE_UP: [&str; 3] = [
    "CREATE TABLE users_insert_order (\
       id INTEGER PRIMARY KEY CHECK (id = 1), \
       newest_ms INTEGER NOT NULL, \
       newest_id TEXT NOT NULL, \
       lateness_ms INTEGER NOT NULL, \
       ordered INTEGER NOT NULL)",
    // The users so far, in insertion (rowid) order: each one's lateness against the newest
    // inserted before it, and whether each key was larger than the one inserted before it
    // (then larger than all of them).
    "INSERT INTO users_insert_order (id, newest_ms, newest_id, lateness_ms, ordered) \
     SELECT 1, coalesce(max(created_at), 0), \
       coalesce((SELECT id FROM users ORDER BY created_at DESC, id DESC LIMIT 1), ''), \
       max(0, coalesce(max(before_ms - created_at), 0)), \
       coalesce(min(previous_ms IS NULL OR created_at > previous_ms \
         OR (created_at = previous_ms AND id > previous_id)), 1) \
     FROM (SELECT created_at, id, \
       max(created_at) OVER (ORDER BY rowid ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before_ms, \
       lag(created_at) OVER (ORDER BY rowid) AS previous_ms, \
       lag(id) OVER (ORDER BY rowid) AS previous_id FROM users)",
    // Every expression reads the row as it was (SQLite evaluates each SET against the old
    // row); ids are canonical UUID text, compared as the listing's order compares them.
    "CREATE TRIGGER users_insert_order_insert AFTER INSERT ON users BEGIN \
       UPDATE users_insert_order SET \
         ordered = ordered AND (new.created_at > newest_ms \
           OR (new.created_at = newest_ms AND new.id > newest_id)), \
         lateness_ms = max(lateness_ms, newest_ms - new.created_at), \
         newest_id = CASE WHEN new.created_at > newest_ms \
           OR (new.created_at = newest_ms AND new.id > newest_id) THEN new.id ELSE newest_id END, \
         newest_ms = max(newest_ms, new.created_at) \
       WHERE id = 1; END",
];

const SQLITE_DOWN: [&str; 2] = [
    "DROP TRIGGER users_insert_order_insert",
    "DROP TABLE users_insert_order",
];

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Sqlite {
            for sql in SQLITE_UP {
                manager.get_connection().execute_unprepared(sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DbBackend::Sqlite {
            for sql in SQLITE_DOWN {
                manager.get_connection().execute_unprepared(sql).await?;
            }
        }
        Ok(())
    }
}
