//! Connecting to SQLite, PostgreSQL or MariaDB/MySQL with durable settings, and migrating.

use std::fmt::Write as _;
use std::time::Duration;

use migrations::{Migrator, MigratorTrait as _};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbBackend};

use crate::error::{StorageError, classify};

/// SQLite's `synchronous` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SqliteDurability {
    /// `synchronous=FULL`: every commit is fsynced before it is acknowledged; nothing
    /// acknowledged is lost on power failure. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: in WAL mode commits are fsynced at checkpoints only; a power
    /// failure may lose the last acknowledged transactions (never corrupts the file).
    Normal,
}

/// How to reach the database.
#[derive(Clone, Debug)]
pub struct DatabaseConfig {
    /// `sqlite://path?mode=rwc`, `postgres://…` or `mysql://…`.
    pub url: String,
    /// Pool size (PostgreSQL/MySQL; SQLite uses it too, but writes are serialised by SQLite).
    pub max_connections: u32,
    /// How long a request waits for a pooled connection before the database counts as unavailable.
    pub acquire_timeout: Duration,
    /// SQLite: how long a writer waits for the write lock before failing.
    pub sqlite_busy_timeout: Duration,
    /// SQLite: commit durability.
    pub sqlite_durability: SqliteDurability,
    /// SQLite: each connection's page cache, in MiB (SQLite's own default: 2). A search of a
    /// large database reads each candidate's pages: with 2 MiB they come from the operating
    /// system's cache one `pread` at a time; 64 MiB halved the selective search pages at
    /// 200,000 users per program (docs/bench-users.md), at up to 8 × this much memory.
    pub sqlite_cache_mib: u32,
    /// Group commit: how many batches of concurrent creates may be written at once; 0 for
    /// the default, 1 (see `group::BATCHES_AT_ONCE`).
    pub create_batches: usize,
    /// How long a statement waits for a row or table lock before it fails (PostgreSQL
    /// `lock_timeout`, MariaDB `innodb_lock_wait_timeout`, rounded up to whole seconds);
    /// zero: the server's own setting.
    pub lock_timeout: Duration,
    /// How long one statement may run (PostgreSQL `statement_timeout`, MariaDB
    /// `max_statement_time`); zero: unbounded.
    pub statement_timeout: Duration,
    /// PostgreSQL `idle_in_transaction_session_timeout`: a session that holds a transaction
    /// open without a statement (a stuck instance) is ended and its locks released; zero:
    /// never.
    pub idle_in_transaction_timeout: Duration,
}

impl DatabaseConfig {
    /// Defaults for `url`: 10 connections, 5 s acquire timeout, 5 s busy timeout, FULL, 3 s
    /// lock timeout, 10 s statement timeout, 15 s idle-in-transaction timeout — a request
    /// that waits on the database answers 503 well inside a client's 30 s.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            sqlite_busy_timeout: Duration::from_secs(5),
            sqlite_durability: SqliteDurability::Full,
            sqlite_cache_mib: SQLITE_DEFAULT_CACHE_MIB,
            create_batches: 0,
            lock_timeout: Duration::from_secs(3),
            statement_timeout: Duration::from_secs(10),
            idle_in_transaction_timeout: Duration::from_secs(15),
        }
    }

    /// The settings migrations run with: no statement, lock or idle timeouts (an index built
    /// on a large table may take minutes, and the migration lock's transaction idles while
    /// the migrations run), two connections.
    fn for_migrations(&self) -> Self {
        Self {
            max_connections: 2,
            lock_timeout: Duration::ZERO,
            statement_timeout: Duration::ZERO,
            idle_in_transaction_timeout: Duration::ZERO,
            ..self.clone()
        }
    }
}

/// Whole milliseconds, saturating.
fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The session settings of a MySQL/MariaDB connection: `SET SESSION …`, or `None`.
fn mysql_session(config: &DatabaseConfig) -> Option<String> {
    let mut set = Vec::new();
    if !config.lock_timeout.is_zero() {
        // Whole seconds, at least one (MariaDB's minimum).
        let secs = config.lock_timeout.as_millis().div_ceil(1000).max(1);
        set.push(format!("innodb_lock_wait_timeout = {secs}"));
    }
    if !config.statement_timeout.is_zero() {
        // MariaDB's `max_statement_time` is in seconds, with a fraction.
        let secs = config.statement_timeout.as_secs_f64();
        set.push(format!("max_statement_time = {secs:.3}"));
    }
    (!set.is_empty()).then(|| format!("SET SESSION {}", set.join(", ")))
}

