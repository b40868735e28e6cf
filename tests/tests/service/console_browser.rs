//! The operator console in a real browser: headless Chromium, driven over the DevTools
//! protocol, logs in with the second factor, works a KYC case and a sanctions case end to
//! end through the pages' own forms (the pages run no JavaScript; the test fills and clicks
//! like a person would), and the decisions show in the API's answers and in the timeline.
//! With `ONBOARD_CONSOLE_SCREENSHOTS=DIR` it saves PNGs of the main pages there (the
//! README's `docs/console/` ones come from this run).

use std::path::PathBuf;
use std::time::Duration;

use domain::OperatorRole;
use serde_json::{Value, json};
use tests::cdp::{CHROMIUM, Chromium};
use tests::console::{TestConsole, operator};
use tests::{AppOptions, TestApp, json as parse, note, seed_body, test_settings};

async fn call(app: &TestApp, path: &str, body: &Value) -> Value {
    let resp = app
        .client()
        .post_json(&format!("/api/v3{path}"), body)
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    parse(&resp.body)
}

async fn submitted(app: &TestApp, n: u32, first: &str, last: &str, dob: &str) -> String {
    let mut body = seed_body(n);
    body["first_name"] = json!(first);
    body["last_name"] = json!(last);
    body["date_of_birth"] = json!(dob);
    let out = call(app, "/user/create", &body).await;
    let id = out["data"]["items"][0]["id"].as_str().unwrap().to_owned();
    call(
        app,
        "/user/send-verification-request",
        &json!({"user_id": id}),
    )
    .await;
    id
}

async fn user_json(app: &TestApp, id: &str) -> Value {
    call(app, "/user/get", &json!({"user_id": id})).await["data"]["items"][0].clone()
}

