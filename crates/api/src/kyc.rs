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
    /// Whether it decides cases by itself (a background worker claims them for it). The
    /// manual verifier does not: its cases wait for an operator.
    fn decides(&self) -> bool {
        true
    }
    /// Whether it needs the SSN in clear; nothing is decrypted for a verifier that does not.
    fn needs_ssn(&self) -> bool {
        false
    }
    /// Decides one pending user (`ssn` only if [`KycVerifier::needs_ssn`]).
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
    fn decides(&self) -> bool {
        false
    }
    async fn decide(&self, _user: &User, _ssn: Option<&Ssn>) -> Option<Decision> {
        None
    }
}

/// Deterministic rules for integration testing:
/// - an SSN whose last four digits are `9999` → `rejected` ("ssn flagged"; read from the
///   stored last four, so the sandbox decrypts nothing);
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
    async fn decide(&self, user: &User, _ssn: Option<&Ssn>) -> Option<Decision> {
        if user.ssn_last_4().is_some_and(|l| l.as_str() == "9999") {
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

/// How long a claimed case is left to the instance that claimed it before another may try.
pub const KYC_LEASE: Duration = Duration::from_secs(60);

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Cases claimed.
    pub claimed: usize,
    /// Cases decided by this pass.
    pub decided: usize,
    /// Cases that failed (logged, counted, skipped until their lease runs out).
    pub failed: usize,
}

/// One pass: claims up to `batch` pending cases (no other instance gets them while the lease
/// runs) and decides them. A case that fails is logged, counted in
/// `onboard_kyc_failures_total` and skipped; it comes back after the lease, behind the others.
/// The SSN is decrypted only for a verifier that needs it.
pub async fn run_once(
    store: &SqlStore,
    verifier: &dyn KycVerifier,
    clock: &dyn Clock,
    batch: u64,
) -> Result<Pass, storage::StorageError> {
    let cases = store.claim_kyc_cases(clock.now(), KYC_LEASE, batch).await?;
    let mut pass = Pass {
        claimed: cases.len(),
        ..Pass::default()
    };
    for (program, id) in cases {
        match decide_one(store, verifier, clock, program, id).await {
            Ok(true) => pass.decided += 1,
            Ok(false) => {}
            Err(e) => {
                pass.failed += 1;
                metrics::counter!("onboard_kyc_failures_total").increment(1);
                tracing::warn!(user = %id, error = %e, "a KYC case failed; skipped until its lease runs out");
            }
        }
    }
    Ok(pass)
}

/// Decides one claimed case. `Ok(false)`: nothing to do (gone, not the verifier's to decide
/// now, or decided meanwhile by an operator).
async fn decide_one(
    store: &SqlStore,
    verifier: &dyn KycVerifier,
    clock: &dyn Clock,
    program: domain::ProgramId,
    id: domain::UserId,
) -> Result<bool, storage::StorageError> {
    let Some(user) = store.get_user(program, id).await? else {
        return Ok(false);
    };
    let ssn = if verifier.needs_ssn() {
        store.reveal_ssn(program, id).await?
    } else {
        None
    };
    metrics::counter!("onboard_kyc_verifier_calls_total").increment(1);
    let Some(decision) = verifier.decide(&user, ssn.as_ref()).await else {
        return Ok(false);
    };
    let (change, reason, label) = match &decision {
        Decision::Verified => (UserChange::VerifyKyc, None, "verified"),
        Decision::Rejected(why) => (UserChange::RejectKyc, Some(why.as_str()), "rejected"),
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
        Ok(_) => {
            metrics::counter!("onboard_kyc_decisions_total", "decision" => label).increment(1);
            Ok(true)
        }
        // Decided meanwhile (by an operator, or after a lease ran out): the guarded
        // transition refused a second decision.
        Err(storage::StorageError::Rejected(_)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Runs the verifier every `every` in the background, unless it decides nothing by itself
/// (`manual`: no worker, no polling, no SSN read). Returns whether a worker started.
pub fn spawn_worker(
    store: SqlStore,
    verifier: Arc<dyn KycVerifier>,
    clock: Arc<dyn Clock>,
    every: Duration,
) -> bool {
    if !verifier.decides() {
        return false;
    }
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            // A full batch means more are waiting: go on at once.
            loop {
                match run_once(&store, verifier.as_ref(), clock.as_ref(), KYC_BATCH).await {
                    Ok(pass) if pass.claimed as u64 == KYC_BATCH => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "the KYC worker could not claim cases");
                        break;
                    }
                }
            }
        }
    });
    true
}

/// Cases claimed per pass.
const KYC_BATCH: u64 = 100;

/// Why an operator's KYC decision was not written.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    /// No such user.
    #[error("no such user")]
    NoSuchUser,
    /// Screening holds the user's KYC until its case is decided.
    #[error("screening holds this user's KYC ({0}): decide the sanctions case first")]
    HeldByScreening(domain::screening::ScreeningStatus),
    /// The storage refused or failed (a decided case is `Rejected`).
    #[error(transparent)]
    Storage(#[from] storage::StorageError),
}

/// An operator's decision on a pending KYC case — the `manual` verifier's way, shared by
/// `onboard kyc decide` and the console: refused while screening holds the user, written as
/// a `kyc` change with `actor` (`operator` from the CLI, `operator:opr-…` from the console)
/// and recorded as `action`.
pub async fn decide(
    store: &SqlStore,
    id: domain::UserId,
    verified: bool,
    reason: Option<&domain::Reason>,
    actor: &str,
    action: &storage::OperatorAction,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<domain::User, DecideError> {
    let program = store
        .user_program(id)
        .await?
        .ok_or(DecideError::NoSuchUser)?;
    let screening = store.screening_status(program, id).await?;
    if verified && screening.holds_kyc() {
        return Err(DecideError::HeldByScreening(screening));
    }
    let change = if verified {
        UserChange::VerifyKyc
    } else {
        UserChange::RejectKyc
    };
    let audit = Audit {
        actor,
        reason: reason.map(domain::Reason::as_str),
    };
    let outcome = store
        .change_user(program, id, change, audit, now, storage::Along::nothing())
        .await?;
    // Nothing is along, so no signature can be replayed.
    let user = outcome.written().ok_or(DecideError::NoSuchUser)?;
    // The decision is in the user's audit trail; this records who ran it.
    store.record_operator_action(action, now).await?;
    Ok(user)
}
