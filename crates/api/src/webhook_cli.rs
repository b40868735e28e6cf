//! `onboard webhook list|failed|resend|disable|enable`: webhook endpoints and failed
//! deliveries from a server's shell, through the same storage methods as `/webhook/get-all`,
//! `/webhook/update`, `/event/resend` and the console's webhooks page. A secret is never
//! printed. `resend`, `disable` and `enable` are recorded in `operator_actions` once done.

mod lists;

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Subcommand;
use domain::{EventId, ProgramId, WebhookId, WebhookStatus, WebhookUpdate};
use storage::{
    Along, Entity, OperatorAction, PageKey, ProgramRepository as _, Seek, SqlStore, StorageError,
    StoredEvent, Webhook, WebhookRepository as _,
};

/// `onboard webhook …`.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Endpoints (id, program, status, event types, created, URL); never a secret.
    List {
        /// Only this program's endpoints, `prog-…` (default: every program's).
        #[arg(long)]
        program: Option<String>,
        /// One JSON array: each endpoint as `/webhook/get` answers it, with `program_id`.
        #[arg(long)]
        json: bool,
    },
    /// Failed deliveries of every program (every attempt failed), the latest first.
    Failed {
        /// The page after this key (printed at the end of the previous page).
        #[arg(long)]
        after: Option<String>,
        /// Deliveries per page, 1 to 100.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=100))]
        limit: u64,
        /// One JSON object: `{"failed": [...], "next_after": KEY or null}`.
        #[arg(long)]
        json: bool,
    },
    /// Deliver an event again (as `/event/resend`): to one endpoint, or to every enabled
    /// endpoint of its program that takes its type.
    Resend {
        /// The event, `evt-…`.
        event: String,
        /// Only this endpoint, `whk-…`.
        #[arg(long)]
        webhook: Option<String>,
        /// The event's program, `prog-…` (default: found among every program's).
        #[arg(long)]
        program: Option<String>,
    },
    /// Disable an endpoint (as `/webhook/update` `{"status": "disabled"}`): its deliveries
    /// wait until it is enabled.
    Disable {
        /// The endpoint, `whk-…`.
        webhook: String,
        /// Its program, `prog-…` (default: found among every program's).
        #[arg(long)]
        program: Option<String>,
    },
    /// Enable an endpoint again (as `/webhook/update` `{"status": "enabled"}`): what was
    /// pending is delivered.
    Enable {
        /// The endpoint, `whk-…`.
        webhook: String,
        /// Its program, `prog-…` (default: found among every program's).
        #[arg(long)]
        program: Option<String>,
    },
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Runs a webhook command; `actor` is who ran it (recorded with `resend`, `disable` and
/// `enable`).
pub async fn run(
    store: &SqlStore,
    command: WebhookCommand,
    actor: &str,
    now: DateTime<Utc>,
) -> CliResult {
    let mut out = std::io::stdout().lock();
    match command {
        WebhookCommand::List { program, json } => {
            lists::endpoints(store, &mut out, program, json).await
        }
        WebhookCommand::Failed { after, limit, json } => {
            let seek = match after.as_deref() {
                None => Seek::First,
                Some(key) => Seek::After(PageKey::parse(key).ok_or_else(|| {
                    format!("--after {key:?}: not a key printed by onboard webhook failed")
                })?),
            };
            lists::failed(store, &mut out, seek, limit, json).await
        }
        WebhookCommand::Resend {
            event,
            webhook,
            program,
        } => {
            let event = EventId::parse(&event).map_err(|v| format!("event {v}"))?;
            let webhook = webhook
                .as_deref()
                .map(WebhookId::parse)
                .transpose()
                .map_err(|v| format!("--webhook {v}"))?;
            let program = parse_program(program.as_deref())?;
            resend(store, &mut out, event, webhook, program, actor, now).await
        }
        WebhookCommand::Disable { webhook, program } => {
            set_status(
                store,
                &mut out,
                &webhook,
                program.as_deref(),
                false,
                actor,
                now,
            )
            .await
        }
        WebhookCommand::Enable { webhook, program } => {
            set_status(
                store,
                &mut out,
                &webhook,
                program.as_deref(),
                true,
                actor,
                now,
            )
            .await
        }
    }
}

fn parse_program(raw: Option<&str>) -> Result<Option<ProgramId>, String> {
    raw.map(ProgramId::parse)
        .transpose()
        .map_err(|v| format!("--program {v}"))
}

/// The programs to look in: the one given (which must exist), else every program.
async fn programs(
    store: &SqlStore,
    given: Option<ProgramId>,
) -> Result<Vec<ProgramId>, Box<dyn std::error::Error>> {
    let all: Vec<ProgramId> = store
        .list_programs()
        .await?
        .into_iter()
        .map(|p| p.program_id)
        .collect();
    match given {
        None => Ok(all),
        Some(p) if all.contains(&p) => Ok(vec![p]),
        Some(p) => Err(format!("no program {p}").into()),
    }
}

/// The event and its program: in `given`, else in whichever program holds it.
async fn find_event(
    store: &SqlStore,
    event: EventId,
    given: Option<ProgramId>,
) -> Result<(ProgramId, StoredEvent), Box<dyn std::error::Error>> {
    for p in programs(store, given).await? {
        if let Some((stored, _)) = store.get_event(p, event).await? {
            return Ok((p, stored));
        }
    }
    Err(match given {
        Some(p) => format!("no event {event} in program {p}"),
        None => format!("no event {event}"),
    }
    .into())
}

/// The endpoint and its program: in `given`, else in whichever program holds it.
async fn find_webhook(
    store: &SqlStore,
    id: WebhookId,
    given: Option<ProgramId>,
) -> Result<(ProgramId, Webhook), Box<dyn std::error::Error>> {
    for p in programs(store, given).await? {
        if let Some(found) = store.get_webhook(p, id).await? {
            return Ok((p, found));
        }
    }
    Err(match given {
        Some(p) => format!("no webhook endpoint {id} in program {p}"),
        None => format!("no webhook endpoint {id}"),
    }
    .into())
}

async fn resend(
    store: &SqlStore,
    out: &mut impl Write,
    event: EventId,
    webhook: Option<WebhookId>,
    given: Option<ProgramId>,
    actor: &str,
    now: DateTime<Utc>,
) -> CliResult {
    let (program, stored) = find_event(store, event, given).await?;
    let target = match webhook {
        None => None,
        Some(w) => match store.get_webhook(program, w).await? {
            Some(found) => Some(found),
            None => {
                return Err(
                    format!("no webhook endpoint {w} in the event's program {program}").into(),
                );
            }
        },
    };
    // Actor `operator`: the CLI's (SPEC §7); a resend writes no event, only a delivery.
    match store
        .resend_event(program, event, webhook, now, Along::by("operator"))
        .await
    {
        Ok(_) => {}
        Err(StorageError::NotFound(Entity::Webhook)) => {
            return Err(format!("no such webhook endpoint in program {program}").into());
        }
        Err(StorageError::NotFound(Entity::Event)) => {
            return Err(format!("no event {event} in program {program}").into());
        }
        Err(e) => return Err(e.into()),
    }
    let command = match webhook {
        Some(w) => format!("webhook resend {event} --webhook {w}"),
        None => format!("webhook resend {event}"),
    };
    store
        .record_operator_action(&OperatorAction::new(actor, command), now)
        .await?;
    let kind = stored.event_type.as_str();
    match target {
        None => writeln!(
            out,
            "event {event} ({kind}) queued again for every enabled endpoint of {program} that takes {kind}"
        )?,
        Some(w) if w.status == WebhookStatus::Disabled => writeln!(
            out,
            "event {event} ({kind}) queued again for {}, which is disabled: it is delivered once the endpoint is enabled (onboard webhook enable {})",
            w.id, w.id
        )?,
        Some(w) => writeln!(out, "event {event} ({kind}) queued again for {}", w.id)?,
    }
    Ok(())
}

async fn set_status(
    store: &SqlStore,
    out: &mut impl Write,
    webhook: &str,
    program: Option<&str>,
    enabled: bool,
    actor: &str,
    now: DateTime<Utc>,
) -> CliResult {
    let id = WebhookId::parse(webhook).map_err(|v| format!("webhook {v}"))?;
    let given = parse_program(program)?;
    let (program, _) = find_webhook(store, id, given).await?;
    let (status, verb) = if enabled {
        (WebhookStatus::Enabled, "enable")
    } else {
        (WebhookStatus::Disabled, "disable")
    };
    let update = WebhookUpdate {
        url: None,
        event_types: None,
        status: Some(status),
    };
    let changed = match store
        .update_webhook(program, id, &update, now, Along::by("operator"))
        .await
    {
        Err(StorageError::NotFound(_)) => {
            return Err(format!("no webhook endpoint {id} in program {program}").into());
        }
        other => other?.written().ok_or("the change was not written")?,
    };
    store
        .record_operator_action(
            &OperatorAction::new(actor, format!("webhook {verb} {id}")),
            now,
        )
        .await?;
    let then = if enabled {
        "what was pending is delivered"
    } else {
        "its deliveries wait until it is enabled"
    };
    writeln!(
        out,
        "webhook endpoint {} of {program} is now {}: {then}",
        changed.id,
        changed.status.as_str()
    )?;
    Ok(())
}
