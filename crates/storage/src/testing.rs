//! Test support shared by the storage contract suite and the black-box service tests: a
//! fresh, migrated database per test on SQLite, PostgreSQL or MariaDB/MySQL.

use std::path::PathBuf;

use sea_orm::{ConnectionTrait as _, Database};

use crate::{DatabaseConfig, Keyring, SqlStore};

/// Which server a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// A temporary file.
    Sqlite,
    /// `ONBOARD_TEST_POSTGRES_URL`.
    Postgres,
    /// `ONBOARD_TEST_MYSQL_URL`.
    Mysql,
}

impl Backend {
    /// The variable naming the server, if any.
    pub fn env(self) -> Option<&'static str> {
        match self {
            Self::Sqlite => None,
            Self::Postgres => Some("ONBOARD_TEST_POSTGRES_URL"),
            Self::Mysql => Some("ONBOARD_TEST_MYSQL_URL"),
        }
    }
}

/// A fresh database with the real migrations applied.
#[derive(Debug)]
pub struct TestDatabase {
    /// The server kind.
    pub backend: Backend,
    /// The database's URL.
    pub url: String,
    /// The SQLite file, if SQLite.
    pub sqlite_path: Option<PathBuf>,
    admin_url: Option<String>,
    name: String,
}

/// Replaces the database name (the URL's path) of a server URL.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| i + scheme_end);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl TestDatabase {
    /// Creates an empty database on `backend`. `Ok(None)` when that server is not configured
    /// and `CI` is not `true`; an error when it is configured but cannot be reached, or when
    /// `CI=true` and it is not configured.
    pub async fn create(backend: Backend) -> Result<Option<Self>, String> {
        let name = format!("onboard_t_{}", uuid::Uuid::new_v4().simple());
        let Some(var) = backend.env() else {
            let path = std::env::temp_dir().join(format!("{name}.sqlite"));
            return Ok(Some(Self {
                backend,
                url: format!("sqlite://{}?mode=rwc", path.display()),
                sqlite_path: Some(path),
                admin_url: None,
                name,
            }));
        };
        let Ok(admin) = std::env::var(var) else {
            if std::env::var("CI").as_deref() == Ok("true") {
                return Err(format!("{var} must be set when CI=true"));
            }
            return Ok(None);
        };
        let admin_db = Database::connect(&admin)
            .await
            .map_err(|e| format!("{var} is set but the server is unreachable: {e}"))?;
        admin_db
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| format!("CREATE DATABASE failed: {e}"))?;
        let _ = admin_db.close().await;
        Ok(Some(Self {
            backend,
            url: with_database(&admin, &name),
            sqlite_path: None,
            admin_url: Some(admin),
            name,
        }))
    }

    /// Opens a migrated store on this database.
    pub async fn store(&self, keys: Keyring) -> Result<SqlStore, String> {
        let mut config = DatabaseConfig::new(self.url.clone());
        config.max_connections = 8;
        SqlStore::open(&config, keys)
            .await
            .map_err(|e| e.to_string())
    }

    /// Drops the database (close every pool on it first).
    pub async fn drop_database(self) {
        if let Some(admin) = &self.admin_url
            && let Ok(admin_db) = Database::connect(admin).await
        {
            {
                let sql = match self.backend {
                    Backend::Postgres => {
                        format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)
                    }
                    _ => format!("DROP DATABASE IF EXISTS {}", self.name),
                };
                let _ = admin_db.execute_unprepared(&sql).await;
                let _ = admin_db.close().await;
            }
        }
        if let Some(path) = &self.sqlite_path {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
    }
}

impl SqlStore {
    /// Runs a raw `SELECT COUNT(*) …` (tests inspect what was written).
    pub async fn count_raw(&self, sql: &str) -> Result<i64, crate::StorageError> {
        use sea_orm::Statement;
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(backend, sql.to_owned()))
            .await?
            .ok_or(crate::StorageError::corrupt(
                "count",
                crate::Problem::Dangling,
            ))?;
        row.try_get_by_index::<i64>(0)
            .map_err(crate::StorageError::from)
    }
}

impl SqlStore {
    /// PostgreSQL: `ANALYZE` of the whole database, what autovacuum would do after a bulk
    /// seeding (the servers here run with it off); nothing elsewhere.
    pub async fn analyze(&self) -> Result<(), crate::StorageError> {
        use sea_orm::ConnectionTrait as _;
        if self.db.get_database_backend() == sea_orm::DbBackend::Postgres {
            self.db.execute_unprepared("ANALYZE").await?;
        }
        Ok(())
    }

    /// Marks every user of `program` still at `not_started` KYC-requested (`pending`) in one
    /// statement, with no audit row and no event: seeding for benchmarks of work that concerns
    /// submitted users (the rescreen). The users must have what KYC needs on file.
    pub async fn seed_kyc_requested(
        &self,
        program: domain::ProgramId,
    ) -> Result<u64, crate::StorageError> {
        use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _};
        let done = crate::entity::users::Entity::update_many()
            .col_expr(
                crate::entity::users::Column::KycStatus,
                domain::KycStatus::Pending.as_str().into(),
            )
            .filter(crate::entity::users::Column::ProgramId.eq(program.uuid().to_string()))
            .filter(
                crate::entity::users::Column::KycStatus.eq(domain::KycStatus::NotStarted.as_str()),
            )
            .exec(&self.db)
            .await?;
        Ok(done.rows_affected)
    }
}
