//! Issue 21 item 6: the operator console's queue and search pages at scale. The storage calls
//! each page makes, in the order its handler (`crates/api/src/console/`) makes them:
//!
//! - `/console/kyc?page=N`: `SqlStore::pending_kyc_cases((N-1)·25, 26)`, then `get_user` for
//!   each of the (up to) 25 rows shown;
//! - `/console/screening?page=N`: `SqlStore::screening_cases_page((N-1)·25, 26)`, then `get_user`
//!   for each of the (up to) 25 cases shown (the list entries come from the console's
//!   in-memory cache of the parsed list: not a database call once warm, not measured);
//! - `/console/users?q=T&program=P`: `list_programs`, then `list_users(P, page of 25, T)`;
//!   without a program: `list_programs`, then `list_users(p, first 10, T)` for every program.
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
    Along, Audit, OperatorAction, ProgramRepository as _, SqlStore, UserRepository as _,
};

use crate::{ms, people, time, verdict};

/// The console's page sizes (`layout::PER_PAGE`, `people::PER_PROGRAM`).
const PER_PAGE: u64 = 25;
const PER_PROGRAM: u64 = 10;

/// Every `PENDING_EVERY`-th seeded user is submitted for KYC (1 %).
pub(crate) const PENDING_EVERY: u32 = 100;
/// Every `OPEN_CASE_EVERY`-th of those is submitted with a potential match (an open case).
const OPEN_CASE_EVERY: usize = 10;

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

fn listing(page: u64, per_page: u64, term: Option<&str>) -> UserQuery {
    UserQuery::parse(&RawUserQuery {
        page: Some(page),
        per_page: Some(per_page),
        search: term.map(str::to_owned),
        ..RawUserQuery::default()
    })
    .unwrap()
}

/// `/console/kyc?page=N`'s storage calls; returns the rows shown.
async fn kyc_page(store: &SqlStore, page: u64, with_users: bool) -> usize {
    let cases = store
        .pending_kyc_cases((page - 1) * PER_PAGE, PER_PAGE + 1)
        .await
        .unwrap();
    if with_users {
        for &(program, id) in cases.iter().take(PER_PAGE as usize) {
            store.get_user(program, id).await.unwrap();
        }
    }
    cases.len().min(PER_PAGE as usize)
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

/// `/console/users?q=T[&program=P]`'s storage calls; returns the users shown.
async fn search_page(store: &SqlStore, filter: Option<ProgramId>, page: u64, term: &str) -> usize {
    let programs = store.list_programs().await.unwrap();
    let term = (!term.is_empty()).then_some(term);
    let (searched, query) = match filter {
        Some(p) => (vec![p], listing(page, PER_PAGE, term)),
        None => (
            programs.iter().map(|p| p.program_id).collect(),
            listing(1, PER_PROGRAM, term),
        ),
    };
    let mut shown = 0;
    for program in searched {
        shown += store.list_users(program, &query).await.unwrap().items.len();
    }
    shown
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
        kyc_page(store, 1, false).await,
        kyc_page(store, kyc_last, false).await,
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
    let cases: Vec<(String, u64, bool)> = vec![
        ("KYC queue query, page 1".to_owned(), 1, false),
        (
            format!("KYC queue query, last page {kyc_last}"),
            kyc_last,
            false,
        ),
        ("KYC queue page 1 (+25 get_user)".to_owned(), 1, true),
        (
            format!("KYC queue page {kyc_last} (+get_user)"),
            kyc_last,
            true,
        ),
    ];
    for (label, page, with_users) in cases {
        let s = store.clone();
        let p99 = time(&label, runs, move |_| {
            let s = s.clone();
            async move {
                kyc_page(&s, page, with_users).await;
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
    let searches: Vec<(String, Option<ProgramId>, u64, String)> = vec![
        (
            "users, program, no term".to_owned(),
            Some(program),
            1,
            String::new(),
        ),
        (
            "users, program, no term, page 1000".to_owned(),
            Some(program),
            1000,
            String::new(),
        ),
        (
            "users, program, selective".to_owned(),
            Some(program),
            1,
            selective.clone(),
        ),
        (
            "users, program, common".to_owned(),
            Some(program),
            1,
            common.to_owned(),
        ),
        (
            "users, program, short (ma)".to_owned(),
            Some(program),
            1,
            "ma".to_owned(),
        ),
        (
            "users, every program, no term".to_owned(),
            None,
            1,
            String::new(),
        ),
        (
            "users, every program, selective".to_owned(),
            None,
            1,
            selective,
        ),
        (
            "users, every program, common".to_owned(),
            None,
            1,
            common.to_owned(),
        ),
        (
            "users, every program, short (ma)".to_owned(),
            None,
            1,
            "ma".to_owned(),
        ),
    ];
    for (label, filter, page, term) in searches {
        let s = store.clone();
        let runs = if term.is_empty() { 200 } else { 100 };
        let p99 = time(&label, runs, move |_| {
            let (s, term) = (s.clone(), term.clone());
            async move {
                search_page(&s, filter, page, &term).await;
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
