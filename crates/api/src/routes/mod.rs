//! HTTP handlers, one module per resource.

pub mod business_life;
pub mod businesses;
pub mod health;
pub mod support;
pub mod users;
