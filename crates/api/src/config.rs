//! Configuration: defaults, then an optional TOML file, then `ONBOARD_*` variables and `DATABASE_URL`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// Everything the binary can be told.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Database URL; default SQLite under `./data/`.
    pub database_url: String,
    /// Listen address.
    pub bind: String,
    /// HTTPS in process: the certificate chain (PEM), read again when it changes. With
    /// `tls_key_file`; unset: plain HTTP (behind a proxy that terminates TLS).
    pub tls_cert_file: Option<PathBuf>,
    /// The certificate's private key (PEM, PKCS#8, SEC1 or PKCS#1).
    pub tls_key_file: Option<PathBuf>,
    /// Pool size.
    pub max_connections: u32,
    /// SQLite durability: `full` (default) or `normal`.
    pub sqlite_synchronous: String,
    /// Group commit: how many batches of concurrent creates may be written at once (0: the
    /// default, 1).
    pub create_batches: usize,
    /// How long a request waits for a pooled connection before answering 503.
    pub db_acquire_timeout_ms: u64,
    /// How long a statement waits for a lock held by another session (PostgreSQL
    /// `lock_timeout`, MariaDB `innodb_lock_wait_timeout` in whole seconds); 0: the server's.
    pub db_lock_timeout_ms: u64,
    /// How long one statement may run (PostgreSQL `statement_timeout`, MariaDB
    /// `max_statement_time`); 0: unbounded.
    pub db_statement_timeout_ms: u64,
    /// PostgreSQL `idle_in_transaction_session_timeout`; 0: never.
    pub db_idle_in_transaction_timeout_ms: u64,
    /// SQLite: how long a writer waits for the write lock.
    pub sqlite_busy_timeout_ms: u64,
    /// SQLite: each connection's page cache, in MiB (1–1,024; default 2).
    pub sqlite_cache_mib: u32,
    /// Minimum age of a user, in years.
    pub min_age: u32,
    /// Largest accepted request body, in bytes.
    pub body_limit_bytes: usize,
    /// How long a verified API key is trusted before its revocation status is re-read.
    pub api_key_cache_ttl_secs: u64,
    /// Where keys are read from (and created, in development, when none are configured).
    pub key_file: PathBuf,
    /// `json` (default) or `pretty` logs.
    pub log_format: String,
    /// Sustained authenticated requests per second per program (per instance).
    pub rate_limit_per_second: f64,
    /// Burst of requests a program may send at once (per instance).
    pub rate_limit_burst: f64,
    /// Authentication failures per minute per client address before 429.
    pub auth_failures_per_minute: f64,
    /// Burst of authentication failures per client address.
    pub auth_failures_burst: f64,
    /// `manual` (default: operators decide with `onboard kyc decide`) or `sandbox`.
    pub kyc_verifier: String,
    /// How often the KYC worker looks for pending users, in milliseconds.
    pub kyc_interval_ms: u64,
    /// Proxies (addresses or networks) whose `Forwarded`/`X-Forwarded-For` name the client
    /// for the authentication-failure limiter; empty: the TCP peer is the client.
    pub trusted_proxies: Vec<String>,
    /// `changes` (default: state-changing requests are replay-guarded, reads write nothing)
    /// or `all` (reads too; SPEC §2.1).
    pub replay_guard: String,
    /// Webhooks to `http://` and to loopback, private and link-local addresses
    /// (development and tests only; SPEC §7).
    pub webhook_allow_private_targets: bool,
    /// How often each instance's webhook worker looks for due deliveries when idle.
    pub webhook_interval_ms: u64,
    /// Deliveries each instance's webhook worker claims and sends at once (its outcomes are
    /// then recorded in one transaction).
    pub webhook_batch: u64,
    /// Multiplies the webhook retry schedule (1 in production; small in tests).
    pub webhook_retry_scale: f64,
    /// A sanctions list directory (`sdn.csv`, `alt.csv`, `add.csv`) loaded at start; none:
    /// the list in the database, if any (`onboard screening load DIR`).
    pub screening_list_dir: Option<PathBuf>,
    /// A best score at or above it is a potential match (SPEC §8).
    pub screening_review_threshold: f64,
    /// How often an instance looks for a new list version and rescreens, in milliseconds.
    pub screening_poll_ms: u64,
    /// The operator console's listen address (SPEC §10); unset: no console. Never the API's
    /// address: the console is its own server.
    pub console_bind: Option<String>,
    /// Console cookies without `Secure` (local development over plain HTTP only).
    pub console_insecure_cookies: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://./data/onboard.sqlite?mode=rwc".to_owned(),
            bind: "127.0.0.1:8080".to_owned(),
            tls_cert_file: None,
            tls_key_file: None,
            max_connections: 10,
            sqlite_synchronous: "full".to_owned(),
            create_batches: 0,
            db_acquire_timeout_ms: 5_000,
            db_lock_timeout_ms: 3_000,
            db_statement_timeout_ms: 10_000,
            db_idle_in_transaction_timeout_ms: 15_000,
            sqlite_busy_timeout_ms: 5_000,
            sqlite_cache_mib: storage::SQLITE_DEFAULT_CACHE_MIB,
            min_age: domain::ParseContext::DEFAULT_MIN_AGE,
            body_limit_bytes: 64 * 1024,
            api_key_cache_ttl_secs: 30,
            key_file: PathBuf::from("./data/keys.toml"),
            log_format: "json".to_owned(),
            rate_limit_per_second: 100.0,
            rate_limit_burst: 200.0,
            auth_failures_per_minute: 30.0,
            auth_failures_burst: 30.0,
            kyc_verifier: "manual".to_owned(),
            kyc_interval_ms: 1000,
            trusted_proxies: Vec::new(),
            replay_guard: "changes".to_owned(),
            webhook_allow_private_targets: false,
            webhook_interval_ms: 500,
            webhook_batch: crate::delivery::DeliverySettings::default().batch,
            webhook_retry_scale: 1.0,
            screening_list_dir: None,
            screening_review_threshold: domain::screening::DEFAULT_REVIEW_THRESHOLD,
            screening_poll_ms: 1000,
            console_bind: None,
            console_insecure_cookies: false,
        }
    }
}

