//! Black-box tests of the running service, each on SQLite and (when configured) PostgreSQL
//! and MariaDB.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    unreachable_pub
)]

mod auth;
mod businesses;
mod changes;
mod configuration;
mod console;
mod console_admin;
mod console_admin_browser;
mod console_browser;
mod create_user;
mod credentials;
mod docs_page;
mod envelope;
mod hardening;
mod lifecycle;
mod openapi;
mod operations;
mod outage;
mod retries;
mod screening;
mod search;
mod typed_client;
mod webhooks;
