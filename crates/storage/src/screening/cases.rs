//! The operator's review queue: open cases (users at `potential_match`) and decisions on them.

use chrono::{DateTime, Utc};
use domain::screening::{ScreeningDecision, ScreeningStatus};
use domain::{ProgramId, UserChange, UserId};
use sea_orm::{ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _};

use super::entity::{screening_subjects, screenings};
use super::{event_in, lock_user_row, parse_status};
use crate::error::{Problem, StorageError};
use crate::operators::{OperatorAction, record};
use crate::repo::Audit;
use crate::time::{from_ms, to_ms};
use crate::users::changes::change_in;
use crate::{Along, SqlStore};

/// An open case: a user whose last screening is a potential match, awaiting an operator.
#[derive(Clone, Debug, PartialEq)]
pub struct ScreeningCase {
    /// The user.
    pub user: UserId,
    /// The user's program.
    pub program: ProgramId,
    /// The list version of the screening.
    pub list_id: uuid::Uuid,
    /// `submission`, `update` or `rescreen`.
    pub trigger: String,
    /// The best score.
    pub score: Option<f64>,
    /// The matched entry's number.
    pub entry_number: Option<u32>,
    /// The matched name, as listed.
    pub entry_name: Option<String>,
    /// When the user was screened.
    pub screened_at: DateTime<Utc>,
}

/// A decided case, and what it did to the user.
#[derive(Clone, Debug, PartialEq)]
pub struct DecidedCase {
    /// The case as it was.
    pub case: ScreeningCase,
    /// The status now.
    pub status: ScreeningStatus,
    /// `confirm` only: KYC moved to `rejected` (false when it was not `pending`).
    pub kyc_rejected: bool,
    /// `confirm` only: the user blocked (false when already blocked).
    pub blocked: bool,
}

/// The user has no open case (never screened, or not at `potential_match`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no open screening case for this user (its status is {0})")]
pub struct NoOpenCase(pub ScreeningStatus);

fn case_of(
    subject: &screening_subjects::Model,
    row: screenings::Model,
) -> Result<ScreeningCase, StorageError> {
    let uuid = |s: &str, column| {
        s.parse::<uuid::Uuid>()
            .map_err(|_| StorageError::corrupt(column, Problem::NotUuid))
    };
    Ok(ScreeningCase {
        user: UserId::from_uuid(uuid(&subject.user_id, "screening_subjects.user_id")?),
        program: ProgramId::from_uuid(uuid(&subject.program_id, "screening_subjects.program_id")?),
        list_id: uuid(&row.list_id, "screenings.list_id")?,
        trigger: row.cause,
        score: row.score,
        entry_number: row
            .entry_number
            .map(|n| {
                u32::try_from(n).map_err(|_| {
                    StorageError::corrupt("screenings.entry_number", Problem::OutOfRange)
                })
            })
            .transpose()?,
        entry_name: row.entry_name,
        screened_at: from_ms(row.created_at)?,
    })
}

impl SqlStore {
    /// Open cases, oldest first, at most `limit`.
    pub async fn screening_cases(&self, limit: u64) -> Result<Vec<ScreeningCase>, StorageError> {
        self.screening_cases_page(0, limit).await
    }

