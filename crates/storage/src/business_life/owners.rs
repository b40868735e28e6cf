//! Beneficial owners: added and removed with the business row locked and the owners' shares
//! kept summed on it by a guarded update, listed with each owner's KYC status.

use chrono::{DateTime, Utc};
use domain::{
    BusinessId, BusinessOwner, BusinessOwnerId, BusinessOwnerRecord, NewBusinessOwner,
    OwnershipPercent, PageRequest, ProgramId, UserId,
};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, PaginatorTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use super::changes::{EventOf, lock_business, record_event};
use super::entity::business_owners;
use crate::SqlStore;
use crate::along::{Along, Outcome};
use crate::entity::{businesses, users};
use crate::error::{Entity, Problem, Reference, StorageError};
use crate::repo::{Audit, Page};
use crate::time::{from_ms, to_ms, truncate};
use crate::users::rows::uuid_of;

/// Adds an owner (see `BusinessLifecycle::add_business_owner`).
pub(super) async fn add(
    store: &SqlStore,
    program: ProgramId,
    id: BusinessOwnerId,
    owner: &NewBusinessOwner,
    audit: Audit<'_>,
    now: DateTime<Utc>,
    along: Along<BusinessOwner>,
) -> Result<Outcome<BusinessOwner>, StorageError> {
    let now = truncate(now);
    let bid = owner.business_id().uuid().to_string();
    let Some(txn) = store.begin_along(&along).await? else {
        return Ok(Outcome::Replayed);
    };
    let added = async {
        let (business, row) = lock_business(&txn, program, owner.business_id()).await?;
        business.owners_editable()?;
        let user = users::Entity::find_by_id(owner.user_id().uuid().to_string())
            .filter(users::Column::ProgramId.eq(program.uuid().to_string()))
            .one(&txn)
            .await?
            .ok_or(StorageError::MissingReference(Reference::UserId))?;
        let share = owner.ownership_percent();
        owner
            .ownership_percent()
            .add_to(i64::from(row.owners_hundredths))
            .map_err(domain::ChangeError::Missing)?;
        // The database's own guard: the sum on the (locked) row never passes 100 %, whatever
        // this transaction read.
        let hundredths = i32::from(share.hundredths());
        let guarded = businesses::Entity::update_many()
            .col_expr(
                businesses::Column::OwnersCount,
                Expr::col(businesses::Column::OwnersCount).add(1),
            )
            .col_expr(
                businesses::Column::OwnersHundredths,
                Expr::col(businesses::Column::OwnersHundredths).add(hundredths),
            )
            .filter(businesses::Column::Id.eq(bid.clone()))
            .filter(
                Expr::col(businesses::Column::OwnersHundredths)
                    .add(hundredths)
                    .lte(i32::from(OwnershipPercent::FULL)),
            )
            .filter(businesses::Column::KybStatus.eq(domain::KycStatus::NotStarted.as_str()))
            .exec(&txn)
            .await?;
        if guarded.rows_affected == 0 {
            // Only if another transaction changed the row after this one read it.
            let refused = OwnershipPercent::refused(i64::from(row.owners_hundredths));
            return Err(domain::ChangeError::Missing(refused).into());
        }
        let created_at = to_ms(now);
        business_owners::Entity::insert(business_owners::ActiveModel {
            id: Set(id.uuid().to_string()),
            program_id: Set(program.uuid().to_string()),
            business_id: Set(bid.clone()),
            user_id: Set(user.id.clone()),
            ownership_hundredths: Set(hundredths),
            title: Set(owner.title().as_str().to_owned()),
            control_person_of: Set(owner.is_control_person().then(|| bid.clone())),
            created_at: Set(created_at),
        })
        .exec_without_returning(&txn)
        .await?;
        let event = EventOf {
            kind: "owner_added",
            from: None,
            to: None,
            subject: Some(id.to_string()),
        };
        record_event(&txn, program, owner.business_id(), event, audit, now).await?;
        let stored = business_owners::Model {
            id: id.uuid().to_string(),
            program_id: program.uuid().to_string(),
            business_id: bid.clone(),
            user_id: user.id.clone(),
            ownership_hundredths: hundredths,
            title: owner.title().as_str().to_owned(),
            control_person_of: owner.is_control_person().then(|| bid.clone()),
            created_at,
        };
        let added = owner_from_rows(&stored, &user)?;
        // The business's event (its sequence), the owner beside it in `data.owner`.
        let mut outbox = crate::events::NewEvent::of(
            program,
            crate::events::Subject::Business(business.id()),
            domain::EventType::BusinessOwnerAdded,
            None,
            (store.views.business)(&business),
            &along,
            audit.actor,
        );
        outbox
            .extra
            .insert("owner".to_owned(), (store.views.owner)(&added));
        crate::events::emit(&txn, outbox, now).await?;
        Ok(added)
    }
    .await;
    store.commit_along(txn, program, &along, added).await
}

