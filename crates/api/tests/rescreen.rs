//! The service's rescreen loop (`api::screening::rescreen_in_batches`) on the three databases,
//! with the small list and small batches so that several are in flight at once: every user
//! submitted before the list is screened once, a listed name becomes a potential match with its
//! outbox event, a live lease of another holder keeps the loop out until it expires, and a
//! second pass finds nothing to do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use api::clock::Clock;
use api::screening::{Screener, load_dir, rescreen_in_batches};
use chrono::{DateTime, Duration, Utc};
use domain::fixtures::SeedUser;
use domain::screening::{DEFAULT_REVIEW_THRESHOLD, ScreeningStatus};
use domain::{ContactId, NewUser, ParseContext, ProgramId, UserChange, UserId};
use storage::testing::{Backend, TestDatabase};
use storage::{
    Along, Audit, Keyring, NewUserIds, OperatorAction, ProgramRepository as _, SecretKey, SqlStore,
    UserRepository as _,
};

/// A clock stopped at one instant.
#[derive(Debug)]
struct At(DateTime<Utc>);

impl Clock for At {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Seven users, six submitted while no list was loaded (screening off); the fourth is listed
/// (the excerpt's MORENO, Daniel, born 12 Oct 1972), the seventh never submitted.
async fn submitted_without_a_list(
    store: &SqlStore,
    now: DateTime<Utc>,
) -> (ProgramId, Vec<UserId>) {
    let program = store.create_program("acme", now).await.unwrap().program_id;
    let ctx = ParseContext::new(now.date_naive());
    let mut ids = Vec::new();
    for n in 1..=7 {
        let mut raw = SeedUser::new(n).raw();
        if n == 4 {
            raw.first_name = Some("Daniel".into());
            raw.middle_name = None;
            raw.last_name = Some("Moreno".into());
            raw.date_of_birth = Some("1972-10-12".into());
        }
        let user = NewUser::parse(&raw, ctx).unwrap();
        let id = UserId::from_uuid(uuid::Uuid::now_v7());
        let new_ids = NewUserIds {
            user: id,
            contact: ContactId::from_uuid(uuid::Uuid::now_v7()),
        };
        let _ = store
            .create_user(program, new_ids, &user, now, Along::nothing())
            .await
            .unwrap();
        if n < 7 {
            let audit = Audit {
                actor: "api_key:test",
                reason: None,
            };
            let _ = store
                .change_user(
                    program,
                    id,
                    UserChange::SubmitKyc,
                    audit,
                    now,
                    Along::nothing(),
                )
                .await
                .unwrap();
        }
        ids.push(id);
    }
    (program, ids)
}

async fn rescreen_loop(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await.unwrap() else {
        return;
    };
    let keys = Keyring::new(
        [("k1".to_owned(), SecretKey::generate().unwrap())],
        "k1",
        SecretKey::generate().unwrap(),
    )
    .unwrap();
    let store = db
        .store(keys)
        .await
        .unwrap()
        .with_event_views(api::event_views::store_views());
    let now = Utc::now();
    let (program, ids) = submitted_without_a_list(&store, now).await;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../screening/small");
    let action = OperatorAction::new("test", "screening load");
    let (_, _) = load_dir(&store, &dir, &action, now).await.unwrap();
    let screener = Screener::new(DEFAULT_REVIEW_THRESHOLD);
    assert!(screener.refresh(&store).await.unwrap());
    let list = screener.active().unwrap().version.id;

    // Another instance holds the lease (and died holding it): the loop stays out until it
    // expires, then does everything.
    let lease = Duration::seconds(60);
    let dead = store
        .claim_rescreen("dead", lease, 2, None, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.users.len(), 2);
    assert_eq!(
        rescreen_in_batches(&store, &screener, "live", &At(now), 2)
            .await
            .unwrap(),
        0
    );
    let later = At(now + Duration::seconds(61));
    assert_eq!(
        rescreen_in_batches(&store, &screener, "live", &later, 2)
            .await
            .unwrap(),
        6
    );
    for (n, &id) in ids.iter().enumerate() {
        let rescreens = store
            .count_raw(&format!(
                "SELECT COUNT(*) FROM screenings WHERE user_id = '{}' AND list_id = '{list}' \
                 AND cause = 'rescreen'",
                id.uuid()
            ))
            .await
            .unwrap();
        let user = store.get_user(program, id).await.unwrap().unwrap();
        let (want_screened, want_status) = match n {
            3 => (1, ScreeningStatus::PotentialMatch),
            6 => (0, ScreeningStatus::NotScreened),
            _ => (1, ScreeningStatus::Clear),
        };
        assert_eq!(
            (rescreens, user.screening_status()),
            (want_screened, want_status),
            "user {n}"
        );
    }
    let matched = store
        .count_raw(&format!(
            "SELECT COUNT(*) FROM events WHERE event_type = 'user.screening.potential_match' \
             AND entity_id = '{}'",
            ids[3].uuid()
        ))
        .await
        .unwrap();
    assert_eq!(matched, 1);
    // Done: a second pass, by anyone, screens nobody again.
    assert_eq!(
        rescreen_in_batches(&store, &screener, "other", &later, 2)
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .count_raw("SELECT COUNT(*) FROM screenings")
            .await
            .unwrap(),
        6
    );
    let _ = store.connection().clone().close().await;
    db.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescreen_loop_sqlite() {
    rescreen_loop(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescreen_loop_postgres() {
    rescreen_loop(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rescreen_loop_mysql() {
    rescreen_loop(Backend::Mysql).await;
}
