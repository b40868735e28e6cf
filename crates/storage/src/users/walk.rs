//! SQLite: a search page read from the FTS index newest first, stopping early.
//!
//! FTS5 reads a match in descending rowid order lazily, and a user's rowid is its insertion
//! order. A page of a term's newest matches is then usually among the last few dozen matches
//! inserted: at 3M users, reading them takes ~1 ms where reading every match (6,169 for a
//! selective term) and sorting them by `created_at` takes ~35 ms. What makes it exact is the
//! bound kept by migration 21 in `users_insert_order`: `ordered` (every user was inserted
//! with a larger `(created_at, id)` than all before it, so no unread match can precede one
//! read), or else `lateness_ms`, D (a user inserted before another was created at most D
//! after it: when the walk down from the highest rowid has read `n` matches, every match it
//! has not read was created at most D after the oldest one it read, so a page whose last row
//! is newer than that by more than D is settled). Otherwise the walk goes deeper, and after
//! [`DEPTHS`] it gives up: the caller reads the index in full (an import of old users makes
//! D large; a deep page past a key walks past every newer match first).

use domain::search::SearchTerm;
use domain::{ProgramId, UserQuery};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait as _, Condition, ConnectionTrait as _, DbBackend, EntityTrait as _, Order,
    QueryFilter as _, QuerySelect as _, QueryTrait as _,
};

use super::order::with_attributes;
use crate::SqlStore;
use crate::entity::users;
use crate::error::StorageError;
use crate::keyset::{KeyOrder, Seek};
use crate::search;

/// How many matches each attempt reads, in pages of the caller's size: a page and its
/// neighbour's first row, then more as long as the bound does not settle the page.
const DEPTHS: [u64; 3] = [2, 8, 32];

/// The most matches a walk reads: a deep page (an offset into the API's listing) is read
/// through the index in full instead.
const MAX_WALKED: u64 = 4096;

/// Migration 21's bound: `ordered`, and D.
const BOUND: [&str; 2] = [
    "(SELECT ordered FROM users_insert_order WHERE id = 1)",
    "(SELECT lateness_ms FROM users_insert_order WHERE id = 1)",
];

/// What is known of the matches a walk has not read (those inserted before all it read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Bound {
    /// Every user was inserted with a larger key than all before it: each unread match's
    /// key is smaller than every key read.
    Ordered,
    /// Each unread match was created at most this many ms after the oldest match read.
    Lateness(i64),
    /// Nothing (migration 21's row is missing): only a walk that read every match settles.
    Unknown,
}

/// One match read by the walk: its rowid, its sort key, and whether it passes the other
/// filters (a match that does not still bounds the ones below it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Walked {
    pub(super) rowid: i64,
    pub(super) ms: i64,
    pub(super) id: String,
    pub(super) kept: bool,
}

/// Which of `walked` (the `n` highest-rowid matches, or all of them when fewer than `n`)
/// are the first `limit` in newest-first order, if the walk proves that no match below it
/// belongs there: their indexes in `walked`, newest first.
pub(super) fn settle(walked: &[Walked], n: u64, limit: u64, bound: Bound) -> Option<Vec<usize>> {
    let mut kept: Vec<usize> = (0..walked.len()).filter(|&i| walked[i].kept).collect();
    kept.sort_by(|&a, &b| (walked[b].ms, &walked[b].id).cmp(&(walked[a].ms, &walked[a].id)));
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let exhausted = (walked.len() as u64) < n;
    if !exhausted {
        let last = walked[*kept.get(limit.checked_sub(1)?)?].ms;
        let oldest = walked.iter().map(|w| w.ms).min()?;
        match bound {
            // Every unread match is older than every match read, the page's last included.
            Bound::Ordered => {}
            // Every unread match: created at most `oldest + lateness`, so strictly older
            // than the page's last row when this holds.
            Bound::Lateness(lateness) if last > oldest.saturating_add(lateness) => {}
            Bound::Lateness(_) | Bound::Unknown => return None,
        }
    }
    kept.truncate(limit);
    Some(kept)
}

