//! `onboard webhook list` and `onboard webhook failed`: the endpoints, and the failed
//! deliveries with their event's type and the endpoint's last attempt, as a table or JSON.

use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use domain::{PageRequest, ProgramId, WebhookStatus};
use storage::console::FailedDelivery;
use storage::{Seek, SqlStore, Webhook, WebhookRepository as _};

use super::{CliResult, parse_program, programs};

/// Every endpoint of `program`, newest first (page after page).
async fn all_webhooks(
    store: &SqlStore,
    program: ProgramId,
) -> Result<Vec<Webhook>, Box<dyn std::error::Error>> {
    let mut found = Vec::new();
    for number in 1..=PageRequest::MAX_PAGE {
        let page = PageRequest::parse(Some(number), Some(PageRequest::MAX_PER_PAGE))
            .map_err(|e| e.to_string())?;
        let got = store.list_webhooks(program, page).await?;
        let last = got.items.is_empty() || found.len() + got.items.len() >= to_usize(got.total);
        found.extend(got.items);
        if last {
            break;
        }
    }
    Ok(found)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn when(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Writes `rows` under `head`, each column as wide as its widest cell.
fn table(out: &mut impl Write, head: &[&str], rows: &[Vec<String>]) -> std::io::Result<()> {
    let mut widths: Vec<usize> = head.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let head: Vec<String> = head.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&head).chain(rows) {
        let mut line = String::new();
        for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = w.saturating_sub(cell.chars().count()) + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

/// `onboard webhook list`.
pub(super) async fn endpoints(
    store: &SqlStore,
    out: &mut impl Write,
    program: Option<String>,
    json: bool,
) -> CliResult {
    let given = parse_program(program.as_deref())?;
    let mut endpoints = Vec::new();
    for p in programs(store, given).await? {
        endpoints.extend(all_webhooks(store, p).await?.into_iter().map(|w| (p, w)));
    }
    if json {
        let mut all = Vec::with_capacity(endpoints.len());
        for (p, w) in &endpoints {
            // The API's own view (`/webhook/get`), which never shows a stored secret; the
            // key is removed again so that no change there can make this command print one.
            let view = crate::event_views::webhook_items(std::slice::from_ref(w));
            let mut value = serde_json::to_value(&view[0])?;
            if let Some(object) = value.as_object_mut() {
                object.remove("secret");
                object.insert("program_id".to_owned(), p.to_string().into());
            }
            all.push(value);
        }
        writeln!(out, "{}", serde_json::to_string_pretty(&all)?)?;
    } else if endpoints.is_empty() {
        writeln!(out, "no webhook endpoint")?;
    } else {
        let rows: Vec<Vec<String>> = endpoints
            .iter()
            .map(|(p, w)| {
                let status = match &w.disabled_reason {
                    Some(why) if w.status == WebhookStatus::Disabled => {
                        format!("disabled ({why})")
                    }
                    _ => w.status.as_str().to_owned(),
                };
                let events = w.event_types.as_ref().map_or_else(
                    || "all".to_owned(),
                    |t| t.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(","),
                );
                vec![
                    w.id.to_string(),
                    p.to_string(),
                    status,
                    events,
                    when(w.created_at),
                    w.url.as_str().to_owned(),
                ]
            })
            .collect();
        let head = ["ENDPOINT", "PROGRAM", "STATUS", "EVENTS", "CREATED", "URL"];
        table(out, &head, &rows)?;
    }
    Ok(())
}

/// A failed delivery with its event's type and the endpoint's last attempt.
struct Shown {
    delivery: FailedDelivery,
    event_type: Option<&'static str>,
    last_status: Option<u16>,
    last_error: Option<String>,
}

/// `onboard webhook failed`.
pub(super) async fn failed(
    store: &SqlStore,
    out: &mut impl Write,
    seek: Seek,
    limit: u64,
    json: bool,
) -> CliResult {
    let page = store.failed_deliveries_page(seek, limit).await?;
    let mut shown = Vec::with_capacity(page.items.len());
    for delivery in page.items {
        let found = store.get_event(delivery.program, delivery.event).await?;
        let (event_type, last) = match &found {
            Some((event, attempts)) => (
                Some(event.event_type.as_str()),
                attempts
                    .iter()
                    .filter(|a| a.endpoint == delivery.endpoint)
                    .max_by_key(|a| a.at),
            ),
            None => (None, None),
        };
        shown.push(Shown {
            event_type,
            last_status: last.and_then(|a| a.status_code),
            last_error: last.and_then(|a| a.error.clone()),
            delivery,
        });
    }
    let next = page.next.map(|k| k.token());
    if json {
        let failed: Vec<serde_json::Value> = shown
            .iter()
            .map(|s| {
                serde_json::json!({
                    "event_id": s.delivery.event.to_string(),
                    "webhook_id": s.delivery.endpoint.to_string(),
                    "program_id": s.delivery.program.to_string(),
                    "event_type": s.event_type,
                    "attempts": s.delivery.attempts,
                    "last_status_code": s.last_status,
                    "last_error": s.last_error,
                    "failed_at": s.delivery.failed_at.map(crate::views::timestamp),
                })
            })
            .collect();
        let value = serde_json::json!({ "failed": failed, "next_after": next });
        writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        return Ok(());
    }
    if shown.is_empty() {
        writeln!(out, "no failed delivery")?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = shown
        .iter()
        .map(|s| {
            let last = match (s.last_status, &s.last_error) {
                (Some(code), _) => format!("HTTP {code}"),
                (None, Some(error)) => error.clone(),
                (None, None) => "-".to_owned(),
            };
            vec![
                s.delivery.event.to_string(),
                s.delivery.endpoint.to_string(),
                s.delivery.program.to_string(),
                s.event_type.unwrap_or("-").to_owned(),
                s.delivery.attempts.to_string(),
                s.delivery.failed_at.map_or_else(|| "-".to_owned(), when),
                last,
            ]
        })
        .collect();
    let head = [
        "EVENT", "ENDPOINT", "PROGRAM", "TYPE", "ATTEMPTS", "FAILED", "LAST",
    ];
    table(out, &head, &rows)?;
    if let Some(key) = next {
        writeln!(
            out,
            "more: onboard webhook failed --after {key} --limit {limit}"
        )?;
    }
    Ok(())
}
