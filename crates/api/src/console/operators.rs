//! The operators page (admins only; SPEC §10 "admin also manages … operators"): every
//! operator with its role, status and last login, and the admin's actions — create, disable,
//! enable, reset — through `manage`, the code `onboard operator …` runs. A new or reset
//! operator's password and TOTP secret appear once, on the answer to that POST, and nowhere
//! after (only a hash and a sealed secret are stored). Disable and reset end the operator's
//! sessions at once. An admin cannot disable themselves here.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::{OperatorAct, OperatorId, OperatorRole};
use maud::{Markup, html};
use serde::Deserialize;
use storage::console::{Operator, OperatorRef};

use super::Console;
use super::layout::{self, page, respond, when};
use super::manage::{self, Credentials, ManageError};
use super::session::{Signed, require, see_other};

/// Why the page refuses an admin's disabling of themselves.
pub const NOT_YOURSELF: &str = "You cannot disable yourself: your session would end at once, and if you are the last enabled admin nobody could manage operators from the console again. Ask another admin, or run onboard operator disable on a server.";

fn operator_row(signed: &Signed, o: &Operator) -> Markup {
    let me = o.id == signed.operator.id;
    let disabled = o.disabled_at.is_some();
    html! {
        tr {
            td { (o.email) @if me { " " span.tag { "you" } } br; code { (o.id) } }
            td { (o.role) }
            td { @match o.disabled_at { Some(t) => { "disabled since " (when(t)) }, None => "enabled" } }
            td { (o.last_login_at.map_or_else(|| "never".to_owned(), when)) }
            td { (when(o.created_at)) }
            td {
                @if me && !disabled {
                    span.muted title=(NOT_YOURSELF) { "You cannot disable yourself" }
                } @else {
                    form.inline method="post" action={ "/console/operators/" (o.id) "/status" } {
                        input type="hidden" name="csrf" value=(signed.csrf);
                        input type="hidden" name="change" value=(if disabled { "enable" } else { "disable" });
                        @if disabled {
                            button.good type="submit" aria-label={ "Enable " (o.email) } { "Enable" }
                        } @else {
                            button.bad type="submit" aria-label={ "Disable " (o.email) } { "Disable" }
                        }
                    }
                }
                form.inline method="post" action={ "/console/operators/" (o.id) "/reset" } {
                    input type="hidden" name="csrf" value=(signed.csrf);
                    button type="submit" aria-label={ "Reset " (o.email) } { "Reset password and TOTP" }
                }
            }
        }
    }
}

/// `GET /console/operators`.
pub async fn list(console: web::Data<Console>, req: HttpRequest) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::ManageOperators, None).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let operators = match console.store.list_operators().await {
        Ok(o) => o,
        Err(e) => return layout::unavailable(&e),
    };
    let body = html! {
        p.muted { "Disabling or resetting an operator ends its sessions at once. A new password and TOTP secret are shown once, on the page that answers the change." }
        table {
            caption.skip { "Operators" }
            thead { tr { th scope="col" { "Operator" } th scope="col" { "Role" } th scope="col" { "Status" } th scope="col" { "Last login" } th scope="col" { "Created" } th scope="col" { "Change" } } }
            tbody {
                @for o in &operators { (operator_row(&signed, o)) }
            }
        }
        section aria-labelledby="create" {
            h2 id="create" { "New operator" }
            form.inline method="post" action="/console/operators" {
                input type="hidden" name="csrf" value=(signed.csrf);
                div {
                    label for="new-email" { "Email" }
                    input id="new-email" name="email" type="email" required maxlength="254";
                }
                div {
                    label for="new-role" { "Role" }
                    select id="new-role" name="role" {
                        @for role in OperatorRole::ALL {
                            option value=(role.as_str()) { (role) }
                        }
                    }
                }
                button type="submit" { "Create operator" }
            }
        }
    };
    page("Operators", Some(&signed), &body)
}

/// The page that shows a password and TOTP secret, once.
fn credentials_page(signed: Option<&Signed>, title: &str, given: &Credentials) -> HttpResponse {
    let o = &given.operator;
    let body = html! {
        p.error role="alert" { "Shown once: give these to " (o.email) " now. They are not stored in the clear and cannot be shown again; a lost one is replaced with Reset." }
        dl.facts {
            dt { "Operator" } dd { code { (o.id) } }
            dt { "Email" } dd { (o.email) }
            dt { "Role" } dd { (o.role) }
            dt { "One-time password" } dd { code id="new-password" { (given.password.expose()) } }
            dt { "TOTP secret" } dd { code id="new-totp-secret" { (given.totp.base32.as_str()) } }
            dt { "TOTP URI" } dd { code id="new-totp-uri" { (given.totp.uri.as_str()) } }
        }
        p { a href="/console/operators" { "Back to the operators" } }
    };
    page(title, signed, &body)
}

