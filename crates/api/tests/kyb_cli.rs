//! `onboard kyb decide` as an operator uses it: a pending KYB case decided from the command
//! line, recorded in the business's audit trail (actor `operator`) and in `operator_actions`
//! (who ran it), and a decided case refused a second decision.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::too_many_lines)]

use domain::fixtures::{SeedBusiness, SeedUser};
use domain::{
    BusinessChange, BusinessId, BusinessOwnerId, ContactId, KycStatus, NewBusiness,
    NewBusinessOwner, NewUser, ParseContext, RawNewBusinessOwner, UserId,
};
use storage::testing::{Backend, TestDatabase};
use storage::{
    Along, Audit, BusinessLifecycle as _, BusinessRepository as _, Keyring, NewUserIds,
    ProgramRepository as _, SecretKey, UserRepository as _,
};

#[path = "support/onboard_cli.rs"]
mod onboard_cli;

fn onboard(url: &str, keys: &(String, String), args: &[&str]) -> (bool, String, String) {
    onboard_cli::onboard(url, keys, None, args)
}

async fn kyb_decide(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await.unwrap() else {
        return;
    };
    let (k1, blind) = (
        SecretKey::generate().unwrap(),
        SecretKey::generate().unwrap(),
    );
    let keys = (
        format!("k1:{}", k1.to_base64().as_str()),
        blind.to_base64().to_string(),
    );
    let keyring = Keyring::new([("k1".to_owned(), k1)], "k1", blind).unwrap();
    let store = db.store(keyring).await.unwrap();
    let now = chrono::Utc::now();
    let program = store.create_program("acme", now).await.unwrap().program_id;

    // A business with an owner, submitted for KYB.
    let business = BusinessId::from_uuid(uuid::Uuid::now_v7());
    let new = NewBusiness::parse(&SeedBusiness::new(1).raw(), now.date_naive()).unwrap();
    store
        .create_business(program, business, &new, now, Along::nothing())
        .await
        .unwrap()
        .written()
        .unwrap();
    let ids = NewUserIds {
        user: UserId::from_uuid(uuid::Uuid::now_v7()),
        contact: ContactId::from_uuid(uuid::Uuid::now_v7()),
    };
    let person =
        NewUser::parse(&SeedUser::new(1).raw(), ParseContext::new(now.date_naive())).unwrap();
    store
        .create_user(program, ids, &person, now, Along::nothing())
        .await
        .unwrap()
        .written()
        .unwrap();
    let audit = Audit {
        actor: "test",
        reason: None,
    };
    let owner = NewBusinessOwner::parse(&RawNewBusinessOwner {
        business_id: Some(business.to_string()),
        user_id: Some(ids.user.to_string()),
        ownership_percent: Some("100".into()),
        title: Some("Owner".into()),
        is_control_person: Some(true),
    })
    .unwrap();
    let owner_id = BusinessOwnerId::from_uuid(uuid::Uuid::now_v7());
    store
        .add_business_owner(program, owner_id, &owner, audit, now, Along::nothing())
        .await
        .unwrap()
        .written()
        .unwrap();
    store
        .change_business(
            program,
            business,
            BusinessChange::SubmitKyb,
            audit,
            now,
            Along::nothing(),
        )
        .await
        .unwrap()
        .written()
        .unwrap();

    let id = business.to_string();
    let (ok, stdout, stderr) = onboard(
        &db.url,
        &keys,
        &[
            "--actor",
            "alice",
            "kyb",
            "decide",
            &id,
            "verified",
            "--reason",
            "documents checked",
        ],
    );
    assert!(ok, "{stderr}");
    assert!(stdout.contains("verified"), "{stdout}");
    let got = store
        .get_business(program, business)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.kyb_status(), KycStatus::Verified);
    let events = store.business_events(program, business).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (
            last.kind.as_str(),
            last.to.as_deref(),
            last.actor.as_str(),
            last.reason.as_deref()
        ),
        (
            "kyb",
            Some("verified"),
            "operator",
            Some("documents checked")
        )
    );
    let recorded = store.operator_actions(1).await.unwrap();
    assert_eq!(recorded[0].action.actor, "alice");
    assert_eq!(
        recorded[0].action.command,
        format!("kyb decide {id} verified")
    );

    let (ok, _, stderr) = onboard(&db.url, &keys, &["kyb", "decide", &id, "rejected"]);
    assert!(
        !ok && stderr.contains("cannot"),
        "a decided case cannot be decided again: {stderr}"
    );
    let (ok, _, stderr) = onboard(&db.url, &keys, &["kyb", "decide", "buss-nope", "rejected"]);
    assert!(!ok && stderr.contains("business"), "{stderr}");
    db.drop_database().await;
}

#[tokio::test]
async fn kyb_decide_sqlite() {
    kyb_decide(Backend::Sqlite).await;
}

#[tokio::test]
async fn kyb_decide_postgres() {
    kyb_decide(Backend::Postgres).await;
}

#[tokio::test]
async fn kyb_decide_mysql() {
    kyb_decide(Backend::Mysql).await;
}
