//! The `onboard` binary as an operator uses it: `program create --json`, `program list`,
//! `kyc decide`, `keys rotate`, against a fresh database with keys from the environment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::process::Command;

use domain::fixtures::SeedUser;
use domain::{ContactId, KycStatus, NewUser, ParseContext, UserChange, UserId};
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
    onboard_as(env, args, None)
}

/// `onboard` run by the OS user `user` (`$USER`; removed when `None`).
fn onboard_as(env: &Env, args: &[&str], user: Option<&str>) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_onboard"));
    match user {
        Some(user) => command.env("USER", user),
        None => command.env_remove("USER").env_remove("LOGNAME"),
    };
    let out = command
        .args(args)
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

async fn operator_commands(backend: Backend) {
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

    let (ok, stdout, stderr) = onboard(&env, &["program", "create", "--name", "acme", "--json"]);
    assert!(ok, "{stderr}");
    let created: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["api_key", "hmac_secret", "hmac_username", "program_id"]
    );
    assert!(created["api_key"].as_str().unwrap().starts_with("onb_"));
    assert!(
        !stderr.contains(created["api_key"].as_str().unwrap()),
        "secrets never reach the log"
    );
    assert!(!stderr.contains(created["hmac_secret"].as_str().unwrap()));
    let program: domain::ProgramId = created["program_id"].as_str().unwrap().parse().unwrap();

    let (ok, stdout, _) = onboard(&env, &["program", "list"]);
    assert!(
        ok && stdout.contains(&program.to_string()) && stdout.contains("acme"),
        "{stdout}"
    );

    // A pending KYC case, decided by an operator.
    let keyring = Keyring::new([("k1".to_owned(), k1.clone())], "k1", blind.clone()).unwrap();
    let store = db.store(keyring).await.unwrap();
    let raw = SeedUser::example().raw(); // SSN 123-45-6789
    let now = chrono::Utc::now();
    let new_user = NewUser::parse(&raw, ParseContext::new(now.date_naive())).unwrap();
    let ids = NewUserIds {
        user: UserId::from_uuid(uuid::Uuid::now_v7()),
        contact: ContactId::from_uuid(uuid::Uuid::now_v7()),
    };
    store
        .create_user(program, ids, &new_user, now, Along::nothing())
        .await
        .unwrap()
        .written()
        .unwrap();
    let audit = Audit {
        actor: "test",
        reason: None,
    };
    store
        .change_user(
            program,
            ids.user,
            UserChange::SubmitKyc,
            audit,
            now,
            Along::nothing(),
        )
        .await
        .unwrap()
        .written()
        .unwrap();

    let user = ids.user.to_string();
    let (ok, stdout, stderr) = onboard(
        &env,
        &[
            "kyc",
            "decide",
            &user,
            "rejected",
            "--reason",
            "documents expired",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("rejected"), "{stdout}");
    let got = store.get_user(program, ids.user).await.unwrap().unwrap();
    assert_eq!(got.kyc_status(), KycStatus::Rejected);
    let events = store.user_events(program, ids.user).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (
            last.to.as_str(),
            last.actor.as_str(),
            last.reason.as_deref()
        ),
        ("rejected", "operator", Some("documents expired"))
    );
    let (ok, _, stderr) = onboard(&env, &["kyc", "decide", &user, "verified"]);
    assert!(
        !ok && stderr.contains("cannot"),
        "a decided case cannot be decided again: {stderr}"
    );

    // A second case, verified by the operator.
    let raw2 = SeedUser::new(2).raw();
    let second = NewUser::parse(&raw2, ParseContext::new(now.date_naive())).unwrap();
    let ids2 = NewUserIds {
        user: UserId::from_uuid(uuid::Uuid::now_v7()),
        contact: ContactId::from_uuid(uuid::Uuid::now_v7()),
    };
    store
        .create_user(program, ids2, &second, now, Along::nothing())
        .await
        .unwrap()
        .written()
        .unwrap();
    store
        .change_user(
            program,
            ids2.user,
            UserChange::SubmitKyc,
            audit,
            now,
            Along::nothing(),
        )
        .await
        .unwrap()
        .written()
        .unwrap();
    let (ok, stdout, stderr) =
        onboard(&env, &["kyc", "decide", &ids2.user.to_string(), "verified"]);
    assert!(ok && stdout.contains("verified"), "{stdout}{stderr}");
    let got = store.get_user(program, ids2.user).await.unwrap().unwrap();
    assert_eq!(got.kyc_status(), KycStatus::Verified);
    assert!(!stderr.contains("123456789") && !stderr.contains("123-45-6789"));

    // Re-encryption under a new active key.
    let k2 = SecretKey::generate().unwrap();
    let env2 = Env {
        data_keys: format!(
            "k1:{},k2:{}",
            k1.to_base64().as_str(),
            k2.to_base64().as_str()
        ),
        ..env
    };
    let out = Command::new(env!("CARGO_BIN_EXE_onboard"))
        .args(["keys", "rotate", "--batch", "1"])
        .env_remove("USER")
        .env_remove("LOGNAME")
        .env("DATABASE_URL", &env2.url)
        .env("ONBOARD_DATA_KEYS", &env2.data_keys)
        .env("ONBOARD_ACTIVE_KEY", "k2")
        .env("ONBOARD_BLIND_INDEX_KEY", &env2.blind)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("re-encrypted under key k2"));
    let only_k2 = Keyring::new([("k2".to_owned(), k2)], "k2", blind).unwrap();
    let rotated = storage::SqlStore::new(store.connection().clone(), only_k2);
    assert_eq!(
        rotated
            .reveal_ssn(program, ids.user)
            .await
            .unwrap()
            .unwrap()
            .expose_digits(),
        "123456789"
    );

    // Half a key configuration is refused rather than replaced by new keys.
    let out = Command::new(env!("CARGO_BIN_EXE_onboard"))
        .args(["program", "list"])
        .env("DATABASE_URL", &env2.url)
        .env("ONBOARD_DATA_KEYS", &env2.data_keys)
        .env_remove("ONBOARD_ACTIVE_KEY")
        .env_remove("ONBOARD_BLIND_INDEX_KEY")
        .env(
            "ONBOARD_KEY_FILE",
            std::env::temp_dir().join("onboard-never-created.toml"),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("must be set together"));

    // Both decisions and the rotation are on the record (no `$USER`: `unknown`).
    let actions = store.operator_actions(20).await.unwrap();
    let commands: Vec<(&str, &str)> = actions
        .iter()
        .map(|a| (a.action.actor.as_str(), a.action.command.as_str()))
        .collect();
    assert_eq!(
        commands,
        [
            ("unknown", "keys rotate --batch 1"),
            (
                "unknown",
                format!("kyc decide {} verified", ids2.user).as_str()
            ),
            ("unknown", format!("kyc decide {user} rejected").as_str()),
            ("unknown", "program create --name acme"),
        ]
    );

    let _ = store.connection().clone().close().await;
    db.drop_database().await;
}

