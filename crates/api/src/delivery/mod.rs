//! Webhook delivery (SPEC §7): a worker in every instance claims due deliveries through the
//! database with a lease (`storage::SqlStore::claim_deliveries`: no delivery is sent by two
//! instances at once; one whose holder died is due again when its lease runs out), sends
//! each (`send`), and records the attempt and what follows: delivered on a 2xx; otherwise a
//! retry after about 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (±10 % jitter), then failed;
//! the endpoint disabled when it answers 410 or has failed every attempt for 5 days.
//!
//! Metrics: `onboard_webhook_deliveries_total{outcome}` (one per attempt: `delivered`,
//! `gone`, `redirect`, `http_4xx`, `http_5xx`, `timeout`, `refused`, `connection_error`),
//! `onboard_webhook_delivery_lag_seconds` (from the event to its delivery) and
//! `onboard_webhook_queue_depth` (deliveries pending). A failed attempt is logged with the
//! event, the endpoint and what happened, never the body.

pub mod send;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use storage::{AttemptRecord, Attempted, ClaimedDelivery, EndpointEffect, NextStep, SqlStore};

use crate::clock::Clock;
use send::{Answer, Sender};

/// The waits before each retry, at scale 1.
pub const RETRY_SCHEDULE: [Duration; 7] = [
    Duration::from_secs(5),
    Duration::from_secs(5 * 60),
    Duration::from_secs(30 * 60),
    Duration::from_secs(2 * 3600),
    Duration::from_secs(5 * 3600),
    Duration::from_secs(10 * 3600),
    Duration::from_secs(10 * 3600),
];

/// An endpoint failing every attempt for this long is disabled.
pub const FAILING_FOR: chrono::Duration = chrono::Duration::days(5);

/// How long a claim holds a delivery: well beyond the 15 s attempt.
pub const LEASE: chrono::Duration = chrono::Duration::seconds(60);

/// How the worker runs.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// Allows `http://` and non-public addresses (development and tests only).
    pub allow_private: bool,
    /// How often the worker looks for due deliveries when it found none.
    pub interval: Duration,
    /// Multiplies the retry schedule (1 in production; small in tests).
    pub retry_scale: f64,
    /// Deliveries claimed and sent at once (128 by default: against 32, creates on
    /// PostgreSQL with one endpoint rose from 0.52–0.65× to 0.77–0.81× of creates without
    /// one, docs/bench.md "Webhooks"; 512 added ~17 MiB of RSS for no more).
    pub batch: u64,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        Self {
            allow_private: false,
            interval: Duration::from_millis(500),
            retry_scale: 1.0,
            batch: 128,
        }
    }
}

/// What follows an attempt that got `answer`, the `attempts` before it made, at `now`, for an
/// endpoint failing since `failing_since`; `jitter` in [-1, 1] moves the wait by up to 10 %.
pub fn decide(
    answer: &Answer,
    attempts: u32,
    now: DateTime<Utc>,
    failing_since: Option<DateTime<Utc>>,
    scale: f64,
    jitter: f64,
) -> (NextStep, EndpointEffect) {
    if let Answer::Status(s) = answer
        && (200..300).contains(s)
    {
        return (NextStep::Delivered, EndpointEffect::Healthy);
    }
    if matches!(answer, Answer::Status(410)) {
        return (NextStep::Failed, EndpointEffect::Disable("gone"));
    }
    let effect = if failing_since.is_some_and(|since| now - since >= FAILING_FOR) {
        EndpointEffect::Disable("failing")
    } else {
        EndpointEffect::Failing
    };
    let next = match RETRY_SCHEDULE.get(attempts as usize) {
        None => NextStep::Failed,
        Some(wait) => {
            let secs = wait.as_secs_f64() * scale * (1.0 + 0.1 * jitter.clamp(-1.0, 1.0));
            let wait = Duration::try_from_secs_f64(secs.max(0.001))
                .ok()
                .and_then(|d| chrono::Duration::from_std(d).ok())
                .unwrap_or(chrono::Duration::days(1));
            NextStep::RetryAt(now + wait)
        }
    };
    (next, effect)
}

/// A random number in [-1, 1] (the jitter of a retry).
fn jitter() -> f64 {
    let mut b = [0u8; 4];
    if getrandom::fill(&mut b).is_err() {
        return 0.0;
    }
    f64::from(u32::from_le_bytes(b)) / f64::from(u32::MAX) * 2.0 - 1.0
}

