//! Sanctions screening (SPEC §8), pure: the OFAC SDN list parsed from its CSV files
//! ([`parse_sdn`]), names prepared ([`PreparedName`]) and scored by best-pairs Jaro-Winkler
//! ([`best_pairs_jaro_winkler`]), dates of birth that lower a score ([`ListedDob`]), and an
//! index that screens a person against every individual's names and aliases through blocking
//! ([`ScreeningIndex`]). Reading the files, storing versions and cases is the caller's.

mod dob;
mod index;
mod list;
mod outcome;
mod prepare;
mod score;

pub use dob::{CIRCA_YEARS, DOB_CONTRADICTION_FACTOR, ListedDob, contradicts};
pub use index::{Hit, PersonQuery, ScreeningIndex};
pub use list::{
    EntryKind, ListEntry, ListFile, ListReport, SdnList, SkipReason, Skipped, parse_sdn,
};
pub use outcome::{DEFAULT_REVIEW_THRESHOLD, ScreeningDecision, ScreeningStatus, UnknownToken};
pub use prepare::PreparedName;
pub use score::best_pairs_jaro_winkler;