/// `program rotate-hmac|revoke-hmac|disable|enable`, each recorded with who ran it.
async fn credential_lifecycle_commands(backend: Backend) {
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
    let (ok, stdout, stderr) = onboard_as(
        &env,
        &["program", "create", "--name", "acme", "--json"],
        Some("carol"),
    );
    assert!(ok, "{stderr}");
    let created: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let program = created["program_id"].as_str().unwrap().to_owned();
    let first = created["hmac_username"].as_str().unwrap().to_owned();
    let keyring = Keyring::new([("k1".to_owned(), k1)], "k1", blind).unwrap();
    let store = db.store(keyring).await.unwrap();

    // Rotated with an overlap, as JSON: the old username stays valid beside the new one.
    let (ok, stdout, stderr) = onboard_as(
        &env,
        &[
            "program",
            "rotate-hmac",
            &program,
            "--overlap",
            "1h",
            "--json",
            "--actor",
            "alice",
        ],
        Some("carol"),
    );
    assert!(ok, "{stderr}");
    let rotated: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let keys: Vec<&str> = rotated
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "hmac_secret",
            "hmac_username",
            "old_valid_until",
            "program_id",
            "retiring"
        ]
    );
    assert_eq!(rotated["retiring"], serde_json::json!([first]));
    let second = rotated["hmac_username"].as_str().unwrap().to_owned();
    let secret = rotated["hmac_secret"].as_str().unwrap();
    assert!(!stderr.contains(secret), "secrets never reach the log");
    let got = store.hmac_credential(&second).await.unwrap().unwrap();
    assert_eq!(got.secret.expose(), secret);
    assert!(store.hmac_credential(&first).await.unwrap().is_some());
    let (ok, stdout, _) = onboard(&env, &["program", "list"]);
    assert!(
        ok && stdout.contains(&format!("{first} (until ")),
        "{stdout}"
    );

    // Without overlap, as the exports: every earlier username stops at once.
    let (ok, stdout, stderr) = onboard_as(
        &env,
        &["program", "rotate-hmac", &program, "--overlap", "0"],
        Some("carol"),
    );
    assert!(ok, "{stderr}");
    let third = stdout
        .lines()
        .find_map(|l| l.strip_prefix("export ONBOARD_HMAC_USERNAME="))
        .unwrap()
        .to_owned();
    assert!(stdout.contains("export ONBOARD_HMAC_SECRET="), "{stdout}");
    assert!(store.hmac_credential(&first).await.unwrap().is_none());
    assert!(store.hmac_credential(&second).await.unwrap().is_none());
    assert!(store.hmac_credential(&third).await.unwrap().is_some());

    let (ok, _, stderr) = onboard_as(&env, &["program", "revoke-hmac", &third], Some("carol"));
    assert!(ok, "{stderr}");
    assert!(store.hmac_credential(&third).await.unwrap().is_none());
    let (ok, _, stderr) = onboard(&env, &["program", "revoke-hmac", &third]);
    assert!(
        !ok && stderr.contains("hmac credential does not exist"),
        "{stderr}"
    );

    // Disabled, then enabled again.
    let (ok, stdout, stderr) = onboard_as(
        &env,
        &["program", "rotate-hmac", &program, "--json"],
        Some("carol"),
    );
    assert!(ok, "{stderr}");
    let fourth: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let fourth = fourth["hmac_username"].as_str().unwrap();
    let api_key = created["api_key"].as_str().unwrap();
    let (ok, stdout, stderr) = onboard_as(&env, &["program", "disable", &program], Some("dave"));
    assert!(ok && stdout.contains("disabled"), "{stdout}{stderr}");
    assert!(store.verify_api_key(api_key).await.unwrap().is_none());
    assert!(store.hmac_credential(fourth).await.unwrap().is_none());
    let (ok, stdout, _) = onboard(&env, &["program", "list"]);
    assert!(ok && stdout.contains("DISABLED since"), "{stdout}");
    let (ok, stdout, stderr) = onboard_as(&env, &["program", "enable", &program], Some("dave"));
    assert!(ok && stdout.contains("enabled"), "{stdout}{stderr}");
    assert!(store.verify_api_key(api_key).await.unwrap().is_some());
    assert!(store.hmac_credential(fourth).await.unwrap().is_some());

    // Refusals change and record nothing.
    let (ok, _, stderr) = onboard(
        &env,
        &["program", "rotate-hmac", &program, "--overlap", "soon"],
    );
    assert!(!ok && stderr.contains("24h"), "{stderr}");
    let (ok, _, _) = onboard(&env, &["program", "disable", "prog-nope"]);
    assert!(!ok);

    let actions = store.operator_actions(20).await.unwrap();
    let recorded: Vec<(&str, String)> = actions
        .iter()
        .rev()
        .map(|a| (a.action.actor.as_str(), a.action.command.clone()))
        .collect();
    assert_eq!(
        recorded,
        [
            ("carol", "program create --name acme".to_owned()),
            (
                "alice",
                format!("program rotate-hmac {program} --overlap 3600s")
            ),
            (
                "carol",
                format!("program rotate-hmac {program} --overlap 0s")
            ),
            ("carol", format!("program revoke-hmac {third}")),
            (
                "carol",
                format!("program rotate-hmac {program} --overlap 86400s")
            ),
            ("dave", format!("program disable {program}")),
            ("dave", format!("program enable {program}")),
        ]
    );
    let _ = store.connection().clone().close().await;
    db.drop_database().await;
}

