//! The review queues: pending KYC cases (the `manual` verifier's queue, decided through the
//! same code as `onboard kyc decide`) and open sanctions cases (the user beside the matched
//! list entry, decided through the same code as `onboard screening decide`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::screening::{ListEntry, ScreeningDecision};
use domain::{OperatorAct, Reason, User, UserId};
use maud::{Markup, html};
use serde::Deserialize;
use storage::{StorageError, UserRepository as _};

use super::Console;
use super::layout::{
    self, PER_PAGE, PER_PAGE_ROWS, SeekQuery, keyset_pager, page, page_number, pager, respond, when,
};
use super::session::{Signed, require, see_other};

/// `?page=`.
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<u64>,
}

/// A decision form as posted.
#[derive(Debug, Deserialize)]
pub struct DecisionForm {
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

/// `GET /console/`: the KYC queue is the home page.
pub async fn home() -> HttpResponse {
    see_other("/console/kyc")
}

/// A user's name as shown.
pub fn full_name(user: &User) -> String {
    let p = user.profile();
    let mut name = p.first_name().as_str().to_owned();
    if let Some(m) = p.middle_name() {
        name.push(' ');
        name.push_str(m.as_str());
    }
    name.push(' ');
    name.push_str(p.last_name().as_str());
    name
}

fn decision_form(signed: &Signed, action: &str, choices: &[(&str, &str)], id: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(signed.csrf);
            div {
                label for={ "decision-" (id) } { "Decision" }
                select id={ "decision-" (id) } name="decision" {
                    @for (value, label) in choices {
                        option value=(value) { (label) }
                    }
                }
            }
            div {
                label for={ "reason-" (id) } { "Reason" }
                input id={ "reason-" (id) } name="reason" type="text" required maxlength="256";
            }
            button type="submit" { "Decide" }
        }
    }
}

/// `GET /console/kyc`: a keyset page of the queue (`?after=` / `?before=`).
pub async fn kyc_queue(
    console: web::Data<Console>,
    req: HttpRequest,
    q: web::Query<SeekQuery>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::Read, None).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let seek = q.seek();
    let found = match console.store.pending_kyc_page(seek, PER_PAGE).await {
        Ok(c) => c,
        Err(e) => return layout::unavailable(&e),
    };
    let rows = &found.items;
    let decides = signed.operator.role.may(OperatorAct::DecideKyc);
    let body = html! {
        p.muted { "Users whose KYC is pending, the longest waiting first. A decision is final." }
        @if rows.is_empty() {
            p { "No pending KYC case." }
        } @else {
            table {
                caption.skip { "Pending KYC cases" }
                thead { tr { th scope="col" { "User" } th scope="col" { "Program" } th scope="col" { "Created" } th scope="col" { "Decision" } } }
                tbody {
                    @for user in rows {
                        tr {
                            td {
                                a href={ "/console/users/" (user.id()) } { (full_name(user)) }
                                br; span.muted { (user.profile().email().as_str()) }
                            }
                            td { code { (user.program_id()) } }
                            td { (when(user.created_at())) }
                            td {
                                @if decides {
                                    (decision_form(&signed, &format!("/console/kyc/{}/decide", user.id()), &[("verified", "Verify"), ("rejected", "Reject")], &user.id().to_string()))
                                } @else {
                                    span.muted { "Reviewers decide" }
                                }
                            }
                        }
                    }
                }
            }
        }
        (keyset_pager("/console/kyc?", seek, &found))
    };
    page("KYC review queue", Some(&signed), &body)
}

/// The user and the reason of a decision, or why they do not parse.
fn parse_decision_inputs(user: &str, reason: &str) -> Result<(UserId, Reason), String> {
    let id = UserId::parse(user).map_err(|_| "That is not a user id.".to_owned())?;
    let reason = Reason::parse(reason).map_err(|v| format!("Reason: {}", v.message))?;
    Ok((id, reason))
}

/// `POST /console/kyc/{user}/decide`.
pub async fn kyc_decide(
    console: web::Data<Console>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<DecisionForm>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::DecideKyc, Some(&form.csrf)).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let (id, reason) = match parse_decision_inputs(&path, &form.reason) {
        Ok(v) => v,
        Err(why) => return layout::bad_request(Some(&signed), &why),
    };
    let verified = match form.decision.as_str() {
        "verified" => true,
        "rejected" => false,
        _ => return layout::bad_request(Some(&signed), "The decision is verified or rejected."),
    };
    let action = signed.action(&format!("kyc decide {id} {}", form.decision));
    let decided = crate::kyc::decide(
        &console.store,
        id,
        verified,
        Some(&reason),
        &signed.actor(),
        &action,
        console.clock.now(),
    )
    .await;
    match decided {
        Ok(user) => {
            tracing::info!(operator = %signed.operator.id, user = %user.id(), kyc = %user.kyc_status(), "console: KYC decided");
            see_other(&format!("/console/users/{id}"))
        }
        Err(crate::kyc::DecideError::NoSuchUser) => conflict(&signed, "There is no such user."),
        Err(crate::kyc::DecideError::HeldByScreening(status)) => conflict(
            &signed,
            &format!(
                "Screening holds this user's KYC ({status}): decide the sanctions case first."
            ),
        ),
        Err(crate::kyc::DecideError::Storage(StorageError::Rejected(why))) => {
            conflict(&signed, &format!("Not decided: {why}."))
        }
        Err(crate::kyc::DecideError::Storage(e)) => layout::unavailable(&e),
    }
}

