//! User search on every database: one contract (case-insensitive substring of names, email,
//! username and phone, Unicode case folding; prefixes for terms under three characters),
//! capped totals, and the database's own plan showing that the search index is used.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::too_many_lines,
    unreachable_pub
)]

mod common;

use chrono::{DateTime, NaiveDate, Utc};
use common::{Backend, Keys, TestDb};
use domain::fixtures::SeedUser;
use domain::{NewUser, ParseContext, ProgramId, RawNewUser, RawUserQuery, UserId, UserQuery};
use sea_orm::ConnectionTrait as _;
use storage::{
    Along, COUNTED_TOTAL_CAP, NewUserIds, ProgramRepository as _, SqlStore, UserRepository as _,
};

fn now() -> DateTime<Utc> {
    Utc::now()
}

fn ctx() -> ParseContext {
    ParseContext::new(NaiveDate::from_ymd_opt(2026, 11, 28).unwrap())
}

fn person(n: u32, first: &str, last: &str) -> RawNewUser {
    SeedUser::new(n)
        .last_name(last)
        .with(|u| {
            u.first_name = Some(first.to_owned());
            u.phone_number = Some(format!("+1212555{:04}", n % 10_000));
        })
        .raw()
}

async fn program(store: &SqlStore) -> ProgramId {
    store
        .create_program("acme", now())
        .await
        .unwrap()
        .program_id
}

async fn create(store: &SqlStore, p: ProgramId, raw: &RawNewUser) -> UserId {
    let id = UserId::from_uuid(uuid::Uuid::now_v7());
    let ids = NewUserIds {
        user: id,
        contact: domain::ContactId::from_uuid(uuid::Uuid::now_v7()),
    };
    store
        .create_user(
            p,
            ids,
            &NewUser::parse(raw, ctx()).unwrap(),
            now(),
            Along::nothing(),
        )
        .await
        .unwrap()
        .written()
        .unwrap();
    id
}

fn query(search: &str) -> UserQuery {
    UserQuery::parse(&RawUserQuery {
        search: Some(search.to_owned()),
        ..RawUserQuery::default()
    })
    .unwrap()
}

/// Last names of the users of `p` that `search` finds, sorted, and the total.
async fn found(store: &SqlStore, p: ProgramId, search: &str) -> (Vec<String>, u64) {
    let page = store.list_users(p, &query(search)).await.unwrap();
    assert!(!page.total_is_estimate);
    let mut names: Vec<String> = page
        .items
        .iter()
        .map(|u| u.profile().last_name().as_str().to_owned())
        .collect();
    names.sort();
    (names, page.total)
}

async fn search_semantics(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let (p, other) = (program(store).await, program(store).await);
    create(store, p, &person(1, "Élodie", "Durand")).await;
    create(store, p, &person(2, "Zoë", "Weißmann")).await;
    create(store, p, &person(3, "Anna", "O'Neil")).await;
    create(store, p, &person(4, "Σίσυφος", "Nguyen")).await;
    create(store, p, &person(5, "Ann", "Abel")).await;
    // The same person in another program is never found from `p`.
    create(store, other, &person(1, "Élodie", "Durand")).await;

    let names = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    // Unicode case folding, both ways.
    assert_eq!(found(store, p, "élodie").await, (names(&["Durand"]), 1));
    assert_eq!(found(store, p, "ÉLODIE").await, (names(&["Durand"]), 1));
    assert_eq!(found(store, p, "STRASSE").await.1, 0);
    assert_eq!(found(store, p, "WEISS").await, (names(&["Weißmann"]), 1));
    assert_eq!(found(store, p, "σίσυφοσ").await, (names(&["Nguyen"]), 1));
    assert_eq!(found(store, p, "ΣΊΣΥΦΟΣ").await, (names(&["Nguyen"]), 1));
    // A substring in the middle of any field: name, email, username, phone.
    assert_eq!(found(store, p, "lodi").await, (names(&["Durand"]), 1));
    assert_eq!(found(store, p, "uye").await, (names(&["Nguyen"]), 1));
    assert_eq!(found(store, p, "DOE3@exa").await, (names(&["O'Neil"]), 1));
    assert_eq!(found(store, p, "janedoe2").await, (names(&["Weißmann"]), 1));
    assert_eq!(found(store, p, "5550004").await, (names(&["Nguyen"]), 1));
    assert_eq!(found(store, p, "o'n").await, (names(&["O'Neil"]), 1));
    assert_eq!(
        found(store, p, "ann").await,
        (names(&["Abel", "O'Neil", "Weißmann"]), 3)
    );
    // Literal text: LIKE wildcards, FTS syntax and quotes mean themselves.
    for literal in ["%%%", "___", "a\"b", "\"\"\"", "*an", "OR(", "n*"] {
        assert_eq!(found(store, p, literal).await.1, 0, "{literal}");
    }
    // A match never spans two fields ("Ann" + "Abel").
    assert_eq!(found(store, p, "nab").await.1, 0);
    // Short terms: a prefix of the first or the last name, folded.
    assert_eq!(found(store, p, "ÉL").await, (names(&["Durand"]), 1));
    assert_eq!(found(store, p, "du").await, (names(&["Durand"]), 1));
    assert_eq!(found(store, p, "A").await, (names(&["Abel", "O'Neil"]), 2));
    assert_eq!(found(store, p, "o'").await, (names(&["O'Neil"]), 1));
    assert_eq!(found(store, p, "σ").await, (names(&["Nguyen"]), 1));
    assert_eq!(found(store, p, "od").await.1, 0, "not a substring search");
    assert_eq!(found(store, p, "%").await.1, 0);
    // Another program sees only its own.
    assert_eq!(found(store, other, "élodie").await, (names(&["Durand"]), 1));
    assert_eq!(found(store, other, "ann").await.1, 0);
}
contract!(search_semantics, search_semantics);

