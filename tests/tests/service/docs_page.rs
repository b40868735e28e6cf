//! `GET /docs` in a real browser: headless Chromium (Debian's package, installed by
//! `.ci/run`) loads the page from the running service and renders the `user/create`
//! operation, with nothing fetched from outside the service.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use storage::testing::Backend;
use tests::note;

const CHROMIUM: &str = "/usr/bin/chromium";
/// Wall-clock ceiling of one browser run.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);

/// The DOM after scripts ran, as Chromium dumps it (flags for a closed network: no
/// background connections, no component updates, a fresh profile).
fn rendered_dom(url: &str) -> String {
    let profile = tempfile_dir();
    // The DOM goes to a file, not a pipe: nobody reads a pipe while we wait, and a page
    // larger than the pipe's buffer would block the browser.
    let dump_path = profile.with_extension("html");
    let dump = std::fs::File::create(&dump_path).expect("creating the DOM file");
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
            // Any host but the service's fails to resolve: the page must render offline.
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            &format!("--user-data-dir={}", profile.display()),
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ])
        .stdin(Stdio::null())
        .stdout(dump)
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromium");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("waiting for chromium").is_some() {
            break;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within {BROWSER_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let dom = std::fs::read_to_string(&dump_path).expect("reading the DOM");
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_file(&dump_path);
    dom
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("onboard-chromium-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("creating the browser profile");
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_renders_the_create_user_operation() {
    if !std::path::Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{CHROMIUM} is missing: .ci/run installs Debian's chromium"
        );
        note("skipped: chromium is not installed (.ci/install-chromium.sh installs it)");
        return;
    }
    let app = tests::spawn_app(Backend::Sqlite)
        .await
        .expect("SQLite is always available");

    // The page and the script that configures it refer to nothing outside the service.
    let http = reqwest::Client::new();
    for asset in ["/docs/", "/docs/swagger-initializer.js"] {
        let resp = http
            .get(format!("{}{asset}", app.base_url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{asset}");
        let text = resp.text().await.unwrap();
        for external in ["http://", "https://", "//cdn", "//unpkg"] {
            assert!(
                !text.contains(external),
                "{asset} refers to something outside the service ({external}): {text}"
            );
        }
    }

    let url = format!("{}/docs/", app.base_url);
    let dom = tokio::task::spawn_blocking(move || rendered_dom(&url))
        .await
        .unwrap();
    assert!(
        dom.contains("swagger-ui"),
        "Swagger UI did not start: {}",
        &dom[..dom.len().min(2000)]
    );
    for rendered in [
        "opblock-summary-path",
        "/api/v3/user/create",
        "/api/v4/user/create",
        "/api/v3/business/customers/get-all",
    ] {
        assert!(
            dom.contains(rendered),
            "{rendered} is not on the rendered page: {}",
            &dom[..dom.len().min(4000)]
        );
    }
    app.cleanup().await;
}
