//! Users: search across programs with a program filter (one storage query through the
//! index-backed search, a keyset page at a time), the user page (profile with the SSN's last four only, the event
//! timeline from the events table) and block/unblock with a reason.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::{
    EventQuery, OperatorAct, ProgramId, RawEventQuery, RawUserQuery, Reason, User, UserChange,
    UserId, UserQuery,
};
use maud::{Markup, html};
use serde::Deserialize;
use storage::{
    Audit, ProgramRepository as _, StorageError, UserRepository as _, WebhookRepository as _,
};

use super::Console;
use super::cases::full_name;
use super::layout::{
    self, PER_PAGE, SeekQuery, keyset_pager, page, page_number, pager, respond, url_escape, when,
};
use super::session::{Signed, require, see_other};

/// `GET /console/users` query: the term, the program (every program when empty) and the
/// keyset page.
#[derive(Debug, Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    program: String,
    #[serde(flatten)]
    seek: SeekQuery,
}

fn users_table(users: &[User], program_name: impl Fn(ProgramId) -> String) -> Markup {
    html! {
        table {
            thead { tr { th scope="col" { "Name" } th scope="col" { "Email" } th scope="col" { "Program" } th scope="col" { "Status" } th scope="col" { "KYC" } th scope="col" { "Created" } } }
            tbody {
                @for u in users {
                    tr {
                        td { a href={ "/console/users/" (u.id()) } { (full_name(u)) } }
                        td { (u.profile().email().as_str()) }
                        td { (program_name(u.program_id())) }
                        td { (u.status()) }
                        td { (u.kyc_status()) }
                        td { (when(u.created_at())) }
                    }
                }
            }
        }
    }
}

/// `GET /console/users`: one storage query over every program (or the chosen one), through
/// the search index, newest first, a keyset page at a time.
pub async fn search(
    console: web::Data<Console>,
    req: HttpRequest,
    q: web::Query<SearchQuery>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::Read, None).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let programs = match console.store.list_programs().await {
        Ok(p) => p,
        Err(e) => return layout::unavailable(&e),
    };
    let term = q.q.trim().to_owned();
    let filter = ProgramId::parse(&q.program).ok();
    let query = UserQuery::parse(&RawUserQuery {
        search: (!term.is_empty()).then(|| term.clone()),
        ..RawUserQuery::default()
    });
    let Ok(query) = query else {
        return layout::bad_request(Some(&signed), "A search term is 1 to 128 characters.");
    };
    let searched: Vec<ProgramId> = match filter {
        Some(p) => vec![p],
        None => programs.iter().map(|p| p.program_id).collect(),
    };
    let seek = q.seek.seek();
    let found = match console
        .store
        .search_users(&searched, &query, seek, PER_PAGE)
        .await
    {
        Ok(found) => found,
        Err(e) => return layout::unavailable(&e),
    };
    let name_of = |id: ProgramId| {
        programs
            .iter()
            .find(|p| p.program_id == id)
            .map_or_else(|| id.to_string(), |p| p.name.clone())
    };
    let base = format!(
        "/console/users?q={}&program={}&",
        url_escape(&term),
        url_escape(&q.program)
    );
    let body = html! {
        form.inline method="get" action="/console/users" role="search" {
            div {
                label for="q" { "Name, email, username or phone" }
                input id="q" name="q" type="search" value=(term) maxlength="128";
            }
            div {
                label for="program" { "Program" }
                select id="program" name="program" {
                    option value="" { "Every program" }
                    @for p in &programs {
                        option value=(p.program_id) selected[filter == Some(p.program_id)] { (p.name) }
                    }
                }
            }
            button type="submit" { "Search" }
        }
        p.muted { "Newest first. A term of three or more characters matches anywhere in the name, email, username or phone; a shorter one the start of the first or last name." }
        @if found.items.is_empty() { p { "No user matches." } } @else {
            (users_table(&found.items, name_of))
        }
        (keyset_pager(&base, seek, &found))
    };
    page("Users", Some(&signed), &body)
}

/// `?page=` of the timeline.
#[derive(Debug, Deserialize)]
pub struct TimelineQuery {
    page: Option<u64>,
}

async fn find_user(console: &Console, raw: &str) -> Result<Option<User>, StorageError> {
    let Ok(id) = UserId::parse(raw) else {
        return Ok(None);
    };
    let Some(program) = console.store.user_program(id).await? else {
        return Ok(None);
    };
    console.store.get_user(program, id).await
}

fn not_found(signed: &Signed) -> HttpResponse {
    respond(
        StatusCode::NOT_FOUND,
        "Not found",
        Some(signed),
        &html! { p { "There is no such user." } },
    )
}

