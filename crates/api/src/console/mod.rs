//! The operator console (SPEC §10): server-rendered pages for the platform's own staff, on
//! their own listener (`console_bind`), never on the API's address.
//!
//! - `signed`, `session`: who is asking (the session cookie, looked up in the database on every
//!   request), the CSRF token of every form, and the role check of every action.
//! - `login`: the login form (email, password, TOTP), logout, and the failed-login throttle.
//! - `layout`: the page frame, the stylesheet, pagination, and the error pages.
//! - `cases`: the KYC and sanctions review queues and their decisions.
//! - `people`: user search across programs, the user page with its timeline, block and
//!   unblock.
//! - `businesses`: businesses and owners, block and unblock, KYB decisions.
//! - `accounts`: webhooks and failed deliveries, programs.
//! - `operators`: the operators page (admins create, disable, enable and reset), through
//!   `manage`, which `onboard operator …` (`cli`) shares.
//! - `audit`: the operator actions, newest first.
//! - `totp`: the second factor.
//!
//! Every response carries a Content-Security-Policy that allows only the console's own
//! stylesheet (no script at all), `Cache-Control: no-store`, and framing is refused.

pub mod accounts;
pub mod audit;
pub mod businesses;
pub mod cases;
pub mod cli;
pub mod layout;
pub mod login;
pub mod manage;
pub mod operators;
pub mod people;
pub mod session;
pub mod signed;
pub mod totp;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{App, HttpServer, web};
use domain::screening::ListEntry;
use storage::SqlStore;
use storage::console::SessionPolicy;

use crate::clock::Clock;

/// The Content-Security-Policy of every console answer: only its own stylesheet and images,
/// no script, forms only to itself, no framing.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The list entries of one list version, by entry number, once parsed.
pub type ListCache = Mutex<Option<(uuid::Uuid, Arc<HashMap<u32, ListEntry>>)>>;

/// What every console request needs.
#[derive(Debug)]
pub struct Console {
    /// The store.
    pub store: SqlStore,
    /// The clock.
    pub clock: Arc<dyn Clock>,
    /// Session lifetimes.
    pub policy: SessionPolicy,
    /// `console_insecure_cookies`: no `Secure` flag (local development over plain HTTP).
    pub insecure_cookies: bool,
    /// The sanctions list entries of one list version, by entry number (read from the
    /// database when a case of another version is shown).
    pub list: ListCache,
    /// Proxies whose forwarding headers name the client (the login throttle's address).
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    /// Whether the configured verifier is `manual` (it decides nothing, so operators decide
    /// pending KYB cases here); otherwise the verifier's worker decides them.
    pub manual_verifier: bool,
}

impl Console {
    /// A console over `store`.
    pub fn new(
        store: SqlStore,
        clock: Arc<dyn Clock>,
        policy: SessionPolicy,
        insecure_cookies: bool,
    ) -> Self {
        Self {
            // Events written by the console show entities as the API answers them.
            store: store.with_event_views(crate::event_views::store_views()),
            clock,
            policy,
            insecure_cookies,
            list: Mutex::new(None),
            trusted_proxies: crate::client_addr::TrustedProxies::default(),
            manual_verifier: true,
        }
    }

    /// The console with operators deciding KYB cases (`manual`, the default) or not.
    #[must_use]
    pub fn with_manual_verifier(mut self, manual: bool) -> Self {
        self.manual_verifier = manual;
        self
    }

    /// The console with the client's address read through `proxies` (`trusted_proxies`).
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: crate::client_addr::TrustedProxies) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// The entries of list version `id`, by number (parsed once per version).
    pub async fn list_entries(
        &self,
        id: uuid::Uuid,
    ) -> Result<Arc<HashMap<u32, ListEntry>>, storage::StorageError> {
        if let Ok(cached) = self.list.lock()
            && let Some((version, entries)) = cached.as_ref()
            && *version == id
        {
            return Ok(entries.clone());
        }
        let Some(files) = self.store.screening_list_files(id).await? else {
            return Ok(Arc::new(HashMap::new()));
        };
        let entries = tokio::task::spawn_blocking(move || {
            domain::screening::parse_sdn(&files.sdn, &files.alt, &files.add)
                .entries
                .into_iter()
                .map(|e| (e.number, e))
                .collect::<HashMap<_, _>>()
        })
        .await
        .map_err(|_| storage::StorageError::unavailable("parsing the list stopped"))?;
        let entries = Arc::new(entries);
        if let Ok(mut cached) = self.list.lock() {
            *cached = Some((id, entries.clone()));
        }
        Ok(entries)
    }
}

/// The console's routes, all under `/console`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/console")
            .app_data(web::FormConfig::default().limit(16 * 1024))
            .route("/style.css", web::get().to(layout::stylesheet))
            .route("/login", web::get().to(login::form))
            .route("/login", web::post().to(login::submit))
            .route("/logout", web::post().to(login::logout))
            .route("", web::get().to(cases::home))
            .route("/", web::get().to(cases::home))
            .route("/kyc", web::get().to(cases::kyc_queue))
            .route("/kyc/{user}/decide", web::post().to(cases::kyc_decide))
            .route("/screening", web::get().to(cases::screening_queue))
            .route(
                "/screening/{user}/decide",
                web::post().to(cases::screening_decide),
            )
            .route("/users", web::get().to(people::search))
            .route("/users/{user}", web::get().to(people::user_page))
            .route(
                "/users/{user}/status",
                web::post().to(people::block_or_unblock),
            )
            .route("/businesses", web::get().to(businesses::list))
            .route(
                "/businesses/{business}",
                web::get().to(businesses::business_page),
            )
            .route(
                "/businesses/{business}/status",
                web::post().to(businesses::block_or_unblock),
            )
            .route(
                "/businesses/{business}/kyb",
                web::post().to(businesses::kyb_decide),
            )
            .route("/webhooks", web::get().to(accounts::webhooks))
            .route("/webhooks/resend", web::post().to(accounts::resend))
            .route("/programs", web::get().to(accounts::programs))
            .route(
                "/programs/{program}/status",
                web::post().to(accounts::program_status),
            )
            .route("/operators", web::get().to(operators::list))
            .route("/operators", web::post().to(operators::create))
            .route(
                "/operators/{operator}/status",
                web::post().to(operators::status),
            )
            .route(
                "/operators/{operator}/reset",
                web::post().to(operators::reset),
            )
            .route("/audit", web::get().to(audit::page))
            .default_service(web::to(session::not_found)),
    )
    .default_service(web::to(session::not_found));
}

/// Adds the security headers to every answer.
async fn headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}

/// Serves the console on `listener` (its own server: nothing of the API is reachable here,
/// and nothing of the console on the API's address).
pub fn run(listener: TcpListener, console: Console) -> std::io::Result<Server> {
    let console = web::Data::new(console);
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(headers))
            .app_data(console.clone())
            .configure(configure)
    })
    .shutdown_timeout(10)
    .listen(listener)?;
    Ok(server.run())
}