fn js_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// Fills `reason` and `decision` in the form posting to `action`, and submits it.
fn decide(browser: &mut Chromium, action: &str, decision: &str, reason: &str) {
    browser.act(&format!(
        "const f = document.querySelector('form[action=' + JSON.stringify({a}) + ']');
         f.querySelector('select[name=decision]').value = {d};
         f.querySelector('input[name=reason]').value = {r};
         f.querySelector('button[type=submit]').click();",
        a = js_string(action),
        d = js_string(decision),
        r = js_string(reason),
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewer_works_both_queues_in_a_browser() {
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
    settings.screening_list_dir =
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../screening/small"));
    let options = AppOptions {
        settings,
        ..AppOptions::default()
    };
    let app = tests::spawn_app_with(storage::testing::Backend::Sqlite, options)
        .await
        .expect("SQLite is always available");
    let console = TestConsole::start(&app.store, true);
    let reviewer = operator(&app.store, "rita@example.com", OperatorRole::Reviewer).await;
    let ordinary = submitted(&app, 1, "Alex", "Rivera", "1990-01-01").await;
    let listed = submitted(&app, 2, "Dániel", "Moreno", "1972-10-12").await;
    for _ in 0..100 {
        let cases = app.store.screening_cases(10).await.unwrap();
        if cases.iter().any(|c| c.user.to_string() == listed) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Something for the other pages to show.
    call(
        &app,
        "/business/create",
        &tests::business_json(domain::fixtures::SeedBusiness::new(1)),
    )
    .await;
    call(
        &app,
        "/webhook/create",
        &json!({"url": "http://127.0.0.1:9/hooks", "event_types": ["user.kyc.verified"]}),
    )
    .await;

    let base = console.base_url.clone();
    let code = console.next_code(&reviewer.secret);
    let email = reviewer.operator.email.clone();
    let password = reviewer.password.clone();
    let actor = format!("operator:{}", reviewer.operator.id);
    let (ordinary_c, listed_c, actor_c) = (ordinary.clone(), listed.clone(), actor.clone());
    let pages = tokio::task::spawn_blocking(move || {
        let mut b = Chromium::start();
        let shot = |b: &mut Chromium, name: &str| {
            if let Some(dir) = &shots {
                b.screenshot(&dir.join(format!("{name}.png")));
            }
        };
        b.goto(&format!("{base}/console/kyc"));
        assert!(b.url().ends_with("/console/login"), "{}", b.url());
        shot(&mut b, "login");
        b.act(&format!(
            "document.getElementById('email').value = {e};
             document.getElementById('password').value = {p};
             document.getElementById('totp').value = {c};
             document.querySelector('form button[type=submit]').click();",
            e = js_string(&email),
            p = js_string(&password),
            c = js_string(&code),
        ));
        assert!(b.url().ends_with("/console/kyc"), "{}", b.url());
        let queue = b.html();
        assert!(
            queue.contains("KYC review queue") && queue.contains(&ordinary_c),
            "{queue}"
        );
        // The stylesheet applied: the page's own CSS, allowed by its policy.
        assert_eq!(
            b.eval("getComputedStyle(document.querySelector('header.top')).display"),
            json!("flex")
        );
        shot(&mut b, "kyc-queue");
        decide(
            &mut b,
            &format!("/console/kyc/{ordinary_c}/decide"),
            "verified",
            "documents match",
        );
        assert!(
            b.url().ends_with(&format!("/console/users/{ordinary_c}")),
            "{}",
            b.url()
        );
        let user_page = b.html();
        assert!(user_page.contains("user.kyc.verified") && user_page.contains(&actor_c));

        b.goto(&format!("{base}/console/screening"));
        let cases = b.html();
        for shown in [
            listed_c.as_str(),
            "MORENO, Daniel",
            "MORENO JR., Daniel Gonzalo",
            "1972-10-12",
            "SDNTK",
        ] {
            assert!(
                cases.contains(shown),
                "{shown} on the sanctions page: {cases}"
            );
        }
        shot(&mut b, "sanctions-queue");
        decide(
            &mut b,
            &format!("/console/screening/{listed_c}/decide"),
            "confirm",
            "passport matches the listing",
        );
        assert!(
            b.url().ends_with(&format!("/console/users/{listed_c}")),
            "{}",
            b.url()
        );
        let listed_page = b.html();
        assert!(listed_page.contains("confirmed_match"), "{listed_page}");
        assert!(listed_page.contains("user.kyc.failed") && listed_page.contains("user.blocked"));
        assert!(listed_page.contains(&actor_c));
        shot(&mut b, "user");
        b.goto(&format!("{base}/console/users?q=rivera"));
        assert!(b.html().contains(&ordinary_c));
        shot(&mut b, "search");
        for (page, name) in [
            ("businesses", "businesses"),
            ("webhooks", "webhooks"),
            ("programs", "programs"),
        ] {
            b.goto(&format!("{base}/console/{page}"));
            assert!(b.html().contains("<h1>"), "{page}");
            shot(&mut b, name);
        }
        // Logging out in the browser ends the session.
        b.act("document.querySelector('form[action=\"/console/logout\"] button').click();");
        assert!(b.url().ends_with("/console/login"));
        b.goto(&format!("{base}/console/kyc"));
        assert!(b.url().ends_with("/console/login"));
    })
    .await;
    if let Err(e) = pages {
        std::panic::resume_unwind(e.into_panic());
    }
    // The API's answers show the decisions, and the events name the operator.
    assert_eq!(user_json(&app, &ordinary).await["kyc_status"], "verified");
    let listed_user = user_json(&app, &listed).await;
    assert_eq!(listed_user["kyc_status"], "rejected");
    assert_eq!(listed_user["status"], "blocked");
    let events = call(
        &app,
        "/event/get-all",
        &json!({"user_id": listed, "per_page": 50}),
    )
    .await;
    let text = events.to_string();
    assert!(
        text.contains("user.kyc.failed") && text.contains(&actor),
        "{text}"
    );
    console.stop().await;
    app.cleanup().await;
}