impl SqlStore {
    /// SQLite, a term its FTS index reads, newest first (from the start, or past a key
    /// downwards): the first `limit` rows of `programs` matching `q` past the key, newest
    /// first, when walking the index down from its newest match settles them (see the
    /// module); `None` when it does not, or does not apply.
    pub(super) async fn walk_newest(
        &self,
        programs: &[ProgramId],
        q: &UserQuery,
        seek: Seek,
        order: &KeyOrder,
        limit: u64,
    ) -> Result<Option<Vec<users::Model>>, StorageError> {
        let backend = self.db.get_database_backend();
        let term = q.search().and_then(SearchTerm::new);
        let Some(term) = term.filter(|t| backend == DbBackend::Sqlite && !t.is_short()) else {
            return Ok(None);
        };
        if programs.is_empty() || order.read_order(seek) != Order::Desc {
            return Ok(None);
        }
        let ids: Vec<String> = programs.iter().map(|p| p.uuid().to_string()).collect();
        let filter = others(backend, &ids, q, seek, order);
        for depth in DEPTHS {
            let n = limit.saturating_mul(depth);
            if n > MAX_WALKED {
                break;
            }
            let stmt = users::Entity::find()
                .select_only()
                .column_as(Expr::cust("\"users\".rowid"), "rowid")
                .column(users::Column::CreatedAt)
                .column(users::Column::Id)
                .expr_as(Expr::case(filter.clone(), 1).finally(0), "kept")
                // The bound in the same statement, so of the same snapshot as the matches.
                .expr_as(Expr::cust(BOUND[0]), "ordered")
                .expr_as(Expr::cust(BOUND[1]), "lateness")
                .filter(search::USERS.fts_newest(&ids, &term, n))
                .into_query();
            let rows = self.db.query_all_raw(backend.build(&stmt)).await?;
            let mut bound = Bound::Unknown;
            let walked = rows
                .iter()
                .map(|r| {
                    bound = match (
                        r.try_get_by_index::<Option<i64>>(4)?,
                        r.try_get_by_index::<Option<i64>>(5)?,
                    ) {
                        (Some(1), _) => Bound::Ordered,
                        (_, Some(d)) => Bound::Lateness(d),
                        _ => Bound::Unknown,
                    };
                    Ok(Walked {
                        rowid: r.try_get_by_index(0)?,
                        ms: r.try_get_by_index(1)?,
                        id: r.try_get_by_index(2)?,
                        kept: r.try_get_by_index::<i32>(3)? == 1,
                    })
                })
                .collect::<Result<Vec<_>, StorageError>>()?;
            let Some(page) = settle(&walked, n, limit, bound) else {
                continue;
            };
            if page.is_empty() {
                return Ok(Some(Vec::new()));
            }
            // The page's rows by rowid alone (with the filters beside it, SQLite's planner
            // would rather range over the program's index: ~45 ms at 600k users).
            let rowids: Vec<i64> = page.iter().map(|&i| walked[i].rowid).collect();
            let marks = vec!["?"; rowids.len()].join(", ");
            let mut rows = users::Entity::find()
                .filter(Expr::cust_with_values(
                    format!("\"users\".rowid IN ({marks})"),
                    rowids,
                ))
                .all(&self.db)
                .await?;
            rows.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
            return Ok(Some(rows));
        }
        Ok(None)
    }
}

/// The filters of `q` other than its term, and the key of `seek`: checked on each match read.
fn others(
    backend: DbBackend,
    programs: &[String],
    q: &UserQuery,
    seek: Seek,
    order: &KeyOrder,
) -> Condition {
    let program = Condition::all().add(match programs {
        [one] => users::Column::ProgramId.eq(one.as_str()),
        _ => users::Column::ProgramId.is_in(programs.iter().map(String::as_str)),
    });
    let cond = with_attributes(program, q);
    match order.condition(backend, seek) {
        Some(past) => cond.add(past),
        None => cond,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(rowid: i64, ms: i64, kept: bool) -> Walked {
        Walked {
            rowid,
            ms,
            id: format!("{rowid:08}"),
            kept,
        }
    }

    #[test]
    fn a_page_settles_when_its_last_row_is_newer_than_anything_unread_can_be() {
        // Read down from rowid 10: created_at falls with the rowid.
        let walked: Vec<Walked> = (0..6).map(|k| w(10 - k, 100 - 10 * k, true)).collect();
        // The page of 3 ends at ms 80; unread matches are at most 50 + D.
        assert_eq!(
            settle(&walked, 6, 3, Bound::Lateness(0)),
            Some(vec![0, 1, 2])
        );
        assert_eq!(
            settle(&walked, 6, 3, Bound::Lateness(29)),
            Some(vec![0, 1, 2])
        );
        assert_eq!(
            settle(&walked, 6, 3, Bound::Lateness(30)),
            None,
            "an unread match could be at 80"
        );
        // The walk read every match (fewer than asked): whatever D.
        assert_eq!(settle(&walked, 7, 3, Bound::Unknown), Some(vec![0, 1, 2]));
        assert_eq!(
            settle(&walked, 7, 10, Bound::Unknown),
            Some((0..6).collect())
        );
    }

    #[test]
    fn a_late_insert_is_placed_by_its_key_and_filtered_matches_still_bound_the_rest() {
        // Rowid 9 was inserted late: created before rowid 8 and 7.
        let walked = vec![
            w(10, 100, true),
            w(9, 60, true),
            w(8, 90, false),
            w(7, 80, true),
            w(6, 40, false),
        ];
        // Newest first among the kept: 10 (100), 7 (80), 9 (60); unread ≤ 40 + D.
        assert_eq!(
            settle(&walked, 5, 3, Bound::Lateness(10)),
            Some(vec![0, 3, 1])
        );
        assert_eq!(settle(&walked, 5, 3, Bound::Lateness(20)), None);
        // Fewer kept than the page, and more may be unread: not settled.
        assert_eq!(settle(&walked, 5, 4, Bound::Lateness(0)), None);
        // Ties on created_at at the page's edge: an unread match may share it.
        let tied = vec![w(3, 50, true), w(2, 50, true), w(1, 50, true)];
        assert_eq!(settle(&tied, 3, 2, Bound::Lateness(0)), None);
        assert_eq!(settle(&tied, 4, 2, Bound::Lateness(0)), Some(vec![0, 1]));
        // Inserted in key order: the ties below are older (smaller ids) than those read.
        assert_eq!(settle(&tied, 3, 2, Bound::Ordered), Some(vec![0, 1]));
        assert_eq!(settle(&walked, 5, 3, Bound::Unknown), None);
        assert_eq!(
            settle(&walked, 5, 4, Bound::Ordered),
            None,
            "fewer kept than a page"
        );
    }
}
