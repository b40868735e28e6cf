//! `Client` against a tiny local HTTP server: what it sends verifies as the server verifies it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use client::signing::{self, Authorization};
use client::{CLIENT_SIGNED, CLIENT_SIGNED_IDEMPOTENT, Client};

const SECRET: &str = "s3cr3t-0123456789abcdef";
const API_KEY: &str = "onb_test_key";

/// A whole HTTP/1.1 response closing its connection.
fn answer(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn ok() -> String {
    answer(
        "200 OK",
        "content-type: application/json\r\nx-extra: 1\r\n",
        "{\"ok\":true}",
    )
}

/// One request as the server received it.
#[derive(Debug)]
struct Received {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn count(&self, name: &str) -> usize {
        self.headers.iter().filter(|(k, _)| k == name).count()
    }

    /// What the server's verifier does: parse, rebuild, verify, check the digest.
    fn verify(&self) -> Authorization {
        let (method, rest) = self.request_line.split_once(' ').unwrap();
        let (target, version) = rest.rsplit_once(' ').unwrap();
        assert_eq!(version, "HTTP/1.1");
        let auth = Authorization::parse(&self.header("authorization").unwrap()).unwrap();
        assert_eq!(auth.username, "acme");
        let names: Vec<&str> = auth.headers.iter().map(String::as_str).collect();
        let text = signing::signing_string(method, target, &names, |n| self.header(n)).unwrap();
        assert!(
            signing::verify(SECRET.as_bytes(), &text, &auth.signature),
            "the signature verifies over {text:?}"
        );
        assert_eq!(
            self.header("content-sha512").unwrap(),
            signing::content_sha512(&self.body)
        );
        assert_eq!(
            self.header("content-length").unwrap(),
            self.body.len().to_string()
        );
        assert!(signing::parse_x_date(&self.header("x-date").unwrap()).is_some());
        auth
    }
}

/// A server answering each connection with the next canned response; it reports every
/// request it read.
fn serve(responses: Vec<String>) -> (String, mpsc::Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for response in responses {
            let (mut stream, _) = listener.accept().unwrap();
            stream
                .set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let received = read_request(&mut stream);
            tx.send(received).unwrap();
            stream.write_all(response.as_bytes()).unwrap();
        }
    });
    (format!("http://{addr}"), rx)
}

fn read_request(stream: &mut TcpStream) -> Received {
    let mut buf = Vec::new();
    let mut chunk = [0_u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the client closed the connection early");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap().to_owned();
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_ascii_lowercase(), v.trim().to_owned())
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "the client closed the connection mid-body");
        body.extend_from_slice(&chunk[..n]);
    }
    Received {
        request_line,
        headers,
        body,
    }
}

fn received(rx: &mpsc::Receiver<Received>) -> Received {
    rx.recv_timeout(Duration::from_secs(10)).unwrap()
}

#[tokio::test]
async fn a_post_is_signed_as_the_server_verifies_it() {
    let (url, rx) = serve(vec![ok()]);
    // A base URL with a path prefix and a trailing slash; a path with a query.
    let client = Client::new(&format!("{url}/prefix/"), API_KEY, "acme", SECRET);
    let body = "{\"search\": \"Zoë Ångström\"}".as_bytes();
    let resp = client
        .post("/api/v3/user/get-all?page=2", body, Some("key-1"))
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"{\"ok\":true}");
    assert_eq!(resp.header("X-Extra"), Some("1"));
    assert_eq!(resp.json().unwrap()["ok"], true);

    let req = received(&rx);
    assert_eq!(
        req.request_line,
        "POST /prefix/api/v3/user/get-all?page=2 HTTP/1.1"
    );
    assert_eq!(req.body, body);
    let auth = req.verify();
    assert_eq!(auth.headers, CLIENT_SIGNED_IDEMPOTENT, "the key is signed");
    assert_eq!(req.header("api_key").as_deref(), Some(API_KEY));
    assert_eq!(
        req.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(req.header("idempotency-key").as_deref(), Some("key-1"));
    for name in [
        "content-length",
        "authorization",
        "x-date",
        "api_key",
        "idempotency-key",
    ] {
        assert_eq!(req.count(name), 1, "{name} is sent once");
    }
}

#[tokio::test]
async fn an_empty_body_is_signed_with_a_zero_length() {
    let (url, rx) = serve(vec![ok()]);
    let client = Client::new(&url, API_KEY, "acme", SECRET);
    let resp = client.post("api/v3/user/get-all", b"", None).await.unwrap();
    assert_eq!(resp.status, 200);
    let req = received(&rx);
    assert_eq!(req.request_line, "POST /api/v3/user/get-all HTTP/1.1");
    assert!(req.body.is_empty());
    assert_eq!(req.header("content-length").as_deref(), Some("0"));
    assert_eq!(req.verify().headers, CLIENT_SIGNED);
    assert_eq!(req.header("idempotency-key"), None);
}

