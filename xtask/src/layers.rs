//! The layering invariants of ARCHITECTURE.md, checked against `cargo tree` and the sources.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// Crates that do IO or belong to a transport/database layer; none may reach `domain`.
const IO_CRATES: &[&str] = &[
    "tokio",
    "mio",
    "socket2",
    "async-std",
    "smol",
    "sea-orm",
    "sea-query",
    "sqlx",
    "sqlx-core",
    "libsqlite3-sys",
    "rusqlite",
    "postgres",
    "tokio-postgres",
    "mysql",
    "mysql_async",
    "diesel",
    "actix",
    "actix-web",
    "actix-rt",
    "actix-server",
    "hyper",
    "reqwest",
    "ureq",
    "h2",
    "rustls",
    "native-tls",
    "openssl",
    "getrandom",
    "rand",
];

/// Crates that are HTTP; only `api` (and the black-box tests) may use them.
const HTTP_CRATES: &[&str] = &["actix-web", "actix-http", "hyper", "reqwest", "utoipa"];

/// The package name of the `crates/domain` folder (`domain` on crates.io is an unrelated
/// DNS library); the other crates still call it `domain` through the workspace dependency.
const DOMAIN_PACKAGE: &str = "onboard-domain";

/// The dependency names (all depths) of `package`'s normal and build dependencies.
fn dependency_names(package: &str) -> Result<BTreeSet<String>> {
    dependency_names_with(package, &[])
}

/// [`dependency_names`] with extra `cargo tree` arguments (e.g. `--all-features`).
fn dependency_names_with(package: &str, extra: &[&str]) -> Result<BTreeSet<String>> {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--package",
            package,
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--quiet",
        ])
        .args(extra)
        .output()
        .context("running cargo tree")?;
    if !out.status.success() {
        bail!(
            "cargo tree -p {package} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(parse_tree(&String::from_utf8_lossy(&out.stdout)))
}

/// Package names from `cargo tree --prefix none --format {p}` lines (`name vX.Y.Z (path)`).
fn parse_tree(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// Names from `deps` that are in `forbidden`.
fn offenders<'a>(deps: &'a BTreeSet<String>, forbidden: &[&str]) -> Vec<&'a str> {
    deps.iter()
        .map(String::as_str)
        .filter(|d| forbidden.contains(d) || d.starts_with("actix") || d.starts_with("sqlx"))
        .collect()
}

/// Checks every invariant; prints what it checked.
pub(crate) fn check() -> Result<()> {
    let mut failures = Vec::new();

    // Every feature on: an optional dependency (`serde`) must be pure as well.
    let domain = dependency_names_with(DOMAIN_PACKAGE, &["--all-features"])?;
    let bad = offenders(&domain, IO_CRATES);
    if bad.is_empty() {
        eprintln!(
            "check-layers: domain ({DOMAIN_PACKAGE}, all features) has {} dependencies, none of them IO",
            domain.len() - 1
        );
    } else {
        failures.push(format!("domain depends on IO crates: {}", bad.join(", ")));
    }

    for package in ["storage", "migrations"] {
        let deps = dependency_names(package)?;
        let bad: Vec<&str> = deps
            .iter()
            .map(String::as_str)
            .filter(|d| HTTP_CRATES.contains(d) || d.starts_with("actix"))
            .collect();
        tally(
            &mut failures,
            &bad,
            &format!("{package} has no HTTP dependency"),
            &format!("{package} depends on HTTP crates"),
        );
    }

    let mut sea_orm_users = Vec::new();
    for (package, dir) in MEMBERS {
        if matches!(*package, "storage" | "migrations") {
            continue;
        }
        let manifest = std::fs::read_to_string(Path::new(dir).join("Cargo.toml"))
            .with_context(|| format!("reading {dir}/Cargo.toml"))?;
        if manifest.contains("sea-orm") || manifest.contains("sea_orm") {
            sea_orm_users.push(*package);
        }
    }
    if sea_orm_users.is_empty() {
        eprintln!("check-layers: sea-orm is named only by storage and migrations");
    } else {
        failures.push(format!(
            "{} name sea-orm; SeaORM lives in storage and migrations",
            sea_orm_users.join(", ")
        ));
    }

    let sources = workspace_sources(Path::new("."))?;
    tally(
        &mut failures,
        &modules_without_doc_line(&sources),
        "every module starts with a //! line",
        "modules without a leading //! line",
    );
    tally(
        &mut failures,
        &unsafe_outside_its_place(&sources),
        &format!("unsafe code is allowed only in {UNSAFE_ALLOWED_IN}"),
        &format!("unsafe code allowed outside {UNSAFE_ALLOWED_IN}"),
    );

    let module_failures = crate::modules::check(Path::new("."))?;
    if module_failures.is_empty() {
        eprintln!(
            "check-layers: no module cycle, no source file over {} lines in {}",
            crate::modules::MAX_LINES,
            crate::modules::CHECKED.join(", ")
        );
    } else {
        failures.extend(module_failures);
    }

    if failures.is_empty() {
        Ok(())
    } else {
        bail!("layer check failed:\n  {}", failures.join("\n  "))
    }
}

