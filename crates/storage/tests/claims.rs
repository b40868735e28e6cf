//! Work claimed once across instances (SPEC §6): KYC cases and named leases, with two stores
//! on one database standing for two instances. Every test runs on SQLite, and on PostgreSQL
//! and MariaDB when configured.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use common::{Keys, TestDb};
use domain::fixtures::SeedUser;
use domain::{ContactId, NewUser, ParseContext, ProgramId, UserChange, UserId};
use storage::{
    Along, Audit, DatabaseConfig, NewUserIds, ProgramRepository as _, SqlStore, UserRepository as _,
};

const KYC_LEASE: StdDuration = StdDuration::from_secs(60);

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap()
}

/// A second store on the same database: another instance.
async fn second_instance(db: &TestDb, keys: &Keys) -> SqlStore {
    SqlStore::open(&DatabaseConfig::new(db.url()), keys.ring_k1())
        .await
        .unwrap()
}

/// `n` users of a new program, each with a KYC case submitted.
async fn pending_cases(store: &SqlStore, n: u32) -> (ProgramId, BTreeSet<UserId>) {
    let program = store
        .create_program("acme", now())
        .await
        .unwrap()
        .program_id;
    let ctx = ParseContext::new(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap());
    let mut ids = BTreeSet::new();
    for i in 0..n {
        let user = NewUser::parse(&SeedUser::new(i).raw(), ctx).unwrap();
        let id = UserId::from_uuid(uuid::Uuid::now_v7());
        let new_ids = NewUserIds {
            user: id,
            contact: ContactId::from_uuid(uuid::Uuid::now_v7()),
        };
        let _created = store
            .create_user(program, new_ids, &user, now(), Along::nothing())
            .await
            .unwrap();
        let _submitted = store
            .change_user(
                program,
                id,
                UserChange::SubmitKyc,
                Audit {
                    actor: "test",
                    reason: None,
                },
                now(),
                Along::nothing(),
            )
            .await
            .unwrap();
        ids.insert(id);
    }
    (program, ids)
}

