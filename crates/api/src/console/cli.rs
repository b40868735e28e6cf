//! `onboard operator create|disable|enable|reset|list`: console operators. `create` and
//! `reset` print a one-time password and a TOTP secret (also as an `otpauth://` URI), shown
//! only then; `--json` prints `{"operator_id","email","role","password","totp_secret"}`.

use std::io::Write as _;

use base64::Engine as _;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use domain::{OperatorId, OperatorRole};
use storage::console::{Operator, OperatorRef};
use storage::{OperatorAction, SecretString, SqlStore};

/// `onboard operator …`.
#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create a console operator; prints a one-time password and TOTP secret.
    Create {
        /// Login email.
        #[arg(long)]
        email: String,
        /// `viewer`, `reviewer` or `admin`.
        #[arg(long, value_parser = ["viewer", "reviewer", "admin"])]
        role: String,
        /// Print one JSON object (operator_id, email, role, password, totp_secret).
        #[arg(long)]
        json: bool,
    },
    /// Disable an operator: every session of it ends at once, and it cannot log in.
    Disable {
        /// `opr-…` or the operator's email.
        operator: String,
    },
    /// Enable a disabled operator again.
    Enable {
        /// `opr-…` or the operator's email.
        operator: String,
    },
    /// Give an operator a new password and TOTP secret (printed once); its sessions end.
    Reset {
        /// `opr-…` or the operator's email.
        operator: String,
        /// Print one JSON object (operator_id, email, role, password, totp_secret).
        #[arg(long)]
        json: bool,
    },
    /// List operators.
    List,
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// A one-time password: 128 random bits, base64url.
fn new_password() -> Result<SecretString, Box<dyn std::error::Error>> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| "no randomness for a password")?;
    Ok(SecretString::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
    ))
}

fn print_secrets(
    out: &mut impl std::io::Write,
    operator: &Operator,
    password: &SecretString,
    totp: &super::totp::NewSecret,
    json: bool,
) -> std::io::Result<()> {
    if json {
        let value = serde_json::json!({
            "operator_id": operator.id.to_string(),
            "email": operator.email,
            "role": operator.role.as_str(),
            "password": password.expose(),
            "totp_secret": totp.base32.as_str(),
        });
        writeln!(out, "{value}")
    } else {
        writeln!(
            out,
            "operator {} ({}, {})",
            operator.id, operator.email, operator.role
        )?;
        writeln!(
            out,
            "Give these to the operator now; they are shown only once."
        )?;
        writeln!(out, "password:    {}", password.expose())?;
        writeln!(out, "totp secret: {}", totp.base32.as_str())?;
        writeln!(out, "totp uri:    {}", totp.uri.as_str())
    }
}

/// Runs an operator command; `actor` is who ran it (recorded).
pub async fn run(
    store: &SqlStore,
    command: OperatorCommand,
    actor: &str,
    now: DateTime<Utc>,
) -> CliResult {
    let mut out = std::io::stdout().lock();
    match command {
        OperatorCommand::Create { email, role, json } => {
            let parsed = domain::Email::parse(&email).map_err(|v| format!("--email {v}"))?;
            let role = OperatorRole::parse(&role).map_err(|v| format!("--role {v}"))?;
            let password = new_password()?;
            let totp = super::totp::new_secret(parsed.as_str())?;
            let action = OperatorAction::new(
                actor,
                format!("operator create --email {} --role {role}", parsed.as_str()),
            );
            let id = OperatorId::from_uuid(uuid::Uuid::now_v7());
            let operator = match store
                .create_operator(
                    &storage::console::NewOperator {
                        id,
                        email: &parsed,
                        role,
                    },
                    &password,
                    &totp.bytes,
                    now,
                    &action,
                )
                .await
            {
                Err(storage::StorageError::Conflict(storage::ConflictCode::Duplicate(_))) => {
                    return Err("an operator with this email already exists".into());
                }
                other => other?,
            };
            print_secrets(&mut out, &operator, &password, &totp, json)?;
        }
        OperatorCommand::Disable { operator } => {
            let action = OperatorAction::new(actor, format!("operator disable {operator}"));
            let done = store
                .set_operator_disabled(&OperatorRef::parse(&operator), true, now, &action)
                .await?;
            writeln!(
                out,
                "operator {} disabled; its sessions have ended",
                done.id
            )?;
        }
        OperatorCommand::Enable { operator } => {
            let action = OperatorAction::new(actor, format!("operator enable {operator}"));
            let done = store
                .set_operator_disabled(&OperatorRef::parse(&operator), false, now, &action)
                .await?;
            writeln!(out, "operator {} enabled", done.id)?;
        }
        OperatorCommand::Reset { operator, json } => {
            let which = OperatorRef::parse(&operator);
            let current = store
                .list_operators()
                .await?
                .into_iter()
                .find(|o| match &which {
                    OperatorRef::Id(id) => o.id == *id,
                    OperatorRef::Email(e) => o.email.eq_ignore_ascii_case(e.trim()),
                })
                .ok_or("no such operator")?;
            let password = new_password()?;
            let totp = super::totp::new_secret(&current.email)?;
            let action = OperatorAction::new(actor, format!("operator reset {operator}"));
            let done = store
                .reset_operator(&which, &password, &totp.bytes, now, &action)
                .await?;
            print_secrets(&mut out, &done, &password, &totp, json)?;
        }
        OperatorCommand::List => {
            for o in store.list_operators().await? {
                let state = o
                    .disabled_at
                    .map_or_else(|| "enabled".to_owned(), |t| format!("disabled since {t}"));
                writeln!(out, "{}\t{}\t{}\t{state}", o.id, o.email, o.role)?;
            }
        }
    }
    Ok(())
}
