//! Index-backed substring search with one contract on every database, for any table that stores
//! a folded search text (`domain::search`): users today, businesses by another [`SearchIndex`].
//!
//! A term of at least three characters (after folding) matches the records whose search text
//! contains it: PostgreSQL through `pg_trgm` GIN indexes on a narrow table of the record's
//! program, time and text, partitioned by program (`LIKE '%term%'`, rechecked by the
//! database; migration 23), SQLite through an FTS5 trigram table (a phrase query, which is
//! exactly a substring test), MariaDB through a trigram side table (the records holding every
//! trigram of the term, rechecked with `LIKE`). A shorter term matches the records whose folded
//! prefix columns (first or last name) start with it, a range on a B-tree index. No term is
//! answered by reading every record of a program.
//!
//! SQLite, newest first: a term is first looked for among the program's newest records
//! ([`SearchIndex::recent_matches`]), walking the program's `created_at` index and testing each
//! text with `instr()`. A common term fills a page after a few hundred records there, where
//! the FTS index would hand over every match of every program to be sorted (tens of thousands
//! at a million users). A page that is full within that window is the page: every record
//! outside the window is older than all inside it. Otherwise the FTS index answers.

use domain::search::{SearchTerm, trigram_code, trigrams};
use sea_orm::sea_query::extension::mysql::{IndexHintScope, MySqlSelectStatementExt as _};
use sea_orm::sea_query::{
    Alias, Expr, ExprTrait as _, LikeExpr, Query, SelectStatement, SimpleExpr,
};
use sea_orm::{Condition, ConnectionTrait, DbBackend, DbErr};

use crate::error::{InternalError, StorageError};
use crate::keyset::Seek;

/// SQLite: how many of a program's newest records (past a page's key) a term is looked for
/// in before the FTS index is asked. A term on 2.5 % of the records or more fills a page of 25
/// within them; a rarer one pays the walk in vain (2,000 rows cost ~4 ms per program at 100k
/// users in `cargo xtask bench users`, hence 1,000) before the FTS index answers.
pub const RECENT_WINDOW: u64 = 1000;

/// Where a table's search text and its index live.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SearchIndex {
    /// The searched table.
    pub(crate) table: &'static str,
    /// Its primary key column.
    pub(crate) id: &'static str,
    /// Its program column.
    pub(crate) program: &'static str,
    /// Its creation time column (epoch milliseconds), indexed after the program.
    pub(crate) created: &'static str,
    /// The folded search text column.
    pub(crate) text: &'static str,
    /// Folded columns (B-tree indexed after the program) whose prefix a short term matches.
    pub(crate) prefixes: &'static [&'static str],
    /// The indexes of `prefixes`, in the same order.
    pub(crate) prefix_indexes: &'static [&'static str],
    /// SQLite: the FTS5 trigram table with the table's rowids.
    pub(crate) fts: &'static str,
    /// MariaDB: the trigram side table (`program_id`, `trigram`, owner).
    pub(crate) trigrams: &'static str,
    /// MariaDB's side table's and PostgreSQL's narrow table's column naming the record.
    pub(crate) trigram_owner: &'static str,
    /// PostgreSQL: the narrow search table (owner, program, created time and text, named as
    /// the searched table's columns) holding the trigram index (migration 23).
    pub(crate) narrow: &'static str,
}

/// Users: `search_text` over names, email, username and phone.
pub(crate) const USERS: SearchIndex = SearchIndex {
    table: "users",
    id: "id",
    program: "program_id",
    created: "created_at",
    text: "search_text",
    prefixes: &["first_name_folded", "last_name_folded"],
    prefix_indexes: &[
        "idx_users_program_first_folded",
        "idx_users_program_last_folded",
    ],
    fts: "users_search",
    trigrams: "user_search_trigrams",
    trigram_owner: "user_id",
    narrow: "user_search",
};

/// SQLite: the FTS key of a program (its id's text): the low 48 bits of its UUID as three
/// characters from U+10000, one trigram of the FTS table's `program_key` column (migration
/// 20 computes the same in its triggers). Distinct for two programs unless their UUIDs share
/// their last twelve hex digits (random bits of a UUIDv7: one chance in 2^48 per pair).
pub(crate) fn fts_program_key(program: &str) -> String {
    let low = uuid::Uuid::parse_str(program).map_or(0, |u| u.as_u128() & 0xFFFF_FFFF_FFFF);
    [32u32, 16, 0]
        .into_iter()
        .filter_map(|shift| {
            let bits = u32::try_from((low >> shift) & 0xFFFF).unwrap_or(0);
            char::from_u32(0x1_0000 + bits)
        })
        .collect()
}

