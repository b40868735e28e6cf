//! What commits with a change: the records that must be written in the same transaction as
//! the work they belong to, carried as one value ([`Along`]) through every write method.
//!
//! That is the replay guard's record of the request's signature, the completion of its
//! claimed `Idempotency-Key`, and the origin of the change (who, through which request),
//! which the change's outbox event (`events`) carries.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseTransaction};

use crate::error::{InternalError, StorageError};
use crate::replay::Signature;

/// Renders the answer of a successful change from the changed value, inside the change's
/// transaction, so that the stored answer is the one the caller gets.
pub type Render<T> = fn(&T) -> Result<String, serde_json::Error>;

/// A claimed idempotency key to complete with the change's answer (status 200).
pub struct Completion<T> {
    /// The claimed key.
    pub key: String,
    /// The `now` given to the `claim` that returned `Claimed`: the fencing token, so that a
    /// holder whose claim was taken over after its lease cannot complete it.
    pub claimed_at: DateTime<Utc>,
    /// Renders the answer.
    pub render: Render<T>,
}

/// `Debug` shows the key, never an answer (personal data).
impl<T> std::fmt::Debug for Completion<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Completion")
            .field("key", &self.key)
            .field("claimed_at", &self.claimed_at)
            .finish_non_exhaustive()
    }
}

/// Everything written with a change of a `T`, in the change's own transaction.
#[derive(Debug)]
pub struct Along<T> {
    /// The request's signature, recorded first (a replay writes nothing).
    pub replay: Option<Signature>,
    /// The idempotency key completed last, with the answer rendered from the change.
    pub idempotency: Option<Completion<T>>,
    /// Who asked and through which request: the `actor` and `request` of the change's event.
    pub origin: Origin,
    /// A sanctions screening of the changed user (at `send-verification-request`), recorded
    /// by `UserRepository::change_user` in the change's transaction before the answer is
    /// rendered: a refused change records no screening. Other write methods ignore it.
    pub screening: Option<crate::screening::ScreeningWrite>,
}

/// Who caused a change and through which request, as its event tells it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origin {
    /// `api_key:<key id>`, `operator`, `verifier:<name>`, …; `None`: the method's default
    /// (the audit's actor for lifecycle changes, else `operator`).
    pub actor: Option<String>,
    /// The request's `X-Request-Id`, if any.
    pub request_id: Option<String>,
}

impl<T> Along<T> {
    /// The `Idempotency-Key` of the request, if it claimed one.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency.as_ref().map(|c| c.key.as_str())
    }

    /// The event's actor: the origin's, else `default`.
    pub(crate) fn actor_or<'a>(&'a self, default: &'a str) -> &'a str {
        self.origin.actor.as_deref().unwrap_or(default)
    }
}

impl<T> Along<T> {
    /// Nothing along (operator commands, the KYC worker, tests).
    pub fn nothing() -> Self {
        Self {
            replay: None,
            idempotency: None,
            origin: Origin::default(),
            screening: None,
        }
    }

    /// Nothing along but the actor of the change's event (`operator`, `verifier:<name>`).
    pub fn by(actor: impl Into<String>) -> Self {
        Self {
            origin: Origin {
                actor: Some(actor.into()),
                request_id: None,
            },
            ..Self::nothing()
        }
    }
}

/// What a write did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Outcome<T> {
    /// The change committed, with everything along.
    Written(T),
    /// The request's signature was already recorded: nothing was written.
    Replayed,
}

impl<T> Outcome<T> {
    /// The written value, `None` for a replay.
    pub fn written(self) -> Option<T> {
        match self {
            Self::Written(value) => Some(value),
            Self::Replayed => None,
        }
    }
}

/// An idempotency completion with its answer already rendered (a create waiting in a batch).
pub(crate) struct RenderedCompletion {
    pub(crate) key: String,
    pub(crate) claimed_at: DateTime<Utc>,
    pub(crate) body: String,
}

impl<T> Completion<T> {
    /// Renders the answer for `value`.
    pub(crate) fn rendered(&self, value: &T) -> Result<RenderedCompletion, StorageError> {
        Ok(RenderedCompletion {
            key: self.key.clone(),
            claimed_at: self.claimed_at,
            body: (self.render)(value).map_err(InternalError::Render)?,
        })
    }
}

impl RenderedCompletion {
    /// Marks the claimed record completed with this answer, on `conn`.
    pub(crate) async fn write(
        &self,
        conn: &impl ConnectionTrait,
        program: domain::ProgramId,
    ) -> Result<(), StorageError> {
        crate::idempotency::complete_in(conn, program, &self.key, self.claimed_at, 200, &self.body)
            .await
    }
}

impl crate::SqlStore {
    /// Begins the transaction of a change: records the signature first, so that a replay is
    /// refused before anything else is tried (and so that on SQLite the transaction takes the
    /// write lock at once). `None`: a replay, nothing written, the transaction rolled back.
    pub(crate) async fn begin_once(
        &self,
        replay: Option<&Signature>,
    ) -> Result<Option<DatabaseTransaction>, StorageError> {
        let txn = crate::db::begin_write(&self.db).await?;
        if let Some(signature) = replay {
            match crate::replay::first_use_in(&txn, signature).await {
                Ok(true) => {}
                Ok(false) => {
                    rollback(txn).await;
                    return Ok(None);
                }
                Err(e) => {
                    rollback(txn).await;
                    return Err(e);
                }
            }
        }
        Ok(Some(txn))
    }

    /// [`SqlStore::begin_once`] with the signature of `along`.
    pub(crate) async fn begin_along<T>(
        &self,
        along: &Along<T>,
    ) -> Result<Option<DatabaseTransaction>, StorageError> {
        self.begin_once(along.replay.as_ref()).await
    }

    /// Ends the transaction of a change: on success the completion is written and everything
    /// commits; on failure everything is rolled back.
    pub(crate) async fn commit_along<T>(
        &self,
        txn: DatabaseTransaction,
        program: domain::ProgramId,
        along: &Along<T>,
        result: Result<T, StorageError>,
    ) -> Result<Outcome<T>, StorageError> {
        let finished = match result {
            Ok(value) => match &along.idempotency {
                None => Ok(value),
                Some(completion) => match completion.rendered(&value) {
                    Ok(rendered) => rendered.write(&txn, program).await.map(|()| value),
                    Err(e) => Err(e),
                },
            },
            Err(e) => Err(e),
        };
        match finished {
            Ok(value) => {
                txn.commit().await?;
                Ok(Outcome::Written(value))
            }
            Err(e) => {
                rollback(txn).await;
                Err(e)
            }
        }
    }
}

/// Rolls back now, not when the connection is next used: the caller may write the request's
/// signature next, and an uncommitted row of this transaction would hold that insert's lock.
pub(crate) async fn rollback(txn: DatabaseTransaction) {
    if let Err(e) = txn.rollback().await {
        tracing::debug!(error = %e, "rollback failed");
    }
}
