//! The repository contract suite: every test runs on SQLite, and on PostgreSQL and MariaDB
//! when `ONBOARD_TEST_POSTGRES_URL` / `ONBOARD_TEST_MYSQL_URL` are set.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    unreachable_pub
)]

mod common;

use chrono::{DateTime, Duration, NaiveDate, TimeZone as _, Utc};
use common::{Backend, Keys, TestDb};
use domain::fixtures::{SeedBusiness, SeedUser, ssn};
use domain::{
    BusinessId, ContactId, NewBusiness, NewUser, ParseContext, ProgramId, RawNewBusiness,
    RawNewUser, UserId,
};
use sea_orm::{ConnectionTrait as _, Statement};
use storage::{
    Along, BusinessRepository as _, Claim, ConflictCode, ConflictField, CryptoError, Entity,
    IdempotencyRepository as _, InternalError, NewUserIds, OperatorAction, Outcome,
    ProgramRepository as _, Reference, ReplayGuard as _, Signature, SqlStore, StorageError,
    UserRepository as _,
};

const LEASE: Duration = Duration::seconds(60);

/// The replay guard's record of signature `digest`.
fn sig(p: ProgramId, digest: &str, expires_at: DateTime<Utc>) -> Signature {
    Signature::new(p, digest.to_owned(), expires_at)
}

/// The value of a write with nothing along (which cannot be a replay).
trait Written<T> {
    fn written(self) -> Result<T, StorageError>;
}

impl<T> Written<T> for Result<Outcome<T>, StorageError> {
    fn written(self) -> Result<T, StorageError> {
        self.map(|outcome| outcome.written().expect("nothing along, so never a replay"))
    }
}

/// The operator of the tests' operator actions.
fn by() -> OperatorAction {
    OperatorAction::new("alice", "test")
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 28, 12, 0, 0).unwrap() + Duration::milliseconds(123)
}

fn ctx() -> ParseContext {
    ParseContext::new(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap())
}

/// Seed user `n` as a client might type it (mixed-case email, lowercase state and country)
/// with a second meta entry: what is stored is what the domain normalised.
fn raw_user(n: u32) -> RawNewUser {
    SeedUser::new(n)
        .email(format!("Jane.Doe{n}@Example.com"))
        .with(|u| {
            u.state = Some("tx".into());
            u.country = Some("us".into());
        })
        .without_meta_data()
        .meta("external_ref", format!("customer-{n}"))
        .meta("tier", "gold")
        .raw()
}

fn new_user(raw: &RawNewUser) -> NewUser {
    NewUser::parse(raw, ctx()).unwrap()
}

fn ids() -> NewUserIds {
    NewUserIds {
        user: UserId::from_uuid(uuid::Uuid::now_v7()),
        contact: ContactId::from_uuid(uuid::Uuid::now_v7()),
    }
}

async fn program(store: &SqlStore) -> ProgramId {
    store
        .create_program("acme", now())
        .await
        .unwrap()
        .program_id
}

fn raw_business(n: u32) -> RawNewBusiness {
    SeedBusiness::new(n).raw()
}

/// A new business of `p` (from `raw_business(1)`).
async fn business(store: &SqlStore, p: ProgramId) -> BusinessId {
    let bid = BusinessId::from_uuid(uuid::Uuid::now_v7());
    let nb = NewBusiness::parse(&raw_business(1), ctx().today).unwrap();
    store
        .create_business(p, bid, &nb, now(), Along::nothing())
        .await
        .written()
        .unwrap();
    bid
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    let row = db
        .store
        .connection()
        .query_one_raw(Statement::from_string(
            db.store.connection().get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn create_then_get_round_trips(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let nu = new_user(&raw_user(1));
    let id = ids();
    let created = store
        .create_user(p, id, &nu, now(), Along::nothing())
        .await
        .written()
        .unwrap();
    assert_eq!(created.profile().email().as_str(), "Jane.Doe1@example.com");
    assert_eq!(created.ssn_last_4().unwrap().as_str(), &ssn(1)[7..]);
    assert_eq!(created.created_at(), now());
    let read = store.get_user(p, id.user).await.unwrap().unwrap();
    assert_eq!(read, created, "what was written is what is read back");
    assert_eq!(
        read.profile().meta_data().entries()[1].name().as_str(),
        "tier"
    );
    assert_eq!(read.profile().address().state().as_str(), "TX");
    let revealed = store.reveal_ssn(p, id.user).await.unwrap().unwrap();
    assert_eq!(revealed.expose_digits(), ssn(1).replace('-', ""));
}
contract!(create_then_get_round_trips, create_then_get_round_trips);

async fn unique_fields_conflict_by_name(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    store
        .create_user(p, ids(), &new_user(&raw_user(1)), now(), Along::nothing())
        .await
        .written()
        .unwrap();

    let mut same_email = raw_user(2);
    same_email.email = Some("JANE.DOE1@EXAMPLE.COM".into());
    let err = store
        .create_user(p, ids(), &new_user(&same_email), now(), Along::nothing())
        .await
        .written()
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Conflict(ConflictCode::Duplicate(ConflictField::Email))
        ),
        "{err:?}"
    );

    let mut same_username = raw_user(3);
    same_username.username = Some("JaneDoe1".into());
    let err = store
        .create_user(p, ids(), &new_user(&same_username), now(), Along::nothing())
        .await
        .written()
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Conflict(ConflictCode::Duplicate(ConflictField::Username))
        ),
        "{err:?}"
    );

    let mut same_ssn = raw_user(4);
    same_ssn.ssn = Some(domain::Zeroizing::new(ssn(1).replace('-', "")));
    let err = store
        .create_user(p, ids(), &new_user(&same_ssn), now(), Along::nothing())
        .await
        .written()
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Conflict(ConflictCode::Duplicate(ConflictField::Ssn))
        ),
        "{err:?}"
    );

    // Users without username or SSN do not collide on NULLs.
    for n in [5, 6] {
        let mut bare = raw_user(n);
        bare.username = None;
        bare.ssn = None;
        store
            .create_user(p, ids(), &new_user(&bare), now(), Along::nothing())
            .await
            .written()
            .unwrap();
    }
    // Another program may hold the same person.
    let other = program(store).await;
    store
        .create_user(
            other,
            ids(),
            &new_user(&raw_user(1)),
            now(),
            Along::nothing(),
        )
        .await
        .written()
        .unwrap();
    assert_eq!(count(db, "SELECT COUNT(*) FROM users").await, 4);
}
contract!(
    unique_fields_conflict_by_name,
    unique_fields_conflict_by_name
);

