//! Keyset pagination: a page starts after (or ends before) the key of a row the reader saw,
//! instead of skipping rows with `OFFSET`, so every page costs the same whatever its depth and
//! reads one range of an index that serves the order. A key is a row's sort value (epoch
//! milliseconds) and its id (a UUID, the tie-breaker); the console's lists order by such a
//! pair. Rows that move (a case claimed, a delivery failed) between two pages may shift, but a
//! page never repeats or skips a row that stayed where it was.

use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{Condition, DbBackend, Order};

/// Most rows one keyset page holds.
pub const MAX_KEYSET_PAGE: u64 = 100;

/// A row's place in a keyset order: its sort value and its id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PageKey {
    /// The sort value (epoch milliseconds).
    pub ms: i64,
    /// The row's id (ties broken by it).
    pub id: uuid::Uuid,
}

impl PageKey {
    /// The key as a URL carries it: `<ms>.<uuid>`.
    pub fn token(&self) -> String {
        format!("{}.{}", self.ms, self.id.simple())
    }

    /// Parses [`Self::token`]; anything else is `None`.
    pub fn parse(token: &str) -> Option<Self> {
        let (ms, id) = token.split_once('.')?;
        if id.len() != 32 {
            return None;
        }
        Some(Self {
            ms: ms.parse().ok()?,
            id: uuid::Uuid::try_parse(id).ok()?,
        })
    }
}

/// Where a page is: the first one, the rows after a key (next), or the rows before one
/// (previous).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Seek {
    /// From the start of the order.
    #[default]
    First,
    /// The rows after this key, in the list's order.
    After(PageKey),
    /// The rows before this key, in the list's order.
    Before(PageKey),
}

/// One keyset page: its rows in the list's order, and the keys of the neighbouring pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeysetPage<T> {
    /// The rows.
    pub items: Vec<T>,
    /// `Seek::Before(previous)` reads the page before, if there is one.
    pub previous: Option<PageKey>,
    /// `Seek::After(next)` reads the page after, if there is one.
    pub next: Option<PageKey>,
}

impl<T> KeysetPage<T> {
    /// The same page with its rows mapped (the keys stay).
    pub fn try_map<U, E>(self, f: impl FnMut(T) -> Result<U, E>) -> Result<KeysetPage<U>, E> {
        Ok(KeysetPage {
            items: self.items.into_iter().map(f).collect::<Result<_, _>>()?,
            previous: self.previous,
            next: self.next,
        })
    }
}

/// A list's keyset order: its sort column, its id column, and its direction.
#[derive(Clone, Debug)]
pub(crate) struct KeyOrder {
    /// The sort value's column.
    pub(crate) ms: Expr,
    /// The id column.
    pub(crate) id: Expr,
    /// Newest (largest) first.
    pub(crate) descending: bool,
}

impl KeyOrder {
    /// Whether rows are read in the list's reverse order (a previous page is read backwards
    /// from its key, then turned round).
    pub(crate) fn reads_backwards(seek: Seek) -> bool {
        matches!(seek, Seek::Before(_))
    }

    /// The direction rows are read in for `seek`.
    pub(crate) fn read_order(&self, seek: Seek) -> Order {
        if self.descending == Self::reads_backwards(seek) {
            Order::Asc
        } else {
            Order::Desc
        }
    }

    /// The condition of the rows strictly beyond the key of `seek` in the reading direction.
    /// PostgreSQL and SQLite compare row values, `(ms, id) > (k, i)`, which both read as one
    /// range of an index on `(…, ms, id)`. MariaDB's optimizer does not range-scan a row
    /// comparison, so there it is `ms ≥ k AND (ms > k OR id > i)`: the sort column's bound is
    /// the range, the id settles ties (its index entries end with the primary key).
    pub(crate) fn condition(&self, backend: DbBackend, seek: Seek) -> Option<Condition> {
        let key = match seek {
            Seek::First => return None,
            Seek::After(k) | Seek::Before(k) => k,
        };
        let id = key.id.to_string();
        let upwards = self.read_order(seek) == Order::Asc;
        if backend != DbBackend::MySql {
            let row = Expr::tuple([self.ms.clone(), self.id.clone()]);
            let at = Expr::tuple([Expr::val(key.ms), Expr::val(id)]);
            let beyond = if upwards { row.gt(at) } else { row.lt(at) };
            return Some(Condition::all().add(beyond));
        }
        let (bound, beyond, past): (Expr, Expr, Expr) = if upwards {
            (
                self.ms.clone().gte(key.ms),
                self.ms.clone().gt(key.ms),
                self.id.clone().gt(id),
            )
        } else {
            (
                self.ms.clone().lte(key.ms),
                self.ms.clone().lt(key.ms),
                self.id.clone().lt(id),
            )
        };
        Some(
            Condition::all()
                .add(bound)
                .add(Condition::any().add(beyond).add(past)),
        )
    }
}

