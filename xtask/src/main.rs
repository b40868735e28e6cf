//! Project automation: `cargo xtask ci | check-layers | openapi | bench`.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

mod layers;
mod modules;

const USAGE: &str = "usage: cargo xtask <ci | check-layers | openapi | bench [--quick | parse | screening [COUNT] [sqlite|postgres] | users [COUNT] [postgres|sqlite|mysql…]] | soak [--minutes N]>";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = workspace_root();
    std::env::set_current_dir(&root).context("entering the workspace root")?;
    match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("check-layers") => layers::check(),
        Some("openapi") => openapi(),
        Some("bench") => bench(&args[1..]),
        Some("soak") => soak(&args[1..]),
        _ => bail!(USAGE),
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs `cargo <args>` and fails if it fails.
pub(crate) fn cargo(args: &[&str]) -> Result<()> {
    eprintln!("$ cargo {}", args.join(" "));
    let status = Command::new(env!("CARGO"))
        .args(args)
        .status()
        .with_context(|| format!("running cargo {}", args.join(" ")))?;
    if !status.success() {
        bail!("cargo {} failed with {status}", args.join(" "));
    }
    Ok(())
}

/// Writes the OpenAPI document generated from the code to `docs/openapi.json` (the test
/// `api/tests/openapi.rs` fails while the committed file differs from it).
fn openapi() -> Result<()> {
    eprintln!("$ cargo run -q -p api --example openapi > {OPENAPI_FILE}");
    let out = Command::new(env!("CARGO"))
        .args(["run", "-q", "-p", "api", "--example", "openapi"])
        .output()
        .context("running the openapi example")?;
    if !out.status.success() {
        bail!(
            "the openapi example failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(OPENAPI_FILE, &out.stdout).context("writing docs/openapi.json")?;
    eprintln!("wrote {OPENAPI_FILE} ({} bytes)", out.stdout.len());
    Ok(())
}

const OPENAPI_FILE: &str = "docs/openapi.json";

/// Everything CI checks, in order from cheapest to dearest.
fn ci() -> Result<()> {
    cargo(&["fmt", "--all", "--", "--check"])?;
    layers::check()?;
    cargo(&[
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ])?;
    cargo(&["test", "--workspace"])?;
    eprintln!("xtask ci: all green");
    Ok(())
}

/// `cargo xtask soak [--minutes N]` (default 30): two `onboard serve` instances on a fresh
/// PostgreSQL database under a steady mix at half the rate it reached at full speed; prints a
/// line per minute and the judgement (issue 16). A benchmark, not a test.
fn soak(args: &[String]) -> Result<()> {
    let minutes = match args {
        [] => "30".to_owned(),
        [flag, n] if flag == "--minutes" && n.parse::<u32>().is_ok() => n.clone(),
        _ => bail!("usage: cargo xtask soak [--minutes N]"),
    };
    service_bench(true, &["--soak-minutes".to_owned(), minutes])
}

fn bench(args: &[String]) -> Result<()> {
    match args.first().map(String::as_str) {
        None => service_bench(false, &[]),
        Some("--quick") => service_bench(true, &args[1..]),
        Some(flag) if flag.starts_with("--") => service_bench(false, args),
        Some("parse") => cargo(&[
            "run",
            "--release",
            "--quiet",
            "-p",
            "onboard-domain",
            "--example",
            "parse_bench",
        ]),
        Some("screening") => {
            cargo(&[
                "run",
                "--release",
                "--quiet",
                "-p",
                "onboard-domain",
                "--example",
                "screening_bench",
            ])?;
            // The rescreen rate: COUNT (default 100,000) and the database (`sqlite`, default,
            // or `postgres`), in any order.
            let mut command = vec![
                "run",
                "--release",
                "--quiet",
                "-p",
                "api",
                "--example",
                "rescreen_bench",
                "--",
            ];
            command.extend(args[1..].iter().map(String::as_str));
            cargo(&command)
        }
        Some("users") => {
            // COUNT (default 1,000,000) and the databases (`postgres`, `sqlite`, `mysql`;
            // default PostgreSQL and SQLite), in any order; `console` for the console's pages
            // only; `cache=MIB[,MIB…]` to measure each SQLite page cache size in turn.
            let mut command = vec![
                "run",
                "--release",
                "--quiet",
                "-p",
                "storage",
                "--example",
                "users_at_scale",
                "--",
            ];
            command.extend(args[1..].iter().map(String::as_str));
            cargo(&command)
        }
        Some(other) => bail!("unknown benchmark {other}; {USAGE}"),
    }
}

/// Where the full run's report goes (the README links to it).
const BENCH_FILE: &str = "docs/bench.md";

/// Issue 8: the service under load against its database's limit and a bare endpoint
/// (`crates/bench`). Builds `onboard` and `bench` in release mode, then runs `bench`; the full
/// run writes its report to `docs/bench.md`. Other flags go to `bench` (see `bench --help`).
fn service_bench(quick: bool, extra: &[String]) -> Result<()> {
    // Two builds, so that `onboard` is the same binary as `cargo build --release -p api`
    // gives (one build of both would unify their dependencies' features into a third set).
    cargo(&[
        "build",
        "--release",
        "--quiet",
        "-p",
        "api",
        "--bin",
        "onboard",
    ])?;
    cargo(&["build", "--release", "--quiet", "-p", "bench"])?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("release");
    let mut command = Command::new(target.join("bench"));
    command.arg("--onboard").arg(target.join("onboard"));
    if quick {
        command.arg("--quick");
    } else if !extra.iter().any(|a| a == "--only") {
        // A partial run (`--only …`) never replaces the full report.
        command.args(["--out", BENCH_FILE]);
    }
    command.args(extra);
    eprintln!("$ {command:?}");
    let status = command.status().context("running the bench binary")?;
    if !status.success() {
        bail!("bench failed with {status}");
    }
    Ok(())
}