async fn another_programs_user_is_invisible(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let (a, b) = (program(store).await, program(store).await);
    let id = ids();
    store
        .create_user(a, id, &new_user(&raw_user(1)), now(), Along::nothing())
        .await
        .written()
        .unwrap();
    assert!(store.get_user(b, id.user).await.unwrap().is_none());
    assert!(store.get_user(a, id.user).await.unwrap().is_some());
}
contract!(
    another_programs_user_is_invisible,
    another_programs_user_is_invisible
);

async fn business_link_is_written_with_the_user(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let bid = BusinessId::from_uuid(uuid::Uuid::now_v7());
    let nb = NewBusiness::parse(&raw_business(1), ctx().today).unwrap();
    let business = store
        .create_business(p, bid, &nb, now(), Along::nothing())
        .await
        .written()
        .unwrap();
    assert_eq!(store.get_business(p, bid).await.unwrap().unwrap(), business);

    let mut raw = raw_user(1);
    raw.business_id = Some(bid.to_string());
    raw.is_vendor = Some(true);
    store
        .create_user(p, ids(), &new_user(&raw), now(), Along::nothing())
        .await
        .written()
        .unwrap();
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM business_contacts WHERE contact_type = 'vendor'"
        )
        .await,
        1
    );

    // A business of another program is not found, and nothing is written.
    let other = program(store).await;
    let mut raw = raw_user(2);
    raw.business_id = Some(bid.to_string());
    let err = store
        .create_user(other, ids(), &new_user(&raw), now(), Along::nothing())
        .await
        .written()
        .unwrap_err();
    assert!(
        matches!(err, StorageError::MissingReference(Reference::BusinessId)),
        "{err:?}"
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM users").await, 1);

    // Same EIN twice in a program conflicts on `ein`.
    let err = store
        .create_business(
            p,
            BusinessId::from_uuid(uuid::Uuid::now_v7()),
            &nb,
            now(),
            Along::nothing(),
        )
        .await
        .written()
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Conflict(ConflictCode::Duplicate(ConflictField::Ein))
        ),
        "{err:?}"
    );
}
contract!(
    business_link_is_written_with_the_user,
    business_link_is_written_with_the_user
);

async fn a_failing_last_statement_leaves_nothing(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let bid = business(store, p).await;
    let mut raw = raw_user(1);
    raw.business_id = Some(bid.to_string());
    let first = ids();
    store
        .create_user(p, first, &new_user(&raw), now(), Along::nothing())
        .await
        .written()
        .unwrap();

    // The contact insert (the last statement) reuses the first contact's id: its primary key
    // refuses it after the user and meta_data rows were already inserted in the transaction.
    let mut raw = raw_user(2);
    raw.business_id = Some(bid.to_string());
    let second = NewUserIds {
        user: UserId::from_uuid(uuid::Uuid::now_v7()),
        contact: first.contact,
    };
    let err = store
        .create_user(p, second, &new_user(&raw), now(), Along::nothing())
        .await
        .written()
        .unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Conflict(ConflictCode::Duplicate(ConflictField::Id))
        ),
        "{err:?}"
    );
    let uid = second.user.uuid();
    assert_eq!(
        count(
            db,
            &format!("SELECT COUNT(*) FROM users WHERE id = '{uid}'")
        )
        .await,
        0
    );
    assert_eq!(
        count(
            db,
            &format!("SELECT COUNT(*) FROM user_meta_data WHERE user_id = '{uid}'")
        )
        .await,
        0
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(count(db, "SELECT COUNT(*) FROM user_meta_data").await, 2);
}
contract!(
    a_failing_last_statement_leaves_nothing,
    a_failing_last_statement_leaves_nothing
);

async fn a_ciphertext_moved_to_another_row_does_not_decrypt(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let (a, b) = (ids(), ids());
    store
        .create_user(p, a, &new_user(&raw_user(1)), now(), Along::nothing())
        .await
        .written()
        .unwrap();
    store
        .create_user(p, b, &new_user(&raw_user(2)), now(), Along::nothing())
        .await
        .written()
        .unwrap();
    let sql = format!(
        "UPDATE users SET ssn_ciphertext = (SELECT c FROM (SELECT ssn_ciphertext AS c FROM users WHERE id = '{}') AS x) WHERE id = '{}'",
        a.user.uuid(),
        b.user.uuid()
    );
    store.connection().execute_unprepared(&sql).await.unwrap();
    let err = store.reveal_ssn(p, b.user).await.unwrap_err();
    assert!(
        matches!(
            err,
            StorageError::Internal(InternalError::Crypto(CryptoError::Unauthentic))
        ),
        "{err:?}"
    );
    assert!(store.reveal_ssn(p, a.user).await.unwrap().is_some());
}
contract!(
    a_ciphertext_moved_to_another_row_does_not_decrypt,
    a_ciphertext_moved_to_another_row_does_not_decrypt
);