/// Claims and sends due deliveries until none is due; answers how many were attempted.
pub async fn run_once(
    store: &SqlStore,
    sender: &Sender,
    clock: &dyn Clock,
    settings: &DeliverySettings,
) -> Result<usize, storage::StorageError> {
    let mut attempted = 0;
    loop {
        let claimed = store
            .claim_deliveries(clock.now(), LEASE, settings.batch)
            .await?;
        if claimed.is_empty() {
            return Ok(attempted);
        }
        attempted += claimed.len();
        let full = claimed.len() as u64 >= settings.batch;
        deliver(store, sender, clock, settings, &claimed).await?;
        if !full {
            return Ok(attempted);
        }
    }
}

/// Sends deliveries this instance holds the lease of, and records their outcomes together
/// (one transaction, one commit, not one per delivery).
async fn deliver(
    store: &SqlStore,
    sender: &Sender,
    clock: &dyn Clock,
    settings: &DeliverySettings,
    claimed: &[ClaimedDelivery],
) -> Result<(), storage::StorageError> {
    let attempts = claimed.iter().map(|d| attempt(sender, clock, settings, d));
    let done = futures_util::future::join_all(attempts).await;
    for lost in store.finish_deliveries(&done).await? {
        let d = done[lost].delivery;
        tracing::warn!(event = %d.event_id, webhook = %d.endpoint, "a delivery's lease ran out before its outcome was recorded");
    }
    Ok(())
}

/// How long the worker lets dispatched deliveries gather after the first before it sends
/// them: their outcomes are written together, one transaction for the lot, not one per
/// creates' batch (at 8 connections a batch holds a few creates).
const GATHER_FOR: Duration = Duration::from_millis(40);

/// Dispatched deliveries (`storage::SqlStore::dispatching`): `first` and what has arrived
/// [`GATHER_FOR`] later, up to a batch, without those whose lease could run out during their
/// attempt (a poll claims them once it has).
async fn gather(
    first: Vec<ClaimedDelivery>,
    waiting: &mut tokio::sync::mpsc::Receiver<Vec<ClaimedDelivery>>,
    settings: &DeliverySettings,
    clock: &dyn Clock,
) -> Vec<ClaimedDelivery> {
    let mut claimed = first;
    // Asleep rather than waiting on the channel: a batch sent meanwhile wakes nothing.
    tokio::time::sleep(GATHER_FOR).await;
    while (claimed.len() as u64) < settings.batch {
        match waiting.try_recv() {
            Ok(more) => claimed.extend(more),
            Err(_) => break,
        }
    }
    let last_start = LEASE - chrono::Duration::from_std(send::TIMEOUT).unwrap_or(LEASE) * 2;
    let now = clock.now();
    claimed.retain(|d| now - d.due_since < last_start);
    claimed
}

/// One attempt of a claimed delivery, and what follows from it (recorded by the caller).
async fn attempt<'a>(
    sender: &Sender,
    clock: &dyn Clock,
    settings: &DeliverySettings,
    d: &'a ClaimedDelivery,
) -> Attempted<'a> {
    let at = clock.now();
    let id = d.event_id.to_string();
    let (answer, took) = sender
        .send(&d.url, &id, at.timestamp(), &d.body, &d.secrets)
        .await;
    let (next, effect) = decide(
        &answer,
        d.attempts,
        at,
        d.failing_since,
        settings.retry_scale,
        jitter(),
    );
    metrics::counter!("onboard_webhook_deliveries_total", "outcome" => answer.label()).increment(1);
    if next == NextStep::Delivered {
        let lag = (clock.now() - d.due_since).to_std().unwrap_or_default();
        metrics::histogram!("onboard_webhook_delivery_lag_seconds").record(lag.as_secs_f64());
    } else {
        let (status, error) = match &answer {
            Answer::Status(s) => (Some(*s), None),
            Answer::Timeout => (None, Some("timeout")),
            Answer::Refused(e) | Answer::Failed(e) => (None, Some(e.as_str())),
        };
        tracing::warn!(
            event = %id,
            webhook = %d.endpoint,
            attempt = d.attempts + 1,
            status,
            error,
            next = ?next,
            endpoint = ?effect,
            "a webhook delivery attempt failed"
        );
    }
    let attempt = AttemptRecord {
        at,
        status_code: match answer {
            Answer::Status(s) => Some(s),
            _ => None,
        },
        error: match answer {
            Answer::Status(_) => None,
            Answer::Timeout => Some("timeout".to_owned()),
            Answer::Refused(e) | Answer::Failed(e) => Some(e),
        },
        duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
    };
    Attempted {
        delivery: d,
        attempt,
        next,
        effect,
    }
}

