//! `onboard webhook …` as an operator uses it on a server's shell, on every database: `list`
//! shows every program's endpoints (never a secret), `failed` the failed deliveries with their
//! event type and last answer a page at a time, `resend` queues a new pending delivery (to one
//! endpoint, or to every enabled one that takes the event's type), `disable`/`enable` change
//! the endpoint's status; each change is recorded with who ran it, unknown ids are refused
//! with a non-zero exit and change nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use chrono::{Duration, Utc};
use domain::fixtures::SeedUser;
use domain::{
    ContactId, EventId, NewUser, NewWebhook, ParseContext, ProgramId, RawNewWebhook, UserId,
    WebhookId, WebhookStatus,
};
use storage::testing::{Backend, TestDatabase};
use storage::{
    Along, AttemptRecord, EndpointEffect, Keyring, NewUserIds, NextStep, SecretKey, SqlStore,
    UserRepository as _, WebhookRepository as _,
};

#[path = "support/onboard_cli.rs"]
mod onboard_cli;

fn onboard(url: &str, keys: &(String, String), args: &[&str]) -> (bool, String, String) {
    onboard_cli::onboard(url, keys, Some("alice"), args)
}

/// An endpoint of `program` taking `types` (every type when `None`); answers it with its
/// secret (shown once).
async fn endpoint(
    store: &SqlStore,
    program: ProgramId,
    url: &str,
    types: Option<&[&str]>,
) -> (WebhookId, String) {
    let raw = RawNewWebhook {
        url: Some(url.to_owned()),
        event_types: types.map(|t| t.iter().map(|s| (*s).to_owned()).collect()),
    };
    let new = NewWebhook::parse(&raw, true).unwrap();
    let id = WebhookId::from_uuid(uuid::Uuid::now_v7());
    let created = store
        .create_webhook(program, id, &new, Utc::now(), Along::nothing())
        .await
        .unwrap()
        .written()
        .unwrap();
    (id, created.secret.unwrap().expose().to_owned())
}

async fn user(store: &SqlStore, program: ProgramId, n: u32) {
    let now = Utc::now();
    let new = NewUser::parse(&SeedUser::new(n).raw(), ParseContext::new(now.date_naive())).unwrap();
    let ids = NewUserIds {
        user: UserId::from_uuid(uuid::Uuid::now_v7()),
        contact: ContactId::from_uuid(uuid::Uuid::now_v7()),
    };
    store
        .create_user(program, ids, &new, now, Along::nothing())
        .await
        .unwrap()
        .written()
        .unwrap();
}

/// Claims the due deliveries and fails each for good (HTTP 500), one second apart (the
/// latest last); answers their events in that order.
async fn fail_all(store: &SqlStore) -> Vec<(EventId, WebhookId)> {
    let now = Utc::now() + Duration::seconds(1);
    let claimed = store
        .claim_deliveries(now, Duration::seconds(60), 10)
        .await
        .unwrap();
    let mut done = Vec::new();
    for (n, d) in claimed.iter().enumerate() {
        let attempt = AttemptRecord {
            at: now + Duration::seconds(i64::try_from(n).unwrap()),
            status_code: Some(500),
            error: None,
            duration_ms: 12,
        };
        let kept = store
            .finish_delivery(d, &attempt, NextStep::Failed, EndpointEffect::Failing)
            .await
            .unwrap();
        assert!(kept);
        done.push((d.event_id, d.endpoint));
    }
    done
}

