//! `onboard operator create|disable|enable|reset|list`: console operators. `create` and
//! `reset` print a one-time password and a TOTP secret (also as an `otpauth://` URI), shown
//! only then; `--json` prints `{"operator_id","email","role","password","totp_secret"}`.

use std::io::Write as _;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use storage::console::OperatorRef;
use storage::{OperatorAction, SqlStore};

use super::manage::{self, Credentials, ManageError};

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

fn print_secrets(
    out: &mut impl std::io::Write,
    given: &Credentials,
    json: bool,
) -> std::io::Result<()> {
    let Credentials {
        operator,
        password,
        totp,
    } = given;
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

/// Runs an operator command; `actor` is who ran it (recorded). The work is
/// [`super::manage`]'s, which the console's operators page shares.
pub async fn run(
    store: &SqlStore,
    command: OperatorCommand,
    actor: &str,
    now: DateTime<Utc>,
) -> CliResult {
    let mut out = std::io::stdout().lock();
    match command {
        OperatorCommand::Create { email, role, json } => {
            let action = OperatorAction::new(
                actor,
                format!("operator create --email {} --role {role}", email.trim()),
            );
            let given = match manage::create(store, &email, &role, &action, now).await {
                Err(ManageError::Email(v)) => return Err(format!("--email {v}").into()),
                Err(ManageError::Role(v)) => return Err(format!("--role {v}").into()),
                other => other?,
            };
            print_secrets(&mut out, &given, json)?;
        }
        OperatorCommand::Disable { operator } => {
            let action = OperatorAction::new(actor, format!("operator disable {operator}"));
            let which = OperatorRef::parse(&operator);
            let done = manage::set_disabled(store, &which, true, &action, now).await?;
            writeln!(
                out,
                "operator {} disabled; its sessions have ended",
                done.id
            )?;
        }
        OperatorCommand::Enable { operator } => {
            let action = OperatorAction::new(actor, format!("operator enable {operator}"));
            let which = OperatorRef::parse(&operator);
            let done = manage::set_disabled(store, &which, false, &action, now).await?;
            writeln!(out, "operator {} enabled", done.id)?;
        }
        OperatorCommand::Reset { operator, json } => {
            let action = OperatorAction::new(actor, format!("operator reset {operator}"));
            let which = OperatorRef::parse(&operator);
            let given = manage::reset(store, &which, &action, now).await?;
            print_secrets(&mut out, &given, json)?;
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
