//! The report: the machine it ran on, the figures table, and the targets met or not.

use std::fmt::Write as _;
use std::process::Command;

use crate::stats::Summary;

/// One line of the figures table.
pub(crate) struct Row {
    pub(crate) db: String,
    pub(crate) scenario: String,
    pub(crate) connections: usize,
    pub(crate) summary: Summary,
    /// Peak RSS of the process under test, bytes.
    pub(crate) rss: Option<u64>,
    pub(crate) note: String,
}

/// One target of issue 8, or an informational ratio (`goal` empty).
pub(crate) struct Check {
    pub(crate) name: String,
    pub(crate) measured: String,
    pub(crate) goal: String,
    pub(crate) met: Option<bool>,
}

fn first_line_with(path: &str, prefix: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The load average, as `/proc/loadavg` has it (1, 5, 15 minutes).
pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|t| t.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// What the run ran on.
pub(crate) fn machine() -> Vec<(String, String)> {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let memory = first_line_with("/proc/meminfo", "MemTotal")
        .and_then(|kb| kb.trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or_else(String::new, |kb| {
            format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0)
        });
    let commit = command_output("git", &["rev-parse", "--short=12", "HEAD"]).unwrap_or_default();
    let dirty = command_output("git", &["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|s| !s.is_empty());
    vec![
        (
            "date".into(),
            httpdate::fmt_http_date(std::time::SystemTime::now()),
        ),
        (
            "git commit".into(),
            if dirty {
                format!("{commit} (with uncommitted changes)")
            } else {
                commit
            },
        ),
        ("nproc".into(), cores.to_string()),
        (
            "CPU".into(),
            first_line_with("/proc/cpuinfo", "model name").unwrap_or_default(),
        ),
        ("memory".into(), memory),
        (
            "kernel".into(),
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_owned(),
        ),
        ("load average at start".into(), loadavg()),
    ]
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
}

/// The figures table in Markdown.
pub(crate) fn table(rows: &[Row]) -> String {
    let mut s = String::new();
    s.push_str("| db | scenario | conns | req/s | p50 ms | p95 ms | p99 ms | max ms | answers | peak RSS | server CPU µs/req | machine busy | note |\n");
    s.push_str("|---|---|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|---|\n");
    for r in rows {
        let m = &r.summary;
        let _ = writeln!(
            s,
            "| {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} |",
            r.db,
            r.scenario,
            r.connections,
            m.per_second,
            m.p50_ms,
            m.p95_ms,
            m.p99_ms,
            m.max_ms,
            m.status_text(),
            r.rss.map_or_else(|| "-".to_owned(), mib),
            m.server_cpu_us
                .map_or_else(|| "-".to_owned(), |u| format!("{u:.0}")),
            m.machine_busy
                .map_or_else(|| "-".to_owned(), |b| format!("{:.0} %", b * 100.0)),
            r.note
        );
    }
    s
}

/// The targets table in Markdown.
pub(crate) fn checks(checks: &[Check]) -> String {
    let mut s = String::new();
    s.push_str("| target | measured | goal | result |\n|---|---|---|---|\n");
    for c in checks {
        let result = match c.met {
            Some(true) => "**MET**",
            Some(false) => "**NOT MET**",
            None => "(info)",
        };
        let _ = writeln!(s, "| {} | {} | {} | {result} |", c.name, c.measured, c.goal);
    }
    s
}

/// `MiB` text for the report.
pub(crate) fn rss_text(bytes: u64) -> String {
    mib(bytes)
}

/// The line after which `docs/bench.md` holds what other commands recorded (the soak, a
/// profile): a new report replaces what is above it and keeps the rest.
pub(crate) const RECORDED_SEPARATELY: &str =
    "<!-- Recorded separately: kept when `cargo xtask bench` rewrites the report above. -->";

/// The part of an existing report from [`RECORDED_SEPARATELY`] on (with a blank line before
/// it), or nothing.
pub(crate) fn recorded_separately(existing: &str) -> String {
    existing
        .find(RECORDED_SEPARATELY)
        .map(|at| format!("\n{}", &existing[at..]))
        .unwrap_or_default()
}

#[cfg(test)]
mod kept {
    use super::*;

    #[test]
    fn a_new_report_keeps_what_was_recorded_separately() {
        let existing = format!("# old report\n\n{RECORDED_SEPARATELY}\n\n## Soak\n\nfigures\n");
        assert_eq!(
            recorded_separately(&existing),
            format!("\n{RECORDED_SEPARATELY}\n\n## Soak\n\nfigures\n")
        );
        assert_eq!(recorded_separately("# a report with nothing kept\n"), "");
    }
}
