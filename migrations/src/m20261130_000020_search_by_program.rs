//! Migration 20: the search index holds each record's program, so that a term's candidates
//! are one program's, not every program's.
//!
//! - SQLite: `users_search` becomes a contentless FTS5 table of two columns, `program_key`
//!   (three characters standing for the program: the low 48 bits of its UUID, 16 bits per
//!   character from U+10000) and `search_text`, both with the trigram tokenizer. A search asks
//!   for `program_key : "…" AND search_text : "…"`: the program's key is one trigram, whose
//!   doclist is that program's records, so the match reads only its candidates, and a total
//!   is counted from the index without reading a row. The triggers compute the key from
//!   `program_id` (a user's program never changes). Refilled from `users` (3M users: 2 min 12 s
//!   with `sqlite3` on the 2-core benchmark machine; the server starts after it).
//! - PostgreSQL: nothing. A GIN index on `(program_id, search_text gin_trgm_ops)` (with
//!   `btree_gin`) in place of the trigram index alone was measured at 1M users per program
//!   and refused: a common term's capped total fell from 248 to 112 ms p99, but a selective
//!   term's console page rose from 49.7 to 73.4 ms (the program's 1M-entry posting tree is
//!   read for every search), docs/bench-users.md.
//! - MariaDB: nothing (its trigram side table is keyed by program already).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

/// The SQL expression of a program's key from its id's text (a hyphenated UUID, whose last
/// twelve characters are the low 48 bits in hexadecimal); `storage::search::fts_program_key`
/// computes the same in Rust.
fn program_key(id: &str) -> String {
    let digits: Vec<String> = (25..=36)
        .map(|i| {
            format!(
                "((instr('0123456789abcdef', lower(substr({id}, {i}, 1))) - 1) << {})",
                4 * (36 - i)
            )
        })
        .collect();
    let v = format!("({})", digits.join(" + "));
    format!(
        "char(65536 + (({v} >> 32) & 65535), 65536 + (({v} >> 16) & 65535), 65536 + ({v} & 65535))"
    )
}

fn sqlite_up() -> Vec<String> {
    let new = program_key("new.program_id");
    let old = program_key("old.program_id");
    let mut sql: Vec<String> = SQLITE_DROP.iter().map(|s| (*s).to_owned()).collect();
    sql.extend([
        "CREATE VIRTUAL TABLE users_search USING fts5(program_key, search_text, content='', tokenize='trigram case_sensitive 1')".to_owned(),
        format!(
            "CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN \
             INSERT INTO users_search(rowid, program_key, search_text) VALUES (new.rowid, {new}, new.search_text); END"
        ),
        format!(
            "CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN \
             INSERT INTO users_search(users_search, rowid, program_key, search_text) VALUES ('delete', old.rowid, {old}, old.search_text); END"
        ),
        format!(
            "CREATE TRIGGER users_search_update AFTER UPDATE OF search_text ON users \
             WHEN old.search_text IS NOT new.search_text BEGIN \
             INSERT INTO users_search(users_search, rowid, program_key, search_text) VALUES ('delete', old.rowid, {old}, old.search_text); \
             INSERT INTO users_search(rowid, program_key, search_text) VALUES (new.rowid, {new}, new.search_text); END"
        ),
        format!(
            "INSERT INTO users_search(rowid, program_key, search_text) SELECT rowid, {}, search_text FROM users",
            program_key("program_id")
        ),
    ]);
    sql
}

/// Migration 10's table and triggers, as `down` puts them back.
const SQLITE_DOWN: [&str; 4] = [
    "CREATE VIRTUAL TABLE users_search USING fts5(search_text, content='users', content_rowid='rowid', tokenize='trigram case_sensitive 1')",
    "CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN \
       INSERT INTO users_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
    "CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN \
       INSERT INTO users_search(users_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); END",
    "CREATE TRIGGER users_search_update AFTER UPDATE OF search_text ON users \
       WHEN old.search_text IS NOT new.search_text BEGIN \
       INSERT INTO users_search(users_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text); \
       INSERT INTO users_search(rowid, search_text) VALUES (new.rowid, new.search_text); END",
];

const SQLITE_DROP: [&str; 4] = [
    "DROP TRIGGER users_search_update",
    "DROP TRIGGER users_search_delete",
    "DROP TRIGGER users_search_insert",
    "DROP TABLE users_search",
];

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Sqlite {
            for sql in sqlite_up() {
                db.execute_unprepared(&sql).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DbBackend::Sqlite {
            for sql in SQLITE_DROP.iter().chain(SQLITE_DOWN.iter()) {
                db.execute_unprepared(sql).await?;
            }
            db.execute_unprepared("INSERT INTO users_search(users_search) VALUES ('rebuild')")
                .await?;
        }
        Ok(())
    }
}
