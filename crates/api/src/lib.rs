//! Onboard's HTTP transport: actix-web routes, request authentication, the error envelope,
//! configuration and the pieces of the `onboard` binary.

#[cfg(feature = "mimalloc")]
pub mod allocator;
pub mod any_case;
pub mod app;
pub mod auth;
pub mod body;
pub mod business_requests;
pub mod business_views;
pub mod cli;
pub mod client_addr;
pub mod clock;
pub mod config;
pub mod console;
pub mod delivery;
pub mod error;
pub mod event_views;
pub mod idempotency;
pub mod keys;
pub mod kyb;
pub mod kyc;
pub mod limits;
pub mod metrics;
pub mod openapi;
mod openapi_links;
pub mod operator;
pub mod pipeline;
pub mod requests;
pub mod requests_webhooks;
pub mod routes;
pub mod schemas;
pub mod screening;
pub mod screening_cli;
pub mod server;
pub mod state;
pub mod telemetry;
pub mod tls;
pub mod views;
pub mod webhook_cli;
