//! The console's page frame (maud, compiled into the binary), its stylesheet, pagination and
//! the error pages.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use maud::{DOCTYPE, Markup, html};
use storage::{KeysetPage, PageKey, Seek};

use super::signed::Signed;

/// The stylesheet, compiled into the binary.
const STYLESHEET: &str = include_str!("console.css");

/// `GET /console/style.css`.
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(STYLESHEET)
}

/// Rows per page of every list.
pub const PER_PAGE: u64 = 25;
/// [`PER_PAGE`] as a count of rows in memory.
pub const PER_PAGE_ROWS: usize = 25;

/// A full page: `title` as the document title and the `h1`, the navigation and the signed-in
/// operator (with the logout form) when there is one.
pub fn frame(title: &str, signed: Option<&Signed>, body: &Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Onboard console" }
                link rel="stylesheet" href="/console/style.css";
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    a.brand href="/console/" { "Onboard console" }
                    @if let Some(s) = signed {
                        nav aria-label="Main" {
                            ul {
                                li { a href="/console/kyc" { "KYC queue" } }
                                li { a href="/console/screening" { "Sanctions queue" } }
                                li { a href="/console/users" { "Users" } }
                                li { a href="/console/businesses" { "Businesses" } }
                                li { a href="/console/webhooks" { "Webhooks" } }
                                li { a href="/console/programs" { "Programs" } }
                                @if s.operator.role.may(domain::OperatorAct::ManageOperators) {
                                    li { a href="/console/operators" { "Operators" } }
                                }
                                li { a href="/console/audit" { "Audit" } }
                            }
                        }
                        div.who {
                            span { (s.operator.email) " " span.tag { (s.operator.role) } }
                            form method="post" action="/console/logout" {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button type="submit" { "Log out" }
                            }
                        }
                    }
                }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// `frame` as a 200 answer.
pub fn page(title: &str, signed: Option<&Signed>, body: &Markup) -> HttpResponse {
    respond(StatusCode::OK, title, signed, body)
}

/// `frame` with `status`.
pub fn respond(
    status: StatusCode,
    title: &str,
    signed: Option<&Signed>,
    body: &Markup,
) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .body(frame(title, signed, body).into_string())
}

/// The 403 page.
pub fn forbidden(signed: Option<&Signed>, why: &str) -> HttpResponse {
    respond(
        StatusCode::FORBIDDEN,
        "Not allowed",
        signed,
        &html! { p.error role="alert" { (why) } },
    )
}

/// A 400 page (a form that does not parse, a reason missing).
pub fn bad_request(signed: Option<&Signed>, why: &str) -> HttpResponse {
    respond(
        StatusCode::BAD_REQUEST,
        "Not done",
        signed,
        &html! { p.error role="alert" { (why) } p { a href="/console/" { "Back to the console" } } },
    )
}

/// The 503 page of a storage failure (logged with its cause, never shown).
pub fn unavailable(e: &storage::StorageError) -> HttpResponse {
    tracing::error!(error = %e, "console: storage failed");
    respond(
        StatusCode::SERVICE_UNAVAILABLE,
        "Unavailable",
        None,
        &html! { p.error role="alert" { "The database could not answer. Try again in a moment." } },
    )
}

/// Previous / next links of a list; `base` is the list's URL with its query so far (ending
/// in `?` or `&`).
pub fn pager(base: &str, page: u64, has_more: bool) -> Markup {
    html! {
        nav.pager aria-label="Pages" {
            @if page > 1 {
                a href={ (base) "page=" (page - 1) } rel="prev" { "← Previous" }
            }
            span.muted { "Page " (page) }
            @if has_more {
                a href={ (base) "page=" (page + 1) } rel="next" { "Next →" }
            }
        }
    }
}

/// A keyset page's position as a query carries it: `after=<key>` (the next page) or
/// `before=<key>` (the previous one); the first page without either, or when a key does not
/// parse.
#[derive(Debug, Default, serde::Deserialize)]
pub struct SeekQuery {
    /// The key the page starts after.
    #[serde(default)]
    pub after: String,
    /// The key the page ends before.
    #[serde(default)]
    pub before: String,
}

impl SeekQuery {
    /// The page asked for.
    pub fn seek(&self) -> Seek {
        if let Some(k) = PageKey::parse(&self.after) {
            Seek::After(k)
        } else if let Some(k) = PageKey::parse(&self.before) {
            Seek::Before(k)
        } else {
            Seek::First
        }
    }
}

/// Previous / next links of a keyset page (and the way back to the first page when this is
/// not it); `base` is the list's URL with its query so far (ending in `?` or `&`).
pub fn keyset_pager<T>(base: &str, seek: Seek, found: &KeysetPage<T>) -> Markup {
    html! {
        nav.pager aria-label="Pages" {
            @if seek != Seek::First && (found.previous.is_some() || found.items.is_empty()) {
                a href=(base.trim_end_matches(['?', '&'])) { "First page" }
            }
            @if let Some(k) = found.previous {
                a href={ (base) "before=" (k.token()) } rel="prev" { "← Previous" }
            }
            @if let Some(k) = found.next {
                a href={ (base) "after=" (k.token()) } rel="next" { "Next →" }
            }
        }
    }
}

/// A query value escaped for a URL.
pub fn url_escape(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A timestamp as shown (UTC, to the second).
pub fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A page number from a query (1 when absent or out of range).
pub fn page_number(raw: Option<u64>) -> u64 {
    raw.filter(|p| (1..=100_000).contains(p)).unwrap_or(1)
}
