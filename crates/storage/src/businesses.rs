//! `BusinessRepository` on SQL: the EIN encrypted and blind-indexed like the SSN.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    Business, BusinessContact, BusinessContactRecord, BusinessId, BusinessRecord, ContactId,
    ContactQuery, KycStatus, NewBusiness, ProgramId, RawMetaEntry, RawNewBusiness, UserId,
    UserStatus,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, Condition, EntityTrait as _, PaginatorTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use crate::SqlStore;
use crate::along::{Along, Outcome};
use crate::crypto::Aad;
use crate::entity::{business_contacts, business_meta_data, businesses, users};
use crate::error::{Problem, StorageError};
use crate::repo::{BusinessRepository, Page};
use crate::time::{from_ms, to_ms, truncate};
use crate::users::rows::uuid_of;

/// The associated data of a business's EIN ciphertext.
pub(crate) fn ein_aad(business_id: &str) -> Aad<'_> {
    Aad {
        table: "businesses",
        column: "ein_ciphertext",
        row_id: business_id,
    }
}

#[async_trait]
impl BusinessRepository for SqlStore {
    #[tracing::instrument(level = "debug", skip(self, business, along), fields(program = %program, business = %id))]
    async fn create_business(
        &self,
        program: ProgramId,
        id: BusinessId,
        business: &NewBusiness,
        now: DateTime<Utc>,
        along: Along<Business>,
    ) -> Result<Outcome<Business>, StorageError> {
        let now = truncate(now);
        let row_id = id.uuid().to_string();
        let p = business.profile();
        let d = p.details();
        let created = Business::create(id, program, business, now);
        let digits = business.ein().expose_digits().as_bytes();
        let sealed = self.keys.seal(digits, ein_aad(&row_id))?;
        let index = self
            .keys
            .blind_index(&format!("ein:{}", program.uuid()), digits);
        let row = businesses::ActiveModel {
            id: Set(row_id.clone()),
            program_id: Set(program.uuid().to_string()),
            business_name: Set(p.name().as_str().to_owned()),
            email: Set(p.email().as_str().to_owned()),
            phone_number: Set(p.phone_number().as_str().to_owned()),
            address_one: Set(p.address_one().as_str().to_owned()),
            address_two: Set(p.address_two().map(|a| a.as_str().to_owned())),
            city: Set(p.city().as_str().to_owned()),
            state: Set(p.state().as_str().to_owned()),
            zipcode: Set(p.zipcode().as_str().to_owned()),
            country: Set(p.country().as_str().to_owned()),
            ein_ciphertext: Set(sealed.bytes),
            ein_key_id: Set(sealed.key_id),
            ein_blind_index: Set(index),
            ein_last_4: Set(business.ein().last4().as_str().to_owned()),
            business_type: Set(p.business_type().map(|t| t.as_str().to_owned())),
            incorporated_date: Set(p
                .incorporated_date()
                .map(|d| d.format("%Y-%m-%d").to_string())),
            incorporated_state: Set(p.incorporated_state().map(|s| s.as_str().to_owned())),
            status: Set(UserStatus::Active.as_str().to_owned()),
            kyb_status: Set(KycStatus::NotStarted.as_str().to_owned()),
            created_at: Set(to_ms(now)),
            updated_at: Set(to_ms(now)),
            dba: Set(d.dba().map(|v| v.as_str().to_owned())),
            naics_code: Set(d.naics_code().map(|v| v.as_str().to_owned())),
            business_industry: Set(d.industry().map(|v| v.as_str().to_owned())),
            business_description: Set(d.description().map(|v| v.as_str().to_owned())),
            website: Set(d.website().map(|v| v.as_str().to_owned())),
            support_email: Set(d.support_email().map(|v| v.as_str().to_owned())),
            support_phone_number: Set(d.support_phone_number().map(|v| v.as_str().to_owned())),
            search_text: Set(created.search_text()),
            owners_count: Set(0),
            owners_hundredths: Set(0),
        };
        let meta: Vec<business_meta_data::ActiveModel> = p
            .meta_data()
            .entries()
            .iter()
            .enumerate()
            .map(|(i, e)| business_meta_data::ActiveModel {
                business_id: Set(row_id.clone()),
                position: Set(i32::try_from(i).unwrap_or(i32::MAX)),
                name: Set(e.name().as_str().to_owned()),
                value: Set(e.value().as_str().to_owned()),
            })
            .collect();
        let Some(txn) = self.begin_along(&along).await? else {
            return Ok(Outcome::Replayed);
        };
        let written = async {
            businesses::Entity::insert(row)
                .exec_without_returning(&txn)
                .await?;
            if !meta.is_empty() {
                business_meta_data::Entity::insert_many(meta)
                    .exec_without_returning(&txn)
                    .await?;
            }
            let event = crate::events::NewEvent::of(
                program,
                crate::events::Subject::Business(id),
                domain::EventType::BusinessCreated,
                None,
                (self.views.business)(&created),
                &along,
                "operator",
            );
            crate::events::emit(&txn, event, now).await?;
            Ok(created)
        }
        .await;
        self.commit_along(txn, program, &along, written).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(program = %program, business = %id))]
    async fn get_business(
        &self,
        program: ProgramId,
        id: BusinessId,
    ) -> Result<Option<Business>, StorageError> {
        let Some(row) = businesses::Entity::find_by_id(id.uuid().to_string())
            .filter(businesses::Column::ProgramId.eq(program.uuid().to_string()))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let meta = business_meta_data::Entity::find()
            .filter(business_meta_data::Column::BusinessId.eq(row.id.clone()))
            .order_by_asc(business_meta_data::Column::Position)
            .all(&self.db)
            .await?;
        business_from_rows(id, program, &row, meta).map(Some)
    }

    #[tracing::instrument(level = "debug", skip(self, query), fields(program = %program))]
    async fn list_contacts(
        &self,
        program: ProgramId,
        query: &ContactQuery,
    ) -> Result<Option<Page<BusinessContact>>, StorageError> {
        self.list_contacts_impl(program, query).await
    }
}

