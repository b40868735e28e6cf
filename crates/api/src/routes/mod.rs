//! HTTP handlers, one module per resource.

pub mod business_life;
pub mod businesses;
pub mod events;
pub mod health;
pub mod support;
pub mod users;
pub mod webhooks;