/// The most connections a SQLite pool opens, whatever `max_connections` says: SQLite has one
/// writer, and each connection is a thread of its own with its own page cache, so more only
/// costs memory (measured: 32 connections held 64 MiB under a create load, against 40).
const SQLITE_MAX_CONNECTIONS: u32 = 8;

/// SQLite's soft limit on its heap, in bytes, for the whole process, with page caches of
/// the default size; larger caches raise it to what they hold together.
const SQLITE_SOFT_HEAP_LIMIT: u64 = 16 * 1024 * 1024;

/// Prepared statements each SQLite connection keeps (sqlx's default is 100). A group-committed
/// create prepares a multi-row insert per table and batch size, so under load a connection
/// held ~100 large statements, on SQLite's heap beside the page caches: at 32 HTTP
/// connections the server peaked at 66–69 MiB with 100 and 54–61 MiB with 16, creating 10–30 %
/// faster (the heap's soft limit no longer squeezed the page caches); at 8 connections 16
/// cost ~10 % (statements prepared again). docs/bench.md, "SQLite's statement cache".
const SQLITE_STATEMENT_CACHE: usize = 16;

/// SQLite's own default page cache per connection, in MiB.
pub const SQLITE_DEFAULT_CACHE_MIB: u32 = 2;

/// How long a pooled connection may sit idle before it is pinged on its next use.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// Opens a pool. SQLite gets WAL, a busy timeout, foreign keys on and the chosen durability.
pub async fn connect(config: &DatabaseConfig) -> Result<DatabaseConnection, StorageError> {
    let mut options = ConnectOptions::new(config.url.clone());
    let max_connections = if config.url.starts_with("sqlite:") {
        config.max_connections.min(SQLITE_MAX_CONNECTIONS)
    } else {
        config.max_connections
    };
    options
        .max_connections(max_connections)
        .min_connections(0)
        .acquire_timeout(config.acquire_timeout)
        .connect_timeout(config.acquire_timeout)
        .sqlx_logging(false)
        // A pooled connection is pinged before use only once it has been idle for a while
        // (the way connections go stale: a server restart, a proxy or firewall timeout); a
        // ping on every acquire cost a round trip per statement under load.
        .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR);
    let busy = config.sqlite_busy_timeout;
    let cache_kib = i64::from(config.sqlite_cache_mib.max(1)) * 1024;
    let heap_limit = SQLITE_SOFT_HEAP_LIMIT
        .max(u64::from(config.sqlite_cache_mib) * 1024 * 1024 * u64::from(max_connections));
    let sync = match config.sqlite_durability {
        SqliteDurability::Full => SqliteSynchronous::Full,
        SqliteDurability::Normal => SqliteSynchronous::Normal,
    };
    options.map_sqlx_sqlite_opts(move |o| {
        o.journal_mode(SqliteJournalMode::Wal)
            .synchronous(sync)
            .busy_timeout(busy)
            .foreign_keys(true)
            .create_if_missing(true)
            // The page caches of all connections together (2 MiB each by default) stay near
            // this bound: a pool of 16 scanning a large table otherwise holds ~80 MiB.
            .pragma("soft_heap_limit", heap_limit.to_string())
            // Negative: KiB, not pages.
            .pragma("cache_size", format!("-{cache_kib}"))
            .statement_cache_capacity(SQLITE_STATEMENT_CACHE)
    });
    let pg = [
        ("lock_timeout", millis(config.lock_timeout)),
        ("statement_timeout", millis(config.statement_timeout)),
        (
            "idle_in_transaction_session_timeout",
            millis(config.idle_in_transaction_timeout),
        ),
    ];
    options.map_sqlx_postgres_opts(move |o| o.options(pg));
    if let Some(session) = mysql_session(config) {
        options.map_sqlx_mysql_pool_opts(move |pool| {
            let session = session.clone();
            pool.after_connect(move |conn, _meta| {
                let session = session.clone();
                Box::pin(async move {
                    use sea_orm::sqlx::Executor as _;
                    conn.execute(sea_orm::sqlx::AssertSqlSafe(session)).await?;
                    Ok(())
                })
            })
        });
    }
    Database::connect(options).await.map_err(classify)
}

