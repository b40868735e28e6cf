//! `onboard screening …`: load a list version, list the open cases, decide one.

use std::io::Write as _;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use domain::screening::ScreeningDecision;
use storage::screening::{Loaded, ScreeningCase};
use storage::{OperatorAction, SqlStore};

/// `onboard screening …`.
#[derive(Debug, Subcommand)]
pub enum ScreeningCommand {
    /// Load a list directory (`sdn.csv`, `alt.csv`, `add.csv` of the OFAC SDN list) as the
    /// current version; running servers pick it up and rescreen every submitted user.
    Load {
        /// The directory.
        dir: PathBuf,
    },
    /// The open cases: users whose screening is a potential match, awaiting a decision.
    Cases {
        /// One JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Decide a user's open case: `clear` lets KYC go on; `confirm` rejects KYC
    /// (`sanctions_match`) and blocks the user.
    Decide {
        /// The user, `user-…`.
        user: String,
        /// `clear` or `confirm`.
        #[arg(value_parser = ["clear", "confirm"])]
        decision: String,
        /// Why (recorded with the decision).
        #[arg(long)]
        reason: String,
    },
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// A case as `cases --json` prints it.
fn case_json(case: &ScreeningCase) -> serde_json::Value {
    serde_json::json!({
        "user_id": case.user.to_string(),
        "program_id": case.program.to_string(),
        "list_version": case.list_id.to_string(),
        "trigger": case.trigger,
        "score": case.score.map(|s| (s * 1000.0).round() / 1000.0),
        "entry_number": case.entry_number,
        "entry_name": case.entry_name,
        "screened_at": case.screened_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

/// Runs a screening command.
#[allow(clippy::print_stdout)]
pub async fn run(
    store: &SqlStore,
    command: ScreeningCommand,
    actor: &str,
    now: DateTime<Utc>,
) -> CliResult {
    let mut out = std::io::stdout().lock();
    match command {
        ScreeningCommand::Load { dir } => {
            let action = OperatorAction::new(actor, format!("screening load {}", dir.display()));
            let (loaded, report) = crate::screening::load_dir(store, &dir, &action, now).await?;
            let (verb, v) = match loaded {
                Loaded::New(v) => ("loaded", v),
                Loaded::Unchanged(v) => ("unchanged (already current)", v),
            };
            writeln!(
                out,
                "screening list {verb}: version {} sha256 {} — {} entries, {} aliases, {} addresses, {} malformed rows skipped",
                v.id,
                v.sha256,
                v.entries,
                v.aliases,
                v.addresses,
                report.skipped.len()
            )?;
        }
        ScreeningCommand::Cases { json } => {
            let cases = store.screening_cases(10_000).await?;
            if json {
                let all: Vec<serde_json::Value> = cases.iter().map(case_json).collect();
                writeln!(out, "{}", serde_json::to_string_pretty(&all)?)?;
            } else if cases.is_empty() {
                writeln!(out, "no open screening cases")?;
            } else {
                for c in &cases {
                    writeln!(
                        out,
                        "{}  score {:.3}  entry {} {:?}  ({}, {})",
                        c.user,
                        c.score.unwrap_or_default(),
                        c.entry_number.map_or_else(String::new, |n| n.to_string()),
                        c.entry_name.as_deref().unwrap_or_default(),
                        c.trigger,
                        c.screened_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    )?;
                }
            }
        }
        ScreeningCommand::Decide {
            user,
            decision,
            reason,
        } => {
            let id = domain::UserId::parse(&user).map_err(|v| format!("user {v}"))?;
            let decision: ScreeningDecision =
                decision.parse().map_err(|e| format!("decision: {e}"))?;
            let reason = domain::Reason::parse(&reason).map_err(|v| format!("--reason {v}"))?;
            let action = OperatorAction::new(
                actor,
                format!("screening decide {user} {}", decision.as_str()),
            );
            match store
                .decide_screening(id, decision, reason.as_str(), &action, now)
                .await?
            {
                Ok(done) => writeln!(
                    out,
                    "{} screening_status is now {}{}",
                    done.case.user,
                    done.status,
                    if decision == ScreeningDecision::Confirm {
                        format!(
                            " (kyc rejected: {}, blocked: {})",
                            done.kyc_rejected, done.blocked
                        )
                    } else {
                        String::new()
                    }
                )?,
                Err(no_case) => return Err(no_case.to_string().into()),
            }
        }
    }
    Ok(())
}