async fn updates_move_a_user_in_the_index(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let id = create(store, p, &person(1, "Élodie", "Durand")).await;
    let change = RawNewUser {
        last_name: Some("Łukasiewicz".into()),
        ..RawNewUser::default()
    };
    store
        .update_user(p, id, &change, ctx(), now(), Along::nothing())
        .await
        .unwrap()
        .written()
        .unwrap();
    assert_eq!(found(store, p, "durand").await.1, 0);
    assert_eq!(found(store, p, "du").await.1, 0);
    assert_eq!(
        found(store, p, "ŁUKASIE").await,
        (vec!["Łukasiewicz".to_owned()], 1)
    );
    assert_eq!(found(store, p, "łu").await.1, 1);
    // An update that leaves the searched fields alone keeps the user found.
    let change = RawNewUser {
        city: Some("Springfield".into()),
        ..RawNewUser::default()
    };
    store
        .update_user(p, id, &change, ctx(), now(), Along::nothing())
        .await
        .unwrap()
        .written()
        .unwrap();
    assert_eq!(found(store, p, "kasiew").await.1, 1);
    assert_eq!(found(store, p, "élodie").await.1, 1);
}
contract!(
    updates_move_a_user_in_the_index,
    updates_move_a_user_in_the_index
);

async fn search_pages_newest_first(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let mut ids = Vec::new();
    for n in 0..23 {
        ids.push(create(store, p, &person(100 + n, "Kim", "Testerson")).await);
        create(store, p, &person(200 + n, "Kim", "Other")).await;
    }
    ids.reverse();
    let mut seen = Vec::new();
    for page in 1..=3 {
        let q = UserQuery::parse(&RawUserQuery {
            search: Some("TESTERS".into()),
            page: Some(page),
            per_page: Some(10),
            ..RawUserQuery::default()
        })
        .unwrap();
        let got = store.list_users(p, &q).await.unwrap();
        assert_eq!((got.total, got.total_is_estimate), (23, false));
        seen.extend(got.items.iter().map(domain::User::id));
    }
    assert_eq!(seen, ids, "every match once, newest first");
}
contract!(search_pages_newest_first, search_pages_newest_first);

/// A user deleted from the table (by an operator's SQL: the service deletes none) leaves the
/// search index with it, on every database (PostgreSQL's narrow table by its delete trigger).
async fn a_deleted_user_leaves_the_index(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let gone = create(store, p, &person(1, "Ada", "Vanishing"))
        .await
        .uuid();
    create(store, p, &person(2, "Ada", "Vanishwell")).await;
    assert_eq!(found(store, p, "vanish").await.1, 2);
    let conn = store.connection();
    for table in ["user_events", "user_meta_data", "users"] {
        let column = if table == "users" { "id" } else { "user_id" };
        conn.execute_unprepared(&format!("DELETE FROM {table} WHERE {column} = '{gone}'"))
            .await
            .unwrap();
    }
    assert_eq!(
        found(store, p, "vanish").await,
        (vec!["Vanishwell".to_owned()], 1)
    );
    if db.backend == Backend::Postgres {
        let left = conn
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!("SELECT count(*) AS n FROM user_search WHERE user_id = '{gone}'"),
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<i64>("", "n")
            .unwrap();
        assert_eq!(left, 0);
    }
}
contract!(
    a_deleted_user_leaves_the_index,
    a_deleted_user_leaves_the_index
);