/// Begins a transaction that is going to write. On SQLite it is `BEGIN IMMEDIATE`: the write
/// lock is taken (waiting out the busy timeout) before the first read. A deferred transaction
/// that reads first and writes afterwards fails at once with `SQLITE_BUSY` when another
/// connection committed in between — SQLite cannot move a read snapshot forward, and its busy
/// handler does not wait in that case (schemathesis met it as a 503 of `webhook/delete`
/// beside the delivery worker's writes). Elsewhere a plain `BEGIN`.
pub(crate) async fn begin_write(
    db: &DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::{SqliteTransactionMode, TransactionOptions, TransactionTrait as _};
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Begins a write transaction of bookkeeping whose commit need not wait for the disk: on
/// PostgreSQL `synchronous_commit = off` for this transaction only, so that it adds no WAL
/// flush of its own to the ones the requests' commits wait for. For what a database crash may
/// lose without harm because it is done again: a webhook delivery's lease and outcome (lost,
/// the delivery is sent again once its lease runs out: at least once, as SPEC §7 allows).
/// Elsewhere [`begin_write`].
pub(crate) async fn begin_relaxed(
    db: &DatabaseConnection,
) -> Result<sea_orm::DatabaseTransaction, sea_orm::DbErr> {
    use sea_orm::ConnectionTrait as _;
    let txn = begin_write(db).await?;
    if db.get_database_backend() == DbBackend::Postgres {
        txn.execute_unprepared("SET LOCAL synchronous_commit = off")
            .await?;
    }
    Ok(txn)
}

/// PostgreSQL: whether the server runs with `autovacuum = off`. Nothing then refreshes the
/// planner's statistics: a statement prepared while its tables were small keeps a plan made
/// for small tables (a sequential scan) as they grow, and dead rows are never reclaimed.
/// `false` on the other databases and when it cannot be told.
pub async fn autovacuum_off(db: &DatabaseConnection) -> bool {
    use sea_orm::{ConnectionTrait as _, Statement};
    if db.get_database_backend() != DbBackend::Postgres {
        return false;
    }
    db.query_one_raw(Statement::from_string(
        DbBackend::Postgres,
        "SHOW autovacuum",
    ))
    .await
    .ok()
    .flatten()
    .and_then(|row| row.try_get_by_index::<String>(0).ok())
    .is_some_and(|v| v == "off")
}

/// `sql` with `?` placeholders numbered for PostgreSQL.
pub(crate) fn statement(
    backend: DbBackend,
    sql: &str,
    values: Vec<sea_orm::Value>,
) -> sea_orm::Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 16);
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                let _ = write!(out, "${n}");
            } else {
                out.push(ch);
            }
        }
        out
    } else {
        sql.to_owned()
    };
    sea_orm::Statement::from_sql_and_values(backend, sql, values)
}

/// Deletes up to `batch` rows of `table` whose `expires_at` is at or before `now_ms`, oldest
/// first along its expiry index; `key` names the primary key's columns. One statement whose
/// text never changes: a delete of the ids read just before had a new text for every batch
/// size, each a prepared statement cached by every pooled connection it ran on — the sweeping
/// instance's memory grew by ~0.2 MiB a minute in the soak.
pub(crate) async fn delete_expired(
    db: &DatabaseConnection,
    table: &str,
    key: &str,
    now_ms: i64,
    batch: u64,
) -> Result<u64, StorageError> {
    use sea_orm::ConnectionTrait as _;
    let backend = db.get_database_backend();
    // MySQL and MariaDB refuse a LIMIT inside an IN subquery, but delete in order with one.
    let sql = if backend == DbBackend::MySql {
        format!("DELETE FROM {table} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?")
    } else {
        format!(
            "DELETE FROM {table} WHERE ({key}) IN \
             (SELECT {key} FROM {table} WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)"
        )
    };
    let done = db
        .execute_raw(statement(backend, &sql, vec![now_ms.into(), batch.into()]))
        .await
        .map_err(classify)?;
    Ok(done.rows_affected())
}

