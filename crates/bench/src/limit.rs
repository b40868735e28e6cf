//! The database's own limit: N connections each committing one users-shaped row per
//! transaction through sqlx (the driver under SeaORM) with the service's durability
//! settings (PostgreSQL's `pgbench` with the equivalent insert is in `pgbench`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection as _, Executor as _};

use crate::stats::{CpuMark, Summary};

/// Where the limit is measured.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    /// A SQLite file, opened as `storage::connect` opens the service's (WAL, synchronous=FULL,
    /// 5 s busy timeout, foreign keys on).
    Sqlite(PathBuf),
    /// A PostgreSQL database URL (server defaults: synchronous_commit=on, like the service).
    Postgres(String),
}

const TABLE: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS bench_limit (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        program_id VARCHAR(36) NOT NULL,
        first_name VARCHAR(64) NOT NULL,
        last_name VARCHAR(64) NOT NULL,
        email_key VARCHAR(254) NOT NULL,
        phone_number VARCHAR(16) NOT NULL,
        created_at BIGINT NOT NULL
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS uq_bench_limit_email ON bench_limit (program_id, email_key)",
    "CREATE INDEX IF NOT EXISTS idx_bench_limit_created ON bench_limit (program_id, created_at, id)",
];

const INSERT_PG: &str = "INSERT INTO bench_limit \
    (id, program_id, first_name, last_name, email_key, phone_number, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";
const INSERT_SQLITE: &str = "INSERT INTO bench_limit \
    (id, program_id, first_name, last_name, email_key, phone_number, created_at) \
    VALUES (?, ?, ?, ?, ?, ?, ?)";

pub(crate) const PROGRAM: &str = "01900000-0000-7000-8000-000000000001";

enum Conn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

fn sqlite_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true)
}

impl Conn {
    async fn open(target: &Target) -> Result<Self> {
        Ok(match target {
            Target::Sqlite(path) => Self::Sqlite(
                SqliteConnection::connect_with(&sqlite_options(path))
                    .await
                    .context("opening the SQLite limit database")?,
            ),
            Target::Postgres(url) => Self::Postgres(
                PgConnection::connect(url)
                    .await
                    .context("connecting to PostgreSQL")?,
            ),
        })
    }

    async fn execute(&mut self, sql: &'static str) -> Result<()> {
        match self {
            Self::Sqlite(c) => {
                c.execute(sql).await?;
            }
            Self::Postgres(c) => {
                c.execute(sql).await?;
            }
        }
        Ok(())
    }

    /// One row in one transaction; returns the time the COMMIT took.
    async fn commit_one(&mut self, k: u64) -> Result<Duration> {
        let id = uuid::Uuid::now_v7().to_string();
        let email = format!("limit{k}@example.com");
        let now_ms = i64::try_from(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
        )
        .unwrap_or(0);
        macro_rules! one {
            ($conn:expr, $sql:expr) => {{
                let mut tx = $conn.begin().await?;
                sqlx::query($sql)
                    .bind(&id)
                    .bind(PROGRAM)
                    .bind("Alex")
                    .bind("Rivera")
                    .bind(&email)
                    .bind("+15555551234")
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                let t = Instant::now();
                tx.commit().await?;
                t.elapsed()
            }};
        }
        Ok(match self {
            Self::Sqlite(c) => one!(c, INSERT_SQLITE),
            Self::Postgres(c) => one!(c, INSERT_PG),
        })
    }
}

/// The limit's figures: whole transactions (BEGIN, INSERT, COMMIT) and the COMMIT alone.
pub(crate) struct Limit {
    pub(crate) transactions: Summary,
    pub(crate) commit_p99_ms: f64,
}

/// Creates the limit's table.
pub(crate) async fn prepare(target: &Target) -> Result<()> {
    let mut conn = Conn::open(target).await?;
    for sql in TABLE {
        conn.execute(sql).await?;
    }
    Ok(())
}

/// `connections` connections committing one row per transaction: warm up, then measure.
pub(crate) async fn measure(
    target: &Target,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    next: &Arc<AtomicU64>,
) -> Result<Limit> {
    prepare(target).await?;
    let mut conns = Vec::with_capacity(connections);
    for _ in 0..connections {
        conns.push(Conn::open(target).await?);
    }
    let begin = Instant::now();
    let (from, end) = (begin + warmup, begin + warmup + duration);
    let start_mark = tokio::spawn(async move {
        tokio::time::sleep_until(from.into()).await;
        CpuMark::now(None)
    });
    let mut tasks = Vec::new();
    for mut conn in conns {
        let next = Arc::clone(next);
        tasks.push(tokio::spawn(async move {
            let mut txn_us = Vec::new();
            let mut commit_us = Vec::new();
            let mut errors = 0u64;
            let mut first_error = None;
            loop {
                let started = Instant::now();
                if started >= end {
                    break;
                }
                match conn.commit_one(next.fetch_add(1, Ordering::Relaxed)).await {
                    Ok(commit) if started >= from => {
                        let us = |d: Duration| u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
                        txn_us.push(us(started.elapsed()));
                        commit_us.push(us(commit));
                    }
                    Ok(_) => {}
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                    }
                }
            }
            (txn_us, commit_us, errors, first_error)
        }));
    }
    let (mut txn, mut commit, mut errors, mut first_error) = (Vec::new(), Vec::new(), 0, None);
    for t in tasks {
        let (a, b, e, f) = t.await?;
        txn.extend(a);
        commit.extend(b);
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    let end_mark = CpuMark::now(None);
    let elapsed = Instant::now().duration_since(from);
    let mut statuses = std::collections::BTreeMap::new();
    statuses.insert(200, txn.len() as u64);
    commit.sort_unstable();
    let mut transactions = Summary::new(txn, elapsed, statuses, errors, first_error);
    if let Ok(start) = start_mark.await {
        start.apply(end_mark, &mut transactions);
    }
    Ok(Limit {
        commit_p99_ms: crate::stats::quantile_ms(&commit, 0.99),
        transactions,
    })
}

/// PostgreSQL's settings that decide commit durability, and its version.
pub(crate) async fn postgres_settings(url: &str) -> Result<String> {
    let mut conn = PgConnection::connect(url).await?;
    let mut parts = Vec::new();
    for name in [
        "server_version",
        "synchronous_commit",
        "fsync",
        "wal_sync_method",
    ] {
        let (value,): (String,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SHOW {name}")))
            .fetch_one(&mut conn)
            .await?;
        parts.push(format!("{name}={value}"));
    }
    Ok(parts.join(", "))
}

/// SQLite's library version.
pub(crate) async fn sqlite_version(path: &Path) -> Result<String> {
    let mut conn = SqliteConnection::connect_with(&sqlite_options(path)).await?;
    let (v,): (String,) = sqlx::query_as("SELECT sqlite_version()")
        .fetch_one(&mut conn)
        .await?;
    Ok(v)
}

/// Creates (`create = true`) or drops a database on the server of `admin_url`.
pub(crate) async fn admin_database(admin_url: &str, name: &str, create: bool) -> Result<()> {
    let mut conn = PgConnection::connect(admin_url)
        .await
        .with_context(|| format!("connecting to {admin_url}"))?;
    let sql = if create {
        format!("CREATE DATABASE \"{name}\"")
    } else {
        format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")
    };
    conn.execute(sqlx::AssertSqlSafe(sql)).await?;
    Ok(())
}
