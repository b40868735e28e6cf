//! HTTP handlers, one module per resource.

pub mod businesses;
pub mod health;
pub mod support;
pub mod users;
