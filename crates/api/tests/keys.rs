//! Keys that cannot silently diverge (SPEC §5), with the real binary on SQLite: a second
//! directory with no key file, or with a key file of its own, is refused — by every command,
//! and by `serve` with 503s — never answered with 500s; what the first start creates is
//! readable by its owner only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};

/// `onboard ARGS` run in `dir` with `DATABASE_URL=url` and no key in the environment.
fn onboard(dir: &Path, url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_onboard"));
    command
        .args(args)
        .current_dir(dir)
        .env("DATABASE_URL", url)
        .env("ONBOARD_LOG_FORMAT", "json")
        .env_remove("ONBOARD_DATA_KEYS")
        .env_remove("ONBOARD_ACTIVE_KEY")
        .env_remove("ONBOARD_BLIND_INDEX_KEY")
        .env_remove("ONBOARD_KEY_FILE")
        .env_remove("ONBOARD_CONFIG");
    command
}

fn run(dir: &Path, url: &str, args: &[&str]) -> (bool, String) {
    let out = onboard(dir, url, args).output().unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A plain HTTP/1.1 exchange: the status and the body.
fn http(addr: &str, request: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

#[test]
fn a_second_key_file_is_refused_not_answered_with_500s() {
    let root = std::env::temp_dir().join(format!("onboard-keys-{}", uuid::Uuid::now_v7()));
    let (first, second) = (root.join("first"), root.join("second"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    let db = first.join("data/onboard.sqlite");
    let url = format!("sqlite://{}?mode=rwc", db.display());

    // The newcomer's first command on an empty database creates the keys and the files,
    // readable by their owner only.
    let (ok, out) = run(
        &first,
        &url,
        &["program", "create", "--name", "first", "--json"],
    );
    assert!(ok, "{out}");
    let key_file = first.join("data/keys.toml");
    assert!(key_file.exists());
    #[cfg(unix)]
    {
        assert_eq!(mode(&first.join("data")), 0o700);
        assert_eq!(mode(&key_file), 0o600);
        assert_eq!(mode(&db), 0o600);
    }
    let key_id = std::fs::read_to_string(&key_file)
        .unwrap()
        .lines()
        .find_map(|l| {
            l.strip_prefix("active_key = \"")
                .map(|v| v.trim_end_matches('"').to_owned())
        })
        .unwrap();
    assert!(
        key_id.starts_with('k') && key_id != "k1",
        "a random key id: {key_id}"
    );

    // Another directory, same database, no key file: refused, and no key file is created.
    let (ok, out) = run(&second, &url, &["program", "create", "--name", "second"]);
    assert!(!ok, "{out}");
    assert!(out.contains("no encryption keys are configured"), "{out}");
    assert!(out.contains("keys init"), "{out}");
    assert!(!second.join("data/keys.toml").exists());

    // With a key file of its own (`keys init`): refused, naming what differs.
    let (ok, out) = run(&second, &url, &["keys", "init"]);
    assert!(ok, "{out}");
    let (ok, again) = run(&second, &url, &["keys", "init"]);
    assert!(!ok && again.contains("already exists"), "{again}");
    let (ok, out) = run(&second, &url, &["program", "list"]);
    assert!(!ok, "{out}");
    assert!(out.contains("blind-index key is not the one"), "{out}");

    // `serve` there: up, but not ready, and every API request is a 503, never a 500.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let _server = Server(
        onboard(&second, &url, &["serve", "--bind", &addr])
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
    let (status, body) = http(
        &addr,
        "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("keys_mismatch"), "{body}");
    let (status, body) = http(
        &addr,
        "POST /api/v3/user/get HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    );
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("keys_mismatch"), "{body}");

    // The first directory still works.
    let (ok, out) = run(&first, &url, &["program", "list"]);
    assert!(ok && out.contains("first"), "{out}");
    let _ = std::fs::remove_dir_all(&root);
}
