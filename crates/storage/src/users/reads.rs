//! Reading users: one by id, a filtered and sorted page, the audit trail, the KYC queue.

use domain::search::SearchTerm;
use domain::{ProgramId, User, UserId, UserQuery, UserSort};
use sea_orm::sea_query::{Alias, Expr, ExprTrait as _, Query, SelectStatement};
use sea_orm::{
    ColumnTrait as _, Condition, ConnectionTrait as _, DbBackend, EntityTrait as _, JoinType,
    QueryFilter as _, QueryOrder as _, QuerySelect, QueryTrait as _, Select,
};

use super::order::{newest_first, with_attributes};
use super::rows::{count_users, ssn_aad, user_from_rows, uuid_of, with_meta};
use crate::SqlStore;
use crate::entity::{user_events, user_meta_data, users};
use crate::error::{Entity, Problem, StorageError};
use crate::keyset::Seek;
use crate::repo::{COUNTED_TOTAL_CAP, Page, UserEvent};
use crate::search;
use crate::time::from_ms;

/// One user of the program, with its meta_data, in one joined statement (each statement on
/// the pool also costs a round trip when its connection is returned).
pub(super) async fn get(
    store: &SqlStore,
    program: ProgramId,
    id: UserId,
) -> Result<Option<User>, StorageError> {
    let meta_of_user: sea_orm::RelationDef = user_meta_data::Entity::belongs_to(users::Entity)
        .from(user_meta_data::Column::UserId)
        .to(users::Column::Id)
        .into();
    let rows = users::Entity::find_by_id(id.uuid().to_string())
        .filter(users::Column::ProgramId.eq(program.uuid().to_string()))
        .join_rev(JoinType::LeftJoin, meta_of_user)
        .select_also(user_meta_data::Entity)
        .order_by_asc(user_meta_data::Column::Position)
        .all(&store.db)
        .await?;
    let mut rows = rows.into_iter();
    let Some((row, first)) = rows.next() else {
        return Ok(None);
    };
    let meta = first
        .into_iter()
        .chain(rows.filter_map(|(_, m)| m))
        .collect();
    user_from_rows(program, row, meta).map(Some)
}

/// The audit trail of a user, oldest first.
pub(super) async fn events(
    store: &SqlStore,
    program: ProgramId,
    id: UserId,
) -> Result<Vec<UserEvent>, StorageError> {
    user_events::Entity::find()
        .filter(user_events::Column::UserId.eq(id.uuid().to_string()))
        .filter(user_events::Column::ProgramId.eq(program.uuid().to_string()))
        .order_by_asc(user_events::Column::CreatedAt)
        .order_by_asc(user_events::Column::Id)
        .all(&store.db)
        .await?
        .into_iter()
        .map(|e| {
            Ok(UserEvent {
                at: from_ms(e.created_at)?,
                kind: e.kind,
                from: e.from_state,
                to: e.to_state,
                reason: e.reason,
                actor: e.actor,
            })
        })
        .collect()
}

/// The program a user belongs to.
pub(super) async fn program_of(
    store: &SqlStore,
    id: UserId,
) -> Result<Option<ProgramId>, StorageError> {
    let program: Option<String> = users::Entity::find_by_id(id.uuid().to_string())
        .select_only()
        .column(users::Column::ProgramId)
        .into_tuple()
        .one(&store.db)
        .await?;
    program
        .map(|p| uuid_of(&p, "users.program_id").map(ProgramId::from_uuid))
        .transpose()
}

impl SqlStore {
    /// Decrypts a user's SSN for the one consumer that needs it (a KYC verifier). Fails
    /// with [`crate::CryptoError::Unauthentic`] if the ciphertext does not belong to this row.
    #[tracing::instrument(level = "debug", skip(self), fields(program = %program, user = %id))]
    pub async fn reveal_ssn(
        &self,
        program: ProgramId,
        id: UserId,
    ) -> Result<Option<domain::Ssn>, StorageError> {
        let row = users::Entity::find_by_id(id.uuid().to_string())
            .filter(users::Column::ProgramId.eq(program.uuid().to_string()))
            .one(&self.db)
            .await?
            .ok_or(StorageError::NotFound(Entity::User))?;
        let (Some(bytes), Some(key_id)) = (row.ssn_ciphertext, row.ssn_key_id) else {
            return Ok(None);
        };
        let plain = self.keys.open(&key_id, &bytes, ssn_aad(&row.id))?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| StorageError::corrupt("users.ssn_ciphertext", Problem::NotUtf8))?;
        domain::Ssn::parse(text)
            .map(Some)
            .map_err(|v| StorageError::corrupt("users.ssn_ciphertext", v))
    }
}

/// The filters of a user listing (everything but order and page).
pub(super) fn user_filter(backend: DbBackend, program: ProgramId, q: &UserQuery) -> Condition {
    filter_with(backend, &[program], q, None)
}

