//! Seeds a fresh database with varied people through the repository's bulk path — three
//! programs of COUNT users each, the measured program interleaved with the others — shows
//! the query plans of each listing, and prints latency figures (page 1, page 1000, an email
//! lookup, get by id, searches: selective, common, short) and throughput at 16 concurrent
//! callers (get by id against searches, measured in the same run), with the targets of issue
//! 17 marked met or not; and the operator console's queue and search pages (`console.rs`,
//! issue 21). Run by `cargo xtask bench users [COUNT] [postgres] [sqlite] [mysql] [console]`
//! (default: PostgreSQL when `ONBOARD_TEST_POSTGRES_URL` is set, and SQLite; `console`: only
//! the console's pages).
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::too_many_lines
)]

mod console;
mod people;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use domain::{NewUser, ParseContext, ProgramId, RawUserQuery, UserId, UserQuery};
use sea_orm::ConnectionTrait as _;
use storage::testing::{Backend, TestDatabase};
use storage::{
    DatabaseConfig, Keyring, ProgramRepository as _, SecretKey, SqlStore, UserRepository as _,
};

/// The `pct`-th percentile (nearest rank, rounded down) of sorted samples.
fn percentile(sorted: &[Duration], pct: usize) -> Duration {
    let idx = (sorted.len() - 1) * pct / 100;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Runs `f` `runs` times (after one warm-up) and prints p50/p99/max; returns the p99.
async fn time<F, Fut>(label: &str, runs: usize, mut f: F) -> Duration
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f(0).await;
    let mut samples = Vec::with_capacity(runs);
    for i in 0..runs {
        let t = Instant::now();
        f(i + 1).await;
        samples.push(t.elapsed());
    }
    samples.sort();
    let p99 = percentile(&samples, 99);
    println!(
        "{label:<40} runs {runs:>4}  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
        ms(percentile(&samples, 50)),
        ms(p99),
        ms(*samples.last().unwrap()),
    );
    p99
}