/// More matches than the cap: the total is the cap, marked as an estimate; a selective filter
/// on the same data is exact.
async fn large_totals_are_capped(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let n = u32::try_from(COUNTED_TOTAL_CAP).unwrap() + 100;
    let users: Vec<(UserId, NewUser)> = (0..n)
        .map(|i| {
            let last = if i % 100 == 0 { "Rareson" } else { "Common" };
            (
                UserId::from_uuid(uuid::Uuid::now_v7()),
                NewUser::parse(&person(i, "Pat", last), ctx()).unwrap(),
            )
        })
        .collect();
    for chunk in users.chunks(2000) {
        store.bulk_create_users(p, chunk, now()).await.unwrap();
    }
    let all = store
        .list_users(p, &UserQuery::parse(&RawUserQuery::default()).unwrap())
        .await
        .unwrap();
    assert_eq!((all.total, all.total_is_estimate), (u64::from(n), false));
    for common in [
        query("COMMON"),
        query("co"),
        UserQuery::parse(&RawUserQuery {
            status: Some("active".into()),
            ..RawUserQuery::default()
        })
        .unwrap(),
    ] {
        let page = store.list_users(p, &common).await.unwrap();
        assert_eq!(
            (page.total, page.total_is_estimate, page.items.len()),
            (COUNTED_TOTAL_CAP, true, 10),
            "{common:?}"
        );
    }
    assert_eq!(found(store, p, "raresON").await.1, 11);
    let blocked = UserQuery::parse(&RawUserQuery {
        status: Some("blocked".into()),
        ..RawUserQuery::default()
    })
    .unwrap();
    let page = store.list_users(p, &blocked).await.unwrap();
    assert_eq!((page.total, page.total_is_estimate), (0, false));
}
contract!(large_totals_are_capped, large_totals_are_capped);

/// A term with more matches than one search reads to count them (PostgreSQL's narrow table:
/// `NARROW_READ`) is paged along the program's newest users instead: its pages, both ways, are
/// every match in order all the same, with the capped total, on every database.
async fn a_common_term_pages_in_order(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let p = program(store).await;
    let n = u32::try_from(storage::NARROW_READ * 3 / 2).unwrap() + 300;
    let base = now() - chrono::Duration::hours(1);
    // (created_at, id) of every match: one time per chunk, the ids ordering within it.
    let mut matches: Vec<(DateTime<Utc>, String)> = Vec::new();
    let users: Vec<(UserId, NewUser)> = (0..n)
        .map(|i| {
            let last = if i % 3 == 0 { "Plain" } else { "Walker" };
            (
                UserId::from_uuid(uuid::Uuid::now_v7()),
                NewUser::parse(&person(i, "Sam", last), ctx()).unwrap(),
            )
        })
        .collect();
    for (k, chunk) in users.chunks(1000).enumerate() {
        let at = base + chrono::Duration::seconds(i64::try_from(k).unwrap());
        store.bulk_create_users(p, chunk, at).await.unwrap();
        matches.extend(
            chunk
                .iter()
                .filter(|(_, u)| u.profile().last_name().as_str() == "Walker")
                .map(|(id, _)| (at, id.to_string())),
        );
    }
    assert!(matches.len() as u64 > storage::NARROW_READ);
    matches.sort();
    let ids = |page: &storage::Page<domain::User>| -> Vec<String> {
        page.items.iter().map(|u| u.id().to_string()).collect()
    };
    let listing = |page: u64, sort: &str| {
        UserQuery::parse(&RawUserQuery {
            search: Some("WALKER".into()),
            page: Some(page),
            per_page: Some(10),
            sort: Some(sort.into()),
            ..RawUserQuery::default()
        })
        .unwrap()
    };
    let newest: Vec<String> = matches.iter().rev().map(|(_, id)| id.clone()).collect();
    let oldest: Vec<String> = matches.iter().map(|(_, id)| id.clone()).collect();
    for (sort, expected) in [("created_at:desc", &newest), ("created_at:asc", &oldest)] {
        for page in 1..=3u64 {
            let got = store.list_users(p, &listing(page, sort)).await.unwrap();
            let from = usize::try_from(page - 1).unwrap() * 10;
            assert_eq!(ids(&got), expected[from..from + 10], "{sort} page {page}");
            assert_eq!(
                (got.total, got.total_is_estimate),
                (COUNTED_TOTAL_CAP, true)
            );
        }
    }
}
contract!(a_common_term_pages_in_order, a_common_term_pages_in_order);

/// `i` as four letters (names allow letters only).
fn letters(i: u32) -> String {
    (0..4)
        .map(|k| char::from(b'a' + u8::try_from(i / 26u32.pow(k) % 26).unwrap()))
        .collect()
}

