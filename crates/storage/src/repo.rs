//! The repository traits: domain types in, domain types out; one transaction per method.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    Business, BusinessChange, BusinessContact, BusinessId, BusinessOwner, BusinessOwnerId,
    BusinessQuery, ContactId, ContactQuery, NewBusiness, NewBusinessOwner, NewUser, PageRequest,
    ProgramId, RawNewBusiness, User, UserChange, UserId, UserQuery,
};

pub use crate::page::{COUNTED_TOTAL_CAP, Page};

use crate::along::{Along, Outcome};
use crate::error::StorageError;
use crate::idempotency::IdempotencyRepository;
use crate::operators::OperatorAction;
use crate::replay::ReplayGuard;
use crate::secret::SecretString;

/// The credentials of a new program, shown once.
#[derive(Debug)]
pub struct IssuedCredentials {
    /// The program.
    pub program_id: ProgramId,
    /// Its API key (only the argon2id hash is stored).
    pub api_key: SecretString,
    /// The public key id inside the API key.
    pub api_key_id: String,
    /// The HMAC username.
    pub hmac_username: String,
    /// The HMAC secret (stored encrypted).
    pub hmac_secret: SecretString,
}

/// A program as listed by the CLI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProgramSummary {
    /// Id.
    pub program_id: ProgramId,
    /// Name.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Ids of API keys that are not revoked.
    pub active_api_key_ids: Vec<String>,
    /// HMAC usernames that are not revoked.
    pub hmac_usernames: Vec<String>,
    /// HMAC usernames rotated out but still valid, and until when.
    pub hmac_retiring: Vec<(String, DateTime<Utc>)>,
    /// When the program was disabled, if it is.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A new HMAC credential issued by [`ProgramRepository::rotate_hmac`], shown once.
#[derive(Debug)]
pub struct RotatedHmac {
    /// The new username.
    pub username: String,
    /// The new secret (stored encrypted).
    pub secret: SecretString,
    /// The program's previous usernames, still valid until `old_valid_until`.
    pub retiring: Vec<String>,
    /// When the previous usernames stop verifying.
    pub old_valid_until: DateTime<Utc>,
}

/// An API key that matched a stored, unrevoked hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedApiKey {
    /// The key's public id.
    pub key_id: String,
    /// Its program.
    pub program_id: ProgramId,
}

/// An HMAC credential with its decrypted secret.
#[derive(Debug)]
pub struct HmacCredential {
    /// The program it belongs to.
    pub program_id: ProgramId,
    /// The shared secret.
    pub secret: SecretString,
}

