//! Sanctions screening's storage (SPEC §8) on the three databases: list versions replacing each
//! other atomically, a screening recorded with the submission that holds KYC, the operator's
//! decisions, and a rescreen done once across two instances under its lease.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    unreachable_pub
)]

mod common;

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use common::{Keys, TestDb};
use domain::fixtures::SeedUser;
use domain::screening::{ScreeningDecision, ScreeningStatus, parse_sdn};
use domain::{
    ContactId, KycStatus, NewUser, ParseContext, ProgramId, UserChange, UserId, UserStatus,
};
use sea_orm::{ConnectionTrait as _, Statement};
use storage::screening::{
    ListFiles, Loaded, MatchedEntry, NoOpenCase, RescreenBatch, RescreenClaim, ScreeningWrite,
    Trigger,
};
use storage::{
    Along, Audit, NewUserIds, OperatorAction, ProgramRepository as _, SqlStore, UserRepository as _,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 29, 12, 0, 0).unwrap()
}

fn files(dir: &str) -> ListFiles {
    let read = |f: &str| {
        std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../screening")
                .join(dir)
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

/// The KYC cases a verifier would be offered now: claimed each time a lease later, so that
/// the claims of an earlier call have run out.
async fn offered(store: &SqlStore) -> Vec<(ProgramId, UserId)> {
    static CALLS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let at = now() + Duration::hours(CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    store
        .claim_kyc_cases(at, std::time::Duration::from_secs(60), 10)
        .await
        .unwrap()
}

async fn load(store: &SqlStore, files: &ListFiles) -> Loaded {
    let list = parse_sdn(&files.sdn, &files.alt, &files.add);
    store
        .load_screening_list(
            files,
            &list.report,
            &OperatorAction::new("alice", "screening load"),
            now(),
        )
        .await
        .unwrap()
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    let conn = db.store.connection();
    let row = conn
        .query_one_raw(Statement::from_string(
            conn.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// `n` users of a new program, created (not submitted).
async fn users(store: &SqlStore, n: u32) -> (ProgramId, Vec<UserId>) {
    let p = store
        .create_program("acme", now())
        .await
        .unwrap()
        .program_id;
    let ctx = ParseContext::new(NaiveDate::from_ymd_opt(2026, 11, 29).unwrap());
    let mut ids = Vec::new();
    for i in 1..=n {
        let id = UserId::from_uuid(uuid::Uuid::now_v7());
        let user = NewUser::parse(&SeedUser::new(i).raw(), ctx).unwrap();
        let ids_ = NewUserIds {
            user: id,
            contact: ContactId::from_uuid(uuid::Uuid::now_v7()),
        };
        let _ = store
            .create_user(p, ids_, &user, now(), Along::nothing())
            .await
            .unwrap();
        ids.push(id);
    }
    (p, ids)
}

fn write(
    user: UserId,
    list_id: uuid::Uuid,
    outcome: ScreeningStatus,
    trigger: Trigger,
) -> ScreeningWrite {
    ScreeningWrite {
        user,
        list_id,
        trigger,
        best: (outcome == ScreeningStatus::PotentialMatch).then(|| MatchedEntry {
            score: 0.97,
            entry_number: 15102,
            entry_name: "MORENO, Daniel".to_owned(),
        }),
        outcome,
        actor: "api_key:test".to_owned(),
        at: now(),
    }
}

/// Submits `user` with a screening along, as `send-verification-request` does.
async fn submit(
    store: &SqlStore,
    p: ProgramId,
    user: UserId,
    list: uuid::Uuid,
    outcome: ScreeningStatus,
) -> Result<(), storage::StorageError> {
    let mut along = Along::nothing();
    along.screening = Some(write(user, list, outcome, Trigger::Submission));
    let audit = Audit {
        actor: "api_key:test",
        reason: None,
    };
    store
        .change_user(p, user, UserChange::SubmitKyc, audit, now(), along)
        .await
        .map(|_| ())
}

async fn list_versions_replace_each_other_atomically(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    assert_eq!(store.current_screening_list().await.unwrap(), None);
    let small = files("small");
    let Loaded::New(first) = load(store, &small).await else {
        panic!("a first list is new")
    };
    assert_eq!(
        (first.entries, first.aliases, first.addresses, first.skipped),
        (17, 28, 24, 9)
    );
    assert_eq!(first.sha256, small.sha256());
    assert_eq!(first.sha256.len(), 64);
    assert_eq!(
        store.current_screening_list().await.unwrap(),
        Some(first.clone())
    );
    // The same files again: nothing new.
    assert_eq!(load(store, &small).await, Loaded::Unchanged(first.clone()));
    // Other files: a new current version; the first stays readable for its cases.
    let mut other = small.clone();
    other.sdn.extend_from_slice(
        b"\n99999,\"DOE, John\",\"individual\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ",
    );
    let Loaded::New(second) = load(store, &other).await else {
        panic!("new files are new")
    };
    assert_ne!(second.id, first.id);
    assert_eq!(second.entries, 18);
    assert_eq!(
        store.current_screening_list().await.unwrap().map(|v| v.id),
        Some(second.id)
    );
    assert_eq!(
        store.screening_list_files(second.id).await.unwrap(),
        Some(other)
    );
    assert_eq!(
        store.screening_list_files(first.id).await.unwrap(),
        Some(small)
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM screening_lists").await, 2);
    assert_eq!(count(db, "SELECT COUNT(*) FROM operator_actions").await, 2);
}
contract!(
    list_versions_replace_each_other_atomically,
    list_versions_replace_each_other_atomically
);

async fn a_potential_match_holds_kyc_until_an_operator_decides(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let Loaded::New(list) = load(store, &files("small")).await else {
        panic!()
    };
    let (p, ids) = users(store, 3).await;
    assert_eq!(
        store.screening_status(p, ids[0]).await.unwrap(),
        ScreeningStatus::NotScreened
    );
    submit(store, p, ids[0], list.id, ScreeningStatus::PotentialMatch)
        .await
        .unwrap();
    submit(store, p, ids[1], list.id, ScreeningStatus::PotentialMatch)
        .await
        .unwrap();
    submit(store, p, ids[2], list.id, ScreeningStatus::Clear)
        .await
        .unwrap();
    // A refused submission (KYC already requested) records no screening.
    assert!(
        submit(store, p, ids[2], list.id, ScreeningStatus::PotentialMatch)
            .await
            .is_err()
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM screenings").await, 3);
    assert_eq!(
        store.screening_status(p, ids[0]).await.unwrap(),
        ScreeningStatus::PotentialMatch
    );
    assert_eq!(
        store.screening_status(p, ids[2]).await.unwrap(),
        ScreeningStatus::Clear
    );
    // KYC waits: only the clear user is offered to the verifier.
    assert_eq!(offered(store).await, vec![(p, ids[2])]);
    let cases = store.screening_cases(10).await.unwrap();
    assert_eq!(
        cases.iter().map(|c| c.user).collect::<Vec<_>>(),
        vec![ids[0], ids[1]]
    );
    assert_eq!(cases[0].entry_number, Some(15102));
    assert_eq!(cases[0].entry_name.as_deref(), Some("MORENO, Daniel"));
    assert_eq!(cases[0].list_id, list.id);
    // Pages (the console's queue): the same cases, a page at a time, with their screenings.
    let page = |offset, limit| async move {
        store
            .screening_cases_page(offset, limit)
            .await
            .unwrap()
            .iter()
            .map(|c| (c.user, c.entry_number))
            .collect::<Vec<_>>()
    };
    assert_eq!(page(0, 1).await, vec![(ids[0], Some(15102))]);
    assert_eq!(page(1, 10).await, vec![(ids[1], cases[1].entry_number)]);
    assert_eq!(store.screening_cases_page(1, 10).await.unwrap(), cases[1..]);
    assert!(page(2, 10).await.is_empty());

    let op = OperatorAction::new("bob", "screening decide");
    // Clear: KYC goes on.
    let cleared = store
        .decide_screening(
            ids[0],
            ScreeningDecision::Clear,
            "different person: DOB",
            &op,
            now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (cleared.status, cleared.kyc_rejected, cleared.blocked),
        (ScreeningStatus::Clear, false, false)
    );
    let mut pending = offered(store).await;
    pending.sort();
    let mut expected = vec![(p, ids[0]), (p, ids[2])];
    expected.sort();
    assert_eq!(pending, expected);
    // A decided case cannot be decided again; a user never screened has no case.
    assert_eq!(
        store
            .decide_screening(ids[0], ScreeningDecision::Confirm, "x", &op, now())
            .await
            .unwrap(),
        Err(NoOpenCase(ScreeningStatus::Clear))
    );
    let (_, unscreened) = users(store, 1).await;
    assert_eq!(
        store
            .decide_screening(unscreened[0], ScreeningDecision::Clear, "x", &op, now())
            .await
            .unwrap(),
        Err(NoOpenCase(ScreeningStatus::NotScreened))
    );
    // Confirm: KYC rejected (sanctions_match), the user blocked.
    let confirmed = store
        .decide_screening(
            ids[1],
            ScreeningDecision::Confirm,
            "same DOB and passport",
            &op,
            now(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (confirmed.status, confirmed.kyc_rejected, confirmed.blocked),
        (ScreeningStatus::ConfirmedMatch, true, true)
    );
    let user = store.get_user(p, ids[1]).await.unwrap().unwrap();
    assert_eq!(
        (user.status(), user.kyc_status()),
        (UserStatus::Blocked, KycStatus::Rejected)
    );
    let events = store.user_events(p, ids[1]).await.unwrap();
    let trail: Vec<(&str, &str, &str, Option<&str>)> = events
        .iter()
        .map(|e| {
            (
                e.kind.as_str(),
                e.from.as_str(),
                e.to.as_str(),
                e.reason.as_deref(),
            )
        })
        .collect();
    // The submission and its screening commit together (same millisecond: either order).
    let mut submission = trail[..2].to_vec();
    submission.sort_unstable();
    assert_eq!(
        submission,
        vec![
            ("kyc", "not_started", "pending", None),
            ("screening", "not_screened", "potential_match", None),
        ]
    );
    assert_eq!(
        trail[2..],
        vec![
            (
                "screening",
                "potential_match",
                "confirmed_match",
                Some("same DOB and passport")
            ),
            ("kyc", "pending", "rejected", Some("sanctions_match")),
            ("status", "active", "blocked", Some("same DOB and passport")),
        ]
    );
    assert_eq!(events[2].actor, "operator:bob");
    assert!(events[..2].iter().all(|e| e.actor == "api_key:test"));
    assert!(store.screening_cases(10).await.unwrap().is_empty());
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM screenings WHERE decision IS NOT NULL AND decided_by = 'bob' AND decided_at IS NOT NULL").await,
        2
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM operator_actions WHERE actor = 'bob'"
        )
        .await,
        2
    );
}
contract!(
    a_potential_match_holds_kyc_until_an_operator_decides,
    a_potential_match_holds_kyc_until_an_operator_decides
);

/// The screenings of a claimed batch (here: everyone clear), by `holder`.
fn clear_writes(claim: &RescreenClaim, holder: &str) -> Vec<(ProgramId, ScreeningWrite)> {
    claim
        .users
        .iter()
        .map(|u| {
            let mut w = write(
                u.id(),
                claim.batch.list_id,
                ScreeningStatus::Clear,
                Trigger::Rescreen,
            );
            holder.clone_into(&mut w.actor);
            (u.program_id(), w)
        })
        .collect()
}

/// Claims a batch of 4 from where the database says the rescreen stands, screens it and
/// records it as `holder`.
async fn rescreen_batch(store: &SqlStore, holder: &str, at: DateTime<Utc>) -> Option<usize> {
    let claim = store
        .claim_rescreen(holder, Duration::seconds(60), 4, None, at)
        .await
        .unwrap()?;
    let writes = clear_writes(&claim, holder);
    store
        .record_rescreen(holder, Duration::seconds(60), &claim.batch, &writes, at)
        .await
        .unwrap()
}

async fn a_new_list_rescreens_every_submitted_user_once_across_instances(
    db: &TestDb,
    _keys: &Keys,
) {
    let store = &db.store;
    let Loaded::New(first) = load(store, &files("small")).await else {
        panic!()
    };
    let (p, ids) = users(store, 11).await;
    // Ten submitted (screened against the first list), one never submitted.
    for &u in &ids[..10] {
        submit(store, p, u, first.id, ScreeningStatus::Clear)
            .await
            .unwrap();
    }
    // The first list's own rescreen finds everyone screened already, and is done.
    assert_eq!(rescreen_batch(store, "a", now()).await, None);
    let mut other = files("small");
    other
        .alt
        .extend_from_slice(b"\n15102,1,\"aka\",\"MORENO, Dan\",-0- ");
    let Loaded::New(second) = load(store, &other).await else {
        panic!()
    };
    // Instance a takes the lease and a batch; b is refused while a's lease is live.
    assert_eq!(rescreen_batch(store, "a", now()).await, Some(4));
    assert_eq!(
        store
            .claim_rescreen("b", Duration::seconds(60), 4, None, now())
            .await
            .unwrap(),
        None
    );
    // a claims the next batch and dies before writing it; after the lease, b goes on.
    let lost = store
        .claim_rescreen("a", Duration::seconds(60), 4, None, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lost.users.len(), 4);
    let later = now() + Duration::seconds(61);
    assert_eq!(rescreen_batch(store, "b", later).await, Some(4));
    // a comes back: it no longer holds the lease, its batch writes nothing.
    assert_eq!(lost.batch.list_id, second.id);
    let stale = clear_writes(&lost, "a");
    assert_eq!(
        store
            .record_rescreen("a", Duration::seconds(60), &lost.batch, &stale, later)
            .await
            .unwrap(),
        None
    );
    assert_eq!(rescreen_batch(store, "b", later).await, Some(2));
    assert_eq!(rescreen_batch(store, "b", later).await, None);
    assert_eq!(
        rescreen_batch(store, "a", later + Duration::seconds(120)).await,
        None
    );
    // Each submitted user screened exactly once against the second list; the other not at all.
    let per_user = format!(
        "SELECT COUNT(*) FROM screenings WHERE list_id = '{}' AND cause = 'rescreen'",
        second.id
    );
    assert_eq!(count(db, &per_user).await, 10);
    assert_eq!(
        count(
            db,
            &format!(
                "SELECT COUNT(DISTINCT user_id) FROM screenings WHERE list_id = '{}'",
                second.id
            )
        )
        .await,
        10
    );
    assert_eq!(
        store.screening_status(p, ids[10]).await.unwrap(),
        ScreeningStatus::NotScreened
    );
}
contract!(
    a_new_list_rescreens_every_submitted_user_once_across_instances,
    a_new_list_rescreens_every_submitted_user_once_across_instances
);

/// Rescreens as the service's loop does, in batches of 3, claiming each batch before the one
/// before it is written; returns how many screenings `holder` wrote.
async fn rescreen_pipelined(store: &SqlStore, holder: &str, at: DateTime<Utc>) -> usize {
    let lease = Duration::seconds(60);
    let mut total = 0;
    let mut unwritten: Option<(RescreenBatch, Vec<(ProgramId, ScreeningWrite)>)> = None;
    let mut next = store
        .claim_rescreen(holder, lease, 3, None, at)
        .await
        .unwrap();
    let mut claimed_after = false;
    loop {
        let Some(claim) = next.take() else {
            if let Some((batch, writes)) = unwritten.take() {
                total += store
                    .record_rescreen(holder, lease, &batch, &writes, at)
                    .await
                    .unwrap()
                    .unwrap();
            }
            if std::mem::take(&mut claimed_after) {
                next = store
                    .claim_rescreen(holder, lease, 3, None, at)
                    .await
                    .unwrap();
                continue;
            }
            return total;
        };
        let following = store
            .claim_rescreen(holder, lease, 3, Some(&claim.batch), at)
            .await
            .unwrap();
        if let Some((batch, writes)) = unwritten.take() {
            total += store
                .record_rescreen(holder, lease, &batch, &writes, at)
                .await
                .unwrap()
                .unwrap();
        }
        let writes = clear_writes(&claim, holder);
        unwritten = Some((claim.batch, writes));
        next = following;
        claimed_after = true;
    }
}

/// The users screened against `list`, each with how many screenings and by whom.
async fn screened_against(db: &TestDb, list: uuid::Uuid) -> Vec<(String, i64, String)> {
    let conn = db.store.connection();
    let rows = conn
        .query_all_raw(Statement::from_string(
            conn.get_database_backend(),
            format!(
                "SELECT user_id, COUNT(*) AS n, MAX(cause) AS cause FROM screenings \
                 WHERE list_id = '{list}' GROUP BY user_id ORDER BY user_id"
            ),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.try_get_by_index::<String>(0).unwrap(),
                r.try_get_by_index::<i64>(1).unwrap(),
                r.try_get_by_index::<String>(2).unwrap(),
            )
        })
        .collect()
}

async fn the_rescreen_walks_users_once_sweeps_behind_it_and_resumes_after_a_holder_dies(
    db: &TestDb,
    _keys: &Keys,
) {
    let store = &db.store;
    let Loaded::New(first) = load(store, &files("small")).await else {
        panic!()
    };
    // Created in id order. Submitted before the second list: 0, 2..=6; with it: 7..=9 (a whole
    // batch screened already), 12 and 13 (by an instance still on the first list); during
    // the rescreen: 1 (behind the walk, on the first list) and 11 (ahead of it, on the
    // second); 10 and 14 never.
    let (p, ids) = users(store, 15).await;
    for &u in std::iter::once(&ids[0]).chain(&ids[2..7]) {
        submit(store, p, u, first.id, ScreeningStatus::Clear)
            .await
            .unwrap();
    }
    let mut other = files("small");
    other
        .alt
        .extend_from_slice(b"\n15102,1,\"aka\",\"MORENO, Dan\",-0- ");
    let Loaded::New(second) = load(store, &other).await else {
        panic!()
    };
    for (range, list) in [(7..10, second.id), (12..14, first.id)] {
        for &u in &ids[range] {
            submit(store, p, u, list, ScreeningStatus::Clear)
                .await
                .unwrap();
        }
    }
    let lease = Duration::seconds(60);
    let ids_of = |c: &RescreenClaim| c.users.iter().map(domain::User::id).collect::<Vec<_>>();

    // a claims a batch, then the next one before writing the first, in id order.
    let c1 = store
        .claim_rescreen("a", lease, 3, None, now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ids_of(&c1), [ids[0], ids[2], ids[3]]);
    let c2 = store
        .claim_rescreen("a", lease, 3, Some(&c1.batch), now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ids_of(&c2), [ids[4], ids[5], ids[6]]);
    let a_writes = clear_writes(&c1, "a");
    assert_eq!(
        store
            .record_rescreen("a", lease, &c1.batch, &a_writes, now())
            .await
            .unwrap(),
        Some(3)
    );
    // The same batch again writes nothing: a user is written once per list version.
    assert_eq!(
        store
            .record_rescreen("a", lease, &c1.batch, &a_writes, now())
            .await
            .unwrap(),
        Some(0)
    );
    // Submitted meanwhile: 1 behind the walk, screened against the first list (its instance
    // has not installed the second yet); 11 ahead of it, against the second.
    submit(store, p, ids[1], first.id, ScreeningStatus::Clear)
        .await
        .unwrap();
    submit(store, p, ids[11], second.id, ScreeningStatus::Clear)
        .await
        .unwrap();

    // a dies holding c2. b is refused while a's lease is live, then resumes where the last
    // written batch ended: c2's users again, not c1's.
    assert_eq!(
        store
            .claim_rescreen("b", lease, 3, None, now())
            .await
            .unwrap(),
        None
    );
    let later = now() + Duration::seconds(61);
    let resumed = store
        .claim_rescreen("b", lease, 3, None, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ids_of(&resumed), ids_of(&c2));
    // (b drops that claim: a claim writes nothing, the next starts from the same place.)
    // b rescreens to the end: c2's users, then 12 and 13 (the batch of 7..=9 is passed over,
    // and 11 skipped), then the sweep finds 1.
    assert_eq!(rescreen_pipelined(store, "b", later).await, 6);
    // a comes back: its batch writes nothing; the rescreen is done for everyone.
    let stale = clear_writes(&c2, "a");
    assert_eq!(
        store
            .record_rescreen("a", lease, &c2.batch, &stale, later)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .claim_rescreen("a", lease, 3, None, later + Duration::seconds(120))
            .await
            .unwrap(),
        None
    );

    // Every submitted user screened exactly once against the second list; c1's by a, 7..=9
    // and 11 by their submissions, the others by b; 10 and 14, never submitted, not at all.
    let mut expected: Vec<(String, i64, String)> = ids
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != 10 && i != 14)
        .map(|(i, u)| {
            let cause = if matches!(i, 7..=9 | 11) {
                "submission"
            } else {
                "rescreen"
            };
            (u.uuid().to_string(), 1, cause.to_owned())
        })
        .collect();
    expected.sort();
    assert_eq!(screened_against(db, second.id).await, expected);
    let by_a = format!(
        "SELECT COUNT(*) FROM user_events WHERE kind = 'screening' AND actor = 'a' AND user_id IN ('{}', '{}', '{}')",
        ids[0].uuid(),
        ids[2].uuid(),
        ids[3].uuid()
    );
    assert_eq!(count(db, &by_a).await, 3);
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM user_events WHERE kind = 'screening' AND actor = 'b'"
        )
        .await,
        6
    );
    for u in [ids[10], ids[14]] {
        assert_eq!(
            store.screening_status(p, u).await.unwrap(),
            ScreeningStatus::NotScreened
        );
    }
}
contract!(
    the_rescreen_walks_users_once_sweeps_behind_it_and_resumes_after_a_holder_dies,
    the_rescreen_walks_users_once_sweeps_behind_it_and_resumes_after_a_holder_dies
);

async fn once_a_list_is_loaded_kyc_waits_for_a_clear_screening(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let (p, ids) = users(store, 2).await;
    // No list: screening is off, KYC proceeds unscreened.
    let audit = Audit {
        actor: "api_key:test",
        reason: None,
    };
    let _ = store
        .change_user(
            p,
            ids[0],
            UserChange::SubmitKyc,
            audit,
            now(),
            Along::nothing(),
        )
        .await
        .unwrap();
    assert_eq!(offered(store).await, vec![(p, ids[0])]);
    // A list: the user submitted before it waits for its rescreen; a clear one proceeds.
    let Loaded::New(list) = load(store, &files("small")).await else {
        panic!()
    };
    assert!(offered(store).await.is_empty());
    submit(store, p, ids[1], list.id, ScreeningStatus::Clear)
        .await
        .unwrap();
    assert_eq!(offered(store).await, vec![(p, ids[1])]);
}
contract!(
    once_a_list_is_loaded_kyc_waits_for_a_clear_screening,
    once_a_list_is_loaded_kyc_waits_for_a_clear_screening
);
