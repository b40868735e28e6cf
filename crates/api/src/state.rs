//! What every handler shares: the repositories, authentication, the clock, limits.

use std::sync::Arc;

use storage::Repositories;

use crate::auth::Authenticator;
use crate::client_addr::TrustedProxies;
use crate::clock::Clock;
use crate::limits::Limits;

/// Everything a handler needs, shared by all workers.
#[derive(Debug)]
pub struct AppState {
    /// Repositories (the SQL store; a fake in handler tests).
    pub store: Arc<dyn Repositories>,
    /// Request authentication.
    pub auth: Authenticator,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Minimum age of a user, in years.
    pub min_age: u32,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Rate limits.
    pub limits: Limits,
    /// Proxies whose forwarding headers name the client (for the failure limiter).
    pub trusted_proxies: TrustedProxies,
    /// Whether reads are replay-guarded too (`replay_guard = "all"`; SPEC §2.1).
    pub replay_reads: bool,
    /// Whether webhooks may target `http://` and non-public addresses (development, tests).
    pub webhook_allow_private: bool,
    /// Set when the configured keys do not match the database: every API request and
    /// `/readyz` answer 503, and nothing is read or written.
    pub key_mismatch: Option<storage::KeyMismatch>,
    /// Sanctions screening: the list in use (none: screening is off) and the threshold.
    pub screening: Arc<crate::screening::Screener>,
}

/// The API versions served, with identical behaviour.
pub const VERSIONS: [&str; 2] = ["/api/v3", "/api/v4"];
