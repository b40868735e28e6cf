//! Businesses and their owners, webhook endpoints and failed deliveries (resend), and
//! programs (disable/enable; credentials are never shown, only that they exist).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::{
    BusinessId, BusinessQuery, EventId, OperatorAct, PageRequest, ProgramId, RawBusinessQuery,
    WebhookId,
};
use maud::html;
use serde::Deserialize;
use storage::{
    BusinessLifecycle as _, BusinessRepository as _, ProgramRepository as _, ProgramSummary,
    StorageError, WebhookRepository as _,
};

use super::Console;
use super::layout::{self, PER_PAGE, PER_PAGE_ROWS, page, page_number, pager, respond, when};
use super::session::{Signed, require, see_other};

/// A list's query: the program filter and the page.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    program: String,
    #[serde(default)]
    q: String,
    page: Option<u64>,
}

async fn programs_or_answer(console: &Console) -> Result<Vec<ProgramSummary>, HttpResponse> {
    console
        .store
        .list_programs()
        .await
        .map_err(|e| layout::unavailable(&e))
}

fn program_picker(
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
fn chosen(programs: &[ProgramSummary], raw: &str) -> Option<ProgramId> {
    ProgramId::parse(raw)
        .ok()
        .or_else(|| programs.first().map(|p| p.program_id))
}

/// `GET /console/businesses`.
pub async fn businesses(
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
    let page_no = page_number(q.page);
    let term = q.q.trim();
    let Ok(query) = BusinessQuery::parse(&RawBusinessQuery {
        page: Some(page_no),
        per_page: Some(PER_PAGE),
        search: (!term.is_empty()).then(|| term.to_owned()),
        ..RawBusinessQuery::default()
    }) else {
        return layout::bad_request(Some(&signed), "A search term is 1 to 128 characters.");
    };
    let found = match program {
        Some(p) => match console.store.list_businesses(p, &query).await {
            Ok(found) => Some(found),
            Err(e) => return layout::unavailable(&e),
        },
        None => None,
    };
    let body = html! {
        (program_picker(&programs, program, "/console/businesses", Some(term)))
        @match &found {
            None => p { "No program yet." },
            Some(found) if found.items.is_empty() => p { "No business matches." },
            Some(found) => {
                table {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "EIN" } th scope="col" { "Status" } th scope="col" { "KYB" } th scope="col" { "Created" } } }
                    tbody {
                        @for b in &found.items {
                            tr {
                                td { a href={ "/console/businesses/" (b.id()) } { (b.profile().name().as_str()) } }
                                td { "••-•••" (b.ein_last_4().as_str()) }
                                td { (b.status()) }
                                td { (b.kyb_status()) }
                                td { (when(b.created_at())) }
                            }
                        }
                    }
                }
                (pager(&format!("/console/businesses?program={}&q={}&", program.map(|p| p.to_string()).unwrap_or_default(), url::form_urlencoded::byte_serialize(term.as_bytes()).collect::<String>()), page_no, page_no * PER_PAGE < found.total))
            }
        }
    };
    page("Businesses", Some(&signed), &body)
}

/// `GET /console/businesses/{business}`.
pub async fn business_page(
    console: web::Data<Console>,
    req: HttpRequest,
    path: web::Path<String>,
    q: web::Query<ListQuery>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::Read, None).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let missing = || {
        respond(
            StatusCode::NOT_FOUND,
            "Not found",
            Some(&signed),
            &html! { p { "There is no such business." } },
        )
    };
    let Ok(id) = BusinessId::parse(&path) else {
        return missing();
    };
    let program = match console.store.business_program(id).await {
        Ok(Some(p)) => p,
        Ok(None) => return missing(),
        Err(e) => return layout::unavailable(&e),
    };
    let page_no = page_number(q.page);
    let Ok(owners_page) = PageRequest::parse(Some(page_no), Some(PER_PAGE)) else {
        return layout::bad_request(Some(&signed), "That page does not exist.");
    };
    let (business, owners) = match tokio::try_join!(
        console.store.get_business(program, id),
        console.store.business_owners(program, id, owners_page),
    ) {
        Ok((Some(b), Some(o))) => (b, o),
        Ok(_) => return missing(),
        Err(e) => return layout::unavailable(&e),
    };
    let p = business.profile();
    let body = html! {
        dl.facts {
            dt { "Id" } dd { code { (business.id()) } }
            dt { "Program" } dd { code { (program) } }
            dt { "Email" } dd { (p.email().as_str()) }
            dt { "EIN" } dd { "••-•••" (business.ein_last_4().as_str()) }
            dt { "Status" } dd { (business.status()) }
            dt { "KYB" } dd { (business.kyb_status()) }
            dt { "Created" } dd { (when(business.created_at())) }
        }
        h2 { "Beneficial owners" }
        @if owners.items.is_empty() { p { "No owner on file." } } @else {
            table {
                thead { tr { th scope="col" { "Owner" } th scope="col" { "Title" } th scope="col" { "Share" } th scope="col" { "Control person" } th scope="col" { "KYC" } } }
                tbody {
                    @for o in &owners.items {
                        tr {
                            td { a href={ "/console/users/" (o.user_id()) } { (o.first_name().as_str()) " " (o.last_name().as_str()) } }
                            td { (o.title().as_str()) }
                            td { (format!("{:.2} %", o.ownership_percent().as_f64())) }
                            td { @if o.is_control_person() { "yes" } @else { "no" } }
                            td { (o.kyc_status()) }
                        }
                    }
                }
            }
            (pager(&format!("/console/businesses/{id}?"), page_no, page_no * PER_PAGE < owners.total))
        }
    };
    page(p.name().as_str(), Some(&signed), &body)
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
    let page_no = page_number(q.page);
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
    let failed = match console
        .store
        .failed_deliveries((page_no - 1) * PER_PAGE, PER_PAGE + 1)
        .await
    {
        Ok(f) => f,
        Err(e) => return layout::unavailable(&e),
    };
    let has_more = failed.len() as u64 > PER_PAGE;
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
        @if failed.is_empty() { p { "No failed delivery." } } @else {
            table {
                thead { tr { th scope="col" { "Event" } th scope="col" { "Endpoint" } th scope="col" { "Program" } th scope="col" { "Attempts" } th scope="col" { "Failed" } th scope="col" { "Resend" } } }
                tbody {
                    @for f in failed.iter().take(PER_PAGE_ROWS) {
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
        (pager(&format!("/console/webhooks?program={}&", program.map(|p| p.to_string()).unwrap_or_default()), page_no, has_more))
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