/// Calls per second of `f` from 16 concurrent callers for `secs` seconds.
async fn throughput<F, Fut>(label: &str, secs: u64, f: F) -> f64
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let f = Arc::new(f);
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let tasks: Vec<_> = (0..16u64)
        .map(|t| {
            let (f, done) = (f.clone(), done.clone());
            tokio::spawn(async move {
                let mut i = t;
                while Instant::now() < until {
                    f(i).await;
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 16;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let rate = done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    println!("{label:<40} 16 callers, {secs} s: {rate:>9.0} calls/s");
    rate
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "NOT met" }
}

fn search(text: &str) -> UserQuery {
    UserQuery::parse(&RawUserQuery {
        search: Some(text.to_owned()),
        ..RawUserQuery::default()
    })
    .unwrap()
}

/// The measured program of a database seeded before, and what `console::seed` submitted.
async fn reuse(store: &Arc<SqlStore>, count: u32) -> (ProgramId, (usize, usize)) {
    let row = store
        .connection()
        .query_one_raw(sea_orm::Statement::from_string(
            store.connection().get_database_backend(),
            "SELECT id FROM programs WHERE name = 'measured'",
        ))
        .await
        .unwrap()
        .expect("a seeded database");
    let id: String = row.try_get("", "id").unwrap();
    let pending = 3 * count as usize / console::PENDING_EVERY as usize;
    (
        ProgramId::from_uuid(uuid::Uuid::parse_str(&id).unwrap()),
        (pending, pending / console::OPEN_CASE_EVERY),
    )
}

/// Seeds three programs of `count` users and the console's queues, then runs maintenance.
async fn seed(
    backend: Backend,
    store: &Arc<SqlStore>,
    url: &str,
    count: u32,
) -> (ProgramId, (usize, usize)) {
    let mut programs = Vec::new();
    for name in ["before", "measured", "after"] {
        programs.push(
            store
                .create_program(name, Utc::now())
                .await
                .unwrap()
                .program_id,
        );
    }
    let program = programs[1];
    let ctx = ParseContext::new(Utc::now().date_naive());

    // Seed: batches of 5,000 per program in turn, so that the measured program's rows are
    // interleaved with the others' as they would be.
    let started = Instant::now();
    let base = Utc::now() - chrono::Duration::days(30);
    let batch = 5_000u32;
    let mut i = 0;
    let mut chosen = Vec::new();
    while i < count {
        let end = (i + batch).min(count);
        for (k, p) in programs.iter().enumerate() {
            let offset = u32::try_from(k).unwrap() * count;
            let users: Vec<(UserId, NewUser)> = (i..end)
                .map(|n| {
                    (
                        UserId::from_uuid(uuid::Uuid::now_v7()),
                        NewUser::parse(&people::person(offset + n), ctx).unwrap(),
                    )
                })
                .collect();
            chosen.extend(
                users
                    .iter()
                    .step_by(console::PENDING_EVERY as usize)
                    .map(|(id, _)| (*p, *id)),
            );
            store
                .bulk_create_users(
                    *p,
                    &users,
                    base + chrono::Duration::milliseconds(i64::from(i)),
                )
                .await
                .unwrap();
        }
        i = end;
    }
    let seeded = started.elapsed();
    println!(
        "seeded {} users in {:.1} s ({:.0} users/s) through SqlStore::bulk_create_users",
        3 * u64::from(count),
        seeded.as_secs_f64(),
        3.0 * f64::from(count) / seeded.as_secs_f64()
    );
    let started = Instant::now();
    let console_seeded = console::seed(store, &chosen).await;
    println!(
        "submitted {} of {} chosen users for KYC ({} with an open sanctions case) in {:.1} s through change_user(SubmitKyc)",
        console_seeded.0,
        chosen.len(),
        console_seeded.1,
        started.elapsed().as_secs_f64()
    );
    // Maintenance as an operator (or autovacuum, which this machine's PostgreSQL runs without)
    // does it: on a connection of its own, without the service's statement timeout (VACUUM of
    // 3M rows takes longer than the 10 s a request may). Every table the seed filled: with
    // `user_meta_data` left at its empty-table statistics, PostgreSQL read it by a sequential
    // scan for each page's meta_data (`user_id IN (…)`), 15–30 ms at 90,000 rows.
    let conn = sea_orm::Database::connect(url).await.unwrap();
    match backend {
        Backend::Postgres => {
            conn.execute_unprepared("VACUUM ANALYZE").await.unwrap();
        }
        Backend::Mysql => {
            conn.execute_unprepared(
                "ANALYZE TABLE users, user_meta_data, user_search_trigrams, screening_subjects, screenings",
            )
                .await
                .unwrap();
        }
        // As served: nothing runs ANALYZE on SQLite.
        Backend::Sqlite => {}
    }
    (program, console_seeded)
}

async fn run(backend: Backend, count: u32, console_only: bool, caches: &[u32]) {
    // `ONBOARD_BENCH_REUSE=URL`: measure a database this benchmark seeded and kept
    // (`ONBOARD_BENCH_KEEP=1`) with the same COUNT, instead of seeding a new one.
    let reused = std::env::var("ONBOARD_BENCH_REUSE").ok();
    let db = if reused.is_some() {
        None
    } else {
        let Some(db) = TestDatabase::create(backend).await.unwrap() else {
            println!("{backend:?}: not configured, skipped");
            return;
        };
        Some(db)
    };
    let url = reused.unwrap_or_else(|| db.as_ref().map(|d| d.url.clone()).unwrap_or_default());
    println!(
        "\n## {backend:?}, {count} users in the measured program, {} in all\n",
        3 * u64::from(count)
    );
    let keys = Keyring::new(
        [("k1".to_owned(), SecretKey::generate().unwrap())],
        "k1",
        SecretKey::generate().unwrap(),
    )
    .unwrap();
    let mut config = DatabaseConfig::new(url.clone());
    config.max_connections = 16;
    let store = Arc::new(SqlStore::open(&config, keys.clone()).await.unwrap());
    let (program, console_seeded) = if db.is_some() {
        seed(backend, &store, &url, count).await
    } else {
        println!("reusing {url}");
        reuse(&store, count).await
    };

    close(store).await;

    // Each SQLite page cache asked for is measured on the same seeded database, each with a
    // fresh store (empty caches); the other databases have no such setting.
    let caches = if backend == Backend::Sqlite {
        caches
    } else {
        &[storage::SQLITE_DEFAULT_CACHE_MIB][..]
    };
    for &cache_mib in caches {
        if backend == Backend::Sqlite {
            println!("\n### SQLite page cache: {cache_mib} MiB per connection\n");
        }
        config.sqlite_cache_mib = cache_mib;
        let store = Arc::new(SqlStore::open(&config, keys.clone()).await.unwrap());
        console::measure(
            &store,
            &format!("{backend:?}"),
            count,
            program,
            console_seeded,
        )
        .await;
        if !console_only {
            listings(backend, &store, count, program).await;
        }
        close(store).await;
    }
    if let Some(db) = db {
        finish(db).await;
    }
}

async fn close(store: Arc<SqlStore>) {
    let store = Arc::try_unwrap(store).ok().unwrap();
    let _ = store.connection().clone().close().await;
}

/// Issue 17's listings and searches of the measured program, and their targets.
async fn listings(backend: Backend, store: &Arc<SqlStore>, count: u32, program: ProgramId) {
    // The terms: a full last name of the measured program (selective), an ending that about
    // a tenth of last names have (common), two letters (a prefix), and an email.
    let selective_names: Vec<String> = (0..50).map(|k| people::last_name(count + k * 7)).collect();
    let common = people::LAST_C[0];
    let short = "ma";
    let some = people::person(count + 4242);
    let email = some.email.clone().unwrap();
    let queries = [
        (
            "page 1",
            UserQuery::parse(&RawUserQuery::default()).unwrap(),
        ),
        (
            "page 1000",
            UserQuery::parse(&RawUserQuery {
                page: Some(1000),
                ..RawUserQuery::default()
            })
            .unwrap(),
        ),
        (
            "email lookup",
            UserQuery::parse(&RawUserQuery {
                email: Some(email.to_uppercase()),
                ..RawUserQuery::default()
            })
            .unwrap(),
        ),
        (
            "search selective (a last name)",
            search(&selective_names[0]),
        ),
        ("search common (an ending, ~10 %)", search(common)),
        ("search short (two letters)", search(short)),
    ];
    for (label, q) in &queries {
        let page = store.list_users(program, q).await.unwrap();
        let plan = store.explain_user_listing(program, q).await.unwrap();
        println!(
            "\n{label}: {:?} → total {}{} ({:.3} % of the program)",
            q.search().or(q.email_key()).unwrap_or("-"),
            page.total,
            if page.total_is_estimate {
                " (capped estimate)"
            } else {
                ""
            },
            100.0 * page.total as f64 / f64::from(count)
        );
        println!("  plan of the page:");
        for line in &plan.page {
            println!("    {line}");
        }
        if (q.search().is_some() || q.email_key().is_some()) && plan.total != plan.page {
            println!("  plan of the total:");
            for line in &plan.total {
                println!("    {line}");
            }
        }
        if !plan.walk.is_empty() {
            println!("  plan of the walk (a term with more matches than the narrow read):");
            for line in &plan.walk {
                println!("    {line}");
            }
        }
    }
    println!();

    let mut p99 = Vec::new();
    for (label, q) in &queries {
        let (store, q) = (store.clone(), q.clone());
        let runs = if label.starts_with("search") {
            100
        } else {
            200
        };
        p99.push(
            time(&format!("get-all {label}"), runs, move |_| {
                let (store, q) = (store.clone(), q.clone());
                async move {
                    store.list_users(program, &q).await.unwrap();
                }
            })
            .await,
        );
    }
    // Varied selective terms, so that caches do not hold only one answer.
    {
        let (store, names) = (store.clone(), selective_names.clone());
        time("get-all search selective (50 names)", 200, move |i| {
            let (store, q) = (store.clone(), search(&names[i % names.len()]));
            async move {
                store.list_users(program, &q).await.unwrap();
            }
        })
        .await;
    }
    let ids: Arc<Vec<UserId>> = Arc::new(
        store
            .list_users(
                program,
                &UserQuery::parse(&RawUserQuery {
                    per_page: Some(500),
                    ..RawUserQuery::default()
                })
                .unwrap(),
            )
            .await
            .unwrap()
            .items
            .iter()
            .map(domain::User::id)
            .collect(),
    );
    {
        let (store, ids) = (store.clone(), ids.clone());
        time("get by id", 200, move |i| {
            let (store, id) = (store.clone(), ids[i % ids.len()]);
            async move {
                store.get_user(program, id).await.unwrap();
            }
        })
        .await;
    }
    println!();
    let secs = 5;
    let gets = {
        let (store, ids) = (store.clone(), ids.clone());
        throughput("get by id", secs, move |i| {
            let (store, id) = (store.clone(), ids[(i as usize) % ids.len()]);
            async move {
                store.get_user(program, id).await.unwrap();
            }
        })
        .await
    };
    let selective = {
        let (store, names) = (store.clone(), Arc::new(selective_names.clone()));
        throughput("search selective (50 names)", secs, move |i| {
            let (store, q) = (store.clone(), search(&names[(i as usize) % names.len()]));
            async move {
                store.list_users(program, &q).await.unwrap();
            }
        })
        .await
    };
    let common_rate = {
        let (store, q) = (store.clone(), search(common));
        throughput("search common", secs, move |_| {
            let (store, q) = (store.clone(), q.clone());
            async move {
                store.list_users(program, &q).await.unwrap();
            }
        })
        .await
    };

    let ten = Duration::from_millis(10);
    println!("\ntargets (issue 17) on {backend:?} at {count} users:");
    println!(
        "  search selective p99 < 20 ms: {:.2} ms — {}",
        ms(p99[3]),
        verdict(p99[3] < Duration::from_millis(20))
    );
    println!(
        "  search common p99 < 100 ms (with its total): {:.2} ms — {}",
        ms(p99[4]),
        verdict(p99[4] < Duration::from_millis(100))
    );
    println!(
        "  page 1, page 1000, email p99 < 10 ms: {:.2} / {:.2} / {:.2} ms — {}",
        ms(p99[0]),
        ms(p99[1]),
        ms(p99[2]),
        verdict(p99[0] < ten && p99[1] < ten && p99[2] < ten)
    );
    println!(
        "  search throughput ≥ 0.3× get by id (16 callers, storage level): selective {:.2}×, common {:.2}× — {}",
        selective / gets,
        common_rate / gets,
        verdict(selective / gets >= 0.3)
    );
}

/// Drops the seeded database, or with `ONBOARD_BENCH_KEEP=1` keeps it for a closer look
/// (`sqlite3 FILE`, `psql`) and says where it is.
async fn finish(db: TestDatabase) {
    if std::env::var_os("ONBOARD_BENCH_KEEP").is_some() {
        println!("kept: {}", db.url);
        return;
    }
    db.drop_database().await;
}

fn backend_of(name: &str) -> Option<Backend> {
    match name {
        "postgres" => Some(Backend::Postgres),
        "sqlite" => Some(Backend::Sqlite),
        "mysql" | "mariadb" => Some(Backend::Mysql),
        _ => None,
    }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: u32 = args
        .iter()
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut backends: Vec<Backend> = args.iter().filter_map(|a| backend_of(a)).collect();
    if backends.is_empty() {
        backends = vec![Backend::Postgres, Backend::Sqlite];
    }
    println!(
        "cargo xtask bench users {count} — {} cores, {}",
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get),
        Utc::now().format("%Y-%m-%d %H:%M UTC")
    );
    // `console`: only the console's pages (issue 21), not the listings of issue 17.
    let console_only = args.iter().any(|a| a == "console");
    // `cache=MIB[,MIB…]`: SQLite's page cache per connection (the service's
    // `sqlite_cache_mib`), each measured in turn on the same seeded database.
    let caches: Vec<u32> = args
        .iter()
        .find_map(|a| a.strip_prefix("cache="))
        .map_or_else(
            || vec![storage::SQLITE_DEFAULT_CACHE_MIB],
            |list| {
                list.split(',')
                    .map(|c| c.parse().expect("cache=MIB[,MIB…]"))
                    .collect()
            },
        );
    for backend in backends {
        run(backend, count, console_only, &caches).await;
    }
}
