//! Sanctions screening (SPEC §8) through the running service, on the three databases, with the
//! 17-entry excerpt of the SDN list loaded from `screening_list_dir` at start: a listed person's
//! submission holds KYC at `pending` until an operator decides; `confirm` rejects KYC and
//! blocks; `clear` lets the verifier go on; an ordinary person is verified; the integrator's
//! answers never show a list entry; every screening and decision is in the audit trail.

use std::path::PathBuf;
use std::time::Duration;

use domain::screening::{ScreeningDecision, ScreeningStatus};
use serde_json::{Value, json};
use storage::{OperatorAction, UserRepository as _};
use tests::{AppOptions, TestApp, json as parse, seed_body, test_settings};

async fn call(app: &TestApp, path: &str, body: &Value) -> (u16, Value, String) {
    let resp = app
        .client()
        .post_json(&format!("/api/v3{path}"), body)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&resp.body).into_owned();
    (resp.status, parse(&resp.body), text)
}

/// Creates seed user `n` named `first last`, born `dob`, and submits it for verification; the
/// answer shows `screening_status` `want`.
async fn submitted(
    app: &TestApp,
    n: u32,
    (first, last, dob): (&str, &str, &str),
    want: &str,
) -> domain::UserId {
    let mut body = seed_body(n);
    body["first_name"] = json!(first);
    body["last_name"] = json!(last);
    body["date_of_birth"] = json!(dob);
    let (status, out, _) = call(app, "/user/create", &body).await;
    assert_eq!(status, 200, "{out}");
    let id = out["data"]["items"][0]["id"].clone();
    let (status, out, text) = call(
        app,
        "/user/send-verification-request",
        &json!({"user_id": id}),
    )
    .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["data"]["items"][0]["screening_status"], want, "{out}");
    // The integrator learns nothing of the list but the status (the list's spellings are upper
    // case; the user's own name is not).
    let text = text.replace(&format!("\"screening_status\":\"{want}\""), "");
    for secret in [
        "MORENO", "LOGAN", "15102", "10278", "entry", "score", "sanction", "match",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    id.as_str().unwrap().parse().unwrap()
}

async fn screening_status(app: &TestApp, id: domain::UserId, want: ScreeningStatus) {
    for _ in 0..100 {
        let status = app
            .store
            .screening_status(app.program.program_id, id)
            .await
            .unwrap();
        if status == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("screening_status never became {want}");
}

async fn kyc(app: &TestApp, id: domain::UserId) -> (String, String) {
    let user = get(app, id).await;
    (
        user["kyc_status"].as_str().unwrap().to_owned(),
        user["status"].as_str().unwrap().to_owned(),
    )
}

async fn get(app: &TestApp, id: domain::UserId) -> Value {
    let (_, out, _) = call(app, "/user/get", &json!({"user_id": id.to_string()})).await;
    out["data"]["items"][0].clone()
}

/// The user's events through `/event/get-all`, oldest first: (type, actor, data).
async fn events(app: &TestApp, id: domain::UserId) -> Vec<(String, String, Value)> {
    let body = json!({"user_id": id.to_string(), "per_page": 500});
    let (status, out, text) = call(app, "/event/get-all", &body).await;
    assert_eq!(status, 200, "{out}");
    assert!(
        !text.contains("MORENO") && !text.contains("15102"),
        "{text}"
    );
    let mut items: Vec<Value> = out["data"]["items"].as_array().unwrap().clone();
    items.sort_by_key(|e| e["sequence"].as_i64());
    items
        .into_iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
                e["data"].clone(),
            )
        })
        .collect()
}

