//! The rescreen rate (issue 20): COUNT submitted users (ordinary generated names, seeded through
//! `SqlStore::bulk_create_users`, marked KYC-requested in one statement, then `ANALYZE` on
//! PostgreSQL), the full SDN list (`screening/sdn`) loaded as a new version, then the service's
//! own rescreen (`api::screening::rescreen`: batches claimed in id order under the lease, each
//! batch's users read in two statements, screened on a blocking thread while the batch before
//! is written with multi-row statements: its `screenings`, `screening_subjects`,
//! `users.screening_status`, `user_events` rows and, for a potential match, its outbox event)
//! timed to the end. Then the same for a list update (the list with one alias more), where
//! almost every user's status stays as it was.
//!
//! Run: `cargo xtask bench screening [COUNT] [sqlite|postgres]` (default 100,000 on SQLite;
//! PostgreSQL from `ONBOARD_TEST_POSTGRES_URL`), after the domain's screening benchmark.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss
)]

use std::path::PathBuf;
use std::time::Instant;

use api::clock::SystemClock;
use api::screening::{Screener, load_dir, read_dir, rescreen};
use chrono::Utc;
use domain::fixtures::SeedUser;
use domain::fixtures::screening::ordinary_names;
use domain::screening::{DEFAULT_REVIEW_THRESHOLD, parse_sdn};
use domain::{NewUser, ParseContext, UserId};
use storage::testing::{Backend, TestDatabase};
use storage::{
    DatabaseConfig, Keyring, OperatorAction, ProgramRepository as _, SecretKey, SqlStore,
};

const SEED_BATCH: usize = 1000;

/// The `n`-th seeded user, named `name` ("First Last").
fn seed_user(n: u32, name: &str, ctx: ParseContext) -> (UserId, NewUser) {
    let (first, last) = name.rsplit_once(' ').unwrap();
    // The fixtures' SSNs are unique below 801,000 (areas 100–599); past that, areas 600–665
    // (a submitted user holds an SSN: KYC needs one).
    let seed = SeedUser::new(n).last_name(last);
    let seed = match n.checked_sub(800_000) {
        None => seed,
        Some(m) => seed.ssn(format!(
            "{:03}-{:02}-{:04}",
            600 + m % 66,
            10 + (m / 66) % 89,
            1000 + (m / (66 * 89)) % 9000
        )),
    };
    let mut raw = seed.raw();
    raw.first_name = Some(first.to_owned());
    (
        UserId::from_uuid(uuid::Uuid::now_v7()),
        NewUser::parse(&raw, ctx).unwrap(),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut count: usize = 100_000;
    let mut backend = Backend::Sqlite;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "sqlite" => backend = Backend::Sqlite,
            "postgres" => backend = Backend::Postgres,
            n => {
                count = n
                    .replace('_', "")
                    .parse()
                    .expect("COUNT, sqlite or postgres");
            }
        }
    }
    let db = TestDatabase::create(backend)
        .await
        .unwrap()
        .expect("ONBOARD_TEST_POSTGRES_URL is not set");
    let keys = Keyring::new(
        [("k1".to_owned(), SecretKey::generate().unwrap())],
        "k1",
        SecretKey::generate().unwrap(),
    )
    .unwrap();
    let mut config = DatabaseConfig::new(db.url.clone());
    config.max_connections = 8;
    // Seeding inserts in large transactions; what is measured is the rescreen's own work.
    config.statement_timeout = std::time::Duration::ZERO;
    let store = SqlStore::open(&config, keys)
        .await
        .unwrap()
        .with_event_views(api::event_views::store_views());
    let now = Utc::now();
    let program = store
        .create_program("rescreen", now)
        .await
        .unwrap()
        .program_id;

    println!("## Rescreen, {backend:?}, {count} submitted users\n");
    let names = ordinary_names(count, 20);
    let ctx = ParseContext::new(now.date_naive());
    let started = Instant::now();
    for (b, chunk) in names.chunks(SEED_BATCH).enumerate() {
        let users: Vec<(UserId, NewUser)> = chunk
            .iter()
            .enumerate()
            .map(|(i, name)| seed_user(u32::try_from(b * SEED_BATCH + i + 1).unwrap(), name, ctx))
            .collect();
        store.bulk_create_users(program, &users, now).await.unwrap();
    }
    let submitted = store.seed_kyc_requested(program).await.unwrap();
    store.analyze().await.unwrap();
    println!(
        "seeded {submitted} submitted users in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../screening/sdn");
    let action = OperatorAction::new("bench", "screening load");
    let (loaded, report) = load_dir(&store, &dir, &action, Utc::now()).await.unwrap();
    let screener = Screener::new(DEFAULT_REVIEW_THRESHOLD);
    let t = Instant::now();
    screener.refresh(&store).await.unwrap();
    println!(
        "list {:?}: {} entries; index built in {:.2} s",
        matches!(loaded, storage::screening::Loaded::New(_)),
        report.entries,
        t.elapsed().as_secs_f64()
    );

    let first = timed_rescreen(&store, &screener, "the first list", count).await;
    let one_million = 1_000_000.0 / first;
    println!("at this rate 1,000,000 users take {one_million:.0} s");

    // A list update: the same list with one alias more, a new version; the statuses of all
    // but a few users stay as they were (no `users.screening_status` to change).
    let mut files = read_dir(&dir).unwrap();
    files
        .alt
        .extend_from_slice(b"\n15102,1,\"aka\",\"MORENO, Dan\",-0- ");
    let parsed = parse_sdn(&files.sdn, &files.alt, &files.add);
    store
        .load_screening_list(&files, &parsed.report, &action, Utc::now())
        .await
        .unwrap();
    screener.refresh(&store).await.unwrap();
    let second = timed_rescreen(&store, &screener, "a list update", count).await;
    println!(
        "at this rate 1,000,000 users take {:.0} s",
        1_000_000.0 / second
    );
    drop(store);
    db.drop_database().await;
}

/// Runs the service's rescreen against the current list, prints its rate and returns it.
async fn timed_rescreen(store: &SqlStore, screener: &Screener, what: &str, count: usize) -> f64 {
    let list = screener.active().unwrap().version.id;
    let t = Instant::now();
    let done = rescreen(store, screener, "bench", &SystemClock)
        .await
        .unwrap();
    let secs = t.elapsed().as_secs_f64();
    let matches = store
        .count_raw(&format!(
            "SELECT COUNT(*) FROM screenings WHERE outcome = 'potential_match' AND list_id = '{list}'"
        ))
        .await
        .unwrap();
    let events = store
        .count_raw(
            "SELECT COUNT(*) FROM events WHERE event_type = 'user.screening.potential_match'",
        )
        .await
        .unwrap();
    let rate = done as f64 / secs;
    println!(
        "{what}: rescreened {done} users in {secs:.1} s: **{rate:.0} users/s** ({matches} potential matches; {events} events in all)"
    );
    assert_eq!(done, count, "every submitted user is rescreened once");
    rate
}
