//! The console's operator management, business actions, audit page and keyset lists from
//! outside, on the three databases: an admin creates an operator (the password and TOTP
//! secret shown once, and they log in), cannot disable themselves, disables another (whose
//! session ends at once), enables and resets it (the old password stops working); viewers
//! and reviewers get the 403 page; a reviewer blocks and unblocks a business and decides a
//! pending KYB case under the manual verifier (the API shows both, the events name the
//! operator), and not under another verifier; the audit page lists program and resend
//! actions; the user search pages by key across programs.

use domain::OperatorRole;
use serde_json::{Value, json};
use storage::console::OperatorRef;
use storage::{BusinessLifecycle as _, ProgramRepository as _};
use tests::console::{Answer, Browser, TestConsole, TestOperator, operator};
use tests::{AppOptions, TestApp, json as parse, seed_body, test_settings};

async fn call(app: &TestApp, path: &str, body: &Value) -> Value {
    let resp = app
        .client()
        .post_json(&format!("/api/v3{path}"), body)
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    parse(&resp.body)["data"]["items"][0].clone()
}

/// The operator an answer page showed, with the credentials on it.
async fn shown(app: &TestApp, page: &Answer, email: &str) -> TestOperator {
    let secret = page.text_of("new-totp-secret");
    TestOperator {
        operator: app
            .store
            .find_operator(&OperatorRef::parse(email))
            .await
            .unwrap()
            .unwrap(),
        password: page.text_of("new-password"),
        secret: api::console::totp::secret_from_base32(&secret)
            .expect("base32")
            .to_vec(),
    }
}

async fn logged_in(console: &TestConsole, op: &TestOperator) -> Browser {
    let mut b = Browser::new(&console.base_url);
    let answer = b.log_in(console, op).await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    b
}

