//! The console's lists on every database (issue 21, migration 17): keyset pages of the KYC
//! queue, the failed deliveries, the operator actions and the user search across programs —
//! walked forwards and back with ties on the sort value, every row once and in order — and
//! the database's own plan of each, naming the index that serves its order.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    unreachable_pub
)]

mod common;

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use common::{Backend, Keys, TestDb};
use domain::fixtures::SeedUser;
use domain::{
    ContactId, NewUser, NewWebhook, ParseContext, ProgramId, RawNewWebhook, RawUserQuery, User,
    UserChange, UserId, UserQuery, WebhookId,
};
use sea_orm::ConnectionTrait as _;
use storage::{
    Along, Audit, KeysetPage, OperatorAction, PageKey, ProgramRepository as _, Seek, SqlStore,
    UserRepository as _, WebhookRepository as _,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn ctx() -> ParseContext {
    ParseContext::new(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap())
}

fn person(n: u32, first: &str, last: &str) -> NewUser {
    let raw = SeedUser::new(n)
        .last_name(last)
        .with(|u| u.first_name = Some(first.to_owned()))
        .raw();
    NewUser::parse(&raw, ctx()).unwrap()
}

async fn program(store: &SqlStore, name: &str) -> ProgramId {
    store.create_program(name, now()).await.unwrap().program_id
}

async fn create(store: &SqlStore, p: ProgramId, user: &NewUser, at: DateTime<Utc>) -> UserId {
    let ids = storage::NewUserIds {
        user: UserId::from_uuid(uuid::Uuid::now_v7()),
        contact: ContactId::from_uuid(uuid::Uuid::now_v7()),
    };
    store
        .create_user(p, ids, user, at, Along::nothing())
        .await
        .unwrap()
        .written()
        .unwrap()
        .id()
}

async fn change(store: &SqlStore, p: ProgramId, id: UserId, change: UserChange) {
    let audit = Audit {
        actor: "operator",
        reason: None,
    };
    store
        .change_user(p, id, change, audit, now(), Along::nothing())
        .await
        .unwrap()
        .written()
        .unwrap();
}

/// Every page of a list, walked forwards from the first; then back from the last with
/// `Before`, which must give the same pages. Answers the rows in order.
async fn walk<T, F, Fut>(per_page: usize, read: F) -> Vec<T>
where
    T: Clone + PartialEq + std::fmt::Debug,
    F: Fn(Seek) -> Fut,
    Fut: std::future::Future<Output = KeysetPage<T>>,
{
    let mut pages: Vec<KeysetPage<T>> = Vec::new();
    let mut seek = Seek::First;
    loop {
        let page = read(seek).await;
        assert!(page.items.len() <= per_page);
        assert_eq!(page.previous.is_some(), !pages.is_empty(), "{page:?}");
        let next = page.next;
        pages.push(page);
        match next {
            Some(k) => seek = Seek::After(k),
            None => break,
        }
        assert!(pages.len() < 100, "the walk does not end");
    }
    // Back: each page's `previous` reads the page before it, with the same rows.
    for i in (1..pages.len()).rev() {
        let back = read(Seek::Before(pages[i].previous.unwrap())).await;
        assert_eq!(
            back.items,
            pages[i - 1].items,
            "page {} read backwards",
            i - 1
        );
        assert_eq!(back.previous.is_some(), i > 1);
        assert_eq!(back.next, pages[i - 1].next);
    }
    pages.into_iter().flat_map(|p| p.items).collect()
}

async fn kyc_queue_pages_by_key(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let (a, b) = (program(store, "a").await, program(store, "b").await);
    let mut pending = Vec::new();
    for n in 0..7u32 {
        let p = if n % 2 == 0 { a } else { b };
        let id = create(store, p, &person(n, "Ana", "Queue"), now()).await;
        change(store, p, id, UserChange::SubmitKyc).await;
        pending.push(id);
    }
    // Not in the queue: never submitted, or decided.
    create(store, a, &person(50, "Not", "Submitted"), now()).await;
    let decided = create(store, b, &person(51, "Al", "Decided"), now()).await;
    change(store, b, decided, UserChange::SubmitKyc).await;
    change(store, b, decided, UserChange::VerifyKyc).await;
    // Two claimed with one lease end (a tie on the sort value): they go behind the others.
    let claimed = store
        .claim_kyc_cases(now(), StdDuration::from_secs(600), 2)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let claimed: Vec<UserId> = claimed.into_iter().map(|(_, u)| u).collect();
    let by_text = |ids: &mut Vec<UserId>| ids.sort_by_key(|u| u.uuid().to_string());
    let mut unclaimed: Vec<UserId> = pending
        .iter()
        .copied()
        .filter(|u| !claimed.contains(u))
        .collect();
    by_text(&mut unclaimed);
    let mut behind = claimed.clone();
    by_text(&mut behind);
    let expected: Vec<UserId> = unclaimed.into_iter().chain(behind).collect();

    let shown = walk(3, |seek| async move {
        store.pending_kyc_page(seek, 3).await.unwrap()
    })
    .await;
    let ids: Vec<UserId> = shown.iter().map(User::id).collect();
    assert_eq!(ids, expected);
    assert!(
        shown
            .iter()
            .all(|u| u.kyc_status() == domain::KycStatus::Pending)
    );
    // A key past the end reads nothing after it, and the last page before it.
    let end = PageKey {
        ms: i64::MAX,
        id: uuid::Uuid::max(),
    };
    let after = store.pending_kyc_page(Seek::After(end), 3).await.unwrap();
    assert!(after.items.is_empty() && after.next.is_none());
    let last = store.pending_kyc_page(Seek::Before(end), 3).await.unwrap();
    assert_eq!(
        last.items.iter().map(User::id).collect::<Vec<_>>(),
        expected[4..]
    );
}
contract!(kyc_queue_pages_by_key, kyc_queue_pages_by_key);

async fn webhook(store: &SqlStore, p: ProgramId) -> WebhookId {
    let new = NewWebhook::parse(
        &RawNewWebhook {
            url: Some("http://127.0.0.1:9/hook".to_owned()),
            event_types: Some(vec!["user.created".to_owned()]),
        },
        true,
    )
    .unwrap();
    let id = WebhookId::from_uuid(uuid::Uuid::now_v7());
    store
        .create_webhook(p, id, &new, now(), Along::nothing())
        .await
        .unwrap()
        .written()
        .unwrap();
    id
}

async fn failed_deliveries_page_by_key(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store, "a").await;
    webhook(store, p).await;
    for n in 0..6u32 {
        create(store, p, &person(n, "Fay", "Hook"), now()).await;
    }
    let conn = store.connection();
    let rows: Vec<(String, String)> = conn
        .query_all_raw(sea_orm::Statement::from_string(
            conn.get_database_backend(),
            "SELECT id, event_id FROM webhook_deliveries ORDER BY id",
        ))
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get::<String>("", "id").unwrap(),
                r.try_get::<String>("", "event_id").unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 6, "one delivery per user.created");
    // Five failed (three at the same moment), one still pending.
    let at = [1000i64, 2000, 2000, 2000, 3000];
    for ((id, _), ms) in rows.iter().zip(at) {
        conn.execute_unprepared(&format!(
            "UPDATE webhook_deliveries SET state = 'failed', next_attempt_at = {ms}, \
             finished_at = {ms}, attempts = 8 WHERE id = '{id}'"
        ))
        .await
        .unwrap();
    }
    // Latest first; the tied ones by delivery id, descending.
    let mut expected: Vec<(i64, String, String)> = rows
        .iter()
        .zip(at)
        .map(|((id, event), ms)| (ms, id.clone(), event.clone()))
        .collect();
    expected.sort();
    expected.reverse();
    let shown = walk(2, |seek| async move {
        store.failed_deliveries_page(seek, 2).await.unwrap()
    })
    .await;
    let got: Vec<(i64, String)> = shown
        .iter()
        .map(|f| {
            (
                f.failed_at.unwrap().timestamp_millis(),
                f.event.uuid().to_string(),
            )
        })
        .collect();
    let want: Vec<(i64, String)> = expected.into_iter().map(|(m, _, e)| (m, e)).collect();
    assert_eq!(got, want);
    assert!(shown.iter().all(|f| f.program == p && f.attempts == 8));
}
contract!(failed_deliveries_page_by_key, failed_deliveries_page_by_key);

