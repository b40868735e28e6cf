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
use chrono::{DateTime, NaiveDate, Utc};
use domain::{
    Business, BusinessChange, BusinessId, BusinessOwner, BusinessOwnerId, BusinessQuery,
    NewBusinessOwner, PageRequest, ProgramId, RawNewBusiness,
};

use crate::SqlStore;
use crate::along::{Along, Outcome};
use crate::error::StorageError;
use crate::repo::{Audit, Page};

/// One audited change of a business.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessEvent {
    /// `status`, `kyb`, `owner_added`, `owner_removed` or `updated`.
    pub kind: String,
    /// State before (status and KYB changes).
    pub from: Option<String>,
    /// State after (status and KYB changes).
    pub to: Option<String>,
    /// The owner (`bown-…`) of an owner event.
    pub subject: Option<String>,
    /// Why, if given.
    pub reason: Option<String>,
    /// Who.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// What happens to a business after its creation.
#[async_trait]
pub trait BusinessLifecycle: Send + Sync {
    /// A partial update in one transaction: the row locked, the domain's `Business::update`
    /// deciding, a new EIN re-encrypted and its blind index re-checked by the unique
    /// constraint (409 `duplicate`), meta_data replaced when given, an `updated` event.
    async fn update_business(
        &self,
        program: ProgramId,
        id: BusinessId,
        raw: &RawNewBusiness,
        today: NaiveDate,
        now: DateTime<Utc>,
        audit: Audit<'_>,
        along: Along<Business>,
    ) -> Result<Outcome<Business>, StorageError>;
    /// Applies a lifecycle change (block, unblock, KYB) in one transaction: the row locked,
    /// the domain deciding (with the number of owners on file), the new state and an audit
    /// event written.
    async fn change_business(
        &self,
        program: ProgramId,
        id: BusinessId,
        change: BusinessChange,
        audit: Audit<'_>,
        now: DateTime<Utc>,
        along: Along<Business>,
    ) -> Result<Outcome<Business>, StorageError>;
    /// Adds a beneficial owner in one transaction: the business row locked; its owners'
    /// shares kept summed on the row by a guarded update (the sum never passes 100 %, also
    /// under concurrent adds: a refusal is a 422 on `ownership_percent`); the user must be
    /// the program's ([`crate::Reference::UserId`]); a user already an owner or a second
    /// control person is refused by unique constraints (409).
    async fn add_business_owner(
        &self,
        program: ProgramId,
        id: BusinessOwnerId,
        owner: &NewBusinessOwner,
        audit: Audit<'_>,
        now: DateTime<Utc>,
        along: Along<BusinessOwner>,
    ) -> Result<Outcome<BusinessOwner>, StorageError>;
    /// Removes a beneficial owner (answered as it was) in one transaction, the business row
    /// locked and its sum lowered.
    async fn remove_business_owner(
        &self,
        program: ProgramId,
        business: BusinessId,
        owner: BusinessOwnerId,
        audit: Audit<'_>,
        now: DateTime<Utc>,
        along: Along<BusinessOwner>,
    ) -> Result<Outcome<BusinessOwner>, StorageError>;
    /// A page of a business's owners, oldest first, with each owner's KYC status; `None` if
    /// the business is not the program's.
    async fn business_owners(
        &self,
        program: ProgramId,
        business: BusinessId,
        page: PageRequest,
    ) -> Result<Option<Page<BusinessOwner>>, StorageError>;
    /// A page of the program's businesses matching the query, newest first, and the total.
    async fn list_businesses(
        &self,
        program: ProgramId,
        query: &BusinessQuery,
    ) -> Result<Page<Business>, StorageError>;
    /// The audit trail of a business, oldest first.
    async fn business_events(
        &self,
        program: ProgramId,
        id: BusinessId,
    ) -> Result<Vec<BusinessEvent>, StorageError>;
    /// The program a business belongs to (for operator commands that name only the business).
    async fn business_program(&self, id: BusinessId) -> Result<Option<ProgramId>, StorageError>;
    /// Businesses of any program whose KYB is `pending`, longest waiting first.
    async fn pending_kyb(&self, limit: u64)
    -> Result<Vec<(ProgramId, BusinessId)>, StorageError>;
}

#[async_trait]
impl BusinessLifecycle for SqlStore {
    #[tracing::instrument(level = "debug", skip(self, raw, audit, along), fields(program = %program, business = %id))]
    async fn update_business(
        &self,
        program: ProgramId,
        id: BusinessId,
        raw: &RawNewBusiness,
        today: NaiveDate,
        now: DateTime<Utc>,
        audit: Audit<'_>,
        along: Along<Business>,
    ) -> Result<Outcome<Business>, StorageError> {
        changes::update(self, program, id, raw, today, now, audit, along).await
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

    async fn pending_kyb(
        &self,
        limit: u64,
    ) -> Result<Vec<(ProgramId, BusinessId)>, StorageError> {
        reads::pending_kyb(self, limit).await
    }
}
