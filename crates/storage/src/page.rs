//! One page of a listing (in its own module: the repositories and the event log share it).

/// One page of a listing and the number of matches over all pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The page's items, in order.
    pub items: Vec<T>,
    /// Matches over all pages.
    pub total: u64,
}
