//! Logging in (email, password, TOTP code — the second factor is required every time) and
//! out. The login form carries its own CSRF token, bound to a cookie of its own; failed
//! logins are counted in the database per account and per address, and a subject over its
//! limit is refused (429) until its window ends, whether the password was right or not.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Duration;
use domain::OperatorAct;
use maud::{Markup, html};
use serde::Deserialize;
use storage::console::{SessionToken, ThrottleRule};

use super::Console;
use super::layout::{self, respond};
use super::session::{
    LOGIN_COOKIE, SESSION_COOKIE, cookie, csrf_matches, csrf_of, current, removal, require,
    see_other,
};

/// Failed logins allowed per account in a window.
pub const ACCOUNT_FAILURES: u32 = 5;
/// Failed logins allowed per client address in a window.
pub const ADDRESS_FAILURES: u32 = 20;
/// The throttle's window.
pub const WINDOW_MINUTES: i64 = 15;

/// The login form as posted (its `Debug` shows only the email).
#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    totp: String,
    #[serde(default)]
    csrf: String,
}

impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

/// A form that only carries its CSRF token (logout).
#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

fn login_markup(csrf: &str, email: &str, problem: Option<&str>) -> Markup {
    html! {
        div.login {
            @if let Some(problem) = problem {
                p.error role="alert" { (problem) }
            }
            form method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(csrf);
                p.field {
                    label for="email" { "Email" }
                    input id="email" name="email" type="email" autocomplete="username" required value=(email);
                }
                p.field {
                    label for="password" { "Password" }
                    input id="password" name="password" type="password" autocomplete="current-password" required;
                }
                p.field {
                    label for="totp" { "Authenticator code (6 digits)" }
                    input id="totp" name="totp" type="text" inputmode="numeric" pattern="[0-9]{6}" autocomplete="one-time-code" required;
                }
                button type="submit" { "Log in" }
            }
        }
    }
}

/// The login page with a login cookie (kept if the browser has one) and its CSRF token.
fn login_page(
    console: &Console,
    req: &HttpRequest,
    status: StatusCode,
    email: &str,
    problem: Option<&str>,
) -> HttpResponse {
    let secret = match req.cookie(LOGIN_COOKIE) {
        Some(c) if !c.value().is_empty() => c.value().to_owned(),
        _ => match SessionToken::generate() {
            Ok(t) => t.expose().to_owned(),
            Err(e) => return layout::unavailable(&e),
        },
    };
    let csrf = csrf_of(console, &secret);
    let mut res = respond(status, "Log in", None, &login_markup(&csrf, email, problem));
    if let Err(e) = res.add_cookie(&cookie(console, LOGIN_COOKIE, secret)) {
        tracing::error!(error = %e, "console: the login cookie could not be set");
    }
    res
}

/// `GET /console/login`.
pub async fn form(console: web::Data<Console>, req: HttpRequest) -> HttpResponse {
    if let Ok(Some(_)) = current(&console, &req).await {
        return see_other("/console/");
    }
    login_page(&console, &req, StatusCode::OK, "", None)
}

fn rules(console: &Console, req: &HttpRequest, email: &str) -> Vec<ThrottleRule> {
    let window = Duration::minutes(WINDOW_MINUTES);
    let mut rules = vec![ThrottleRule {
        kind: "account",
        subject: email.trim().to_lowercase(),
        max: ACCOUNT_FAILURES,
        window,
    }];
    if let Some(addr) = console.trusted_proxies.client(req) {
        rules.push(ThrottleRule {
            kind: "address",
            subject: crate::client_addr::limiter_key(addr).to_string(),
            max: ADDRESS_FAILURES,
            window,
        });
    }
    rules
}

/// `POST /console/login`.
pub async fn submit(
    console: web::Data<Console>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let login_secret = req
        .cookie(LOGIN_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if login_secret.is_empty() || !csrf_matches(&console, &login_secret, &form.csrf) {
        tracing::warn!("console: a login without its CSRF token was refused");
        return login_page(
            &console,
            &req,
            StatusCode::FORBIDDEN,
            &form.email,
            Some("This form's security token is missing or out of date: try again."),
        );
    }
    let now = console.clock.now();
    let rules = rules(&console, &req, &form.email);
    match console.store.login_throttled(&rules, now).await {
        Ok(Some(rule)) => {
            tracing::warn!(
                kind = rule.kind,
                "console: login refused by the failed-login throttle"
            );
            metrics::counter!("onboard_console_logins_total", "outcome" => "throttled")
                .increment(1);
            return login_page(
                &console,
                &req,
                StatusCode::TOO_MANY_REQUESTS,
                &form.email,
                Some("Too many failed logins: wait a few minutes before trying again."),
            );
        }
        Ok(None) => {}
        Err(e) => return layout::unavailable(&e),
    }
    let verified = match console
        .store
        .verify_operator_password(&form.email, &form.password)
        .await
    {
        Ok(v) => v,
        Err(e) => return layout::unavailable(&e),
    };
    let unix = u64::try_from(now.timestamp()).unwrap_or_default();
    let step = verified
        .as_ref()
        .and_then(|v| super::totp::check(&v.totp_secret, &form.totp, unix));
    let accepted = match (&verified, step) {
        (Some(v), Some(step)) => match console.store.accept_totp_step(v.operator.id, step).await {
            Ok(fresh) => fresh,
            Err(e) => return layout::unavailable(&e),
        },
        _ => false,
    };
    let Some(operator) = verified.filter(|_| accepted).map(|v| v.operator) else {
        if let Err(e) = console.store.record_login_failure(&rules, now).await {
            return layout::unavailable(&e);
        }
        tracing::info!("console: a login failed");
        metrics::counter!("onboard_console_logins_total", "outcome" => "failed").increment(1);
        return login_page(
            &console,
            &req,
            StatusCode::UNAUTHORIZED,
            &form.email,
            Some("The email, password or authenticator code is wrong."),
        );
    };
    if let Err(e) = console.store.clear_login_failures(&rules[0]).await {
        return layout::unavailable(&e);
    }
    let token = match SessionToken::generate() {
        Ok(t) => t,
        Err(e) => return layout::unavailable(&e),
    };
    if let Err(e) = console
        .store
        .open_console_session(&operator, &token, console.policy, now)
        .await
    {
        return layout::unavailable(&e);
    }
    tracing::info!(operator = %operator.id, "console: logged in");
    metrics::counter!("onboard_console_logins_total", "outcome" => "ok").increment(1);
    let mut res = see_other("/console/");
    let set = res
        .add_cookie(&cookie(&console, SESSION_COOKIE, token.expose().to_owned()))
        .and_then(|()| res.add_cookie(&removal(&console, LOGIN_COOKIE)));
    if let Err(e) = set {
        tracing::error!(error = %e, "console: the session cookie could not be set");
    }
    res
}

/// `POST /console/logout`: the session ends everywhere at once.
pub async fn logout(
    console: web::Data<Console>,
    req: HttpRequest,
    form: web::Form<CsrfOnly>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::Read, Some(&form.csrf)).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    if let Err(e) = console.store.close_console_session(&signed.token).await {
        return layout::unavailable(&e);
    }
    tracing::info!(operator = %signed.operator.id, "console: logged out");
    let mut res = see_other("/console/login");
    if let Err(e) = res.add_cookie(&removal(&console, SESSION_COOKIE)) {
        tracing::error!(error = %e, "console: the session cookie could not be removed");
    }
    res
}