/// The database's own plan of the listing's statements: the search index, never a scan of
/// the users table.
async fn the_search_index_is_used(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let (p, other) = (program(store).await, program(store).await);
    // Enough rows that PostgreSQL's planner prefers an index to reading the table (at 20,000
    // a program's partition of the narrow search table is small enough that reading it in
    // full costs about what its trigram index does, and the planner may choose either).
    let per_program: u32 = if db.backend == Backend::Postgres {
        40_000
    } else {
        3000
    };
    for (program, base) in [(p, 0), (other, 100_000)] {
        let users: Vec<(UserId, NewUser)> = (0..per_program)
            .map(|i| {
                let first = if i % 1000 == 7 {
                    "Øyvind"
                } else {
                    ["Élodie", "Marta", "Kenji", "Aisha", "Bruno"][(i % 5) as usize]
                };
                // Varied names, as people's are: few trigrams shared by everyone.
                let last = format!("{}son", letters(i.wrapping_mul(7919) % 456_976));
                (
                    UserId::from_uuid(uuid::Uuid::now_v7()),
                    NewUser::parse(&person(base + i, first, &last), ctx()).unwrap(),
                )
            })
            .collect();
        store
            .bulk_create_users(program, &users, now())
            .await
            .unwrap();
    }
    let conn = store.connection();
    match db.backend {
        Backend::Postgres => conn
            .execute_unprepared("ANALYZE users, user_search")
            .await
            .map(|_| ()),
        Backend::Mysql => conn
            .execute_unprepared("ANALYZE TABLE users, user_search_trigrams")
            .await
            .map(|_| ()),
        // As served: nothing runs ANALYZE on SQLite, so the plan must be right without it.
        Backend::Sqlite => Ok(()),
    }
    .unwrap();

    let long = query(&letters(1234u32.wrapping_mul(7919) % 456_976));
    let plan = store.explain_user_listing(p, &long).await.unwrap();
    let page = plan.page.join("\n");
    let total = plan.total.join("\n");
    eprintln!("{:?} page plan:\n{page}\ntotal plan:\n{total}", db.backend);
    let uses = |plan: &str, what: &str| {
        assert!(
            plan.contains(what),
            "{:?}: expected {what} in\n{plan}",
            db.backend
        );
    };
    if db.backend == Backend::Mysql {
        assert!(plan.recent.is_empty(), "{:?}", plan.recent);
    }
    match db.backend {
        Backend::Postgres => {
            // Tried first: the program's newest users along its created_at index. Then one
            // statement for page and total on the narrow table's trigram index (or, when the
            // newest users filled the page, the capped count there); a term with more matches
            // than one search reads walks the program's newest users.
            let recent = plan.recent.join("\n");
            eprintln!("recent-window plan:\n{recent}");
            uses(&recent, "idx_users_program_created");
            uses(&page, "idx_user_search_trgm");
            uses(&total, "idx_user_search_trgm");
            for plan in [&page, &total, &recent] {
                assert!(!plan.contains("Seq Scan"), "{plan}");
            }
            let walk = plan.walk.join("\n");
            eprintln!("walk plan:\n{walk}");
            uses(&walk, "idx_users_program_created");
            assert!(!walk.contains("Seq Scan"), "{walk}");
            // With another filter beside the term, the listing's own statements read the
            // narrow table's index for the term's candidates.
            let filtered = UserQuery::parse(&RawUserQuery {
                search: Some(letters(1234u32.wrapping_mul(7919) % 456_976)),
                status: Some("active".into()),
                ..RawUserQuery::default()
            })
            .unwrap();
            let plan = store.explain_user_listing(p, &filtered).await.unwrap();
            for plan in [plan.page.join("\n"), plan.total.join("\n")] {
                eprintln!("filtered plan:\n{plan}");
                uses(&plan, "idx_user_search_trgm");
                assert!(!plan.contains("Seq Scan"), "{plan}");
            }
        }
        Backend::Sqlite => {
            uses(&page, "users_search VIRTUAL TABLE");
            uses(&total, "users_search VIRTUAL TABLE");
            // The total from the FTS index alone (it knows each user's program): no row read.
            assert!(!total.contains("users USING"), "{total}");
            // Tried first: the program's newest users along its created_at index.
            let recent = plan.recent.join("\n");
            eprintln!("recent-window plan:\n{recent}");
            uses(&recent, "idx_users_program_created");
            for plan in [&page, &total, &recent] {
                assert!(
                    !plan.contains("SCAN users ") && !plan.ends_with("SCAN users"),
                    "{plan}"
                );
            }
        }
        Backend::Mysql => {
            // The candidates from the trigram table, then each user by its primary key.
            for plan in [&page, &total] {
                uses(plan, "table=user_search_trigrams type=range key=PRIMARY");
                uses(plan, "table=users type=eq_ref key=PRIMARY");
            }
        }
    }
    // And it finds exactly the one user.
    let (_, n) = found(store, p, &letters(1234u32.wrapping_mul(7919) % 456_976)).await;
    assert!((1..=3).contains(&n), "{n}");

    // A short term: a range on a folded-name index.
    let short = store.explain_user_listing(p, &query("ØY")).await.unwrap();
    if db.backend == Backend::Sqlite {
        // Tried first: the newest users along the created_at index, the prefixes tested.
        let recent = short.recent.join("\n");
        uses(&recent, "idx_users_program_created");
        assert!(!recent.contains("SCAN users"), "{recent}");
    }
    let plan = short.page.join("\n");
    eprintln!("{:?} short-term plan:\n{plan}", db.backend);
    assert!(
        plan.contains("idx_users_program_first_folded")
            && plan.contains("idx_users_program_last_folded"),
        "{:?}: {plan}",
        db.backend
    );
    assert_eq!(found(store, p, "øy").await.1, u64::from(per_program / 1000));
}
contract!(the_search_index_is_used, the_search_index_is_used);

