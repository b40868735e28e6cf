//! `onboard operator …` as an administrator runs it (SPEC §10), on SQLite: `create --json`
//! prints exactly `{"operator_id","email","role","password","totp_secret"}` (the secret as
//! base32, the password and secret never in the log), the printed password and a code from
//! the printed secret verify, `disable` refuses the login, `enable` restores it, `reset`
//! issues new ones, a duplicate email and an unknown role are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use std::process::Command;

use storage::testing::{Backend, TestDatabase};
use storage::{Keyring, SecretKey, SqlStore};

struct Env {
    url: String,
    data_keys: String,
    blind: String,
}

fn onboard(env: &Env, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_onboard"))
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

/// Decodes RFC 4648 base32 (no padding), as an authenticator app reads the secret.
fn base32(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text.bytes() {
        let v = ALPHABET.iter().position(|a| *a == c).unwrap();
        value = (value << 5) | u32::try_from(v).unwrap();
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((value >> bits) & 0xff).unwrap());
        }
    }
    out
}

#[tokio::test]
async fn operators_are_created_disabled_enabled_and_reset() {
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let (k1, blind) = (
        SecretKey::generate().unwrap(),
        SecretKey::generate().unwrap(),
    );
    let env = Env {
        url: db.url.clone(),
        data_keys: format!("k1:{}", k1.to_base64().as_str()),
        blind: blind.to_base64().to_string(),
    };
    let (ok, stdout, stderr) = onboard(
        &env,
        &[
            "operator",
            "create",
            "--email",
            "rita@example.com",
            "--role",
            "reviewer",
            "--json",
        ],
    );
    assert!(ok, "{stderr}");
    let created: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let mut keys: Vec<&str> = created
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["email", "operator_id", "password", "role", "totp_secret"]
    );
    assert_eq!(created["email"], "rita@example.com");
    assert_eq!(created["role"], "reviewer");
    assert!(created["operator_id"].as_str().unwrap().starts_with("opr-"));
    let password = created["password"].as_str().unwrap().to_owned();
    let secret = created["totp_secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 32, "160 bits in base32");
    assert!(
        !stderr.contains(&password) && !stderr.contains(&secret),
        "{stderr}"
    );

    let keyring = Keyring::new([("k1".to_owned(), k1)], "k1", blind).unwrap();
    let store = SqlStore::open(&storage::DatabaseConfig::new(db.url.clone()), keyring)
        .await
        .unwrap();
    let verified = store
        .verify_operator_password("rita@example.com", &password)
        .await
        .unwrap()
        .expect("the printed password verifies");
    assert_eq!(verified.totp_secret.as_slice(), base32(&secret).as_slice());
    let now = 1_800_000_000;
    let code = api::console::totp::code_at(&base32(&secret), now).unwrap();
    assert!(api::console::totp::check(&verified.totp_secret, &code, now).is_some());

    // Without --json: the otpauth URI too.
    let (ok, stdout, stderr) = onboard(
        &env,
        &[
            "operator",
            "create",
            "--email",
            "ada@example.com",
            "--role",
            "admin",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("otpauth://totp/Onboard:ada%40example.com?secret="),
        "{stdout}"
    );

    let (ok, _, stderr) = onboard(
        &env,
        &[
            "operator",
            "create",
            "--email",
            "RITA@example.com",
            "--role",
            "viewer",
        ],
    );
    assert!(!ok && stderr.contains("email"), "{stderr}");
    let (ok, _, _) = onboard(
        &env,
        &[
            "operator",
            "create",
            "--email",
            "x@example.com",
            "--role",
            "root",
        ],
    );
    assert!(!ok);

    let (ok, stdout, stderr) = onboard(&env, &["operator", "disable", "rita@example.com"]);
    assert!(ok && stdout.contains("disabled"), "{stderr}");
    assert!(
        store
            .verify_operator_password("rita@example.com", &password)
            .await
            .unwrap()
            .is_none()
    );
    let id = created["operator_id"].as_str().unwrap();
    let (ok, _, stderr) = onboard(&env, &["operator", "enable", id]);
    assert!(ok, "{stderr}");
    assert!(
        store
            .verify_operator_password("rita@example.com", &password)
            .await
            .unwrap()
            .is_some()
    );

    let (ok, stdout, stderr) = onboard(&env, &["operator", "reset", id, "--json"]);
    assert!(ok, "{stderr}");
    let reset: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(reset["operator_id"], id);
    assert_ne!(reset["password"].as_str().unwrap(), password);
    assert!(
        store
            .verify_operator_password("rita@example.com", &password)
            .await
            .unwrap()
            .is_none()
    );
    let (ok, stdout, _) = onboard(&env, &["operator", "list"]);
    assert!(ok && stdout.contains("rita@example.com") && stdout.contains("ada@example.com"));
    let (ok, _, _) = onboard(&env, &["operator", "disable", "ghost@example.com"]);
    assert!(!ok);
    let _ = store.connection().clone().close().await;
    db.drop_database().await;
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` over plain HTTP/1.0: the status and the whole answer.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    let status = text.split(' ').nth(1)?.parse().ok()?;
    Some((status, text))
}

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_runs_the_console_on_its_own_address_only() {
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let (k1, blind) = (
        SecretKey::generate().unwrap(),
        SecretKey::generate().unwrap(),
    );
    let (api_port, console_port) = (free_port(), free_port());
    let _server = Killed(
        Command::new(env!("CARGO_BIN_EXE_onboard"))
            .args(["serve", "--bind", &format!("127.0.0.1:{api_port}")])
            .env("DATABASE_URL", &db.url)
            .env(
                "ONBOARD_DATA_KEYS",
                format!("k1:{}", k1.to_base64().as_str()),
            )
            .env("ONBOARD_ACTIVE_KEY", "k1")
            .env("ONBOARD_BLIND_INDEX_KEY", &*blind.to_base64())
            .env("ONBOARD_CONSOLE_BIND", format!("127.0.0.1:{console_port}"))
            .env("ONBOARD_CONSOLE_INSECURE_COOKIES", "true")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut up = None;
    for _ in 0..200 {
        up = get(console_port, "/console/login");
        if up.is_some() && get(api_port, "/healthz").is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (status, page) = up.expect("the console answers on console_bind");
    assert_eq!(status, 200);
    assert!(
        page.contains("content-security-policy: default-src 'none'"),
        "{page}"
    );
    assert!(page.contains("cache-control: no-store"));
    let login_cookie = page
        .lines()
        .find(|l| l.starts_with("set-cookie: onboard_console_login="))
        .unwrap();
    assert!(
        !login_cookie.contains("Secure"),
        "console_insecure_cookies: {login_cookie}"
    );
    assert_eq!(get(api_port, "/healthz").unwrap().0, 200);
    assert_eq!(get(api_port, "/console/login").unwrap().0, 404);
    assert_eq!(get(console_port, "/healthz").unwrap().0, 404);
    assert_eq!(get(console_port, "/openapi.json").unwrap().0, 404);
    db.drop_database().await;
}
