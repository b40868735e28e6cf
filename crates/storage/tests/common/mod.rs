//! Test support: a fresh, migrated database per test on SQLite, PostgreSQL and MariaDB.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use sea_orm::{ConnectionTrait as _, Database};
use storage::{DatabaseConfig, Keyring, SecretKey, SqlStore};

/// Which server a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl Backend {
    fn env(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some("ONBOARD_TEST_POSTGRES_URL"),
            Self::Mysql => Some("ONBOARD_TEST_MYSQL_URL"),
        }
    }
}

/// A fresh database with the real migrations applied, and how to drop it.
pub struct TestDb {
    pub backend: Backend,
    pub store: SqlStore,
    pub url: String,
    admin_url: Option<String>,
    name: String,
    pub sqlite_path: Option<PathBuf>,
}

/// A keyring with two data keys (`k1` active) and a blind-index key.
pub fn keyring(active: &str, keys: &[(&str, &SecretKey)], blind: &SecretKey) -> Keyring {
    Keyring::new(
        keys.iter().map(|(id, k)| ((*id).to_owned(), (*k).clone())),
        active,
        blind.clone(),
    )
    .unwrap()
}

pub struct Keys {
    pub k1: SecretKey,
    pub k2: SecretKey,
    pub blind: SecretKey,
}

impl Keys {
    pub fn new() -> Self {
        Self {
            k1: SecretKey::generate().unwrap(),
            k2: SecretKey::generate().unwrap(),
            blind: SecretKey::generate().unwrap(),
        }
    }
    pub fn ring_k1(&self) -> Keyring {
        keyring("k1", &[("k1", &self.k1)], &self.blind)
    }
}

fn unique_name() -> String {
    format!("onboard_t_{}", uuid::Uuid::new_v4().simple())
}

/// Replaces the database name (the URL's path) of a server URL.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| i + scheme_end);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// A fresh migrated database on `backend`, or `None` when that server is not configured
/// (outside CI). A configured server that cannot be reached fails the test.
pub async fn fresh(backend: Backend, keys: Keyring) -> Option<TestDb> {
    let name = unique_name();
    let (url, admin_url, sqlite_path) = match backend.env() {
        None => {
            let path = std::env::temp_dir().join(format!("{name}.sqlite"));
            (format!("sqlite://{}?mode=rwc", path.display()), None, Some(path))
        }
        Some(var) => {
            let Ok(admin) = std::env::var(var) else {
                assert!(
                    std::env::var("CI").as_deref() != Ok("true"),
                    "{var} must be set when CI=true"
                );
                eprintln!("skipped: {var} is not set");
                return None;
            };
            let admin_db = Database::connect(&admin)
                .await
                .unwrap_or_else(|e| panic!("{var} is set but the server is unreachable: {e}"));
            admin_db
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            admin_db.close().await.unwrap();
            (with_database(&admin, &name), Some(admin), None)
        }
    };
    let mut config = DatabaseConfig::new(url.clone());
    config.max_connections = 8;
    let store = SqlStore::open(&config, keys).await.unwrap();
    Some(TestDb {
        backend,
        store,
        url,
        admin_url,
        name,
        sqlite_path,
    })
}

impl TestDb {
    /// Closes the pool and drops the database.
    pub async fn cleanup(self) {
        let _ = self.store.connection().clone().close().await;
        if let Some(admin) = self.admin_url {
            let admin_db = Database::connect(&admin).await.unwrap();
            let sql = match self.backend {
                Backend::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
                _ => format!("DROP DATABASE IF EXISTS {}", self.name),
            };
            admin_db.execute_unprepared(&sql).await.unwrap();
            let _ = admin_db.close().await;
        }
        if let Some(path) = self.sqlite_path {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

/// Declares one contract test run on each backend: `name::sqlite`, `name::postgres`, `name::mysql`.
#[macro_export]
macro_rules! contract {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;
            async fn run(backend: common::Backend) {
                let keys = common::Keys::new();
                let Some(db) = common::fresh(backend, keys.ring_k1()).await else {
                    return;
                };
                $body(&db, &keys).await;
                db.cleanup().await;
            }
            #[tokio::test]
            async fn sqlite() {
                run(common::Backend::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                run(common::Backend::Postgres).await;
            }
            #[tokio::test]
            async fn mysql() {
                run(common::Backend::Mysql).await;
            }
        }
    };
}
