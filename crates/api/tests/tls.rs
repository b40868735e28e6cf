//! HTTPS in process: `onboard serve` with `tls_cert_file` and `tls_key_file` answers over TLS
//! with a certificate a client verifies against the test CA (`fixtures/tls/`), serves a renewed
//! certificate without a restart, and refuses to start with half a configuration or a key
//! that does not fit the certificate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use storage::SecretKey;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "onboard-tls-{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7().simple()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Installs server certificate `n` as `dir/cert.pem` and `dir/key.pem`, each by a rename (as a
/// certificate manager renews them).
fn install(dir: &Path, n: u32) {
    for (from, to) in [
        (format!("server{n}.key"), "key.pem"),
        (format!("server{n}.pem"), "cert.pem"),
    ] {
        let tmp = dir.join(format!("{to}.tmp"));
        std::fs::copy(fixture(&from), &tmp).unwrap();
        std::fs::rename(&tmp, dir.join(to)).unwrap();
    }
}

fn der(name: &str) -> Vec<u8> {
    CertificateDer::from_pem_file(fixture(name))
        .unwrap()
        .to_vec()
}

fn onboard(dir: &Path, cert: Option<&Path>, key: Option<&Path>, port: u16) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_onboard"));
    command
        .arg("serve")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/onboard.sqlite?mode=rwc", dir.display()),
        )
        .env("ONBOARD_BIND", format!("127.0.0.1:{port}"))
        .env(
            "ONBOARD_DATA_KEYS",
            format!("k1:{}", SecretKey::generate().unwrap().to_base64().as_str()),
        )
        .env("ONBOARD_ACTIVE_KEY", "k1")
        .env(
            "ONBOARD_BLIND_INDEX_KEY",
            SecretKey::generate().unwrap().to_base64().as_str(),
        )
        .env("ONBOARD_LOG_FORMAT", "json")
        .env_remove("ONBOARD_TLS_CERT_FILE")
        .env_remove("ONBOARD_TLS_KEY_FILE");
    if let Some(cert) = cert {
        command.env("ONBOARD_TLS_CERT_FILE", cert);
    }
    if let Some(key) = key {
        command.env("ONBOARD_TLS_KEY_FILE", key);
    }
    command
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A client that trusts `roots` only.
fn connector(roots: RootCertStore) -> TlsConnector {
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Every connection a full handshake: a resumed session shows the certificate of the
    // session it resumes, not the one served now.
    config.resumption = tokio_rustls::rustls::client::Resumption::disabled();
    TlsConnector::from(Arc::new(config))
}

fn test_ca() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(fixture("ca.pem")).unwrap())
        .unwrap();
    roots
}

/// `GET /healthz` over TLS to `localhost`: the status line and the certificate served.
async fn get_healthz(port: u16, tls: &TlsConnector) -> std::io::Result<(String, Vec<u8>)> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut stream = tls.connect(name, tcp).await?;
    let served = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .map(|c| c.to_vec())
        .unwrap_or_default();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await?;
    let text = String::from_utf8_lossy(&answer);
    Ok((text.lines().next().unwrap_or_default().to_owned(), served))
}

#[tokio::test]
async fn serves_https_and_a_renewed_certificate_without_a_restart() {
    let dir = scratch("serve");
    install(&dir, 1);
    let port = free_port();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let _server = Server(
        onboard(&dir, Some(&cert), Some(&key), port)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let trusted = connector(test_ca());
    let started = Instant::now();
    let (status, served) = loop {
        match get_healthz(port, &trusted).await {
            Ok(answer) => break answer,
            Err(e) => {
                assert!(
                    started.elapsed() < Duration::from_secs(30),
                    "never served: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(served, der("server1.pem"));

    // A client that does not trust the test CA refuses the certificate.
    let untrusting = connector(RootCertStore::empty());
    let refused = get_healthz(port, &untrusting).await.unwrap_err();
    assert!(refused.to_string().contains("UnknownIssuer"), "{refused}");
    // Plain HTTP gets no answer.
    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer).await;
    assert!(
        !answer.starts_with(b"HTTP/1.1 200"),
        "answered in the clear"
    );

    // The certificate is renewed on disk: served within a few seconds, no restart.
    install(&dir, 2);
    let renewed = Instant::now();
    loop {
        let (status, served) = get_healthz(port, &trusted).await.unwrap();
        assert_eq!(status, "HTTP/1.1 200 OK");
        if served == der("server2.pem") {
            break;
        }
        assert!(
            renewed.elapsed() < Duration::from_secs(20),
            "the renewed certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_half_a_configuration_and_a_key_of_another_certificate() {
    let dir = scratch("refuse");
    let cases = [
        (
            Some(fixture("server1.pem")),
            None,
            "tls_cert_file and tls_key_file go together",
        ),
        (
            Some(fixture("server1.pem")),
            Some(fixture("server2.key")),
            "tls_key_file does not fit tls_cert_file",
        ),
        (
            Some(fixture("ca.pem")),
            Some(fixture("README.md")),
            "README.md",
        ),
    ];
    for (cert, key, expected) in cases {
        let out = onboard(&dir, cert.as_deref(), key.as_deref(), free_port())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "started with {cert:?} {key:?}");
        assert!(stderr.contains(expected), "{expected:?} not in: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