async fn operators_are_managed(app: &TestApp, console: &TestConsole) {
    let admin = operator(&app.store, "ada@example.com", OperatorRole::Admin).await;
    let viewer = operator(&app.store, "vic@example.com", OperatorRole::Viewer).await;
    let mut a = logged_in(console, &admin).await;
    let list = a.get("/console/operators").await;
    assert_eq!(list.status, 200);
    assert!(list.body.contains("vic@example.com") && list.body.contains("never"));
    let created = a
        .post(
            "/console/operators",
            &[
                ("email", "rex@example.com"),
                ("role", "reviewer"),
                ("csrf", &list.csrf()),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(created.body.contains("Shown once"));
    let rex = shown(app, &created, "rex@example.com").await;
    assert_eq!(rex.operator.role, OperatorRole::Reviewer);
    // Never again: the list shows neither secret.
    let list = a.get("/console/operators").await;
    assert!(!list.body.contains(&rex.password));
    let again = a
        .post(
            "/console/operators",
            &[
                ("email", "REX@example.com"),
                ("role", "viewer"),
                ("csrf", &list.csrf()),
            ],
        )
        .await;
    assert_eq!(again.status, 409);
    let bad = a
        .post(
            "/console/operators",
            &[
                ("email", "x@example.com"),
                ("role", "root"),
                ("csrf", &list.csrf()),
            ],
        )
        .await;
    assert_eq!(bad.status, 400);

    // Rex logs in with what was shown.
    let mut r = logged_in(console, &rex).await;
    assert_eq!(r.get("/console/kyc").await.status, 200);
    // Reviewers and viewers are refused the page and its actions.
    assert_eq!(r.get("/console/operators").await.status, 403);
    let mut v = logged_in(console, &viewer).await;
    let page = v.get("/console/kyc").await;
    assert_eq!(v.get("/console/operators").await.status, 403);
    let refused = v
        .post(
            "/console/operators",
            &[
                ("email", "eve@example.com"),
                ("role", "admin"),
                ("csrf", &page.csrf()),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(
        app.store
            .find_operator(&OperatorRef::parse("eve@example.com"))
            .await
            .unwrap()
            .is_none()
    );

    // An admin cannot disable themselves, and is told why.
    let list = a.get("/console/operators").await;
    let me = format!("/console/operators/{}/status", admin.operator.id);
    let refused = a
        .post(&me, &[("change", "disable"), ("csrf", &list.csrf())])
        .await;
    assert_eq!(refused.status, 403);
    assert!(
        refused.body.contains("You cannot disable yourself"),
        "{}",
        refused.body
    );
    assert_eq!(a.get("/console/operators").await.status, 200);

    // Disabling Rex ends his session at once; enabled, he logs in again.
    let status = format!("/console/operators/{}/status", rex.operator.id);
    let done = a
        .post(&status, &[("change", "disable"), ("csrf", &list.csrf())])
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let gone = r.get("/console/kyc").await;
    assert_eq!((gone.status, gone.location()), (303, "/console/login"));
    assert_eq!(
        Browser::new(&console.base_url)
            .log_in(console, &rex)
            .await
            .status,
        401
    );
    let done = a
        .post(&status, &[("change", "enable"), ("csrf", &list.csrf())])
        .await;
    assert_eq!(done.status, 303);
    let mut r = logged_in(console, &rex).await;

    // A reset shows new credentials; the old ones and the open session stop working.
    let reset = a
        .post(
            &format!("/console/operators/{}/reset", rex.operator.id),
            &[("csrf", &list.csrf())],
        )
        .await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    let renewed = shown(app, &reset, "rex@example.com").await;
    assert_ne!(renewed.password, rex.password);
    let gone = r.get("/console/kyc").await;
    assert_eq!(gone.status, 303);
    assert_eq!(
        Browser::new(&console.base_url)
            .log_in(console, &rex)
            .await
            .status,
        401
    );
    logged_in(console, &renewed).await;
    let rex_now = app
        .store
        .find_operator(&OperatorRef::Id(rex.operator.id))
        .await
        .unwrap()
        .unwrap();
    assert!(rex_now.last_login_at.is_some() && rex_now.disabled_at.is_none());

    // Each action is on the audit page, which every role reads.
    let audit = v.get("/console/audit").await;
    assert_eq!(audit.status, 200);
    for action in [
        "console operator create --email rex@example.com --role reviewer",
        &format!("console operator disable {}", rex.operator.id),
        &format!("console operator reset {}", rex.operator.id),
    ] {
        assert!(audit.body.contains(action), "{action} in {}", audit.body);
    }
    assert!(audit.body.contains("ada@example.com"), "the actor's email");
}

/// Answers the second console it started, still running: stopping a console ends its workers'
/// runtimes, and the pooled connections those opened with them (the store is shared), so it
/// is stopped only once nothing uses the store any more.
async fn businesses_are_worked(app: &TestApp, console: &TestConsole) -> TestConsole {
    let reviewer = operator(&app.store, "rita@example.com", OperatorRole::Reviewer).await;
    let mut b = logged_in(console, &reviewer).await;
    let actor = format!("operator:{}", reviewer.operator.id);
    let business = call(
        app,
        "/business/create",
        &tests::business_json(domain::fixtures::SeedBusiness::new(1)),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id = domain::BusinessId::parse(&business).unwrap();
    let path = format!("/console/businesses/{business}");
    let page = b.get(&path).await;
    assert!(page.body.contains("Block business"));
    let blocked = b
        .post(
            &format!("{path}/status"),
            &[
                ("change", "block"),
                ("reason", "shell company"),
                ("csrf", &page.csrf()),
            ],
        )
        .await;
    assert_eq!((blocked.status, blocked.location()), (303, path.as_str()));
    let got = call(app, "/business/get", &json!({"business_id": business})).await;
    assert_eq!(got["status"], "blocked");
    let unblocked = b
        .post(
            &format!("{path}/status"),
            &[
                ("change", "unblock"),
                ("reason", "cleared"),
                ("csrf", &page.csrf()),
            ],
        )
        .await;
    assert_eq!(unblocked.status, 303);
    let got = call(app, "/business/get", &json!({"business_id": business})).await;
    assert_eq!(got["status"], "active");
    let no_reason = b
        .post(
            &format!("{path}/status"),
            &[("change", "block"), ("reason", ""), ("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(no_reason.status, 400);

    // A pending KYB case: not under another verifier, decided under the manual one.
    let owner = call(app, "/user/create", &seed_body(7)).await;
    call(
        app,
        "/business/add-business-owner",
        &json!({"business_id": business, "user_id": owner["id"], "ownership_percent": 60, "title": "Owner"}),
    )
    .await;
    call(
        app,
        "/business/send-verification-request",
        &json!({"business_id": business}),
    )
    .await;
    // Another console (its own clock: a fresh reviewer, since a TOTP step is accepted once).
    let other = TestConsole::start_with(&app.store, true, false);
    let second = operator(&app.store, "rob@example.com", OperatorRole::Reviewer).await;
    let mut o = logged_in(&other, &second).await;
    let page = o.get(&path).await;
    assert!(
        page.body
            .contains("The configured verifier decides this case.")
    );
    let refused = o
        .post(
            &format!("{path}/kyb"),
            &[
                ("decision", "verified"),
                ("reason", "x"),
                ("csrf", &page.csrf()),
            ],
        )
        .await;
    assert_eq!(refused.status, 409);
    let page = b.get(&path).await;
    assert!(page.body.contains("KYB decision"), "{}", page.body);
    let decided = b
        .post(
            &format!("{path}/kyb"),
            &[
                ("decision", "verified"),
                ("reason", "registry checked"),
                ("csrf", &page.csrf()),
            ],
        )
        .await;
    assert_eq!(decided.status, 303, "{}", decided.body);
    let got = call(app, "/business/get", &json!({"business_id": business})).await;
    assert_eq!(got["kyb_status"], "verified");
    let again = b
        .post(
            &format!("{path}/kyb"),
            &[
                ("decision", "rejected"),
                ("reason", "x"),
                ("csrf", &page.csrf()),
            ],
        )
        .await;
    assert_eq!(again.status, 409, "a decided case stays decided");
    let events = app
        .store
        .business_events(app.program.program_id, id)
        .await
        .unwrap();
    let by: Vec<(Option<&str>, Option<&str>, &str)> = events
        .iter()
        .map(|e| (e.to.as_deref(), e.reason.as_deref(), e.actor.as_str()))
        .collect();
    for expected in [
        (Some("blocked"), Some("shell company"), actor.as_str()),
        (Some("active"), Some("cleared"), actor.as_str()),
        (Some("verified"), Some("registry checked"), actor.as_str()),
    ] {
        assert!(by.contains(&expected), "{expected:?} in {by:?}");
    }
    other
}

async fn lists_page_by_key(app: &TestApp, console: &TestConsole) {
    let admin = operator(&app.store, "al@example.com", OperatorRole::Admin).await;
    let mut a = logged_in(console, &admin).await;
    for n in 0..30u32 {
        let mut body = seed_body(100 + n);
        body["last_name"] = json!("Pagewood");
        call(app, "/user/create", &body).await;
    }
    let first = a.get("/console/users?q=pagewood").await;
    assert_eq!(first.body.matches("/console/users/user-").count(), 25);
    let next = first.body.split("rel=\"next\"").next().unwrap();
    let href = &next[next.rfind("href=\"").unwrap() + 6..];
    let href = href[..href.find('"').unwrap()].replace("&amp;", "&");
    let second = a.get(&href).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body.matches("/console/users/user-").count(), 5);
    assert!(second.body.contains("rel=\"prev\"") && !second.body.contains("rel=\"next\""));
    // A key that does not parse is the first page.
    let odd = a.get("/console/users?q=pagewood&after=not-a-key").await;
    assert_eq!(odd.body.matches("/console/users/user-").count(), 25);
    assert_eq!(a.get("/console/kyc?before=x").await.status, 200);
    assert_eq!(a.get("/console/webhooks?after=1.2").await.status, 200);

    // A resend and program changes are audit records, on the audit page.
    let hook = call(
        app,
        "/webhook/create",
        &json!({"url": "http://127.0.0.1:9/hooks", "event_types": ["user.created"]}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = call(app, "/event/get-all", &json!({"per_page": 1})).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let hooks = a.get("/console/webhooks").await;
    let resent = a
        .post(
            "/console/webhooks/resend",
            &[
                ("program", &app.program.program_id.to_string()),
                ("event", &event),
                ("endpoint", &hook),
                ("csrf", &hooks.csrf()),
            ],
        )
        .await;
    assert_eq!(resent.status, 303, "{}", resent.body);
    let programs = a.get("/console/programs").await;
    let status = format!("/console/programs/{}/status", app.program.program_id);
    for change in ["disable", "enable"] {
        let done = a
            .post(&status, &[("change", change), ("csrf", &programs.csrf())])
            .await;
        assert_eq!(done.status, 303);
    }
    assert!(
        app.store.list_programs().await.unwrap()[0]
            .disabled_at
            .is_none()
    );
    let audit = a.get("/console/audit").await;
    for change in ["disable", "enable"] {
        let action = format!("console program {change} {}", app.program.program_id);
        assert!(audit.body.contains(&action), "{action}");
    }
    let action = format!("console event resend {event} --webhook {hook}");
    assert!(audit.body.contains(&action), "{action} in {}", audit.body);
}

async fn run(backend: storage::testing::Backend) {
    let mut settings = test_settings();
    settings.kyc_verifier = std::sync::Arc::new(api::kyc::Manual);
    let options = AppOptions {
        settings,
        ..AppOptions::default()
    };
    let Some(app) = tests::spawn_app_with(backend, options).await else {
        tests::note(&format!("skipped: {backend:?} is not configured"));
        return;
    };
    let console = TestConsole::start(&app.store, true);
    operators_are_managed(&app, &console).await;
    let other = businesses_are_worked(&app, &console).await;
    lists_page_by_key(&app, &console).await;
    console.stop().await;
    other.stop().await;
    app.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    run(storage::testing::Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    run(storage::testing::Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql() {
    run(storage::testing::Backend::Mysql).await;
}
