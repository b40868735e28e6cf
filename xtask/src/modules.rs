//! Module invariants of ARCHITECTURE.md read from the sources: no import cycle between the
//! modules of a crate (a cycle means a type lives in the wrong module), and no source file
//! of `crates/{domain,storage,api}/src` over [`MAX_LINES`] lines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

/// The crates whose modules are checked.
pub(crate) const CHECKED: &[&str] = &["crates/domain", "crates/storage", "crates/api"];

/// The longest source file allowed (one idea per file).
pub(crate) const MAX_LINES: usize = 600;

/// Every `.rs` file under `dir`.
fn sources(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))?
        {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The module path of a file under `src` (`users/rows.rs` → `users::rows`, `users/mod.rs` →
/// `users`); `None` for the crate root and binaries.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(src).ok()?;
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_owned())
        .collect();
    if parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    if parts.len() == 1 && matches!(parts[0].as_str(), "lib" | "main") {
        return None;
    }
    Some(parts.join("::"))
}

/// The paths a source names after `crate::` (grouped imports split), e.g. `users::rows::X`.
fn crate_paths(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        let after = &rest[at + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            out.extend(group[..end].split(',').map(|p| path_prefix(p.trim())));
        } else {
            out.push(path_prefix(after));
        }
        rest = after;
    }
    out
}

/// The leading `a::b::c` of `text`.
fn path_prefix(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':')
        .collect::<String>()
        .trim_end_matches(':')
        .to_owned()
}

/// The longest module of `modules` that `path` starts with.
fn resolve(path: &str, modules: &BTreeSet<String>) -> Option<String> {
    let segments: Vec<&str> = path.split("::").collect();
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
}

/// The import graph of one crate: module → modules it names (`crate::…` and `super::…`).
fn graph(src: &Path) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let files: Vec<(String, String)> = sources(src)?
        .into_iter()
        .filter_map(|f| module_of(src, &f).map(|m| (m, f)))
        .map(|(m, f)| std::fs::read_to_string(&f).map(|text| (m, text)))
        .collect::<Result<_, _>>()?;
    let modules: BTreeSet<String> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut edges = BTreeMap::new();
    for (module, text) in &files {
        let parent = module.rsplit_once("::").map(|(p, _)| p.to_owned());
        let mut named: Vec<String> = crate_paths(text);
        if let Some(parent) = &parent {
            let mut rest = text.as_str();
            while let Some(at) = rest.find("super::") {
                rest = &rest[at + "super::".len()..];
                named.push(format!("{parent}::{}", path_prefix(rest)));
            }
        }
        let targets: BTreeSet<String> = named
            .iter()
            .filter_map(|p| resolve(p, &modules))
            // A module naming itself or an enclosing module (its own `mod.rs`) is no edge.
            .filter(|t| t != module && !module.starts_with(&format!("{t}::")))
            .collect();
        edges.insert(module.clone(), targets);
    }
    Ok(edges)
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let edges = s.edges;
        for w in edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut state = State {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !state.index.contains_key(v.as_str()) {
            visit(&mut state, v);
        }
    }
    state.out
}

/// Failures of both module invariants, one line each.
pub(crate) fn check(root: &Path) -> Result<Vec<String>> {
    let mut failures = Vec::new();
    for krate in CHECKED {
        let src = root.join(krate).join("src");
        for component in cycles(&graph(&src)?) {
            failures.push(format!("{krate}: module cycle {}", component.join(" ↔ ")));
        }
        for file in sources(&src)? {
            let lines = std::fs::read_to_string(&file)?.lines().count();
            if lines > MAX_LINES {
                failures.push(format!(
                    "{}: {lines} lines (at most {MAX_LINES})",
                    file.display()
                ));
            }
        }
    }
    Ok(failures)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn edges(list: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        list.iter()
            .map(|(m, to)| {
                (
                    (*m).to_owned(),
                    to.iter().map(|t| (*t).to_owned()).collect(),
                )
            })
            .collect()
    }

    #[test]
    fn a_cycle_is_found_and_a_chain_is_not() {
        let chain = edges(&[("app", &["routes"]), ("routes", &["state"]), ("state", &[])]);
        assert!(cycles(&chain).is_empty());
        let looped = edges(&[
            ("app", &["routes"]),
            ("routes", &["pipeline"]),
            ("pipeline", &["app"]),
            ("state", &[]),
        ]);
        assert_eq!(cycles(&looped), vec![vec!["app", "pipeline", "routes"]]);
    }

    #[test]
    fn paths_are_read_from_imports_and_uses() {
        let text =
            "use crate::{along::Along, error::{A, B}};\nlet x = crate::users::rows::uuid_of(y);";
        let paths = crate_paths(text);
        assert!(paths.contains(&"along::Along".to_owned()), "{paths:?}");
        assert!(paths.contains(&"error".to_owned()), "{paths:?}");
        assert!(
            paths.contains(&"users::rows::uuid_of".to_owned()),
            "{paths:?}"
        );
        let modules: BTreeSet<String> = ["users", "users::rows"]
            .iter()
            .map(|m| (*m).to_owned())
            .collect();
        assert_eq!(
            resolve("users::rows::uuid_of", &modules).as_deref(),
            Some("users::rows")
        );
        assert_eq!(resolve("users::Thing", &modules).as_deref(), Some("users"));
        assert_eq!(
            module_of(Path::new("src"), Path::new("src/users/mod.rs")).as_deref(),
            Some("users")
        );
        assert_eq!(module_of(Path::new("src"), Path::new("src/lib.rs")), None);
    }

    #[test]
    fn the_workspace_has_no_module_cycle() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let failures = check(root).unwrap();
        assert!(failures.is_empty(), "{failures:#?}");
    }
}
