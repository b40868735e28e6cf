//! The console's storage (SPEC §10, migration 15) on every database: operators (unique email
//! in any case, the password as an argon2id hash, the TOTP secret sealed), the password check,
//! a TOTP step accepted once, sessions (stored hashed; idle and absolute expiry; logout,
//! disable and reset end them on every instance), and the failed-login throttle shared by
//! instances. Every test runs on SQLite, and on PostgreSQL and MariaDB when configured.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    unreachable_pub
)]

mod common;

use chrono::{DateTime, Duration, TimeZone as _, Utc};
use common::{Keys, TestDb};
use domain::{Email, OperatorId, OperatorRole};
use storage::console::{
    NewOperator, Operator, OperatorRef, SessionPolicy, SessionToken, ThrottleRule,
};
use storage::{
    ConflictCode, ConflictField, DatabaseConfig, OperatorAction, SecretString, SqlStore,
    StorageError,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 9, 0, 0).unwrap()
}

fn by() -> OperatorAction {
    OperatorAction::new("alice", "operator create")
}

const SECRET: &[u8] = b"totp-secret-of-20-by";

async fn create(
    store: &SqlStore,
    email: &str,
    role: OperatorRole,
) -> Result<Operator, StorageError> {
    store
        .create_operator(
            &NewOperator {
                id: OperatorId::from_uuid(uuid::Uuid::now_v7()),
                email: &Email::parse(email).unwrap(),
                role,
            },
            &SecretString::new("correct horse".to_owned()),
            SECRET,
            now(),
            &by(),
        )
        .await
}

async fn second_instance(db: &TestDb, keys: &Keys) -> SqlStore {
    SqlStore::open(&DatabaseConfig::new(db.url()), keys.ring_k1())
        .await
        .unwrap()
}

async fn operators_and_passwords(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let op = create(store, "Rita@Example.com", OperatorRole::Reviewer)
        .await
        .unwrap();
    assert_eq!(op.role, OperatorRole::Reviewer);
    // As the domain parses it (the domain part lowercased).
    assert_eq!(op.email, "Rita@example.com");
    assert!(op.id.to_string().starts_with("opr-"));
    match create(store, "rita@example.COM", OperatorRole::Admin).await {
        Err(StorageError::Conflict(ConflictCode::Duplicate(ConflictField::Email))) => {}
        other => panic!("a second operator with the same email: {other:?}"),
    }
    // The password is a hash and the TOTP secret sealed: neither is stored as given.
    assert_eq!(
        db.count("SELECT COUNT(*) FROM console_operators WHERE password_hash LIKE '$argon2id$%'")
            .await,
        1
    );
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM console_operators WHERE password_hash LIKE '%correct horse%'"
        )
        .await,
        0
    );
    let verified = store
        .verify_operator_password("RITA@example.com", "correct horse")
        .await
        .unwrap()
        .expect("the right password verifies");
    assert_eq!(verified.operator, op);
    assert_eq!(verified.totp_secret.as_slice(), SECRET);
    assert!(!format!("{verified:?}").contains("totp-secret"));
    for (email, password) in [
        ("rita@example.com", "wrong"),
        ("nobody@example.com", "correct horse"),
    ] {
        assert!(
            store
                .verify_operator_password(email, password)
                .await
                .unwrap()
                .is_none()
        );
    }
    // A step is accepted once, and never an earlier one after it.
    assert!(store.accept_totp_step(op.id, 100).await.unwrap());
    assert!(!store.accept_totp_step(op.id, 100).await.unwrap());
    assert!(!store.accept_totp_step(op.id, 99).await.unwrap());
    assert!(store.accept_totp_step(op.id, 101).await.unwrap());

    // Disabled: the password no longer verifies; enabled again, it does.
    let which = OperatorRef::parse("rita@example.com");
    let disabled = store
        .set_operator_disabled(&which, true, now(), &by())
        .await
        .unwrap();
    assert!(disabled.disabled_at.is_some());
    assert!(
        store
            .verify_operator_password("rita@example.com", "correct horse")
            .await
            .unwrap()
            .is_none()
    );
    store
        .set_operator_disabled(&OperatorRef::Id(op.id), false, now(), &by())
        .await
        .unwrap();
    // Reset: a new password and secret; the old password fails.
    store
        .reset_operator(
            &which,
            &SecretString::new("new one".to_owned()),
            b"another-secret-20-by",
            now(),
            &by(),
        )
        .await
        .unwrap();
    assert!(
        store
            .verify_operator_password("rita@example.com", "correct horse")
            .await
            .unwrap()
            .is_none()
    );
    let again = store
        .verify_operator_password("rita@example.com", "new one")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.totp_secret.as_slice(), b"another-secret-20-by");
    // The reset forgot the last step.
    assert!(store.accept_totp_step(op.id, 50).await.unwrap());
    match store
        .set_operator_disabled(&OperatorRef::parse("ghost@example.com"), true, now(), &by())
        .await
    {
        Err(StorageError::NotFound(storage::Entity::Operator)) => {}
        other => panic!("{other:?}"),
    }
    assert_eq!(store.list_operators().await.unwrap().len(), 1);
}
contract!(operators_and_passwords, operators_and_passwords);