/// Migrates (see [`migrate`]), then opens the pool the service runs on.
pub async fn connect_migrated(config: &DatabaseConfig) -> Result<DatabaseConnection, StorageError> {
    if config.url.contains(":memory:") || config.url.contains("mode=memory") {
        // An in-memory SQLite database lives and dies with its pool: migrate on it.
        let db = connect(config).await?;
        migrate_on(&db).await?;
        return Ok(db);
    }
    migrate(config).await?;
    connect(config).await
}

/// Applies every pending migration, once, whatever the number of instances starting together
/// (SPEC §6), on a pool of its own without the request timeouts ([`DatabaseConfig`]), closed
/// afterwards. See [`migrate_on`].
pub async fn migrate(config: &DatabaseConfig) -> Result<(), StorageError> {
    let db = connect(&config.for_migrations()).await?;
    let applied = migrate_on(&db).await;
    let _ = db.close().await;
    applied
}

/// Applies every pending migration on `db` under a lock taken through the database — a
/// transaction-scoped advisory lock on PostgreSQL, `GET_LOCK` on MySQL/MariaDB — or, on
/// SQLite, inside one `BEGIN IMMEDIATE` transaction (the file's write lock). An instance that
/// waited finds nothing pending. `db` should not carry statement or idle timeouts.
pub async fn migrate_on(db: &DatabaseConnection) -> Result<(), StorageError> {
    use sea_orm::{
        ConnectionTrait as _, SqliteTransactionMode, Statement, TransactionOptions,
        TransactionTrait as _,
    };
    let backend = db.get_database_backend();
    match backend {
        DbBackend::Sqlite => {
            let txn = db
                .begin_with_options(TransactionOptions {
                    sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                    ..TransactionOptions::default()
                })
                .await
                .map_err(classify)?;
            Migrator::up(&txn, None).await.map_err(classify)?;
            txn.commit().await.map_err(classify)
        }
        DbBackend::Postgres => {
            // Held by this transaction's connection until it ends; the migrations run on
            // the pool's other connections meanwhile.
            let txn = db.begin().await.map_err(classify)?;
            txn.execute_unprepared(&format!(
                "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})"
            ))
            .await
            .map_err(classify)?;
            let applied = Migrator::up(db, None).await.map_err(classify);
            txn.commit().await.map_err(classify)?;
            applied
        }
        _ => {
            let txn = db.begin().await.map_err(classify)?;
            let got = txn
                .query_one_raw(Statement::from_string(
                    backend,
                    format!("SELECT GET_LOCK('{MIGRATION_LOCK_NAME}', 120) AS got"),
                ))
                .await
                .map_err(classify)?
                .and_then(|row| row.try_get::<Option<i64>>("", "got").ok().flatten());
            if got != Some(1) {
                return Err(StorageError::unavailable(
                    "another instance held the migration lock for 120 s",
                ));
            }
            let applied = Migrator::up(db, None).await.map_err(classify);
            let _ = txn
                .execute_unprepared(&format!("SELECT RELEASE_LOCK('{MIGRATION_LOCK_NAME}')"))
                .await;
            txn.commit().await.map_err(classify)?;
            applied
        }
    }
}

/// The PostgreSQL advisory lock key of the migrations ("onboard" in ASCII).
const MIGRATION_LOCK_ID: i64 = 0x006f_6e62_6f61_7264;
/// The MySQL/MariaDB named lock of the migrations.
const MIGRATION_LOCK_NAME: &str = "onboard_migrations";

/// Whether the database answers a trivial query (for `/readyz`).
pub async fn ping(db: &DatabaseConnection) -> Result<(), StorageError> {
    db.ping().await.map_err(classify)
}

