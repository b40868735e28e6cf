//! Who is asking: the session cookie (an opaque id the database knows only by its hash),
//! looked up on every request so that a logout or a disable takes effect at once on every
//! instance; the CSRF token of the session's forms (a keyed digest of the session id,
//! compared in constant time on every POST); and the role check of every action (a refusal
//! is a 403 page, and logged).

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use domain::OperatorAct;
use storage::Repositories as _;
use storage::console::SessionToken;
use subtle::ConstantTimeEq as _;

use super::Console;
use super::layout;
pub use super::signed::Signed;

/// The session cookie.
pub const SESSION_COOKIE: &str = "onboard_console";
/// The login form's own CSRF cookie (before there is a session).
pub const LOGIN_COOKIE: &str = "onboard_console_login";

/// The CSRF token bound to `secret` (a session id, or the login cookie).
pub fn csrf_of(console: &Console, secret: &str) -> String {
    console
        .store
        .keyed_digest("console_csrf", secret.as_bytes())
}

/// Whether `presented` is the token bound to `secret`.
pub fn csrf_matches(console: &Console, secret: &str, presented: &str) -> bool {
    let expected = csrf_of(console, secret);
    expected.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// A cookie with the console's flags: HttpOnly, SameSite=Strict, path `/console`, and
/// Secure unless `console_insecure_cookies`.
pub fn cookie(console: &Console, name: &'static str, value: String) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(!console.insecure_cookies)
        .finish()
}

/// The cookie that removes `name`.
pub fn removal(console: &Console, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(console, name, String::new());
    c.make_removal();
    c
}

/// A redirect (303) to `to`.
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// The operator of the request's session, if it is live.
pub async fn current(
    console: &Console,
    req: &HttpRequest,
) -> Result<Option<Signed>, storage::StorageError> {
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let token = SessionToken::presented(cookie.value());
    let now = console.clock.now();
    let Some(operator) = console
        .store
        .console_session(&token, console.policy, now)
        .await?
    else {
        return Ok(None);
    };
    let csrf = csrf_of(console, token.expose());
    Ok(Some(Signed {
        operator,
        token,
        csrf,
    }))
}

/// The signed-in operator allowed to do `act`, with the form's CSRF token checked when
/// `csrf` is given (every POST); otherwise the answer to send instead: to the login page
/// without a live session, a 403 page for a wrong CSRF token or a role that may not.
pub async fn require(
    console: &Console,
    req: &HttpRequest,
    act: OperatorAct,
    csrf: Option<&str>,
) -> Result<Signed, HttpResponse> {
    let signed = match current(console, req).await {
        Ok(Some(signed)) => signed,
        Ok(None) => return Err(see_other("/console/login")),
        Err(e) => return Err(layout::unavailable(&e)),
    };
    if let Some(presented) = csrf
        && !csrf_matches(console, signed.token.expose(), presented)
    {
        tracing::warn!(
            operator = %signed.operator.id,
            path = req.path(),
            "console: a form without its CSRF token was refused"
        );
        return Err(layout::forbidden(
            Some(&signed),
            "This form's security token is missing or out of date. Go back, reload the page and try again.",
        ));
    }
    if !signed.operator.role.may(act) {
        tracing::warn!(
            operator = %signed.operator.id,
            role = %signed.operator.role,
            act = act.as_str(),
            path = req.path(),
            "console: an action the operator's role does not allow was refused"
        );
        return Err(layout::forbidden(
            Some(&signed),
            &format!(
                "Your role ({}) does not allow this action ({}); it needs {}.",
                signed.operator.role,
                act.as_str(),
                act.least_role()
            ),
        ));
    }
    Ok(signed)
}

/// The 404 page (with the navigation when signed in).
pub async fn not_found(console: actix_web::web::Data<Console>, req: HttpRequest) -> HttpResponse {
    let signed = current(&console, &req).await.ok().flatten();
    layout::respond(
        actix_web::http::StatusCode::NOT_FOUND,
        "Not found",
        signed.as_ref(),
        &maud::html! { p { "There is no such page." } },
    )
}
