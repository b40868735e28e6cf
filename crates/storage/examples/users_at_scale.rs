//! Seeds a fresh PostgreSQL database with many users through the repository's bulk path, shows
//! the query plans of page 1 and of an email lookup, and prints latency figures for page 1,
//! page 1000, an email lookup and a search. Run by `cargo xtask bench users [COUNT]` with
//! `ONBOARD_TEST_POSTGRES_URL` set.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    clippy::too_many_lines
)]

use std::time::{Duration, Instant};

use chrono::Utc;
use domain::fixtures::SeedUser;
use domain::{NewUser, ParseContext, RawNewUser, RawUserQuery, UserId, UserQuery};
use sea_orm::{ConnectionTrait as _, Statement};
use storage::testing::{Backend, TestDatabase};
use storage::{Keyring, ProgramRepository as _, SecretKey, UserRepository as _};

const LAST_NAMES: [&str; 8] = [
    "Rivera", "Smith", "Nguyen", "Garcia", "Okafor", "Müller", "Kowalski", "Tanaka",
];

/// Seed user `i` spread for the benchmark: eight last names, a phone number each, `user{i}`
/// as email and username (the queries below look for `user4242`), and an SSN unique up to
/// 594 million (the seed's own `fixtures::ssn` repeats after 801,000).
fn raw_user(i: u32) -> RawNewUser {
    SeedUser::new(i)
        .last_name(LAST_NAMES[(i % 8) as usize])
        .email(format!("user{i}@example.com"))
        .username(format!("user{i}"))
        .ssn(format!(
            "{:03}{:02}{:04}",
            1 + i % 600,
            1 + (i / 600) % 99,
            1 + (i / 59_400) % 9_999
        ))
        .without_meta_data()
        .meta("ref", format!("c-{i}"))
        .with(|u| {
            u.phone_number = Some(format!("+1212{:07}", 2_000_000 + i % 8_000_000));
            u.middle_name = None;
            u.address_two = None;
        })
        .raw()
}

/// The `pct`-th percentile (nearest rank, rounded down) of sorted samples.
fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    let idx = (sorted.len() - 1) * pct / 100;
    sorted[idx.min(sorted.len() - 1)]
}

async fn time<F, Fut>(label: &str, runs: usize, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f().await; // warm
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        f().await;
        samples.push(t.elapsed());
    }
    samples.sort();
    println!(
        "{label:<34} runs {runs:>4}  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
        percentile(&samples, 50).as_secs_f64() * 1e3,
        percentile(&samples, 99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

#[tokio::main]
async fn main() {
    let count: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let db = TestDatabase::create(Backend::Postgres)
        .await
        .unwrap()
        .expect("set ONBOARD_TEST_POSTGRES_URL to a PostgreSQL server");
    let keys = Keyring::new(
        [("k1".to_owned(), SecretKey::generate().unwrap())],
        "k1",
        SecretKey::generate().unwrap(),
    )
    .unwrap();
    let store = db.store(keys).await.unwrap();
    let program = store
        .create_program("scale", Utc::now())
        .await
        .unwrap()
        .program_id;
    let ctx = ParseContext::new(Utc::now().date_naive());

    let started = Instant::now();
    let base = Utc::now() - chrono::Duration::days(30);
    let batch = 5_000u32;
    let mut i = 0;
    while i < count {
        let end = (i + batch).min(count);
        let users: Vec<(UserId, NewUser)> = (i..end)
            .map(|n| {
                (
                    UserId::from_uuid(uuid::Uuid::now_v7()),
                    NewUser::parse(&raw_user(n), ctx).unwrap(),
                )
            })
            .collect();
        store
            .bulk_create_users(
                program,
                &users,
                base + chrono::Duration::milliseconds(i64::from(i)),
            )
            .await
            .unwrap();
        i = end;
    }
    let seeded = started.elapsed();
    println!(
        "seeded {count} users in {:.1} s ({:.0} users/s) through SqlStore::bulk_create_users",
        seeded.as_secs_f64(),
        f64::from(count) / seeded.as_secs_f64()
    );
    let conn = store.connection();
    conn.execute_unprepared("ANALYZE users; ANALYZE user_meta_data")
        .await
        .unwrap();

    let pid = program.uuid();
    for (label, sql) in [
        (
            "page 1",
            format!(
                "EXPLAIN SELECT * FROM users WHERE program_id = '{pid}' ORDER BY created_at DESC, id DESC LIMIT 10 OFFSET 0"
            ),
        ),
        (
            "email lookup",
            format!(
                "EXPLAIN SELECT * FROM users WHERE program_id = '{pid}' AND email_key = 'user4242@example.com' ORDER BY created_at DESC, id DESC LIMIT 10"
            ),
        ),
        (
            "page 1000",
            format!(
                "EXPLAIN SELECT * FROM users WHERE program_id = '{pid}' ORDER BY created_at DESC, id DESC LIMIT 10 OFFSET 9990"
            ),
        ),
        (
            "total of an unfiltered listing (counter shards)",
            format!("EXPLAIN SELECT users FROM program_user_counts WHERE program_id = '{pid}'"),
        ),
        (
            "total of a filtered listing (counted; a scan at this size)",
            format!(
                "EXPLAIN SELECT COUNT(*) FROM users WHERE program_id = '{pid}' AND status = 'active'"
            ),
        ),
    ] {
        println!("EXPLAIN {label}:");
        for row in conn
            .query_all_raw(Statement::from_string(conn.get_database_backend(), sql))
            .await
            .unwrap()
        {
            let line: String = row.try_get_by_index(0).unwrap();
            println!("    {line}");
        }
    }

    let query = |raw: RawUserQuery| UserQuery::parse(&raw).unwrap();
    let page1 = query(RawUserQuery::default());
    let page1000 = query(RawUserQuery {
        page: Some(1000),
        ..RawUserQuery::default()
    });
    let email = query(RawUserQuery {
        email: Some("User4242@example.com".into()),
        ..RawUserQuery::default()
    });
    let search = query(RawUserQuery {
        search: Some("user4242@".into()),
        ..RawUserQuery::default()
    });
    time("get-all page 1 (with total)", 200, || async {
        store.list_users(program, &page1).await.unwrap();
    })
    .await;
    time("get-all page 1000 (with total)", 50, || async {
        store.list_users(program, &page1000).await.unwrap();
    })
    .await;
    time("get-all email (exact)", 200, || async {
        store.list_users(program, &email).await.unwrap();
    })
    .await;
    time("get-all search (substring)", 10, || async {
        store.list_users(program, &search).await.unwrap();
    })
    .await;
    let some_user = store.list_users(program, &page1).await.unwrap().items[0].id();
    time("get by id", 200, || async {
        store.get_user(program, some_user).await.unwrap();
    })
    .await;

    let _ = store.connection().clone().close().await;
    db.drop_database().await;
}
