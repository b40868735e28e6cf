//! The console's operator management and business actions in a real browser (headless
//! Chromium over the DevTools protocol, as `console_browser`): an admin creates a reviewer on
//! the operators page, reads the one-time password and TOTP secret off the answer page, and
//! that reviewer logs in with them; the reviewer is refused the operators page (403) and
//! blocks a business, which the API's answer then shows; the audit page lists the actions.
//! With `ONBOARD_CONSOLE_SCREENSHOTS=DIR` it saves the pages it adds to `docs/console/`.

use std::path::PathBuf;

use domain::OperatorRole;
use serde_json::{Value, json};
use storage::BusinessLifecycle as _;
use storage::console::OperatorRef;
use tests::cdp::{CHROMIUM, Chromium};
use tests::console::{Browser, TestConsole, TestOperator, operator};
use tests::{AppOptions, TestApp, json as parse, note, test_settings};

async fn call(app: &TestApp, path: &str, body: &Value) -> Value {
    let resp = app
        .client()
        .post_json(&format!("/api/v3{path}"), body)
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    parse(&resp.body)
}

fn js_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// Logs in through the login form with `email`, `password` and `code`.
fn log_in(b: &mut Chromium, base: &str, email: &str, password: &str, code: &str) {
    b.goto(&format!("{base}/console/login"));
    b.act(&format!(
        "document.getElementById('email').value = {e};
         document.getElementById('password').value = {p};
         document.getElementById('totp').value = {c};
         document.querySelector('form button[type=submit]').click();",
        e = js_string(email),
        p = js_string(password),
        c = js_string(code),
    ));
}