async fn operator_actions_newest_first(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let before = store.operator_actions(1000).await.unwrap().len();
    for (n, secs) in [0i64, 1, 1, 1, 2, 3, 3].into_iter().enumerate() {
        store
            .record_operator_action(
                &OperatorAction::new("opr-test", format!("action {n}")),
                now() + Duration::seconds(secs),
            )
            .await
            .unwrap();
    }
    let shown = walk(3, |seek| async move {
        store.operator_actions_page(seek, 3).await.unwrap()
    })
    .await;
    // The same rows, in the same order, as the unpaged read (newest first, ties by id).
    assert_eq!(shown, store.operator_actions(1000).await.unwrap());
    assert_eq!(shown.len(), before + 7);
    assert!(shown.windows(2).all(|w| w[0].at >= w[1].at));
}
contract!(operator_actions_newest_first, operator_actions_newest_first);

fn search(term: &str) -> UserQuery {
    UserQuery::parse(&RawUserQuery {
        search: (!term.is_empty()).then(|| term.to_owned()),
        per_page: Some(500),
        ..RawUserQuery::default()
    })
    .unwrap()
}

/// The users of `programs` that `term` finds, as the per-program listing finds them, in the
/// cross-program order (newest first, ties by id descending).
async fn oracle(store: &SqlStore, programs: &[ProgramId], term: &str) -> Vec<UserId> {
    let mut all: Vec<User> = Vec::new();
    for p in programs {
        all.extend(store.list_users(*p, &search(term)).await.unwrap().items);
    }
    all.sort_by_key(|u| (u.created_at(), u.id().uuid().to_string()));
    all.reverse();
    all.iter().map(User::id).collect()
}

