//! The operator console (SPEC §10) from outside, on the three databases: its own listener
//! (nothing of the API there, nothing of it on the API's address), the login with the TOTP
//! second factor, cookie flags and security headers, CSRF refusal, roles enforced on the
//! server (a refusal is a 403 page and is logged), a KYC case decided through the console
//! showing in the API's answer and in the user's events with actor `operator:opr-…`, logout
//! and disable ending sessions at once, and the failed-login throttle.

use domain::OperatorRole;
use serde_json::{Value, json};
use storage::ProgramRepository as _;
use tests::console::{Browser, TestConsole, operator};
use tests::{AppOptions, TestApp, json as parse, seed_body, test_settings};

async fn call(app: &TestApp, path: &str, body: &Value) -> Value {
    let resp = app
        .client()
        .post_json(&format!("/api/v3{path}"), body)
        .await
        .unwrap();
    assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
    parse(&resp.body)
}

/// A user of the app's program with KYC pending (the manual verifier decides nothing).
async fn pending_user(app: &TestApp, n: u32) -> String {
    let out = call(app, "/user/create", &seed_body(n)).await;
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

/// The user's events as the API lists them: (type, actor).
async fn events(app: &TestApp, id: &str) -> Vec<(String, String)> {
    let out = call(
        app,
        "/event/get-all",
        &json!({"user_id": id, "per_page": 100}),
    )
    .await;
    out["data"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                e["actor"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn separate_listeners(app: &TestApp, console: &TestConsole) {
    let mut api = Browser::new(&app.base_url);
    for path in ["/console/login", "/console/kyc", "/console/style.css"] {
        assert_eq!(
            api.get(path).await.status,
            404,
            "{path} on the API's address"
        );
    }
    let mut b = Browser::new(&console.base_url);
    for path in ["/healthz", "/api/v3/user/get", "/openapi.json", "/docs/"] {
        assert_eq!(
            b.get(path).await.status,
            404,
            "{path} on the console's address"
        );
    }
    let answer = b.post("/api/v3/user/get", &[("user_id", "x")]).await;
    assert_eq!(answer.status, 404);
}

async fn login_and_headers(console: &TestConsole, op: &tests::console::TestOperator) -> Browser {
    let mut b = Browser::new(&console.base_url);
    let page = b.get("/console/login").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.headers["content-security-policy"], api::console::CSP);
    assert_eq!(page.headers["cache-control"], "no-store");
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert!(!page.body.contains("<script"), "no JavaScript");
    for label in ["for=\"email\"", "for=\"password\"", "for=\"totp\""] {
        assert!(page.body.contains(label), "{label}");
    }
    // Not signed in: every page sends to the login.
    let kyc = b.get("/console/kyc").await;
    assert_eq!((kyc.status, kyc.location()), (303, "/console/login"));

    // The password alone, or a wrong code, is not enough.
    let csrf = page.csrf();
    for code in ["", "000000", "12345"] {
        let refused = b
            .post(
                "/console/login",
                &[
                    ("email", &op.operator.email),
                    ("password", &op.password),
                    ("totp", code),
                    ("csrf", &csrf),
                ],
            )
            .await;
        assert_eq!(refused.status, 401, "code {code:?}");
        assert!(!b.cookies.contains_key("onboard_console"));
    }
    // A login form posted without its token is refused.
    let code = console.next_code(&op.secret);
    let no_token = b
        .post(
            "/console/login",
            &[
                ("email", &op.operator.email),
                ("password", &op.password),
                ("totp", &code),
            ],
        )
        .await;
    assert_eq!(no_token.status, 403);

    let ok = b.log_in(console, op).await;
    assert_eq!(
        (ok.status, ok.location()),
        (303, "/console/"),
        "{}",
        ok.body
    );
    let set = &ok.headers["set-cookie"];
    let session = set
        .lines()
        .find(|l| l.starts_with("onboard_console="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(session.contains(flag), "{flag} in {session}");
    }
    assert!(
        !session.contains("Secure"),
        "console_insecure_cookies: {session}"
    );
    // The same code cannot log in twice.
    b
}

async fn console_end_to_end(app: &TestApp) {
    let console = TestConsole::start(&app.store, true);
    separate_listeners(app, &console).await;
    let reviewer = operator(&app.store, "rita@example.com", OperatorRole::Reviewer).await;
    let admin = operator(&app.store, "ada@example.com", OperatorRole::Admin).await;
    let viewer = operator(&app.store, "vic@example.com", OperatorRole::Viewer).await;
    let mut b = login_and_headers(&console, &reviewer).await;

    // A KYC case in the queue, decided through the console.
    let user = pending_user(app, 1).await;
    let queue = b.get("/console/kyc").await;
    assert_eq!(queue.status, 200);
    assert!(queue.body.contains(&user), "{}", queue.body);
    let csrf = queue.csrf();
    let decide = format!("/console/kyc/{user}/decide");
    let no_token = b
        .post(
            &decide,
            &[("decision", "verified"), ("reason", "documents match")],
        )
        .await;
    assert_eq!(no_token.status, 403);
    let wrong_token = b
        .post(
            &decide,
            &[
                ("decision", "verified"),
                ("reason", "documents match"),
                ("csrf", "0123"),
            ],
        )
        .await;
    assert_eq!(wrong_token.status, 403);
    assert_eq!(user_json(app, &user).await["kyc_status"], "pending");
    assert!(tests::logs_contain(
        "a form without its CSRF token was refused"
    ));

    let done = b
        .post(
            &decide,
            &[
                ("decision", "verified"),
                ("reason", "documents match"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(
        (done.status, done.location()),
        (303, format!("/console/users/{user}").as_str())
    );
    assert_eq!(user_json(app, &user).await["kyc_status"], "verified");
    let actor = format!("operator:{}", reviewer.operator.id);
    let listed = events(app, &user).await;
    assert!(
        listed.contains(&("user.kyc.verified".to_owned(), actor.clone())),
        "{listed:?}"
    );
    let page = b.get(&format!("/console/users/{user}")).await;
    assert!(page.body.contains("user.kyc.verified") && page.body.contains(&actor));
    assert!(
        !page.body.contains(tests::ssn(1).as_str()),
        "never the full SSN"
    );

    // Block through the console.
    let csrf = page.csrf();
    let blocked = b
        .post(
            &format!("/console/users/{user}/status"),
            &[
                ("change", "block"),
                ("reason", "fraud ring"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(blocked.status, 303, "{}", blocked.body);
    assert_eq!(user_json(app, &user).await["status"], "blocked");
    assert!(
        events(app, &user)
            .await
            .contains(&("user.blocked".to_owned(), actor.clone()))
    );

    // A reviewer may not manage programs: 403, logged, nothing changed.
    let programs = b.get("/console/programs").await;
    assert!(!programs.body.contains(app.program.api_key.expose()));
    assert!(!programs.body.contains(app.program.hmac_secret.expose()));
    let program_status = format!("/console/programs/{}/status", app.program.program_id);
    let refused = b
        .post(
            &program_status,
            &[("change", "disable"), ("csrf", &programs.csrf())],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.body.contains("does not allow"));
    assert!(tests::logs_contain(
        "an action the operator's role does not allow was refused"
    ));
    let listed = app.store.list_programs().await.unwrap();
    assert!(listed.iter().all(|p| p.disabled_at.is_none()));

    // A viewer reads but decides nothing.
    let mut v = Browser::new(&console.base_url);
    assert_eq!(v.log_in(&console, &viewer).await.status, 303);
    let other = pending_user(app, 2).await;
    let queue = v.get("/console/kyc").await;
    assert!(queue.body.contains(&other));
    let refused = v
        .post(
            &format!("/console/kyc/{other}/decide"),
            &[
                ("decision", "rejected"),
                ("reason", "x"),
                ("csrf", &queue.csrf()),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(user_json(app, &other).await["kyc_status"], "pending");

    // Logout ends the session: its cookie no longer works.
    let old = b.cookies.clone();
    let page = b.get("/console/kyc").await;
    let out = b.post("/console/logout", &[("csrf", &page.csrf())]).await;
    assert_eq!((out.status, out.location()), (303, "/console/login"));
    b.cookies = old;
    let after = b.get("/console/kyc").await;
    assert_eq!((after.status, after.location()), (303, "/console/login"));

    // An admin disables a program; disabling the admin ends its session at once.
    let mut a = Browser::new(&console.base_url);
    assert_eq!(a.log_in(&console, &admin).await.status, 303);
    let programs = a.get("/console/programs").await;
    let disabled = a
        .post(
            &program_status,
            &[("change", "disable"), ("csrf", &programs.csrf())],
        )
        .await;
    assert_eq!(disabled.status, 303, "{}", disabled.body);
    let listed = app.store.list_programs().await.unwrap();
    assert!(listed.iter().all(|p| p.disabled_at.is_some()));
    let page = a.get("/console/programs").await;
    let enabled = a
        .post(
            &program_status,
            &[("change", "enable"), ("csrf", &page.csrf())],
        )
        .await;
    assert_eq!(enabled.status, 303);
    app.store
        .set_operator_disabled(
            &storage::console::OperatorRef::Id(admin.operator.id),
            true,
            chrono::Utc::now(),
            &storage::OperatorAction::new("test", "operator disable"),
        )
        .await
        .unwrap();
    let gone = a.get("/console/programs").await;
    assert_eq!((gone.status, gone.location()), (303, "/console/login"));
    let again = Browser::new(&console.base_url)
        .log_in(&console, &admin)
        .await;
    assert_eq!(again.status, 401);

    // Failed logins are limited per account.
    let mut t = Browser::new(&console.base_url);
    for _ in 0..api::console::login::ACCOUNT_FAILURES {
        let form = t.get("/console/login").await;
        let wrong = t
            .post(
                "/console/login",
                &[
                    ("email", &viewer.operator.email),
                    ("password", "not the password"),
                    ("totp", "123456"),
                    ("csrf", &form.csrf()),
                ],
            )
            .await;
        assert_eq!(wrong.status, 401);
    }
    assert_eq!(t.log_in(&console, &viewer).await.status, 429);
    console.stop().await;

    // Without console_insecure_cookies, the cookies are Secure.
    let secure = TestConsole::start(&app.store, false);
    let page = Browser::new(&secure.base_url).get("/console/login").await;
    assert!(
        page.headers["set-cookie"].contains("Secure"),
        "{:?}",
        page.headers
    );
    secure.stop().await;
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
    console_end_to_end(&app).await;
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
