//! Sanctions screening against the repository's copy of the OFAC SDN data (`screening/`):
//! the matcher's reference scores, the list parser on the real files, and blocking that loses
//! nothing full scoring finds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use chrono::NaiveDate;
use onboard_domain::fixtures::screening::{listed_names, ordinary_names};
use onboard_domain::screening::{
    DEFAULT_REVIEW_THRESHOLD, EntryKind, ListFile, PersonQuery, PreparedName, ScreeningIndex,
    SdnList, SkipReason, best_pairs_jaro_winkler, parse_sdn,
};
use serde_json::Value;

fn data(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../screening")
        .join(path)
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(data(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn list(dir: &str) -> SdnList {
    parse_sdn(
        &read(&format!("{dir}/{}", ListFile::Sdn.file_name())),
        &read(&format!("{dir}/{}", ListFile::Alt.file_name())),
        &read(&format!("{dir}/{}", ListFile::Add.file_name())),
    )
}

#[test]
fn every_reference_case_is_reproduced_within_its_tolerance() {
    let cases: Value = serde_json::from_slice(&read("jaro-winkler-cases.json")).unwrap();
    let tolerance = cases["tolerance"].as_f64().unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert!(cases.len() >= 70, "{} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let indexed = case["indexed"].as_str().unwrap();
        let search = case["search"].as_str().unwrap();
        let expected = case["score"].as_f64().unwrap();
        let got = best_pairs_jaro_winkler(search, indexed);
        if (got - expected).abs() > tolerance {
            failures.push(format!(
                "{search:?} against {indexed:?}: {got:.3}, expected {expected}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_small_list_parses_whole() {
    let list = list("small");
    assert_eq!(list.report.entries, 17);
    // The excerpt keeps the alias and address rows of entries it left out: skipped, counted.
    assert_eq!(list.report.skipped.len(), 9);
    assert!(
        list.report
            .skipped
            .iter()
            .all(|s| matches!(s.reason, SkipReason::UnknownEntry(_))),
        "{:?}",
        list.report.skipped
    );
    assert_eq!((list.report.aliases, list.report.addresses), (28, 24));
    let logan = list.entries.iter().find(|e| e.number == 10278).unwrap();
    assert_eq!(logan.name, "LOGAN MOREY, Elvis Angus");
    assert_eq!(logan.kind, EntryKind::Individual);
    assert!(logan.aliases.iter().any(|a| a == "BURTON BURGESS"));
    assert_eq!(logan.dobs.len(), 1);
}

#[test]
fn the_full_list_parses_with_every_entry_and_alias() {
    let list = list("sdn");
    assert!(
        list.report.skipped.is_empty(),
        "{:?}",
        &list.report.skipped[..3.min(list.report.skipped.len())]
    );
    assert_eq!(list.report.entries, 7379);
    assert!(list.report.aliases >= 9_000, "{}", list.report.aliases);
    assert_eq!(list.report.addresses, 11_696);
    let people = list
        .entries
        .iter()
        .filter(|e| e.kind == EntryKind::Individual)
        .count();
    assert_eq!(people, 3845);
    let dated = list.entries.iter().filter(|e| !e.dobs.is_empty()).count();
    assert!(dated > 3_500, "{dated}");
}

fn person(name: &str) -> PersonQuery {
    PersonQuery {
        name: PreparedName::new(name),
        dob: None,
    }
}

#[test]
fn a_listed_person_is_found_by_primary_name_alias_reordering_accents_and_a_typo() {
    let index = ScreeningIndex::for_people(&list("small"));
    let t = DEFAULT_REVIEW_THRESHOLD;
    for (name, entry) in [
        ("Elvis Angus Logan Morey", 10278),
        ("Logan Morey Elvis Angus", 10278),
        ("Élvis Ángus Lógan Morey", 10278),
        ("Elvis Angus Logan Moray", 10278),
        ("Burton Burgess", 10278),
        ("Dmitriy Yurevich Khoroshev", 48603),
        ("Daniel Gonzalo Moreno", 15102),
        ("Daniel Moreno", 15102),
    ] {
        let hit = index
            .screen(&person(name), t)
            .unwrap_or_else(|| panic!("{name} not found"));
        assert_eq!(hit.entry_number, entry, "{name}");
        assert!(hit.score >= t, "{name}: {}", hit.score);
    }
    assert_eq!(index.screen(&person("Alex Rivera"), t), None);
    // Entities are not compared with people.
    assert_eq!(
        index.screen(&person("Iran Aircraft Manufacturing Industrial Company"), t),
        None
    );
}

#[test]
fn a_contradicting_date_of_birth_lowers_the_score() {
    let index = ScreeningIndex::for_people(&list("small"));
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
    let mut query = person("Daniel Moreno");
    query.dob = day(1972, 10, 12);
    let same = index.screen(&query, 0.5).unwrap();
    assert!(!same.dob_contradicts);
    assert!((same.score - 1.0).abs() < 1e-9);
    query.dob = day(1990, 1, 1);
    let other = index.screen(&query, 0.5).unwrap();
    assert!(other.dob_contradicts);
    assert!((other.score - 0.85).abs() < 1e-9, "{}", other.score);
    assert!(other.score < DEFAULT_REVIEW_THRESHOLD);
}

#[test]
fn blocking_never_loses_a_name_that_full_scoring_finds_above_the_threshold() {
    let list = list("sdn");
    let index = ScreeningIndex::for_people(&list);
    // 1,000 here (full scoring is slow in a debug build); `cargo xtask bench screening` compares
    // the two on 20,000 in release.
    let mut names: Vec<String> = listed_names(&list, 500, 7)
        .iter()
        .map(|g| g.name().to_owned())
        .collect();
    names.extend(ordinary_names(500, 7));
    let mut found = 0;
    for name in &names {
        let query = person(name);
        let blocked = index.screen(&query, DEFAULT_REVIEW_THRESHOLD);
        let full = index.screen_exhaustive(&query, DEFAULT_REVIEW_THRESHOLD);
        assert_eq!(blocked, full, "{name}");
        found += usize::from(full.is_some());
    }
    // The mutated list names are most of what is found: the comparison is not vacuous.
    assert!(found > 400, "{found}");
}
