//! Webhook endpoints and failed deliveries (resend), and programs (disable/enable;
//! credentials are never shown, only that they exist); the program picker of the lists.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::{EventId, OperatorAct, PageRequest, ProgramId, WebhookId};
use maud::html;
use serde::Deserialize;
use storage::{ProgramRepository as _, ProgramSummary, StorageError, WebhookRepository as _};

use super::Console;
use super::layout::{
    self, PER_PAGE, PER_PAGE_ROWS, SeekQuery, keyset_pager, page, page_number, pager, respond, when,
};
use super::session::{Signed, require, see_other};

/// A list's query: the program filter, a search term and the page (a number, or a keyset
/// position).
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub(super) program: String,
    #[serde(default)]
    pub(super) q: String,
    pub(super) page: Option<u64>,
    #[serde(flatten)]
    pub(super) seek: SeekQuery,
}

/// Every program, or the 503 page.
pub(super) async fn programs_or_answer(
    console: &Console,
) -> Result<Vec<ProgramSummary>, HttpResponse> {
    console
        .store
        .list_programs()
        .await
        .map_err(|e| layout::unavailable(&e))
}

/// The program filter's form (with a search field when `term` is given).
pub(super) fn program_picker(
    programs: &[ProgramSummary],
    chosen: Option<ProgramId>,
    action: &str,
    term: Option<&str>,
) -> maud::Markup {
    html! {
        form.inline method="get" action=(action) {
            @if let Some(term) = term {
                div {
                    label for="q" { "Name, DBA or email" }
                    input id="q" name="q" type="search" value=(term) maxlength="128";
                }
            }
            div {
                label for="program" { "Program" }
                select id="program" name="program" {
                    @for p in programs {
                        option value=(p.program_id) selected[chosen == Some(p.program_id)] { (p.name) }
                    }
                }
            }
            button type="submit" { "Show" }
        }
    }
}

/// The chosen program, or the first one.
pub(super) fn chosen(programs: &[ProgramSummary], raw: &str) -> Option<ProgramId> {
    ProgramId::parse(raw)
        .ok()
        .or_else(|| programs.first().map(|p| p.program_id))
}

