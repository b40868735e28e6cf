//! The event outbox and webhook deliveries (SPEC §7) on the three databases: every change
//! writes its event in its own transaction (group-committed creates too), with the entity's
//! sequence, the previous values and the origin; a refused change or a replay writes none;
//! deliveries are claimed with a lease, once, in sequence order per entity and endpoint.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    clippy::many_single_char_names,
    unreachable_pub
)]

mod common;

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use common::{Keys, TestDb};
use domain::fixtures::SeedUser;
use domain::{
    ContactId, EventQuery, EventType, NewUser, NewWebhook, ParseContext, ProgramId, RawEventQuery,
    RawNewUser, RawNewWebhook, User, UserChange, UserId, WebhookStatus, WebhookUpdate,
};
use serde_json::{Value, json};
use storage::{
    Along, AttemptRecord, Attempted, Audit, ClaimedDelivery, EndpointEffect, EventViews, NextStep,
    Origin, Outcome, ProgramRepository as _, Signature, SqlStore, UserRepository as _, Webhook,
    WebhookRepository as _,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

fn ctx() -> ParseContext {
    ParseContext::new(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap())
}

/// A view of a user with the fields the tests look at.
fn view(u: &User) -> Value {
    json!({
        "id": u.id().to_string(),
        "first_name": u.profile().first_name().as_str(),
        "status": u.status().as_str(),
        "kyc_status": u.kyc_status().as_str(),
    })
}

fn store(db: &TestDb) -> SqlStore {
    db.store.clone().with_event_views(EventViews {
        user: view,
        business: |b| json!({ "id": b.id().to_string() }),
        ..EventViews::default()
    })
}

fn new_user(n: u32) -> NewUser {
    NewUser::parse(&SeedUser::new(n).raw(), ctx()).unwrap()
}

fn ids() -> storage::NewUserIds {
    storage::NewUserIds {
        user: UserId::from_uuid(uuid::Uuid::now_v7()),
        contact: ContactId::from_uuid(uuid::Uuid::now_v7()),
    }
}

fn by_api(request: &str) -> Along<User> {
    Along {
        origin: Origin {
            actor: Some("api_key:k1".to_owned()),
            request_id: Some(request.to_owned()),
        },
        ..Along::nothing()
    }
}

fn written<T>(o: Outcome<T>) -> T {
    o.written().expect("not a replay")
}

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
    bodies.reverse();
    bodies
}

async fn program(store: &SqlStore) -> ProgramId {
    store
        .create_program("acme", now())
        .await
        .unwrap()
        .program_id
}

