//! KYC verification: the `KycVerifier` trait, the `sandbox` verifier with its documented
//! deterministic rules, and the background worker that moves `pending` users on.
//! (The `manual` verifier decides nothing: an operator runs `onboard kyc decide`.)

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::{Ssn, User, UserChange};
use storage::{Audit, SqlStore, UserRepository as _};

use crate::clock::Clock;

/// A verifier's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// The identity is accepted.
    Verified,
    /// The identity is refused, and why.
    Rejected(String),
}

/// Decides KYC cases. `None` means "not mine to decide now" (the manual verifier).
#[async_trait]
pub trait KycVerifier: Send + Sync + std::fmt::Debug {
    /// The audit actor name, e.g. `verifier:sandbox`.
    fn name(&self) -> &'static str;
    /// What an operator must know when a server starts with this verifier, if anything.
    fn warning(&self) -> Option<&'static str> {
        None
    }
    /// Decides one pending user.
    async fn decide(&self, user: &User, ssn: Option<&Ssn>) -> Option<Decision>;
}

/// Leaves every case to an operator (`onboard kyc decide`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Manual;

#[async_trait]
impl KycVerifier for Manual {
    fn name(&self) -> &'static str {
        "verifier:manual"
    }
    async fn decide(&self, _user: &User, _ssn: Option<&Ssn>) -> Option<Decision> {
        None
    }
}

/// Deterministic rules for integration testing:
/// - an SSN whose last four digits are `9999` → `rejected` ("ssn flagged");
/// - a last name that starts with `Reject` (any case) → `rejected` ("name flagged");
/// - anything else → `verified`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sandbox;

#[async_trait]
impl KycVerifier for Sandbox {
    fn name(&self) -> &'static str {
        "verifier:sandbox"
    }
    fn warning(&self) -> Option<&'static str> {
        Some(
            "kyc_verifier = \"sandbox\": KYC cases are decided by test rules that verify almost everyone; never use it with real people",
        )
    }
    async fn decide(&self, user: &User, ssn: Option<&Ssn>) -> Option<Decision> {
        if ssn.is_some_and(|s| s.last4().as_str() == "9999") {
            return Some(Decision::Rejected(
                "ssn flagged by the sandbox rules".into(),
            ));
        }
        let last = user.profile().last_name().as_str().to_lowercase();
        if last.starts_with("reject") {
            return Some(Decision::Rejected(
                "name flagged by the sandbox rules".into(),
            ));
        }
        Some(Decision::Verified)
    }
}

/// The verifier named in the configuration (`manual` or `sandbox`).
pub fn verifier(name: &str) -> Option<Arc<dyn KycVerifier>> {
    match name {
        "manual" => Some(Arc::new(Manual)),
        "sandbox" => Some(Arc::new(Sandbox)),
        _ => None,
    }
}

/// One pass: decides up to `batch` pending users. Returns how many were decided.
pub async fn run_once(
    store: &SqlStore,
    verifier: &dyn KycVerifier,
    clock: &dyn Clock,
    batch: u64,
) -> Result<usize, storage::StorageError> {
    let mut decided = 0;
    for (program, id) in store.pending_kyc(batch).await? {
        let Some(user) = store.get_user(program, id).await? else {
            continue;
        };
        let ssn = store.reveal_ssn(program, id).await?;
        let Some(decision) = verifier.decide(&user, ssn.as_ref()).await else {
            continue;
        };
        let (change, reason) = match &decision {
            Decision::Verified => (UserChange::VerifyKyc, None),
            Decision::Rejected(why) => (UserChange::RejectKyc, Some(why.as_str())),
        };
        let audit = Audit {
            actor: verifier.name(),
            reason,
        };
        match store
            .change_user(
                program,
                id,
                change,
                audit,
                clock.now(),
                storage::Along::nothing(),
            )
            .await
        {
            Ok(_) => decided += 1,
            // Decided meanwhile (by an operator or another instance): nothing to do.
            Err(storage::StorageError::Rejected(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(decided)
}

/// Runs the verifier every `every` in the background.
pub fn spawn_worker(
    store: SqlStore,
    verifier: Arc<dyn KycVerifier>,
    clock: Arc<dyn Clock>,
    every: Duration,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = run_once(&store, verifier.as_ref(), clock.as_ref(), 100).await {
                tracing::warn!(error = %e, "the KYC worker failed a pass");
            }
        }
    });
}
