//! `cargo xtask soak --minutes N`: two `onboard serve` instances on one fresh PostgreSQL
//! database under a steady mix (creates, reads, lifecycle changes) at a fixed fraction of the
//! rate the same mix reached at full speed in the same run; a line per minute with throughput,
//! latency, each instance's RSS, the rows of the replay and idempotency tables and what the
//! sweeper deleted; then the judgement (issue 16): p99 of the last minute ≤ 1.5× the first,
//! RSS growth ≤ 10 %, the guard tables below the bound the rate implies.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use sqlx::postgres::PgConnection;
use sqlx::{Connection as _, Row as _};

use crate::http::{Conn, Credentials};
use crate::server::{Onboard, Served};
use crate::stats::quantile_ms;
use crate::workload::{CREATE_PATH, Rng, create_body};

/// Connections per instance.
const CONNECTIONS: usize = 8;
/// How long the mix runs at full speed to find the maximum.
const PROBE: Duration = Duration::from_secs(20);
/// The fraction of the maximum the soak runs at.
const FRACTION: f64 = 0.5;
/// How long a seen signature is kept (the 300 s validity window of SPEC §2.1 and a 60 s margin,
/// `api::auth`), plus the sweeper's period and lease: the most a row can live.
const SIGNATURE_LIFETIME_SECS: f64 = 300.0 + 60.0 + 5.0 + 30.0;

/// What one minute saw, summed over the connections.
#[derive(Default)]
struct Minute {
    latencies_us: Vec<u32>,
    errors: u64,
}