/// The text of the element with id `id`.
fn text_of(b: &mut Chromium, id: &str) -> String {
    b.eval(&format!(
        "document.getElementById({}).textContent",
        js_string(id)
    ))
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_a_reviewer_who_blocks_a_business() {
    if !std::path::Path::new(CHROMIUM).exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{CHROMIUM} is missing: .ci/run installs Debian's chromium"
        );
        note("skipped: chromium is not installed (.ci/install-chromium.sh installs it)");
        return;
    }
    let shots = std::env::var_os("ONBOARD_CONSOLE_SCREENSHOTS").map(PathBuf::from);
    let mut settings = test_settings();
    settings.kyc_verifier = std::sync::Arc::new(api::kyc::Manual);
    let options = AppOptions {
        settings,
        ..AppOptions::default()
    };
    let app = tests::spawn_app_with(storage::testing::Backend::Sqlite, options)
        .await
        .expect("SQLite is always available");
    let console = std::sync::Arc::new(TestConsole::start(&app.store, true));
    let admin = operator(&app.store, "ada@example.com", OperatorRole::Admin).await;
    let business = call(
        &app,
        "/business/create",
        &tests::business_json(domain::fixtures::SeedBusiness::new(1)),
    )
    .await["data"]["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let base = console.base_url.clone();
    let admin_code = console.next_code(&admin.secret);
    let (admin_email, admin_password) = (admin.operator.email.clone(), admin.password.clone());
    let (console_c, business_c) = (console.clone(), business.clone());
    let shown = tokio::task::spawn_blocking(move || {
        let mut b = Chromium::start();
        let shot = |b: &mut Chromium, name: &str| {
            if let Some(dir) = &shots {
                b.screenshot(&dir.join(format!("{name}.png")));
            }
        };
        log_in(&mut b, &base, &admin_email, &admin_password, &admin_code);
        assert!(b.url().ends_with("/console/kyc"), "{}", b.url());
        b.goto(&format!("{base}/console/operators"));
        let list = b.html();
        assert!(list.contains("ada@example.com") && list.contains("You cannot disable yourself"));
        b.act(
            "document.getElementById('new-email').value = 'rex@example.com';
             document.getElementById('new-role').value = 'reviewer';
             document.querySelector('form[action=\"/console/operators\"] button[type=submit]').click();",
        );
        let password = text_of(&mut b, "new-password");
        let secret = text_of(&mut b, "new-totp-secret");
        let uri = text_of(&mut b, "new-totp-uri");
        assert!(password.len() >= 20, "{}", b.html());
        assert!(
            uri.starts_with("otpauth://totp/Onboard:rex%40example.com?")
                && uri.contains(&format!("secret={secret}")),
            "{uri}"
        );
        shot(&mut b, "operator-created");
        // Shown once: the operators page never shows them again.
        b.goto(&format!("{base}/console/operators"));
        let list = b.html();
        assert!(list.contains("rex@example.com"));
        assert!(!list.contains(&password) && !list.contains(&secret));
        shot(&mut b, "operators");
        // A program disabled and enabled again: audit records, not events.
        b.goto(&format!("{base}/console/programs"));
        for _ in 0..2 {
            b.act("document.querySelector('form[action$=\"/status\"] button[type=submit]').click();");
            assert!(b.url().ends_with("/console/programs"), "{}", b.url());
        }
        b.goto(&format!("{base}/console/audit"));
        let audit = b.html();
        for action in [
            "console operator create --email rex@example.com --role reviewer",
            "console program disable prog-",
            "console program enable prog-",
        ] {
            assert!(audit.contains(action), "{action} in {audit}");
        }
        shot(&mut b, "audit");
        b.act("document.querySelector('form[action=\"/console/logout\"] button').click();");

        // The new reviewer logs in with what the page showed.
        let bytes = api::console::totp::secret_from_base32(&secret).expect("base32");
        let code = console_c.next_code(&bytes);
        log_in(&mut b, &base, "rex@example.com", &password, &code);
        assert!(b.url().ends_with("/console/kyc"), "{}", b.url());
        assert!(b.html().contains("rex@example.com"));
        // No Operators link for a reviewer, and the page itself is refused.
        assert!(!b.html().contains("href=\"/console/operators\""));
        b.goto(&format!("{base}/console/operators"));
        let refused = b.html();
        assert!(
            refused.contains("Not allowed") && refused.contains("manage_operators"),
            "{refused}"
        );
        // The reviewer blocks the business with a reason.
        b.goto(&format!("{base}/console/businesses/{business_c}"));
        b.act(
            "document.getElementById('status-reason').value = 'shell company';
             document.querySelector('form[action$=\"/status\"] button[type=submit]').click();",
        );
        assert!(
            b.url().ends_with(&format!("/console/businesses/{business_c}")),
            "{}",
            b.url()
        );
        assert!(b.html().contains("Unblock business"));
        shot(&mut b, "business");
        (password, secret)
    })
    .await;
    let (password, secret) = match shown {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    };

    // The API's answer shows the block, and its event names the reviewer.
    let rex = app
        .store
        .find_operator(&OperatorRef::parse("rex@example.com"))
        .await
        .unwrap()
        .expect("created through the page");
    assert_eq!(rex.role, OperatorRole::Reviewer);
    assert!(rex.last_login_at.is_some());
    let got = call(&app, "/business/get", &json!({"business_id": business})).await;
    assert_eq!(got["data"]["items"][0]["status"], "blocked", "{got}");
    let id = domain::BusinessId::parse(&business).unwrap();
    let events = app
        .store
        .business_events(app.program.program_id, id)
        .await
        .unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (last.reason.as_deref(), last.actor.as_str()),
        (
            Some("shell company"),
            format!("operator:{}", rex.id).as_str()
        )
    );
    // The refusal was a 403 answer (the browser shows the page; a plain client sees the code).
    let reviewer = TestOperator {
        operator: rex,
        password,
        secret: api::console::totp::secret_from_base32(&secret)
            .unwrap()
            .to_vec(),
    };
    let mut plain = Browser::new(&console.base_url);
    assert_eq!(plain.log_in(&console, &reviewer).await.status, 303);
    assert_eq!(plain.get("/console/operators").await.status, 403);
    let console = std::sync::Arc::try_unwrap(console)
        .ok()
        .expect("the browser is done");
    console.stop().await;
    app.cleanup().await;
}
