//! Onboard's client: the HMAC-SHA512 request signer (the same one the server's verifier
//! uses), signed calls with automatic idempotency keys and retries, and typed calls for every
//! endpoint ([`Client::create_user`], [`Client::get_user`], …).

mod api;
mod business_api;
mod http;
mod requests;
mod responses;
pub mod signing;
mod webhooks;

pub use api::{
    ApiError, ApiVersion, Business, CallError, Contact, CreateBusiness, CreateUser,
    DEFAULT_ATTEMPTS, Endpoint, FieldError, ListContacts, ListUsers, MetaEntry, Page, Pagination,
    UpdateUser, User,
};
pub use business_api::{AddBusinessOwner, BusinessOwner, ListBusinesses, UpdateBusiness};
pub use http::{
    CLIENT_SIGNED, CLIENT_SIGNED_IDEMPOTENT, Client, ClientError, DEFAULT_URL, Response, tls_config,
};
pub use webhooks::{CreateWebhook, Event, ListEvents, UpdateWebhook, Webhook};
