//! User search across programs (the console's), a keyset page at a time, newest first: one
//! statement, a `UNION ALL` of one branch per program, each branch the program's own
//! index-backed listing (`reads::user_filter`: the search index of `search.rs` for a term,
//! the program's `created_at` index without one) cut at a page past the key, and the union
//! ordered and cut again. Each branch reads at most a page along its program's indexes, so a
//! page costs at most programs × page rows whatever the term or the depth; no branch reads a
//! program's rows in full. (`program_id IN (…)` in one query would not do: no index orders
//! every program's matches by `created_at`, so a common term or no term would sort them all.)
//!
//! SQLite and PostgreSQL, a term of three characters or more: each program's branch first
//! looks among its newest users only (`reads::recent_filter`: a common term fills a page
//! there); the programs whose branch that does not fill are read again through the search
//! index, all of them in one second statement (one pass over the term's candidates, not one
//! per program: PostgreSQL reads each program's partition of its narrow search table and picks
//! the page among their keys before reading `users` (`narrow::keyset_filter`), and SQLite's FTS
//! table is asked the term alone, since an `OR` of several programs' keys costs more than
//! every program's candidates).

use std::collections::{HashMap, HashSet};

use domain::search::SearchTerm;
use domain::{ProgramId, User, UserQuery};
use sea_orm::sea_query::{Alias, Asterisk, Query, SelectStatement, UnionType};
use sea_orm::{
    DbBackend, EntityTrait as _, Order, QueryFilter as _, QueryOrder as _, QuerySelect as _,
    QueryTrait as _,
};

use super::narrow;
use super::order::newest_first;
use super::reads::{programs_filter, reads_fts, recent_filter, rowid_in, user_filter};
use super::rows::{uuid_of, with_meta};
use crate::SqlStore;
use crate::entity::users;
use crate::error::StorageError;
use crate::keyset::{self, KeysetPage, PageKey, Seek};
use crate::search;

/// Branches per statement: SQLite allows 500 terms in a compound `SELECT`. More programs
/// than this take one statement per this many.
pub(super) const MAX_BRANCHES: usize = 400;

/// How a statement's branches find their matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Reading {
    /// Through the search index (or the program's index without a term): exact.
    Index,
    /// SQLite, a term: among each program's newest users only, the statement not cut across
    /// programs (so that the caller sees which program's branch is full, hence exact).
    Recent,
}

/// One program's branch: its matches past the key, at most `limit`, in reading order.
fn branch(
    backend: DbBackend,
    program: ProgramId,
    q: &UserQuery,
    seek: Seek,
    limit: u64,
    reading: Reading,
) -> SelectStatement {
    let filter = match reading {
        Reading::Recent => recent_filter(backend, program, q, seek),
        Reading::Index => narrow::keyset_filter(backend, &[program], q, seek, limit),
    };
    let late = filter.is_none() && reads_fts(backend, q);
    let filter = filter.unwrap_or_else(|| user_filter(backend, program, q));
    let mut stmt = past_key(backend, filter, seek, limit, late);
    let term = q.search().and_then(SearchTerm::new);
    search::USERS.hint(backend, term.as_ref(), &mut stmt);
    stmt
}

/// The users matching `filter` past the key of `seek`, at most `limit`, in reading order;
/// `late`: the page chosen first, then its rows read (`reads::rowid_in`).
fn past_key(
    backend: DbBackend,
    filter: sea_orm::Condition,
    seek: Seek,
    limit: u64,
    late: bool,
) -> SelectStatement {
    let order = newest_first();
    let dir = order.read_order(seek);
    let mut select = users::Entity::find().filter(filter);
    if let Some(c) = order.condition(backend, seek) {
        select = select.filter(c);
    }
    let page = select
        .order_by(order.ms.clone(), dir.clone())
        .order_by(order.id.clone(), dir.clone())
        .limit(limit);
    if !late {
        return page.into_query();
    }
    users::Entity::find()
        .filter(rowid_in(page))
        .order_by(order.ms, dir.clone())
        .order_by(order.id, dir)
        .into_query()
}