/// Every byte the database holds for the user tables, as one blob per row.
async fn dump(db: &TestDb) -> Vec<u8> {
    if let Some(path) = &db.sqlite_path {
        let mut bytes = Vec::new();
        for suffix in ["", "-wal"] {
            if let Ok(b) = std::fs::read(format!("{}{suffix}", path.display())) {
                bytes.extend(b);
            }
        }
        return bytes;
    }
    let conn = db.store.connection();
    let backend = conn.get_database_backend();
    let tables_sql = match db.backend {
        Backend::Postgres => {
            "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        }
        _ => {
            "SELECT CAST(table_name AS CHAR), CAST(column_name AS CHAR), CAST(data_type AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY table_name, ordinal_position"
        }
    };
    let cols = conn
        .query_all_raw(Statement::from_string(backend, tables_sql.to_owned()))
        .await
        .unwrap();
    let mut out = Vec::new();
    for row in cols {
        let table: String = row.try_get_by_index(0).unwrap();
        let column: String = row.try_get_by_index(1).unwrap();
        let data_type: String = row.try_get_by_index(2).unwrap();
        let sql = match (db.backend, data_type.as_str()) {
            (Backend::Postgres, "bytea") => format!("SELECT \"{column}\" FROM \"{table}\""),
            (Backend::Postgres, _) => {
                format!("SELECT convert_to(\"{column}\"::text, 'UTF8') FROM \"{table}\"")
            }
            _ => format!("SELECT CAST(`{column}` AS BINARY) FROM `{table}`"),
        };
        for r in conn
            .query_all_raw(Statement::from_string(backend, sql))
            .await
            .unwrap()
        {
            if let Ok(Some(bytes)) = r.try_get_by_index::<Option<Vec<u8>>>(0) {
                out.extend(bytes);
                out.push(b'|');
            }
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

async fn no_plaintext_ssn_is_stored(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let users: Vec<u32> = (1..=5).collect();
    for n in &users {
        store
            .create_user(p, ids(), &new_user(&raw_user(*n)), now(), Along::nothing())
            .await
            .written()
            .unwrap();
    }
    let bytes = dump(db).await;
    assert!(
        contains(&bytes, "customer-3"),
        "the dump really holds the user rows"
    );
    for n in users {
        let dashed = ssn(n);
        let digits = dashed.replace('-', "");
        assert!(
            !contains(&bytes, &digits),
            "plaintext SSN {n} found in the {:?} data",
            db.backend
        );
        assert!(
            !contains(&bytes, &dashed),
            "dashed SSN {n} found in the {:?} data",
            db.backend
        );
    }
}
contract!(no_plaintext_ssn_is_stored, no_plaintext_ssn_is_stored);

async fn rotation_moves_every_row_to_the_new_key(db: &TestDb, keys: &Keys) {
    let p = program(&db.store).await;
    let mut users = Vec::new();
    for n in 1..=7 {
        let id = ids();
        db.store
            .create_user(p, id, &new_user(&raw_user(n)), now(), Along::nothing())
            .await
            .written()
            .unwrap();
        users.push((id.user, n));
    }
    business(&db.store, p).await;

    let both = common::keyring("k2", &[("k1", &keys.k1), ("k2", &keys.k2)], &keys.blind);
    let rotating = SqlStore::new(db.store.connection().clone(), both);
    let mut rounds = 0;
    loop {
        let report = rotating.reencrypt_batch(3).await.unwrap();
        rounds += 1;
        if !report.more {
            break;
        }
        assert!(rounds < 10, "rotation must terminate");
    }
    assert!(rounds >= 3, "7 users in batches of 3 take several rounds");
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM users WHERE ssn_key_id <> 'k2'").await,
        0
    );

    let only_new = common::keyring("k2", &[("k2", &keys.k2)], &keys.blind);
    let after = SqlStore::new(db.store.connection().clone(), only_new);
    for (id, n) in &users {
        let ssn_back = after.reveal_ssn(p, *id).await.unwrap().unwrap();
        assert_eq!(ssn_back.expose_digits(), ssn(*n).replace('-', ""));
    }
    assert!(
        after
            .list_programs()
            .await
            .unwrap()
            .iter()
            .all(|s| !s.hmac_usernames.is_empty())
    );
    let username = &after.list_programs().await.unwrap()[0].hmac_usernames[0];
    assert!(after.hmac_credential(username).await.unwrap().is_some());
    // Every row now needs k2: a keyring with only the old key opens none of them.
    let old_only = SqlStore::new(db.store.connection().clone(), keys.ring_k1());
    for (id, _) in &users {
        let err = old_only.reveal_ssn(p, *id).await.unwrap_err();
        assert!(
            matches!(
                err,
                StorageError::Internal(InternalError::Crypto(CryptoError::UnknownKey(_)))
            ),
            "{err:?}"
        );
    }
}
contract!(
    rotation_moves_every_row_to_the_new_key,
    rotation_moves_every_row_to_the_new_key
);

async fn program_credentials_verify_rotate_and_revoke(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let issued = store.create_program("acme", now()).await.unwrap();
    assert!(issued.api_key.expose().starts_with("onb_"));
    assert!(!format!("{issued:?}").contains(issued.api_key.expose()));
    let verified = store
        .verify_api_key(issued.api_key.expose())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(verified.program_id, issued.program_id);
    assert!(store.api_key_active(&verified.key_id).await.unwrap());
    let mut wrong = issued.api_key.expose().to_owned();
    let last = wrong.pop();
    wrong.push(if last == Some('A') { 'B' } else { 'A' });
    assert!(store.verify_api_key(&wrong).await.unwrap().is_none());

    let cred = store
        .hmac_credential(&issued.hmac_username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cred.secret.expose(), issued.hmac_secret.expose());
    assert_eq!(cred.program_id, issued.program_id);

    let (new_id, new_key) = store
        .rotate_api_key(issued.program_id, now(), &by())
        .await
        .unwrap();
    assert!(
        store
            .verify_api_key(issued.api_key.expose())
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.api_key_active(&verified.key_id).await.unwrap());
    assert!(
        store
            .verify_api_key(new_key.expose())
            .await
            .unwrap()
            .is_some()
    );
    store.revoke_api_key(&new_id, now(), &by()).await.unwrap();
    assert!(
        store
            .verify_api_key(new_key.expose())
            .await
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        store.revoke_api_key(&new_id, now(), &by()).await,
        Err(StorageError::NotFound(_))
    ));
    let listed = store.list_programs().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].active_api_key_ids.is_empty());
}
contract!(
    program_credentials_verify_rotate_and_revoke,
    program_credentials_verify_rotate_and_revoke
);

