//! `onboard screening load|cases|decide` as an operator uses them, on the three databases:
//! a list loaded (and loaded again: unchanged), an open case listed as JSON, decided, and
//! `kyc decide` refusing a user screening holds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::process::Command;

use domain::fixtures::SeedUser;
use domain::screening::ScreeningStatus;
use domain::{ContactId, KycStatus, NewUser, ParseContext, UserChange, UserId, UserStatus};
use storage::screening::{MatchedEntry, ScreeningWrite, Trigger};
use storage::testing::{Backend, TestDatabase};
use storage::{
    Along, Audit, Keyring, NewUserIds, ProgramRepository as _, SecretKey, UserRepository as _,
};

struct Env {
    url: String,
    data_keys: String,
    blind: String,
}

fn onboard(env: &Env, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_onboard"))
        .args(args)
        .env("USER", "dana")
        .env("DATABASE_URL", &env.url)
        .env("ONBOARD_DATA_KEYS", &env.data_keys)
        .env("ONBOARD_ACTIVE_KEY", "k1")
        .env("ONBOARD_BLIND_INDEX_KEY", &env.blind)
        .env("ONBOARD_LOG_FORMAT", "json")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn screening_commands(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await.unwrap() else {
        return;
    };
    let (k1, blind) = (
        SecretKey::generate().unwrap(),
        SecretKey::generate().unwrap(),
    );
    let env = Env {
        url: db.url.clone(),
        data_keys: format!("k1:{}", k1.to_base64().as_str()),
        blind: blind.to_base64().to_string(),
    };
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../screening/small");
    let (ok, stdout, stderr) = onboard(&env, &["screening", "load", dir]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("screening list loaded"), "{stdout}");
    assert!(
        stdout.contains("17 entries, 28 aliases, 24 addresses, 9 malformed rows skipped"),
        "{stdout}"
    );
    assert!(
        stderr.contains("malformed rows skipped"),
        "a counted warning: {stderr}"
    );
    let (ok, stdout, _) = onboard(&env, &["screening", "load", dir]);
    assert!(ok && stdout.contains("unchanged"), "{stdout}");
    let (ok, _, stderr) = onboard(&env, &["screening", "load", "/nonexistent"]);
    assert!(!ok && stderr.contains("sdn.csv"), "{stderr}");

    let (ok, stdout, _) = onboard(&env, &["screening", "cases", "--json"]);
    assert!(ok, "{stdout}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap(),
        serde_json::json!([])
    );

    // Two users submitted with a potential match (as send-verification-request records it).
    let keyring = Keyring::new([("k1".to_owned(), k1.clone())], "k1", blind.clone()).unwrap();
    let store = db.store(keyring).await.unwrap();
    let program = store
        .create_program("acme", chrono::Utc::now())
        .await
        .unwrap()
        .program_id;
    let list = store.current_screening_list().await.unwrap().unwrap();
    let now = chrono::Utc::now();
    let mut users = Vec::new();
    for n in 1..=2 {
        let new_user =
            NewUser::parse(&SeedUser::new(n).raw(), ParseContext::new(now.date_naive())).unwrap();
        let id = UserId::from_uuid(uuid::Uuid::now_v7());
        let ids = NewUserIds {
            user: id,
            contact: ContactId::from_uuid(uuid::Uuid::now_v7()),
        };
        let _ = store
            .create_user(program, ids, &new_user, now, Along::nothing())
            .await
            .unwrap();
        let mut along = Along::nothing();
        along.screening = Some(ScreeningWrite {
            user: id,
            list_id: list.id,
            trigger: Trigger::Submission,
            best: Some(MatchedEntry {
                score: 0.95,
                entry_number: 15102,
                entry_name: "MORENO, Daniel".into(),
            }),
            outcome: ScreeningStatus::PotentialMatch,
            actor: "api_key:test".into(),
            at: now,
        });
        let audit = Audit {
            actor: "api_key:test",
            reason: None,
        };
        let _ = store
            .change_user(program, id, UserChange::SubmitKyc, audit, now, along)
            .await
            .unwrap();
        users.push(id);
    }

    let (ok, stdout, stderr) = onboard(&env, &["screening", "cases", "--json"]);
    assert!(ok, "{stderr}");
    let cases: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(cases.as_array().unwrap().len(), 2, "{cases}");
    assert_eq!(cases[0]["user_id"], users[0].to_string());
    assert_eq!(cases[0]["entry_number"], 15102);
    assert_eq!(cases[0]["entry_name"], "MORENO, Daniel");
    assert_eq!(cases[0]["score"], 0.95);
    assert_eq!(cases[0]["list_version"], list.id.to_string());

    // KYC cannot be verified around the screening.
    let (ok, _, stderr) = onboard(&env, &["kyc", "decide", &users[0].to_string(), "verified"]);
    assert!(!ok && stderr.contains("screening holds"), "{stderr}");

    let (ok, stdout, stderr) = onboard(
        &env,
        &[
            "screening",
            "decide",
            &users[0].to_string(),
            "confirm",
            "--reason",
            "passport matches",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("confirmed_match (kyc rejected: true, blocked: true)"),
        "{stdout}"
    );
    let user = store.get_user(program, users[0]).await.unwrap().unwrap();
    assert_eq!(
        (user.kyc_status(), user.status()),
        (KycStatus::Rejected, UserStatus::Blocked)
    );
    let (ok, _, stderr) = onboard(
        &env,
        &[
            "screening",
            "decide",
            &users[0].to_string(),
            "clear",
            "--reason",
            "x",
        ],
    );
    assert!(!ok && stderr.contains("no open screening case"), "{stderr}");
    let (ok, _, stderr) = onboard(
        &env,
        &["screening", "decide", &users[1].to_string(), "clear"],
    );
    assert!(
        !ok && stderr.contains("--reason"),
        "a reason is required: {stderr}"
    );
    let (ok, stdout, stderr) = onboard(
        &env,
        &[
            "screening",
            "decide",
            &users[1].to_string(),
            "clear",
            "--reason",
            "born elsewhere",
        ],
    );
    assert!(
        ok && stdout.contains("screening_status is now clear"),
        "{stdout}{stderr}"
    );
    assert_eq!(
        store
            .claim_kyc_cases(chrono::Utc::now(), std::time::Duration::from_secs(60), 10)
            .await
            .unwrap(),
        vec![(program, users[1])]
    );
    let actions = store.operator_actions(10).await.unwrap();
    let commands: Vec<(&str, &str)> = actions
        .iter()
        .map(|a| (a.action.actor.as_str(), a.action.command.as_str()))
        .collect();
    assert!(
        commands.contains(&("dana", &*format!("screening decide {} clear", users[1]))),
        "{commands:?}"
    );
    assert!(
        commands.contains(&("dana", &*format!("screening decide {} confirm", users[0]))),
        "{commands:?}"
    );
    assert!(
        commands
            .iter()
            .any(|(a, c)| *a == "dana" && c.starts_with("screening load")),
        "{commands:?}"
    );
    let _ = store.connection().clone().close().await;
    db.drop_database().await;
}

#[tokio::test]
async fn screening_commands_sqlite() {
    screening_commands(Backend::Sqlite).await;
}

#[tokio::test]
async fn screening_commands_postgres() {
    screening_commands(Backend::Postgres).await;
}

#[tokio::test]
async fn screening_commands_mysql() {
    screening_commands(Backend::Mysql).await;
}