fn json(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

async fn webhook_commands(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await.unwrap() else {
        return;
    };
    let (k1, blind) = (
        SecretKey::generate().unwrap(),
        SecretKey::generate().unwrap(),
    );
    let keys = (
        format!("k1:{}", k1.to_base64().as_str()),
        blind.to_base64().to_string(),
    );
    let keyring = Keyring::new([("k1".to_owned(), k1)], "k1", blind).unwrap();
    let store = db.store(keyring).await.unwrap();
    let run = |args: &[&str]| onboard(&db.url, &keys, args);

    let mut programs = Vec::new();
    for name in ["acme", "bolt"] {
        let (ok, stdout, stderr) = run(&["program", "create", "--name", name, "--json"]);
        assert!(ok, "{stderr}");
        let id = json(&stdout)["program_id"].as_str().unwrap().to_owned();
        programs.push(id.parse::<ProgramId>().unwrap());
    }
    let (a, b) = (programs[0], programs[1]);
    let (w1, s1) = endpoint(&store, a, "http://127.0.0.1:9/all", None).await;
    let (w3, s3) = endpoint(
        &store,
        a,
        "http://127.0.0.1:9/blocks",
        Some(&["user.blocked"]),
    )
    .await;
    let (w2, s2) = endpoint(&store, b, "http://127.0.0.1:9/b", Some(&["user.created"])).await;

    // list: every program's endpoints, never a secret.
    let (ok, stdout, stderr) = run(&["webhook", "list"]);
    assert!(ok, "{stderr}");
    for (w, p) in [(w1, a), (w2, b), (w3, a)] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&w.to_string()))
            .unwrap_or_else(|| panic!("{w} missing: {stdout}"));
        assert!(
            line.contains(&p.to_string()) && line.contains("enabled"),
            "{line}"
        );
    }
    assert!(
        stdout.lines().next().unwrap().starts_with("ENDPOINT"),
        "{stdout}"
    );
    assert!(stdout.contains("user.blocked") && stdout.contains("http://127.0.0.1:9/all"));
    let (ok, listed, stderr) = run(&["webhook", "list", "--json"]);
    assert!(ok, "{stderr}");
    for secret in [&s1, &s2, &s3] {
        for text in [&stdout, &listed, &stderr] {
            assert!(!text.contains(secret.as_str()), "a secret was printed");
        }
    }
    assert!(!stdout.contains("whsec_") && !listed.contains("whsec_"));
    let all = json(&listed);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 3);
    let mut fields: Vec<&str> = all[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "created_at",
            "disabled_reason",
            "event_types",
            "id",
            "previous_secret_expires_at",
            "program_id",
            "status",
            "updated_at",
            "url",
            "uuid"
        ]
    );
    let (ok, stdout, stderr) = run(&["webhook", "list", "--program", &b.to_string(), "--json"]);
    assert!(ok, "{stderr}");
    let only_b = json(&stdout);
    assert_eq!(only_b.as_array().unwrap().len(), 1);
    assert_eq!(only_b[0]["id"], w2.to_string());
    assert_eq!(only_b[0]["program_id"], b.to_string());
    assert_eq!(
        only_b[0]["event_types"],
        serde_json::json!(["user.created"])
    );
    let stranger = ProgramId::from_uuid(uuid::Uuid::now_v7()).to_string();
    let (ok, _, stderr) = run(&["webhook", "list", "--program", &stranger]);
    assert!(
        !ok && stderr.contains(&format!("no program {stranger}")),
        "{stderr}"
    );

    // Two users of program A: a delivery of each user.created to w1 (w3 takes other types),
    // both failed; the later one is listed first.
    assert!(run(&["webhook", "failed"]).1.contains("no failed delivery"));
    user(&store, a, 1).await;
    user(&store, a, 2).await;
    let failed = fail_all(&store).await;
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|(_, w)| *w == w1));
    let (latest, earlier) = (failed[1].0, failed[0].0);
    let (ok, stdout, stderr) = run(&["webhook", "failed", "--json", "--limit", "1"]);
    assert!(ok, "{stderr}");
    let page = json(&stdout);
    assert_eq!(page["failed"].as_array().unwrap().len(), 1);
    let row = &page["failed"][0];
    assert_eq!(row["event_id"], latest.to_string());
    assert_eq!(row["webhook_id"], w1.to_string());
    assert_eq!(row["program_id"], a.to_string());
    assert_eq!(row["event_type"], "user.created");
    assert_eq!(row["attempts"], 1);
    assert_eq!(row["last_status_code"], 500);
    assert!(row["last_error"].is_null() && row["failed_at"].is_string());
    let after = page["next_after"].as_str().unwrap().to_owned();
    let (ok, stdout, stderr) = run(&["webhook", "failed", "--json", "--after", &after]);
    assert!(ok, "{stderr}");
    let page = json(&stdout);
    assert_eq!(page["failed"].as_array().unwrap().len(), 1);
    assert_eq!(page["failed"][0]["event_id"], earlier.to_string());
    assert!(page["next_after"].is_null());
    let (ok, stdout, stderr) = run(&["webhook", "failed", "--limit", "1"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("HTTP 500") && stdout.contains("user.created"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("--after {after}")), "{stdout}");
    let (ok, _, stderr) = run(&["webhook", "failed", "--after", "nope"]);
    assert!(!ok && stderr.contains("--after"), "{stderr}");

    // resend to one endpoint: a new pending delivery of that event to it.
    assert_eq!(store.pending_deliveries().await.unwrap(), 0);
    let (ok, stdout, stderr) = run(&[
        "webhook",
        "resend",
        &latest.to_string(),
        "--webhook",
        &w1.to_string(),
    ]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("queued again") && stdout.contains(&w1.to_string()),
        "{stdout}"
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 1);
    let later = Utc::now() + Duration::seconds(5);
    let claimed = store
        .claim_deliveries(later, Duration::seconds(60), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].event_id, claimed[0].endpoint), (latest, w1));
    assert_eq!(claimed[0].attempts, 0, "a new delivery, not the failed one");
    // Without --webhook: every enabled endpoint of the program that takes user.created (w1
    // only: w3 takes user.blocked, w2 is another program's).
    let (ok, _, stderr) = run(&["webhook", "resend", &earlier.to_string()]);
    assert!(ok, "{stderr}");
    assert_eq!(store.pending_deliveries().await.unwrap(), 2);

    // Unknown or foreign ids: refused, nothing queued or recorded.
    let nowhere = EventId::from_uuid(uuid::Uuid::now_v7()).to_string();
    let (ok, _, stderr) = run(&["webhook", "resend", &nowhere]);
    assert!(
        !ok && stderr.contains(&format!("no event {nowhere}")),
        "{stderr}"
    );
    let (ok, _, stderr) = run(&[
        "webhook",
        "resend",
        &latest.to_string(),
        "--program",
        &b.to_string(),
    ]);
    assert!(!ok && stderr.contains("no event"), "{stderr}");
    let (ok, _, stderr) = run(&[
        "webhook",
        "resend",
        &latest.to_string(),
        "--webhook",
        &w2.to_string(),
    ]);
    assert!(
        !ok && stderr.contains(&format!("no webhook endpoint {w2}")),
        "{stderr}"
    );
    let (ok, _, stderr) = run(&["webhook", "resend", "evt-nope"]);
    assert!(!ok && stderr.contains("invalid_format"), "{stderr}");
    assert_eq!(store.pending_deliveries().await.unwrap(), 2);
    let ghost = WebhookId::from_uuid(uuid::Uuid::now_v7()).to_string();
    let (ok, _, stderr) = run(&["webhook", "disable", &ghost]);
    assert!(
        !ok && stderr.contains(&format!("no webhook endpoint {ghost}")),
        "{stderr}"
    );
    let (ok, _, stderr) = run(&[
        "webhook",
        "enable",
        &w1.to_string(),
        "--program",
        &b.to_string(),
    ]);
    assert!(!ok && stderr.contains("no webhook endpoint"), "{stderr}");

    // disable / enable: the endpoint's status, as /webhook/update sets it.
    let (ok, stdout, stderr) = run(&["webhook", "disable", &w1.to_string(), "--actor", "bob"]);
    assert!(ok && stdout.contains("disabled"), "{stdout}{stderr}");
    let got = store.get_webhook(a, w1).await.unwrap().unwrap();
    assert_eq!(got.status, WebhookStatus::Disabled);
    assert_eq!(got.disabled_reason.as_deref(), Some("requested"));
    let (_, stdout, _) = run(&["webhook", "list", "--program", &a.to_string()]);
    assert!(stdout.contains("disabled (requested)"), "{stdout}");
    let (ok, _, stderr) = run(&[
        "webhook",
        "enable",
        &w1.to_string(),
        "--program",
        &a.to_string(),
    ]);
    assert!(ok, "{stderr}");
    let got = store.get_webhook(a, w1).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.disabled_reason),
        (WebhookStatus::Enabled, None)
    );

    // Each change on the record, with who ran it; the refused ones nowhere.
    let actions = store.operator_actions(20).await.unwrap();
    let recorded: Vec<(&str, &str)> = actions
        .iter()
        .map(|x| (x.action.actor.as_str(), x.action.command.as_str()))
        .collect();
    assert_eq!(
        recorded,
        [
            ("alice", format!("webhook enable {w1}").as_str()),
            ("bob", format!("webhook disable {w1}").as_str()),
            ("alice", format!("webhook resend {earlier}").as_str()),
            (
                "alice",
                format!("webhook resend {latest} --webhook {w1}").as_str()
            ),
            ("alice", "program create --name bolt"),
            ("alice", "program create --name acme"),
        ]
    );

    let _ = store.connection().clone().close().await;
    db.drop_database().await;
}

#[tokio::test]
async fn webhook_commands_sqlite() {
    webhook_commands(Backend::Sqlite).await;
}

#[tokio::test]
async fn webhook_commands_postgres() {
    webhook_commands(Backend::Postgres).await;
}

#[tokio::test]
async fn webhook_commands_mysql() {
    webhook_commands(Backend::Mysql).await;
}
