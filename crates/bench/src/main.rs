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
mod scenarios;
mod server;
mod soak;
mod stats;
mod webhooks;
mod workload;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::Parser;

use crate::report::{Check, Row};
use crate::workload::Kind;

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
                let outcome = scenarios::run_backend(
                    args,
                    &plan,
                    &Backend::Postgres { url },
                    &dir,
                    &mut results,
                )
                .await;
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
        scenarios::run_backend(args, &plan, &Backend::Sqlite, &dir, &mut results).await?;
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