/// The values a field with a fixed set of choices accepts (exactly, in lowercase).
fn choices(field: &str) -> &'static [&'static str] {
    match field {
        "kyc_verifier" => &["manual", "sandbox"],
        "log_format" => &["json", "pretty"],
        "sqlite_synchronous" => &["full", "normal"],
        "replay_guard" => &["changes", "all"],
        _ => &[],
    }
}

/// The fields settable as `ONBOARD_<FIELD>`.
const FIELDS: &[&str] = &[
    "database_url",
    "bind",
    "max_connections",
    "sqlite_synchronous",
    "create_batches",
    "min_age",
    "body_limit_bytes",
    "api_key_cache_ttl_secs",
    "key_file",
    "log_format",
    "rate_limit_per_second",
    "rate_limit_burst",
    "auth_failures_per_minute",
    "auth_failures_burst",
    "kyc_verifier",
    "kyc_interval_ms",
    "trusted_proxies",
    "replay_guard",
    "db_acquire_timeout_ms",
    "db_lock_timeout_ms",
    "db_statement_timeout_ms",
    "db_idle_in_transaction_timeout_ms",
    "sqlite_busy_timeout_ms",
    "sqlite_cache_mib",
    "tls_cert_file",
    "tls_key_file",
    "webhook_allow_private_targets",
    "webhook_interval_ms",
    "webhook_batch",
    "webhook_retry_scale",
    "screening_list_dir",
    "screening_review_threshold",
    "screening_poll_ms",
    "console_bind",
    "console_insecure_cookies",
];