#[tokio::test]
async fn credential_lifecycle_commands_sqlite() {
    credential_lifecycle_commands(Backend::Sqlite).await;
}

#[tokio::test]
async fn credential_lifecycle_commands_postgres() {
    credential_lifecycle_commands(Backend::Postgres).await;
}

#[tokio::test]
async fn credential_lifecycle_commands_mysql() {
    credential_lifecycle_commands(Backend::Mysql).await;
}

/// A configuration value outside its field's choices refuses to start, naming the field and
/// the allowed values (it used to mean the default silently).
#[test]
fn unknown_configuration_values_refuse_to_start() {
    for (variable, value, expected) in [
        (
            "ONBOARD_KYC_VERIFIER",
            "sandbx",
            "kyc_verifier = \"sandbx\" is not one of the allowed values: manual, sandbox",
        ),
        (
            "ONBOARD_LOG_FORMAT",
            "xml",
            "log_format = \"xml\" is not one of the allowed values: json, pretty",
        ),
        (
            "ONBOARD_SQLITE_SYNCHRONOUS",
            "off",
            "sqlite_synchronous = \"off\" is not one of the allowed values: full, normal",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_onboard"))
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("DATABASE_URL", "sqlite::memory:")
            .env(variable, value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{variable}: {stderr}");
        assert!(stderr.contains(expected), "{variable}: {stderr}");
    }
}

#[tokio::test]
async fn operator_commands_sqlite() {
    operator_commands(Backend::Sqlite).await;
}

#[tokio::test]
async fn operator_commands_postgres() {
    operator_commands(Backend::Postgres).await;
}

#[tokio::test]
async fn operator_commands_mysql() {
    operator_commands(Backend::Mysql).await;
}

/// Kills the server child when the test ends, however it ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `onboard serve`, then `onboard call` as the README shows it: a signed create from the
/// example file, a read from standard input, and a refusal printed with a failing exit.
#[tokio::test]
async fn call_signs_requests_to_a_running_server() {
    use std::io::Write as _;
    use std::process::Stdio;

    let Some(db) = TestDatabase::create(Backend::Sqlite).await.unwrap() else {
        return;
    };
    let env = Env {
        url: db.url.clone(),
        data_keys: format!("k1:{}", SecretKey::generate().unwrap().to_base64().as_str()),
        blind: SecretKey::generate().unwrap().to_base64().to_string(),
    };
    let (ok, stdout, stderr) = onboard(&env, &["program", "create", "--name", "cli", "--json"]);
    assert!(ok, "{stderr}");
    let creds: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_onboard"))
            .args(["serve", "--bind", &addr])
            .env("DATABASE_URL", &env.url)
            .env("ONBOARD_DATA_KEYS", &env.data_keys)
            .env("ONBOARD_ACTIVE_KEY", "k1")
            .env("ONBOARD_BLIND_INDEX_KEY", &env.blind)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(std::time::Instant::now() < deadline, "serve never listened");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let call = |args: &[&str], stdin: Option<&str>| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_onboard"))
            .arg("call")
            .args(args)
            .env("ONBOARD_URL", format!("http://{addr}"))
            .env("ONBOARD_API_KEY", creds["api_key"].as_str().unwrap())
            .env(
                "ONBOARD_HMAC_USERNAME",
                creds["hmac_username"].as_str().unwrap(),
            )
            .env(
                "ONBOARD_HMAC_SECRET",
                creds["hmac_secret"].as_str().unwrap(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
        drop(input);
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let example = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/create-user.json"
    );

    let (ok, out) = call(&["/api/v3/user/create", example], None);
    assert!(ok, "{out}");
    let (status, body) = out.split_once('\n').unwrap();
    assert_eq!(status, "HTTP 200");
    let created: serde_json::Value = serde_json::from_str(body).unwrap();
    let id = created["data"]["items"][0]["id"].as_str().unwrap();
    assert_eq!(created["data"]["items"][0]["ssn_last_4"], "6789");

    let (ok, out) = call(
        &["/api/v4/user/get", "-"],
        Some(&format!(r#"{{"user_id":"{id}"}}"#)),
    );
    assert!(ok && out.contains(id), "{out}");

    let (ok, out) = call(&["/api/v3/user/create", example], None);
    assert!(!ok, "a refusal fails the command");
    assert!(
        out.starts_with("HTTP 409") && out.contains("\"duplicate\""),
        "{out}"
    );
    db.drop_database().await;
}
