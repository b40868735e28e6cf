//! KYB verification (SPEC §9): businesses move `pending` → `verified` | `rejected` through
//! the same verifiers as KYC (`kyc_verifier` in the configuration chooses both). `manual`
//! decides nothing (an operator runs `onboard kyb decide`); `sandbox` applies documented
//! deterministic rules. Every decision is a `kyb` event with the verifier as actor.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use domain::{Business, BusinessChange, BusinessOwner, KycStatus};
use storage::{Audit, BusinessLifecycle as _, BusinessRepository as _, SqlStore};

use crate::clock::Clock;
use crate::kyc::Decision;

/// Decides KYB cases. `None` means "not mine to decide now" (the manual verifier).
#[async_trait]
pub trait KybVerifier: Send + Sync + std::fmt::Debug {
    /// The audit actor name, e.g. `verifier:sandbox`.
    fn name(&self) -> &'static str;
    /// Decides one pending business, given its beneficial owners.
    async fn decide(&self, business: &Business, owners: &[BusinessOwner]) -> Option<Decision>;
}

/// Leaves every case to an operator (`onboard kyb decide`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Manual;

#[async_trait]
impl KybVerifier for Manual {
    fn name(&self) -> &'static str {
        "verifier:manual"
    }
    async fn decide(&self, _business: &Business, _owners: &[BusinessOwner]) -> Option<Decision> {
        None
    }
}

/// Deterministic rules for integration testing, in this order:
/// - an EIN whose last four digits are `9999` → `rejected` ("ein flagged");
/// - a legal name that starts with `Reject` (any case) → `rejected` ("name flagged");
/// - an owner whose KYC was `rejected` → `rejected` ("an owner's KYC was rejected");
/// - an owner whose KYC is not decided yet (`not_started` or `pending`) → no decision yet
///   (the case waits for the owners' KYC);
/// - anything else → `verified`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sandbox;

#[async_trait]
impl KybVerifier for Sandbox {
    fn name(&self) -> &'static str {
        "verifier:sandbox"
    }
    async fn decide(&self, business: &Business, owners: &[BusinessOwner]) -> Option<Decision> {
        if business.ein_last_4().as_str() == "9999" {
            return Some(Decision::Rejected(
                "ein flagged by the sandbox rules".into(),
            ));
        }
        let name = business.profile().name().as_str().to_lowercase();
        if name.starts_with("reject") {
            return Some(Decision::Rejected(
                "name flagged by the sandbox rules".into(),
            ));
        }
        if owners.iter().any(|o| o.kyc_status() == KycStatus::Rejected) {
            return Some(Decision::Rejected("an owner's KYC was rejected".into()));
        }
        if owners.iter().any(|o| !o.kyc_status().is_final()) {
            return None;
        }
        Some(Decision::Verified)
    }
}

/// The KYB verifier that goes with a KYC verifier (`verifier:sandbox` → [`Sandbox`],
/// anything else → [`Manual`]).
pub fn like(kyc: &dyn crate::kyc::KycVerifier) -> Arc<dyn KybVerifier> {
    if kyc.name() == Sandbox.name() {
        Arc::new(Sandbox)
    } else {
        Arc::new(Manual)
    }
}

/// The most owners a verifier is shown (a business rarely has more than a handful).
const OWNERS_SHOWN: u64 = 500;

/// How long a claimed KYB case is left to the instance that claimed it.
pub const KYB_LEASE: Duration = Duration::from_secs(60);

/// Cases claimed per pass.
const KYB_BATCH: u64 = 100;

