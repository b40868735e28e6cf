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

/// This process's name in the leases it holds: random, so that two processes never share one.
fn instance_id() -> String {
    format!("{}-{}", std::process::id(), uuid::Uuid::now_v7().simple())
}

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
    /// HTTPS in process, if configured.
    pub tls: Option<Arc<crate::tls::Tls>>,
    /// Webhook delivery.
    pub webhooks: crate::delivery::DeliverySettings,
    /// Sanctions screening: the list directory loaded at start, the review threshold, and how
    /// often instances look for a new list version.
    pub screening_list_dir: Option<std::path::PathBuf>,
    /// A best score at or above it is a potential match.
    pub screening_threshold: f64,
    /// How often the screening worker runs.
    pub screening_poll: Duration,
}

/// A configuration value the server cannot use.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A `trusted_proxies` entry.
    #[error(transparent)]
    TrustedProxy(#[from] crate::client_addr::BadProxy),
    /// `tls_cert_file`, `tls_key_file`.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
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
            tls: crate::tls::Tls::from_files(
                c.tls_cert_file.as_deref(),
                c.tls_key_file.as_deref(),
            )?,
            webhooks: crate::delivery::DeliverySettings {
                allow_private: c.webhook_allow_private_targets,
                interval: Duration::from_millis(c.webhook_interval_ms.max(10)),
                batch: c.webhook_batch.clamp(1, 1000),
                retry_scale: c.webhook_retry_scale.max(0.0),
            },
            screening_list_dir: c.screening_list_dir.clone(),
            screening_threshold: c.screening_review_threshold,
            screening_poll: Duration::from_millis(c.screening_poll_ms.max(50)),
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
        webhook_allow_private: settings.webhooks.allow_private,
        key_mismatch,
        screening: Arc::new(crate::screening::Screener::new(
            settings.screening_threshold,
        )),
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
    let store = store.with_event_views(crate::event_views::store_views());
    let refused = key_mismatch.is_some();
    // A creation's deliveries go straight to this instance's worker (`storage::events::
    // dispatch`), unless nothing runs (a key mismatch).
    let (store, dispatched) = if refused {
        (store, None)
    } else {
        let (store, receiver) = store.dispatching(crate::delivery::LEASE);
        (store, Some(receiver))
    };
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
        let worker = crate::kyc::spawn_worker(
            store.clone(),
            settings.kyc_verifier.clone(),
            clock.clone(),
            settings.kyc_interval,
        );
        tracing::info!(
            verifier = settings.kyc_verifier.name(),
            worker,
            "KYC cases are claimed through the database"
        );
        crate::delivery::spawn_worker(
            store.clone(),
            clock.clone(),
            settings.webhooks.clone(),
            dispatched,
        )
        .map_err(std::io::Error::other)?;
        crate::screening::spawn_worker(
            store.clone(),
            state.screening.clone(),
            clock.clone(),
            settings.screening_list_dir.clone(),
            settings.screening_poll,
        );
        // KYB goes through the verifier of the same kind as KYC's (SPEC §9); with the manual
        // one, operators decide and no worker polls.
        if settings.kyc_verifier.decides() {
            crate::kyb::spawn_worker(
                store.clone(),
                crate::kyb::like(settings.kyc_verifier.as_ref()),
                clock.clone(),
                settings.kyc_interval,
            );
        }
        spawn_sweepers(store, clock, instance_id());
    }
    // Work that would otherwise fall on the first requests.
    domain::PhoneNumber::load_metadata();
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(crate::metrics::record))
            .wrap(TracingLogger::<RequestSpan>::new())
            .app_data(state.clone())
            .configure(configure)
    })
    .shutdown_timeout(30);
    let server = match &settings.tls {
        Some(tls) => {
            let config = tls.server_config().map_err(std::io::Error::other)?;
            tls.spawn_reloader();
            server.listen_rustls_0_23(listener, config)?
        }
        None => server.listen(listener)?,
    };
    Ok(server.run())
}

/// How often the sweeper looks for expired records.
const SWEEP_EVERY: Duration = Duration::from_secs(5);
/// The sweeper's lease: one instance sweeps at a time; it renews the lease every tick, and an
/// instance that dies gives it up when it runs out.
const SWEEP_LEASE: Duration = Duration::from_secs(30);
/// The most one tick sweeps for (well inside the lease, so the holder renews it in time).
const SWEEP_BUDGET: Duration = Duration::from_secs(20);
/// Rows deleted per statement by the sweeper.
const SWEEP_BATCH: u64 = 1000;
/// The name of the sweeper's lease.
const SWEEPER: &str = "sweeper";

/// Deletes expired replay-guard and idempotency records, one instance at a time (a lease
/// taken through the database), in batches along the expiry indexes until drained.
fn spawn_sweepers(store: SqlStore, clock: Arc<dyn Clock>, holder: String) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match store
                .try_lease(SWEEPER, &holder, clock.now(), SWEEP_LEASE)
                .await
            {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    tracing::warn!(error = %e, "the sweeper could not take its lease");
                    continue;
                }
            }
            let deadline = tokio::time::Instant::now() + SWEEP_BUDGET;
            let now = clock.now();
            drain("seen_signatures", deadline, || {
                store.sweep_signatures(now, SWEEP_BATCH)
            })
            .await;
            drain("idempotency_records", deadline, || {
                store.sweep_idempotency(now, SWEEP_BATCH)
            })
            .await;
            // Console sessions past their absolute expiry (few: one per login).
            match store.sweep_console_sessions(now).await {
                Ok(n) => {
                    metrics::counter!("onboard_swept_rows_total", "table" => "console_sessions")
                        .increment(n);
                }
                Err(e) => tracing::warn!(error = %e, "sweeping console_sessions failed"),
            }
        }
    });
}

/// Runs one sweep in batches until a batch comes back short or `deadline` passes; counts the
/// rows in `onboard_swept_rows_total{table}`.
async fn drain<F, Fut>(table: &'static str, deadline: tokio::time::Instant, mut batch: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<u64, storage::StorageError>>,
{
    while tokio::time::Instant::now() < deadline {
        match batch().await {
            Ok(n) => {
                metrics::counter!("onboard_swept_rows_total", "table" => table).increment(n);
                if n < SWEEP_BATCH {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "sweeping {table} failed");
                return;
            }
        }
    }
}
