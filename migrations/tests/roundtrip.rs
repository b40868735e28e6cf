//! Round-trips every migration (up, down to zero, up again) on SQLite and, when configured, on live PostgreSQL and MariaDB/MySQL.
//!
//! SQLite always runs (a fresh temporary file). PostgreSQL runs when `ONBOARD_TEST_POSTGRES_URL`
//! is set (e.g. `postgres://postgres@127.0.0.1:5432/test`) and MariaDB/MySQL when
//! `ONBOARD_TEST_MYSQL_URL` is set (e.g. `mysql://root@127.0.0.1:3306/test`): the test connects
//! there, creates a fresh `onboard_mig_<random hex>` database, migrates it and drops it. If such a
//! variable is set but the server cannot be reached the test is skipped with a message, unless
//! `CI=true`, where it fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use migrations::{Migrator, MigratorTrait};
use sea_orm_migration::SchemaManager;
use sea_orm_migration::sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, Statement,
};

/// Tables the migrations must create (at least; the round trip itself reads every table from
/// the database's catalog, so a table added by a new migration is checked without a change
/// here).
const TABLES: [&str; 23] = [
    "programs",
    "api_keys",
    "hmac_credentials",
    "users",
    "user_meta_data",
    "businesses",
    "business_meta_data",
    "business_contacts",
    "idempotency_records",
    "seen_signatures",
    "user_events",
    "program_user_counts",
    "key_checks",
    "operator_actions",
    "screening_lists",
    "screening_state",
    "screenings",
    "screening_subjects",
    "business_owners",
    "business_events",
    "console_operators",
    "console_sessions",
    "console_login_throttle",
];

/// Named indexes that must exist after `up`, as (table, index).
const INDEXES: [(&str, &str); 21] = [
    ("console_operators", "uq_console_operators_email_key"),
    ("console_sessions", "idx_console_sessions_operator"),
    ("users", "uq_users_program_email"),
    ("users", "uq_users_program_username"),
    ("users", "uq_users_program_ssn"),
    ("api_keys", "uq_api_keys_lookup_digest"),
    ("businesses", "uq_businesses_program_ein"),
    ("business_contacts", "uq_business_contacts_business_user"),
    ("business_contacts", "idx_business_contacts_listing"),
    ("seen_signatures", "idx_seen_signatures_expires"),
    ("user_events", "idx_user_events_user_created"),
    ("operator_actions", "idx_operator_actions_created_at"),
    ("screenings", "idx_screenings_user_created"),
    ("screening_subjects", "idx_screening_subjects_status"),
    ("business_owners", "uq_business_owners_business_user"),
    ("business_owners", "uq_business_owners_control_person"),
    ("businesses", "idx_businesses_kyb_queue"),
    ("businesses", "idx_businesses_kyb_claims"),
    // Extended with the id by migration 17.
    ("users", "idx_users_kyc_queue"),
    ("webhook_deliveries", "idx_webhook_deliveries_due"),
    // Migration 18: the cascade from a delivery to its attempts.
    ("webhook_attempts", "idx_webhook_attempts_delivery"),
];

/// A random lowercase hex string (no extra dependency: std's randomly keyed SipHash).
fn random_hex() -> String {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// `url` with its path (the database name) replaced by `/database`, keeping any query string.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").expect("URL has a scheme") + 3;
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{database}", &base[..path_start]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    Database::connect(options).await
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "n").unwrap()
}

/// Every table in the database, from its catalog, but the migrator's own bookkeeping.
async fn tables(db: &DatabaseConnection) -> Vec<String> {
    use sea_orm_migration::sea_orm::DatabaseBackend;
    let backend = db.get_database_backend();
    let sql = match backend {
        DatabaseBackend::Sqlite => {
            "SELECT name AS t FROM sqlite_master WHERE type = 'table' \
             AND name NOT LIKE 'sqlite_%' ORDER BY name"
        }
        DatabaseBackend::Postgres => {
            "SELECT CAST(table_name AS TEXT) AS t FROM information_schema.tables \
             WHERE table_schema = current_schema() ORDER BY table_name"
        }
        _ => {
            "SELECT CAST(table_name AS CHAR) AS t FROM information_schema.tables \
             WHERE table_schema = DATABASE() ORDER BY table_name"
        }
    };
    db.query_all_raw(Statement::from_string(backend, sql))
        .await
        .unwrap()
        .iter()
        .map(|row| row.try_get::<String>("", "t").unwrap())
        .filter(|t| t != "seaql_migrations")
        .collect()
}

