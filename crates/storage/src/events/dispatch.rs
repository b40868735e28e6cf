//! Direct dispatch: a user's creation writes its deliveries already leased to the instance
//! that writes them and, once its transaction has committed, hands them to that instance's
//! delivery worker — no poll to wait for, no claim, no second read of the event or of the
//! endpoint. Should the instance die first, the lease runs out and any instance's poll claims
//! them (at least once, as for every delivery). Only an entity's first event (sequence 1) is
//! dispatched so: no earlier delivery of the entity can be waiting, so the per-endpoint order
//! of the entity's events holds without the claim's check.
//!
//! Measured (`target/release/bench --no-sqlite --only webhooks`, PostgreSQL, docs/bench.md):
//! of a delivery's cost, the claim (the candidates' `SELECT … NOT EXISTS`, the lease
//! `UPDATE`, the events' and endpoints' reads) was ~40 %.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::{EventId, WebhookId};
use tokio::sync::mpsc;

use super::delivery::{ClaimedDelivery, uuid_of};
use super::entity::webhook_endpoints;
use crate::SqlStore;
use crate::error::StorageError;
use crate::secret::SecretString;
use crate::time::from_ms;

/// The instance's delivery worker, as the store sees it: where dispatched deliveries go, and
/// how long their lease is.
#[derive(Debug)]
pub(crate) struct Dispatch {
    lease: chrono::Duration,
    sender: mpsc::Sender<Vec<ClaimedDelivery>>,
}

/// The lease a transaction writes its dispatched deliveries with.
#[derive(Clone, Debug)]
pub(crate) struct Lease {
    /// The token (one per transaction).
    pub(crate) token: String,
    /// How long it holds from the event's time.
    pub(crate) duration: chrono::Duration,
}

/// A delivery written under a [`Lease`], sent once its transaction commits.
#[derive(Debug)]
pub(crate) struct Leased {
    pub(crate) id: String,
    pub(crate) event_id: EventId,
    pub(crate) endpoint: Arc<webhook_endpoints::Model>,
    pub(crate) body: String,
    pub(crate) due_since: DateTime<Utc>,
}

/// Dispatched batches a worker may have waiting before the store stops handing it more (the
/// rest wait for their lease to run out, then for a poll).
const WAITING_BATCHES: usize = 256;

impl SqlStore {
    /// The store with its creations' deliveries dispatched to the receiver it answers, leased
    /// for `lease` (the instance's delivery worker takes them from there; see the module).
    #[must_use]
    pub fn dispatching(
        mut self,
        lease: chrono::Duration,
    ) -> (Self, mpsc::Receiver<Vec<ClaimedDelivery>>) {
        let (sender, receiver) = mpsc::channel(WAITING_BATCHES);
        self.dispatch = Some(Arc::new(Dispatch { lease, sender }));
        (self, receiver)
    }

    /// A fresh lease for one transaction's dispatched deliveries, if this store dispatches.
    pub(crate) fn dispatch_lease(&self) -> Option<Lease> {
        let dispatch = self.dispatch.as_ref()?;
        // A worker that falls behind gets no more: the deliveries are written unleased, for
        // a poll, rather than leased to a queue that may not take them.
        if dispatch.sender.is_closed() || dispatch.sender.capacity() < WAITING_BATCHES / 2 {
            return None;
        }
        Some(Lease {
            token: uuid::Uuid::new_v4().to_string(),
            duration: dispatch.lease,
        })
    }

    /// Hands the deliveries written under `lease` to the worker, once their transaction has
    /// committed. A delivery that cannot be handed (the worker is behind, or its endpoint's
    /// secret does not open) is left to its lease.
    pub(crate) fn dispatch(&self, lease: Option<Lease>, leased: Vec<Leased>) {
        let (Some(dispatch), Some(lease)) = (&self.dispatch, lease) else {
            return;
        };
        if leased.is_empty() {
            return;
        }
        let mut secrets: HashMap<String, Vec<SecretString>> = HashMap::new();
        let mut claimed = Vec::with_capacity(leased.len());
        for l in leased {
            match self.claimed(&lease, l, &mut secrets) {
                Ok(d) => claimed.push(d),
                Err(e) => {
                    tracing::warn!(error = %e, "a delivery is left to its lease: it could not be dispatched");
                }
            }
        }
        if !claimed.is_empty() && dispatch.sender.try_send(claimed).is_err() {
            tracing::debug!(
                "the delivery worker is behind: dispatched deliveries wait for their lease"
            );
        }
    }

    fn claimed(
        &self,
        lease: &Lease,
        l: Leased,
        secrets: &mut HashMap<String, Vec<SecretString>>,
    ) -> Result<ClaimedDelivery, StorageError> {
        let endpoint = &l.endpoint;
        let signing = if let Some(s) = secrets.get(&endpoint.id) {
            s.clone()
        } else {
            let opened = self.secrets(endpoint, l.due_since)?;
            secrets.insert(endpoint.id.clone(), opened.clone());
            opened
        };
        Ok(ClaimedDelivery {
            id: l.id,
            lease: lease.token.clone(),
            event_id: l.event_id,
            endpoint: WebhookId::from_uuid(uuid_of("webhook_endpoints.id", &endpoint.id)?),
            url: endpoint.url.clone(),
            secrets: signing,
            body: l.body,
            attempts: 0,
            due_since: l.due_since,
            failing_since: endpoint.failing_since.map(from_ms).transpose()?,
        })
    }
}
