//! The database's own plan of a user listing's statements, so that tests and the benchmark
//! can show which index a search uses instead of assuming it.

use domain::{ProgramId, UserQuery};
use sea_orm::{ConnectionTrait as _, DbBackend, QueryTrait as _, Statement};

use super::reads::{count_statement, index_page, recent_page, user_filter};
use crate::SqlStore;
use crate::error::StorageError;

/// The plans of a listing: its page statement, then its total's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListingPlan {
    /// The page statement's plan, one line per row of the database's answer.
    pub page: Vec<String>,
    /// The capped count's plan (what a filtered listing's total costs).
    pub total: Vec<String>,
    /// SQLite and PostgreSQL, a search term, newest first: the plan of the statement tried
    /// first, among the program's newest users (empty when the listing has none).
    pub recent: Vec<String>,
    /// PostgreSQL, a listing served by the narrow search table (`page` is then the plan of
    /// its statement of page and total, `total` that of the capped count used when the
    /// newest users fill the page): the plan of the walk along the program's newest users
    /// that reads the page of a term with more matches than `NARROW_READ` (empty otherwise).
    pub walk: Vec<String>,
}

impl SqlStore {
    /// `EXPLAIN` (SQLite: `EXPLAIN QUERY PLAN`) of the statements `list_users` runs for `q`,
    /// with the same values.
    pub async fn explain_user_listing(
        &self,
        program: ProgramId,
        q: &UserQuery,
    ) -> Result<ListingPlan, StorageError> {
        let backend = self.db.get_database_backend();
        if let Some(term) = super::narrow::served(backend, q) {
            let recent = match super::narrow::recent(program, q) {
                Some(stmt) => self.explain(stmt).await?,
                None => Vec::new(),
            };
            return Ok(ListingPlan {
                page: self
                    .explain(super::narrow::statement(program, &term, q))
                    .await?,
                total: self.explain(super::narrow::count(program, &term)).await?,
                recent,
                walk: self.explain(super::narrow::walk(program, &term, q)).await?,
            });
        }
        let filter = user_filter(backend, program, q);
        let page = index_page(backend, filter.clone(), q).build(backend);
        let total = count_statement(backend, program, filter, q);
        let recent = match recent_page(backend, program, q) {
            Some(recent) if backend == sea_orm::DbBackend::Sqlite => {
                self.explain(recent.build(backend)).await?
            }
            _ => Vec::new(),
        };
        Ok(ListingPlan {
            page: self.explain(page).await?,
            total: self.explain(total).await?,
            recent,
            walk: Vec::new(),
        })
    }

    /// The plan of the statement `search_users` runs for `programs` (at most 400) and `q` at
    /// `seek`, a page of 25.
    pub async fn explain_user_search(
        &self,
        programs: &[ProgramId],
        q: &UserQuery,
        seek: crate::Seek,
    ) -> Result<Vec<String>, StorageError> {
        let backend = self.db.get_database_backend();
        let Some(stmt) = super::across::statement(
            backend,
            programs,
            q,
            seek,
            25,
            super::across::Reading::Index,
        ) else {
            return Ok(Vec::new());
        };
        self.explain(backend.build(&stmt)).await
    }

    /// `EXPLAIN` (SQLite: `EXPLAIN QUERY PLAN`) of `stmt`, one line per row of the answer.
    pub(crate) async fn explain(&self, stmt: Statement) -> Result<Vec<String>, StorageError> {
        let backend = self.db.get_database_backend();
        let prefix = if backend == DbBackend::Sqlite {
            "EXPLAIN QUERY PLAN "
        } else {
            "EXPLAIN "
        };
        let explained = Statement {
            sql: format!("{prefix}{}", stmt.sql),
            ..stmt
        };
        let rows = self.db.query_all_raw(explained).await?;
        rows.iter()
            .map(|row| {
                Ok(match backend {
                    DbBackend::Sqlite => row.try_get::<String>("", "detail")?,
                    DbBackend::MySql => {
                        let text = |c: &str| {
                            row.try_get::<Option<String>>("", c)
                                .ok()
                                .flatten()
                                .unwrap_or_default()
                        };
                        format!(
                            "table={} type={} key={} rows={} extra={}",
                            text("table"),
                            text("type"),
                            text("key"),
                            row.try_get::<Option<u64>>("", "rows")
                                .ok()
                                .flatten()
                                .map_or_else(String::new, |r| r.to_string()),
                            text("Extra")
                        )
                    }
                    _ => row.try_get_by_index::<String>(0)?,
                })
            })
            .collect()
    }
}
