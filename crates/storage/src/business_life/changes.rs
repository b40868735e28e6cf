//! Changing a stored business: the row lock, partial updates and lifecycle changes, each in
//! one transaction with its audit event.

use chrono::{DateTime, Utc};
use domain::{Business, BusinessChange, BusinessId, EventType, ProgramId, RawNewBusiness};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _,
};

use super::entity::business_events;
use crate::SqlStore;
use crate::along::{Along, Outcome};
use crate::businesses::{business_from_rows, ein_aad};
use crate::entity::{business_meta_data, businesses};
use crate::error::{Entity, StorageError};
use crate::repo::Audit;
use crate::time::{to_ms, truncate};

/// Locks a business row of the program inside `txn` with a no-op write (as `lock_user`:
/// SQLite takes its write lock now, PostgreSQL and MariaDB lock the row until the end of the
/// transaction) and reads it back: the business and its row (for the owners' running sum).
pub(super) async fn lock_business(
    txn: &impl ConnectionTrait,
    program: ProgramId,
    id: BusinessId,
) -> Result<(Business, businesses::Model), StorageError> {
    let bid = id.uuid().to_string();
    let locked = businesses::Entity::update_many()
        .col_expr(
            businesses::Column::UpdatedAt,
            Expr::col(businesses::Column::UpdatedAt),
        )
        .filter(businesses::Column::Id.eq(bid.clone()))
        .filter(businesses::Column::ProgramId.eq(program.uuid().to_string()))
        .exec(txn)
        .await?;
    if locked.rows_affected == 0 {
        return Err(StorageError::NotFound(Entity::Business));
    }
    let row = businesses::Entity::find_by_id(bid.clone())
        .one(txn)
        .await?
        .ok_or(StorageError::NotFound(Entity::Business))?;
    let meta = business_meta_data::Entity::find()
        .filter(business_meta_data::Column::BusinessId.eq(bid))
        .order_by_asc(business_meta_data::Column::Position)
        .all(txn)
        .await?;
    let business = business_from_rows(id, program, &row, meta)?;
    Ok((business, row))
}

/// What an audit event says beyond who and why.
pub(super) struct EventOf<'a> {
    pub(super) kind: &'static str,
    pub(super) from: Option<&'a str>,
    pub(super) to: Option<&'a str>,
    pub(super) subject: Option<String>,
}