/// One check's result: `passed` printed when it found no offender, else `failed: offenders`
/// added to `failures`.
fn tally(failures: &mut Vec<String>, offenders: &[impl AsRef<str>], passed: &str, failed: &str) {
    if offenders.is_empty() {
        eprintln!("check-layers: {passed}");
    } else {
        let names: Vec<&str> = offenders.iter().map(AsRef::as_ref).collect();
        failures.push(format!("{failed}: {}", names.join(", ")));
    }
}

/// Every workspace member and its folder.
const MEMBERS: &[(&str, &str)] = &[
    (DOMAIN_PACKAGE, "crates/domain"),
    ("storage", "crates/storage"),
    ("api", "crates/api"),
    ("client", "crates/client"),
    ("bench", "crates/bench"),
    ("migrations", "migrations"),
    ("xtask", "xtask"),
    ("tests", "tests"),
];

/// The one file allowed to hold `unsafe` code (the workspace denies it everywhere else):
/// mimalloc's options, set through its C API.
const UNSAFE_ALLOWED_IN: &str = "crates/api/src/allocator.rs";

/// Rust sources of the workspace (outside `target/`, and `vendor/`: third-party copies, see
/// its README), with their text.
fn workspace_sources(root: &Path) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if path.is_dir() {
                if !name.starts_with('.') && !matches!(name, "target" | "data" | "vendor") {
                    stack.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path)?;
                let relative = path.strip_prefix(root).unwrap_or(&path);
                out.push((relative.display().to_string(), text));
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Sources whose first line is not `//!`.
fn modules_without_doc_line(sources: &[(String, String)]) -> Vec<String> {
    sources
        .iter()
        .filter(|(_, text)| !text.trim_start().starts_with("//!"))
        .map(|(path, _)| path.clone())
        .collect()
}

/// Sources other than [`UNSAFE_ALLOWED_IN`] that lift the workspace's `unsafe_code` denial.
fn unsafe_outside_its_place(sources: &[(String, String)]) -> Vec<String> {
    sources
        .iter()
        .filter(|(path, text)| {
            // The attribute spelled in pieces, so that this file does not name it.
            path.as_str() != UNSAFE_ALLOWED_IN
                && ["allow", "expect", "warn"]
                    .iter()
                    .any(|level| text.contains(&format!("{level}(unsafe_code)")))
        })
        .map(|(path, _)| path.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokio_anywhere_in_the_tree_is_an_offender() {
        let deps =
            parse_tree("domain v0.1.0 (/x)\nchrono v0.4.42\ntokio v1.48.0\nsqlx-core v0.9.0\n");
        assert_eq!(offenders(&deps, IO_CRATES), vec!["sqlx-core", "tokio"]);
    }

    #[test]
    fn a_pure_tree_has_no_offenders() {
        let deps = parse_tree("domain v0.1.0 (/x)\nchrono v0.4.42\nuuid v1.18.1\n");
        assert!(offenders(&deps, IO_CRATES).is_empty());
    }

    #[test]
    fn unsafe_is_allowed_in_its_one_place_only() {
        let lifted = format!("#[{}(unsafe_code)]\nfn f() {{}}", "allow");
        let sources = vec![
            (UNSAFE_ALLOWED_IN.to_owned(), lifted.clone()),
            ("crates/storage/src/db.rs".to_owned(), lifted),
            (
                "crates/domain/src/lib.rs".to_owned(),
                "fn g() {}".to_owned(),
            ),
        ];
        assert_eq!(
            unsafe_outside_its_place(&sources),
            ["crates/storage/src/db.rs"]
        );
    }
}