/// Runs the delivery worker in the background (every instance runs one): it sends what the
/// store dispatches to it (`dispatched`) as it comes, polls for due deliveries every
/// `settings.interval`, and updates the queue depth every few seconds.
pub fn spawn_worker(
    store: SqlStore,
    clock: Arc<dyn Clock>,
    settings: DeliverySettings,
    dispatched: Option<tokio::sync::mpsc::Receiver<Vec<ClaimedDelivery>>>,
) -> Result<(), reqwest::Error> {
    let sender = Sender::new(settings.allow_private, Arc::new(send::SystemLookup))?;
    tokio::spawn(async move {
        let mut dispatched = dispatched;
        let mut depth_at = std::time::Instant::now();
        let mut poll_at = tokio::time::Instant::now();
        loop {
            let next = tokio::select! {
                () = tokio::time::sleep_until(poll_at) => None,
                first = next_dispatched(&mut dispatched) => Some(first),
            };
            match next {
                None => {
                    if let Err(e) = run_once(&store, &sender, clock.as_ref(), &settings).await {
                        tracing::warn!(error = %e, "the webhook worker failed a pass");
                    }
                    poll_at = tokio::time::Instant::now() + settings.interval;
                }
                Some(None) => dispatched = None,
                Some(Some(first)) => {
                    let Some(waiting) = dispatched.as_mut() else {
                        continue;
                    };
                    let claimed = gather(first, waiting, &settings, clock.as_ref()).await;
                    if let Err(e) =
                        deliver(&store, &sender, clock.as_ref(), &settings, &claimed).await
                    {
                        tracing::warn!(error = %e, "the webhook worker failed to record dispatched deliveries");
                    }
                }
            }
            if depth_at.elapsed() >= Duration::from_secs(5) {
                depth_at = std::time::Instant::now();
                if let Ok(depth) = store.pending_deliveries().await {
                    #[allow(clippy::cast_precision_loss)]
                    metrics::gauge!("onboard_webhook_queue_depth").set(depth as f64);
                }
            }
        }
    });
    Ok(())
}

/// The next dispatched batch; `None` once nothing can dispatch any more (never, without a
/// receiver).
async fn next_dispatched(
    dispatched: &mut Option<tokio::sync::mpsc::Receiver<Vec<ClaimedDelivery>>>,
) -> Option<Vec<ClaimedDelivery>> {
    match dispatched {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_schedule_retries_seven_times_then_fails() {
        let now = Utc::now();
        let fail = Answer::Status(500);
        let waits: Vec<i64> = (0..7)
            .map(|n| match decide(&fail, n, now, None, 1.0, 0.0).0 {
                NextStep::RetryAt(t) => (t - now).num_seconds(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(waits, [5, 300, 1800, 7200, 18000, 36000, 36000]);
        assert_eq!(decide(&fail, 7, now, None, 1.0, 0.0).0, NextStep::Failed);
        let (NextStep::RetryAt(late), _) = decide(&fail, 0, now, None, 1.0, 1.0) else {
            panic!()
        };
        assert_eq!(
            (late - now).num_milliseconds(),
            5500,
            "jitter moves it by 10 %"
        );
        assert_eq!(
            decide(&Answer::Status(204), 3, now, Some(now), 1.0, 0.0),
            (NextStep::Delivered, EndpointEffect::Healthy)
        );
        assert_eq!(
            decide(&Answer::Status(410), 0, now, None, 1.0, 0.0),
            (NextStep::Failed, EndpointEffect::Disable("gone"))
        );
        let since = now - chrono::Duration::days(5);
        assert_eq!(
            decide(&Answer::Timeout, 2, now, Some(since), 1.0, 0.0).1,
            EndpointEffect::Disable("failing")
        );
        assert_eq!(
            decide(&Answer::Status(302), 0, now, Some(now), 1.0, 0.0).1,
            EndpointEffect::Failing,
            "a redirect is not followed, and not a success"
        );
    }
}
