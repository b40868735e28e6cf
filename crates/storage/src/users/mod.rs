//! `UserRepository` on SQL. A user is written with its meta_data, its business contact and
//! what comes along (replay record, idempotency completion) in one transaction.
//!
//! - `rows`: the rows of a user, and back to a `User` through the domain.
//! - `create`: a create prepared (rows built, SSN sealed, answer rendered); bulk seeding.
//! - `batch`: prepared creates, group-committed alone or in batches.
//! - `fold`: PostgreSQL, a batch's rows and its endpoints' select as one statement.
//! - `changes`: lifecycle changes and partial updates, the row locked.
//! - `reads`: one user, a page, the audit trail.
//! - `across`: the console's search across programs, a keyset page at a time.
//! - `order`: the listings' newest-first order and their filters besides program and term.
//! - `narrow`: PostgreSQL, a search page and its total from the narrow search table.
//! - `walk`: SQLite, a search page read from the FTS index newest first, stopping early.
//! - `explain`: the database's plan of a listing (which index a search uses).

mod across;
pub(crate) mod batch;
pub(crate) mod changes;
mod create;
mod explain;
mod fold;
mod narrow;
mod order;
mod reads;
pub(crate) mod rows;
mod walk;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{NewUser, ProgramId, RawNewUser, User, UserChange, UserId, UserQuery};

pub use explain::ListingPlan;
pub use narrow::NARROW_READ;

use crate::SqlStore;
use crate::along::{Along, Outcome};
use crate::error::StorageError;
use crate::repo::{Audit, NewUserIds, Page, UserEvent, UserRepository};

#[async_trait]
impl UserRepository for SqlStore {
    #[tracing::instrument(level = "debug", skip(self, user, along), fields(program = %program, user = %ids.user))]
    async fn create_user(
        &self,
        program: ProgramId,
        ids: NewUserIds,
        user: &NewUser,
        now: DateTime<Utc>,
        along: Along<User>,
    ) -> Result<Outcome<User>, StorageError> {
        create::create(self, program, ids, user, now, along).await
    }

    #[tracing::instrument(level = "debug", skip(self, audit, along), fields(program = %program, user = %id, ?change))]
    async fn change_user(
        &self,
        program: ProgramId,
        id: UserId,
        change: UserChange,
        audit: Audit<'_>,
        now: DateTime<Utc>,
        along: Along<User>,
    ) -> Result<Outcome<User>, StorageError> {
        changes::change(self, program, id, change, audit, now, along).await
    }

    #[tracing::instrument(level = "debug", skip(self, raw, ctx, along), fields(program = %program, user = %id))]
    async fn update_user(
        &self,
        program: ProgramId,
        id: UserId,
        raw: &RawNewUser,
        ctx: domain::ParseContext,
        now: DateTime<Utc>,
        along: Along<User>,
    ) -> Result<Outcome<User>, StorageError> {
        changes::update(self, program, id, raw, ctx, now, along).await
    }

    async fn user_events(
        &self,
        program: ProgramId,
        id: UserId,
    ) -> Result<Vec<UserEvent>, StorageError> {
        reads::events(self, program, id).await
    }

    async fn user_program(&self, id: UserId) -> Result<Option<ProgramId>, StorageError> {
        reads::program_of(self, id).await
    }

    #[tracing::instrument(level = "debug", skip(self, query), fields(program = %program))]
    async fn list_users(
        &self,
        program: ProgramId,
        query: &UserQuery,
    ) -> Result<Page<User>, StorageError> {
        let backend = sea_orm::ConnectionTrait::get_database_backend(&self.db);
        match narrow::served(backend, query) {
            Some(term) => narrow::list(self, program, &term, query).await,
            None => reads::list(self, program, query).await,
        }
    }

    #[tracing::instrument(level = "debug", skip(self), fields(program = %program, user = %id))]
    async fn get_user(&self, program: ProgramId, id: UserId) -> Result<Option<User>, StorageError> {
        reads::get(self, program, id).await
    }
}
