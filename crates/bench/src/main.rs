//! `bench`: the Onboard service under load, judged against the physical limit of its database
//! and a bare actix-web endpoint measured on the same machine in the same run (issue 8).
//!
//! Run through `cargo xtask bench [--quick]`, which builds it and `onboard` in release mode.
#![allow(
    clippy::print_stdout,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]

mod bare;
mod http;
mod limit;
mod pgbench;
mod report;
mod server;
mod soak;
mod stats;
mod webhooks;
mod workload;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::Parser;

use crate::http::{Credentials, Stop};
use crate::limit::Target;
use crate::report::{Check, Row};
use crate::server::{Onboard, Served};
use crate::workload::{Kind, Workload};

/// The service under load, against the database's own limit and a bare endpoint.
#[derive(Debug, Parser)]
#[command(name = "bench")]
#[allow(clippy::struct_excessive_bools)]
struct Args {
    /// A short run for development (< 2 minutes): one connection count, 3 s per scenario.
    #[arg(long)]
    quick: bool,
    /// Also write the report (Markdown) to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// The `onboard` binary to run (build it with --release).
    #[arg(long, default_value = "target/release/onboard")]
    onboard: PathBuf,
    /// A PostgreSQL URL whose server gets a fresh database `onboard_bench_<pid>` (dropped after).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    postgres: String,
    /// Skip PostgreSQL.
    #[arg(long)]
    no_postgres: bool,
    /// Skip SQLite.
    #[arg(long)]
    no_sqlite: bool,
    /// Seconds measured per scenario (default 15; 3 with --quick).
    #[arg(long)]
    secs: Option<f64>,
    /// Run only these parts (for profiling): `limit`, `create`, `webhooks` (with the create
    /// figure it is compared with), `reads`; repeatable.
    #[arg(long, value_parser = ["limit", "create", "webhooks", "reads"])]
    only: Vec<String>,
    /// Run `onboard serve` under this command line (e.g. `valgrind --tool=callgrind`).
    #[arg(long)]
    wrap: Option<String>,
    /// Keep the temporary directory (databases, server logs).
    #[arg(long)]
    keep: bool,
    /// Instead of the benchmark: the soak (`cargo xtask soak --minutes N`), two instances on a
    /// fresh PostgreSQL database for this many minutes.
    #[arg(long)]
    soak_minutes: Option<usize>,
    /// Internal: serve the bare endpoint on this address.
    #[arg(long, hide = true)]
    bare_server: Option<String>,
}

/// What a run measures.
#[derive(Clone, Debug)]
struct Plan {
    warmup: Duration,
    measure: Duration,
    /// Connection counts of the create scenarios (and of the limit).
    create_connections: Vec<usize>,
    /// Connections of the read scenarios and the bare endpoint.
    read_connections: usize,
    reads: Vec<Kind>,
    /// Also the read scenarios on SQLite.
    sqlite_reads: bool,
    /// Users to have before the read scenarios.
    seed_users: usize,
}

impl Plan {
    fn new(args: &Args) -> Self {
        let secs = args.secs.unwrap_or(if args.quick { 3.0 } else { 15.0 });
        let measure = Duration::from_secs_f64(secs.max(0.5));
        if args.quick {
            Self {
                warmup: Duration::from_millis(500),
                measure,
                create_connections: vec![8],
                read_connections: 16,
                reads: vec![Kind::GetById],
                sqlite_reads: false,
                seed_users: 1000,
            }
        } else {
            Self {
                warmup: Duration::from_secs(2),
                measure,
                create_connections: vec![8, 32],
                read_connections: 16,
                reads: vec![Kind::GetById, Kind::GetAll, Kind::Search, Kind::Mixed],
                sqlite_reads: true,
                seed_users: 5000,
            }
        }
    }
}

/// One database the service runs on.
#[derive(Clone, Debug)]
enum Backend {
    Sqlite,
    Postgres { url: String },
}

impl Backend {
    fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres { .. } => "PostgreSQL",
        }
    }
}

/// Everything measured, in order.
#[derive(Default)]
struct Results {
    rows: Vec<Row>,
    checks: Vec<Check>,
    /// Peak RSS of the service per database (the bare endpoint is not the service).
    peak_rss: std::collections::BTreeMap<String, u64>,
    notes: Vec<String>,
}