fn conflict(signed: &Signed, why: &str) -> HttpResponse {
    respond(
        StatusCode::CONFLICT,
        "Not done",
        Some(signed),
        &html! { p.error role="alert" { (why) } p { a href="/console/" { "Back to the queues" } } },
    )
}

fn entry_markup(entry: Option<&ListEntry>, number: Option<u32>, name: Option<&str>) -> Markup {
    html! {
        @match entry {
            Some(e) => {
                dl.facts {
                    dt { "Entry" } dd { (e.number) }
                    dt { "Listed name" } dd { (e.name) }
                    dt { "Aliases" } dd { @if e.aliases.is_empty() { span.muted { "none" } } @else { (e.aliases.join("; ")) } }
                    dt { "Dates of birth" } dd {
                        @if e.dobs.is_empty() { span.muted { "none listed" } }
                        @for (i, d) in e.dobs.iter().enumerate() {
                            @let (from, to) = d.range();
                            @if i > 0 { "; " }
                            @if from == to { (from) } @else { (from) " – " (to) }
                        }
                    }
                    dt { "Programs" } dd { (e.program) }
                }
            }
            None => {
                p.muted { "Entry " (number.map_or_else(String::new, |n| n.to_string())) " " (name.unwrap_or_default()) " (its list version is no longer stored)" }
            }
        }
    }
}

fn user_facts(user: &User) -> Markup {
    let p = user.profile();
    html! {
        dl.facts {
            dt { "Name" } dd { a href={ "/console/users/" (user.id()) } { (full_name(user)) } }
            dt { "Date of birth" } dd { (p.date_of_birth().map_or_else(|| "not given".to_owned(), |d| d.date().to_string())) }
            dt { "Country" } dd { (p.address().country().as_str()) }
            dt { "Email" } dd { (p.email().as_str()) }
            dt { "Program" } dd { code { (user.program_id()) } }
            dt { "KYC" } dd { (user.kyc_status()) }
        }
    }
}

/// `GET /console/screening`.
pub async fn screening_queue(
    console: web::Data<Console>,
    req: HttpRequest,
    q: web::Query<PageQuery>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::Read, None).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let page_no = page_number(q.page);
    let skip = (page_no - 1) * PER_PAGE;
    let cases = match console.store.screening_cases_page(skip, PER_PAGE + 1).await {
        Ok(c) => c,
        Err(e) => return layout::unavailable(&e),
    };
    let has_more = cases.len() as u64 > PER_PAGE;
    let decides = signed.operator.role.may(OperatorAct::DecideScreening);
    let mut shown = Vec::new();
    for case in cases.into_iter().take(PER_PAGE_ROWS) {
        let user = match console.store.get_user(case.program, case.user).await {
            Ok(Some(u)) => u,
            Ok(None) => continue,
            Err(e) => return layout::unavailable(&e),
        };
        let entries = match console.list_entries(case.list_id).await {
            Ok(e) => e,
            Err(e) => return layout::unavailable(&e),
        };
        let entry = case.entry_number.and_then(|n| entries.get(&n).cloned());
        shown.push((case, user, entry));
    }
    let body = html! {
        p.muted { "Users whose screening is a potential match. Clear lets KYC go on; confirm rejects KYC (sanctions_match) and blocks the user." }
        @if shown.is_empty() { p { "No open sanctions case." } }
        @for (case, user, entry) in &shown {
            section.card aria-labelledby={ "case-" (user.id()) } {
                h2 id={ "case-" (user.id()) } { (full_name(user)) " — score " (format!("{:.3}", case.score.unwrap_or_default())) }
                p.muted { "Screened " (when(case.screened_at)) " on " (case.trigger) }
                div.side {
                    div { h3 { "User" } (user_facts(user)) }
                    div { h3 { "Matched list entry" } (entry_markup(entry.as_ref(), case.entry_number, case.entry_name.as_deref())) }
                }
                @if decides {
                    (decision_form(&signed, &format!("/console/screening/{}/decide", user.id()), &[("clear", "Clear (not the listed person)"), ("confirm", "Confirm (the listed person)")], &user.id().to_string()))
                }
            }
        }
        (pager("/console/screening?", page_no, has_more))
    };
    page("Sanctions review queue", Some(&signed), &body)
}

/// `POST /console/screening/{user}/decide`.
pub async fn screening_decide(
    console: web::Data<Console>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<DecisionForm>,
) -> HttpResponse {
    let signed = match require(
        &console,
        &req,
        OperatorAct::DecideScreening,
        Some(&form.csrf),
    )
    .await
    {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let (id, reason) = match parse_decision_inputs(&path, &form.reason) {
        Ok(v) => v,
        Err(why) => return layout::bad_request(Some(&signed), &why),
    };
    let Ok(decision) = form.decision.parse::<ScreeningDecision>() else {
        return layout::bad_request(Some(&signed), "The decision is clear or confirm.");
    };
    let action = signed.action(&format!("screening decide {id} {}", decision.as_str()));
    match console
        .store
        .decide_screening(id, decision, reason.as_str(), &action, console.clock.now())
        .await
    {
        Ok(Ok(done)) => {
            tracing::info!(operator = %signed.operator.id, user = %id, status = %done.status, "console: sanctions case decided");
            see_other(&format!("/console/users/{id}"))
        }
        Ok(Err(no_case)) => conflict(&signed, &format!("Not decided: {no_case}.")),
        Err(e) => layout::unavailable(&e),
    }
}
