//! The command line of `onboard`.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use domain::ProgramId;
use storage::{ProgramRepository as _, SqlStore};

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::keys::{self, KeySource};

/// Onboard: a user-onboarding API for banking and payments programs.
#[derive(Debug, Parser)]
#[command(name = "onboard", version)]
pub struct Cli {
    /// TOML configuration file (also `ONBOARD_CONFIG`).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Who runs this command, recorded with every operator action (default: `$USER`).
    #[arg(long, global = true)]
    pub actor: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (migrates the database first).
    Serve {
        /// Listen address (default 127.0.0.1:8080, or `bind` in the configuration).
        #[arg(long)]
        bind: Option<String>,
    },
    /// Apply pending migrations and exit.
    Migrate,
    /// Manage programs and their credentials (takes effect in running servers).
    #[command(subcommand)]
    Program(ProgramCommand),
    /// Manage encryption keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Operator decisions on KYC cases.
    #[command(subcommand)]
    Kyc(KycCommand),
    /// Sanctions screening: load a list, review and decide potential matches.
    #[command(subcommand)]
    Screening(crate::screening_cli::ScreeningCommand),
    /// Operator decisions on KYB cases (businesses).
    #[command(subcommand)]
    Kyb(KybCommand),
    /// Console operators (SPEC §10): create, disable, enable, reset, list.
    #[command(subcommand)]
    Operator(crate::console::cli::OperatorCommand),
    /// Webhook endpoints and failed deliveries: list, failed, resend, disable, enable.
    #[command(subcommand)]
    Webhook(crate::webhook_cli::WebhookCommand),
    /// Send a signed POST with credentials from ONBOARD_URL, ONBOARD_API_KEY,
    /// ONBOARD_HMAC_USERNAME and ONBOARD_HMAC_SECRET, and print the response. Calls to an
    /// endpoint of the API are retried on transient failures (429, 5xx, connection errors),
    /// changes with an automatic Idempotency-Key so they apply at most once.
    Call {
        /// Path such as /api/v3/user/create.
        path: String,
        /// JSON body file, or `-` for standard input (default: `{}`).
        file: Option<String>,
    },
}

/// `onboard program …`.
#[derive(Debug, Subcommand)]
pub enum ProgramCommand {
    /// Create a program; prints its API key, HMAC username and secret once.
    Create {
        /// Program name.
        #[arg(long)]
        name: String,
        /// Print one JSON object (program_id, api_key, hmac_username, hmac_secret).
        #[arg(long)]
        json: bool,
    },
    /// List programs and their active key ids.
    List,
    /// Issue a new API key for a program and revoke its others.
    RotateKey {
        /// The program, `prog-…`.
        #[arg(long)]
        program: String,
    },
    /// Revoke one API key by its id.
    RevokeKey {
        /// The key id (the 16 hex characters after `onb_`).
        #[arg(long)]
        key_id: String,
    },
    /// Issue a new HMAC username and secret (printed once); the program's current ones stay
    /// valid for the overlap, then stop.
    RotateHmac {
        /// The program, `prog-…`.
        program: String,
        /// How long the current credentials stay valid: `24h` (default), `90m`, `7d`, `0`.
        #[arg(long, default_value = "24h", value_parser = crate::operator::parse_overlap)]
        overlap: chrono::Duration,
        /// Print one JSON object (program_id, hmac_username, hmac_secret, retiring,
        /// old_valid_until).
        #[arg(long)]
        json: bool,
    },
    /// Revoke one HMAC credential by its username, at once.
    RevokeHmac {
        /// The HMAC username, `hm_…`.
        username: String,
    },
    /// Disable a program: its requests answer 401 (within the credential cache bound).
    Disable {
        /// The program, `prog-…`.
        program: String,
    },
    /// Enable a disabled program again.
    Enable {
        /// The program, `prog-…`.
        program: String,
    },
}

/// `onboard keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new key file (a data key under a random id and a blind-index key) at the
    /// configured `key_file`, mode 0600; never overwrites one.
    Init,
    /// Re-encrypt every stored secret under the active data key, in batches.
    Rotate {
        /// Rows per batch and column.
        #[arg(long, default_value_t = 500)]
        batch: u64,
    },
}

/// `onboard kyc …`.
#[derive(Debug, Subcommand)]
pub enum KycCommand {
    /// Decide a pending KYC case (the `manual` verifier's way).
    Decide {
        /// The user, `user-…`.
        user: String,
        /// `verified` or `rejected`.
        #[arg(value_parser = ["verified", "rejected"])]
        decision: String,
        /// Why (recorded in the audit trail).
        #[arg(long)]
        reason: Option<String>,
    },
}