async fn wait_kyc(app: &TestApp, id: domain::UserId, want: &str) {
    for _ in 0..100 {
        if kyc(app, id).await.0 == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("kyc_status never became {want}");
}

async fn screening_holds_kyc_until_an_operator_decides(app: &TestApp) {
    let p = app.program.program_id;
    // Listed (the excerpt's MORENO, Daniel, born 12 Oct 1972), written the way people do.
    let hit = "potential_match";
    let moreno = submitted(app, 1, ("Dániel", "Moreno", "1972-10-12"), hit).await;
    let logan = submitted(app, 2, ("Elvis Angus", "Logan Morey", "1963-07-28"), hit).await;
    let ordinary = submitted(app, 3, ("Alex", "Rivera", "1990-01-01"), "clear").await;
    // Same name, another date of birth: the list's date contradicts it, cleared by the score.
    let namesake = submitted(app, 4, ("Daniel", "Moreno", "1990-05-05"), "clear").await;

    screening_status(app, moreno, ScreeningStatus::PotentialMatch).await;
    screening_status(app, logan, ScreeningStatus::PotentialMatch).await;
    screening_status(app, ordinary, ScreeningStatus::Clear).await;
    screening_status(app, namesake, ScreeningStatus::Clear).await;
    wait_kyc(app, ordinary, "verified").await;
    wait_kyc(app, namesake, "verified").await;
    // The sandbox verifier (every 100 ms) does not touch a potential match.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(kyc(app, moreno).await, ("pending".into(), "active".into()));
    let cases: Vec<domain::UserId> = app
        .store
        .screening_cases(10)
        .await
        .unwrap()
        .iter()
        .map(|c| c.user)
        .collect();
    assert!(
        cases.contains(&moreno) && cases.contains(&logan),
        "{cases:?}"
    );

    let op = OperatorAction::new("carol", "screening decide");
    // As `onboard screening decide` does: entities in events as the API answers them.
    let store = app
        .store
        .clone()
        .with_event_views(api::event_views::store_views());
    let now = chrono::Utc::now();
    let confirmed = store
        .decide_screening(
            moreno,
            ScreeningDecision::Confirm,
            "passport matches",
            &op,
            now,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(confirmed.case.entry_number, Some(15102));
    assert_eq!(
        kyc(app, moreno).await,
        ("rejected".into(), "blocked".into())
    );
    store
        .decide_screening(logan, ScreeningDecision::Clear, "another person", &op, now)
        .await
        .unwrap()
        .unwrap();
    wait_kyc(app, logan, "verified").await;
    // The integrator sees the statuses on the user, and the outcomes as events.
    assert_eq!(
        get(app, moreno).await["screening_status"],
        "confirmed_match"
    );
    assert_eq!(get(app, logan).await["screening_status"], "clear");
    assert_eq!(get(app, ordinary).await["screening_status"], "clear");
    let (_, listed, _) = call(app, "/user/get-all", &json!({"per_page": 10})).await;
    let listed = listed["data"]["items"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 4);
    assert!(listed.iter().all(|u| u["screening_status"].is_string()));
    let of_moreno: Vec<(String, String)> = events(app, moreno)
        .await
        .into_iter()
        .map(|(t, a, _)| (t, a))
        .collect();
    let by = |t: &str, a: &str| (t.to_owned(), a.to_owned());
    let api = of_moreno[0].1.clone();
    assert!(api.starts_with("api_key:"), "{api}");
    assert_eq!(
        of_moreno,
        [
            by("user.created", &api),
            by("user.kyc.pending", &api),
            by("user.screening.potential_match", "screening"),
            by("user.kyc.failed", "operator:carol"),
            by("user.blocked", "operator:carol"),
        ]
    );
    let moreno_events = events(app, moreno).await;
    assert_eq!(moreno_events[3].2["reason"], "sanctions_match");
    assert_eq!(
        moreno_events[4].2["object"]["screening_status"],
        "confirmed_match"
    );
    // Cleared: no event of its own; KYC went on through the verifier.
    let of_logan: Vec<String> = events(app, logan).await.into_iter().map(|e| e.0).collect();
    assert_eq!(
        of_logan,
        [
            "user.created",
            "user.kyc.pending",
            "user.screening.potential_match",
            "user.kyc.verified"
        ]
    );

    let trail: Vec<(String, String, String, Option<String>)> = app
        .store
        .user_events(p, moreno)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.from, e.to, e.reason))
        .collect();
    // The submission and its screening commit together (same millisecond: either order).
    let mut submission = trail[..2].to_vec();
    submission.sort();
    assert_eq!(
        submission,
        [
            ("kyc".into(), "not_started".into(), "pending".into(), None),
            (
                "screening".into(),
                "not_screened".into(),
                "potential_match".into(),
                None
            ),
        ]
    );
    assert_eq!(
        trail[2..],
        [
            (
                "screening".into(),
                "potential_match".into(),
                "confirmed_match".into(),
                Some("passport matches".into())
            ),
            (
                "kyc".into(),
                "pending".into(),
                "rejected".into(),
                Some("sanctions_match".into())
            ),
            (
                "status".into(),
                "active".into(),
                "blocked".into(),
                Some("passport matches".into())
            ),
        ]
    );
}

async fn run(backend: storage::testing::Backend) {
    let mut settings = test_settings();
    settings.screening_list_dir =
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../screening/small"));
    let options = AppOptions {
        settings,
        ..AppOptions::default()
    };
    let Some(app) = tests::spawn_app_with(backend, options).await else {
        tests::note(&format!("skipped: {backend:?} is not configured"));
        return;
    };
    screening_holds_kyc_until_an_operator_decides(&app).await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    run(storage::testing::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    run(storage::testing::Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql() {
    run(storage::testing::Backend::Mysql).await;
}
