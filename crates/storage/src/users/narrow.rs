//! PostgreSQL: a search page and its total read together from the narrow search table
//! (migration 23), for a listing whose only filter is a term of three characters or more,
//! in `created_at` order.
//!
//! Newest first, the page is first looked for among the program's newest users (as on
//! SQLite, `search::SearchIndex::recent_matches`): a page that window fills is exact, and the
//! total is counted in the narrow table up to the cap. Otherwise, and oldest first:
//!
//! The program's partition of the table yields the term's candidates through its trigram
//! index; each is read (a small row) to recheck the term. One statement reads at most
//! [`NARROW_READ`] + 1 of the program's matches from the narrow table, counts them, and cuts
//! the page from them by `created_at`: when there are no more than [`NARROW_READ`], that page
//! is exact and so is the count (a selective term: its page and total for the price of one
//! pass over small rows, then the page's rows read by id). A term with more matches is common enough that the program's
//! newest users hold its first pages: the page is read by walking the program's `created_at`
//! index and testing each text (`strpos`), and the total is the cap
//! ([`COUNTED_TOTAL_CAP`], `total_is_estimate`).

use domain::search::SearchTerm;
use domain::{ProgramId, User, UserQuery, UserSort};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{
    ColumnTrait as _, Condition, ConnectionTrait as _, DbBackend, EntityTrait as _,
    QueryFilter as _, QuerySelect as _, QueryTrait as _, Statement,
};

use super::reads::{page_query, recent_page};
use super::rows::with_meta;
use crate::SqlStore;
use crate::entity::users;
use crate::error::StorageError;
use crate::keyset::{KeyOrder, Seek};
use crate::repo::{COUNTED_TOTAL_CAP, Page};
use crate::search::{self, escape_like};

/// How many of a program's matches one search reads from the narrow table before it calls
/// the term common and walks the program's newest users instead. A term on 1 % of a million
/// users is read in full; a common one (~10 %) stops here (`cargo xtask bench users`).
pub const NARROW_READ: u64 = 10_000;

/// The term of a query whose only filter is a term the narrow table serves: PostgreSQL, three
/// characters or more. `None` otherwise.
fn only_term(backend: DbBackend, q: &UserQuery) -> Option<SearchTerm> {
    let others = q.email_key().is_some() || q.status().is_some() || q.kyc_status().is_some();
    let term = q.search().and_then(SearchTerm::new)?;
    (backend == DbBackend::Postgres && !others && !term.is_short()).then_some(term)
}

/// The term of a listing the narrow table serves: [`only_term`], in `created_at` order.
pub(super) fn served(backend: DbBackend, q: &UserQuery) -> Option<SearchTerm> {
    let by_time = matches!(q.sort(), UserSort::CreatedDesc | UserSort::CreatedAsc);
    only_term(backend, q).filter(|_| by_time)
}

/// A keyset page newest first (the console's search) of `programs`' users for a query whose
/// only filter is a term ([`only_term`]): the users whose ids are the page's, chosen among the
/// narrow table's keys past the key of `seek` (`limit` of them), so that only the page's rows
/// are read from `users` (a selective term's 2,000 candidates each read from `users` to be
/// sorted cost ~230 ms cold at 3M users). `None` for another query.
pub(super) fn keyset_filter(
    backend: DbBackend,
    programs: &[ProgramId],
    q: &UserQuery,
    seek: Seek,
    limit: u64,
) -> Option<Condition> {
    let term = only_term(backend, q)?;
    let ix = search::USERS;
    let order = KeyOrder {
        ms: ix.narrow_col(ix.created),
        id: ix.narrow_col(ix.trigram_owner),
        descending: true,
    };
    let ids: Vec<String> = programs.iter().map(|p| p.uuid().to_string()).collect();
    let mut keys = ix.narrow_match(&ids, &term);
    if let Some(beyond) = order.condition(backend, seek) {
        keys.cond_where(beyond);
    }
    let dir = order.read_order(seek);
    keys.order_by_expr(order.ms, dir.clone())
        .order_by_expr(order.id, dir)
        .limit(limit);
    Some(Condition::all().add(users::Column::Id.in_subquery(keys)))
}

/// The statement of the program's matches read from the narrow table, at most
/// [`NARROW_READ`] + 1: one row per user of `q`'s page (`user_id`) with the number of
/// matches read (`n`), or one row with `n` and no user when the page is empty.
pub(super) fn statement(program: ProgramId, term: &SearchTerm, q: &UserQuery) -> Statement {
    let ix = search::USERS;
    let dir = if q.sort() == UserSort::CreatedAsc {
        "ASC"
    } else {
        "DESC"
    };
    let (owner, created) = (ix.trigram_owner, ix.created);
    let sql = format!(
        "WITH \"m\" AS MATERIALIZED (SELECT \"{owner}\", \"{created}\" FROM \"{narrow}\" \
         WHERE \"{program}\" = $1 AND \"{text}\" LIKE $2 ESCAPE '\\' LIMIT {read}) \
         SELECT \"c\".\"n\", \"p\".\"{owner}\" FROM (SELECT count(*) AS \"n\" FROM \"m\") AS \"c\" \
         LEFT JOIN LATERAL (SELECT \"{owner}\", \"{created}\" FROM \"m\" \
         ORDER BY \"{created}\" {dir}, \"{owner}\" {dir} LIMIT {limit} OFFSET {offset}) AS \"p\" ON true \
         ORDER BY \"p\".\"{created}\" {dir}, \"p\".\"{owner}\" {dir}",
        narrow = ix.narrow,
        program = ix.program,
        text = ix.text,
        read = NARROW_READ + 1,
        limit = q.page().per_page(),
        offset = q.page().offset(),
    );
    let pattern = format!("%{}%", escape_like(term.folded()));
    Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        [program.uuid().to_string().into(), pattern.into()],
    )
}