    /// A page of open cases, oldest first: `limit` after the first `offset`. Two queries
    /// whatever the page's size (the subjects, then their screenings by id), not one per case.
    pub async fn screening_cases_page(
        &self,
        offset: u64,
        limit: u64,
    ) -> Result<Vec<ScreeningCase>, StorageError> {
        use sea_orm::QuerySelect as _;
        let subjects = screening_subjects::Entity::find()
            .filter(screening_subjects::Column::Status.eq(ScreeningStatus::PotentialMatch.as_str()))
            .order_by_asc(screening_subjects::Column::UpdatedAt)
            .order_by_asc(screening_subjects::Column::UserId)
            .offset(offset)
            .limit(limit)
            .all(&self.db)
            .await?;
        if subjects.is_empty() {
            return Ok(Vec::new());
        }
        let mut rows: std::collections::HashMap<String, screenings::Model> =
            screenings::Entity::find()
                .filter(
                    screenings::Column::Id.is_in(subjects.iter().map(|s| s.screening_id.clone())),
                )
                .all(&self.db)
                .await?
                .into_iter()
                .map(|row| (row.id.clone(), row))
                .collect();
        let mut cases = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let row = rows.remove(&subject.screening_id).ok_or_else(|| {
                StorageError::corrupt("screening_subjects.screening_id", Problem::Dangling)
            })?;
            cases.push(case_of(&subject, row)?);
        }
        Ok(cases)
    }

    /// An operator's decision on a user's open case, recorded with who, why and when (on the
    /// screening, in `user_events` and in `operator_actions`). `confirm` also rejects the user's
    /// KYC (reason `sanctions_match`) if it is `pending` and blocks the user if active, each an
    /// audited change with its outbox event (`user.kyc.failed`, `user.blocked`; actor
    /// `operator:<who>`). All of it is one transaction: no decision without its consequences.
    /// `clear` writes no outbox event: KYC goes on, and its events come from the verifier.
    pub async fn decide_screening(
        &self,
        user: UserId,
        decision: ScreeningDecision,
        reason: &str,
        action: &OperatorAction,
        now: DateTime<Utc>,
    ) -> Result<Result<DecidedCase, NoOpenCase>, StorageError> {
        let now = crate::time::truncate(now);
        let uid = user.uuid().to_string();
        let txn = crate::db::begin_write(&self.db).await?;
        let decided = async {
            let (case, status) =
                match record_decision(&txn, &uid, decision, reason, action, now).await? {
                    Ok(done) => done,
                    Err(open) => return Ok(Err(open)),
                };
            let (mut kyc_rejected, mut blocked) = (false, false);
            if decision == ScreeningDecision::Confirm {
                let actor = format!("operator:{}", action.actor);
                let along: Along<()> = Along::by(actor.clone());
                let consequences = [
                    (UserChange::RejectKyc, "sanctions_match"),
                    (UserChange::Block, reason),
                ];
                for (change, why) in consequences {
                    let audit = Audit {
                        actor: &actor,
                        reason: Some(why),
                    };
                    let done = applied(
                        change_in(self, &txn, case.program, &uid, change, audit, now, &along).await,
                    )?;
                    match change {
                        UserChange::RejectKyc => kyc_rejected = done,
                        _ => blocked = done,
                    }
                }
            }
            Ok(Ok(DecidedCase {
                case,
                status,
                kyc_rejected,
                blocked,
            }))
        }
        .await;
        match decided {
            Ok(Ok(done)) => {
                txn.commit().await?;
                Ok(Ok(done))
            }
            other => {
                crate::along::rollback(txn).await;
                other
            }
        }
    }
}

/// The decision's own transaction: the case locked through the user's row, the decision on the
/// screening, the new status, a `user_events` row and the operator's record.
async fn record_decision(
    txn: &sea_orm::DatabaseTransaction,
    uid: &str,
    decision: ScreeningDecision,
    reason: &str,
    action: &OperatorAction,
    now: DateTime<Utc>,
) -> Result<Result<(ScreeningCase, ScreeningStatus), NoOpenCase>, StorageError> {
    if !lock_user_row(txn, uid).await? {
        return Ok(Err(NoOpenCase(ScreeningStatus::NotScreened)));
    }
    let Some(subject) = screening_subjects::Entity::find_by_id(uid.to_owned())
        .one(txn)
        .await?
    else {
        return Ok(Err(NoOpenCase(ScreeningStatus::NotScreened)));
    };
    let status = parse_status(&subject.status)?;
    if status != ScreeningStatus::PotentialMatch {
        return Ok(Err(NoOpenCase(status)));
    }
    let row = screenings::Entity::find_by_id(subject.screening_id.clone())
        .one(txn)
        .await?
        .ok_or_else(|| {
            StorageError::corrupt("screening_subjects.screening_id", Problem::Dangling)
        })?;
    let case = case_of(&subject, row)?;
    screenings::Entity::update_many()
        .col_expr(screenings::Column::Decision, decision.as_str().into())
        .col_expr(
            screenings::Column::DecidedBy,
            action.actor.chars().take(128).collect::<String>().into(),
        )
        .col_expr(
            screenings::Column::DecisionReason,
            reason.chars().take(256).collect::<String>().into(),
        )
        .col_expr(screenings::Column::DecidedAt, to_ms(now).into())
        .filter(screenings::Column::Id.eq(subject.screening_id.clone()))
        .exec(txn)
        .await?;
    let new_status = decision.status();
    screening_subjects::Entity::update_many()
        .col_expr(
            screening_subjects::Column::Status,
            new_status.as_str().into(),
        )
        .col_expr(screening_subjects::Column::UpdatedAt, to_ms(now).into())
        .filter(screening_subjects::Column::UserId.eq(uid.to_owned()))
        .exec(txn)
        .await?;
    super::set_user_status(txn, uid, new_status).await?;
    let actor = format!("operator:{}", action.actor);
    event_in(
        txn,
        case.program,
        uid,
        status,
        new_status,
        Some(reason),
        &actor,
        now,
    )
    .await?;
    record(txn, action, now).await?;
    Ok(Ok((case, new_status)))
}

/// Whether a change applied; a change the domain refuses (already rejected, already blocked)
/// is `false`, not an error.
fn applied<T>(result: Result<T, StorageError>) -> Result<bool, StorageError> {
    match result {
        Ok(_) => Ok(true),
        Err(StorageError::Rejected(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