async fn sessions_end_everywhere(db: &TestDb, keys: &Keys) {
    let store = &db.store;
    let other = second_instance(db, keys).await;
    let policy = SessionPolicy::default();
    let op = create(store, "ada@example.com", OperatorRole::Admin)
        .await
        .unwrap();
    let token = SessionToken::generate().unwrap();
    store
        .open_console_session(&op, &token, policy, now())
        .await
        .unwrap();
    // The login is the operator's last one.
    let op = Operator {
        last_login_at: Some(now()),
        ..op
    };
    // Stored hashed, never the token.
    let raw = format!(
        "SELECT COUNT(*) FROM console_sessions WHERE id_hash = '{}'",
        token.expose()
    );
    assert_eq!(db.count(&raw).await, 0);
    assert_eq!(db.count("SELECT COUNT(*) FROM console_sessions").await, 1);
    // Every instance accepts it.
    for s in [store, &other] {
        assert_eq!(
            s.console_session(&token, policy, now()).await.unwrap(),
            Some(op.clone())
        );
    }
    let unknown = SessionToken::generate().unwrap();
    assert_eq!(
        other
            .console_session(&unknown, policy, now())
            .await
            .unwrap(),
        None
    );

    // Idle: used within 15 minutes it lives on; 15 minutes unused, it ends.
    let t = now() + Duration::minutes(14);
    assert!(
        store
            .console_session(&token, policy, t)
            .await
            .unwrap()
            .is_some()
    );
    let t2 = t + Duration::minutes(14);
    assert!(
        other
            .console_session(&token, policy, t2)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .console_session(&token, policy, t2 + Duration::minutes(15))
            .await
            .unwrap()
            .is_none()
    );

    // Absolute: 8 hours after the login, even in use.
    let token = SessionToken::generate().unwrap();
    store
        .open_console_session(&op, &token, policy, now())
        .await
        .unwrap();
    let mut t = now();
    for _ in 0..(8 * 60 / 10 - 1) {
        t += Duration::minutes(10);
        assert!(
            store
                .console_session(&token, policy, t)
                .await
                .unwrap()
                .is_some()
        );
    }
    t += Duration::minutes(10);
    assert!(
        store
            .console_session(&token, policy, t)
            .await
            .unwrap()
            .is_none()
    );

    // Logout on one instance ends it on the other.
    let token = SessionToken::generate().unwrap();
    store
        .open_console_session(&op, &token, policy, now())
        .await
        .unwrap();
    other.close_console_session(&token).await.unwrap();
    assert!(
        store
            .console_session(&token, policy, now())
            .await
            .unwrap()
            .is_none()
    );

    // Disable ends every session of the operator at once.
    let tokens = [
        SessionToken::generate().unwrap(),
        SessionToken::generate().unwrap(),
    ];
    for t in &tokens {
        store
            .open_console_session(&op, t, policy, now())
            .await
            .unwrap();
    }
    other
        .set_operator_disabled(&OperatorRef::Id(op.id), true, now(), &by())
        .await
        .unwrap();
    for t in &tokens {
        assert!(
            store
                .console_session(t, policy, now())
                .await
                .unwrap()
                .is_none()
        );
    }
    store
        .set_operator_disabled(&OperatorRef::Id(op.id), false, now(), &by())
        .await
        .unwrap();
    // A reset too.
    let token = SessionToken::generate().unwrap();
    store
        .open_console_session(&op, &token, policy, now())
        .await
        .unwrap();
    store
        .reset_operator(
            &OperatorRef::Id(op.id),
            &SecretString::new("p".to_owned()),
            SECRET,
            now(),
            &by(),
        )
        .await
        .unwrap();
    assert!(
        other
            .console_session(&token, policy, now())
            .await
            .unwrap()
            .is_none()
    );
    // The sweep deletes sessions past their absolute expiry.
    let token = SessionToken::generate().unwrap();
    store
        .open_console_session(&op, &token, policy, now())
        .await
        .unwrap();
    assert_eq!(
        store
            .sweep_console_sessions(now() + Duration::hours(9))
            .await
            .unwrap(),
        1
    );
}
contract!(sessions_end_everywhere, sessions_end_everywhere);