/// A rotated-out HMAC secret verifies until its overlap ends, then not; a revoked one at once.
/// The credential lookups judge `revoked_at` by the system clock, so these use it too.
async fn hmac_credentials_rotate_with_an_overlap_and_revoke(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let start = Utc::now();
    let issued = store
        .create_program_by(
            "acme",
            start,
            &OperatorAction::new("alice", "program create"),
        )
        .await
        .unwrap();
    let p = issued.program_id;
    let first = issued.hmac_username.clone();

    let rotated = store
        .rotate_hmac(
            p,
            Duration::hours(1),
            start,
            &OperatorAction::new("bob", "rotate 1"),
        )
        .await
        .unwrap();
    assert_ne!(rotated.username, first);
    assert_eq!(rotated.retiring, std::slice::from_ref(&first));
    assert_eq!(
        rotated.old_valid_until.timestamp_millis(),
        (start + Duration::hours(1)).timestamp_millis()
    );
    let new = store
        .hmac_credential(&rotated.username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (new.program_id, new.secret.expose()),
        (p, rotated.secret.expose())
    );
    let old = store.hmac_credential(&first).await.unwrap().unwrap();
    assert_eq!(
        old.secret.expose(),
        issued.hmac_secret.expose(),
        "within its overlap"
    );
    let listed = store.list_programs().await.unwrap();
    assert_eq!(
        listed[0].hmac_usernames,
        std::slice::from_ref(&rotated.username)
    );
    assert_eq!(listed[0].hmac_retiring.len(), 1);
    assert_eq!(listed[0].hmac_retiring[0].0, first);

    // A rotation without overlap ends every earlier credential now.
    let now = Utc::now();
    let third = store
        .rotate_hmac(
            p,
            Duration::zero(),
            now,
            &OperatorAction::new("bob", "rotate 2"),
        )
        .await
        .unwrap();
    // Both earlier credentials end (created within the same millisecond, their order is
    // by name).
    let mut earlier = vec![first.clone(), rotated.username.clone()];
    earlier.sort();
    let mut retiring = third.retiring.clone();
    retiring.sort();
    assert_eq!(retiring, earlier);
    assert!(store.hmac_credential(&first).await.unwrap().is_none());
    assert!(
        store
            .hmac_credential(&rotated.username)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .hmac_credential(&third.username)
            .await
            .unwrap()
            .is_some()
    );
    let listed = store.list_programs().await.unwrap();
    assert_eq!(
        listed[0].hmac_usernames,
        std::slice::from_ref(&third.username)
    );
    assert!(listed[0].hmac_retiring.is_empty());

    // Revoking is immediate; a credential already stopped is not found.
    store
        .revoke_hmac(&third.username, Utc::now(), &by())
        .await
        .unwrap();
    assert!(
        store
            .hmac_credential(&third.username)
            .await
            .unwrap()
            .is_none()
    );
    for username in [third.username.as_str(), first.as_str(), "hm_nobody"] {
        assert!(
            matches!(
                store.revoke_hmac(username, Utc::now(), &by()).await,
                Err(StorageError::NotFound(Entity::HmacCredential))
            ),
            "{username}"
        );
    }
    let unknown = ProgramId::from_uuid(uuid::Uuid::now_v7());
    assert!(matches!(
        store
            .rotate_hmac(unknown, Duration::zero(), Utc::now(), &by())
            .await,
        Err(StorageError::NotFound(Entity::Program))
    ));

    // Each change is recorded with who ran it; refused ones are not.
    let actions = store.operator_actions(10).await.unwrap();
    let recorded: Vec<(&str, &str)> = actions
        .iter()
        .map(|a| (a.action.actor.as_str(), a.action.command.as_str()))
        .collect();
    assert_eq!(
        recorded,
        [
            ("alice", "test"),
            ("bob", "rotate 2"),
            ("bob", "rotate 1"),
            ("alice", "program create")
        ]
    );
    assert_eq!(
        actions[3].at.timestamp_millis(),
        start.timestamp_millis(),
        "recorded when it was done"
    );
}
contract!(
    hmac_credentials_rotate_with_an_overlap_and_revoke,
    hmac_credentials_rotate_with_an_overlap_and_revoke
);

/// A disabled program's API keys and HMAC credentials verify nothing until it is enabled;
/// other programs are untouched.
async fn a_disabled_program_verifies_nothing(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let issued = store.create_program("acme", now()).await.unwrap();
    let other = store.create_program("other", now()).await.unwrap();
    let p = issued.program_id;
    let key_id = store
        .verify_api_key(issued.api_key.expose())
        .await
        .unwrap()
        .unwrap()
        .key_id;

    assert!(
        store
            .set_program_disabled(p, true, now(), &by())
            .await
            .unwrap()
    );
    assert!(
        !store
            .set_program_disabled(p, true, now(), &by())
            .await
            .unwrap(),
        "already disabled"
    );
    assert!(
        store
            .verify_api_key(issued.api_key.expose())
            .await
            .unwrap()
            .is_none()
    );
    assert!(!store.api_key_active(&key_id).await.unwrap());
    assert!(
        store
            .hmac_credential(&issued.hmac_username)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .verify_api_key(other.api_key.expose())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .hmac_credential(&other.hmac_username)
            .await
            .unwrap()
            .is_some()
    );
    let listed = store.list_programs().await.unwrap();
    let acme = listed.iter().find(|s| s.program_id == p).unwrap();
    assert_eq!(
        acme.disabled_at.map(|t| t.timestamp_millis()),
        Some(now().timestamp_millis())
    );

    assert!(
        store
            .set_program_disabled(p, false, now(), &by())
            .await
            .unwrap()
    );
    assert!(store.api_key_active(&key_id).await.unwrap());
    assert!(
        store
            .verify_api_key(issued.api_key.expose())
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .hmac_credential(&issued.hmac_username)
            .await
            .unwrap()
            .is_some()
    );
    let unknown = ProgramId::from_uuid(uuid::Uuid::now_v7());
    assert!(matches!(
        store
            .set_program_disabled(unknown, true, now(), &by())
            .await,
        Err(StorageError::NotFound(Entity::Program))
    ));
    // Two set-ups and three operator actions (the one refused is not recorded).
    assert_eq!(store.operator_actions(10).await.unwrap().len(), 5);
}
contract!(
    a_disabled_program_verifies_nothing,
    a_disabled_program_verifies_nothing
);