/// `onboard kyb …`.
#[derive(Debug, Subcommand)]
pub enum KybCommand {
    /// Decide a pending KYB case (the `manual` verifier's way).
    Decide {
        /// The business, `buss-…`.
        business: String,
        /// `verified` or `rejected`.
        #[arg(value_parser = ["verified", "rejected"])]
        decision: String,
        /// Why (recorded in the business's audit trail).
        #[arg(long)]
        reason: Option<String>,
    },
}

/// Parses the command line and runs it.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("onboard: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    crate::telemetry::init(&config.log_format);
    let actor = crate::operator::actor(cli.actor.as_deref());
    let result = match cli.command {
        Command::Serve { bind } => actix_web::rt::System::new().block_on(serve(config, bind)),
        other => match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime.block_on(run(config, other, &actor)),
            Err(e) => Err(e.into()),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "onboard failed");
            eprintln!("onboard: {e}");
            ExitCode::FAILURE
        }
    }
}

type CliResult = Result<(), Box<dyn std::error::Error>>;

async fn open_store(config: &Config) -> Result<SqlStore, Box<dyn std::error::Error>> {
    let (store, checked) = open_unchecked(config).await?;
    checked?;
    Ok(store)
}

/// Opens the database (migrated) and the keyring, and compares them: the store, and whether
/// its keys match what the database was written with (`serve` starts either way, but not
/// ready; every other command refuses).
async fn open_unchecked(
    config: &Config,
) -> Result<(SqlStore, Result<(), storage::KeyMismatch>), Box<dyn std::error::Error>> {
    ensure_sqlite_files(&config.database_url)?;
    let database = config.database();
    let db = storage::connect_migrated(&database).await?;
    if storage::autovacuum_off(&db).await {
        tracing::warn!(
            "PostgreSQL runs with autovacuum = off: statistics and dead rows are never maintained, and plans made while the tables were small stay in use as they grow; turn it on, or run VACUUM (ANALYZE) regularly"
        );
    }
    let fresh = !storage::holds_sealed_data(&db).await?;
    let (keyring, source) = keys::load(&config.key_file, fresh)?;
    match source {
        KeySource::Created => tracing::warn!(
            key_file = %config.key_file.display(),
            "no encryption keys were configured and the database is empty: created a new key file with mode 0600; back it up, without it stored SSNs cannot be read"
        ),
        KeySource::File => {
            tracing::info!(key_file = %config.key_file.display(), "keys loaded from file");
        }
        KeySource::Environment => tracing::info!("keys loaded from the environment"),
    }
    let store = SqlStore::with_create_batches(db, keyring, database.create_batches)
        .with_event_views(crate::event_views::store_views());
    let checked = store.check_keys(SystemClock.now()).await?;
    Ok((store, checked))
}

/// For a `sqlite://` database file: creates its directory (mode 0700) and the file (0600)
/// when missing, so that neither is ever readable by other users (SQLite gives its `-wal`
/// and `-shm` files the database file's mode).
fn ensure_sqlite_files(url: &str) -> std::io::Result<()> {
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return Ok(());
    };
    let path = std::path::Path::new(rest.split('?').next().unwrap_or_default());
    if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        keys::create_private_dir(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path).map(drop)
}

async fn serve(config: Config, bind: Option<String>) -> CliResult {
    let settings = crate::server::Settings::try_from(&config)?;
    let (store, checked) = open_unchecked(&config).await?;
    let mismatch = checked.err();
    if let Some(mismatch) = &mismatch {
        tracing::error!(
            problem = %mismatch,
            "the configured keys do not match this database: not serving the API (/readyz answers 503) until the keys are corrected and the service restarted"
        );
    }
    let addr = bind.unwrap_or_else(|| config.bind.clone());
    let listener = TcpListener::bind(&addr)?;
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    tracing::info!(addr = %listener.local_addr()?, scheme, "onboard listening");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let console = match (&config.console_bind, &mismatch) {
        (Some(addr), None) => {
            let listener = TcpListener::bind(addr)?;
            tracing::info!(addr = %listener.local_addr()?, "operator console listening");
            let console = crate::console::Console::new(
                store.clone(),
                clock.clone(),
                storage::console::SessionPolicy::default(),
                config.console_insecure_cookies,
            )
            .with_trusted_proxies(settings.trusted_proxies.clone())
            .with_manual_verifier(!settings.kyc_verifier.decides());
            Some(crate::console::run(listener, console)?)
        }
        (Some(_), Some(_)) => {
            tracing::error!("the operator console is not served while the keys do not match");
            None
        }
        (None, _) => None,
    };
    let api = crate::server::run(listener, store, clock, &settings, mismatch)?;
    match console {
        Some(console) => {
            futures_util::future::try_join(api, console).await?;
        }
        None => api.await?,
    }
    tracing::info!("onboard stopped");
    Ok(())
}