/// The round trip itself, on an empty database.
async fn roundtrip(label: &str, db: &DatabaseConnection) {
    let manager = SchemaManager::new(db);

    Migrator::up(db, None).await.unwrap();
    let created = tables(db).await;
    for table in TABLES {
        assert!(
            created.iter().any(|t| t == table),
            "{label}: table {table} missing after up: {created:?}"
        );
    }
    for (table, index) in INDEXES {
        assert!(
            manager.has_index(table, index).await.unwrap(),
            "{label}: index {index} on {table} missing after up"
        );
    }
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty(),
        "{label}: migrations still pending after up"
    );
    constraints_hold(label, db).await;
    if db.get_database_backend() == sea_orm_migration::sea_orm::DbBackend::Postgres {
        // Migration 22: room on the queue's pages for heap-only lease updates.
        assert_eq!(
            count(
                db,
                "SELECT COUNT(*) AS n FROM pg_class WHERE relname = 'webhook_deliveries' \
                 AND 'fillfactor=50' = ANY(reloptions)"
            )
            .await,
            1,
            "{label}: webhook_deliveries has not the fill factor of migration 22"
        );
    }

    Migrator::down(db, None).await.unwrap();
    assert_eq!(
        tables(db).await,
        Vec::<String>::new(),
        "{label}: tables still present after down (a migration's down forgets them)"
    );
    assert_eq!(
        Migrator::get_applied_migrations(db).await.unwrap().len(),
        0,
        "{label}: migrations still applied after down"
    );

    Migrator::up(db, None).await.unwrap();
    assert_eq!(
        tables(db).await,
        created,
        "{label}: the second up creates other tables than the first"
    );
    assert!(
        manager
            .has_index("users", "uq_users_program_email")
            .await
            .unwrap(),
        "{label}: uq_users_program_email missing after the second up"
    );
    eprintln!(
        "{label}: up, down to zero and up again OK ({} migrations, {} tables)",
        Migrator::migrations().len(),
        created.len()
    );
}

/// A few rows proving the unique index, ON DELETE RESTRICT and ON DELETE CASCADE behave.
async fn constraints_hold(label: &str, db: &DatabaseConnection) {
    let user = |id: &str, email_key: &str| {
        format!(
            "INSERT INTO users (id, program_id, first_name, last_name, email, email_key, \
             phone_number, address_one, city, state, country, postal_code, status, kyc_status, \
             created_at, updated_at) VALUES ('{id}', 'p1', 'Ada', 'Lovelace', 'Ada@Example.com', \
             '{email_key}', '+15555550100', '1 Main St', 'Springfield', 'IL', 'US', '62701', \
             'active', 'pending', 0, 0)"
        )
    };
    db.execute_unprepared("INSERT INTO programs (id, name, created_at) VALUES ('p1', 'P', 0)")
        .await
        .unwrap();
    db.execute_unprepared(&user("u1", "ada@example.com"))
        .await
        .unwrap();
    db.execute_unprepared(
        "INSERT INTO user_meta_data (user_id, position, name, value) VALUES ('u1', 0, 'k', 'v')",
    )
    .await
    .unwrap();
    assert!(
        db.execute_unprepared(&user("u2", "ada@example.com"))
            .await
            .is_err(),
        "{label}: uq_users_program_email did not reject a duplicate email_key"
    );
    assert!(
        db.execute_unprepared("DELETE FROM programs WHERE id = 'p1'")
            .await
            .is_err(),
        "{label}: deleting a program with users was not restricted"
    );
    db.execute_unprepared("DELETE FROM users WHERE id = 'u1'")
        .await
        .unwrap();
    assert_eq!(
        count(db, "SELECT COUNT(*) AS n FROM user_meta_data").await,
        0,
        "{label}: user_meta_data rows survived their user"
    );
    db.execute_unprepared("DELETE FROM programs WHERE id = 'p1'")
        .await
        .unwrap();
}

/// Runs `roundtrip` in a fresh database on the server at `$var`, if `$var` is set.
async fn on_server(label: &str, var: &str) {
    let Ok(url) = std::env::var(var) else {
        eprintln!("{label}: {var} not set, skipped");
        return;
    };
    let admin = match connect(&url).await {
        Ok(admin) => admin,
        Err(err) => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!ci, "{label}: {var} is set but {url} is unreachable: {err}");
            eprintln!("{label}: {url} unreachable ({err}), skipped");
            return;
        }
    };
    let name = format!("onboard_mig_{}", random_hex());
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();

    // Run the checks in their own task so the database is dropped even if they panic.
    let db_url = with_database(&url, &name);
    let task_label = label.to_owned();
    let outcome = tokio::spawn(async move {
        let db = connect(&db_url).await.unwrap();
        roundtrip(&task_label, &db).await;
        db.close().await.unwrap();
    })
    .await;

    admin
        .execute_unprepared(&format!("DROP DATABASE {name}"))
        .await
        .unwrap();
    admin.close().await.unwrap();
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
    eprintln!("{label}: database {name} created, migrated and dropped");
}

#[tokio::test]
async fn sqlite_roundtrip() {
    let path = std::env::temp_dir().join(format!("onboard_mig_{}.sqlite", random_hex()));
    let url = format!("sqlite://{}?mode=rwc", path.display());
    let db = connect(&url).await.unwrap();
    roundtrip("sqlite", &db).await;
    db.close().await.unwrap();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

#[tokio::test]
async fn postgres_roundtrip() {
    on_server("postgres", "ONBOARD_TEST_POSTGRES_URL").await;
}

#[tokio::test]
async fn mysql_roundtrip() {
    on_server("mysql", "ONBOARD_TEST_MYSQL_URL").await;
}

#[test]
fn database_is_swapped_into_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("mysql://root@127.0.0.1:3306", "x"),
        "mysql://root@127.0.0.1:3306/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/db?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
}