/// What a failed operator command answers.
fn refused(signed: &Signed, e: &ManageError) -> HttpResponse {
    let (status, why) = match e {
        ManageError::Email(v) => (StatusCode::BAD_REQUEST, format!("Email: {}", v.message)),
        ManageError::Role(v) => (StatusCode::BAD_REQUEST, format!("Role: {}", v.message)),
        ManageError::Duplicate => (
            StatusCode::CONFLICT,
            "An operator with this email already exists.".to_owned(),
        ),
        ManageError::NoSuchOperator => (
            StatusCode::NOT_FOUND,
            "There is no such operator.".to_owned(),
        ),
        ManageError::Totp(_) | ManageError::Storage(_) => {
            tracing::error!(error = %e, "console: an operator command failed");
            return respond(
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                Some(signed),
                &html! { p.error role="alert" { "The change could not be made. Try again in a moment." } },
            );
        }
    };
    respond(
        status,
        "Not done",
        Some(signed),
        &html! { p.error role="alert" { (why) } p { a href="/console/operators" { "Back to the operators" } } },
    )
}

/// The create form as posted.
#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/operators`: creates an operator; the answer shows its secrets once.
pub async fn create(
    console: web::Data<Console>,
    req: HttpRequest,
    form: web::Form<CreateForm>,
) -> HttpResponse {
    let signed = match require(
        &console,
        &req,
        OperatorAct::ManageOperators,
        Some(&form.csrf),
    )
    .await
    {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let action = signed.action(&format!(
        "operator create --email {} --role {}",
        form.email.trim(),
        form.role
    ));
    let now = console.clock.now();
    match manage::create(&console.store, &form.email, &form.role, &action, now).await {
        Ok(given) => {
            tracing::info!(operator = %signed.operator.id, created = %given.operator.id, role = %given.operator.role, "console: operator created");
            credentials_page(Some(&signed), "Operator created", &given)
        }
        Err(e) => refused(&signed, &e),
    }
}

/// The disable/enable form as posted.
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    change: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/operators/{operator}/status`: disable (its sessions end at once) or enable;
/// never oneself.
pub async fn status(
    console: web::Data<Console>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<StatusForm>,
) -> HttpResponse {
    let signed = match require(
        &console,
        &req,
        OperatorAct::ManageOperators,
        Some(&form.csrf),
    )
    .await
    {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let Ok(id) = OperatorId::parse(&path) else {
        return refused(&signed, &ManageError::NoSuchOperator);
    };
    let disabled = match form.change.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return layout::bad_request(Some(&signed), "The change is disable or enable."),
    };
    if disabled && id == signed.operator.id {
        tracing::warn!(operator = %signed.operator.id, "console: an admin's disabling of themselves was refused");
        return layout::forbidden(Some(&signed), NOT_YOURSELF);
    }
    let action = signed.action(&format!("operator {} {id}", form.change));
    let which = OperatorRef::Id(id);
    match manage::set_disabled(
        &console.store,
        &which,
        disabled,
        &action,
        console.clock.now(),
    )
    .await
    {
        Ok(done) => {
            tracing::info!(operator = %signed.operator.id, target = %done.id, change = %form.change, "console: operator status changed");
            see_other("/console/operators")
        }
        Err(e) => refused(&signed, &e),
    }
}

/// The reset form as posted.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/operators/{operator}/reset`: a new password and TOTP secret, shown once;
/// the operator's sessions end at once (an admin resetting themselves is logged out too).
pub async fn reset(
    console: web::Data<Console>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<CsrfForm>,
) -> HttpResponse {
    let signed = match require(
        &console,
        &req,
        OperatorAct::ManageOperators,
        Some(&form.csrf),
    )
    .await
    {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let Ok(id) = OperatorId::parse(&path) else {
        return refused(&signed, &ManageError::NoSuchOperator);
    };
    let action = signed.action(&format!("operator reset {id}"));
    match manage::reset(
        &console.store,
        &OperatorRef::Id(id),
        &action,
        console.clock.now(),
    )
    .await
    {
        Ok(given) => {
            tracing::info!(operator = %signed.operator.id, target = %id, "console: operator reset");
            // Resetting oneself ended this session too: the page has no navigation then.
            let still = (id != signed.operator.id).then_some(&signed);
            credentials_page(still, "Operator reset", &given)
        }
        Err(e) => refused(&signed, &e),
    }
}