/// A fresh database of `backend` migrated up to (not including) migration `name`, its
/// connection, and a program inserted by hand; `None` when `backend` is not configured.
async fn migrated_before(
    backend: Backend,
    name: &str,
) -> Option<(
    storage::testing::TestDatabase,
    sea_orm::DatabaseConnection,
    uuid::Uuid,
)> {
    use migrations::{Migrator, MigratorTrait as _};
    let db = storage::testing::TestDatabase::create(backend)
        .await
        .unwrap()?;
    let conn = sea_orm::Database::connect(&db.url).await.unwrap();
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name() == name)
        .unwrap();
    Migrator::up(&conn, Some(u32::try_from(before).unwrap()))
        .await
        .unwrap();
    let program = uuid::Uuid::now_v7();
    conn.execute_unprepared(&format!(
        "INSERT INTO programs (id, name, created_at) VALUES ('{program}', 'old', 0)"
    ))
    .await
    .unwrap();
    Some((db, conn, program))
}

/// A user row written by hand (as an older version of the service left it): user `n` of
/// `program`, created at `at` ms.
fn raw_user(id: &str, program: uuid::Uuid, n: u32, name: (&str, &str), at: i64) -> String {
    let (first, last) = name;
    format!(
        "INSERT INTO users (id, program_id, first_name, last_name, email, email_key, \
         phone_number, address_one, city, state, country, postal_code, username, \
         username_key, status, kyc_status, created_at, updated_at) VALUES \
         ('{id}', '{program}', '{first}', '{last}', 'Old{n}@Example.com', 'old{n}@example.com', \
         '+1212555{n:04}', '1 Main St', 'Austin', 'TX', 'US', '73301', 'Old{n}', 'old{n}', \
         'active', 'not_started', {at}, {at})"
    )
}

/// Users written before migration 10 get their search text from its backfill (and, on SQLite,
/// their FTS rows; on MariaDB, their trigrams): a database upgraded in place finds them.
async fn existing_users_are_backfilled(backend: Backend) {
    let Some((db, conn, program)) = migrated_before(backend, "m20261129_000010_user_search").await
    else {
        return;
    };
    for (n, name) in [(1, ("Élodie", "Weißmann")), (2, ("Zoë", "Durand"))] {
        let id = uuid::Uuid::now_v7().to_string();
        conn.execute_unprepared(&raw_user(&id, program, n, name, i64::from(n)))
            .await
            .unwrap();
    }
    let _ = conn.close().await;
    let store = db.store(Keys::new().ring_k1()).await.unwrap();
    let p = ProgramId::from_uuid(program);
    assert_eq!(found(&store, p, "ÉLODIE").await.1, 1);
    assert_eq!(found(&store, p, "weiss").await.1, 1);
    assert_eq!(found(&store, p, "old2@exa").await.1, 1);
    assert_eq!(found(&store, p, "zo").await.1, 1);
    assert_eq!(found(&store, p, "du").await.1, 1);
    let _ = store.connection().clone().close().await;
    db.drop_database().await;
}

#[tokio::test]
async fn existing_users_are_backfilled_sqlite() {
    existing_users_are_backfilled(Backend::Sqlite).await;
}

#[tokio::test]
async fn existing_users_are_backfilled_postgres() {
    existing_users_are_backfilled(Backend::Postgres).await;
}

#[tokio::test]
async fn existing_users_are_backfilled_mysql() {
    existing_users_are_backfilled(Backend::Mysql).await;
}