/// SQLite and PostgreSQL, a search term: the filters of a newest-first listing that looks
/// for the term among the program's newest users past the key of `seek` only
/// (`search::SearchIndex::recent_matches`). A page it fills is exact; one it does not must be
/// read again with [`user_filter`]. `None` otherwise.
pub(super) fn recent_filter(
    backend: DbBackend,
    program: ProgramId,
    q: &UserQuery,
    seek: Seek,
) -> Option<Condition> {
    q.search().and_then(SearchTerm::new)?;
    matches!(backend, DbBackend::Sqlite | DbBackend::Postgres)
        .then(|| filter_with(backend, &[program], q, Some(seek)))
}

/// SQLite and PostgreSQL, a search term, newest first: the statement of `q`'s page among the
/// program's newest users ([`recent_filter`]); a page it fills is exact. `None` otherwise.
pub(super) fn recent_page(
    backend: DbBackend,
    program: ProgramId,
    q: &UserQuery,
) -> Option<Select<users::Entity>> {
    let filter = recent_filter(backend, program, q, Seek::First)
        .filter(|_| q.sort() == UserSort::CreatedDesc)?;
    Some(
        page_query(backend, filter, q)
            .offset(q.page().offset())
            .limit(q.page().per_page()),
    )
}

/// SQLite and PostgreSQL, a search term of three characters or more: the filters selecting
/// the matches of all of `programs` at once. Their search index covers every program, so one
/// pass over the term's candidates serves them all. `None` otherwise (MariaDB's trigram
/// table is read a program at a time; a short term or none reads each program's own index).
pub(super) fn programs_filter(
    backend: DbBackend,
    programs: &[ProgramId],
    q: &UserQuery,
) -> Option<Condition> {
    let term = q.search().and_then(SearchTerm::new)?;
    (matches!(backend, DbBackend::Sqlite | DbBackend::Postgres) && !term.is_short())
        .then(|| filter_with(backend, programs, q, None))
}

/// The filters of a listing of `programs` (one, unless the term is read through a search
/// index that covers every program: see [`programs_filter`]); `recent`: through the recent
/// window past that key (one program).
fn filter_with(
    backend: DbBackend,
    programs: &[ProgramId],
    q: &UserQuery,
    recent: Option<Seek>,
) -> Condition {
    let ids: Vec<String> = programs.iter().map(|p| p.uuid().to_string()).collect();
    let first = ids.first().cloned().unwrap_or_default();
    let term = q.search().and_then(SearchTerm::new);
    let program = Condition::all().add(match recent {
        // The program's created_at index is what the recent window walks.
        Some(_) => users::Column::ProgramId.eq(first.as_str()),
        None => search::USERS.program_filter(backend, &ids, term.as_ref()),
    });
    let mut cond = with_attributes(program, q);
    if let Some(term) = &term {
        cond = cond.add(match recent {
            Some(seek) => search::USERS.recent_matches(backend, &first, term, seek),
            None => search::USERS.matches(backend, &ids, term),
        });
    }
    cond
}

/// The statement counting the users matching `filter`, at most [`COUNTED_TOTAL_CAP`] + 1.
fn capped_count_query(backend: DbBackend, filter: Condition, q: &UserQuery) -> SelectStatement {
    let mut matching = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .filter(filter)
        .limit(COUNTED_TOTAL_CAP + 1)
        .into_query();
    let term = q.search().and_then(SearchTerm::new);
    search::USERS.hint(backend, term.as_ref(), &mut matching);
    Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from_subquery(matching, Alias::new("capped"))
        .to_owned()
}

/// The statement counting the users of `program` matching `filter` (that of `q`), at most
/// [`COUNTED_TOTAL_CAP`] + 1. SQLite, a term and no other filter: counted in the FTS index
/// alone, which knows each record's program (10,001 matches of a common term at 1M users, when
/// the cap was 10,000: ~4 ms, against ~115 ms reading each candidate's row).
pub(super) fn count_statement(
    backend: DbBackend,
    program: ProgramId,
    filter: Condition,
    q: &UserQuery,
) -> sea_orm::Statement {
    let only_term = q.email_key().is_none() && q.status().is_none() && q.kyc_status().is_none();
    match q.search().and_then(SearchTerm::new) {
        Some(term) if reads_fts(backend, q) && only_term => {
            search::USERS.fts_count(&program.uuid().to_string(), &term, COUNTED_TOTAL_CAP)
        }
        _ => backend.build(&capped_count_query(backend, filter, q)),
    }
}

/// The number of users matching `filter`, counting at most [`COUNTED_TOTAL_CAP`] + 1 of them:
/// (total, whether it is the cap rather than an exact count).
async fn capped_count(
    store: &SqlStore,
    program: ProgramId,
    filter: Condition,
    q: &UserQuery,
) -> Result<(u64, bool), StorageError> {
    let backend = store.db.get_database_backend();
    let row = store
        .db
        .query_one_raw(count_statement(backend, program, filter, q))
        .await?;
    let n: i64 = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => 0,
    };
    let n = u64::try_from(n).unwrap_or(0);
    Ok(if n > COUNTED_TOTAL_CAP {
        (COUNTED_TOTAL_CAP, true)
    } else {
        (n, false)
    })
}