/// SQLite: the FTS5 query of a term among `programs`' records: the term as a phrase of the
/// search text, and for one program its key (one trigram: the match reads that program's
/// candidates only, skipping along its doclist). Several programs' keys are not asked: an
/// `OR` of their doclists is merged in full (3M entries for three programs of 1M, ~130 ms,
/// against ~10 ms for every program's candidates, which `program_filter` then sorts out).
fn fts_query(programs: &[String], term: &SearchTerm) -> String {
    let phrase = format!("search_text : \"{}\"", term.folded().replace('"', "\"\""));
    match programs {
        [one] => format!("program_key : \"{}\" AND {phrase}", fts_program_key(one)),
        _ => phrase,
    }
}

/// `LIKE '%term%'` for a folded term, its wildcards escaped.
pub(crate) fn contains(term: &SearchTerm) -> LikeExpr {
    LikeExpr::new(format!("%{}%", escape_like(term.folded()))).escape('\\')
}

/// `text` with the LIKE wildcards `%`, `_` and the escape `\` escaped.
pub(crate) fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl SearchIndex {
    fn col(&self, column: &'static str) -> Expr {
        Expr::col((Alias::new(self.table), Alias::new(column)))
    }

    /// The condition selecting the records of `programs` (one, or several for a search across
    /// them), for a listing that searches for `term`. On SQLite, with a term, the program's
    /// index is hidden from the planner (`+col`): otherwise it walks every record of the
    /// program in index order and probes the search index for each, where the search index
    /// should choose the few candidates.
    pub(crate) fn program_filter(
        &self,
        backend: DbBackend,
        programs: &[String],
        term: Option<&SearchTerm>,
    ) -> SimpleExpr {
        if backend != DbBackend::Sqlite || term.is_none() {
            return match programs {
                [one] => self.col(self.program).eq(one.as_str()),
                _ => self
                    .col(self.program)
                    .is_in(programs.iter().map(String::as_str)),
            };
        }
        let column = format!("+\"{}\".\"{}\"", self.table, self.program);
        let compared = match programs {
            [_] => format!("{column} = ?"),
            _ => format!("{column} IN ({})", vec!["?"; programs.len()].join(", ")),
        };
        Expr::cust_with_values(compared, programs.iter().map(String::as_str))
    }

    /// MariaDB: which indexes a searching statement over the table may read. Its optimizer
    /// cannot estimate the trigram semi-join and would rather walk the program's rows in the
    /// listing's order, probing each: forced to the primary key (reached from the trigram
    /// candidates) for a term, to the prefix indexes for a short term.
    pub(crate) fn hint(
        &self,
        backend: DbBackend,
        term: Option<&SearchTerm>,
        stmt: &mut SelectStatement,
    ) {
        let Some(term) = term else { return };
        if backend != DbBackend::MySql {
            return;
        }
        let table = Alias::new(self.table);
        if term.is_short() {
            for index in self.prefix_indexes {
                stmt.force_index_on(table.clone(), Alias::new(*index), IndexHintScope::All);
            }
        } else {
            stmt.force_index_on(table, Alias::new("PRIMARY"), IndexHintScope::All);
        }
    }

    /// The condition selecting the records of `programs` that match `term` (with
    /// [`Self::program_filter`] beside it). MariaDB reads its trigram table for the first
    /// program only, and a short term the first program's prefix indexes: several programs
    /// are asked of SQLite's and PostgreSQL's index only, with a term of three characters
    /// or more.
    pub(crate) fn matches(
        &self,
        backend: DbBackend,
        programs: &[String],
        term: &SearchTerm,
    ) -> Condition {
        let first = programs.first().map_or("", String::as_str);
        if term.is_short() {
            // Each branch a range on one index (program first), so that the database unions
            // index ranges.
            return self.prefix_ranges(Some(first), term);
        }
        match backend {
            DbBackend::Sqlite => Condition::all().add(self.fts_match(programs, term)),
            DbBackend::MySql => Condition::all()
                .add(self.trigram_match(first, term))
                .add(self.col(self.text).like(contains(term))),
            _ => Condition::all().add(
                self.col(self.id)
                    .in_subquery(self.narrow_match(programs, term)),
            ),
        }
    }

    /// PostgreSQL: the ids of `programs`' records whose text contains the term, read from
    /// the narrow search table through its trigram index (rechecked by the database).
    pub(crate) fn narrow_match(&self, programs: &[String], term: &SearchTerm) -> SelectStatement {
        Query::select()
            .column(Alias::new(self.trigram_owner))
            .from(Alias::new(self.narrow))
            .and_where(self.narrow_program(programs))
            .and_where(self.narrow_col(self.text).like(contains(term)))
            .to_owned()
    }

    /// PostgreSQL: a column of the narrow search table.
    pub(crate) fn narrow_col(&self, column: &'static str) -> Expr {
        Expr::col((Alias::new(self.narrow), Alias::new(column)))
    }

    /// PostgreSQL: the narrow search table's rows of `programs`.
    fn narrow_program(&self, programs: &[String]) -> SimpleExpr {
        match programs {
            [one] => self.narrow_col(self.program).eq(one.as_str()),
            _ => self
                .narrow_col(self.program)
                .is_in(programs.iter().map(String::as_str)),
        }
    }

    /// SQLite and PostgreSQL, newest first: the program's records among its [`RECENT_WINDOW`]
    /// newest past the key of `seek` (in its reading order) whose text contains the term (a
    /// short term: whose first or last name starts with it), for a listing whose program filter is the plain column comparison (so
    /// that the program's `created_at` index is walked and the walk stops at the page's end).
    /// A page this fills is exact; one it does not fill must be read through [`Self::matches`].
    pub(crate) fn recent_matches(
        &self,
        backend: DbBackend,
        program: &str,
        term: &SearchTerm,
        seek: Seek,
    ) -> Condition {
        let (t, p, c, id) = (self.table, self.program, self.created, self.id);
        let mut values: Vec<sea_orm::Value> = vec![program.into()];
        // The window's far end: the created_at of its last record in the reading order, or
        // (fewer records than the window) a bound every stored time passes (epoch
        // milliseconds, a BIGINT on PostgreSQL: a literal beyond it would turn the comparison
        // numeric and unindexed).
        // Reading newest first, the window is the records at or after its last one's time;
        // reading backwards (a previous page), at or before it.
        let (order, reach, extreme, key) = match seek {
            Seek::First => ("DESC", ">=", 0, None),
            Seek::After(k) => ("DESC", ">=", 0, Some(("<", k))),
            Seek::Before(k) => ("ASC", "<=", i64::MAX, Some((">", k))),
        };
        // sea-query's custom expressions take `?` on SQLite, `$n` on PostgreSQL.
        let mark = |n: usize| match backend {
            DbBackend::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        };
        let past_key = match key {
            None => String::new(),
            Some((beyond, k)) => {
                values.extend([k.ms.into(), k.id.to_string().into()]);
                format!(
                    " AND (\"w\".\"{c}\", \"w\".\"{id}\") {beyond} ({}, {})",
                    mark(2),
                    mark(3)
                )
            }
        };
        let window = Expr::cust_with_values(
            format!(
                "\"{t}\".\"{c}\" {reach} COALESCE((SELECT \"w\".\"{c}\" FROM \"{t}\" AS \"w\" \
                 WHERE \"w\".\"{p}\" = {first}{past_key} ORDER BY \"w\".\"{c}\" {order}, \"w\".\"{id}\" {order} \
                 LIMIT 1 OFFSET {skip}), {extreme})",
                skip = RECENT_WINDOW - 1,
                first = mark(1),
            ),
            values,
        );
        let position = if backend == DbBackend::Postgres {
            "strpos"
        } else {
            "instr"
        };
        let matching = if term.is_short() {
            // Tested on each row of the walk, not read as index ranges.
            self.prefix_ranges(None, term)
        } else {
            Condition::all().add(Expr::cust_with_values(
                format!(
                    "{position}(\"{t}\".\"{text}\", {}) > 0",
                    mark(1),
                    text = self.text
                ),
                [term.folded()],
            ))
        };
        Condition::all().add(window).add(matching)
    }

    /// The records whose folded prefix columns start with a short `term`: one range per
    /// column, each after `program` when given (the prefix indexes lead with it).
    fn prefix_ranges(&self, program: Option<&str>, term: &SearchTerm) -> Condition {
        let mut any = Condition::any();
        for column in self.prefixes {
            let mut range = Condition::all();
            if let Some(program) = program {
                range = range.add(self.col(self.program).eq(program));
            }
            range = range.add(self.col(column).gte(term.folded()));
            if let Some(end) = term.prefix_end() {
                range = range.add(self.col(column).lt(end));
            }
            any = any.add(range);
        }
        any
    }

    /// SQLite: the rowids of `programs`' records whose text holds the term as a phrase of
    /// trigrams, i.e. as a substring (the tokenizer is case-sensitive: both sides are folded
    /// already).
    fn fts_match(&self, programs: &[String], term: &SearchTerm) -> SimpleExpr {
        self.fts_rowids(programs, term, "")
    }

    /// SQLite: the condition selecting the `n` records of `programs` holding `term` that were
    /// inserted last (the highest rowids), read from the FTS index in descending rowid order
    /// and no further (`users::walk`).
    pub(crate) fn fts_newest(&self, programs: &[String], term: &SearchTerm, n: u64) -> SimpleExpr {
        self.fts_rowids(programs, term, &format!(" ORDER BY rowid DESC LIMIT {n}"))
    }

    /// SQLite: `rowid IN` the FTS index's rowids of the term among `programs`, `tail` after
    /// the match (an order and a limit, or nothing).
    fn fts_rowids(&self, programs: &[String], term: &SearchTerm, tail: &str) -> SimpleExpr {
        Expr::cust_with_values(
            format!(
                "\"{t}\".rowid IN (SELECT rowid FROM \"{f}\" WHERE \"{f}\" MATCH ?{tail})",
                t = self.table,
                f = self.fts
            ),
            [fts_query(programs, term)],
        )
    }

    /// SQLite: how many of `program`'s records hold the term, at most `cap` + 1, counted in
    /// the FTS index alone (its program keys make the count exact without reading a record).
    pub(crate) fn fts_count(
        &self,
        program: &str,
        term: &SearchTerm,
        cap: u64,
    ) -> sea_orm::Statement {
        sea_orm::Statement::from_sql_and_values(
            DbBackend::Sqlite,
            format!(
                "SELECT COUNT(*) FROM (SELECT rowid FROM \"{f}\" WHERE \"{f}\" MATCH ? LIMIT {limit})",
                f = self.fts,
                limit = cap + 1
            ),
            [fts_query(&[program.to_owned()], term).into()],
        )
    }

    /// MariaDB: the program's records holding every trigram of the term (a superset of the
    /// matches, rechecked by `LIKE`).
    fn trigram_match(&self, program: &str, term: &SearchTerm) -> SimpleExpr {
        let codes: Vec<i64> = term.trigrams().into_iter().map(trigram_code).collect();
        let marks = vec!["?"; codes.len()].join(", ");
        let mut values: Vec<sea_orm::Value> = vec![program.into()];
        values.extend(codes.iter().map(|c| sea_orm::Value::from(*c)));
        Expr::cust_with_values(
            format!(
                "`{t}`.`{id}` IN (SELECT `{o}` FROM `{g}` WHERE `program_id` = ? AND `trigram` IN ({marks}) GROUP BY `{o}` HAVING COUNT(*) = {n})",
                t = self.table,
                id = self.id,
                o = self.trigram_owner,
                g = self.trigrams,
                n = codes.len()
            ),
            values,
        )
    }

    /// MariaDB: records the trigrams of new records, in the caller's transaction (elsewhere
    /// the database's own index follows the row).
    pub(crate) async fn insert_trigrams<'a>(
        &self,
        db: &impl ConnectionTrait,
        records: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> Result<(), StorageError> {
        if db.get_database_backend() != DbBackend::MySql {
            return Ok(());
        }
        let mut rows: Vec<[sea_orm::Value; 3]> = Vec::new();
        for (program, id, text) in records {
            for t in trigrams(text) {
                rows.push([program.into(), trigram_code(t).into(), id.into()]);
            }
        }
        for chunk in rows.chunks(5000) {
            let mut insert = Query::insert();
            insert.into_table(Alias::new(self.trigrams)).columns([
                Alias::new("program_id"),
                Alias::new("trigram"),
                Alias::new(self.trigram_owner),
            ]);
            for row in chunk {
                insert
                    .values(row.iter().cloned().map(Into::into))
                    .map_err(|e| InternalError::Database(DbErr::Custom(e.to_string())))?;
            }
            db.execute(&insert).await?;
        }
        Ok(())
    }

    /// MariaDB: replaces a record's trigrams after its text changed, in the caller's
    /// transaction.
    pub(crate) async fn replace_trigrams(
        &self,
        db: &impl ConnectionTrait,
        program: &str,
        id: &str,
        text: &str,
    ) -> Result<(), StorageError> {
        if db.get_database_backend() != DbBackend::MySql {
            return Ok(());
        }
        let delete = Query::delete()
            .from_table(Alias::new(self.trigrams))
            .and_where(Expr::col(Alias::new(self.trigram_owner)).eq(id))
            .to_owned();
        db.execute(&delete).await?;
        self.insert_trigrams(db, [(program, id, text)]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(escape_like(r"50%_a\b"), r"50\%\_a\\b");
    }
}