/// `keys rotate` writes a row only if it still holds the ciphertext it read: an SSN changed
/// between the read and the write keeps its new value, and the next batch re-encrypts it.
#[allow(clippy::field_reassign_with_default)]
async fn reencryption_never_overwrites_a_concurrent_change(db: &TestDb, keys: &Keys) {
    let p = program(&db.store).await;
    let id = ids();
    db.store
        .create_user(p, id, &new_user(&raw_user(1)), now(), Along::nothing())
        .await
        .written()
        .unwrap();
    let both = common::keyring("k2", &[("k1", &keys.k1), ("k2", &keys.k2)], &keys.blind);
    let rotating = SqlStore::new(db.store.connection().clone(), both);
    let plan = rotating.plan_reencryption(10).await.unwrap();
    assert_eq!(plan.len(), 2, "the SSN and the program's HMAC secret");

    // Meanwhile an instance still writing under k1 changes the SSN.
    let mut change = RawNewUser::default();
    change.ssn = Some(domain::Zeroizing::new(ssn(2)));
    db.store
        .update_user(p, id.user, &change, ctx(), now(), Along::nothing())
        .await
        .written()
        .unwrap();

    let report = rotating.write_reencryption(plan).await.unwrap();
    assert_eq!(report.rewritten, 1, "only the HMAC secret");
    assert!(report.more, "the skipped row is looked at again");
    let after = rotating.reveal_ssn(p, id.user).await.unwrap().unwrap();
    assert_eq!(after.expose_digits(), ssn(2).replace('-', ""));

    let report = rotating.reencrypt_batch(10).await.unwrap();
    assert_eq!((report.rewritten, report.more), (1, false));
    let only_new = common::keyring("k2", &[("k2", &keys.k2)], &keys.blind);
    let after = SqlStore::new(db.store.connection().clone(), only_new)
        .reveal_ssn(p, id.user)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.expose_digits(), ssn(2).replace('-', ""));
}
contract!(
    reencryption_never_overwrites_a_concurrent_change,
    reencryption_never_overwrites_a_concurrent_change
);

async fn idempotency_claims(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let exp = now() + Duration::hours(24);
    assert_eq!(
        store
            .claim(p, "k-1", "d1", now(), exp, LEASE)
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store
            .claim(p, "k-1", "d1", now(), exp, LEASE)
            .await
            .unwrap(),
        Claim::InProgress
    );
    assert_eq!(
        store
            .claim(p, "k-1", "d2", now(), exp, LEASE)
            .await
            .unwrap(),
        Claim::Mismatch
    );
    store
        .complete(p, "k-1", now(), 200, "{\"ok\":true}")
        .await
        .unwrap();
    assert_eq!(
        store
            .claim(p, "k-1", "d1", now(), exp, LEASE)
            .await
            .unwrap(),
        Claim::Completed {
            status: 200,
            body: "{\"ok\":true}".into()
        }
    );
    // Another program has its own key space.
    let other = program(store).await;
    assert_eq!(
        store
            .claim(other, "k-1", "d9", now(), exp, LEASE)
            .await
            .unwrap(),
        Claim::Claimed
    );
    store.release(other, "k-1", now()).await.unwrap();
    assert_eq!(
        store
            .claim(other, "k-1", "d9", now(), exp, LEASE)
            .await
            .unwrap(),
        Claim::Claimed
    );
    // After retention the key is free again, and the sweeper removes expired records.
    let later = exp + Duration::seconds(1);
    assert_eq!(
        store
            .claim(p, "k-1", "d2", later, later + Duration::hours(24), LEASE)
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store
            .sweep_idempotency(later + Duration::hours(25), 1)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .sweep_idempotency(later + Duration::hours(25), 10)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .sweep_idempotency(later + Duration::hours(25), 10)
            .await
            .unwrap(),
        0
    );
}
contract!(idempotency_claims, idempotency_claims);

async fn replay_guard_remembers_signatures(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    assert!(store.first_use(sig(p, "sig-a", now())).await.unwrap());
    assert!(!store.first_use(sig(p, "sig-a", now())).await.unwrap());
    assert!(
        store
            .first_use(sig(p, "sig-b", now() + Duration::minutes(10)))
            .await
            .unwrap()
    );
    // Two more, expiring sooner than sig-b: a sweep takes the expired ones only, oldest first, at most
    // a batch at a time.
    assert!(
        store
            .first_use(sig(p, "sig-d", now() + Duration::seconds(10)))
            .await
            .unwrap()
    );
    assert!(
        store
            .first_use(sig(p, "sig-e", now() + Duration::seconds(20)))
            .await
            .unwrap()
    );
    assert_eq!(
        store
            .sweep_signatures(now() + Duration::seconds(1), 100)
            .await
            .unwrap(),
        1
    );
    assert!(
        store.first_use(sig(p, "sig-a", now())).await.unwrap(),
        "swept signatures are forgotten"
    );
    // sig-a again (expiring now), then sig-d: a batch of one at a time, oldest first.
    for _ in 0..2 {
        assert_eq!(
            store
                .sweep_signatures(now() + Duration::seconds(30), 1)
                .await
                .unwrap(),
            1,
            "one batch of one"
        );
    }
    assert!(
        store.first_use(sig(p, "sig-d", now())).await.unwrap(),
        "the oldest expired first"
    );
    assert!(
        !store.first_use(sig(p, "sig-e", now())).await.unwrap(),
        "sig-e stays until the next batch"
    );
}
contract!(
    replay_guard_remembers_signatures,
    replay_guard_remembers_signatures
);

