//! Issue 21 item 6: the operator console's queue and search pages at scale. The storage calls
//! each page makes, in the order its handler (`crates/api/src/console/`) makes them:
//!
//! - `/console/kyc[?after=K|?before=K]`: `SqlStore::pending_kyc_page(seek, 25)` (keyset: the
//!   page's keys along the queue's index, then its users and their meta_data; the last page is
//!   measured as `Before` a key past the end);
//! - `/console/screening?page=N`: `SqlStore::screening_cases_page((N-1)·25, 26)`, then `get_user`
//!   for each of the (up to) 25 cases shown (the list entries come from the console's
//!   in-memory cache of the parsed list: not a database call once warm, not measured);
//! - `/console/users?q=T[&program=P]`: `list_programs`, then `search_users` over P or every
//!   program (one statement, a branch per program), 25 newest first; a deep page is measured
//!   as the last one (`Before` a key past the end).
//!
//! The seed makes ~1 % of users pending KYC through `change_user(SubmitKyc)` (the
//! repository's path of `send-verification-request`), and a tenth of those (~0.1 % of users)
//! an open sanctions case, by submitting them with a `potential_match` screening along
//! against a loaded list (the small test list of `screening/small`).

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::screening::{ScreeningStatus, parse_sdn};
use domain::{ProgramId, RawUserQuery, UserChange, UserId, UserQuery};
use storage::screening::{ListFiles, Loaded, MatchedEntry, ScreeningWrite, Trigger};
use storage::{
    Along, Audit, OperatorAction, PageKey, ProgramRepository as _, Seek, SqlStore,
    UserRepository as _,
};

use crate::{ms, people, time, verdict};

/// The console's page size (`layout::PER_PAGE`).
const PER_PAGE: u64 = 25;

/// A key after every row: `Before(END)` reads a list's last page.
const END: PageKey = PageKey {
    ms: i64::MAX,
    id: uuid::Uuid::max(),
};

/// Every `PENDING_EVERY`-th seeded user is submitted for KYC (1 %).
pub(crate) const PENDING_EVERY: u32 = 100;
/// Every `OPEN_CASE_EVERY`-th of those is submitted with a potential match (an open case).
pub(crate) const OPEN_CASE_EVERY: usize = 10;

fn list_files() -> ListFiles {
    let read = |f: &str| {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../screening/small")
                .join(f),
        )
        .unwrap()
    };
    ListFiles {
        sdn: read("sdn.csv"),
        alt: read("alt.csv"),
        add: read("add.csv"),
    }
}

/// Submits the chosen users for KYC through the repository; every tenth with a potential
/// match (an open sanctions case). Returns (pending, open cases).
pub(crate) async fn seed(store: &Arc<SqlStore>, chosen: &[(ProgramId, UserId)]) -> (usize, usize) {
    let files = list_files();
    let parsed = parse_sdn(&files.sdn, &files.alt, &files.add);
    let now = Utc::now();
    let Loaded::New(list) = store
        .load_screening_list(
            &files,
            &parsed.report,
            &OperatorAction::new("bench", "screening load"),
            now,
        )
        .await
        .unwrap()
    else {
        panic!("a fresh database already had this list")
    };
    // 8 concurrent submitters (the pool has 16 connections).
    let chunks: Vec<Vec<(usize, (ProgramId, UserId))>> = {
        let all: Vec<_> = chosen.iter().copied().enumerate().collect();
        all.chunks(chosen.len().div_ceil(8).max(1))
            .map(<[_]>::to_vec)
            .collect()
    };
    let tasks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            let store = store.clone();
            tokio::spawn(async move {
                let (mut pending, mut open) = (0, 0);
                for (k, (program, user)) in chunk {
                    let potential = k % OPEN_CASE_EVERY == 0;
                    let outcome = if potential {
                        ScreeningStatus::PotentialMatch
                    } else {
                        ScreeningStatus::Clear
                    };
                    let mut along = Along::nothing();
                    along.screening = Some(ScreeningWrite {
                        user,
                        list_id: list.id,
                        trigger: Trigger::Submission,
                        best: potential.then(|| MatchedEntry {
                            score: 0.97,
                            entry_number: 15102,
                            entry_name: "MORENO, Daniel".to_owned(),
                        }),
                        outcome,
                        actor: "api_key:bench".to_owned(),
                        at: Utc::now(),
                    });
                    let audit = Audit {
                        actor: "api_key:bench",
                        reason: None,
                    };
                    // A person the generator made without what KYC requires is refused: skipped
                    // (the count of those submitted is printed).
                    match store
                        .change_user(
                            program,
                            user,
                            UserChange::SubmitKyc,
                            audit,
                            Utc::now(),
                            along,
                        )
                        .await
                    {
                        Ok(storage::Outcome::Written(_)) => {
                            pending += 1;
                            open += usize::from(potential);
                        }
                        Ok(_) => {}
                        Err(e) => {
                            if pending == 0 {
                                println!("  refused: {e}");
                            }
                        }
                    }
                }
                (pending, open)
            })
        })
        .collect();
    let (mut pending, mut open) = (0, 0);
    for t in tasks {
        let (p, o) = t.await.unwrap();
        pending += p;
        open += o;
    }
    (pending, open)
}

fn listing(term: Option<&str>) -> UserQuery {
    UserQuery::parse(&RawUserQuery {
        search: term.map(str::to_owned),
        ..RawUserQuery::default()
    })
    .unwrap()
}

/// The seek of the first page, or of the last.
fn seek(last: bool) -> Seek {
    if last { Seek::Before(END) } else { Seek::First }
}