pub(crate) fn business_from_rows(
    id: BusinessId,
    program: ProgramId,
    row: &businesses::Model,
    meta: Vec<business_meta_data::Model>,
) -> Result<Business, StorageError> {
    let raw_meta: Vec<RawMetaEntry> = meta
        .into_iter()
        .map(|m| RawMetaEntry {
            name: Some(m.name),
            value: Some(m.value),
        })
        .collect();
    let record = BusinessRecord {
        id,
        program_id: program,
        details: RawNewBusiness {
            business_name: Some(row.business_name.clone()),
            email: Some(row.email.clone()),
            phone_number: Some(row.phone_number.clone()),
            business_address: Some(row.address_one.clone()),
            business_address_2: row.address_two.clone(),
            city: Some(row.city.clone()),
            state: Some(row.state.clone()),
            zipcode: Some(row.zipcode.clone()),
            country: Some(row.country.clone()),
            ein: None,
            business_type: row.business_type.clone(),
            incorporated_date: row.incorporated_date.clone(),
            incorporated_state: row.incorporated_state.clone(),
            dba: row.dba.clone(),
            naics_code: row.naics_code.clone(),
            business_industry: row.business_industry.clone(),
            business_description: row.business_description.clone(),
            website: row.website.clone(),
            support_email: row.support_email.clone(),
            support_phone_number: row.support_phone_number.clone(),
            meta_data: Some(raw_meta),
        },
        ein_last_4: row.ein_last_4.clone(),
        status: row.status.clone(),
        kyb_status: row.kyb_status.clone(),
        created_at: from_ms(row.created_at)?,
        updated_at: from_ms(row.updated_at)?,
    };
    Business::restore(&record).map_err(|e| StorageError::corrupt("businesses", e))
}

impl SqlStore {
    async fn list_contacts_impl(
        &self,
        program: ProgramId,
        q: &ContactQuery,
    ) -> Result<Option<Page<BusinessContact>>, StorageError> {
        let pid = program.uuid().to_string();
        let bid = q.business_id().uuid().to_string();
        if businesses::Entity::find_by_id(bid.clone())
            .filter(businesses::Column::ProgramId.eq(pid))
            .one(&self.db)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        let mut filter = Condition::all().add(business_contacts::Column::BusinessId.eq(bid));
        if let Some(t) = q.contact_type() {
            filter = filter.add(business_contacts::Column::ContactType.eq(t.as_str()));
        }
        let total = business_contacts::Entity::find()
            .filter(filter.clone())
            .count(&self.db)
            .await?;
        let links = business_contacts::Entity::find()
            .filter(filter)
            .order_by_desc(business_contacts::Column::CreatedAt)
            .order_by_desc(business_contacts::Column::Id)
            .offset(q.page().offset())
            .limit(q.page().per_page())
            .all(&self.db)
            .await?;
        let user_ids: Vec<String> = links.iter().map(|l| l.user_id.clone()).collect();
        let people: std::collections::HashMap<String, users::Model> = if user_ids.is_empty() {
            std::collections::HashMap::new()
        } else {
            users::Entity::find()
                .filter(users::Column::Id.is_in(user_ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|u| (u.id.clone(), u))
                .collect()
        };
        let items = links
            .into_iter()
            .map(|l| {
                let u = people.get(&l.user_id).ok_or_else(|| {
                    StorageError::corrupt("business_contacts.user_id", Problem::Dangling)
                })?;
                contact_from_rows(&l, u)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(Page {
            items,
            total,
            total_is_estimate: false,
        }))
    }
}

fn contact_from_rows(
    link: &business_contacts::Model,
    user: &users::Model,
) -> Result<BusinessContact, StorageError> {
    let record = BusinessContactRecord {
        id: ContactId::from_uuid(uuid_of(&link.id, "business_contacts.id")?),
        business_id: BusinessId::from_uuid(uuid_of(
            &link.business_id,
            "business_contacts.business_id",
        )?),
        user_id: UserId::from_uuid(uuid_of(&link.user_id, "business_contacts.user_id")?),
        contact_type: link.contact_type.clone(),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        email: user.email.clone(),
        phone_number: user.phone_number.clone(),
        created_at: from_ms(link.created_at)?,
    };
    BusinessContact::restore(&record).map_err(|e| StorageError::corrupt("business_contacts", e))
}