#[tokio::test]
async fn post_json_sends_the_serialised_value() {
    let (url, rx) = serve(vec![ok()]);
    let client = Client::new(&url, API_KEY, "acme", SECRET);
    let value = serde_json::json!({"email": "jane.doe@example.com"});
    client
        .post_json("/api/v3/user/create", &value)
        .await
        .unwrap();
    let req = received(&rx);
    req.verify();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&req.body).unwrap(),
        value
    );
}

#[tokio::test]
async fn post_idempotent_retries_with_one_key_and_fresh_signatures() {
    let json = "content-type: application/json\r\n";
    let (url, rx) = serve(vec![
        answer(
            "503 Service Unavailable",
            &format!("{json}retry-after: 0\r\n"),
            "{}",
        ),
        answer(
            "409 Conflict",
            json,
            r#"{"status":"error","message":"busy","errors":[{"code":"idempotency_in_progress","message":"still busy"}]}"#,
        ),
        ok(),
    ]);
    let client = Client::new(&url, API_KEY, "acme", SECRET);
    let resp = client
        .post_idempotent("/api/v3/user/create", b"{\"a\":1}", 5)
        .await
        .unwrap();
    assert_eq!(resp.status, 200);

    let requests: Vec<Received> = (0..3).map(|_| received(&rx)).collect();
    let keys: Vec<String> = requests
        .iter()
        .map(|r| r.header("idempotency-key").unwrap())
        .collect();
    assert!(uuid::Uuid::parse_str(&keys[0]).is_ok(), "{keys:?}");
    assert!(keys.iter().all(|k| *k == keys[0]), "one key: {keys:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.verify().headers == CLIENT_SIGNED_IDEMPOTENT)
    );
    let signatures: Vec<String> = requests.iter().map(|r| r.verify().signature).collect();
    let dates: Vec<String> = requests
        .iter()
        .map(|r| r.header("x-date").unwrap())
        .collect();
    for i in 1..3 {
        assert_ne!(dates[i], dates[i - 1], "a fresh date per attempt");
        assert_ne!(
            signatures[i],
            signatures[i - 1],
            "a fresh signature per attempt"
        );
    }
}

#[tokio::test]
async fn post_idempotent_stops_at_max_attempts_and_on_final_answers() {
    let unavailable = answer("500 Internal Server Error", "", "");
    let invalid = answer("422 Unprocessable Entity", "", "{}");
    let (url, rx) = serve(vec![unavailable.clone(), unavailable, invalid]);
    let client = Client::new(&url, API_KEY, "acme", SECRET);
    let resp = client.post_idempotent("/p", b"{}", 2).await.unwrap();
    assert_eq!(resp.status, 500, "two attempts, the last answer returned");
    let resp = client.post_idempotent("/p", b"{}", 5).await.unwrap();
    assert_eq!(resp.status, 422, "a 422 is not retried");
    assert_eq!(rx.try_iter().count(), 3);
}

#[tokio::test]
async fn transport_errors_and_bad_urls_are_errors() {
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(&format!("http://127.0.0.1:{port}"), API_KEY, "acme", SECRET);
    let err = client.post_idempotent("/p", b"{}", 2).await.unwrap_err();
    assert!(matches!(err, client::ClientError::Transport(_)), "{err}");
    let client = Client::new("not a url", API_KEY, "acme", SECRET);
    let err = client.post("/p", b"{}", None).await.unwrap_err();
    assert!(matches!(err, client::ClientError::InvalidUrl(_)), "{err}");
}

/// A redirect is not followed: the API key and the body never go where a 3xx points, and
/// the 3xx is what the caller gets.
#[tokio::test]
async fn redirects_are_not_followed() {
    let (elsewhere, stolen) = serve(vec![ok()]);
    let (url, rx) = serve(vec![answer(
        "307 Temporary Redirect",
        &format!("location: {elsewhere}/steal\r\n"),
        "",
    )]);
    let client = Client::new(&url, API_KEY, "acme", SECRET);
    let resp = client
        .post_idempotent("/api/v3/user/create", b"{\"ssn\":\"1\"}", 3)
        .await
        .unwrap();
    assert_eq!(resp.status, 307);
    assert_eq!(
        resp.header("location"),
        Some(format!("{elsewhere}/steal").as_str())
    );
    received(&rx);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        stolen.try_recv().is_err(),
        "nothing was sent where the redirect pointed"
    );
}
