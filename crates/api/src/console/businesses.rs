//! Businesses: the list of a program (search by name, DBA or email), the business page with
//! its owners, block and unblock with a reason (reviewers and admins), and the decision of a
//! pending KYB case when the `manual` verifier leaves it to operators — through the same
//! storage calls as the integrator API (`change_business`) and `onboard kyb decide`
//! (`kyb::decide`), the business events written with actor `operator:<operator id>`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::{
    Business, BusinessChange, BusinessId, BusinessQuery, KycStatus, OperatorAct, PageRequest,
    RawBusinessQuery, Reason, UserStatus,
};
use maud::{Markup, html};
use serde::Deserialize;
use storage::{Audit, BusinessLifecycle as _, BusinessRepository as _, StorageError};

use super::Console;
use super::accounts::{ListQuery, chosen, program_picker, programs_or_answer};
use super::layout::{self, PER_PAGE, page, page_number, pager, respond, when};
use super::people::StatusForm;
use super::session::{Signed, require, see_other};

/// `GET /console/businesses`.
pub async fn list(
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
        (status_form(&signed, &business))
        (kyb_section(&console, &signed, &business))
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

/// Block or unblock, for those who may.
fn status_form(signed: &Signed, business: &Business) -> Markup {
    if !signed.operator.role.may(OperatorAct::BlockBusiness) {
        return html! {};
    }
    let blocked = business.status() == UserStatus::Blocked;
    html! {
        section aria-labelledby="status" {
            h2 id="status" { @if blocked { "Unblock" } @else { "Block" } }
            form.inline method="post" action={ "/console/businesses/" (business.id()) "/status" } {
                input type="hidden" name="csrf" value=(signed.csrf);
                input type="hidden" name="change" value=(if blocked { "unblock" } else { "block" });
                div {
                    label for="status-reason" { "Reason" }
                    input id="status-reason" name="reason" type="text" required maxlength="256";
                }
                button.bad type="submit" { @if blocked { "Unblock business" } @else { "Block business" } }
            }
        }
    }
}

/// A pending KYB case: the decision form under the manual verifier, else who decides.
fn kyb_section(console: &Console, signed: &Signed, business: &Business) -> Markup {
    if business.kyb_status() != KycStatus::Pending {
        return html! {};
    }
    html! {
        section aria-labelledby="kyb" {
            h2 id="kyb" { "KYB decision" }
            @if !console.manual_verifier {
                p.muted { "The configured verifier decides this case." }
            } @else if !signed.operator.role.may(OperatorAct::DecideKyb) {
                p.muted { "Reviewers decide KYB cases." }
            } @else {
                form.inline method="post" action={ "/console/businesses/" (business.id()) "/kyb" } {
                    input type="hidden" name="csrf" value=(signed.csrf);
                    div {
                        label for="kyb-decision" { "Decision" }
                        select id="kyb-decision" name="decision" {
                            option value="verified" { "Verify" }
                            option value="rejected" { "Reject" }
                        }
                    }
                    div {
                        label for="kyb-reason" { "Reason" }
                        input id="kyb-reason" name="reason" type="text" required maxlength="256";
                    }
                    button type="submit" { "Decide" }
                }
            }
        }
    }
}

fn not_done(signed: &Signed, status: StatusCode, why: &str) -> HttpResponse {
    respond(
        status,
        if status == StatusCode::NOT_FOUND {
            "Not found"
        } else {
            "Not done"
        },
        Some(signed),
        &html! { p.error role="alert" { (why) } p { a href="/console/businesses" { "Back to the businesses" } } },
    )
}

/// `POST /console/businesses/{business}/status`: block or unblock with a reason, as the
/// API's `/business/block` and `/business/unblock` do.
pub async fn block_or_unblock(
    console: web::Data<Console>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<StatusForm>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::BlockBusiness, Some(&form.csrf)).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let (change, reason) = match form.parsed() {
        Ok((true, reason)) => (BusinessChange::Block, reason),
        Ok((false, reason)) => (BusinessChange::Unblock, reason),
        Err(why) => return layout::bad_request(Some(&signed), &why),
    };
    let Ok(id) = BusinessId::parse(&path) else {
        return not_done(&signed, StatusCode::NOT_FOUND, "There is no such business.");
    };
    let program = match console.store.business_program(id).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return not_done(&signed, StatusCode::NOT_FOUND, "There is no such business.");
        }
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
        .change_business(program, id, change, audit, now, storage::Along::nothing())
        .await
    {
        Ok(_) => {}
        Err(StorageError::Rejected(why)) => {
            return not_done(&signed, StatusCode::CONFLICT, &format!("Not done: {why}."));
        }
        Err(StorageError::NotFound(_)) => {
            return not_done(&signed, StatusCode::NOT_FOUND, "There is no such business.");
        }
        Err(e) => return layout::unavailable(&e),
    }
    let action = signed.action(&format!("business {} {id}", form.change));
    if let Err(e) = console.store.record_operator_action(&action, now).await {
        return layout::unavailable(&e);
    }
    tracing::info!(operator = %signed.operator.id, business = %id, change = %form.change, "console: business status changed");
    see_other(&format!("/console/businesses/{id}"))
}

/// A KYB decision as posted.
#[derive(Debug, Deserialize)]
pub struct KybForm {
    decision: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/businesses/{business}/kyb`: verified or rejected with a reason, through
/// `kyb::decide` as `onboard kyb decide`; only while the `manual` verifier leaves KYB cases
/// to operators (another verifier's worker decides them, and a decision here would race it).
pub async fn kyb_decide(
    console: web::Data<Console>,
    req: HttpRequest,
    path: web::Path<String>,
    form: web::Form<KybForm>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::DecideKyb, Some(&form.csrf)).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    if !console.manual_verifier {
        return not_done(
            &signed,
            StatusCode::CONFLICT,
            "The configured verifier decides KYB cases; operators decide them only under the manual verifier.",
        );
    }
    let verified = match form.decision.as_str() {
        "verified" => true,
        "rejected" => false,
        _ => return layout::bad_request(Some(&signed), "The decision is verified or rejected."),
    };
    let reason = match Reason::parse(&form.reason) {
        Ok(r) => r,
        Err(v) => return layout::bad_request(Some(&signed), &format!("Reason: {}", v.message)),
    };
    let Ok(id) = BusinessId::parse(&path) else {
        return not_done(&signed, StatusCode::NOT_FOUND, "There is no such business.");
    };
    let action = signed.action(&format!("kyb decide {id} {}", form.decision));
    let decided = crate::kyb::decide(
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
        Ok(business) => {
            tracing::info!(operator = %signed.operator.id, business = %id, kyb = %business.kyb_status(), "console: KYB decided");
            see_other(&format!("/console/businesses/{id}"))
        }
        Err(crate::kyb::KybDecideError::NoSuchBusiness) => {
            not_done(&signed, StatusCode::NOT_FOUND, "There is no such business.")
        }
        Err(crate::kyb::KybDecideError::Storage(StorageError::Rejected(why))) => not_done(
            &signed,
            StatusCode::CONFLICT,
            &format!("Not decided: {why}."),
        ),
        Err(crate::kyb::KybDecideError::Storage(e)) => layout::unavailable(&e),
    }
}