async fn every_change_writes_its_event(db: &TestDb, _keys: &Keys) {
    let store = store(db);
    let p = program(&store).await;
    let id = ids();
    let user = written(
        store
            .create_user(p, id, &new_user(1), now(), by_api("req-1"))
            .await
            .unwrap(),
    );
    let later = now() + Duration::seconds(1);
    written(
        store
            .change_user(
                p,
                user.id(),
                UserChange::Block,
                Audit {
                    actor: "api_key:k1",
                    reason: None,
                },
                later,
                by_api("req-2"),
            )
            .await
            .unwrap(),
    );
    // Refused (already blocked): no event.
    assert!(
        store
            .change_user(
                p,
                user.id(),
                UserChange::Block,
                Audit {
                    actor: "x",
                    reason: None
                },
                later,
                Along::nothing()
            )
            .await
            .is_err()
    );
    written(
        store
            .change_user(
                p,
                user.id(),
                UserChange::Unblock,
                Audit {
                    actor: "operator",
                    reason: None,
                },
                later,
                Along::nothing(),
            )
            .await
            .unwrap(),
    );
    let raw = RawNewUser {
        first_name: Some("Janet".to_owned()),
        ..RawNewUser::default()
    };
    written(
        store
            .update_user(p, user.id(), &raw, ctx(), later, by_api("req-4"))
            .await
            .unwrap(),
    );
    written(
        store
            .change_user(
                p,
                user.id(),
                UserChange::SubmitKyc,
                Audit {
                    actor: "api_key:k1",
                    reason: None,
                },
                later,
                Along::nothing(),
            )
            .await
            .unwrap(),
    );
    written(
        store
            .change_user(
                p,
                user.id(),
                UserChange::RejectKyc,
                Audit {
                    actor: "verifier:sandbox",
                    reason: None,
                },
                later,
                Along::nothing(),
            )
            .await
            .unwrap(),
    );
    let events = events_of(&store, p, user.id()).await;
    let summary: Vec<(&str, i64, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["sequence"].as_i64().unwrap(),
                e["actor"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("user.created", 1, "api_key:k1"),
            ("user.blocked", 2, "api_key:k1"),
            ("user.unblocked", 3, "operator"),
            ("user.updated", 4, "api_key:k1"),
            ("user.kyc.pending", 5, "api_key:k1"),
            ("user.kyc.failed", 6, "verifier:sandbox"),
        ]
    );
    let created = &events[0];
    assert_eq!(
        created["data"]["object"],
        view(&user),
        "the entity as created"
    );
    assert_eq!(created["data"]["object"]["first_name"], "Alex");
    assert_eq!(created["data"]["previous"], json!({}));
    assert_eq!(
        created["request"],
        json!({"id": "req-1", "idempotency_key": null})
    );
    assert_eq!(created["program_id"], p.to_string());
    assert!(created["id"].as_str().unwrap().starts_with("evt-"));
    assert_eq!(created["created_at"], "2026-11-28T12:00:00.000Z");
    assert_eq!(events[1]["data"]["previous"], json!({"status": "active"}));
    assert_eq!(events[1]["data"]["object"]["status"], "blocked");
    assert_eq!(events[3]["data"]["previous"], json!({"first_name": "Alex"}));
    assert_eq!(
        events[5]["data"]["previous"],
        json!({"kyc_status": "pending"})
    );
}
contract!(every_change_writes_its_event, every_change_writes_its_event);

async fn a_replay_or_a_failed_create_writes_no_event(db: &TestDb, _keys: &Keys) {
    let store = store(db);
    let p = program(&store).await;
    let sig = || Signature::new(p, "sig-1".to_owned(), now() + Duration::minutes(5));
    let first = Along {
        replay: Some(sig()),
        ..Along::nothing()
    };
    written(
        store
            .create_user(p, ids(), &new_user(1), now(), first)
            .await
            .unwrap(),
    );
    let again = Along {
        replay: Some(sig()),
        ..Along::nothing()
    };
    let replayed = store
        .create_user(p, ids(), &new_user(2), now(), again)
        .await
        .unwrap();
    assert_eq!(replayed, Outcome::Replayed);
    // The same email: refused, nothing written.
    assert!(
        store
            .create_user(p, ids(), &new_user(1), now(), Along::nothing())
            .await
            .is_err()
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM events").await, 1);
}
contract!(
    a_replay_or_a_failed_create_writes_no_event,
    a_replay_or_a_failed_create_writes_no_event
);

async fn grouped_creates_carry_their_events(db: &TestDb, _keys: &Keys) {
    let store = store(db);
    let p = program(&store).await;
    let hook = webhook(&store, p, None).await;
    let (batches, _) = store.grouped_creates();
    let created = create_at_once(&store, p, (1..=23).collect()).await;
    assert_eq!(created.len(), 23);
    assert!(
        store.grouped_creates().0 > batches,
        "creates shared a batch"
    );
    // A batch with a duplicate (user 1's email again) falls back to one by one: the refused
    // create writes no event, the others each theirs.
    let more = create_at_once(&store, p, vec![1, 24, 25, 26]).await;
    assert_eq!(more.len(), 3);
    for id in created.iter().chain(&more) {
        let events = events_of(&store, p, *id).await;
        assert_eq!(events.len(), 1, "one event per user");
        assert_eq!(events[0]["type"], "user.created");
        assert_eq!(events[0]["sequence"], 1);
        assert_eq!(events[0]["data"]["object"]["id"], id.to_string());
    }
    assert_eq!(db.count("SELECT COUNT(*) FROM events").await, 26);
    assert_eq!(
        db.count(&format!(
            "SELECT COUNT(*) FROM webhook_deliveries WHERE endpoint_id = '{}'",
            hook.id.uuid()
        ))
        .await,
        26,
        "one delivery per event, written with it"
    );
}
contract!(
    grouped_creates_carry_their_events,
    grouped_creates_carry_their_events
);

/// A program with more endpoints than one statement's parameters could carry deliveries for
/// (2,400 × 14 columns: over SQLite's 32,766): a create writes every delivery, in chunks.
async fn a_fan_out_past_one_statement_is_written_whole(db: &TestDb, _keys: &Keys) {
    let store = store(db);
    let p = program(&store).await;
    for _ in 0..2_400 {
        webhook(&store, p, None).await;
    }
    let created = create_at_once(&store, p, vec![1]).await;
    assert_eq!(created.len(), 1);
    let events = events_of(&store, p, created[0]).await;
    assert_eq!(events.len(), 1);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM webhook_deliveries").await,
        2_400,
        "one delivery per endpoint"
    );
    // A resend to every endpoint: as many again.
    let event = domain::EventId::parse(events[0]["id"].as_str().unwrap()).unwrap();
    written(
        store
            .resend_event(p, event, None, now(), Along::nothing())
            .await
            .unwrap(),
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM webhook_deliveries").await,
        4_800
    );
}
contract!(
    a_fan_out_past_one_statement_is_written_whole,
    a_fan_out_past_one_statement_is_written_whole
);