/// The statement over `programs` (at most [`MAX_BRANCHES`]): one branch alone, or the union
/// of every branch (each wrapped, since SQLite takes no `ORDER BY`/`LIMIT` on a compound's
/// terms), ordered and cut (`Reading::Index` only).
pub(super) fn statement(
    backend: DbBackend,
    programs: &[ProgramId],
    q: &UserQuery,
    seek: Seek,
    per_page: u64,
    reading: Reading,
) -> Option<SelectStatement> {
    let limit = keyset::bounded(per_page) + 1;
    if let [only] = programs {
        return Some(branch(backend, *only, q, seek, limit, reading));
    }
    let mut branches = programs.iter().enumerate().map(|(i, p)| {
        Query::select()
            .column(Asterisk)
            .from_subquery(
                branch(backend, *p, q, seek, limit, reading),
                Alias::new(format!("b{i}")),
            )
            .to_owned()
    });
    let mut union = branches.next()?;
    union.unions(branches.map(|b| (UnionType::All, b)));
    if reading == Reading::Recent {
        return Some(union);
    }
    let dir = newest_first().read_order(seek);
    Some(
        Query::select()
            .column(Asterisk)
            .from_subquery(union, Alias::new("found"))
            .order_by(Alias::new("created_at"), dir.clone())
            .order_by(Alias::new("id"), dir)
            .limit(limit)
            .to_owned(),
    )
}

impl SqlStore {
    /// A page of the users of `programs` matching `q` (its search term through the search
    /// index, and its status, KYC and email filters; not its page or order), newest first,
    /// at most [`crate::MAX_KEYSET_PAGE`]; one statement for up to 400 programs.
    pub async fn search_users(
        &self,
        programs: &[ProgramId],
        q: &UserQuery,
        seek: Seek,
        per_page: u64,
    ) -> Result<KeysetPage<User>, StorageError> {
        let backend = self.db.get_database_backend();
        let limit = keyset::bounded(per_page) + 1;
        let recent = programs
            .first()
            .is_some_and(|p| recent_filter(backend, *p, q, seek).is_some());
        // SQLite: the FTS index read newest first, when that settles the page (`walk`).
        let walked = self
            .walk_newest(programs, q, seek, &newest_first(), limit)
            .await?;
        let settled = walked.is_some();
        let mut rows = walked.unwrap_or_default();
        for chunk in programs.chunks(MAX_BRANCHES) {
            if settled {
                break;
            }
            let mut rest = chunk.to_vec();
            if recent
                && let Some(stmt) = statement(backend, chunk, q, seek, per_page, Reading::Recent)
            {
                let found = self.rows(backend, &stmt).await?;
                let mut per_program: HashMap<&str, u64> = HashMap::new();
                for row in &found {
                    *per_program.entry(row.program_id.as_str()).or_default() += 1;
                }
                // A branch the window filled is that program's answer; the others are read
                // again through the search index.
                let full: HashSet<String> = per_program
                    .into_iter()
                    .filter(|(_, n)| *n >= limit)
                    .map(|(p, _)| p.to_owned())
                    .collect();
                rest.retain(|p| !full.contains(&p.uuid().to_string()));
                rows.extend(found.into_iter().filter(|r| full.contains(&r.program_id)));
            }
            let filter = narrow::keyset_filter(backend, &rest, q, seek, limit)
                .or_else(|| programs_filter(backend, &rest, q));
            let stmt = match filter {
                // The matches of several programs at once (`programs_filter`): one pass over
                // the search index's candidates for them all, not one per program.
                Some(filter) if rest.len() > 1 => Some(past_key(
                    backend,
                    filter,
                    seek,
                    limit,
                    reads_fts(backend, q),
                )),
                _ => statement(backend, &rest, q, seek, per_page, Reading::Index),
            };
            if let Some(stmt) = stmt {
                rows.extend(self.rows(backend, &stmt).await?);
            }
        }
        let mut keyed = rows
            .into_iter()
            .map(|row| {
                let key = PageKey {
                    ms: row.created_at,
                    id: uuid_of(&row.id, "users.id")?,
                };
                Ok((key, row))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        // Several statements' rows merged in the reading order (ids are canonical UUID text,
        // whose byte order every database's comparison agrees with).
        keyed.sort_by(|(a, ra), (b, rb)| (a.ms, &ra.id).cmp(&(b.ms, &rb.id)));
        if newest_first().read_order(seek) == Order::Desc {
            keyed.reverse();
        }
        let page = keyset::finish(keyed, per_page, seek, |(k, _)| *k);
        let users = with_meta(&self.db, page.items.into_iter().map(|(_, r)| r).collect()).await?;
        Ok(KeysetPage {
            items: users,
            previous: page.previous,
            next: page.next,
        })
    }

    async fn rows(
        &self,
        backend: DbBackend,
        stmt: &SelectStatement,
    ) -> Result<Vec<users::Model>, StorageError> {
        Ok(users::Entity::find()
            .from_raw_sql(backend.build(stmt))
            .all(&self.db)
            .await?)
    }
}
