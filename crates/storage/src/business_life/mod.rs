//! `BusinessLifecycle` on SQL: everything a business goes through after its creation (SPEC
//! §9) — partial updates, block/unblock, KYB, beneficial owners, the listing — each change in
//! one transaction with the business row locked, the domain deciding, storage persisting,
//! and an audit event (`business_events`) written with it.
//!
//! - `entity`: the tables of migration 12.
//! - `changes`: the row lock, updates, lifecycle changes and their events.
//! - `owners`: adding, removing and listing beneficial owners.
//! - `reads`: the listing (and its one search function), the audit trail, the KYB queue.

mod changes;
pub(crate) mod entity;
mod owners;
mod reads;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    Business, BusinessChange, BusinessId, BusinessOwner, BusinessOwnerId, BusinessQuery,
    NewBusinessOwner, PageRequest, ProgramId, RawNewBusiness,
};

use crate::SqlStore;
use crate::along::{Along, Outcome};
use crate::error::StorageError;
use crate::repo::{Audit, BusinessEvent, BusinessLifecycle, Page};

#[async_trait]
impl BusinessLifecycle for SqlStore {
    #[tracing::instrument(level = "debug", skip(self, raw, audit, along), fields(program = %program, business = %id))]
    async fn update_business(
        &self,
        program: ProgramId,
        id: BusinessId,
        raw: &RawNewBusiness,
        now: DateTime<Utc>,
        audit: Audit<'_>,
        along: Along<Business>,
    ) -> Result<Outcome<Business>, StorageError> {
        changes::update(self, program, id, raw, now, audit, along).await
    }

    #[tracing::instrument(level = "debug", skip(self, audit, along), fields(program = %program, business = %id, ?change))]
    async fn change_business(
        &self,
        program: ProgramId,
        id: BusinessId,
        change: BusinessChange,
        audit: Audit<'_>,
        now: DateTime<Utc>,
        along: Along<Business>,
    ) -> Result<Outcome<Business>, StorageError> {
        changes::change(self, program, id, change, audit, now, along).await
    }

    #[tracing::instrument(level = "debug", skip(self, owner, audit, along), fields(program = %program, owner = %id))]
    async fn add_business_owner(
        &self,
        program: ProgramId,
        id: BusinessOwnerId,
        owner: &NewBusinessOwner,
        audit: Audit<'_>,
        now: DateTime<Utc>,
        along: Along<BusinessOwner>,
    ) -> Result<Outcome<BusinessOwner>, StorageError> {
        owners::add(self, program, id, owner, audit, now, along).await
    }

    #[tracing::instrument(level = "debug", skip(self, audit, along), fields(program = %program, business = %business, owner = %owner))]
    async fn remove_business_owner(
        &self,
        program: ProgramId,
        business: BusinessId,
        owner: BusinessOwnerId,
        audit: Audit<'_>,
        now: DateTime<Utc>,
        along: Along<BusinessOwner>,
    ) -> Result<Outcome<BusinessOwner>, StorageError> {
        owners::remove(self, program, business, owner, audit, now, along).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(program = %program, business = %business))]
    async fn business_owners(
        &self,
        program: ProgramId,
        business: BusinessId,
        page: PageRequest,
    ) -> Result<Option<Page<BusinessOwner>>, StorageError> {
        owners::list(self, program, business, page).await
    }

    #[tracing::instrument(level = "debug", skip(self, query), fields(program = %program))]
    async fn list_businesses(
        &self,
        program: ProgramId,
        query: &BusinessQuery,
    ) -> Result<Page<Business>, StorageError> {
        reads::list(self, program, query).await
    }

    async fn business_events(
        &self,
        program: ProgramId,
        id: BusinessId,
    ) -> Result<Vec<BusinessEvent>, StorageError> {
        reads::events(self, program, id).await
    }

    async fn business_program(&self, id: BusinessId) -> Result<Option<ProgramId>, StorageError> {
        reads::program_of(self, id).await
    }
}