async fn two_instances_never_claim_the_same_case(db: &TestDb, keys: &Keys) {
    let (_, cases) = pending_cases(&db.store, 30).await;
    let other = second_instance(db, keys).await;
    // Both instances claim at once, in small batches, until nothing is left.
    let claim_all = |store: SqlStore| async move {
        let mut mine = Vec::new();
        loop {
            let got = store.claim_kyc_cases(now(), KYC_LEASE, 4).await.unwrap();
            if got.is_empty() {
                return mine;
            }
            mine.extend(got.into_iter().map(|(_, id)| id));
        }
    };
    let (a, b) = tokio::join!(claim_all(db.store.clone()), claim_all(other.clone()));
    let a_set: BTreeSet<_> = a.iter().copied().collect();
    let b_set: BTreeSet<_> = b.iter().copied().collect();
    assert_eq!(
        a_set.len() + b_set.len(),
        a.len() + b.len(),
        "no instance claimed a case twice"
    );
    assert!(a_set.is_disjoint(&b_set), "no case claimed by both");
    assert_eq!(&a_set | &b_set, cases, "every case claimed");

    // Claimed cases stay with their claimant while the lease runs ...
    let during = now() + Duration::seconds(59);
    assert!(
        other
            .claim_kyc_cases(during, KYC_LEASE, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // ... and come back once it ran out (the claimant died or its verifier failed).
    let after = now() + Duration::seconds(61);
    let again = other.claim_kyc_cases(after, KYC_LEASE, 100).await.unwrap();
    assert_eq!(again.len(), cases.len());
    let _ = other.connection().clone().close().await;
}
contract!(
    two_instances_never_claim_the_same_case,
    two_instances_never_claim_the_same_case
);

async fn two_instances_never_claim_the_same_kyb_case(db: &TestDb, keys: &Keys) {
    use domain::fixtures::SeedBusiness;
    use sea_orm::ConnectionTrait as _;
    use storage::BusinessRepository as _;
    let program = db
        .store
        .create_program("acme", now())
        .await
        .unwrap()
        .program_id;
    let today = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let mut cases = BTreeSet::new();
    for n in 0..20 {
        let id = domain::BusinessId::from_uuid(uuid::Uuid::now_v7());
        let business = domain::NewBusiness::parse(&SeedBusiness::new(n).raw(), today).unwrap();
        let _created = db
            .store
            .create_business(program, id, &business, now(), Along::nothing())
            .await
            .unwrap();
        cases.insert(id);
    }
    // Submitted (the API's prerequisites are another test's business): pending.
    db.store
        .connection()
        .execute_unprepared("UPDATE businesses SET kyb_status = 'pending'")
        .await
        .unwrap();
    let other = second_instance(db, keys).await;
    let claim_all = |store: SqlStore| async move {
        let mut mine = Vec::new();
        loop {
            let got = store.claim_kyb_cases(now(), KYC_LEASE, 3).await.unwrap();
            if got.is_empty() {
                return mine;
            }
            mine.extend(got.into_iter().map(|(_, id)| id));
        }
    };
    let (a, b) = tokio::join!(claim_all(db.store.clone()), claim_all(other.clone()));
    let a_set: BTreeSet<_> = a.iter().copied().collect();
    let b_set: BTreeSet<_> = b.iter().copied().collect();
    assert_eq!(a_set.len() + b_set.len(), a.len() + b.len());
    assert!(a_set.is_disjoint(&b_set), "no case claimed by both");
    assert_eq!(&a_set | &b_set, cases, "every case claimed");
    let after = now() + Duration::seconds(61);
    assert_eq!(
        other
            .claim_kyb_cases(after, KYC_LEASE, 100)
            .await
            .unwrap()
            .len(),
        cases.len(),
        "back once the lease ran out"
    );
    let _ = other.connection().clone().close().await;
}
contract!(
    two_instances_never_claim_the_same_kyb_case,
    two_instances_never_claim_the_same_kyb_case
);

async fn decided_cases_are_not_claimed(db: &TestDb, _keys: &Keys) {
    let (program, cases) = pending_cases(&db.store, 3).await;
    let first = *cases.iter().next().unwrap();
    let _verified = db
        .store
        .change_user(
            program,
            first,
            UserChange::VerifyKyc,
            Audit {
                actor: "operator:test",
                reason: None,
            },
            now(),
            Along::nothing(),
        )
        .await
        .unwrap();
    let claimed: BTreeSet<_> = db
        .store
        .claim_kyc_cases(now(), KYC_LEASE, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|(p, id)| {
            assert_eq!(p, program);
            id
        })
        .collect();
    assert_eq!(claimed.len(), 2);
    assert!(!claimed.contains(&first), "a decided case is not claimed");
}
contract!(decided_cases_are_not_claimed, decided_cases_are_not_claimed);

async fn a_lease_has_one_holder_until_it_runs_out(db: &TestDb, keys: &Keys) {
    let other = second_instance(db, keys).await;
    let ttl = StdDuration::from_secs(30);
    let (a, b) = tokio::join!(
        db.store.try_lease("sweeper", "a", now(), ttl),
        other.try_lease("sweeper", "b", now(), ttl),
    );
    assert!(
        a.unwrap() ^ b.unwrap(),
        "exactly one of two instances taking a new lease at once gets it"
    );
    // Whoever has it, give it to "a" for the rest of the test.
    db.store.release_lease("sweeper", "b").await.unwrap();
    assert!(
        db.store
            .try_lease("sweeper", "a", now(), ttl)
            .await
            .unwrap()
    );
    let later = now() + Duration::seconds(10);
    assert!(!other.try_lease("sweeper", "b", later, ttl).await.unwrap());
    // Its holder renews it ...
    assert!(
        db.store
            .try_lease("sweeper", "a", later, ttl)
            .await
            .unwrap()
    );
    let renewed = later + Duration::seconds(25);
    assert!(
        !other.try_lease("sweeper", "b", renewed, ttl).await.unwrap(),
        "renewed: still a's 25 s after the first expiry would have been"
    );
    // ... and once it runs out, another takes it.
    let expired = later + Duration::seconds(31);
    assert!(other.try_lease("sweeper", "b", expired, ttl).await.unwrap());
    assert!(
        !db.store
            .try_lease("sweeper", "a", expired, ttl)
            .await
            .unwrap()
    );
    // A holder that stops gives it up at once.
    other.release_lease("sweeper", "b").await.unwrap();
    assert!(
        db.store
            .try_lease("sweeper", "a", expired, ttl)
            .await
            .unwrap()
    );
    let _ = other.connection().clone().close().await;
}
contract!(
    a_lease_has_one_holder_until_it_runs_out,
    a_lease_has_one_holder_until_it_runs_out
);