async fn failed_logins_are_counted_across_instances(db: &TestDb, keys: &Keys) {
    let store = &db.store;
    let other = second_instance(db, keys).await;
    let rules = [
        ThrottleRule {
            kind: "account",
            subject: "rita@example.com".to_owned(),
            max: 3,
            window: Duration::minutes(15),
        },
        ThrottleRule {
            kind: "address",
            subject: "203.0.113.7".to_owned(),
            max: 5,
            window: Duration::minutes(15),
        },
    ];
    assert_eq!(store.login_throttled(&rules, now()).await.unwrap(), None);
    store.record_login_failure(&rules, now()).await.unwrap();
    other.record_login_failure(&rules, now()).await.unwrap();
    assert_eq!(other.login_throttled(&rules, now()).await.unwrap(), None);
    store.record_login_failure(&rules, now()).await.unwrap();
    // Three failures, through two instances: the account is throttled on both.
    for s in [store, &other] {
        assert_eq!(
            s.login_throttled(&rules, now()).await.unwrap(),
            Some(&rules[0])
        );
    }
    // Neither the email nor the address is stored.
    assert_eq!(
        db.count("SELECT COUNT(*) FROM console_login_throttle WHERE throttle_key LIKE '%rita%' OR throttle_key LIKE '%203.0%'")
            .await,
        0
    );
    // The window ends: counting starts again.
    let later = now() + Duration::minutes(16);
    assert_eq!(store.login_throttled(&rules, later).await.unwrap(), None);
    store.record_login_failure(&rules, later).await.unwrap();
    assert_eq!(store.login_throttled(&rules, later).await.unwrap(), None);
    // A success clears the account's count (the address keeps its own).
    store.record_login_failure(&rules, later).await.unwrap();
    store.record_login_failure(&rules, later).await.unwrap();
    assert_eq!(
        store.login_throttled(&rules, later).await.unwrap(),
        Some(&rules[0])
    );
    store.clear_login_failures(&rules[0]).await.unwrap();
    assert_eq!(store.login_throttled(&rules, later).await.unwrap(), None);
    let address_only = &rules[1..];
    store
        .record_login_failure(address_only, later)
        .await
        .unwrap();
    store
        .record_login_failure(address_only, later)
        .await
        .unwrap();
    assert_eq!(
        store.login_throttled(&rules, later).await.unwrap(),
        Some(&rules[1])
    );
}
contract!(
    failed_logins_are_counted_across_instances,
    failed_logins_are_counted_across_instances
);

async fn totp_secrets_move_to_the_new_key(db: &TestDb, keys: &Keys) {
    create(&db.store, "ada@example.com", OperatorRole::Admin)
        .await
        .unwrap();
    let both = common::keyring("k2", &[("k1", &keys.k1), ("k2", &keys.k2)], &keys.blind);
    let rotating = SqlStore::new(db.store.connection().clone(), both.clone());
    while rotating.reencrypt_batch(10).await.unwrap().more {}
    assert_eq!(
        db.count("SELECT COUNT(*) FROM console_operators WHERE totp_key_id <> 'k2'")
            .await,
        0
    );
    // Only the new key is needed now.
    let only_k2 = common::keyring("k2", &[("k2", &keys.k2)], &keys.blind);
    let after = SqlStore::new(db.store.connection().clone(), only_k2);
    let verified = after
        .verify_operator_password("ada@example.com", "correct horse")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(verified.totp_secret.as_slice(), SECRET);
}
contract!(
    totp_secrets_move_to_the_new_key,
    totp_secrets_move_to_the_new_key
);