/// Writes an audit event of the business through `conn` (the change's transaction).
pub(super) async fn record_event(
    conn: &impl ConnectionTrait,
    program: ProgramId,
    business: BusinessId,
    event: EventOf<'_>,
    audit: Audit<'_>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    business_events::Entity::insert(business_events::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        program_id: Set(program.uuid().to_string()),
        business_id: Set(business.uuid().to_string()),
        kind: Set(event.kind.to_owned()),
        from_state: Set(event.from.map(ToOwned::to_owned)),
        to_state: Set(event.to.map(ToOwned::to_owned)),
        subject: Set(event.subject),
        reason: Set(audit.reason.map(|r| r.chars().take(256).collect())),
        actor: Set(audit.actor.chars().take(64).collect()),
        created_at: Set(to_ms(now)),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

/// The outbox event of a business change (SPEC §7), written in the change's transaction: the
/// business as the API answers it, and what changed from `before`.
fn business_event(
    store: &SqlStore,
    business: &Business,
    event_type: EventType,
    before: &serde_json::Value,
    along: &Along<Business>,
    default_actor: &str,
) -> crate::events::NewEvent {
    crate::events::NewEvent::of(
        business.program_id(),
        crate::events::Subject::Business(business.id()),
        event_type,
        Some(before),
        (store.views.business)(business),
        along,
        default_actor,
    )
}

/// Applies a lifecycle change: the new state, an audit event and the outbox event.
pub(super) async fn change(
    store: &SqlStore,
    program: ProgramId,
    id: BusinessId,
    change: BusinessChange,
    audit: Audit<'_>,
    now: DateTime<Utc>,
    along: Along<Business>,
) -> Result<Outcome<Business>, StorageError> {
    let now = truncate(now);
    let Some(txn) = store.begin_along(&along).await? else {
        return Ok(Outcome::Replayed);
    };
    let changed = async {
        let (mut business, row) = lock_business(&txn, program, id).await?;
        let before = (store.views.business)(&business);
        let owners = u64::try_from(row.owners_count).unwrap_or_default();
        let transition = business.apply(change, owners, now)?;
        businesses::Entity::update_many()
            .col_expr(
                businesses::Column::Status,
                business.status().as_str().into(),
            )
            .col_expr(
                businesses::Column::KybStatus,
                business.kyb_status().as_str().into(),
            )
            .col_expr(
                businesses::Column::UpdatedAt,
                to_ms(business.updated_at()).into(),
            )
            .filter(businesses::Column::Id.eq(id.uuid().to_string()))
            .exec(&txn)
            .await?;
        let event = EventOf {
            kind: transition.kind,
            from: Some(transition.from),
            to: Some(transition.to),
            subject: None,
        };
        record_event(&txn, program, id, event, audit, now).await?;
        let event_type = match change {
            BusinessChange::Block => EventType::BusinessBlocked,
            BusinessChange::Unblock => EventType::BusinessUnblocked,
            BusinessChange::SubmitKyb => EventType::BusinessKybPending,
            BusinessChange::VerifyKyb => EventType::BusinessKybVerified,
            BusinessChange::RejectKyb => EventType::BusinessKybFailed,
        };
        let outbox = business_event(store, &business, event_type, &before, &along, audit.actor);
        crate::events::emit(&txn, outbox, now).await?;
        Ok(business)
    }
    .await;
    store.commit_along(txn, program, &along, changed).await
}

/// A partial update: the domain's `Business::update` decides; a new EIN is re-sealed and its
/// blind index re-checked by the unique constraint; meta_data is replaced when given.
pub(super) async fn update(
    store: &SqlStore,
    program: ProgramId,
    id: BusinessId,
    raw: &RawNewBusiness,
    now: DateTime<Utc>,
    audit: Audit<'_>,
    along: Along<Business>,
) -> Result<Outcome<Business>, StorageError> {
    let now = truncate(now);
    let bid = id.uuid().to_string();
    let Some(txn) = store.begin_along(&along).await? else {
        return Ok(Outcome::Replayed);
    };
    let updated = async {
        let (current, _) = lock_business(&txn, program, id).await?;
        let before = (store.views.business)(&current);
        let (business, ein) = current.update(raw, now.date_naive(), now)?;
        let mut update = profile_update(&business);
        if let Some(ein) = &ein {
            let digits = ein.expose_digits().as_bytes();
            let sealed = store.keys.seal(digits, ein_aad(&bid))?;
            let index = store
                .keys
                .blind_index(&format!("ein:{}", program.uuid()), digits);
            update = update
                .col_expr(businesses::Column::EinCiphertext, sealed.bytes.into())
                .col_expr(businesses::Column::EinKeyId, sealed.key_id.into())
                .col_expr(businesses::Column::EinBlindIndex, index.into())
                .col_expr(businesses::Column::EinLast4, ein.last4().as_str().into());
        }
        update
            .filter(businesses::Column::Id.eq(bid.clone()))
            .exec(&txn)
            .await?;
        if raw.meta_data.is_some() {
            business_meta_data::Entity::delete_many()
                .filter(business_meta_data::Column::BusinessId.eq(bid.clone()))
                .exec(&txn)
                .await?;
            let meta: Vec<business_meta_data::ActiveModel> = business
                .profile()
                .meta_data()
                .entries()
                .iter()
                .enumerate()
                .map(|(i, e)| business_meta_data::ActiveModel {
                    business_id: Set(bid.clone()),
                    position: Set(i32::try_from(i).unwrap_or(i32::MAX)),
                    name: Set(e.name().as_str().to_owned()),
                    value: Set(e.value().as_str().to_owned()),
                })
                .collect();
            if !meta.is_empty() {
                business_meta_data::Entity::insert_many(meta)
                    .exec_without_returning(&txn)
                    .await?;
            }
        }
        let event = EventOf {
            kind: "updated",
            from: None,
            to: None,
            subject: None,
        };
        record_event(&txn, program, id, event, audit, now).await?;
        let outbox = business_event(
            store,
            &business,
            EventType::BusinessUpdated,
            &before,
            &along,
            audit.actor,
        );
        crate::events::emit(&txn, outbox, now).await?;
        Ok(business)
    }
    .await;
    store.commit_along(txn, program, &along, updated).await
}

/// The statement writing every profile column of `business` (and its search text and
/// `updated_at`); the caller adds the EIN columns and the row filter.
fn profile_update(business: &Business) -> sea_orm::UpdateMany<businesses::Entity> {
    let p = business.profile();
    let d = p.details();
    let text = |v: Option<&str>| v.map(ToOwned::to_owned);
    businesses::Entity::update_many()
        .col_expr(businesses::Column::BusinessName, p.name().as_str().into())
        .col_expr(businesses::Column::Email, p.email().as_str().into())
        .col_expr(
            businesses::Column::PhoneNumber,
            p.phone_number().as_str().into(),
        )
        .col_expr(
            businesses::Column::AddressOne,
            p.address_one().as_str().into(),
        )
        .col_expr(
            businesses::Column::AddressTwo,
            text(p.address_two().map(domain::AddressLine::as_str)).into(),
        )
        .col_expr(businesses::Column::City, p.city().as_str().into())
        .col_expr(businesses::Column::State, p.state().as_str().into())
        .col_expr(businesses::Column::Zipcode, p.zipcode().as_str().into())
        .col_expr(businesses::Column::Country, p.country().as_str().into())
        .col_expr(
            businesses::Column::BusinessType,
            text(p.business_type().map(domain::BusinessType::as_str)).into(),
        )
        .col_expr(
            businesses::Column::IncorporatedDate,
            p.incorporated_date()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .into(),
        )
        .col_expr(
            businesses::Column::IncorporatedState,
            text(p.incorporated_state().map(domain::State::as_str)).into(),
        )
        .col_expr(
            businesses::Column::Dba,
            text(d.dba().map(domain::ShortText::as_str)).into(),
        )
        .col_expr(
            businesses::Column::NaicsCode,
            text(d.naics_code().map(domain::NaicsCode::as_str)).into(),
        )
        .col_expr(
            businesses::Column::BusinessIndustry,
            text(d.industry().map(domain::ShortText::as_str)).into(),
        )
        .col_expr(
            businesses::Column::BusinessDescription,
            text(d.description().map(domain::Description::as_str)).into(),
        )
        .col_expr(
            businesses::Column::Website,
            text(d.website().map(domain::Website::as_str)).into(),
        )
        .col_expr(
            businesses::Column::SupportEmail,
            text(d.support_email().map(domain::Email::as_str)).into(),
        )
        .col_expr(
            businesses::Column::SupportPhoneNumber,
            text(d.support_phone_number().map(domain::PhoneNumber::as_str)).into(),
        )
        .col_expr(
            businesses::Column::SearchText,
            business.search_text().into(),
        )
        .col_expr(
            businesses::Column::UpdatedAt,
            to_ms(business.updated_at()).into(),
        )
}
