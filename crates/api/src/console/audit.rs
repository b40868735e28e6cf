//! The audit page: every operator action (`operator_actions`) newest first, a keyset page at
//! a time — the console's own (program disable/enable, webhook resends, operator management,
//! decisions and blocks) and the `onboard` commands'. Program and resend actions are audit
//! records, not §7 events (ARCHITECTURE.md says why). Every role reads it.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{OperatorAct, OperatorId};
use maud::html;

use super::Console;
use super::layout::{self, PER_PAGE, SeekQuery, keyset_pager, when};
use super::session::require;

/// `GET /console/audit`.
pub async fn page(
    console: web::Data<Console>,
    req: HttpRequest,
    q: web::Query<SeekQuery>,
) -> HttpResponse {
    let signed = match require(&console, &req, OperatorAct::Read, None).await {
        Ok(s) => s,
        Err(answer) => return answer,
    };
    let seek = q.seek();
    let (found, operators) = match tokio::try_join!(
        console.store.operator_actions_page(seek, PER_PAGE),
        console.store.list_operators(),
    ) {
        Ok(both) => both,
        Err(e) => return layout::unavailable(&e),
    };
    // A console action's actor is the operator's id: shown with its email.
    let who = |actor: &str| {
        OperatorId::parse(actor)
            .ok()
            .and_then(|id| operators.iter().find(|o| o.id == id))
            .map(|o| o.email.clone())
    };
    let body = html! {
        p.muted { "Who did what, newest first: the console's actions and the onboard commands run on a server. Changes to users and businesses are also events in their timelines." }
        @if found.items.is_empty() { p { "No action recorded." } } @else {
            table {
                caption.skip { "Operator actions" }
                thead { tr { th scope="col" { "When" } th scope="col" { "Actor" } th scope="col" { "Action" } } }
                tbody {
                    @for a in &found.items {
                        tr {
                            td { (when(a.at)) }
                            td {
                                @if let Some(email) = who(&a.action.actor) { (email) br; }
                                code { (a.action.actor) }
                            }
                            td { code { (a.action.command) } }
                        }
                    }
                }
            }
        }
        (keyset_pager("/console/audit?", seek, &found))
    };
    layout::page("Audit", Some(&signed), &body)
}
