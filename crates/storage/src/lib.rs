//! Onboard's storage: repository traits over SeaORM, field encryption and blind indexes.
//!
//! Entities are private; every method takes and returns `domain` types, and rows come back
//! through the domain constructors, so a corrupt row is an error rather than an invalid value.

mod along;
mod business_life;
mod businesses;
mod claims;
pub mod console;
mod crypto;
mod db;
mod entity;
mod error;
pub mod events;
mod group;
mod idempotency;
mod keychecks;
mod keyset;
mod operators;
mod page;
mod programs;
mod recordset;
mod replay;
mod repo;
mod rotate;
pub mod screening;
mod search;
mod secret;
#[doc(hidden)]
pub mod testing;
mod time;
mod users;

use sea_orm::DatabaseConnection;

pub use along::{Along, Completion, Origin, Outcome, Render};
pub use crypto::{Aad, CryptoError, KEY_LEN, Keyring, Sealed, SecretKey};
pub use db::{
    DatabaseConfig, SQLITE_DEFAULT_CACHE_MIB, SqliteDurability, autovacuum_off, backend, connect,
    connect_migrated, migrate, migrate_on, ping,
};
pub use error::{
    ConflictCode, ConflictField, Entity, InternalError, Problem, Reference, StorageError,
    UNIQUE_CONSTRAINTS,
};
pub use events::delivery::{AttemptRecord, ClaimedDelivery, EndpointEffect, NextStep};
pub use events::outcomes::Attempted;
pub use events::reads::{Attempt, StoredEvent};
pub use events::webhooks::{Webhook, WebhookRepository};
pub use events::{EventViews, NewEvent, Subject};
pub use idempotency::{Claim, IdempotencyRepository, MAX_STORED_ANSWER};
pub use keychecks::{BLIND_INDEX_CHECK_ID, KeyMismatch, holds_sealed_data};
pub use keyset::{KeysetPage, MAX_KEYSET_PAGE, PageKey, Seek};
pub use operators::{OperatorAction, RecordedAction};
pub use replay::{ReplayGuard, Signature};
pub use repo::{
    Audit, BusinessEvent, BusinessLifecycle, BusinessRepository, COUNTED_TOTAL_CAP, HmacCredential,
    IssuedCredentials, NewUserIds, Page, ProgramRepository, ProgramSummary, Repositories,
    RotatedHmac, UserEvent, UserRepository, VerifiedApiKey,
};
pub use rotate::{RotationPlan, RotationReport};
pub use sea_orm::DbBackend;
pub use search::RECENT_WINDOW;
pub use secret::SecretString;
pub use users::ListingPlan;
pub use users::NARROW_READ;

/// The SQL implementation of every repository trait.
#[derive(Clone, Debug)]
pub struct SqlStore {
    db: DatabaseConnection,
    keys: Keyring,
    /// Creates waiting for their batch (group commit).
    creates: std::sync::Arc<users::batch::Creates>,
    /// Replay-guard records waiting for their multi-row insert.
    signatures: std::sync::Arc<group::Queue<Signature>>,
    /// How entities appear in their events.
    views: events::EventViews,
    /// The instance's delivery worker, when this store dispatches to one
    /// ([`SqlStore::dispatching`]).
    dispatch: Option<std::sync::Arc<events::dispatch::Dispatch>>,
}

impl SqlStore {
    /// A store over an open (and migrated) connection.
    pub fn new(db: DatabaseConnection, keys: Keyring) -> Self {
        Self::with_create_batches(db, keys, 0)
    }

    /// [`SqlStore::new`] with at most `batches_at_once` batches of creates written at once
    /// (group commit; 0 for the default: see [`DatabaseConfig::create_batches`]).
    pub fn with_create_batches(
        db: DatabaseConnection,
        keys: Keyring,
        batches_at_once: usize,
    ) -> Self {
        let overlap_commits = !matches!(
            sea_orm::ConnectionTrait::get_database_backend(&db),
            sea_orm::DatabaseBackend::Sqlite
        );
        let batches_at_once = match batches_at_once {
            0 => group::BATCHES_AT_ONCE,
            n => n,
        };
        Self {
            db,
            keys,
            creates: std::sync::Arc::new(users::batch::Creates::new(
                batches_at_once,
                overlap_commits,
            )),
            signatures: std::sync::Arc::new(group::Queue::new(batches_at_once)),
            views: events::EventViews::default(),
            dispatch: None,
        }
    }

    /// The store with entities shown in their events as `views` shows them (the API's own
    /// answers).
    #[must_use]
    pub fn with_event_views(mut self, views: events::EventViews) -> Self {
        self.views = views;
        self
    }

    /// Connects, migrates, and returns the store.
    pub async fn open(config: &DatabaseConfig, keys: Keyring) -> Result<Self, StorageError> {
        let db = connect_migrated(config).await?;
        Ok(Self::with_create_batches(db, keys, config.create_batches))
    }

    /// The underlying connection (for readiness checks and tests).
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.keys
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), StorageError> {
        ping(&self.db).await
    }
}

#[async_trait::async_trait]
impl Repositories for SqlStore {
    fn keyed_digest(&self, label: &str, message: &[u8]) -> String {
        self.keys.blind_index(label, message)
    }

    async fn ping(&self) -> Result<(), StorageError> {
        ping(&self.db).await
    }
}
