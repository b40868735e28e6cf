//! Black-box tests of the running service, each on SQLite and (when configured) PostgreSQL
//! and MariaDB.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod auth;
mod create_user;
mod envelope;
mod outage;
mod retries;