/// The mix: 40 % create, 35 % get by id, 10 % get-all page 1, 15 % lifecycle (update,
/// block, unblock of a user the connection created).
async fn one_request(
    conn: &mut Conn,
    creds: &Credentials,
    rng: &mut Rng,
    next_user: &AtomicU64,
    mine: &mut Vec<(String, bool)>,
    body: &mut Vec<u8>,
) -> Result<bool> {
    body.clear();
    let roll = rng.below(100);
    let request_id = uuid::Uuid::now_v7().to_string();
    let (path, created) = if roll < 40 || mine.is_empty() {
        create_body(next_user.fetch_add(1, Ordering::Relaxed), body);
        (CREATE_PATH, true)
    } else if roll < 75 {
        let (id, _) = &mine[rng.below(mine.len())];
        body.extend_from_slice(format!(r#"{{"user_id":"{id}"}}"#).as_bytes());
        ("/api/v3/user/get", false)
    } else if roll < 85 {
        body.extend_from_slice(br#"{"page":1,"per_page":10}"#);
        ("/api/v3/user/get-all", false)
    } else {
        let k = rng.below(mine.len());
        let (id, blocked) = mine[k].clone();
        if roll < 92 {
            body.extend_from_slice(
                format!(
                    r#"{{"user_id":"{id}","city":"Soak City {}"}}"#,
                    rng.below(1000)
                )
                .as_bytes(),
            );
            ("/api/v3/user/update", false)
        } else {
            mine[k].1 = !blocked;
            body.extend_from_slice(format!(r#"{{"user_id":"{id}"}}"#).as_bytes());
            if blocked {
                ("/api/v3/user/unblock", false)
            } else {
                ("/api/v3/user/block", false)
            }
        }
    };
    let reply = conn.post_signed(creds, path, body, &request_id).await?;
    if reply.status != 200 {
        return Ok(false);
    }
    if created && let Some(id) = crate::http::created_id(conn.body(&reply)) {
        mine.push((id, false));
    }
    Ok(true)
}

/// Runs the mix on `connections` connections spread over `addrs` until `until`, each
/// connection pacing itself to `per_connection_rate` requests a second (unpaced if `None`).
/// Latencies go into the minute the request started in.
async fn drive(
    addrs: &[SocketAddr],
    creds: &Credentials,
    per_connection_rate: Option<f64>,
    started: Instant,
    until: Instant,
    minutes: usize,
    next_user: &Arc<AtomicU64>,
) -> Result<Vec<Minute>> {
    let mut tasks = Vec::new();
    for c in 0..addrs.len() * CONNECTIONS {
        let addr = addrs[c % addrs.len()];
        let (creds, next_user) = (creds.clone(), next_user.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await?;
            let mut rng = Rng::new(c as u64 + 1);
            let mut mine = Vec::new();
            let mut body = Vec::with_capacity(1024);
            let mut per_minute: Vec<Minute> =
                (0..minutes.max(1)).map(|_| Minute::default()).collect();
            let gap = per_connection_rate.map(|r| Duration::from_secs_f64(1.0 / r));
            let mut due = Instant::now();
            while Instant::now() < until {
                if let Some(gap) = gap {
                    tokio::time::sleep_until(due.into()).await;
                    due += gap;
                }
                let at = Instant::now();
                let ok = one_request(
                    &mut conn, &creds, &mut rng, &next_user, &mut mine, &mut body,
                )
                .await
                .unwrap_or(false);
                let minute = ((at - started).as_secs() / 60) as usize;
                let slot = &mut per_minute[minute.min(minutes.max(1) - 1)];
                slot.latencies_us
                    .push(u32::try_from(at.elapsed().as_micros()).unwrap_or(u32::MAX));
                if !ok {
                    slot.errors += 1;
                }
            }
            anyhow::Ok(per_minute)
        }));
    }
    let mut total: Vec<Minute> = (0..minutes.max(1)).map(|_| Minute::default()).collect();
    for t in tasks {
        for (sum, m) in total.iter_mut().zip(t.await??) {
            sum.latencies_us.extend(m.latencies_us);
            sum.errors += m.errors;
        }
    }
    Ok(total)
}

/// VmRSS of a process, in bytes.
fn rss(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<u64>()
                .ok()
        })
        .unwrap_or(0)
        * 1024
}

/// The sum of `onboard_swept_rows_total` in an instance's `/metrics`.
async fn swept(addr: SocketAddr) -> u64 {
    let Ok(mut conn) = Conn::open(addr).await else {
        return 0;
    };
    let Ok(reply) = conn.get("/metrics").await else {
        return 0;
    };
    String::from_utf8_lossy(conn.body(&reply))
        .lines()
        .filter(|l| l.starts_with("onboard_swept_rows_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

async fn table_rows(db: &mut PgConnection, table: &str) -> i64 {
    sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
        .fetch_one(db)
        .await
        .ok()
        .and_then(|r| r.try_get::<i64, _>(0).ok())
        .unwrap_or(-1)
}

/// Whether the server runs without autovacuum (this machine's PostgreSQL does): nothing then
/// refreshes the planner's statistics or removes dead rows, and a statement whose plan was
/// cached while its tables were empty (a seq scan of `user_meta_data`, the program index for a
/// user by id) keeps that plan as they grow — measured: throughput fell by a third in three
/// minutes. The soak then stands in for it (see [`vacuum`]), since production runs with it, and
/// so do the read scenarios (`scenarios.rs`), once their users are written.
pub(crate) async fn autovacuum_off(db: &mut PgConnection) -> bool {
    sqlx::query("SHOW autovacuum")
        .fetch_one(db)
        .await
        .ok()
        .and_then(|r| r.try_get::<String, _>(0).ok())
        .is_some_and(|v| v == "off")
}

/// `VACUUM (ANALYZE)` of the whole database, what autovacuum would do in the background;
/// answers how long it took.
pub(crate) async fn vacuum(db: &mut PgConnection) -> Result<Duration> {
    let at = Instant::now();
    sqlx::query("VACUUM (ANALYZE)")
        .execute(db)
        .await
        .context("VACUUM (ANALYZE) of the benchmark's database")?;
    Ok(at.elapsed())
}

/// Runs the soak on the database `url` (fresh), for `minutes`; returns the report (Markdown).
pub(crate) async fn run(
    onboard_bin: &Path,
    url: &str,
    dir: &Path,
    minutes: usize,
) -> Result<String> {
    let onboard = Onboard {
        binary: onboard_bin.to_owned(),
        database_url: url.to_owned(),
        key_file: dir.join("keys-soak.toml"),
        log_dir: dir.to_path_buf(),
        wrapper: None,
    };
    let creds = onboard.create_program("soak")?;
    let mut a: Served = onboard.serve(CONNECTIONS * 2, "soak-a").await?;
    let mut b: Served = onboard.serve(CONNECTIONS * 2, "soak-b").await?;
    let addrs = [a.addr, b.addr];
    let next_user = Arc::new(AtomicU64::new(1));

    let t0 = Instant::now();
    let probe = drive(&addrs, &creds, None, t0, t0 + PROBE, 1, &next_user).await?;
    let max_rate = probe[0].latencies_us.len() as f64 / PROBE.as_secs_f64();
    let target = max_rate * FRACTION;
    let per_connection = target / (addrs.len() * CONNECTIONS) as f64;
    eprintln!(
        "soak: the mix reached {max_rate:.0} req/s at full speed; soaking at {target:.0} req/s ({:.0} %) for {minutes} min",
        FRACTION * 100.0
    );

    let mut db = PgConnection::connect(url)
        .await
        .context("connecting to the soak database")?;
    let stand_in = autovacuum_off(&mut db).await;
    if stand_in {
        let took = vacuum(&mut db).await?;
        eprintln!(
            "soak: the server runs with autovacuum off: the soak runs VACUUM (ANALYZE) after the probe and every minute instead ({:.0} ms now)",
            took.as_secs_f64() * 1000.0
        );
    }
    let started = Instant::now();
    let until = started + Duration::from_secs(60 * minutes as u64);
    let load = {
        let creds = creds.clone();
        let next_user = next_user.clone();
        tokio::spawn(async move {
            drive(
                &addrs,
                &creds,
                Some(per_connection),
                started,
                until,
                minutes,
                &next_user,
            )
            .await
        })
    };
    let (pid_a, pid_b) = (a.pid(), b.pid());
    let mut samples = Vec::new();
    let mut swept_before = swept(a.addr).await + swept(b.addr).await;
    for minute in 1..=minutes {
        tokio::time::sleep_until((started + Duration::from_secs(60 * minute as u64)).into()).await;
        let swept_now = swept(a.addr).await + swept(b.addr).await;
        let sample = (
            rss(pid_a),
            rss(pid_b),
            table_rows(&mut db, "seen_signatures").await,
            table_rows(&mut db, "idempotency_records").await,
            swept_now.saturating_sub(swept_before),
            load_average(),
        );
        swept_before = swept_now;
        let vacuumed = if stand_in {
            format!(
                ", vacuum {:.0} ms",
                vacuum(&mut db).await?.as_secs_f64() * 1000.0
            )
        } else {
            String::new()
        };
        eprintln!(
            "soak: minute {minute:>3}: rss {:.1} / {:.1} MiB, seen_signatures {}, idempotency_records {}, swept {}, load {:.1}{vacuumed}",
            sample.0 as f64 / 1_048_576.0,
            sample.1 as f64 / 1_048_576.0,
            sample.2,
            sample.3,
            sample.4,
            sample.5
        );
        samples.push(sample);
    }
    let per_minute = load.await??;
    a.stop();
    b.stop();

    report(
        max_rate,
        target,
        stand_in,
        minutes,
        addrs.len() * CONNECTIONS,
        &per_minute,
        &samples,
    )
}

/// A minute's readings besides the latencies: RSS of each instance, rows of the two guard
/// tables, rows the sweeper deleted, the machine's load average over the last minute.
type Sample = (u64, u64, i64, i64, u64, f64);

/// The machine's 1-minute load average (what else ran beside the soak), 0 if unknown.
fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0)
}

/// The Markdown report and its judgement.
fn report(
    max_rate: f64,
    target: f64,
    stand_in: bool,
    minutes: usize,
    connections: usize,
    per_minute: &[Minute],
    samples: &[Sample],
) -> Result<String> {
    let mut md = String::from("## Soak: two instances on one PostgreSQL database\n\n");
    let _ = write!(
        md,
        "`cargo xtask soak --minutes {minutes}`: the mix (40 % create, 35 % get by id, 10 % get-all, 15 % update/block/unblock) at full speed on {} connections reached **{max_rate:.0} req/s**; the soak ran it at {:.0} % of that ({target:.0} req/s) for {minutes} minutes.\n\n",
        connections,
        FRACTION * 100.0
    );
    if stand_in {
        md.push_str("The server runs with `autovacuum = off`, so the soak ran `VACUUM (ANALYZE)` after the probe and at the end of every minute in its place (production runs autovacuum; without either, statement plans cached while the tables were empty are never replaced).\n\n");
    }
    md.push_str("| minute | req/s | errors | p50 ms | p99 ms | RSS a MiB | RSS b MiB | seen_signatures | idempotency_records | swept | load 1 min |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    let mut p99s = Vec::new();
    for (i, (m, s)) in per_minute.iter().zip(samples).enumerate() {
        let mut sorted = m.latencies_us.clone();
        sorted.sort_unstable();
        let (p50, p99) = (quantile_ms(&sorted, 0.5), quantile_ms(&sorted, 0.99));
        p99s.push(p99);
        let _ = writeln!(
            md,
            "| {} | {:.0} | {} | {p50:.2} | {p99:.2} | {:.1} | {:.1} | {} | {} | {} | {:.1} |",
            i + 1,
            sorted.len() as f64 / 60.0,
            m.errors,
            s.0 as f64 / 1_048_576.0,
            s.1 as f64 / 1_048_576.0,
            s.2,
            s.3,
            s.4,
            s.5
        );
    }
    let (Some(first), Some(last)) = (samples.first(), samples.last()) else {
        bail!("no minute was measured");
    };
    let p99_ratio =
        p99s.last().copied().unwrap_or(0.0) / p99s.first().copied().unwrap_or(1.0).max(0.001);
    let growth = |f: u64, l: u64| l as f64 / (f.max(1)) as f64 - 1.0;
    let rss_growth = growth(first.0, last.0).max(growth(first.1, last.1));
    // Every state-changing request records its signature (reads write nothing): at most
    // the change rate times how long a record lives.
    let change_rate = target * 0.55;
    let signature_bound = change_rate * SIGNATURE_LIFETIME_SECS;
    let verdict = |ok: bool| if ok { "met" } else { "**not met**" };
    // The judgement compares minutes at the same load: when a minute fell short of the target
    // rate (the machine or this generator could not keep up), latencies of that minute were
    // measured under a backlog, and the run says so instead of blaming the service.
    let slowest = per_minute
        .iter()
        .map(|m| m.latencies_us.len() as f64 / 60.0)
        .fold(f64::INFINITY, f64::min);
    let _ = write!(
        md,
        "\n| check | measured | goal | |\n|---|---|---|---|\n| the rate held (the run is valid) | slowest minute {slowest:.0} req/s | ≥ 0.9 × {target:.0} req/s | {} |\n| p99, last minute / first | {p99_ratio:.2}× | ≤ 1.5× | {} |\n| RSS growth, first minute → last (worse instance) | {:+.1} % | ≤ 10 % | {} |\n| seen_signatures at the end | {} | ≤ {signature_bound:.0} (change rate × {SIGNATURE_LIFETIME_SECS:.0} s) | {} |\n",
        verdict(slowest >= 0.9 * target),
        verdict(p99_ratio <= 1.5),
        rss_growth * 100.0,
        verdict(rss_growth <= 0.10),
        last.2,
        verdict((last.2 as f64) <= signature_bound),
    );
    Ok(md)
}