/// Creates seed users `ns` at once; answers the ids of those created.
async fn create_at_once(store: &SqlStore, p: ProgramId, ns: Vec<u32>) -> Vec<UserId> {
    let tasks: Vec<_> = ns
        .into_iter()
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_user(p, ids(), &new_user(n), now(), Along::nothing())
                    .await
            })
        })
        .collect();
    let mut created = Vec::new();
    for t in tasks {
        if let Ok(o) = t.await.unwrap() {
            created.push(written(o).id());
        }
    }
    created
}

async fn webhook(store: &SqlStore, p: ProgramId, types: Option<Vec<String>>) -> Webhook {
    let new = NewWebhook::parse(
        &RawNewWebhook {
            url: Some("http://127.0.0.1:9/hook".to_owned()),
            event_types: types,
        },
        true,
    )
    .unwrap();
    let id = domain::WebhookId::from_uuid(uuid::Uuid::now_v7());
    written(
        store
            .create_webhook(p, id, &new, now(), Along::nothing())
            .await
            .unwrap(),
    )
}

fn ok_at(at: DateTime<Utc>) -> AttemptRecord {
    AttemptRecord {
        at,
        status_code: Some(200),
        error: None,
        duration_ms: 3,
    }
}

async fn claim(store: &SqlStore, at: DateTime<Utc>) -> Vec<ClaimedDelivery> {
    store
        .claim_deliveries(at, Duration::seconds(60), 100)
        .await
        .unwrap()
}