/// SQLite (the API's listing and the console's search) and PostgreSQL (the console's search)
/// look for a term among a program's newest users first (`RECENT_WINDOW`); a page that window
/// does not fill is read through the search index, for several programs in one statement.
/// Either way the answer is every match newest first, the same on every database: here a
/// program whose newest window holds 5 of its 45 matches, beside a small program whose window
/// holds all of its 30 and another with 10, through the API's listing and the console's
/// search across the three, page by page.
async fn recent_window_and_index_agree(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let (big, small) = (program(store).await, program(store).await);
    let window = u32::try_from(storage::RECENT_WINDOW).unwrap();
    let chunks = window / 100 + 1;
    let base = now() - chrono::Duration::hours(1);
    // (created second, id) of every "Faroldson", per program.
    let mut matches: Vec<(i64, UserId, ProgramId)> = Vec::new();
    for k in 0..chunks {
        let users: Vec<(UserId, NewUser)> = (0..100)
            .map(|i| {
                let n = k * 100 + i;
                // The oldest chunk holds 40 matches, the newest 5; the rest are "Plainer".
                let hit = (k == 0 && i < 40) || (k == chunks - 1 && i < 5);
                let last = if hit { "Faroldson" } else { "Plainer" };
                (
                    UserId::from_uuid(uuid::Uuid::now_v7()),
                    NewUser::parse(&person(n, "Kim", last), ctx()).unwrap(),
                )
            })
            .collect();
        for (id, user) in &users {
            if user.profile().last_name().as_str() == "Faroldson" {
                matches.push((i64::from(k), *id, big));
            }
        }
        let at = base + chrono::Duration::seconds(i64::from(k));
        store.bulk_create_users(big, &users, at).await.unwrap();
    }
    let users: Vec<(UserId, NewUser)> = (0..30)
        .map(|i| {
            (
                UserId::from_uuid(uuid::Uuid::now_v7()),
                NewUser::parse(&person(9000 + i, "Kim", "Faroldson"), ctx()).unwrap(),
            )
        })
        .collect();
    let at = i64::from(chunks) + 5;
    matches.extend(users.iter().map(|(id, _)| (at, *id, small)));
    store
        .bulk_create_users(small, &users, base + chrono::Duration::seconds(at))
        .await
        .unwrap();
    // A third program whose 10 matches do not fill a page either: with the big one, read
    // through the search index in one statement on PostgreSQL and SQLite.
    let few = program(store).await;
    let users: Vec<(UserId, NewUser)> = (0..10)
        .map(|i| {
            (
                UserId::from_uuid(uuid::Uuid::now_v7()),
                NewUser::parse(&person(9500 + i, "Kim", "Faroldson"), ctx()).unwrap(),
            )
        })
        .collect();
    let at = i64::from(chunks) + 2;
    matches.extend(users.iter().map(|(id, _)| (at, *id, few)));
    store
        .bulk_create_users(few, &users, base + chrono::Duration::seconds(at))
        .await
        .unwrap();
    // Newest first: the later second, then the larger id.
    matches.sort_by_key(|m| std::cmp::Reverse((m.0, m.1.uuid())));
    let of = |p: ProgramId| -> Vec<UserId> {
        matches.iter().filter(|m| m.2 == p).map(|m| m.1).collect()
    };

    // The API's listing of the big program, pages of 10.
    let mut listed = Vec::new();
    for page in 1..=5 {
        let q = UserQuery::parse(&RawUserQuery {
            search: Some("faroldSON".into()),
            page: Some(page),
            per_page: Some(10),
            ..RawUserQuery::default()
        })
        .unwrap();
        let got = store.list_users(big, &q).await.unwrap();
        assert_eq!(
            (got.total, got.total_is_estimate),
            (45, false),
            "page {page}"
        );
        listed.extend(got.items.iter().map(domain::User::id));
    }
    assert_eq!(listed, of(big), "every match once, newest first");
    // A term the newest users are full of: the newest 10 of them.
    let plain = store.list_users(big, &query("plaine")).await.unwrap();
    let plainer = u64::from(chunks * 100 - 45);
    assert_eq!(
        (plain.total, plain.total_is_estimate),
        (plainer.min(COUNTED_TOTAL_CAP), plainer > COUNTED_TOTAL_CAP)
    );
    let newest = plain
        .items
        .iter()
        .map(domain::User::created_at)
        .max()
        .unwrap();
    assert_eq!(
        newest,
        truncated(base + chrono::Duration::seconds(i64::from(chunks - 1)))
    );
    assert_eq!(plain.items.len(), 10);
    // Short terms: one the newest users are full of (a last name's first letters), one only
    // old users and the newest five hold (the first page through the prefix indexes).
    let pl = store.list_users(big, &query("PL")).await.unwrap();
    assert_eq!(pl.total, plain.total);
    let ids =
        |p: &storage::Page<domain::User>| p.items.iter().map(domain::User::id).collect::<Vec<_>>();
    assert_eq!(ids(&pl), ids(&plain));
    let fa = store.list_users(big, &query("fa")).await.unwrap();
    assert_eq!(fa.total, 45);
    assert_eq!(ids(&fa), of(big)[..10]);

    // The console's search over the three programs, pages of 25, forwards then back.
    let q = query("faroldson");
    let mut seek = storage::Seek::First;
    let mut pages = Vec::new();
    loop {
        let page = store
            .search_users(&[big, small, few], &q, seek, 25)
            .await
            .unwrap();
        pages.push(page.clone());
        match page.next {
            Some(key) => seek = storage::Seek::After(key),
            None => break,
        }
    }
    let searched: Vec<UserId> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(domain::User::id))
        .collect();
    let all: Vec<UserId> = matches.iter().map(|m| m.1).collect();
    assert_eq!(
        searched, all,
        "every match of the programs once, newest first"
    );
    // A term only the big program's newest users hold: its window answers.
    let plain = store
        .search_users(
            &[big, small, few],
            &query("plaine"),
            storage::Seek::First,
            25,
        )
        .await
        .unwrap();
    assert_eq!(plain.items.len(), 25);
    assert!(plain.items.iter().all(|u| u.program_id() == big));
    assert!(plain.next.is_some());
    let last = pages.last().unwrap();
    let before = store
        .search_users(
            &[big, small, few],
            &q,
            storage::Seek::Before(last.previous.unwrap()),
            25,
        )
        .await
        .unwrap();
    assert_eq!(
        before.items,
        pages[pages.len() - 2].items,
        "the page before the last"
    );
}
contract!(recent_window_and_index_agree, recent_window_and_index_agree);

