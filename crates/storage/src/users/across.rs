//! User search across programs (the console's), a keyset page at a time, newest first: one
//! statement, a `UNION ALL` of one branch per program, each branch the program's own
//! index-backed listing (`reads::user_filter`: the search index of `search.rs` for a term,
//! the program's `created_at` index without one) cut at a page past the key, and the union
//! ordered and cut again. Each branch reads at most a page along its program's indexes, so a
//! page costs at most programs × page rows whatever the term or the depth; no branch reads a
//! program's rows in full. (`program_id IN (…)` in one query would not do: no index orders
//! every program's matches by `created_at`, so a common term or no term would sort them all.)

use domain::search::SearchTerm;
use domain::{ProgramId, User, UserQuery};
use sea_orm::sea_query::{Alias, Asterisk, Expr, Query, SelectStatement, UnionType};
use sea_orm::{
    DbBackend, EntityTrait as _, Order, QueryFilter as _, QueryOrder as _, QuerySelect as _,
    QueryTrait as _,
};

use super::reads::user_filter;
use super::rows::{uuid_of, with_meta};
use crate::SqlStore;
use crate::entity::users;
use crate::error::StorageError;
use crate::keyset::{self, KeyOrder, KeysetPage, PageKey, Seek};
use crate::search;

/// Branches per statement: SQLite allows 500 terms in a compound `SELECT`. More programs
/// than this take one statement per this many.
pub(super) const MAX_BRANCHES: usize = 400;

/// Newest first.
fn newest_first() -> KeyOrder {
    KeyOrder {
        ms: Expr::col((users::Entity, users::Column::CreatedAt)),
        id: Expr::col((users::Entity, users::Column::Id)),
        descending: true,
    }
}

/// One program's branch: its matches past the key, at most `limit`, in reading order.
fn branch(
    backend: DbBackend,
    program: ProgramId,
    q: &UserQuery,
    seek: Seek,
    limit: u64,
) -> SelectStatement {
    let order = newest_first();
    let dir = order.read_order(seek);
    let mut select = users::Entity::find().filter(user_filter(backend, program, q));
    if let Some(c) = order.condition(backend, seek) {
        select = select.filter(c);
    }
    let mut stmt = select
        .order_by(order.ms, dir.clone())
        .order_by(order.id, dir)
        .limit(limit)
        .into_query();
    let term = q.search().and_then(SearchTerm::new);
    search::USERS.hint(backend, term.as_ref(), &mut stmt);
    stmt
}

/// The statement over `programs` (at most [`MAX_BRANCHES`]): one branch alone, or the union
/// of every branch (each wrapped, since SQLite takes no `ORDER BY`/`LIMIT` on a compound's
/// terms), ordered and cut.
pub(super) fn statement(
    backend: DbBackend,
    programs: &[ProgramId],
    q: &UserQuery,
    seek: Seek,
    per_page: u64,
) -> Option<SelectStatement> {
    let limit = keyset::bounded(per_page) + 1;
    if let [only] = programs {
        return Some(branch(backend, *only, q, seek, limit));
    }
    let mut branches = programs.iter().enumerate().map(|(i, p)| {
        Query::select()
            .column(Asterisk)
            .from_subquery(
                branch(backend, *p, q, seek, limit),
                Alias::new(format!("b{i}")),
            )
            .to_owned()
    });
    let mut union = branches.next()?;
    union.unions(branches.map(|b| (UnionType::All, b)));
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
        let mut rows = Vec::new();
        for chunk in programs.chunks(MAX_BRANCHES) {
            let Some(stmt) = statement(backend, chunk, q, seek, per_page) else {
                continue;
            };
            rows.extend(
                users::Entity::find()
                    .from_raw_sql(backend.build(&stmt))
                    .all(&self.db)
                    .await?,
            );
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
}
