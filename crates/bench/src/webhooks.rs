//! Issue 18 item 6: creates with one enabled webhook endpoint, a receiver on loopback answering
//! 204 to every delivery (`webhook_allow_private_targets = true`). Measures the create
//! throughput (to compare with the no-webhook figure of the same run), the delivery lag of
//! each event created in the measured window (arrival at the receiver − the event's
//! `created_at`), and how long the outbox takes to drain (no pending delivery left in the
//! database) after the load stops.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::http::{self, Conn, Credentials, Stop};
use crate::server::Onboard;
use crate::workload::{Kind, Workload};

/// What the scenario measured.
pub(crate) struct Figures {
    pub(crate) outcome: http::Outcome,
    pub(crate) rss: u64,
    /// Delivery lag of the events created in the measured window, sorted, in µs.
    pub(crate) lags_us: Vec<u32>,
    /// Deliveries received in all (warm-up, window and drain).
    pub(crate) received: u64,
    /// Seconds from the end of the load until no delivery was pending (`None`: not within
    /// the 120 s allowed).
    pub(crate) drain_secs: Option<f64>,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Epoch milliseconds of the event's `created_at` (`2026-11-30T02:23:33.123Z`).
fn rfc3339_ms(text: &str) -> Option<u64> {
    let n = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let days = days_from_civil(n(0..4)?, n(5..7)?, n(8..10)?);
    let secs = days * 86_400 + n(11..13)? * 3600 + n(14..16)? * 60 + n(17..19)?;
    let ms = n(20..23)?;
    u64::try_from(secs * 1000 + ms).ok()
}

/// The `created_at` of an event body, found without parsing the whole JSON.
fn created_at_ms(body: &[u8]) -> Option<u64> {
    let key = b"\"created_at\":\"";
    let at = body.windows(key.len()).position(|w| w == key)? + key.len();
    let text = std::str::from_utf8(body.get(at..at + 24)?).ok()?;
    rfc3339_ms(text)
}

/// The receiver: (arrival µs, event created_at ms) of every delivery.
struct Receiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<(u64, u64)>>>,
    count: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Receiver {
    /// Serves on loopback from a thread of its own (its own runtime), so that the load
    /// generator does not delay the arrival times.
    fn start() -> Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (seen, count, stop) = (Arc::clone(&seen), Arc::clone(&count), Arc::clone(&stop));
            std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                        return;
                    };
                    while !stop.load(Ordering::Relaxed) {
                        let accepted =
                            tokio::time::timeout(Duration::from_millis(100), listener.accept())
                                .await;
                        if let Ok(Ok((socket, _))) = accepted {
                            let (seen, count) = (Arc::clone(&seen), Arc::clone(&count));
                            tokio::spawn(serve_conn(socket, seen, count));
                        }
                    }
                });
            })
        };
        Ok(Self {
            addr,
            seen,
            count,
            stop,
            thread: Some(thread),
        })
    }

    fn finish(&mut self) -> Vec<(u64, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One keep-alive connection of the delivery worker: every request answered 204.
async fn serve_conn(
    mut socket: tokio::net::TcpStream,
    seen: Arc<Mutex<Vec<(u64, u64)>>>,
    count: Arc<AtomicU64>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    loop {
        // Headers, then the body by its content-length.
        let head_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let arrived = now_us();
        if let Some(created) = created_at_ms(&buf[head_end..head_end + length])
            && let Ok(mut s) = seen.lock()
        {
            s.push((arrived, created));
        }
        count.fetch_add(1, Ordering::Relaxed);
        buf.drain(..head_end + length);
        let answer = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
        if socket.write_all(answer).await.is_err() {
            return;
        }
    }
}

/// Deliveries still pending in the service's database.
async fn pending(database_url: &str) -> Result<i64> {
    let sql = "SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'";
    if database_url.starts_with("sqlite:") {
        use sqlx::ConnectOptions as _;
        let opts: sqlx::sqlite::SqliteConnectOptions = database_url.parse()?;
        let mut conn = opts.connect().await?;
        Ok(sqlx::query_scalar(sql).fetch_one(&mut conn).await?)
    } else {
        use sqlx::Connection as _;
        let mut conn = sqlx::PgConnection::connect(database_url).await?;
        Ok(sqlx::query_scalar(sql).fetch_one(&mut conn).await?)
    }
}

/// Creates at `connections` against a fresh `onboard serve` with one enabled endpoint.
pub(crate) async fn scenario(
    onboard: &Onboard,
    creds: &Credentials,
    next_user: &Arc<AtomicU64>,
    connections: usize,
    stop: Stop,
) -> Result<Figures> {
    let mut receiver = Receiver::start()?;
    let env = [("ONBOARD_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")];
    let mut served = onboard
        .serve_with(connections, &format!("webhooks-{connections}"), &env)
        .await?;
    let mut conn = Conn::open(served.addr).await?;
    let body = serde_json::json!({ "url": format!("http://{}/hook", receiver.addr) }).to_string();
    let reply = conn
        .post_signed(
            creds,
            "/api/v3/webhook/create",
            body.as_bytes(),
            &uuid::Uuid::now_v7().to_string(),
        )
        .await?;
    if reply.status != 200 {
        let text = String::from_utf8_lossy(conn.body(&reply)).into_owned();
        bail!("webhook/create answered {}: {text}", reply.status);
    }
    let endpoint =
        crate::http::created_id(conn.body(&reply)).context("webhook/create answered no id")?;
    drop(conn);
    let workload = Arc::new(Workload::new(
        Kind::Create,
        Arc::clone(next_user),
        Arc::new(Vec::new()),
    ));
    let (warmup, measure) = match stop {
        Stop::Timed(w, m) => (w, m),
        Stop::Count(_) => (Duration::ZERO, Duration::MAX),
    };
    let begin_ms = now_ms();
    let window = (
        begin_ms + u64::try_from(warmup.as_millis()).unwrap_or(0),
        begin_ms + u64::try_from((warmup + measure).as_millis()).unwrap_or(u64::MAX),
    );
    let outcome = http::run(
        served.addr,
        creds,
        &workload,
        connections,
        stop,
        Some(served.pid()),
    )
    .await;
    let stopped = Instant::now();
    let mut drain_secs = None;
    while stopped.elapsed() < Duration::from_secs(120) {
        if pending(&onboard.database_url)
            .await
            .context("counting pending deliveries")?
            == 0
        {
            drain_secs = Some(stopped.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The endpoint goes with the scenario: the scenarios after it share the database and
    // would otherwise write a delivery with every create, to a receiver no longer there.
    let mut conn = Conn::open(served.addr).await?;
    let body = serde_json::json!({ "webhook_id": endpoint }).to_string();
    let reply = conn
        .post_signed(
            creds,
            "/api/v3/webhook/delete",
            body.as_bytes(),
            &uuid::Uuid::now_v7().to_string(),
        )
        .await?;
    if reply.status != 200 {
        bail!("webhook/delete answered {}", reply.status);
    }
    drop(conn);
    let parts = served.rss_parts();
    let rss = served.stop();
    let delivered = receiver.count.load(Ordering::Relaxed);
    let seen = receiver.finish();
    let mut outcome = outcome?;
    outcome.rss_parts = parts;
    let mut lags_us: Vec<u32> = seen
        .iter()
        .filter(|(_, created)| *created >= window.0 && *created < window.1)
        .map(|(arrived, created)| {
            u32::try_from(arrived.saturating_sub(created * 1000)).unwrap_or(u32::MAX)
        })
        .collect();
    lags_us.sort_unstable();
    Ok(Figures {
        outcome,
        rss,
        lags_us,
        received: delivered,
        drain_secs,
    })
}

/// Runs the scenario and reports it beside `plain_rps`, the no-webhook create figure of the
/// same run at the same connection count.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn measure(
    onboard: &Onboard,
    creds: &Credentials,
    next_user: &Arc<AtomicU64>,
    n: usize,
    stop: Stop,
    plain_rps: f64,
    results: &mut crate::Results,
    db: &str,
) -> Result<()> {
    let f = scenario(onboard, creds, next_user, n, stop).await?;
    results.notes.push(format!(
        "{db}: \"create, 1 webhook endpoint\" runs right after the create scenario at {n} \
         connections, on the same database, against a fresh `onboard serve` with \
         `webhook_allow_private_targets = true` and one enabled endpoint (all event types) whose \
         receiver, on loopback in a thread of this process, answers 204. Lag: the receiver's \
         arrival time minus the event's `created_at`, for the events created in the measured \
         window. Drained: no `pending` row left in `webhook_deliveries` (polled every 20 ms)."
    ));
    let rps = f.outcome.summary.per_second;
    results.push(crate::report::Row {
        db: db.into(),
        scenario: "create, 1 webhook endpoint".into(),
        connections: n,
        summary: f.outcome.summary,
        rss: Some(f.rss),
        note: format!(
            "receiver on loopback answering 204; {} deliveries received; {}",
            f.received, f.outcome.rss_parts
        ),
    });
    let r = crate::scenarios::ratio(rps, plain_rps);
    results.check(
        format!("{db} creates with 1 webhook endpoint ≥ 0.8 × without, {n} connections"),
        format!("{rps:.0} / {plain_rps:.0} req/s = **{r:.2}**"),
        "≥ 0.80",
        Some(r >= 0.8),
    );
    let (p50, p99) = (
        crate::stats::quantile_ms(&f.lags_us, 0.50),
        crate::stats::quantile_ms(&f.lags_us, 0.99),
    );
    results.check(
        format!("{db} delivery lag under that load (event created → received), {n} connections"),
        format!(
            "p50 {p50:.0} ms, p99 {p99:.0} ms over {} events",
            f.lags_us.len()
        ),
        "",
        None,
    );
    results.check(
        format!("{db} outbox drained after the load stops"),
        f.drain_secs
            .map_or_else(|| "not within 120 s".to_owned(), |s| format!("{s:.2} s")),
        "≤ 5 s",
        Some(f.drain_secs.is_some_and(|s| s <= 5.0)),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_time_is_read_as_epoch_milliseconds() {
        assert_eq!(rfc3339_ms("1970-01-01T00:00:01.250Z"), Some(1250));
        assert_eq!(
            rfc3339_ms("2026-11-30T02:23:33.123Z"),
            Some(1_796_005_413_123)
        );
        let body =
            br#"{"id":"evt-1","type":"user.created","created_at":"1970-01-02T00:00:00.000Z"}"#;
        assert_eq!(created_at_ms(body), Some(86_400_000));
    }
}