/// Milliseconds, as stored.
fn truncated(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap()
}

/// The console's search pages, newest first, when users were not inserted in the order they
/// were created (SQLite reads its FTS index in insertion order and stops early; migration 21
/// bounds how far that order strays): every page as a full sort would give it.
async fn insertion_order_is_not_creation_order(db: &TestDb, _keys: &Keys) {
    let store = &db.store;
    let (p, other) = (program(store).await, program(store).await);
    let base = now() - chrono::Duration::days(1);
    let mut expected: Vec<(i64, UserId)> = Vec::new();
    let mut n = 0;
    // A user of `program` created `ms` after `base`, inserted now.
    let mut insert = |program: ProgramId, ms: i64, last: &'static str| {
        n += 1;
        let id = UserId::from_uuid(uuid::Uuid::now_v7());
        let user = NewUser::parse(&person(n, "Ida", last), ctx()).unwrap();
        let at = base + chrono::Duration::milliseconds(ms);
        if program == p && last == "Marlowe" {
            expected.push((truncated(at).timestamp_millis(), id));
        }
        let store = store.clone();
        async move {
            store
                .bulk_create_users(program, &[(id, user)], at)
                .await
                .unwrap();
        }
    };
    // The newest user inserted first, then 30 older ones, one a second, with a user of
    // another program and a non-matching one among them.
    insert(p, 1_000_000, "Marlowe").await;
    for k in 0..30 {
        insert(p, 10_000 + 1000 * k, "Marlowe").await;
        if k % 10 == 0 {
            insert(other, 20_000 + 1000 * k, "Marlowe").await;
            insert(p, 30_000 + 1000 * k, "Stone").await;
        }
    }
    // Then one a little late: created 3.5 s before the newest inserted before it.
    insert(p, 35_500, "Marlowe").await;
    for k in 0..10 {
        insert(p, 40_000 + 1000 * k, "Marlowe").await;
    }
    expected.sort_by_key(|(ms, id)| std::cmp::Reverse((*ms, id.uuid())));
    let expected: Vec<UserId> = expected.into_iter().map(|(_, id)| id).collect();
    for (programs, per_page) in [(vec![p], 5), (vec![p], 1), (vec![p, other], 5)] {
        let mut seek = storage::Seek::First;
        let mut shown = Vec::new();
        loop {
            let page = store
                .search_users(&programs, &query("ARLOW"), seek, per_page)
                .await
                .unwrap();
            shown.extend(
                page.items
                    .iter()
                    .filter(|u| u.program_id() == p)
                    .map(domain::User::id),
            );
            match page.next {
                Some(key) => seek = storage::Seek::After(key),
                None => break,
            }
        }
        assert_eq!(
            shown,
            expected,
            "{} program(s), pages of {per_page}",
            programs.len()
        );
    }
    // The API's listing, pages of 5 by offset, with its total.
    let mut listed = Vec::new();
    for page in 1..=9 {
        let q = UserQuery::parse(&RawUserQuery {
            search: Some("marlowe".into()),
            page: Some(page),
            per_page: Some(5),
            ..RawUserQuery::default()
        })
        .unwrap();
        let got = store.list_users(p, &q).await.unwrap();
        assert_eq!(
            (got.total, got.total_is_estimate),
            (expected.len() as u64, false),
            "page {page}"
        );
        listed.extend(got.items.iter().map(domain::User::id));
    }
    assert_eq!(listed, expected, "the API's listing, newest first");
    // With the other filters beside the term: checked on each match the walk reads.
    let with = |status: &str, email: Option<String>| {
        UserQuery::parse(&RawUserQuery {
            search: Some("marlowe".into()),
            status: Some(status.into()),
            email,
            per_page: Some(5),
            ..RawUserQuery::default()
        })
        .unwrap()
    };
    let active = store.list_users(p, &with("active", None)).await.unwrap();
    assert_eq!(active.total, expected.len() as u64);
    let ids: Vec<UserId> = active.items.iter().map(domain::User::id).collect();
    assert_eq!(ids, expected[..5]);
    let blocked = store.list_users(p, &with("blocked", None)).await.unwrap();
    assert_eq!((blocked.total, blocked.items.len()), (0, 0));
    let one = store.get_user(p, expected[7]).await.unwrap().unwrap();
    let email = one.profile().email().as_str().to_owned();
    let by_email = store
        .list_users(p, &with("active", Some(email)))
        .await
        .unwrap();
    let ids: Vec<UserId> = by_email.items.iter().map(domain::User::id).collect();
    assert_eq!((by_email.total, ids), (1, vec![expected[7]]));
    let console = store
        .search_users(&[p, other], &with("blocked", None), storage::Seek::First, 5)
        .await
        .unwrap();
    assert!(console.items.is_empty() && console.next.is_none());
}
contract!(
    insertion_order_is_not_creation_order,
    insertion_order_is_not_creation_order
);

