//! Changing a stored user: lifecycle changes (block, unblock, KYC) and partial updates, each
//! in one transaction with the row locked, the domain deciding and storage persisting.

use chrono::{DateTime, Utc};
use domain::{EventType, ProgramId, RawNewUser, User, UserChange, UserId};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
};

use domain::search::fold;

use super::rows::{load_user, meta_rows, ssn_aad, ssn_label, user_search_text};
use crate::SqlStore;
use crate::along::{Along, Outcome};
use crate::entity::{user_events, user_meta_data, users};
use crate::error::{Entity, StorageError};
use crate::events::{NewEvent, Subject};
use crate::repo::Audit;
use crate::search;
use crate::time::{to_ms, truncate};

/// Locks a user row of the program inside `txn` with a no-op write (SQLite takes its write
/// lock now instead of failing a later read-to-write upgrade; PostgreSQL and MariaDB lock the
/// row) and reads the user.
async fn lock_user(
    txn: &impl ConnectionTrait,
    program: ProgramId,
    uid: &str,
) -> Result<User, StorageError> {
    let locked = users::Entity::update_many()
        .col_expr(
            users::Column::UpdatedAt,
            Expr::col(users::Column::UpdatedAt),
        )
        .filter(users::Column::Id.eq(uid))
        .filter(users::Column::ProgramId.eq(program.uuid().to_string()))
        .exec(txn)
        .await?;
    if locked.rows_affected == 0 {
        return Err(StorageError::NotFound(Entity::User));
    }
    let row = users::Entity::find_by_id(uid.to_owned())
        .one(txn)
        .await?
        .ok_or(StorageError::NotFound(Entity::User))?;
    load_user(txn, program, row).await
}

/// Applies a lifecycle change: the new state and an audit event.
pub(super) async fn change(
    store: &SqlStore,
    program: ProgramId,
    id: UserId,
    change: UserChange,
    audit: Audit<'_>,
    now: DateTime<Utc>,
    mut along: Along<User>,
) -> Result<Outcome<User>, StorageError> {
    let now = truncate(now);
    let uid = id.uuid().to_string();
    let Some(txn) = store.begin_along(&along).await? else {
        return Ok(Outcome::Replayed);
    };
    // The screening of a submission is written after the change and before the answer is
    // rendered, so that the answer (and its stored idempotent copy) shows its status.
    let screening = along.screening.take();
    let changed = async {
        let user = change_in(store, &txn, program, &uid, change, audit, now, &along).await?;
        let Some(write) = &screening else {
            return Ok(user);
        };
        let request = crate::screening::write::RequestRef {
            id: along.origin.request_id.as_deref(),
            idempotency_key: along.idempotency_key(),
        };
        let status =
            crate::screening::write::write_in(&txn, &store.views, program, write, request).await?;
        if status == user.screening_status() {
            return Ok(user);
        }
        let row = users::Entity::find_by_id(uid.clone())
            .one(&txn)
            .await?
            .ok_or(StorageError::NotFound(Entity::User))?;
        load_user(&txn, program, row).await
    }
    .await;
    store.commit_along(txn, program, &along, changed).await
}

/// A lifecycle change inside the caller's transaction (`conn`): the row locked, the domain
/// deciding, the new state, its `user_events` row and its outbox event (whose request and actor
/// come from `along`, the actor defaulting to the audit's). A change the domain refuses is
/// `StorageError::Rejected` before anything is written.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn change_in<T>(
    store: &SqlStore,
    conn: &impl ConnectionTrait,
    program: ProgramId,
    uid: &str,
    change: UserChange,
    audit: Audit<'_>,
    now: DateTime<Utc>,
    along: &Along<T>,
) -> Result<User, StorageError> {
    let mut user = lock_user(conn, program, uid).await?;
    let before = (store.views.user)(&user);
    let transition = user.apply(change, now)?;
    users::Entity::update_many()
        .col_expr(users::Column::Status, user.status().as_str().into())
        .col_expr(users::Column::KycStatus, user.kyc_status().as_str().into())
        .col_expr(users::Column::UpdatedAt, to_ms(user.updated_at()).into())
        .filter(users::Column::Id.eq(uid))
        .exec(conn)
        .await?;
    user_events::Entity::insert(user_events::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        program_id: Set(program.uuid().to_string()),
        user_id: Set(uid.to_owned()),
        kind: Set(transition.kind.to_owned()),
        from_state: Set(transition.from.to_owned()),
        to_state: Set(transition.to.to_owned()),
        reason: Set(audit.reason.map(ToOwned::to_owned)),
        actor: Set(audit.actor.chars().take(64).collect()),
        created_at: Set(to_ms(now)),
    })
    .exec_without_returning(conn)
    .await?;
    let mut event = user_event(
        store,
        &user,
        event_type(change),
        &before,
        along,
        audit.actor,
    );
    if change == UserChange::RejectKyc {
        // Why KYC failed (`sanctions_match`, or the verifier's reason): `data.reason`.
        if let Some(reason) = audit.reason {
            event.extra.insert("reason".to_owned(), reason.into());
        }
    }
    crate::events::emit(conn, event, now).await?;
    Ok(user)
}

