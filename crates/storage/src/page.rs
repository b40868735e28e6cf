//! One page of a listing (in its own module: the repositories and the event log share it).

/// One page of a listing and the number of matches over all pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The page's items, in order.
    pub items: Vec<T>,
    /// Matches over all pages; with `total_is_estimate`, a lower bound
    /// ([`crate::repo::COUNTED_TOTAL_CAP`]).
    pub total: u64,
    /// More than [`crate::repo::COUNTED_TOTAL_CAP`] items match a filtered listing: `total` is
    /// that cap, not an exact count (counting them all would read every match).
    pub total_is_estimate: bool,
}
