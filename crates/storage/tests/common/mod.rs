//! Test support for the contract suite: keys, and a fresh migrated store per test.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

pub use storage::testing::Backend;
use storage::testing::TestDatabase;
use storage::{Keyring, SecretKey, SqlStore};

/// A fresh database and a store on it.
pub struct TestDb {
    pub backend: Backend,
    pub store: SqlStore,
    pub sqlite_path: Option<PathBuf>,
    db: TestDatabase,
}

/// A keyring over the given keys.
pub fn keyring(active: &str, keys: &[(&str, &SecretKey)], blind: &SecretKey) -> Keyring {
    Keyring::new(
        keys.iter().map(|(id, k)| ((*id).to_owned(), (*k).clone())),
        active,
        blind.clone(),
    )
    .unwrap()
}

/// Two data keys and a blind-index key.
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

/// A fresh migrated store on `backend`, or `None` when that server is not configured.
pub async fn fresh(backend: Backend, keys: Keyring) -> Option<TestDb> {
    let db = TestDatabase::create(backend).await.unwrap()?;
    let store = db.store(keys).await.unwrap();
    Some(TestDb {
        backend,
        store,
        sqlite_path: db.sqlite_path.clone(),
        db,
    })
}

impl TestDb {
    /// The database's URL (to open a second store on it, as a second instance would).
    pub fn url(&self) -> &str {
        &self.db.url
    }

    /// The first column of the first row of `sql`, a count.
    pub async fn count(&self, sql: &str) -> i64 {
        use sea_orm::ConnectionTrait as _;
        let conn = self.store.connection();
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                conn.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }

    /// Closes the pool and drops the database.
    pub async fn cleanup(self) {
        let _ = self.store.connection().clone().close().await;
        self.db.drop_database().await;
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
                    eprintln!("skipped: {:?} is not configured", backend);
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