async fn deliveries_are_claimed_once_in_order(db: &TestDb, _keys: &Keys) {
    let store = store(db);
    let p = program(&store).await;
    let hook = webhook(&store, p, None).await;
    let secret = hook.secret.clone().unwrap();
    assert!(secret.expose().starts_with("whsec_"));
    assert_eq!(format!("{:?}", hook.secret), "Some([redacted])");
    // Only user.created to this one: it gets one delivery per user.
    let only_created = webhook(&store, p, Some(vec!["user.created".to_owned()])).await;
    let a = written(
        store
            .create_user(p, ids(), &new_user(1), now(), Along::nothing())
            .await
            .unwrap(),
    );
    let b = written(
        store
            .create_user(p, ids(), &new_user(2), now(), Along::nothing())
            .await
            .unwrap(),
    );
    let audit = Audit {
        actor: "operator",
        reason: None,
    };
    written(
        store
            .change_user(p, a.id(), UserChange::Block, audit, now(), Along::nothing())
            .await
            .unwrap(),
    );
    assert_eq!(store.pending_deliveries().await.unwrap(), 5);

    // Two claimers at once take disjoint sets; a's block waits for a's creation.
    let (x, y) = tokio::join!(claim(&store, now()), claim(&store, now()));
    let mut ids: Vec<&str> = x.iter().chain(y.iter()).map(|d| d.id.as_str()).collect();
    ids.sort_unstable();
    let n = ids.len();
    ids.dedup();
    assert_eq!((n, ids.len()), (4, 4), "each due delivery claimed once");
    assert!(
        claim(&store, now()).await.is_empty(),
        "leased, and the block waits"
    );
    let all: Vec<ClaimedDelivery> = x.into_iter().chain(y).collect();
    assert!(all.iter().all(|d| d.secrets.len() == 1));
    let to_hook = |user: &User| {
        all.iter()
            .find(|d| {
                d.endpoint == hook.id
                    && serde_json::from_str::<Value>(&d.body).unwrap()["data"]["object"]["id"]
                        == user.id().to_string()
            })
            .unwrap()
    };
    assert_eq!(to_hook(&a).secrets[0], secret);
    // b's delivery fails and is retried later; a's creation is delivered: a's block is next,
    // not blocked by b.
    let later = now() + Duration::seconds(1);
    let failed = AttemptRecord {
        status_code: Some(500),
        ..ok_at(later)
    };
    assert!(
        store
            .finish_delivery(
                to_hook(&b),
                &failed,
                NextStep::RetryAt(later + Duration::seconds(5)),
                EndpointEffect::Failing
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_delivery(
                to_hook(&a),
                &ok_at(later),
                NextStep::Delivered,
                EndpointEffect::Healthy
            )
            .await
            .unwrap()
    );
    let next = claim(&store, later).await;
    assert_eq!(next.len(), 1);
    let block: Value = serde_json::from_str(&next[0].body).unwrap();
    assert_eq!(
        (block["type"].as_str(), block["sequence"].as_i64()),
        (Some("user.blocked"), Some(2))
    );
    // A lease that ran out: claimed again, and the first holder can no longer finish it.
    let retaken = claim(&store, later + Duration::seconds(61)).await;
    assert!(retaken.iter().any(|d| d.id == next[0].id));
    assert!(
        !store
            .finish_delivery(
                &next[0],
                &ok_at(later),
                NextStep::Delivered,
                EndpointEffect::Healthy
            )
            .await
            .unwrap()
    );
    // The endpoint was failing since b's attempt.
    let got = store.get_event(p, next[0].event_id).await.unwrap().unwrap();
    assert!(got.1.is_empty(), "no attempt recorded under a lost lease");
    let first = store
        .get_event(p, to_hook(&a).event_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.1.len(), 1);
    assert_eq!(first.1[0].status_code, Some(200));
    // A disabled endpoint gets nothing claimed; rotation signs with both secrets.
    let update = WebhookUpdate {
        status: Some(WebhookStatus::Disabled),
        ..WebhookUpdate::default()
    };
    written(
        store
            .update_webhook(p, only_created.id, &update, later, Along::nothing())
            .await
            .unwrap(),
    );
    let rotated = written(
        store
            .rotate_webhook_secret(p, hook.id, Duration::hours(24), later, Along::nothing())
            .await
            .unwrap(),
    );
    let new_secret = rotated.secret.unwrap();
    assert_ne!(new_secret, secret);
    let c = written(
        store
            .create_user(p, self::ids(), &new_user(3), later, Along::nothing())
            .await
            .unwrap(),
    );
    let claimed = claim(&store, later + Duration::seconds(200)).await;
    let to_c: Vec<_> = claimed
        .iter()
        .filter(|d| {
            serde_json::from_str::<Value>(&d.body).unwrap()["data"]["object"]["id"]
                == c.id().to_string()
        })
        .collect();
    assert_eq!(to_c.len(), 1, "not to the disabled endpoint");
    assert_eq!(to_c[0].secrets, vec![new_secret, secret]);
    // Resend: a new delivery of the same event.
    let event = to_hook(&a).event_id;
    written(
        store
            .resend_event(p, event, Some(hook.id), later, Along::nothing())
            .await
            .unwrap(),
    );
    let again = claim(&store, later + Duration::seconds(300)).await;
    assert!(again.iter().any(|d| d.event_id == event));
    // Disabled by the worker (410): says why.
    let d = &again[0];
    assert!(
        store
            .finish_delivery(
                d,
                &AttemptRecord {
                    status_code: Some(410),
                    ..ok_at(later)
                },
                NextStep::Failed,
                EndpointEffect::Disable("gone")
            )
            .await
            .unwrap()
    );
    let h = store.get_webhook(p, d.endpoint).await.unwrap().unwrap();
    assert_eq!(
        (h.status, h.disabled_reason.as_deref()),
        (WebhookStatus::Disabled, Some("gone"))
    );
    let _ = EventType::ALL;
}
contract!(
    deliveries_are_claimed_once_in_order,
    deliveries_are_claimed_once_in_order
);

/// A batch's outcomes in one transaction: what each attempt got is recorded, the endpoint's
/// health follows the attempts in their order, and a delivery whose lease was lost gets
/// nothing written.
async fn a_batch_of_outcomes_is_recorded_together(db: &TestDb, _keys: &Keys) {
    let store = store(db);
    let p = program(&store).await;
    let hook = webhook(&store, p, Some(vec!["user.created".to_owned()])).await;
    for n in 1..=3 {
        written(
            store
                .create_user(p, ids(), &new_user(n), now(), Along::nothing())
                .await
                .unwrap(),
        );
    }
    let claimed = claim(&store, now()).await;
    assert_eq!(claimed.len(), 3);
    assert!(claimed.iter().all(|d| d.endpoint == hook.id));
    let later = now() + Duration::seconds(1);
    let stale = ClaimedDelivery {
        lease: "a lease another instance took over".to_owned(),
        ..claimed[2].clone()
    };
    let failed_at = later + Duration::milliseconds(5);
    let done = [
        Attempted {
            delivery: &claimed[0],
            attempt: ok_at(later),
            next: NextStep::Delivered,
            effect: EndpointEffect::Healthy,
        },
        Attempted {
            delivery: &claimed[1],
            attempt: AttemptRecord {
                status_code: Some(503),
                ..ok_at(failed_at)
            },
            next: NextStep::RetryAt(later + Duration::seconds(5)),
            effect: EndpointEffect::Failing,
        },
        Attempted {
            delivery: &stale,
            attempt: ok_at(later),
            next: NextStep::Delivered,
            effect: EndpointEffect::Healthy,
        },
    ];
    assert_eq!(store.finish_deliveries(&done).await.unwrap(), vec![2]);
    let attempts = |n: usize| {
        let store = store.clone();
        let event = claimed[n].event_id;
        async move {
            let (_, attempts) = store.get_event(p, event).await.unwrap().unwrap();
            attempts.iter().map(|a| a.status_code).collect::<Vec<_>>()
        }
    };
    assert_eq!(attempts(0).await, vec![Some(200)]);
    assert_eq!(attempts(1).await, vec![Some(503)]);
    assert!(attempts(2).await.is_empty(), "nothing under a lost lease");
    // The failed one is due again at its retry, the endpoint failing since that attempt; the
    // stale one stays leased to its first claim until the lease runs out.
    assert!(claim(&store, later + Duration::seconds(4)).await.is_empty());
    let retry = claim(&store, later + Duration::seconds(6)).await;
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].id, claimed[1].id);
    assert_eq!(retry[0].attempts, 1);
    assert_eq!(retry[0].failing_since, Some(failed_at));
    // Its retry succeeds: the endpoint is healthy again.
    let done = [Attempted {
        delivery: &retry[0],
        attempt: ok_at(later + Duration::seconds(6)),
        next: NextStep::Delivered,
        effect: EndpointEffect::Healthy,
    }];
    assert!(store.finish_deliveries(&done).await.unwrap().is_empty());
    let retaken = claim(&store, now() + Duration::seconds(61)).await;
    assert_eq!(retaken.len(), 1);
    assert_eq!(retaken[0].id, claimed[2].id);
    assert_eq!(retaken[0].failing_since, None);
    assert_eq!(store.pending_deliveries().await.unwrap(), 1);
}
contract!(
    a_batch_of_outcomes_is_recorded_together,
    a_batch_of_outcomes_is_recorded_together
);