/// SQLite: migration 21 fills its bound from the users already there (in rowid order), and
/// its trigger keeps it with every insert.
#[tokio::test]
async fn the_insertion_order_bound_is_filled_then_kept() {
    use migrations::{Migrator, MigratorTrait as _};
    let (db, conn, program) =
        migrated_before(Backend::Sqlite, "m20261130_000021_users_insert_order")
            .await
            .unwrap();
    let bound = || async {
        let row = conn
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Sqlite,
                "SELECT newest_ms, newest_id, lateness_ms, ordered FROM users_insert_order",
            ))
            .await
            .unwrap()
            .unwrap();
        (
            row.try_get_by_index::<i64>(0).unwrap(),
            row.try_get_by_index::<String>(1).unwrap(),
            row.try_get_by_index::<i64>(2).unwrap(),
            row.try_get_by_index::<i64>(3).unwrap(),
        )
    };
    let [a, b, c, d] = [
        "00000000-0000-7000-8000-00000000000a",
        "00000000-0000-7000-8000-00000000000b",
        "00000000-0000-7000-8000-00000000000c",
        "00000000-0000-7000-8000-00000000000d",
    ];
    let insert = |id: &'static str, n: u32, at: i64| {
        let sql = raw_user(id, program, n, ("Ida", "Old"), at);
        let conn = conn.clone();
        async move { conn.execute_unprepared(&sql).await.unwrap() }
    };
    // Before the migration, in key order: filled as ordered.
    insert(b, 1, 5000).await;
    insert(c, 2, 9000).await;
    Migrator::up(&conn, Some(1)).await.unwrap();
    assert_eq!(bound().await, (9000, c.to_owned(), 0, 1));
    // Then the trigger: the same instant with a smaller id breaks the order, not the
    // lateness; a user created 7 s before the newest sets the lateness.
    insert(a, 3, 9000).await;
    assert_eq!(bound().await, (9000, c.to_owned(), 0, 0));
    insert(d, 4, 2000).await;
    assert_eq!(bound().await, (9000, c.to_owned(), 7000, 0));
    // Filled again from all four, in rowid order: as the trigger left it.
    Migrator::down(&conn, Some(1)).await.unwrap();
    Migrator::up(&conn, Some(1)).await.unwrap();
    assert_eq!(bound().await, (9000, c.to_owned(), 7000, 0));
    let _ = conn.close().await;
    db.drop_database().await;
}