/// `GET /console/users/{user}`.
pub async fn user_page(
    console: web::Data<Console>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<TimelineQuery>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::Read, None).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let user = match find_user(&console, &path).await {
        Ok(Some(u)) => u,
        Ok(None) => return not_found(&signed),
        Err(e) => return layout::unavailable(&e),
    };
    let page_no = page_number(q.page);
    let events = EventQuery::parse(&RawEventQuery {
        page: Some(page_no),
        per_page: Some(PER_PAGE),
        user_id: Some(user.id().to_string()),
        ..RawEventQuery::default()
    });
    let Ok(events) = events else {
        return layout::bad_request(Some(&signed), "That page does not exist.");
    };
    let events = match console.store.list_events(user.program_id(), &events).await {
        Ok(v) => v,
        Err(e) => return layout::unavailable(&e),
    };
    let screening = user.screening_status();
    let p = user.profile();
    let a = p.address();
    let blocks = signed.operator.role.may(OperatorAct::BlockUser);
    let blocked = user.status() == domain::UserStatus::Blocked;
    let body = html! {
        section aria-labelledby="profile" {
            h2 id="profile" { "Profile" }
            dl.facts {
                dt { "Id" } dd { code { (user.id()) } }
                dt { "Program" } dd { code { (user.program_id()) } }
                dt { "Email" } dd { (p.email().as_str()) }
                dt { "Phone" } dd { (p.phone_number().as_str()) }
                dt { "Username" } dd { (p.username().map_or("", |u| u.as_str())) }
                dt { "Date of birth" } dd { (p.date_of_birth().map_or_else(String::new, |d| d.date().to_string())) }
                dt { "Address" } dd {
                    (a.line_one().as_str()) @if let Some(two) = a.line_two() { ", " (two.as_str()) }
                    ", " (a.city().as_str()) ", " (a.state().as_str()) " " (a.postal_code().as_str()) ", " (a.country().as_str())
                }
                dt { "SSN" } dd { (user.ssn_last_4().map_or_else(|| "not given".to_owned(), |l| format!("•••-••-{}", l.as_str()))) }
                dt { "Status" } dd { (user.status()) }
                dt { "KYC" } dd { (user.kyc_status()) }
                dt { "Screening" } dd { (screening) }
                dt { "Created" } dd { (when(user.created_at())) }
            }
        }
        @if blocks {
            section aria-labelledby="status" {
                h2 id="status" { @if blocked { "Unblock" } @else { "Block" } }
                form.inline method="post" action={ "/console/users/" (user.id()) "/status" } {
                    input type="hidden" name="csrf" value=(signed.csrf);
                    input type="hidden" name="change" value=(if blocked { "unblock" } else { "block" });
                    div {
                        label for="status-reason" { "Reason" }
                        input id="status-reason" name="reason" type="text" required maxlength="256";
                    }
                    button.bad type="submit" { @if blocked { "Unblock user" } @else { "Block user" } }
                }
            }
        }
        section aria-labelledby="timeline" {
            h2 id="timeline" { "Timeline" }
            @if events.items.is_empty() { p { "No event." } } @else {
                table {
                    thead { tr { th scope="col" { "When" } th scope="col" { "Event" } th scope="col" { "Actor" } th scope="col" { "Changed" } } }
                    tbody {
                        @for e in &events.items {
                            tr {
                                td { (when(e.created_at)) }
                                td { code { (e.event_type.as_str()) } }
                                td { (e.body.get("actor").and_then(|v| v.as_str()).unwrap_or_default()) }
                                td { (changed(&e.body)) }
                            }
                        }
                    }
                }
            }
            (pager(&format!("/console/users/{}?", user.id()), page_no, page_no * PER_PAGE < events.total))
        }
    };
    page(&full_name(&user), Some(&signed), &body)
}

/// The fields an event changed, with their values before.
fn changed(body: &serde_json::Value) -> String {
    body.pointer("/data/previous")
        .and_then(serde_json::Value::as_object)
        .map(|prev| {
            prev.iter()
                .filter(|(k, _)| k.as_str() != "updated_at")
                .map(|(k, v)| {
                    format!(
                        "{k} (was {})",
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned)
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The block/unblock form as posted (a user's page and a business's).
#[derive(Debug, Deserialize)]
pub struct StatusForm {
    pub(super) change: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    pub(super) csrf: String,
}

impl StatusForm {
    /// Whether it blocks (else unblocks), and its reason; the page's message when either is
    /// not as the form allows.
    pub(super) fn parsed(&self) -> Result<(bool, Reason), String> {
        let block = match self.change.as_str() {
            "block" => true,
            "unblock" => false,
            _ => return Err("The change is block or unblock.".to_owned()),
        };
        let reason = Reason::parse(&self.reason).map_err(|v| format!("Reason: {}", v.message))?;
        Ok((block, reason))
    }
}

/// `POST /console/users/{user}/status`.
pub async fn block_or_unblock(
    console: web::Data<Console>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<StatusForm>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::BlockUser, Some(&form.csrf)).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let (change, reason) = match form.parsed() {
        Ok((true, reason)) => (UserChange::Block, reason),
        Ok((false, reason)) => (UserChange::Unblock, reason),
        Err(why) => return layout::bad_request(Some(&signed), &why),
    };
    let user = match find_user(&console, &path).await {
        Ok(Some(u)) => u,
        Ok(None) => return not_found(&signed),
        Err(e) => return layout::unavailable(&e),
    };
    let actor = signed.actor();
    let audit = Audit {
        actor: &actor,
        reason: Some(reason.as_str()),
    };
    let now = console.clock.now();
    match console
        .store
        .change_user(
            user.program_id(),
            user.id(),
            change,
            audit,
            now,
            storage::Along::nothing(),
        )
        .await
    {
        Ok(_) => {}
        Err(StorageError::Rejected(why)) => {
            return respond(
                StatusCode::CONFLICT,
                "Not done",
                Some(&signed),
                &html! { p.error role="alert" { "Not done: " (why) "." } },
            );
        }
        Err(e) => return layout::unavailable(&e),
    }
    let action = signed.action(&format!("user {} {}", form.change, user.id()));
    if let Err(e) = console.store.record_operator_action(&action, now).await {
        return layout::unavailable(&e);
    }
    tracing::info!(operator = %signed.operator.id, user = %user.id(), change = %form.change, "console: user status changed");
    see_other(&format!("/console/users/{}", user.id()))
}