async fn search_across_programs(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let programs = [
        program(store, "a").await,
        program(store, "b").await,
        program(store, "c").await,
    ];
    let names = [
        ("Ana", "Rivera"),
        ("Rick", "Rivers"),
        ("Ada", "Lovelace"),
        ("Riva", "Stone"),
    ];
    let mut n = 0u32;
    for (i, p) in programs.iter().enumerate() {
        // Some at one moment (ties on created_at), some apart.
        let bulk: Vec<(UserId, NewUser)> = names
            .iter()
            .map(|(f, l)| {
                n += 1;
                (UserId::from_uuid(uuid::Uuid::now_v7()), person(n, f, l))
            })
            .collect();
        store.bulk_create_users(*p, &bulk, now()).await.unwrap();
        for (k, (f, l)) in names.iter().enumerate() {
            n += 1;
            let at = now() + Duration::seconds(i64::try_from(i * 10 + k).unwrap());
            create(store, *p, &person(n, f, l), at).await;
        }
    }
    for term in ["river", "RIV", "ri", "lovelace", "", "nobody"] {
        for chosen in [&programs[..], &programs[1..2], &programs[..2]] {
            let expected = oracle(store, chosen, term).await;
            let q = search(term);
            let shown = walk(2, |seek| {
                let q = q.clone();
                async move { store.search_users(chosen, &q, seek, 2).await.unwrap() }
            })
            .await;
            let ids: Vec<UserId> = shown.iter().map(User::id).collect();
            assert_eq!(ids, expected, "{term:?} over {} programs", chosen.len());
        }
    }
    assert_eq!(oracle(store, &programs, "river").await.len(), 12);
    // No program, no rows (and no statement).
    let none = store
        .search_users(&[], &search("river"), Seek::First, 25)
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next.is_none());
}
contract!(search_across_programs, search_across_programs);

/// SQL of a fresh id (only copies made for the planners have it; they are never read back).
fn new_id(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "CAST(gen_random_uuid() AS TEXT)",
        Backend::Mysql => "UUID()",
        Backend::Sqlite => "lower(hex(randomblob(16)))",
    }
}

/// Doubles the rows of `table` `times` times by copying them under new ids (a cheap way to a
/// table large enough for the planners to prefer indexes), with `columns` copied and `id` new.
async fn grow(db: &TestDb, table: &str, columns: &str, times: u32) {
    let new_id = new_id(db.backend);
    for _ in 0..times {
        db.store
            .connection()
            .execute_unprepared(&format!(
                "INSERT INTO {table} (id, {columns}) SELECT {new_id}, {columns} FROM {table}"
            ))
            .await
            .unwrap();
    }
}

async fn analyze(db: &TestDb, tables: &str) {
    let sql = match db.backend {
        Backend::Postgres => format!("ANALYZE {tables}"),
        Backend::Mysql => format!("ANALYZE TABLE {tables}"),
        // As served: nothing runs ANALYZE on SQLite, so the plan must be right without it.
        Backend::Sqlite => return,
    };
    db.store
        .connection()
        .execute_unprepared(&sql)
        .await
        .unwrap();
}

/// Whether `plan` reads `index` and sorts nothing (printed either way; the caller asserts
/// once every plan is printed).
fn plan_ok(db: &TestDb, what: &str, plan: &[String], index: &str) -> bool {
    let plan = plan.join("\n");
    let sorts = match db.backend {
        Backend::Postgres => plan.contains("Sort"),
        Backend::Mysql => plan.contains("filesort"),
        Backend::Sqlite => plan.contains("TEMP B-TREE"),
    };
    let ok = plan.contains(index) && !sorts;
    eprintln!(
        "{:?} {what} ({}):\n{plan}",
        db.backend,
        if ok { "ok" } else { "WRONG" }
    );
    ok
}