/// `GET /console/webhooks`.
pub async fn webhooks(
    console: web::Data<Console>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::Read, None).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let programs = match programs_or_answer(&console).await {
        Ok(p) => p,
        Err(answer) => return answer,
    };
    let program = chosen(&programs, &q.program);
    let Ok(first_page) = PageRequest::parse(Some(1), Some(PageRequest::MAX_PER_PAGE)) else {
        return layout::bad_request(Some(&signed), "That page does not exist.");
    };
    let endpoints = match program {
        Some(p) => match console.store.list_webhooks(p, first_page).await {
            Ok(found) => found.items,
            Err(e) => return layout::unavailable(&e),
        },
        None => Vec::new(),
    };
    let seek = q.seek.seek();
    let failed = match console.store.failed_deliveries_page(seek, PER_PAGE).await {
        Ok(f) => f,
        Err(e) => return layout::unavailable(&e),
    };
    let resends = signed.operator.role.may(OperatorAct::ResendEvent);
    let body = html! {
        h2 { "Endpoints" }
        (program_picker(&programs, program, "/console/webhooks", None))
        @if endpoints.is_empty() { p { "No endpoint." } } @else {
            table {
                thead { tr { th scope="col" { "Endpoint" } th scope="col" { "URL" } th scope="col" { "Events" } th scope="col" { "Status" } } }
                tbody {
                    @for w in &endpoints {
                        tr {
                            td { code { (w.id) } }
                            td { (w.url.as_str()) }
                            td { (w.event_types.as_ref().map_or_else(|| "all".to_owned(), |t| t.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", "))) }
                            td { (w.status) @if let Some(why) = &w.disabled_reason { br; span.muted { (why) } } }
                        }
                    }
                }
            }
        }
        h2 { "Failed deliveries (every program)" }
        @if failed.items.is_empty() { p { "No failed delivery." } } @else {
            table {
                thead { tr { th scope="col" { "Event" } th scope="col" { "Endpoint" } th scope="col" { "Program" } th scope="col" { "Attempts" } th scope="col" { "Failed" } th scope="col" { "Resend" } } }
                tbody {
                    @for f in &failed.items {
                        tr {
                            td { code { (f.event) } }
                            td { code { (f.endpoint) } }
                            td { code { (f.program) } }
                            td { (f.attempts) }
                            td { (f.failed_at.map(when).unwrap_or_default()) }
                            td {
                                @if resends {
                                    form method="post" action="/console/webhooks/resend" {
                                        input type="hidden" name="csrf" value=(signed.csrf);
                                        input type="hidden" name="program" value=(f.program);
                                        input type="hidden" name="event" value=(f.event);
                                        input type="hidden" name="endpoint" value=(f.endpoint);
                                        button type="submit" aria-label={ "Resend " (f.event) } { "Resend" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        (keyset_pager(&format!("/console/webhooks?program={}&", program.map(|p| p.to_string()).unwrap_or_default()), seek, &failed))
    };
    page("Webhooks", Some(&signed), &body)
}

/// The resend form as posted.
#[derive(Debug, Deserialize)]
pub struct ResendForm {
    program: String,
    event: String,
    endpoint: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/webhooks/resend`.
pub async fn resend(
    console: web::Data<Console>,
    req: HttpRequest,
    form: web::Form<ResendForm>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::ResendEvent, Some(&form.csrf)).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let (Ok(program), Ok(event), Ok(endpoint)) = (
        ProgramId::parse(&form.program),
        EventId::parse(&form.event),
        WebhookId::parse(&form.endpoint),
    ) else {
        return layout::bad_request(
            Some(&signed),
            "The program, event or endpoint id is malformed.",
        );
    };
    let now = console.clock.now();
    match console
        .store
        .resend_event(
            program,
            event,
            Some(endpoint),
            now,
            storage::Along::nothing(),
        )
        .await
    {
        Ok(_) => {}
        Err(StorageError::NotFound(what)) => {
            return respond(
                StatusCode::NOT_FOUND,
                "Not found",
                Some(&signed),
                &html! { p { "No such " (what.as_str()) "." } },
            );
        }
        Err(e) => return layout::unavailable(&e),
    }
    let action = signed.action(&format!("event resend {event} --webhook {endpoint}"));
    if let Err(e) = console.store.record_operator_action(&action, now).await {
        return layout::unavailable(&e);
    }
    tracing::info!(operator = %signed.operator.id, event = %event, endpoint = %endpoint, "console: event resent");
    see_other(&format!("/console/webhooks?program={program}"))
}

fn program_row(signed: &Signed, p: &ProgramSummary, manages: bool) -> maud::Markup {
    let disabled = p.disabled_at.is_some();
    html! {
        tr {
            td { (p.name) br; code { (p.program_id) } }
            td { (when(p.created_at)) }
            td { (p.active_api_key_ids.len()) " API key(s), " (p.hmac_usernames.len()) " HMAC credential(s)" }
            td { @match p.disabled_at { Some(t) => { "disabled since " (when(t)) }, None => "enabled" } }
            td {
                @if manages {
                    form method="post" action={ "/console/programs/" (p.program_id) "/status" } {
                        input type="hidden" name="csrf" value=(signed.csrf);
                        input type="hidden" name="change" value=(if disabled { "enable" } else { "disable" });
                        @if disabled {
                            button.good type="submit" aria-label={ "Enable " (p.name) } { "Enable" }
                        } @else {
                            button.bad type="submit" aria-label={ "Disable " (p.name) } { "Disable" }
                        }
                    }
                } @else {
                    span.muted { "Admins manage programs" }
                }
            }
        }
    }
}

/// `GET /console/programs`.
pub async fn programs(
    console: web::Data<Console>,
    req: HttpRequest,
    q: web::Query<ListQuery>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::Read, None).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let programs = match programs_or_answer(&console).await {
        Ok(p) => p,
        Err(answer) => return answer,
    };
    let page_no = page_number(q.page);
    let skip = usize::try_from((page_no - 1) * PER_PAGE).unwrap_or(usize::MAX);
    let manages = signed.operator.role.may(OperatorAct::ManagePrograms);
    let body = html! {
        p.muted { "Credentials are never shown here: rotate them with onboard program." }
        table {
            thead { tr { th scope="col" { "Program" } th scope="col" { "Created" } th scope="col" { "Credentials" } th scope="col" { "Status" } th scope="col" { "Change" } } }
            tbody {
                @for p in programs.iter().skip(skip).take(PER_PAGE_ROWS) {
                    (program_row(&signed, p, manages))
                }
            }
        }
        (pager("/console/programs?", page_no, programs.len() > skip + PER_PAGE_ROWS))
    };
    page("Programs", Some(&signed), &body)
}

/// The disable/enable form as posted.
#[derive(Debug, Deserialize)]
pub struct ProgramForm {
    change: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/programs/{program}/status`.
pub async fn program_status(
    console: web::Data<Console>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<ProgramForm>,
) -> HttpResponse {
    let signed = match require(
        &console,
        &req,
        OperatorAct::ManagePrograms,
        Some(&form.csrf),
    )
    .await
    {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let Ok(program) = ProgramId::parse(&path) else {
        return layout::bad_request(Some(&signed), "That is not a program id.");
    };
    let disabled = match form.change.as_str() {
        "disable" => true,
        "enable" => false,
        _ => return layout::bad_request(Some(&signed), "The change is disable or enable."),
    };
    let action = signed.action(&format!("program {} {program}", form.change));
    match console
        .store
        .set_program_disabled(program, disabled, console.clock.now(), &action)
        .await
    {
        Ok(_) => {
            tracing::info!(operator = %signed.operator.id, program = %program, change = %form.change, "console: program status changed");
            see_other("/console/programs")
        }
        Err(StorageError::NotFound(_)) => respond(
            StatusCode::NOT_FOUND,
            "Not found",
            Some(&signed),
            &html! { p { "There is no such program." } },
        ),
        Err(e) => layout::unavailable(&e),
    }
}