/// The page size asked for, bounded to 1..=[`MAX_KEYSET_PAGE`].
pub(crate) fn bounded(per_page: u64) -> u64 {
    per_page.clamp(1, MAX_KEYSET_PAGE)
}

/// A page from the rows read for `seek` (at most `per_page + 1`, in the reading direction):
/// the extra row only tells that there is more that way.
pub(crate) fn finish<T>(
    mut rows: Vec<T>,
    per_page: u64,
    seek: Seek,
    key: impl Fn(&T) -> PageKey,
) -> KeysetPage<T> {
    let per_page = usize::try_from(bounded(per_page)).unwrap_or(usize::MAX);
    let more = rows.len() > per_page;
    rows.truncate(per_page);
    let backwards = KeyOrder::reads_backwards(seek);
    if backwards {
        rows.reverse();
    }
    let first = rows.first().map(&key);
    let last = rows.last().map(&key);
    let (previous, next) = match seek {
        Seek::First => (None, last.filter(|_| more)),
        // Rows after a key have at least that key's row before them.
        Seek::After(_) => (first, last.filter(|_| more)),
        // Rows before a key have at least that key's row after them.
        Seek::Before(_) => (first.filter(|_| more), last),
    };
    KeysetPage {
        items: rows,
        previous,
        next,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(ms: i64) -> PageKey {
        PageKey {
            ms,
            id: uuid::Uuid::from_u128(u128::try_from(ms).unwrap()),
        }
    }

    #[test]
    fn tokens_round_trip_and_refuse_anything_else() {
        let k = PageKey {
            ms: 1_700_000_000_123,
            id: uuid::Uuid::now_v7(),
        };
        assert_eq!(PageKey::parse(&k.token()), Some(k));
        for bad in ["", "12", "12.", ".abc", "x.0000", "12.not-a-uuid"] {
            assert_eq!(PageKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_page_knows_its_neighbours() {
        // Rows 1..=3 read after the start, two a page: more after.
        let first = finish(vec![key(1), key(2), key(3)], 2, Seek::First, |k| *k);
        assert_eq!(first.items, vec![key(1), key(2)]);
        assert_eq!((first.previous, first.next), (None, Some(key(2))));
        // The last page after a key: nothing more after, the key's row before.
        let last = finish(vec![key(3)], 2, Seek::After(key(2)), |k| *k);
        assert_eq!((last.previous, last.next), (Some(key(3)), None));
        // Read backwards before key 3: rows 2, 1 and more before them.
        let back = finish(vec![key(2), key(1), key(0)], 2, Seek::Before(key(3)), |k| {
            *k
        });
        assert_eq!(back.items, vec![key(1), key(2)]);
        assert_eq!((back.previous, back.next), (Some(key(1)), Some(key(2))));
        // Nothing left before a key (its rows went away): no neighbour to name.
        let none = finish(Vec::<PageKey>::new(), 2, Seek::Before(key(1)), |k| *k);
        assert_eq!((none.previous, none.next), (None, None));
    }

    #[test]
    fn the_reading_direction_follows_the_seek() {
        let order = KeyOrder {
            ms: Expr::col(sea_orm::sea_query::Alias::new("t")),
            id: Expr::col(sea_orm::sea_query::Alias::new("id")),
            descending: true,
        };
        assert_eq!(order.read_order(Seek::First), Order::Desc);
        assert_eq!(order.read_order(Seek::After(key(1))), Order::Desc);
        assert_eq!(order.read_order(Seek::Before(key(1))), Order::Asc);
        assert!(order.condition(DbBackend::Sqlite, Seek::First).is_none());
        assert_eq!(bounded(0), 1);
        assert_eq!(bounded(10_000), MAX_KEYSET_PAGE);
    }
}