impl Config {
    /// Loads the configuration: defaults < `file` (if given or `ONBOARD_CONFIG` is set) <
    /// `ONBOARD_*` variables (`ONBOARD_BIND`, `ONBOARD_MIN_AGE`, …) < `DATABASE_URL`.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Self::default()));
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("ONBOARD_CONFIG").map(PathBuf::from));
        if let Some(path) = file {
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment
            // Only the configuration's own fields: other ONBOARD_* variables (keys, client
            // credentials, test URLs) are not configuration fields.
            .merge(Env::prefixed("ONBOARD_").only(FIELDS))
            .merge(Env::raw().only(&["DATABASE_URL"]));
        let config: Self = figment.extract().map_err(Box::new)?;
        config
            .check_choices()
            .map_err(|e| Box::new(figment::Error::from(e)))?;
        Ok(config)
    }

    /// Refuses a value outside its field's choices (a typo must not silently mean the
    /// default): the message names the field and the allowed values.
    pub fn check_choices(&self) -> Result<(), String> {
        for (field, value) in [
            ("kyc_verifier", &self.kyc_verifier),
            ("log_format", &self.log_format),
            ("sqlite_synchronous", &self.sqlite_synchronous),
            ("replay_guard", &self.replay_guard),
        ] {
            let allowed = choices(field);
            if !allowed.contains(&value.as_str()) {
                return Err(format!(
                    "{field} = {value:?} is not one of the allowed values: {}",
                    allowed.join(", ")
                ));
            }
        }
        Ok(())
    }

    /// The storage settings this configuration asks for.
    pub fn database(&self) -> storage::DatabaseConfig {
        let mut db = storage::DatabaseConfig::new(self.database_url.clone());
        db.max_connections = self.max_connections;
        db.create_batches = self.create_batches;
        db.acquire_timeout = Duration::from_millis(self.db_acquire_timeout_ms.max(1));
        db.lock_timeout = Duration::from_millis(self.db_lock_timeout_ms);
        db.statement_timeout = Duration::from_millis(self.db_statement_timeout_ms);
        db.idle_in_transaction_timeout =
            Duration::from_millis(self.db_idle_in_transaction_timeout_ms);
        db.sqlite_busy_timeout = Duration::from_millis(self.sqlite_busy_timeout_ms);
        db.sqlite_cache_mib = self.sqlite_cache_mib.clamp(1, 1024);
        db.sqlite_durability = if self.sqlite_synchronous == "normal" {
            storage::SqliteDurability::Normal
        } else {
            storage::SqliteDurability::Full
        };
        db
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_can_be_set_from_the_environment() {
        let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
        let mut fields: Vec<&str> = defaults
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        // `None` options serialize too (as null), so every field is listed.
        fields.sort_unstable();
        let mut listed = FIELDS.to_vec();
        listed.sort_unstable();
        assert_eq!(fields, listed, "FIELDS lists every Config field");
    }

    #[test]
    fn the_defaults_are_among_the_choices() {
        assert_eq!(Config::default().check_choices(), Ok(()));
    }

    #[test]
    fn a_value_outside_the_choices_is_refused_by_name() {
        let cases = [
            (
                Config {
                    kyc_verifier: "sandbx".into(),
                    ..Config::default()
                },
                "kyc_verifier = \"sandbx\" is not one of the allowed values: manual, sandbox",
            ),
            (
                Config {
                    log_format: "Pretty".into(),
                    ..Config::default()
                },
                "log_format = \"Pretty\" is not one of the allowed values: json, pretty",
            ),
            (
                Config {
                    sqlite_synchronous: "off".into(),
                    ..Config::default()
                },
                "sqlite_synchronous = \"off\" is not one of the allowed values: full, normal",
            ),
        ];
        for (config, message) in cases {
            assert_eq!(config.check_choices(), Err(message.to_owned()));
        }
    }
}