/// The statement of a common term's page: the program's users in `q`'s order along its
/// `created_at` index, each text tested for the term, cut at `q`'s page.
pub(super) fn walk(program: ProgramId, term: &SearchTerm, q: &UserQuery) -> Statement {
    let contains = Expr::cust_with_values(
        format!(
            "strpos(\"{}\".\"{}\", $1) > 0",
            search::USERS.table,
            search::USERS.text
        ),
        [term.folded()],
    );
    let filter = Condition::all()
        .add(users::Column::ProgramId.eq(program.uuid().to_string()))
        .add(contains);
    page_query(DbBackend::Postgres, filter, q)
        .offset(q.page().offset())
        .limit(q.page().per_page())
        .build(DbBackend::Postgres)
}

/// Newest first: the statement of the page among the program's [`crate::RECENT_WINDOW`]
/// newest users (`reads::recent_page`). `None` in another order.
pub(super) fn recent(program: ProgramId, q: &UserQuery) -> Option<Statement> {
    recent_page(DbBackend::Postgres, program, q).map(|page| page.build(DbBackend::Postgres))
}

/// The statement counting the program's matches in the narrow table, at most
/// [`COUNTED_TOTAL_CAP`] + 1.
pub(super) fn count(program: ProgramId, term: &SearchTerm) -> Statement {
    let ix = search::USERS;
    let mut matching = ix.narrow_match(&[program.uuid().to_string()], term);
    matching.limit(COUNTED_TOTAL_CAP + 1);
    let counted = Query::select()
        .expr(Expr::cust("count(*)"))
        .from_subquery(matching, Alias::new("m"))
        .to_owned();
    DbBackend::Postgres.build(&counted)
}

/// `n` matches counted (at most one past the cap) as a listing's total.
fn as_total(n: u64) -> (u64, bool) {
    (n.min(COUNTED_TOTAL_CAP), n > COUNTED_TOTAL_CAP)
}

/// The page and total of a listing [`served`] by the narrow table. Newest first, the page is
/// first looked for among the program's newest users, as SQLite does: a common term fills it
/// there after a few hundred rows, and its total is then counted up to the cap, where reading
/// up to [`NARROW_READ`] of its matches would cost ~20 ms at 1M users.
pub(super) async fn list(
    store: &SqlStore,
    program: ProgramId,
    term: &SearchTerm,
    q: &UserQuery,
) -> Result<Page<User>, StorageError> {
    if let Some(recent) = recent(program, q) {
        let rows = users::Entity::find()
            .from_raw_sql(recent)
            .all(&store.db)
            .await?;
        if rows.len() as u64 == q.page().per_page() {
            let n = match store.db.query_one_raw(count(program, term)).await? {
                Some(row) => row.try_get_by_index::<i64>(0)?,
                None => 0,
            };
            let (total, total_is_estimate) = as_total(u64::try_from(n).unwrap_or(0));
            return Ok(Page {
                items: with_meta(&store.db, rows).await?,
                total,
                total_is_estimate,
            });
        }
    }
    let rows = store.db.query_all_raw(statement(program, term, q)).await?;
    let read = match rows.first() {
        Some(row) => u64::try_from(row.try_get_by_index::<i64>(0)?).unwrap_or(0),
        None => 0,
    };
    if read > NARROW_READ {
        let rows = users::Entity::find()
            .from_raw_sql(walk(program, term, q))
            .all(&store.db)
            .await?;
        return Ok(Page {
            items: with_meta(&store.db, rows).await?,
            total: COUNTED_TOTAL_CAP,
            total_is_estimate: true,
        });
    }
    let ids = rows
        .iter()
        .filter_map(|row| row.try_get_by_index::<Option<String>>(1).transpose())
        .collect::<Result<Vec<String>, _>>()?;
    let (total, total_is_estimate) = as_total(read);
    if ids.is_empty() {
        return Ok(Page {
            items: Vec::new(),
            total,
            total_is_estimate,
        });
    }
    let mut found = users::Entity::find()
        .filter(users::Column::Id.is_in(ids.iter().map(String::as_str)))
        .all(&store.db)
        .await?;
    // In the page's order, as the narrow table gave it.
    found.sort_by_key(|u| ids.iter().position(|id| *id == u.id));
    Ok(Page {
        items: with_meta(&store.db, found).await?,
        total,
        total_is_estimate,
    })
}