/// `/console/kyc`'s storage call (the first or the last page); returns the rows shown.
async fn kyc_page(store: &SqlStore, last: bool) -> usize {
    store
        .pending_kyc_page(seek(last), PER_PAGE)
        .await
        .unwrap()
        .items
        .len()
}

/// `/console/screening?page=N`'s storage calls; returns the cases shown.
async fn screening_page(store: &SqlStore, page: u64, with_users: bool) -> usize {
    let skip = (page - 1) * PER_PAGE;
    let cases = store
        .screening_cases_page(skip, PER_PAGE + 1)
        .await
        .unwrap();
    let shown: Vec<_> = cases.into_iter().take(PER_PAGE as usize).collect();
    if with_users {
        for case in &shown {
            store.get_user(case.program, case.user).await.unwrap();
        }
    }
    shown.len()
}

/// `/console/users?q=T[&program=P]`'s storage calls (the first or the last page); returns
/// the users shown.
async fn search_page(store: &SqlStore, filter: Option<ProgramId>, last: bool, term: &str) -> usize {
    let programs = store.list_programs().await.unwrap();
    let term = (!term.is_empty()).then_some(term);
    let searched: Vec<ProgramId> = match filter {
        Some(p) => vec![p],
        None => programs.iter().map(|p| p.program_id).collect(),
    };
    store
        .search_users(&searched, &listing(term), seek(last), PER_PAGE)
        .await
        .unwrap()
        .items
        .len()
}

/// Measures the console's pages; prints p50/p99 and the verdicts against p99 < 50 ms.
pub(crate) async fn measure(
    store: &Arc<SqlStore>,
    backend: &str,
    count: u32,
    program: ProgramId,
    seeded: (usize, usize),
) {
    let (pending, open) = seeded;
    let kyc_last = (pending as u64).div_ceil(PER_PAGE).max(1);
    let screening_last = (open as u64).div_ceil(PER_PAGE).max(1);
    println!(
        "\nconsole (issue 21): {pending} users pending KYC ({:.2} % of {} users), {open} open sanctions cases",
        100.0 * pending as f64 / (3.0 * f64::from(count)),
        3 * u64::from(count)
    );
    let shown = (
        kyc_page(store, false).await,
        kyc_page(store, true).await,
        screening_page(store, 1, false).await,
        screening_page(store, screening_last, false).await,
    );
    println!(
        "  KYC queue: page 1 shows {}, last page ({kyc_last}) shows {}; sanctions queue: page 1 shows {}, last page ({screening_last}) shows {}",
        shown.0, shown.1, shown.2, shown.3
    );
    let common = people::LAST_C[0];
    let selective = people::last_name(count + 7);
    let mut results: Vec<(String, Duration)> = Vec::new();
    let runs = 200;
    let cases: Vec<(String, bool)> = vec![
        ("KYC queue page 1 (keys, users)".to_owned(), false),
        (format!("KYC queue last page ({kyc_last})"), true),
    ];
    for (label, last) in cases {
        let s = store.clone();
        let p99 = time(&label, runs, move |_| {
            let s = s.clone();
            async move {
                kyc_page(&s, last).await;
            }
        })
        .await;
        results.push((label, p99));
    }
    let cases: Vec<(String, u64, bool)> = vec![
        ("sanctions queue query, page 1".to_owned(), 1, false),
        (
            format!("sanctions queue query, last page {screening_last}"),
            screening_last,
            false,
        ),
        ("sanctions queue page 1 (+get_user)".to_owned(), 1, true),
        (
            format!("sanctions queue page {screening_last} (+get_user)"),
            screening_last,
            true,
        ),
    ];
    for (label, page, with_users) in cases {
        let s = store.clone();
        let p99 = time(&label, runs, move |_| {
            let s = s.clone();
            async move {
                screening_page(&s, page, with_users).await;
            }
        })
        .await;
        results.push((label, p99));
    }
    let searches: Vec<(String, Option<ProgramId>, bool, String)> = vec![
        (
            "users, program, no term".to_owned(),
            Some(program),
            false,
            String::new(),
        ),
        (
            "users, program, no term, last page".to_owned(),
            Some(program),
            true,
            String::new(),
        ),
        (
            "users, program, selective".to_owned(),
            Some(program),
            false,
            selective.clone(),
        ),
        (
            "users, program, common".to_owned(),
            Some(program),
            false,
            common.to_owned(),
        ),
        (
            "users, program, short (ma)".to_owned(),
            Some(program),
            false,
            "ma".to_owned(),
        ),
        (
            "users, every program, no term".to_owned(),
            None,
            false,
            String::new(),
        ),
        (
            "users, every program, selective".to_owned(),
            None,
            false,
            selective,
        ),
        (
            "users, every program, common".to_owned(),
            None,
            false,
            common.to_owned(),
        ),
        (
            "users, every program, short (ma)".to_owned(),
            None,
            false,
            "ma".to_owned(),
        ),
    ];
    for (label, filter, last, term) in searches {
        let s = store.clone();
        let runs = if term.is_empty() { 200 } else { 100 };
        let p99 = time(&label, runs, move |_| {
            let (s, term) = (s.clone(), term.clone());
            async move {
                search_page(&s, filter, last, &term).await;
            }
        })
        .await;
        results.push((label, p99));
    }
    let target = Duration::from_millis(50);
    println!(
        "\ntarget (issue 21 item 6) on {backend} at {count} users per program: p99 < 50 ms (load average {})",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split(' ')
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    for (label, p99) in &results {
        println!(
            "  {label:<44} {:>9.2} ms — {}",
            ms(*p99),
            verdict(*p99 < target)
        );
    }
}