async fn a_create_and_its_signature_commit_together(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let along = |d: &str| Along {
        replay: Some(sig(p, d, now() + Duration::minutes(5))),
        idempotency: None,
        origin: storage::Origin::default(),
        screening: None,
    };
    let first = new_user(&raw_user(1));
    let created = store
        .create_user(p, ids(), &first, now(), along("sig-1"))
        .await
        .unwrap();
    assert!(matches!(created, Outcome::Written(_)));
    assert!(
        !store.first_use(sig(p, "sig-1", now())).await.unwrap(),
        "the signature was recorded with the user"
    );
    // The same signature again: refused before anything is written.
    let again = store
        .create_user(p, ids(), &new_user(&raw_user(2)), now(), along("sig-1"))
        .await
        .unwrap();
    assert_eq!(again, Outcome::Replayed);
    // A create that fails (the same email) records nothing, its signature neither.
    let err = store
        .create_user(p, ids(), &first, now(), along("sig-2"))
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err:?}");
    assert!(
        store.first_use(sig(p, "sig-2", now())).await.unwrap(),
        "a failed create leaves its signature unrecorded"
    );
    let all = domain::UserQuery::parse(&domain::RawUserQuery::default()).unwrap();
    assert_eq!(store.list_users(p, &all).await.unwrap().total, 1);
}
contract!(
    a_create_and_its_signature_commit_together,
    a_create_and_its_signature_commit_together
);

#[tokio::test]
async fn an_unreachable_database_is_unavailable() {
    let mut config = storage::DatabaseConfig::new("postgres://postgres@127.0.0.1:9/none");
    config.acquire_timeout = std::time::Duration::from_millis(500);
    let err = storage::connect(&config).await.unwrap_err();
    assert!(matches!(err, StorageError::Unavailable(_)), "{err:?}");
}

async fn idempotency_completes_with_the_work_or_not_at_all(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let exp = now() + Duration::hours(24);
    assert_eq!(
        store
            .claim(p, "key-a", "d", now(), exp, LEASE)
            .await
            .unwrap(),
        Claim::Claimed
    );
    let done = Along {
        replay: None,
        idempotency: Some(storage::Completion {
            key: "key-a".to_owned(),
            claimed_at: now(),
            render: |_| Ok("{\"user\":1}".to_owned()),
        }),
        origin: storage::Origin::default(),
        screening: None,
    };
    store
        .create_user(p, ids(), &new_user(&raw_user(1)), now(), done)
        .await
        .written()
        .unwrap();
    assert_eq!(
        store
            .claim(p, "key-a", "d", now(), exp, LEASE)
            .await
            .unwrap(),
        Claim::Completed {
            status: 200,
            body: "{\"user\":1}".into()
        }
    );

    // A write whose claim is not held writes nothing.
    let lost = Along {
        replay: None,
        idempotency: Some(storage::Completion {
            key: "never-claimed".to_owned(),
            claimed_at: now(),
            render: |_| Ok("{}".to_owned()),
        }),
        origin: storage::Origin::default(),
        screening: None,
    };
    let err = store
        .create_user(p, ids(), &new_user(&raw_user(2)), now(), lost)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::Conflict(ConflictCode::ClaimLost)),
        "{err:?}"
    );
    assert_eq!(count(db, "SELECT COUNT(*) FROM users").await, 1);

    // A failing write leaves the claim in progress (the caller records or releases it).
    assert_eq!(
        store
            .claim(p, "key-b", "d", now(), exp, LEASE)
            .await
            .unwrap(),
        Claim::Claimed
    );
    let dup = Along {
        replay: None,
        idempotency: Some(storage::Completion {
            key: "key-b".to_owned(),
            claimed_at: now(),
            render: |_| Ok("{}".to_owned()),
        }),
        origin: storage::Origin::default(),
        screening: None,
    };
    let err = store
        .create_user(p, ids(), &new_user(&raw_user(1)), now(), dup)
        .await
        .unwrap_err();
    assert!(matches!(err, StorageError::Conflict(_)), "{err:?}");
    assert_eq!(
        store
            .claim(p, "key-b", "d", now(), exp, LEASE)
            .await
            .unwrap(),
        Claim::InProgress
    );

    // An in-progress claim past its lease (the holder died) is taken over, once.
    let later = now() + LEASE + Duration::seconds(1);
    assert_eq!(
        store
            .claim(p, "key-b", "d", later, exp, LEASE)
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        store
            .claim(p, "key-b", "d", later, exp, LEASE)
            .await
            .unwrap(),
        Claim::InProgress
    );
    // The original holder of key-b, whose claim was taken over, can no longer complete it:
    // its write is refused and nothing is written.
    let stale = Along {
        replay: None,
        idempotency: Some(storage::Completion {
            key: "key-b".to_owned(),
            claimed_at: now(),
            render: |_| Ok("{}".to_owned()),
        }),
        origin: storage::Origin::default(),
        screening: None,
    };
    let err = store
        .create_user(p, ids(), &new_user(&raw_user(9)), now(), stale)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StorageError::Conflict(ConflictCode::ClaimLost)),
        "{err:?}"
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM users WHERE email_key = 'jane.doe9@example.com'"
        )
        .await,
        0
    );
}
contract!(
    idempotency_completes_with_the_work_or_not_at_all,
    idempotency_completes_with_the_work_or_not_at_all
);

async fn totals_count_only_committed_users(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let (p, other) = (program(store).await, program(store).await);
    for n in 1..=20 {
        store
            .create_user(p, ids(), &new_user(&raw_user(n)), now(), Along::nothing())
            .await
            .written()
            .unwrap();
    }
    // A failed create (duplicate) must not count.
    assert!(
        store
            .create_user(p, ids(), &new_user(&raw_user(1)), now(), Along::nothing())
            .await
            .written()
            .is_err()
    );
    let bulk: Vec<(UserId, domain::NewUser)> = (21..=25)
        .map(|n| {
            (
                UserId::from_uuid(uuid::Uuid::now_v7()),
                new_user(&raw_user(n)),
            )
        })
        .collect();
    store.bulk_create_users(p, &bulk, now()).await.unwrap();
    store
        .create_user(
            other,
            ids(),
            &new_user(&raw_user(1)),
            now(),
            Along::nothing(),
        )
        .await
        .written()
        .unwrap();

    let all = domain::UserQuery::parse(&domain::RawUserQuery::default()).unwrap();
    let page = store.list_users(p, &all).await.unwrap();
    assert_eq!(page.total, 25, "from the counter shards");
    assert_eq!(page.items.len(), 10);
    let filtered = domain::UserQuery::parse(&domain::RawUserQuery {
        status: Some("active".into()),
        ..domain::RawUserQuery::default()
    })
    .unwrap();
    assert_eq!(
        store.list_users(p, &filtered).await.unwrap().total,
        25,
        "counted"
    );
    assert_eq!(store.list_users(other, &all).await.unwrap().total, 1);
}
contract!(
    totals_count_only_committed_users,
    totals_count_only_committed_users
);