impl Results {
    fn push(&mut self, row: Row) {
        let m = &row.summary;
        eprintln!(
            "  {:<10} {:<28} c={:<3} {:>7.0} req/s  p50 {:>6.2}  p99 {:>6.2}  max {:>7.2} ms  srv {:>5.0} us/req  busy {:>3.0}%  {}  {}",
            row.db,
            row.scenario,
            row.connections,
            m.per_second,
            m.p50_ms,
            m.p99_ms,
            m.max_ms,
            m.server_cpu_us.unwrap_or(0.0),
            m.machine_busy.unwrap_or(0.0) * 100.0,
            m.status_text(),
            row.rss.map(report::rss_text).unwrap_or_default()
        );
        if let Some(e) = &m.first_error {
            eprintln!("    first error: {e}");
        }
        if let Some(r) = row.rss
            && row.db != "-"
        {
            let peak = self.peak_rss.entry(row.db.clone()).or_default();
            *peak = (*peak).max(r);
        }
        self.rows.push(row);
    }

    fn check(&mut self, name: String, measured: String, goal: &str, met: Option<bool>) {
        self.checks.push(Check {
            name,
            measured,
            goal: goal.to_owned(),
            met,
        });
    }
}

/// Runs a load against a fresh `onboard serve`; returns the outcome and the server's peak RSS.
async fn against_service(
    onboard: &Onboard,
    creds: &Credentials,
    workload: &Arc<Workload>,
    connections: usize,
    stop: Stop,
    tag: &str,
) -> Result<(http::Outcome, u64)> {
    let mut served = onboard.serve(connections, tag).await?;
    let outcome = http::run(
        served.addr,
        creds,
        workload,
        connections,
        stop,
        Some(served.pid()),
    )
    .await;
    let parts = served.rss_parts();
    let rss = served.stop();
    let mut outcome = outcome?;
    outcome.rss_parts = parts;
    Ok((outcome, rss))
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

#[allow(clippy::too_many_lines)]
async fn run_backend(
    args: &Args,
    plan: &Plan,
    backend: &Backend,
    dir: &Path,
    results: &mut Results,
) -> Result<()> {
    let db = backend.name();
    let (database_url, target) = match backend {
        Backend::Sqlite => {
            let file = dir.join("onboard.sqlite");
            (
                format!("sqlite://{}?mode=rwc", file.display()),
                Target::Sqlite(dir.join("limit.sqlite")),
            )
        }
        Backend::Postgres { url } => (url.clone(), Target::Postgres(url.clone())),
    };
    let onboard = Onboard {
        binary: args.onboard.clone(),
        database_url,
        key_file: dir.join(format!("keys-{}.toml", db.to_lowercase())),
        log_dir: dir.to_path_buf(),
        wrapper: args.wrap.clone(),
    };
    eprintln!("{db}: creating a program through `onboard program create`");
    let creds = onboard.create_program("bench")?;
    let next_user = Arc::new(AtomicU64::new(0));
    let next_limit_row = Arc::new(AtomicU64::new(0));
    let mut ids: Vec<String> = Vec::new();
    let stop = Stop::Timed(plan.warmup, plan.measure);

    let part = |name: &str| args.only.is_empty() || args.only.iter().any(|o| o == name);
    for &n in &plan.create_connections {
        // The limit first, then the service, back to back.
        let with_webhooks = part("webhooks") && n == plan.create_connections[0];
        if !part("limit") {
            if part("create") || with_webhooks {
                let (rps, _) =
                    create_scenario(&onboard, &creds, &next_user, n, stop, &mut ids, results, db)
                        .await?;
                if with_webhooks {
                    webhooks::measure(&onboard, &creds, &next_user, n, stop, rps, results, db)
                        .await?;
                }
            }
            continue;
        }
        limit::prepare(&target).await?;
        let lim = limit::measure(&target, n, plan.warmup, plan.measure, &next_limit_row).await?;
        let lim_rps = lim.transactions.per_second;
        let lim_p99 = lim.transactions.p99_ms;
        results.push(Row {
            db: db.into(),
            scenario: "limit: 1 row/txn via sqlx".into(),
            connections: n,
            note: format!("COMMIT alone p99 {:.2} ms", lim.commit_p99_ms),
            summary: lim.transactions,
            rss: None,
        });
        // pgbench: the one-row insert, then a create's whole transaction (`pgbench`).
        let mut pgb = None;
        if let Backend::Postgres { url } = backend
            && pgbench::available()
        {
            let secs = plan.measure.as_secs_f64().round().max(1.0) as u64;
            let insert = pgbench::run(url, dir, &pgbench::one_row_insert(limit::PROGRAM), n, secs)?;
            results.push(pgbench::row(
                db,
                "limit: pgbench 1-row insert",
                n,
                &insert,
                secs,
            ));
            let program = pgbench::program_id(url).await?;
            let create =
                pgbench::run(url, dir, &pgbench::create_transaction(&program, n), n, secs)?;
            results.push(pgbench::row(
                db,
                "limit: pgbench create txn",
                n,
                &create,
                secs,
            ));
            pgb = Some((insert.tps, create.tps));
        }

        if !part("create") {
            continue;
        }
        let (svc_rps, svc_p99) =
            create_scenario(&onboard, &creds, &next_user, n, stop, &mut ids, results, db).await?;
        if with_webhooks {
            webhooks::measure(&onboard, &creds, &next_user, n, stop, svc_rps, results, db).await?;
        }
        let is_target = matches!(backend, Backend::Postgres { .. });
        let r = ratio(svc_rps, lim_rps);
        results.check(
            if is_target {
                format!("{db} creates ≥ 0.9 × limit, {n} connections")
            } else {
                format!("{db} creates / limit, {n} connections")
            },
            format!("{svc_rps:.0} / {lim_rps:.0} req/s = **{r:.2}**"),
            if is_target { "≥ 0.90" } else { "" },
            is_target.then_some(r >= 0.9),
        );
        if let Some((insert, create)) = pgb {
            let r = ratio(svc_rps, insert);
            results.check(
                format!("{db} creates vs pgbench 1-row insert, {n} connections"),
                format!("{svc_rps:.0} / {insert:.0} = {r:.2}"),
                "",
                None,
            );
            let r = ratio(svc_rps, create);
            results.check(
                format!("{db} creates ≥ 0.8 × pgbench create txn, {n} connections"),
                format!("{svc_rps:.0} / {create:.0} req/s = **{r:.2}**"),
                "≥ 0.80",
                Some(r >= 0.8),
            );
        }
        results.check(
            if is_target {
                format!("{db} create p99 ≤ 2 × the database's commit p99, {n} connections")
            } else {
                format!("{db} create p99 / the database's commit p99, {n} connections")
            },
            format!(
                "{svc_p99:.2} ms vs 2 × {lim_p99:.2} ms = {:.2} ms",
                2.0 * lim_p99
            ),
            if is_target { "≤ 2 ×" } else { "" },
            is_target.then_some(svc_p99 <= 2.0 * lim_p99),
        );
    }

    let with_reads = match backend {
        Backend::Sqlite => plan.sqlite_reads,
        Backend::Postgres { .. } => true,
    };
    if !with_reads || plan.reads.is_empty() || !part("reads") {
        return Ok(());
    }
    if ids.len() < plan.seed_users {
        let missing = plan.seed_users - ids.len();
        eprintln!("{db}: seeding {missing} users through the create endpoint");
        let workload = Arc::new(Workload::new(
            Kind::Create,
            Arc::clone(&next_user),
            Arc::new(Vec::new()),
        ));
        let (outcome, _) = against_service(
            &onboard,
            &creds,
            &workload,
            8,
            Stop::Count(missing as u64),
            "seed",
        )
        .await?;
        ids.extend(outcome.created_ids);
    }
    let ids = Arc::new(ids);
    results.notes.push(format!(
        "{db}: the read scenarios ran over {} users of one program (every user created by this run).",
        next_user.load(std::sync::atomic::Ordering::Relaxed)
    ));

    // The bare endpoint and pgbench's get, right before the reads they are compared with.
    let c = plan.read_connections;
    let pgbench_get = match backend {
        Backend::Postgres { url } if pgbench::available() => {
            Some(pgbench_get(url, dir, c, plan, results, db).await?)
        }
        _ => None,
    };
    let bare = bare_endpoint(args, dir, &creds, &ids, c, stop, db).await?;
    let bare_rps = bare.summary.per_second;
    results.push(bare);

    for &kind in &plan.reads {
        let workload = Arc::new(Workload::new(
            kind,
            Arc::clone(&next_user),
            Arc::clone(&ids),
        ));
        let tag: String = kind
            .label()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let (outcome, rss) = against_service(&onboard, &creds, &workload, c, stop, &tag).await?;
        let rps = outcome.summary.per_second;
        let outcome_cpu = outcome.summary.server_cpu_us;
        results.push(Row {
            db: db.into(),
            scenario: kind.label().into(),
            connections: c,
            summary: outcome.summary,
            rss: Some(rss),
            note: match kind {
                Kind::Search => format!(
                    "search \"{}\"; {}",
                    workload::SEARCH_TERM,
                    outcome.rss_parts
                ),
                _ => format!("pool {c}; {}", outcome.rss_parts),
            },
        });
        if kind == Kind::GetById
            && let Some(tps) = pgbench_get
        {
            let r = ratio(rps, tps);
            results.check(
                format!("{db} get by id ≥ 0.5 × pgbench get select, {c} connections"),
                format!("{rps:.0} / {tps:.0} req/s = **{r:.2}**"),
                "≥ 0.50",
                Some(r >= 0.5),
            );
            let cpu = outcome_cpu.unwrap_or(f64::NAN);
            results.check(
                format!("{db} server CPU per get by id"),
                format!("{cpu:.0} µs"),
                "≤ 80 µs",
                Some(cpu <= 80.0),
            );
        }
        let r = ratio(rps, bare_rps);
        let is_target = kind == Kind::GetById;
        results.check(
            if is_target {
                format!(
                    "{db} {} ≥ 0.5 × bare endpoint, {c} connections",
                    kind.label()
                )
            } else {
                format!("{db} {} / bare endpoint, {c} connections", kind.label())
            },
            format!("{rps:.0} / {bare_rps:.0} req/s = **{r:.2}**"),
            if is_target { "≥ 0.50" } else { "" },
            is_target.then_some(r >= 0.5),
        );
    }
    Ok(())
}

/// pgbench's get select at `c` connections over users its create transaction inserts first
/// (for a third of a scenario's time); returns its rate.
async fn pgbench_get(
    url: &str,
    dir: &Path,
    c: usize,
    plan: &Plan,
    results: &mut Results,
    db: &str,
) -> Result<f64> {
    const RUN: usize = 1000;
    let secs = plan.measure.as_secs_f64().round().max(1.0) as u64;
    let program = pgbench::program_id(url).await?;
    pgbench::run(
        url,
        dir,
        &pgbench::create_transaction(&program, RUN),
        c,
        (secs / 3).max(1),
    )?;
    let per_client = pgbench::created_per_client(url, RUN, c).await?;
    anyhow::ensure!(
        per_client > 0,
        "pgbench's create transaction inserted no users"
    );
    let get = pgbench::run(
        url,
        dir,
        &pgbench::get_select(&program, RUN, c, per_client),
        c,
        secs,
    )?;
    results.push(pgbench::row(db, "limit: pgbench get select", c, &get, secs));
    Ok(get.tps)
}

/// The create scenario at `n` connections; returns its throughput and p99.
#[allow(clippy::too_many_arguments)]
async fn create_scenario(
    onboard: &Onboard,
    creds: &Credentials,
    next_user: &Arc<AtomicU64>,
    n: usize,
    stop: Stop,
    ids: &mut Vec<String>,
    results: &mut Results,
    db: &str,
) -> Result<(f64, f64)> {
    let workload = Arc::new(Workload::new(
        Kind::Create,
        Arc::clone(next_user),
        Arc::new(Vec::new()),
    ));
    let (outcome, rss) =
        against_service(onboard, creds, &workload, n, stop, &format!("create-{n}")).await?;
    ids.extend(outcome.created_ids);
    let svc = outcome.summary;
    let figures = (svc.per_second, svc.p99_ms);
    results.push(Row {
        db: db.into(),
        scenario: Kind::Create.label().into(),
        connections: n,
        summary: svc,
        rss: Some(rss),
        note: format!("pool {n}; {}", outcome.rss_parts),
    });
    Ok(figures)
}

/// Loads the bare endpoint (this binary with `--bare-server`, in its own process).
async fn bare_endpoint(
    _args: &Args,
    dir: &Path,
    creds: &Credentials,
    ids: &Arc<Vec<String>>,
    connections: usize,
    stop: Stop,
    db: &str,
) -> Result<Row> {
    let addr = server::free_addr()?;
    let me = std::env::current_exe().context("finding the bench binary")?;
    let mut command = std::process::Command::new(me);
    command.args(["--bare-server", &addr.to_string()]);
    let log = dir.join(format!("bare-{}.log", db.to_lowercase()));
    let mut served = Served::start(command, addr, "/healthz", &log).await?;
    let workload = Arc::new(Workload::new(
        Kind::Bare,
        Arc::new(AtomicU64::new(0)),
        Arc::clone(ids),
    ));
    let outcome = http::run(
        addr,
        creds,
        &workload,
        connections,
        stop,
        Some(served.pid()),
    )
    .await;
    let rss = served.stop();
    Ok(Row {
        db: "-".into(),
        scenario: Kind::Bare.label().into(),
        connections,
        summary: outcome?.summary,
        rss: Some(rss),
        note: format!("before the {db} reads; signed requests, not verified"),
    })
}

/// The report in Markdown.
fn render(
    args: &Args,
    plan: &Plan,
    started: Instant,
    machine: &[(String, String)],
    settings: &[String],
    results: &Results,
) -> String {
    use std::fmt::Write as _;
    let mut md = String::new();
    let _ = write!(
        md,
        "# Onboard service benchmark{}\n\n",
        if args.quick { " (quick)" } else { "" }
    );
    let _ = write!(
        md,
        "Command: `cargo xtask bench{}` — wall time {:.0} s.\n\n",
        if args.quick { " --quick" } else { "" },
        started.elapsed().as_secs_f64()
    );
    md.push_str("## Machine\n\n");
    for (k, v) in machine {
        let _ = writeln!(md, "- {k}: {v}");
    }
    let _ = writeln!(md, "- load average at end: {}", report::loadavg());
    md.push_str("\n## Method\n\n");
    let _ = writeln!(
        md,
        "- Each scenario: {:.1} s warm-up (not counted), then {:.1} s measured; N keep-alive HTTP/1.1 \
         connections with one request in flight each, from one thread of this process (the \
         generator shares the machine with the server and the database).",
        plan.warmup.as_secs_f64(),
        plan.measure.as_secs_f64()
    );
    md.push_str(
        "- Every request is signed by `client::signing::SignedRequest` with `client::CLIENT_SIGNED` \
         (API key and a unique `x-request-id` signed), so each one passes the replay guard.\n\
         - `onboard serve` (release build) is started afresh per scenario with a pool of N \
         connections, rate limits out of the way, logs at `info` to a file; its peak RSS is the \
         larger of VmHWM and 20 ms VmRSS samples from /proc.\n\
         - Creates send unique users shaped like `examples/create-user.json` (with SSN, date of \
         birth, one meta_data entry), without Idempotency-Key.\n\
         - The limit: N sqlx connections (the driver SeaORM uses), each committing one \
         users-shaped row (uuid, text columns, a timestamp; a unique and a secondary index) per \
         BEGIN/INSERT/COMMIT with the service's durability settings; its transaction p99 is \
         the database's commit p99 of the targets. pgbench runs the same insert as \
         an autocommit statement.\n\
         - The bare endpoint: actix-web in its own process answering a small JSON document \
         with no authentication and no database, loaded by the same generator with signed requests.\n",
    );
    for s in settings {
        let _ = writeln!(md, "- {s}");
    }
    for n in &results.notes {
        let _ = writeln!(md, "- {n}");
    }
    md.push_str("\n## Figures\n\n");
    md.push_str(&report::table(&results.rows));
    md.push_str("\n## Ratios and targets\n\n");
    md.push_str(&report::checks(&results.checks));

    md
}

fn postgres_database_url(admin: &str, name: &str) -> String {
    let (base, query) = admin
        .split_once('?')
        .map_or((admin, None), |(b, q)| (b, Some(q)));
    let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// The soak on a fresh PostgreSQL database (created and dropped).
async fn soak(args: &Args, minutes: usize) -> Result<String> {
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("onboard-bench-{pid}"));
    std::fs::create_dir_all(&dir)?;
    let name = format!("onboard_soak_{pid}");
    let url = postgres_database_url(&args.postgres, &name);
    limit::admin_database(&args.postgres, &name, true).await?;
    let outcome = soak::run(&args.onboard, &url, &dir, minutes.max(1)).await;
    if let Err(e) = limit::admin_database(&args.postgres, &name, false).await {
        eprintln!("could not drop {name}: {e:#}");
    }
    if !args.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let machine: Vec<String> = report::machine()
        .into_iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect();
    Ok(format!("{}\nMachine: {}.\n", outcome?, machine.join(", ")))
}

async fn run(args: &Args) -> Result<String> {
    if let Some(minutes) = args.soak_minutes {
        return soak(args, minutes).await;
    }
    let started = Instant::now();
    let plan = Plan::new(args);
    if !args.onboard.exists() {
        anyhow::bail!(
            "{} does not exist: build it with `cargo build --release -p api --bin onboard`",
            args.onboard.display()
        );
    }
    let pid = std::process::id();
    let dir = std::env::temp_dir().join(format!("onboard-bench-{pid}"));
    std::fs::create_dir_all(&dir)?;
    let machine = report::machine();
    let mut results = Results::default();
    let mut settings = Vec::new();

    if !args.no_postgres {
        let name = format!("onboard_bench_{pid}");
        let url = postgres_database_url(&args.postgres, &name);
        match limit::admin_database(&args.postgres, &name, true).await {
            Ok(()) => {
                settings.push(format!(
                    "PostgreSQL: {} (database `{name}`, created and dropped by the run)",
                    limit::postgres_settings(&url).await.unwrap_or_default()
                ));
                let outcome =
                    run_backend(args, &plan, &Backend::Postgres { url }, &dir, &mut results).await;
                if let Err(e) = limit::admin_database(&args.postgres, &name, false).await {
                    eprintln!("could not drop {name}: {e:#}");
                }
                outcome?;
            }
            Err(e) => {
                eprintln!("PostgreSQL skipped: {e:#}");
                results.notes.push(format!("PostgreSQL was skipped: {e:#}"));
            }
        }
    }
    if !args.no_sqlite {
        run_backend(args, &plan, &Backend::Sqlite, &dir, &mut results).await?;
        let version = limit::sqlite_version(&dir.join("limit.sqlite"))
            .await
            .unwrap_or_default();
        settings.push(format!(
            "SQLite {version}: a file in {}, WAL, synchronous=FULL (the service's default), busy timeout 5 s",
            std::env::temp_dir().display()
        ));
    }
    let peaks: Vec<(String, u64)> = results
        .peak_rss
        .iter()
        .map(|(db, peak)| (db.clone(), *peak))
        .collect();
    for (db, peak) in peaks {
        results.check(
            format!("{db}: server RSS < 64 MiB throughout (peak over its scenarios)"),
            report::rss_text(peak),
            "< 64 MiB",
            Some(peak < 64 * 1024 * 1024),
        );
    }

    let md = render(args, &plan, started, &machine, &settings, &results);
    if args.keep {
        eprintln!("kept {}", dir.display());
    } else {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(md)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(bind) = &args.bare_server {
        bare::serve(bind)?;
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let md = runtime.block_on(run(&args));
    if md.is_err() && !args.keep {
        let _ = std::fs::remove_dir_all(
            std::env::temp_dir().join(format!("onboard-bench-{}", std::process::id())),
        );
    }
    let md = md?;
    println!("{md}");
    if let Some(out) = &args.out {
        let existing = std::fs::read_to_string(out).unwrap_or_default();
        let report = format!("{md}{}", report::recorded_separately(&existing));
        std::fs::write(out, report).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bench_database_is_on_the_admin_server() {
        assert_eq!(
            postgres_database_url("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            postgres_database_url("postgres://u@h/postgres?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
