//! Screening outcomes and beneficial owners in the event outbox (SPEC §7, §8, §9) on the three
//! databases: a potential match
//! is `user.screening.potential_match` (actor `screening`) written with its screening; a rescreen
//! of an unchanged outcome writes no event; `confirm` writes `user.kyc.failed` (reason
//! `sanctions_match`) and `user.blocked` with the deciding operator, in the decision's
//! transaction; `clear` writes none. No event names a list entry. An owner added is `business.owner.added`,
//! the business's event with the owner in `data.owner`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    unreachable_pub
)]

mod common;

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use common::{Keys, TestDb};
use domain::fixtures::SeedBusiness;
use domain::fixtures::SeedUser;
use domain::screening::{ScreeningDecision, ScreeningStatus, parse_sdn};
use domain::{
    BusinessId, BusinessOwnerId, ContactId, EventQuery, NewBusiness, NewBusinessOwner, NewUser,
    ParseContext, ProgramId, RawEventQuery, RawNewBusinessOwner, User, UserChange, UserId,
};
use serde_json::{Value, json};
use storage::screening::{ListFiles, Loaded, MatchedEntry, ScreeningWrite, Trigger};
use storage::{
    Along, Audit, BusinessLifecycle as _, BusinessRepository as _, EventViews, NewUserIds,
    OperatorAction, Origin, ProgramRepository as _, SqlStore, UserRepository as _,
    WebhookRepository as _,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
}

fn view(u: &User) -> Value {
    json!({
        "id": u.id().to_string(),
        "status": u.status().as_str(),
        "kyc_status": u.kyc_status().as_str(),
        "screening_status": u.screening_status().as_str(),
    })
}

fn store(db: &TestDb) -> SqlStore {
    db.store.clone().with_event_views(EventViews {
        user: view,
        business: |b| json!({ "id": b.id().to_string() }),
        ..EventViews::default()
    })
}

fn small_list() -> ListFiles {
    let read = |f: &str| {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../screening/small")
                .join(f),
        )
        .unwrap()
    };
    ListFiles {
        sdn: read("sdn.csv"),
        alt: read("alt.csv"),
        add: read("add.csv"),
    }
}

async fn load(store: &SqlStore, files: &ListFiles) -> uuid::Uuid {
    let list = parse_sdn(&files.sdn, &files.alt, &files.add);
    match store
        .load_screening_list(
            files,
            &list.report,
            &OperatorAction::new("alice", "screening load"),
            now(),
        )
        .await
        .unwrap()
    {
        Loaded::New(v) => v.id,
        Loaded::Unchanged(_) => panic!("a new list was expected"),
    }
}

async fn users(store: &SqlStore, n: u32) -> (ProgramId, Vec<UserId>) {
    let p = store
        .create_program("acme", now())
        .await
        .unwrap()
        .program_id;
    let ctx = ParseContext::new(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap());
    let mut ids = Vec::new();
    for i in 1..=n {
        let ids_ = NewUserIds {
            user: UserId::from_uuid(uuid::Uuid::now_v7()),
            contact: ContactId::from_uuid(uuid::Uuid::now_v7()),
        };
        let user = NewUser::parse(&SeedUser::new(i).raw(), ctx).unwrap();
        let _ = store
            .create_user(p, ids_, &user, now(), Along::nothing())
            .await
            .unwrap();
        ids.push(ids_.user);
    }
    (p, ids)
}

fn write(user: UserId, list: uuid::Uuid, outcome: ScreeningStatus, t: Trigger) -> ScreeningWrite {
    ScreeningWrite {
        user,
        list_id: list,
        trigger: t,
        best: (outcome == ScreeningStatus::PotentialMatch).then(|| MatchedEntry {
            score: 0.97,
            entry_number: 15102,
            entry_name: "MORENO, Daniel".to_owned(),
        }),
        outcome,
        actor: "api_key:k1".to_owned(),
        at: now(),
    }
}

/// `send-verification-request` with its screening along, through request `req-<user>`.
async fn submit(store: &SqlStore, p: ProgramId, u: UserId, list: uuid::Uuid, o: ScreeningStatus) {
    let mut along = Along {
        origin: Origin {
            actor: Some("api_key:k1".to_owned()),
            request_id: Some(format!("req-{u}")),
        },
        ..Along::nothing()
    };
    along.screening = Some(write(u, list, o, Trigger::Submission));
    let audit = Audit {
        actor: "api_key:k1",
        reason: None,
    };
    let _ = store
        .change_user(p, u, UserChange::SubmitKyc, audit, now(), along)
        .await
        .unwrap();
}

/// The user's events, oldest first.
async fn events_of(store: &SqlStore, p: ProgramId, user: UserId) -> Vec<Value> {
    let q = EventQuery::parse(&RawEventQuery {
        user_id: Some(user.to_string()),
        per_page: Some(500),
        ..RawEventQuery::default()
    })
    .unwrap();
    let mut bodies: Vec<Value> = store
        .list_events(p, &q)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.body)
        .collect();
    bodies.sort_by_key(|b| b["sequence"].as_i64());
    bodies
}