/// The search columns of an update of profile `p` whose search text is `text`.
fn with_search_columns(
    update: sea_orm::UpdateMany<users::Entity>,
    p: &domain::Profile,
    text: &str,
) -> sea_orm::UpdateMany<users::Entity> {
    update
        .col_expr(users::Column::SearchText, text.into())
        .col_expr(
            users::Column::FirstNameFolded,
            fold(p.first_name().as_str()).into(),
        )
        .col_expr(
            users::Column::LastNameFolded,
            fold(p.last_name().as_str()).into(),
        )
}

/// A partial update: the domain's `User::update` decides; a new SSN is re-sealed and its
/// blind index re-checked by the unique constraint; meta_data is replaced when given.
pub(super) async fn update(
    store: &SqlStore,
    program: ProgramId,
    id: UserId,
    raw: &RawNewUser,
    ctx: domain::ParseContext,
    now: DateTime<Utc>,
    along: Along<User>,
) -> Result<Outcome<User>, StorageError> {
    let now = truncate(now);
    let uid = id.uuid().to_string();
    let Some(txn) = store.begin_along(&along).await? else {
        return Ok(Outcome::Replayed);
    };
    let updated = async {
        let current = lock_user(&txn, program, &uid).await?;
        let before = (store.views.user)(&current);
        let old_text = user_search_text(current.profile());
        let (user, ssn) = current.update(raw, ctx, now)?;
        let p = user.profile();
        let a = p.address();
        let text = user_search_text(p);
        let mut update = with_search_columns(users::Entity::update_many(), p, text.as_str())
            .col_expr(users::Column::FirstName, p.first_name().as_str().into())
            .col_expr(
                users::Column::MiddleName,
                p.middle_name().map(|n| n.as_str().to_owned()).into(),
            )
            .col_expr(users::Column::LastName, p.last_name().as_str().into())
            .col_expr(users::Column::PhoneNumber, p.phone_number().as_str().into())
            .col_expr(users::Column::AddressOne, a.line_one().as_str().into())
            .col_expr(
                users::Column::AddressTwo,
                a.line_two().map(|l| l.as_str().to_owned()).into(),
            )
            .col_expr(users::Column::City, a.city().as_str().into())
            .col_expr(users::Column::State, a.state().as_str().into())
            .col_expr(users::Column::Country, a.country().as_str().into())
            .col_expr(users::Column::PostalCode, a.postal_code().as_str().into())
            .col_expr(
                users::Column::Username,
                p.username().map(|u| u.as_str().to_owned()).into(),
            )
            .col_expr(
                users::Column::UsernameKey,
                p.username().map(domain::Username::unique_key).into(),
            )
            .col_expr(
                users::Column::DateOfBirth,
                p.date_of_birth().map(|d| d.to_iso()).into(),
            )
            .col_expr(
                users::Column::TermsAcceptedAt,
                user.terms_accepted_at().map(to_ms).into(),
            )
            .col_expr(users::Column::UpdatedAt, to_ms(user.updated_at()).into());
        if let Some(ssn) = &ssn {
            let digits = ssn.expose_digits().as_bytes();
            let sealed = store.keys.seal(digits, ssn_aad(&uid))?;
            update = update
                .col_expr(users::Column::SsnCiphertext, sealed.bytes.into())
                .col_expr(users::Column::SsnKeyId, sealed.key_id.into())
                .col_expr(
                    users::Column::SsnBlindIndex,
                    store.keys.blind_index(&ssn_label(program), digits).into(),
                )
                .col_expr(users::Column::SsnLast4, ssn.last4().as_str().into());
        }
        update
            .filter(users::Column::Id.eq(uid.clone()))
            .exec(&txn)
            .await?;
        if text != old_text {
            search::USERS
                .replace_trigrams(&txn, &program.uuid().to_string(), &uid, text.as_str())
                .await?;
        }
        if raw.meta_data.is_some() {
            user_meta_data::Entity::delete_many()
                .filter(user_meta_data::Column::UserId.eq(uid.clone()))
                .exec(&txn)
                .await?;
            let meta = meta_rows(&uid, user.profile().meta_data());
            if !meta.is_empty() {
                user_meta_data::Entity::insert_many(meta)
                    .exec_without_returning(&txn)
                    .await?;
            }
        }
        let event = user_event(
            store,
            &user,
            EventType::UserUpdated,
            &before,
            &along,
            "operator",
        );
        crate::events::emit(&txn, event, now).await?;
        Ok(user)
    }
    .await;
    store.commit_along(txn, program, &along, updated).await
}

/// The event of a lifecycle change.
fn event_type(change: UserChange) -> EventType {
    match change {
        UserChange::Block => EventType::UserBlocked,
        UserChange::Unblock => EventType::UserUnblocked,
        UserChange::SubmitKyc => EventType::UserKycPending,
        UserChange::VerifyKyc => EventType::UserKycVerified,
        UserChange::RejectKyc => EventType::UserKycFailed,
    }
}

/// The event of a change of `user`, whose view was `before`.
fn user_event<T>(
    store: &SqlStore,
    user: &User,
    event_type: EventType,
    before: &serde_json::Value,
    along: &Along<T>,
    default_actor: &str,
) -> NewEvent {
    NewEvent::of(
        user.program_id(),
        Subject::User(user.id()),
        event_type,
        Some(before),
        (store.views.user)(user),
        along,
        default_actor,
    )
}
