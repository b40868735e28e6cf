//! A small driver of headless Chromium over the DevTools protocol (one WebSocket, blocking):
//! open a page, navigate, run a line of JavaScript in it (the test's hands: filling a form,
//! clicking a button — the pages themselves run none), wait for the next document, and take
//! a PNG screenshot.

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// Where Debian installs Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A headless Chromium with one page attached.
#[allow(missing_debug_implementations)]
pub struct Chromium {
    child: Child,
    profile: std::path::PathBuf,
    ws: WebSocket<TcpStream>,
    session: String,
    next_id: u64,
}

impl Chromium {
    /// Starts Chromium (a fresh profile, no network but loopback) and opens a blank page.
    pub fn start() -> Self {
        let profile = std::env::temp_dir().join(format!("onboard-cdp-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&profile).unwrap();
        let mut child = Command::new(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                &format!("--user-data-dir={}", profile.display()),
                "about:blank",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting chromium");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("chromium announces its DevTools address");
        let rest = url.strip_prefix("ws://").unwrap();
        let host = rest.split('/').next().unwrap().to_owned();
        let stream = TcpStream::connect(&host).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let (ws, _) = tungstenite::client(url.as_str(), stream).expect("the DevTools WebSocket");
        let mut browser = Self {
            child,
            profile,
            ws,
            session: String::new(),
            next_id: 0,
        };
        let target = browser.call(None, "Target.createTarget", &json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_owned();
        let attached = browser.call(
            None,
            "Target.attachToTarget",
            &json!({"targetId": target_id, "flatten": true}),
        );
        attached["sessionId"]
            .as_str()
            .unwrap()
            .clone_into(&mut browser.session);
        browser.page("Page.enable", &json!({}));
        browser.page("Runtime.enable", &json!({}));
        browser
    }

    fn call(&mut self, session: Option<&str>, method: &str, params: &Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if let Some(s) = session {
            msg["sessionId"] = json!(s);
        }
        self.ws.send(Message::text(msg.to_string())).unwrap();
        loop {
            let Message::Text(text) = self.ws.read().expect("a DevTools message") else {
                continue;
            };
            let answer: Value = serde_json::from_str(text.as_str()).unwrap();
            if answer["id"] == json!(id) {
                assert!(answer.get("error").is_none(), "{method}: {answer}");
                return answer["result"].clone();
            }
        }
    }

    fn page(&mut self, method: &str, params: &Value) -> Value {
        let session = self.session.clone();
        self.call(Some(&session), method, params)
    }

    /// Evaluates `js` in the page; answers its value.
    pub fn eval(&mut self, js: &str) -> Value {
        let out = self.page(
            "Runtime.evaluate",
            &json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
        );
        assert!(out.get("exceptionDetails").is_none(), "{js}: {out}");
        out["result"]["value"].clone()
    }

    /// Waits until a new document (one without the marker `before` set) has loaded.
    fn wait_for_new_document(&mut self) {
        let started = Instant::now();
        loop {
            let ready = self.eval(
                "(window.__onboardMarker === undefined && document.readyState === 'complete')",
            );
            if ready == json!(true) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the page did not load"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Navigates to `url` and waits for it.
    pub fn goto(&mut self, url: &str) {
        self.eval("window.__onboardMarker = 1");
        self.page("Page.navigate", &json!({"url": url}));
        self.wait_for_new_document();
    }

    /// Runs `js` (that submits a form or follows a link) and waits for the next document.
    pub fn act(&mut self, js: &str) {
        self.eval(&format!("window.__onboardMarker = 1; {js}"));
        self.wait_for_new_document();
    }

    /// The page's URL.
    pub fn url(&mut self) -> String {
        self.eval("location.href")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The page's HTML.
    pub fn html(&mut self) -> String {
        self.eval("document.documentElement.outerHTML")
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// A PNG of the whole page.
    pub fn screenshot(&mut self, path: &std::path::Path) {
        let shot = self.page(
            "Page.captureScreenshot",
            &json!({"format": "png", "captureBeyondViewport": true}),
        );
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