/// Which SQL dialect a connection speaks.
pub fn backend(db: &DatabaseConnection) -> DbBackend {
    db.get_database_backend()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::Duration;

    use sea_orm::{ConnectionTrait as _, TransactionTrait as _};

    use super::{DatabaseConfig, begin_write, connect};

    /// A file database with two tables and room for two connections.
    async fn two_writers() -> (sea_orm::DatabaseConnection, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("onboard-write-{}.db", uuid::Uuid::new_v4()));
        let config = DatabaseConfig {
            max_connections: 2,
            ..DatabaseConfig::new(format!("sqlite://{}?mode=rwc", path.display()))
        };
        let db = connect(&config).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (n INTEGER NOT NULL)")
            .await
            .unwrap();
        (db, path)
    }

    fn remove(path: &std::path::Path) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    /// `sqlite_cache_mib` is each connection's page cache, and the process's soft heap limit
    /// makes room for all of them.
    #[tokio::test]
    async fn the_sqlite_page_cache_is_the_configured_size() {
        let path = std::env::temp_dir().join(format!("onboard-cache-{}.db", uuid::Uuid::new_v4()));
        let url = format!("sqlite://{}?mode=rwc", path.display());
        for (mib, heap) in [(2u32, 16i64 << 20), (64, 128 << 20)] {
            let config = DatabaseConfig {
                max_connections: 2,
                sqlite_cache_mib: mib,
                ..DatabaseConfig::new(url.clone())
            };
            let db = connect(&config).await.unwrap();
            let value = |sql: &'static str| {
                let db = db.clone();
                async move {
                    let row = db
                        .query_one_raw(sea_orm::Statement::from_string(
                            sea_orm::DbBackend::Sqlite,
                            sql,
                        ))
                        .await
                        .unwrap()
                        .unwrap();
                    row.try_get_by_index::<i64>(0).unwrap()
                }
            };
            assert_eq!(value("PRAGMA cache_size").await, -i64::from(mib) * 1024);
            assert_eq!(value("PRAGMA soft_heap_limit").await, heap);
            db.close().await.unwrap();
        }
        remove(&path);
    }

    /// The failure `begin_write` exists for: a deferred transaction that read, then writes
    /// after another connection committed, fails at once (no busy wait).
    #[tokio::test]
    async fn a_deferred_sqlite_transaction_that_read_first_fails_to_write() {
        let (db, path) = two_writers().await;
        let txn = db.begin().await.unwrap();
        txn.execute_unprepared("SELECT count(*) FROM t")
            .await
            .unwrap();
        db.execute_unprepared("INSERT INTO t VALUES (2)")
            .await
            .unwrap();
        let late = txn.execute_unprepared("INSERT INTO t VALUES (1)").await;
        assert!(late.is_err(), "SQLite let a stale snapshot write");
        drop(txn);
        db.close().await.unwrap();
        remove(&path);
    }

    /// With `begin_write` the other writer waits for the lock instead, and both writes land.
    #[tokio::test]
    async fn a_sqlite_write_transaction_holds_the_lock_from_its_first_read() {
        let (db, path) = two_writers().await;
        let txn = begin_write(&db).await.unwrap();
        txn.execute_unprepared("SELECT count(*) FROM t")
            .await
            .unwrap();
        let other = tokio::spawn({
            let db = db.clone();
            async move { db.execute_unprepared("INSERT INTO t VALUES (2)").await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!other.is_finished(), "the other writer did not wait");
        txn.execute_unprepared("INSERT INTO t VALUES (1)")
            .await
            .unwrap();
        txn.commit().await.unwrap();
        other.await.unwrap().unwrap();
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "SELECT count(*) AS n FROM t",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 2);
        db.close().await.unwrap();
        remove(&path);
    }

    /// `begin_relaxed` on PostgreSQL: its transaction commits without waiting for the WAL
    /// flush, and only it: the connection goes back to the pool with the server's setting.
    #[tokio::test]
    async fn a_relaxed_transaction_is_asynchronous_on_postgresql_alone() {
        let Some(test) = crate::testing::TestDatabase::create(crate::testing::Backend::Postgres)
            .await
            .unwrap()
        else {
            eprintln!("skipped: PostgreSQL is not configured");
            return;
        };
        // One connection: the statement after the commit runs on the one that committed.
        let config = DatabaseConfig {
            max_connections: 1,
            ..DatabaseConfig::new(test.url.clone())
        };
        let db = connect(&config).await.unwrap();
        let before = show_synchronous_commit(&db).await;
        assert_ne!(before, "off", "the server's own setting");
        let txn = super::begin_relaxed(&db).await.unwrap();
        assert_eq!(show_synchronous_commit(&txn).await, "off");
        txn.commit().await.unwrap();
        assert_eq!(show_synchronous_commit(&db).await, before);
        db.close().await.unwrap();
        test.drop_database().await;
    }

    async fn show_synchronous_commit(c: &impl sea_orm::ConnectionTrait) -> String {
        c.query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SHOW synchronous_commit",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap()
    }
}