/// SQLite: whether a listing's term is read through the FTS index (three characters or
/// more), whose candidates are then sorted: see [`rowid_in`].
pub(super) fn reads_fts(backend: DbBackend, q: &UserQuery) -> bool {
    backend == DbBackend::Sqlite
        && q.search()
            .and_then(SearchTerm::new)
            .is_some_and(|t| !t.is_short())
}

/// SQLite: the condition selecting the rows of `page` (a sorted and cut selection of users)
/// by rowid, for a statement that then reads only those rows in full. The page is chosen
/// among the candidates' sort keys: sorting every candidate's whole row cost ~40 % more at
/// 3M users (6,352 candidates of a selective term, `sqlite3` on `cargo xtask bench users`'
/// database: 48 ms against 28 ms).
pub(super) fn rowid_in(page: Select<users::Entity>) -> Condition {
    let keys = page
        .select_only()
        .column_as(Expr::cust("\"users\".rowid"), "rowid")
        .into_query();
    Condition::all().add(Expr::cust("\"users\".rowid").in_subquery(keys))
}

/// The statement of a listing's page read through its filter (not the recent window), with
/// its offset and limit; when the FTS index reads the term, the page is chosen among the
/// candidates' keys first ([`rowid_in`]).
pub(super) fn index_page(
    backend: DbBackend,
    filter: Condition,
    q: &UserQuery,
) -> Select<users::Entity> {
    let page = page_query(backend, filter, q)
        .offset(q.page().offset())
        .limit(q.page().per_page());
    if reads_fts(backend, q) {
        page_query(backend, rowid_in(page), q)
    } else {
        page
    }
}

/// The statement of a page: the filter, the order, not yet the offset and limit.
pub(super) fn page_query(
    backend: DbBackend,
    filter: Condition,
    q: &UserQuery,
) -> Select<users::Entity> {
    let mut select = users::Entity::find().filter(filter);
    let term = q.search().and_then(SearchTerm::new);
    search::USERS.hint(backend, term.as_ref(), QuerySelect::query(&mut select));
    match q.sort() {
        UserSort::CreatedDesc => select
            .order_by_desc(users::Column::CreatedAt)
            .order_by_desc(users::Column::Id),
        UserSort::CreatedAsc => select
            .order_by_asc(users::Column::CreatedAt)
            .order_by_asc(users::Column::Id),
        UserSort::LastNameAsc => select
            .order_by_asc(users::Column::LastName)
            .order_by_asc(users::Column::Id),
        UserSort::LastNameDesc => select
            .order_by_desc(users::Column::LastName)
            .order_by_desc(users::Column::Id),
    }
}

/// A page of the program's users matching the query, and the total (PostgreSQL's term-only
/// listings are `narrow::list`'s).
pub(super) async fn list(
    store: &SqlStore,
    program: ProgramId,
    q: &UserQuery,
) -> Result<Page<User>, StorageError> {
    let backend = store.db.get_database_backend();
    let filter = user_filter(backend, program, q);
    // Unfiltered, the total comes from the program's counter shards (a table scan at a
    // million users costs ~200 ms); filtered, it is counted up to a cap.
    let unfiltered = q.email_key().is_none()
        && q.search().is_none()
        && q.status().is_none()
        && q.kyc_status().is_none();
    let (offset, per_page) = (q.page().offset(), q.page().per_page());
    // SQLite, newest first: the FTS index read down from its newest match, when that
    // settles the page (`walk`).
    let walked = match q.sort() {
        UserSort::CreatedDesc => store
            .walk_newest(
                &[program],
                q,
                Seek::First,
                &newest_first(),
                offset + per_page,
            )
            .await?
            .map(|rows| {
                rows.into_iter()
                    .skip(usize::try_from(offset).unwrap_or(usize::MAX))
                    .collect::<Vec<_>>()
            }),
        _ => None,
    };
    // SQLite only: PostgreSQL's term-only listings try the window in `narrow::list`.
    let recent = match recent_page(backend, program, q) {
        _ if walked.is_some() => walked,
        Some(recent) if backend == DbBackend::Sqlite => {
            let rows = recent.all(&store.db).await?;
            // Full within the newest users: the page. Otherwise the search index reads it.
            (rows.len() as u64 == per_page).then_some(rows)
        }
        _ => None,
    };
    let rows = match recent {
        Some(rows) => rows,
        None => {
            index_page(backend, filter.clone(), q)
                .all(&store.db)
                .await?
        }
    };
    let (total, total_is_estimate) = if unfiltered {
        (count_users(&store.db, program).await?, false)
    } else if q.page().offset() == 0 && (rows.len() as u64) < q.page().per_page() {
        // A first page that is not full holds every match: no second statement.
        (rows.len() as u64, false)
    } else {
        capped_count(store, program, filter, q).await?
    };
    let items = with_meta(&store.db, rows).await?;
    Ok(Page {
        items,
        total,
        total_is_estimate,
    })
}
