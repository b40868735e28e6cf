//! One page of a listing (in its own module: the repositories and the event log share it).

/// One page of a listing and the number of matches over all pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The page's items, in order.
    pub items: Vec<T>,
    /// Matches over all pages; with `total_is_estimate`, a lower bound
    /// ([`COUNTED_TOTAL_CAP`]).
    pub total: u64,
    /// More than [`COUNTED_TOTAL_CAP`] items match a filtered listing: `total` is
    /// that cap, not an exact count (counting them all would read every match).
    pub total_is_estimate: bool,
}

/// The most matches a filtered listing counts exactly; past it, the total is this cap and
/// [`Page::total_is_estimate`] is set. Unfiltered listings are always exact (counter shards).
///
/// A count costs a read of each match it counts (a trigram match is rechecked against its
/// row), so the cap bounds what a search's total costs: at 1M users per program on
/// PostgreSQL a common term's total took 142.8 ms p99 at 10,000 (docs/bench-users.md). A
/// dashboard shows "1,000+" past it, as code hosts' searches do; the pages themselves go on.
pub const COUNTED_TOTAL_CAP: u64 = 1_000;