/// `n` creates started at once, each with its own signature `prefix-i`; the answers in order.
async fn create_at_once(
    store: &SqlStore,
    p: ProgramId,
    users: Vec<(String, NewUser)>,
) -> Vec<Result<Option<UserId>, StorageError>> {
    let tasks: Vec<_> = users
        .into_iter()
        .map(|(sig, user)| {
            let store = store.clone();
            tokio::spawn(async move {
                let ids = ids();
                let along = Along {
                    replay: Some(self::sig(p, &sig, now() + Duration::minutes(5))),
                    idempotency: None,
                    origin: storage::Origin::default(),
                    screening: None,
                };
                store
                    .create_user(p, ids, &user, now(), along)
                    .await
                    .map(|created| created.written().map(|_| ids.user))
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

async fn concurrent_creates_commit_together(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let bid = business(store, p).await;
    let users = (1..=24)
        .map(|n| {
            let mut raw = raw_user(n);
            if n % 6 == 0 {
                raw.business_id = Some(bid.to_string());
            }
            (format!("ok-{n}"), new_user(&raw))
        })
        .collect();
    let (batches_before, _) = store.grouped_creates();
    let answers = create_at_once(store, p, users).await;
    let created: Vec<UserId> = answers
        .into_iter()
        .map(|a| a.unwrap().expect("not a replay"))
        .collect();
    let (batches, shared) = store.grouped_creates();
    assert!(
        batches > batches_before && shared >= 2,
        "creates started at once share a commit ({batches} batches, {shared} creates)"
    );
    for id in &created {
        let user = store.get_user(p, *id).await.unwrap().expect("committed");
        assert_eq!(user.id(), *id);
    }
    let all = domain::UserQuery::parse(&domain::RawUserQuery::default()).unwrap();
    assert_eq!(store.list_users(p, &all).await.unwrap().total, 24);
    assert_eq!(count(db, "SELECT COUNT(*) FROM business_contacts").await, 4);
    assert_eq!(count(db, "SELECT COUNT(*) FROM seen_signatures").await, 24);
}
contract!(
    concurrent_creates_commit_together,
    concurrent_creates_commit_together
);

async fn a_refused_create_in_a_batch_refuses_only_itself(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let missing = BusinessId::from_uuid(uuid::Uuid::now_v7());
    let mut users: Vec<(String, NewUser)> = (1..=12)
        .map(|n| (format!("ok-{n}"), new_user(&raw_user(n))))
        .collect();
    // The same email as user 1, under another signature.
    let mut dup = raw_user(100);
    dup.email = raw_user(1).email;
    users.push(("dup".into(), new_user(&dup)));
    // User 2's signature again, on another user: a replay.
    users.push(("ok-2".into(), new_user(&raw_user(101))));
    // A business that does not exist.
    let mut orphan = raw_user(102);
    orphan.business_id = Some(missing.to_string());
    users.push(("orphan".into(), new_user(&orphan)));

    let answers = create_at_once(store, p, users).await;
    let created = answers.iter().filter(|a| matches!(a, Ok(Some(_)))).count();
    let replays = answers.iter().filter(|a| matches!(a, Ok(None))).count();
    let conflicts = answers
        .iter()
        .filter(|a| {
            matches!(
                a,
                Err(StorageError::Conflict(ConflictCode::Duplicate(
                    ConflictField::Email
                )))
            )
        })
        .count();
    assert!(
        matches!(
            answers[14],
            Err(StorageError::MissingReference(Reference::BusinessId))
        ),
        "{:?}",
        answers[14]
    );
    // Of user 1 and its duplicate one is created; of user 2 and its replay, one.
    assert_eq!((created, replays, conflicts), (12, 1, 1), "{answers:?}");
    let all = domain::UserQuery::parse(&domain::RawUserQuery::default()).unwrap();
    assert_eq!(store.list_users(p, &all).await.unwrap().total, 12);
    assert_eq!(count(db, "SELECT COUNT(*) FROM users").await, 12);
    // Only the created users' signatures are recorded with them.
    assert_eq!(count(db, "SELECT COUNT(*) FROM seen_signatures").await, 12);
    assert!(store.first_use(sig(p, "orphan", now())).await.unwrap());
}
contract!(
    a_refused_create_in_a_batch_refuses_only_itself,
    a_refused_create_in_a_batch_refuses_only_itself
);

async fn concurrent_signatures_are_recorded_once_each(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    // 20 signatures at once, "sig-3" twice: exactly one of its two uses is the first.
    let digests: Vec<String> = (0..20)
        .map(|n| format!("sig-{n}"))
        .chain(std::iter::once("sig-3".to_owned()))
        .collect();
    let tasks: Vec<_> = digests
        .iter()
        .map(|d| {
            let (store, d) = (store.clone(), d.clone());
            tokio::spawn(async move {
                store
                    .first_use(sig(p, &d, now() + Duration::minutes(5)))
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut first = Vec::new();
    for task in tasks {
        first.push(task.await.unwrap());
    }
    assert_eq!(first.iter().filter(|f| !**f).count(), 1, "{first:?}");
    assert!(!first[3] || !first[20], "sig-3 was first twice");
    assert_eq!(count(db, "SELECT COUNT(*) FROM seen_signatures").await, 20);
    // Each is now recorded.
    for d in &digests {
        assert!(!store.first_use(sig(p, d, now())).await.unwrap(), "{d}");
    }
}
contract!(
    concurrent_signatures_are_recorded_once_each,
    concurrent_signatures_are_recorded_once_each
);

/// Every unique index the migrations create is attributed to a field by
/// `storage::UNIQUE_CONSTRAINTS` — by name (PostgreSQL, MariaDB) and by the exact column list
/// SQLite reports — so a new unique constraint answers 409 `duplicate`, not 500.
#[tokio::test]
async fn every_unique_index_is_attributed() {
    let db = common::fresh(Backend::Sqlite, Keys::new().ring_k1())
        .await
        .expect("SQLite is always available");
    let conn = db.store.connection();
    let rows = conn
        .query_all_raw(Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "SELECT name, tbl_name FROM sqlite_master \
             WHERE type = 'index' AND sql LIKE 'CREATE UNIQUE INDEX%' ORDER BY name"
                .to_owned(),
        ))
        .await
        .unwrap();
    let mut seen = Vec::new();
    for row in rows {
        let name: String = row.try_get_by_index(0).unwrap();
        let table: String = row.try_get_by_index(1).unwrap();
        let columns = conn
            .query_all_raw(Statement::from_string(
                sea_orm::DatabaseBackend::Sqlite,
                format!("SELECT name FROM pragma_index_info('{name}') ORDER BY seqno"),
            ))
            .await
            .unwrap()
            .iter()
            .map(|c| format!("{table}.{}", c.try_get_by_index::<String>(0).unwrap()))
            .collect::<Vec<_>>()
            .join(", ");
        let entry = storage::UNIQUE_CONSTRAINTS
            .iter()
            .find(|(constraint, ..)| *constraint == name);
        assert!(
            entry.is_some(),
            "the unique index {name} ({columns}) has no entry in storage::UNIQUE_CONSTRAINTS"
        );
        let (_, listed_columns, _) = entry.unwrap();
        assert_eq!(*listed_columns, columns, "{name}");
        seen.push(name);
    }
    assert_eq!(
        seen.len(),
        storage::UNIQUE_CONSTRAINTS.len(),
        "every listed constraint exists: {seen:?}"
    );
    db.cleanup().await;
}

/// The key check (SPEC §5): the keys a database was written with are recognised, any other
/// key under the same id or another blind-index key is refused, and a key that still seals
/// data cannot be dropped; a key added for rotation is recorded.
async fn keys_that_did_not_write_the_database_are_refused(db: &TestDb, keys: &Keys) {
    use storage::KeyMismatch;
    assert_eq!(db.store.check_keys(now()).await.unwrap(), Ok(()));
    assert_eq!(db.store.check_keys(now()).await.unwrap(), Ok(()), "again");
    let p = program(&db.store).await;
    db.store
        .create_user(p, ids(), &new_user(&raw_user(1)), now(), Along::nothing())
        .await
        .written()
        .unwrap();
    let conn = db.store.connection().clone();

    // Another data key under the same id (a key file created elsewhere).
    let other = Keys::new();
    let same_id = common::keyring("k1", &[("k1", &other.k1)], &keys.blind);
    let got = SqlStore::new(conn.clone(), same_id)
        .check_keys(now())
        .await
        .unwrap();
    assert_eq!(got, Err(KeyMismatch::Differs("k1".into())));
    // Another blind-index key.
    let blind = common::keyring("k1", &[("k1", &keys.k1)], &other.blind);
    let got = SqlStore::new(conn.clone(), blind)
        .check_keys(now())
        .await
        .unwrap();
    assert_eq!(got, Err(KeyMismatch::BlindIndexDiffers));
    // A second key for rotation: recorded, and from then on checked too.
    let both = common::keyring("k2", &[("k1", &keys.k1), ("k2", &keys.k2)], &keys.blind);
    assert_eq!(
        SqlStore::new(conn.clone(), both)
            .check_keys(now())
            .await
            .unwrap(),
        Ok(())
    );
    let wrong_k2 = common::keyring("k2", &[("k1", &keys.k1), ("k2", &other.k2)], &keys.blind);
    let got = SqlStore::new(conn.clone(), wrong_k2)
        .check_keys(now())
        .await
        .unwrap();
    assert_eq!(got, Err(KeyMismatch::Differs("k2".into())));
    // k1 still seals the SSN and the HMAC secret: it cannot be left out.
    let only_k2 = common::keyring("k2", &[("k2", &keys.k2)], &keys.blind);
    let got = SqlStore::new(conn.clone(), only_k2)
        .check_keys(now())
        .await
        .unwrap();
    assert_eq!(got, Err(KeyMismatch::Missing("k1".into())));
    assert!(storage::holds_sealed_data(&conn).await.unwrap());
}
contract!(
    keys_that_did_not_write_the_database_are_refused,
    keys_that_did_not_write_the_database_are_refused
);

/// An answer too large to keep is stored as a marker; a retry with its key is told so.
async fn oversized_answers_are_not_kept(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let exp = now() + Duration::hours(24);
    assert_eq!(
        store.claim(p, "big", "d", now(), exp, LEASE).await.unwrap(),
        Claim::Claimed
    );
    let body = "x".repeat(storage::MAX_STORED_ANSWER + 1);
    store.complete(p, "big", now(), 422, &body).await.unwrap();
    assert_eq!(
        store.claim(p, "big", "d", now(), exp, LEASE).await.unwrap(),
        Claim::TooLarge
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM idempotency_records WHERE response_body IS NOT NULL"
        )
        .await,
        0
    );
    // At the cap, the answer is kept.
    assert_eq!(
        store
            .claim(p, "fits", "d", now(), exp, LEASE)
            .await
            .unwrap(),
        Claim::Claimed
    );
    let body = "y".repeat(storage::MAX_STORED_ANSWER);
    store.complete(p, "fits", now(), 200, &body).await.unwrap();
    assert_eq!(
        store
            .claim(p, "fits", "d", now(), exp, LEASE)
            .await
            .unwrap(),
        Claim::Completed { status: 200, body }
    );
}
contract!(
    oversized_answers_are_not_kept,
    oversized_answers_are_not_kept
);
