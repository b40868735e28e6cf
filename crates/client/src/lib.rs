//! Onboard's client: the HMAC-SHA512 request signer (the same one the server's verifier
//! uses) and signed calls with automatic idempotency keys.

mod http;
pub mod signing;

pub use http::{CLIENT_SIGNED, Client, ClientError, DEFAULT_URL, Response};