fn summary(events: &[Value]) -> Vec<(String, i64, String)> {
    events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["sequence"].as_i64().unwrap(),
                e["actor"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn kinds(types: &[(&str, i64, &str)]) -> Vec<(String, i64, String)> {
    types
        .iter()
        .map(|(t, n, a)| ((*t).to_owned(), *n, (*a).to_owned()))
        .collect()
}

/// Rescreens everyone claimed against the current list with `outcome`, as `holder`.
async fn rescreen(store: &SqlStore, holder: &str, outcome: ScreeningStatus) -> usize {
    let mut total = 0;
    while let Some(claim) = store
        .claim_rescreen(holder, Duration::seconds(60), 50, None, now())
        .await
        .unwrap()
    {
        let writes: Vec<_> = claim
            .users
            .iter()
            .map(|u| {
                let mut w = write(u.id(), claim.batch.list_id, outcome, Trigger::Rescreen);
                "screening:rescreen".clone_into(&mut w.actor);
                (u.program_id(), w)
            })
            .collect();
        total += store
            .record_rescreen(holder, Duration::seconds(60), &claim.batch, &writes, now())
            .await
            .unwrap()
            .unwrap();
    }
    total
}

/// Adds an alias to the small list, so that loading it makes a new version.
fn other_list(alias: &str) -> ListFiles {
    let mut files = small_list();
    files
        .alt
        .extend_from_slice(format!("\n15102,1,\"aka\",\"{alias}\",-0- ").as_bytes());
    files
}

async fn screening_outcomes_are_outbox_events(db: &TestDb, _keys: &Keys) {
    let store = store(db);
    let list = load(&store, &small_list()).await;
    let (p, ids) = users(&store, 3).await;
    let (matched, clear, cleared) = (ids[0], ids[1], ids[2]);
    submit(&store, p, matched, list, ScreeningStatus::PotentialMatch).await;
    submit(&store, p, clear, list, ScreeningStatus::Clear).await;
    submit(&store, p, cleared, list, ScreeningStatus::PotentialMatch).await;

    // The potential match: its event after the submission's, in the same transaction.
    let events = events_of(&store, p, matched).await;
    assert_eq!(
        summary(&events),
        kinds(&[
            ("user.created", 1, "operator"),
            ("user.kyc.pending", 2, "api_key:k1"),
            ("user.screening.potential_match", 3, "screening"),
        ])
    );
    let hit = &events[2];
    assert_eq!(hit["data"]["object"]["kyc_status"], "pending");
    assert_eq!(hit["data"]["object"]["screening_status"], "potential_match");
    assert_eq!(
        hit["data"]["previous"],
        json!({ "screening_status": "not_screened" })
    );
    // The submission's own event shows the user before its screening.
    assert_eq!(
        events[1]["data"]["object"]["screening_status"],
        "not_screened"
    );
    assert_eq!(hit["request"]["id"], json!(format!("req-{matched}")));
    assert_eq!(hit["created_at"], events[1]["created_at"]);
    // A clear screening is no event of its own.
    assert_eq!(
        summary(&events_of(&store, p, clear).await),
        kinds(&[
            ("user.created", 1, "operator"),
            ("user.kyc.pending", 2, "api_key:k1"),
        ])
    );

    // A new list finding the same outcomes: no event (the match stays a match, clear stays clear).
    let _second = load(&store, &other_list("MORENO, Dan")).await;
    assert_eq!(
        rescreen(&store, "a", ScreeningStatus::PotentialMatch).await,
        3
    );
    assert_eq!(events_of(&store, p, matched).await.len(), 3);
    assert_eq!(events_of(&store, p, cleared).await.len(), 3);
    // ... but the clear user who now is a potential match gets one, from the rescreen.
    let events = events_of(&store, p, clear).await;
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["type"], "user.screening.potential_match");
    assert_eq!(events[2]["actor"], "screening");
    assert_eq!(
        events[2]["request"],
        json!({ "id": null, "idempotency_key": null })
    );

    // Clear: no event; KYC goes on through the verifier.
    let op = OperatorAction::new("bob", "screening decide");
    let _ = store
        .decide_screening(cleared, ScreeningDecision::Clear, "other DOB", &op, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(events_of(&store, p, cleared).await.len(), 3);

    // Confirm: KYC failed (sanctions_match) and blocked, by the operator, with the decision.
    let decided = store
        .decide_screening(matched, ScreeningDecision::Confirm, "same DOB", &op, now())
        .await
        .unwrap()
        .unwrap();
    assert!(decided.kyc_rejected && decided.blocked);
    let events = events_of(&store, p, matched).await;
    assert_eq!(
        summary(&events[3..]),
        kinds(&[
            ("user.kyc.failed", 4, "operator:bob"),
            ("user.blocked", 5, "operator:bob"),
        ])
    );
    assert_eq!(events[3]["data"]["reason"], "sanctions_match");
    assert_eq!(
        events[3]["data"]["previous"],
        json!({ "kyc_status": "pending" })
    );
    assert_eq!(events[4]["data"]["object"]["status"], "blocked");
    assert_eq!(
        events[4]["data"]["object"]["screening_status"],
        "confirmed_match"
    );
    // Reads answer the status kept on the user's row.
    let read = |u| {
        let store = store.clone();
        async move {
            store
                .get_user(p, u)
                .await
                .unwrap()
                .unwrap()
                .screening_status()
        }
    };
    assert_eq!(read(matched).await, ScreeningStatus::ConfirmedMatch);
    assert_eq!(read(cleared).await, ScreeningStatus::Clear);
    assert_eq!(read(clear).await, ScreeningStatus::PotentialMatch);
    // The operator's free-text reason stays in the audit trail, out of the events.
    assert!(events[4]["data"].get("reason").is_none());
    // A rescreen of a confirmed match writes no event.
    let _third = load(&store, &other_list("MORENO, Danny")).await;
    assert_eq!(
        rescreen(&store, "b", ScreeningStatus::PotentialMatch).await,
        3
    );
    assert_eq!(events_of(&store, p, matched).await.len(), 5);
    assert_eq!(events_of(&store, p, cleared).await.len(), 3);
    // No event anywhere names the listed entry.
    for u in ids {
        for e in events_of(&store, p, u).await {
            let text = e.to_string();
            assert!(
                !text.contains("MORENO") && !text.contains("15102"),
                "{text}"
            );
        }
    }
}
contract!(
    screening_outcomes_are_outbox_events,
    screening_outcomes_are_outbox_events
);

async fn an_owner_added_is_an_event_of_the_business(db: &TestDb, _keys: &Keys) {
    let store = db.store.clone().with_event_views(EventViews {
        user: view,
        business: |b| json!({ "id": b.id().to_string() }),
        owner: |o| json!({ "id": o.id().to_string(), "user_id": o.user_id().to_string() }),
    });
    let (p, ids) = users(&store, 1).await;
    let bid = BusinessId::from_uuid(uuid::Uuid::now_v7());
    let ctx = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    let nb = NewBusiness::parse(&SeedBusiness::new(1).raw(), ctx).unwrap();
    let _ = store
        .create_business(p, bid, &nb, now(), Along::nothing())
        .await
        .unwrap();
    let owner = NewBusinessOwner::parse(&RawNewBusinessOwner {
        business_id: Some(bid.to_string()),
        user_id: Some(ids[0].to_string()),
        ownership_percent: Some("60".into()),
        title: Some("CEO".into()),
        is_control_person: Some(true),
    })
    .unwrap();
    let oid = BusinessOwnerId::from_uuid(uuid::Uuid::now_v7());
    let audit = Audit {
        actor: "api_key:k1",
        reason: None,
    };
    let along = Along {
        origin: Origin {
            actor: Some("api_key:k1".to_owned()),
            request_id: Some("req-owner".to_owned()),
        },
        ..Along::nothing()
    };
    let _ = store
        .add_business_owner(p, oid, &owner, audit, now(), along)
        .await
        .unwrap();
    // A refused owner (the share would pass 100 %) writes no event.
    let too_much = NewBusinessOwner::parse(&RawNewBusinessOwner {
        ownership_percent: Some("50".into()),
        is_control_person: Some(false),
        ..RawNewBusinessOwner {
            business_id: Some(bid.to_string()),
            user_id: Some(ids[0].to_string()),
            title: Some("CFO".into()),
            ..RawNewBusinessOwner::default()
        }
    })
    .unwrap();
    let refused = store
        .add_business_owner(
            p,
            BusinessOwnerId::from_uuid(uuid::Uuid::now_v7()),
            &too_much,
            audit,
            now(),
            Along::nothing(),
        )
        .await;
    assert!(refused.is_err());
    let q = EventQuery::parse(&RawEventQuery {
        business_id: Some(bid.to_string()),
        ..RawEventQuery::default()
    })
    .unwrap();
    let mut events: Vec<Value> = store
        .list_events(p, &q)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.body)
        .collect();
    events.sort_by_key(|b| b["sequence"].as_i64());
    assert_eq!(
        summary(&events),
        kinds(&[
            ("business.created", 1, "operator"),
            ("business.owner.added", 2, "api_key:k1"),
        ])
    );
    let added = &events[1];
    assert_eq!(added["data"]["object"], json!({ "id": bid.to_string() }));
    assert_eq!(added["data"]["previous"], json!({}));
    assert_eq!(
        added["data"]["owner"],
        json!({ "id": oid.to_string(), "user_id": ids[0].to_string() })
    );
    assert_eq!(added["request"]["id"], "req-owner");
}
contract!(
    an_owner_added_is_an_event_of_the_business,
    an_owner_added_is_an_event_of_the_business
);
