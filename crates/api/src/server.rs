//! Building and running the HTTP server (`onboard serve`), with background sweepers.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use storage::{IdempotencyRepository as _, ReplayGuard as _, SqlStore};
use tracing_actix_web::TracingLogger;

use crate::app::configure;
use crate::auth::Authenticator;
use crate::client_addr::TrustedProxies;
use crate::clock::Clock;
use crate::config::Config;
use crate::limits::{Limits, Rate};
use crate::state::AppState;
use crate::telemetry::RequestSpan;

/// A server bound to a listener, not yet running.
#[derive(Debug)]
pub struct Settings {
    /// Minimum age of a user.
    pub min_age: u32,
    /// Largest request body.
    pub body_limit: usize,
    /// API key cache lifetime (revocation bound).
    pub api_key_ttl: Duration,
    /// Authenticated requests per program.
    pub program_rate: Rate,
    /// Authentication failures per client address.
    pub auth_failure_rate: Rate,
    /// The KYC verifier.
    pub kyc_verifier: Arc<dyn crate::kyc::KycVerifier>,
    /// How often the KYC worker looks for pending users.
    pub kyc_interval: Duration,
    /// Proxies whose forwarding headers name the client.
    pub trusted_proxies: TrustedProxies,
    /// Whether reads are replay-guarded too (`replay_guard = "all"`).
    pub replay_reads: bool,
}

/// A configuration value the server cannot use.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A `trusted_proxies` entry.
    #[error(transparent)]
    TrustedProxy(#[from] crate::client_addr::BadProxy),
    /// `replay_guard`.
    #[error("replay_guard: {0:?} is not one of \"changes\" (default), \"all\"")]
    ReplayGuard(String),
}

impl TryFrom<&Config> for Settings {
    type Error = SettingsError;

    fn try_from(c: &Config) -> Result<Self, SettingsError> {
        let replay_reads = match c.replay_guard.as_str() {
            "changes" => false,
            "all" => true,
            other => return Err(SettingsError::ReplayGuard(other.to_owned())),
        };
        Ok(Self {
            min_age: c.min_age,
            body_limit: c.body_limit_bytes,
            api_key_ttl: Duration::from_secs(c.api_key_cache_ttl_secs),
            program_rate: Rate {
                per_second: c.rate_limit_per_second,
                burst: c.rate_limit_burst,
            },
            auth_failure_rate: Rate {
                per_second: c.auth_failures_per_minute / 60.0,
                burst: c.auth_failures_burst,
            },
            // `Config::load` refuses any other name; a configuration built in code falls
            // back to the verifier that decides nothing.
            kyc_verifier: crate::kyc::verifier(&c.kyc_verifier)
                .unwrap_or_else(|| Arc::new(crate::kyc::Manual)),
            kyc_interval: Duration::from_millis(c.kyc_interval_ms.max(50)),
            trusted_proxies: TrustedProxies::parse(&c.trusted_proxies)?,
            replay_reads,
        })
    }
}

/// The state of the API over `store` (the SQL store, or a fake in handler tests);
/// `key_mismatch` when the keys do not match the database (nothing is served but 503s).
pub fn state(
    store: Arc<dyn storage::Repositories>,
    clock: Arc<dyn Clock>,
    settings: &Settings,
    key_mismatch: Option<storage::KeyMismatch>,
) -> AppState {
    AppState {
        auth: Authenticator::new(store.clone(), clock.clone(), settings.api_key_ttl),
        store,
        clock,
        min_age: settings.min_age,
        body_limit: settings.body_limit,
        limits: Limits::new(settings.program_rate, settings.auth_failure_rate),
        trusted_proxies: settings.trusted_proxies.clone(),
        replay_reads: settings.replay_reads,
        key_mismatch,
    }
}

/// Starts serving on `listener`; returns the running server (await it to wait for shutdown).
/// SIGINT/SIGTERM stop accepting, let in-flight requests finish (up to 30 s), then exit.
/// With `key_mismatch`, no background work starts and every API request answers 503.
pub fn run(
    listener: TcpListener,
    store: SqlStore,
    clock: Arc<dyn Clock>,
    settings: &Settings,
    key_mismatch: Option<storage::KeyMismatch>,
) -> std::io::Result<Server> {
    crate::metrics::install();
    let refused = key_mismatch.is_some();
    if let Some(warning) = settings.kyc_verifier.warning() {
        tracing::warn!(verifier = settings.kyc_verifier.name(), "{warning}");
    }
    let state = web::Data::new(self::state(
        Arc::new(store.clone()),
        clock.clone(),
        settings,
        key_mismatch,
    ));
    if !refused {
        crate::kyc::spawn_worker(
            store.clone(),
            settings.kyc_verifier.clone(),
            clock.clone(),
            settings.kyc_interval,
        );
        // KYB goes through the verifier of the same kind as KYC's (SPEC §9).
        crate::kyb::spawn_worker(
            store.clone(),
            crate::kyb::like(settings.kyc_verifier.as_ref()),
            clock.clone(),
            settings.kyc_interval,
        );
        spawn_sweepers(store, clock);
    }
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(crate::metrics::record))
            .wrap(TracingLogger::<RequestSpan>::new())
            .app_data(state.clone())
            .configure(configure)
    })
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Deletes expired replay-guard and idempotency records every minute, in bounded batches.
fn spawn_sweepers(store: SqlStore, clock: Arc<dyn Clock>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let now = clock.now();
            sweep("seen signatures", || {
                store.sweep_signatures(now, SWEEP_BATCH)
            })
            .await;
            sweep("idempotency records", || {
                store.sweep_idempotency(now, SWEEP_BATCH)
            })
            .await;
        }
    });
}

/// Rows deleted per statement by the sweepers.
const SWEEP_BATCH: u64 = 1000;

/// Runs one sweep in batches until a batch comes back short (at most ten per tick).
async fn sweep<F, Fut>(what: &str, mut batch: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, storage::StorageError>>,
{
    for _ in 0..10 {
        match batch().await {
            Ok(SWEEP_BATCH) => {}
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(error = %e, "sweeping {what} failed");
                return;
            }
        }
    }
}