/// Removes an owner (see `BusinessLifecycle::remove_business_owner`).
pub(super) async fn remove(
    store: &SqlStore,
    program: ProgramId,
    business: BusinessId,
    owner: BusinessOwnerId,
    audit: Audit<'_>,
    now: DateTime<Utc>,
    along: Along<BusinessOwner>,
) -> Result<Outcome<BusinessOwner>, StorageError> {
    let now = truncate(now);
    let bid = business.uuid().to_string();
    let Some(txn) = store.begin_along(&along).await? else {
        return Ok(Outcome::Replayed);
    };
    let removed = async {
        let (locked, _) = lock_business(&txn, program, business).await?;
        let row = business_owners::Entity::find_by_id(owner.uuid().to_string())
            .filter(business_owners::Column::BusinessId.eq(bid.clone()))
            .one(&txn)
            .await?
            .ok_or(StorageError::NotFound(Entity::BusinessOwner))?;
        locked.owners_editable()?;
        let user = users::Entity::find_by_id(row.user_id.clone())
            .one(&txn)
            .await?
            .ok_or_else(|| StorageError::corrupt("business_owners.user_id", Problem::Dangling))?;
        let gone = owner_from_rows(&row, &user)?;
        business_owners::Entity::delete_by_id(row.id.clone())
            .exec(&txn)
            .await?;
        businesses::Entity::update_many()
            .col_expr(
                businesses::Column::OwnersCount,
                Expr::col(businesses::Column::OwnersCount).sub(1),
            )
            .col_expr(
                businesses::Column::OwnersHundredths,
                Expr::col(businesses::Column::OwnersHundredths).sub(row.ownership_hundredths),
            )
            .filter(businesses::Column::Id.eq(bid.clone()))
            .exec(&txn)
            .await?;
        let event = EventOf {
            kind: "owner_removed",
            from: None,
            to: None,
            subject: Some(owner.to_string()),
        };
        record_event(&txn, program, business, event, audit, now).await?;
        Ok(gone)
    }
    .await;
    store.commit_along(txn, program, &along, removed).await
}

/// A page of a business's owners, oldest first; `None` if the business is not the program's.
pub(super) async fn list(
    store: &SqlStore,
    program: ProgramId,
    business: BusinessId,
    page: PageRequest,
) -> Result<Option<Page<BusinessOwner>>, StorageError> {
    let bid = business.uuid().to_string();
    if businesses::Entity::find_by_id(bid.clone())
        .filter(businesses::Column::ProgramId.eq(program.uuid().to_string()))
        .one(&store.db)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    let filter = business_owners::Column::BusinessId.eq(bid);
    let total = business_owners::Entity::find()
        .filter(filter.clone())
        .count(&store.db)
        .await?;
    let rows = business_owners::Entity::find()
        .filter(filter)
        .order_by_asc(business_owners::Column::CreatedAt)
        .order_by_asc(business_owners::Column::Id)
        .offset(page.offset())
        .limit(page.per_page())
        .all(&store.db)
        .await?;
    let items = with_users(&store.db, rows).await?;
    Ok(Some(Page {
        items,
        total,
        total_is_estimate: false,
    }))
}

/// The owners of `rows` with their users' details.
async fn with_users(
    conn: &impl ConnectionTrait,
    rows: Vec<business_owners::Model>,
) -> Result<Vec<BusinessOwner>, StorageError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.user_id.clone()).collect();
    let people: std::collections::HashMap<String, users::Model> = users::Entity::find()
        .filter(users::Column::Id.is_in(ids))
        .all(conn)
        .await?
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
    rows.iter()
        .map(|r| {
            let user = people.get(&r.user_id).ok_or_else(|| {
                StorageError::corrupt("business_owners.user_id", Problem::Dangling)
            })?;
            owner_from_rows(r, user)
        })
        .collect()
}

fn owner_from_rows(
    row: &business_owners::Model,
    user: &users::Model,
) -> Result<BusinessOwner, StorageError> {
    let record = BusinessOwnerRecord {
        id: BusinessOwnerId::from_uuid(uuid_of(&row.id, "business_owners.id")?),
        business_id: BusinessId::from_uuid(uuid_of(
            &row.business_id,
            "business_owners.business_id",
        )?),
        user_id: UserId::from_uuid(uuid_of(&row.user_id, "business_owners.user_id")?),
        ownership_hundredths: i64::from(row.ownership_hundredths),
        title: row.title.clone(),
        is_control_person: row.control_person_of.is_some(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        email: user.email.clone(),
        kyc_status: user.kyc_status.clone(),
        created_at: from_ms(row.created_at)?,
    };
    BusinessOwner::restore(&record).map_err(|e| StorageError::corrupt("business_owners", e))
}
