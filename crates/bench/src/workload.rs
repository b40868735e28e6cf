//! What the load generator sends: unique valid create bodies, reads of seeded users, and the
//! mixes of the scenarios.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// xorshift64*: cheap, good enough to pick ids.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

const FIRST_NAMES: [&str; 10] = [
    "Alex", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery", "Quinn", "Drew",
];
const LAST_NAMES: [&str; 10] = [
    "Rivera",
    "Nguyen",
    "Smith",
    "Garcia",
    "Okafor",
    "Kowalski",
    "Haddad",
    "Lindqvist",
    "Tanaka",
    "Moreau",
];

/// The search text of the search scenario: one last name in ten matches.
pub(crate) const SEARCH_TERM: &str = "rivera";

/// A valid, issuable SSN unique for `k` (area 001–665, group 01–99, serial 0001–9999).
fn ssn(k: u64) -> (u64, u64, u64) {
    let serial = k % 9999 + 1;
    let group = (k / 9999) % 99 + 1;
    let area = (k / (9999 * 99)) % 665 + 1;
    (area, group, serial)
}

/// The body of a create with email, username and SSN unique for `k` (within a program);
/// shaped like `examples/create-user.json`.
pub(crate) fn create_body(k: u64, out: &mut Vec<u8>) {
    let first = FIRST_NAMES[usize::try_from(k % 10).unwrap_or(0)];
    let last = LAST_NAMES[usize::try_from((k / 10) % 10).unwrap_or(0)];
    let (area, group, serial) = ssn(k);
    let phone = k % 10_000;
    let _ = write!(
        out,
        concat!(
            r#"{{"email":"bench{k}@example.com","first_name":"{first}","middle_name":"","#,
            r#""last_name":"{last}","phone_number":"+1555555{phone:04}","postal_code":"30044","#,
            r#""country":"US","state":"TX","city":"Anytown","address_one":"100 Innovation Way","#,
            r#""address_two":"Suite 100","username":"bench{k}","date_of_birth":"1980-04-20","#,
            r#""ssn":"{area:03}-{group:02}-{serial:04}","terms_accepted":true,"#,
            r#""meta_data":[{{"name":"external_ref","value":"customer-{k}"}}]}}"#
        ),
        k = k,
        first = first,
        last = last,
        phone = phone,
        area = area,
        group = group,
        serial = serial,
    );
}

/// The requests of a scenario.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `POST /user/create` with a unique user.
    Create,
    /// `POST /user/get` of a random seeded user.
    GetById,
    /// `POST /user/get-all` page 1 (10 per page).
    GetAll,
    /// `POST /user/get-all` with a substring search.
    Search,
    /// 80 % get-by-id, 20 % create.
    Mixed,
    /// The bare endpoint (a small JSON answer, no database), with a get-by-id-sized body.
    Bare,
}

impl Kind {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::GetById => "get by id",
            Self::GetAll => "get-all page 1",
            Self::Search => "search",
            Self::Mixed => "mixed 80/20",
            Self::Bare => "bare actix JSON",
        }
    }
}

/// A scenario's request source, shared by its connections.
pub(crate) struct Workload {
    kind: Kind,
    /// The next unique number for a create (shared by every scenario on one program).
    next_user: Arc<AtomicU64>,
    /// Ids to read.
    ids: Arc<Vec<String>>,
}

pub(crate) const CREATE_PATH: &str = "/api/v3/user/create";
const GET_PATH: &str = "/api/v3/user/get";
const GET_ALL_PATH: &str = "/api/v3/user/get-all";
pub(crate) const BARE_PATH: &str = "/api/v3/bare";

impl Workload {
    pub(crate) fn new(kind: Kind, next_user: Arc<AtomicU64>, ids: Arc<Vec<String>>) -> Self {
        Self {
            kind,
            next_user,
            ids,
        }
    }

    fn get_body(&self, rng: &mut Rng, out: &mut Vec<u8>) {
        let id = if self.ids.is_empty() {
            "user-00000000-0000-7000-8000-000000000000"
        } else {
            &self.ids[rng.below(self.ids.len())]
        };
        let _ = write!(out, r#"{{"user_id":"{id}"}}"#);
    }

    fn create(&self, out: &mut Vec<u8>) -> (&'static str, bool) {
        create_body(self.next_user.fetch_add(1, Ordering::Relaxed), out);
        (CREATE_PATH, true)
    }

    /// Writes the next request's body into `out`; returns its path and whether it creates.
    pub(crate) fn next(&self, rng: &mut Rng, out: &mut Vec<u8>) -> (&'static str, bool) {
        match self.kind {
            Kind::Create => self.create(out),
            Kind::GetById => {
                self.get_body(rng, out);
                (GET_PATH, false)
            }
            Kind::GetAll => {
                out.extend_from_slice(br#"{"page":1,"per_page":10}"#);
                (GET_ALL_PATH, false)
            }
            Kind::Search => {
                let _ = write!(
                    out,
                    r#"{{"page":1,"per_page":10,"search":"{SEARCH_TERM}"}}"#
                );
                (GET_ALL_PATH, false)
            }
            Kind::Mixed => {
                if rng.below(5) == 0 {
                    self.create(out)
                } else {
                    self.get_body(rng, out);
                    (GET_PATH, false)
                }
            }
            Kind::Bare => {
                self.get_body(rng, out);
                (BARE_PATH, false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssns_are_issuable_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for k in (0..2_000_000u64).step_by(997) {
            let (a, g, s) = ssn(k);
            assert!((1..=665).contains(&a) && a != 666 && (1..=99).contains(&g));
            assert!((1..=9999).contains(&s));
            assert!(seen.insert((a, g, s)));
        }
    }

    #[test]
    fn a_create_body_is_json() {
        let mut out = Vec::new();
        create_body(123_456, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(v["email"], "bench123456@example.com");
        assert_eq!(v["ssn"], "001-13-3469");
    }
}
