//! The scenarios of one backend: creates, gets and lists against `onboard serve`, the bare
//! actix endpoint and the database's own rates (pgbench), each a line of the report.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::{Context as _, Result};

use crate::http::{self, Credentials, Stop};
use crate::limit::Target;
use crate::report::Row;
use crate::server::{Onboard, Served};
use crate::workload::{Kind, Workload};
use crate::{Args, Backend, Plan, Results, limit, pgbench, server, webhooks, workload};

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

pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

#[allow(clippy::too_many_lines)]
pub(crate) async fn run_backend(
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
    if matches!(backend, Backend::Postgres { .. }) {
        // pgbench's own users go to a program of their own, out of the measured program's
        // listings (its get select reads them back).
        onboard.create_program(pgbench::PROGRAM_NAME)?;
    }
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
            let program = pgbench::program_id(url, pgbench::PROGRAM_NAME).await?;
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
    if let Backend::Postgres { url } = backend {
        // Production runs autovacuum; on a server without it the reads would be planned on
        // statistics of empty tables (docs/bench.md, "The read scenarios on PostgreSQL").
        let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(url)
            .await
            .context("connecting to the benchmark's database")?;
        if crate::soak::autovacuum_off(&mut conn).await {
            let took = crate::soak::vacuum(&mut conn).await?;
            results.notes.push(format!(
                "{db}: the server runs with autovacuum off; the bench ran `VACUUM (ANALYZE)` once the users were written ({:.0} ms), as autovacuum would have.",
                took.as_secs_f64() * 1000.0
            ));
        }
    }

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
    let program = pgbench::program_id(url, pgbench::PROGRAM_NAME).await?;
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