/// One pass: claims up to `batch` pending businesses (no other instance gets them while the
/// lease runs) and decides them. Returns how many it claimed and decided. A case that fails is
/// logged, counted in `onboard_kyb_failures_total` and skipped until its lease runs out; a case
/// the verifier cannot decide yet (an owner's KYC still open) comes back after its lease.
pub async fn run_once(
    store: &SqlStore,
    verifier: &dyn KybVerifier,
    clock: &dyn Clock,
    batch: u64,
) -> Result<(usize, usize), storage::StorageError> {
    let page = domain::PageRequest::parse(Some(1), Some(OWNERS_SHOWN))
        .map_err(|e| storage::StorageError::Rejected(domain::ChangeError::Missing(e)))?;
    let cases = store.claim_kyb_cases(clock.now(), KYB_LEASE, batch).await?;
    let mut decided = 0;
    for (program, id) in &cases {
        match decide_one(store, verifier, clock, *program, *id, page).await {
            Ok(true) => decided += 1,
            Ok(false) => {}
            Err(e) => {
                metrics::counter!("onboard_kyb_failures_total").increment(1);
                tracing::warn!(business = %id, error = %e, "a KYB case failed; skipped until its lease runs out");
            }
        }
    }
    Ok((cases.len(), decided))
}

/// Decides one claimed case. `Ok(false)`: nothing to do now.
async fn decide_one(
    store: &SqlStore,
    verifier: &dyn KybVerifier,
    clock: &dyn Clock,
    program: domain::ProgramId,
    id: domain::BusinessId,
    page: domain::PageRequest,
) -> Result<bool, storage::StorageError> {
    let Some(business) = store.get_business(program, id).await? else {
        return Ok(false);
    };
    let owners = store
        .business_owners(program, id, page)
        .await?
        .map(|p| p.items)
        .unwrap_or_default();
    metrics::counter!("onboard_kyb_verifier_calls_total").increment(1);
    let Some(decision) = verifier.decide(&business, &owners).await else {
        // Not decidable yet (an owner's KYC is open): back in the queue after a short wait,
        // not after the whole lease.
        let retry = clock.now() + chrono::Duration::seconds(1);
        store.postpone_kyb_case(id, retry).await?;
        return Ok(false);
    };
    let (change, reason) = match &decision {
        Decision::Verified => (BusinessChange::VerifyKyb, None),
        Decision::Rejected(why) => (BusinessChange::RejectKyb, Some(why.as_str())),
    };
    let audit = Audit {
        actor: verifier.name(),
        reason,
    };
    match store
        .change_business(
            program,
            id,
            change,
            audit,
            clock.now(),
            storage::Along::nothing(),
        )
        .await
    {
        Ok(_) => Ok(true),
        // Decided meanwhile (by an operator): the guarded transition refused a second one.
        Err(storage::StorageError::Rejected(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Runs the verifier every `every` in the background; a full batch goes on at once.
pub fn spawn_worker(
    store: SqlStore,
    verifier: Arc<dyn KybVerifier>,
    clock: Arc<dyn Clock>,
    every: Duration,
) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            loop {
                match run_once(&store, verifier.as_ref(), clock.as_ref(), KYB_BATCH).await {
                    Ok((claimed, _)) if claimed as u64 == KYB_BATCH => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "the KYB worker could not claim cases");
                        break;
                    }
                }
            }
        }
    });
}

/// Why an operator's KYB decision was not written.
#[derive(Debug, thiserror::Error)]
pub enum KybDecideError {
    /// No such business.
    #[error("no such business")]
    NoSuchBusiness,
    /// The storage refused or failed (a case not pending is `Rejected`).
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
}

/// An operator's decision on a pending KYB case — the `manual` verifier's way, shared by
/// `onboard kyb decide` and the console: written as a `kyb` change with `actor` (`operator`
/// from the CLI, `operator:opr-…` from the console) and recorded as `action`.
pub async fn decide(
    store: &SqlStore,
    id: domain::BusinessId,
    verified: bool,
    reason: Option<&domain::Reason>,
    actor: &str,
    action: &storage::OperatorAction,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Business, KybDecideError> {
    let program = store
        .business_program(id)
        .await?
        .ok_or(KybDecideError::NoSuchBusiness)?;
    let change = if verified {
        BusinessChange::VerifyKyb
    } else {
        BusinessChange::RejectKyb
    };
    let audit = Audit {
        actor,
        reason: reason.map(domain::Reason::as_str),
    };
    let outcome = store
        .change_business(program, id, change, audit, now, storage::Along::nothing())
        .await?;
    // Nothing is along, so no signature can be replayed.
    let business = outcome.written().ok_or(KybDecideError::NoSuchBusiness)?;
    store.record_operator_action(action, now).await?;
    Ok(business)
}