/// The plans of the keyset statements: each reads the index that serves its order (no sort,
/// no scan of the table), at the first page and past a key.
async fn the_console_lists_read_their_indexes(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store, "a").await;
    webhook(store, p).await;
    for n in 0..8u32 {
        let id = create(store, p, &person(n, "Ina", "Dex"), now()).await;
        change(store, p, id, UserChange::SubmitKyc).await;
        store
            .record_operator_action(&OperatorAction::new("opr-x", "x"), now())
            .await
            .unwrap();
    }
    let many: Vec<(UserId, NewUser)> = (100..3100u32)
        .map(|n| {
            (
                UserId::from_uuid(uuid::Uuid::now_v7()),
                person(n, "Bo", "Bulk"),
            )
        })
        .collect();
    store.bulk_create_users(p, &many, now()).await.unwrap();
    let conn = store.connection();
    conn.execute_unprepared(
        "UPDATE webhook_deliveries SET state = 'failed', finished_at = next_attempt_at",
    )
    .await
    .unwrap();
    let times = if db.backend == Backend::Postgres {
        12
    } else {
        9
    };
    // Copies are delivered (state is not copied but set), so the failed ones stay a sliver.
    for _ in 0..times {
        conn.execute_unprepared(&format!(
            "INSERT INTO webhook_deliveries (id, program_id, event_id, endpoint_id, entity_id, \
             sequence, state, attempts, next_attempt_at, event_created_at, created_at) \
             SELECT {}, program_id, event_id, endpoint_id, entity_id, sequence, 'delivered', \
             attempts, next_attempt_at, event_created_at, created_at FROM webhook_deliveries",
            new_id(db.backend)
        ))
        .await
        .unwrap();
    }
    grow(db, "operator_actions", "actor, command, created_at", times).await;
    if db.backend == Backend::Postgres {
        let more: Vec<(UserId, NewUser)> = (5000..22000u32)
            .map(|n| {
                (
                    UserId::from_uuid(uuid::Uuid::now_v7()),
                    person(n, "Bo", "Bulk"),
                )
            })
            .collect();
        store.bulk_create_users(p, &more, now()).await.unwrap();
    }
    analyze(db, "users, webhook_deliveries, operator_actions").await;
    if db.backend == Backend::Postgres {
        // PostgreSQL's search index is on its narrow search table (migration 23).
        analyze(db, "user_search").await;
    }

    let key = PageKey {
        ms: 0,
        id: uuid::Uuid::nil(),
    };
    let mut wrong = Vec::new();
    for seek in [Seek::First, Seek::After(key), Seek::Before(key)] {
        let (kyc, failed) = store.explain_console_queues(seek).await.unwrap();
        let actions = store.explain_operator_actions_page(seek).await.unwrap();
        for (what, plan, index) in [
            ("KYC queue", kyc, "idx_users_kyc_queue"),
            ("failed deliveries", failed, "idx_webhook_deliveries_due"),
            (
                "operator actions",
                actions,
                "idx_operator_actions_created_at",
            ),
        ] {
            let what = format!("{what} at {seek:?}");
            if !plan_ok(db, &what, &plan, index) {
                wrong.push(what);
            }
        }
    }
    assert!(wrong.is_empty(), "{:?}: {wrong:?}", db.backend);
    // The search across programs: each branch reads its program's index (without a term, the
    // `created_at` one, in order); with a term, the search index on the first page (past a
    // key, the planner may rather walk the `created_at` index from the key: also bounded).
    // Never the users table in full.
    let other = program(store, "b").await;
    let real = PageKey {
        ms: now().timestamp_millis(),
        id: many[1500].0.uuid(),
    };
    // PostgreSQL: `users` in full (a program without users has an empty partition of the
    // narrow search table, which the planner rightly reads by a sequential scan of nothing).
    let reads_all = |plan: &str| {
        plan.lines().any(|l| {
            l.contains("Seq Scan on users ") || l.trim_end().ends_with("Seq Scan on users")
        }) || plan
            .lines()
            .any(|l| l == "SCAN users" || l.starts_with("SCAN users "))
            || plan.contains("table=users type=ALL")
    };
    for seek in [Seek::First, Seek::After(key), Seek::After(real)] {
        let plan = store
            .explain_user_search(&[p, other], &search(""), seek)
            .await
            .unwrap()
            .join("\n");
        eprintln!("{:?} search, no term, {seek:?}:\n{plan}", db.backend);
        assert!(plan.contains("idx_users_program_created"), "{plan}");
        assert!(!reads_all(&plan), "{plan}");
        let plan = store
            .explain_user_search(&[p, other], &search("dex"), seek)
            .await
            .unwrap()
            .join("\n");
        eprintln!("{:?} search, a term, {seek:?}:\n{plan}", db.backend);
        let index = match db.backend {
            Backend::Postgres => "idx_user_search_trgm",
            Backend::Mysql => "table=user_search_trigrams",
            Backend::Sqlite => "users_search VIRTUAL TABLE",
        };
        assert!(
            plan.contains(index)
                || (seek != Seek::First && plan.contains("idx_users_program_created")),
            "{plan}"
        );
        assert!(!reads_all(&plan), "{plan}");
    }
}
contract!(
    the_console_lists_read_their_indexes,
    the_console_lists_read_their_indexes
);