#[allow(clippy::print_stdout, clippy::too_many_lines)]
async fn run(config: Config, command: Command, actor: &str) -> CliResult {
    let now = SystemClock.now();
    let by = |command: String| storage::OperatorAction::new(actor, command);
    let cache_secs = config.api_key_cache_ttl_secs;
    match command {
        Command::Serve { .. } => Ok(()),
        Command::Migrate => {
            open_store(&config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Program(ProgramCommand::Create { name, json }) => {
            let store = open_store(&config).await?;
            let issued = store
                .create_program_by(&name, now, &by(format!("program create --name {name}")))
                .await?;
            if json {
                let out = serde_json::json!({
                    "program_id": issued.program_id.to_string(),
                    "api_key": issued.api_key.expose(),
                    "hmac_username": issued.hmac_username,
                    "hmac_secret": issued.hmac_secret.expose(),
                });
                println!("{out}");
            } else {
                println!("program created: {}", issued.program_id);
                println!("Store these now; they are shown only once.");
                println!("export ONBOARD_API_KEY={}", issued.api_key.expose());
                println!("export ONBOARD_HMAC_USERNAME={}", issued.hmac_username);
                println!("export ONBOARD_HMAC_SECRET={}", issued.hmac_secret.expose());
            }
            Ok(())
        }
        Command::Program(ProgramCommand::List) => {
            let store = open_store(&config).await?;
            for p in store.list_programs().await? {
                let retiring: Vec<String> = p
                    .hmac_retiring
                    .iter()
                    .map(|(u, until)| format!(",{u} (until {})", crate::views::timestamp(*until)))
                    .collect();
                let retiring = retiring.concat();
                let disabled = p
                    .disabled_at
                    .map(|t| format!("\tDISABLED since {}", crate::views::timestamp(t)))
                    .unwrap_or_default();
                println!(
                    "{}\t{}\tcreated {}\tapi keys: {}\thmac: {}{retiring}{disabled}",
                    p.program_id,
                    p.name,
                    crate::views::timestamp(p.created_at),
                    p.active_api_key_ids.join(","),
                    p.hmac_usernames.join(","),
                );
            }
            Ok(())
        }
        Command::Program(ProgramCommand::RotateKey { program }) => {
            let program = ProgramId::parse(&program).map_err(|v| format!("--program {v}"))?;
            let store = open_store(&config).await?;
            let action = by(format!("program rotate-key --program {program}"));
            let (key_id, key) = store.rotate_api_key(program, now, &action).await?;
            println!("new API key {key_id} issued; the program's other keys are revoked.");
            println!("export ONBOARD_API_KEY={}", key.expose());
            Ok(())
        }
        Command::Program(ProgramCommand::RevokeKey { key_id }) => {
            let store = open_store(&config).await?;
            let action = by(format!("program revoke-key --key-id {key_id}"));
            store.revoke_api_key(&key_id, now, &action).await?;
            println!(
                "API key {key_id} revoked (running servers stop accepting it within {cache_secs} s)"
            );
            Ok(())
        }
        Command::Program(ProgramCommand::RotateHmac {
            program,
            overlap,
            json,
        }) => {
            let store = open_store(&config).await?;
            let action = by(format!(
                "program rotate-hmac {program} --overlap {}s",
                overlap.num_seconds()
            ));
            crate::operator::rotate_hmac(&store, &action, &program, overlap, json, now).await
        }
        Command::Program(ProgramCommand::RevokeHmac { username }) => {
            let store = open_store(&config).await?;
            let action = by(format!("program revoke-hmac {username}"));
            crate::operator::revoke_hmac(&store, &action, &username, cache_secs, now).await
        }
        Command::Program(ProgramCommand::Disable { program }) => {
            let store = open_store(&config).await?;
            let action = by(format!("program disable {program}"));
            crate::operator::set_disabled(&store, &action, &program, true, cache_secs, now).await
        }
        Command::Program(ProgramCommand::Enable { program }) => {
            let store = open_store(&config).await?;
            let action = by(format!("program enable {program}"));
            crate::operator::set_disabled(&store, &action, &program, false, cache_secs, now).await
        }
        Command::Keys(KeysCommand::Init) => {
            let ring = keys::init(&config.key_file)?;
            println!(
                "wrote {} with data key {} (mode 0600): back it up; without it stored SSNs cannot be read",
                config.key_file.display(),
                ring.active_key_id()
            );
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate { batch }) => {
            let store = open_store(&config).await?;
            // Recorded as it starts: it runs in many transactions, and may be interrupted.
            store
                .record_operator_action(&by(format!("keys rotate --batch {batch}")), now)
                .await?;
            let mut total = 0;
            loop {
                let report = store.reencrypt_batch(batch.max(1)).await?;
                total += report.rewritten;
                if !report.more {
                    break;
                }
            }
            println!(
                "{total} ciphertexts re-encrypted under key {}; keys other than it may now be removed",
                store.keyring().active_key_id()
            );
            Ok(())
        }
        Command::Kyc(KycCommand::Decide {
            user,
            decision,
            reason,
        }) => {
            let action = by(format!("kyc decide {user} {decision}"));
            kyc_decide(&config, &action, &user, &decision, reason.as_deref(), now).await
        }
        Command::Screening(command) => {
            let store = open_store(&config).await?;
            crate::screening_cli::run(&store, command, actor, now).await
        }
        Command::Kyb(KybCommand::Decide {
            business,
            decision,
            reason,
        }) => {
            let action = by(format!("kyb decide {business} {decision}"));
            let id = domain::BusinessId::parse(&business).map_err(|v| format!("business {v}"))?;
            let reason = reason
                .as_deref()
                .map(domain::Reason::parse)
                .transpose()
                .map_err(|v| format!("--reason {v}"))?;
            let store = open_store(&config).await?;
            let verified = decision == "verified";
            let decided = crate::kyb::decide(
                &store,
                id,
                verified,
                reason.as_ref(),
                "operator",
                &action,
                now,
            )
            .await?;
            println!(
                "{} kyb_status is now {}",
                decided.id(),
                decided.kyb_status()
            );
            Ok(())
        }
        Command::Operator(command) => {
            let store = open_store(&config).await?;
            crate::console::cli::run(&store, command, actor, now).await
        }
        Command::Webhook(command) => {
            let store = open_store(&config).await?;
            crate::webhook_cli::run(&store, command, actor, now).await
        }
        Command::Call { path, file } => call(&path, file.as_deref()).await,
    }
}

#[allow(clippy::print_stdout)]
async fn call(path: &str, file: Option<&str>) -> CliResult {
    let body = match file {
        None => b"{}".to_vec(),
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf)?;
            buf
        }
        Some(f) => std::fs::read(f)?,
    };
    let client = client::Client::from_env()?;
    // A known endpoint is retried on transient answers; a change carries an automatic
    // Idempotency-Key, so that a retry cannot apply it twice. Anything else is sent once.
    let response = match client::Endpoint::from_path(path) {
        Some(e) if e.mutating() => {
            client
                .post_idempotent(path, &body, client.max_attempts())
                .await?
        }
        Some(_) => {
            client
                .post_retrying(path, &body, client.max_attempts())
                .await?
        }
        None => client.post(path, &body, None).await?,
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "HTTP {}", response.status)?;
    match serde_json::from_slice::<serde_json::Value>(&response.body) {
        Ok(v) => writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?,
        Err(_) => writeln!(out, "{}", String::from_utf8_lossy(&response.body))?,
    }
    if response.status >= 400 {
        return Err(format!("the service answered HTTP {}", response.status).into());
    }
    Ok(())
}

#[allow(clippy::print_stdout)]
async fn kyc_decide(
    config: &Config,
    action: &storage::OperatorAction,
    user: &str,
    decision: &str,
    reason: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> CliResult {
    let id = domain::UserId::parse(user).map_err(|v| format!("user {v}"))?;
    let reason = reason
        .map(domain::Reason::parse)
        .transpose()
        .map_err(|v| format!("--reason {v}"))?;
    let store = open_store(config).await?;
    let verified = decision == "verified";
    let user = match crate::kyc::decide(
        &store,
        id,
        verified,
        reason.as_ref(),
        "operator",
        action,
        now,
    )
    .await
    {
        Err(crate::kyc::DecideError::HeldByScreening(screening)) => {
            return Err(format!(
                "screening holds this user's KYC ({screening}): decide the case first with onboard screening decide"
            )
            .into());
        }
        other => other?,
    };
    println!("{} kyc_status is now {}", user.id(), user.kyc_status());
    Ok(())
}
