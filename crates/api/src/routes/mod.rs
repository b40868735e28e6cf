//! HTTP handlers, one module per resource.

pub mod businesses;
pub mod events;
pub mod health;
pub mod support;
pub mod users;
pub mod webhooks;
