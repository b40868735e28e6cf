//! Several instances starting together on an empty database (SPEC §6): the migrations are
//! applied once, under a lock taken through the database (or, for SQLite, the file system),
//! and every instance starts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Stdio};

use storage::SecretKey;
use storage::testing::{Backend, TestDatabase};

/// Starts `n` `onboard migrate` processes at once on one empty database; each one's success
/// and output.
fn migrate_together(url: &str, n: usize) -> Vec<(bool, String)> {
    let (k1, blind) = (
        SecretKey::generate().unwrap(),
        SecretKey::generate().unwrap(),
    );
    let children: Vec<_> = (0..n)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_onboard"))
                .arg("migrate")
                .env("DATABASE_URL", url)
                .env(
                    "ONBOARD_DATA_KEYS",
                    format!("k1:{}", k1.to_base64().as_str()),
                )
                .env("ONBOARD_ACTIVE_KEY", "k1")
                .env("ONBOARD_BLIND_INDEX_KEY", blind.to_base64().as_str())
                .env("ONBOARD_LOG_FORMAT", "json")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        })
        .collect()
}

async fn instances_migrate_an_empty_database_once(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await.unwrap() else {
        eprintln!("skipped: {backend:?} is not configured");
        return;
    };
    for (ok, log) in migrate_together(&db.url, 6) {
        assert!(ok, "{backend:?}: {log}");
    }
    db.drop_database().await;
}

#[tokio::test]
async fn instances_migrate_an_empty_database_once_sqlite() {
    instances_migrate_an_empty_database_once(Backend::Sqlite).await;
}

#[tokio::test]
async fn instances_migrate_an_empty_database_once_postgres() {
    instances_migrate_an_empty_database_once(Backend::Postgres).await;
}

#[tokio::test]
async fn instances_migrate_an_empty_database_once_mysql() {
    instances_migrate_an_empty_database_once(Backend::Mysql).await;
}