/// Programs, API keys and HMAC credentials. Every operator change is recorded in
/// `operator_actions` (who, what, when) in the same transaction as the change.
#[async_trait]
pub trait ProgramRepository: Send + Sync {
    /// Creates a program with one API key and one HMAC credential, in one transaction,
    /// recorded as `by`.
    async fn create_program_by(
        &self,
        name: &str,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<IssuedCredentials, StorageError>;
    /// [`ProgramRepository::create_program_by`] for set-ups (tests, benchmarks), recorded
    /// with the actor `setup`.
    async fn create_program(
        &self,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<IssuedCredentials, StorageError> {
        let by = OperatorAction::new("setup", format!("program create --name {name}"));
        self.create_program_by(name, now, &by).await
    }
    /// Every program with its active key ids.
    async fn list_programs(&self) -> Result<Vec<ProgramSummary>, StorageError>;
    /// Issues a new API key for the program and revokes the others, in one transaction.
    async fn rotate_api_key(
        &self,
        program: ProgramId,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<(String, SecretString), StorageError>;
    /// Revokes one API key by its id.
    async fn revoke_api_key(
        &self,
        key_id: &str,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<(), StorageError>;
    /// Issues a new HMAC credential for the program; its current ones stay valid until
    /// `now + overlap` (one retiring sooner keeps its earlier end), then stop.
    async fn rotate_hmac(
        &self,
        program: ProgramId,
        overlap: chrono::Duration,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<RotatedHmac, StorageError>;
    /// Revokes one HMAC credential by its username, at once (also one within its overlap).
    async fn revoke_hmac(
        &self,
        username: &str,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<(), StorageError>;
    /// Disables (`disabled`) or enables a program: a disabled program's API keys and HMAC
    /// credentials verify nothing. Answers whether anything changed (recorded either way).
    async fn set_program_disabled(
        &self,
        program: ProgramId,
        disabled: bool,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<bool, StorageError>;
    /// Finds the unrevoked key of an enabled program by its keyed lookup digest and verifies
    /// its argon2id hash (off the async executor). `None` when unknown, revoked, wrong or its
    /// program is disabled.
    async fn verify_api_key(&self, presented: &str)
    -> Result<Option<VerifiedApiKey>, StorageError>;
    /// Whether the key id is still unrevoked and its program enabled (for cache
    /// revalidation, no argon2).
    async fn api_key_active(&self, key_id: &str) -> Result<bool, StorageError>;
    /// The HMAC credential of `username`, decrypted, unless it is revoked (its `revoked_at`
    /// passed, by the system clock) or its program is disabled.
    async fn hmac_credential(&self, username: &str)
    -> Result<Option<HmacCredential>, StorageError>;
}

/// Ids the caller generates for a user create.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewUserIds {
    /// The user's id.
    pub user: UserId,
    /// The business contact's id (used only when the user is linked to a business).
    pub contact: ContactId,
}

/// Who caused a change and why, for the audit trail.
#[derive(Clone, Copy, Debug)]
pub struct Audit<'a> {
    /// `api_key:<key id>`, `operator`, `verifier:sandbox`, …
    pub actor: &'a str,
    /// Why, if given.
    pub reason: Option<&'a str>,
}

/// One audited transition of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserEvent {
    /// `status` or `kyc`.
    pub kind: String,
    /// State before.
    pub from: String,
    /// State after.
    pub to: String,
    /// Why, if given.
    pub reason: Option<String>,
    /// Who.
    pub actor: String,
    /// When.
    pub at: DateTime<Utc>,
}

/// Users.
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Writes the user, its meta_data and its business contact, with what comes `along`, in
    /// ONE transaction (group-committed with concurrent creates); on a unique violation
    /// nothing is written and the conflicting field is named; a `business_id` of no business
    /// of the program is [`StorageError::MissingReference`]; if the idempotency claim along
    /// was lost, nothing is written ([`crate::ConflictCode::ClaimLost`]).
    async fn create_user(
        &self,
        program: ProgramId,
        ids: NewUserIds,
        user: &NewUser,
        now: DateTime<Utc>,
        along: Along<User>,
    ) -> Result<Outcome<User>, StorageError>;
    /// One user of the program; another program's user is `None`.
    async fn get_user(&self, program: ProgramId, id: UserId) -> Result<Option<User>, StorageError>;
    /// Applies a lifecycle change in one transaction: the user row is locked (a no-op write,
    /// portable across the three databases), the domain decides, the new state and an audit
    /// event are written, with what comes `along`.
    async fn change_user(
        &self,
        program: ProgramId,
        id: UserId,
        change: UserChange,
        audit: Audit<'_>,
        now: DateTime<Utc>,
        along: Along<User>,
    ) -> Result<Outcome<User>, StorageError>;
    /// A partial update in one transaction (the row locked, the domain's `User::update`
    /// deciding, a new SSN re-encrypted and its blind index re-checked by the unique
    /// constraint, meta_data replaced when given), with what comes `along`.
    async fn update_user(
        &self,
        program: ProgramId,
        id: UserId,
        raw: &domain::RawNewUser,
        ctx: domain::ParseContext,
        now: DateTime<Utc>,
        along: Along<User>,
    ) -> Result<Outcome<User>, StorageError>;
    /// The audit trail of a user, oldest first.
    async fn user_events(
        &self,
        program: ProgramId,
        id: UserId,
    ) -> Result<Vec<UserEvent>, StorageError>;
    /// The program a user belongs to (for operator commands that name only the user).
    async fn user_program(&self, id: UserId) -> Result<Option<ProgramId>, StorageError>;
    /// A page of the program's users matching the query, and the total.
    async fn list_users(
        &self,
        program: ProgramId,
        query: &UserQuery,
    ) -> Result<Page<User>, StorageError>;
}

/// Businesses.
#[async_trait]
pub trait BusinessRepository: Send + Sync {
    /// Writes the business and its meta_data in one transaction, with what comes `along`.
    async fn create_business(
        &self,
        program: ProgramId,
        id: BusinessId,
        business: &NewBusiness,
        now: DateTime<Utc>,
        along: Along<Business>,
    ) -> Result<Outcome<Business>, StorageError>;
    /// One business of the program.
    async fn get_business(
        &self,
        program: ProgramId,
        id: BusinessId,
    ) -> Result<Option<Business>, StorageError>;
    /// A page of a business's contacts, newest first; `None` if the business is not the program's.
    async fn list_contacts(
        &self,
        program: ProgramId,
        query: &ContactQuery,
    ) -> Result<Option<Page<BusinessContact>>, StorageError>;
}

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

/// What happens to a business after its creation (SPEC §9), implemented in
/// `business_life`.
#[async_trait]
pub trait BusinessLifecycle: Send + Sync {
    /// A partial update in one transaction: the row locked, the domain's `Business::update`
    /// deciding (an incorporation date given is judged against `now`'s date), a new EIN re-encrypted and its blind index re-checked by the unique
    /// constraint (409 `duplicate`), meta_data replaced when given, an `updated` event.
    async fn update_business(
        &self,
        program: ProgramId,
        id: BusinessId,
        raw: &RawNewBusiness,
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
}

/// Every repository, as the API holds them (`Arc<dyn Repositories>`), and what the API needs
/// of the store besides them.
#[async_trait]
pub trait Repositories:
    ProgramRepository
    + UserRepository
    + BusinessRepository
    + BusinessLifecycle
    + IdempotencyRepository
    + ReplayGuard
    + crate::events::webhooks::WebhookRepository
    + std::fmt::Debug
{
    /// A keyed digest of `message` under `label` (the blind-index key): reveals nothing of
    /// the message, and differs between labels.
    fn keyed_digest(&self, label: &str, message: &[u8]) -> String;
    /// Whether the database answers.
    async fn ping(&self) -> Result<(), StorageError>;
}
