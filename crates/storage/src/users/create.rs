//! Creating users: a create is prepared (rows built, SSN sealed, answer rendered) and handed
//! to the group commit (`batch.rs`), which writes it alone or in a batch with others; and
//! bulk seeding.

use chrono::{DateTime, Utc};
use domain::{NewUser, ProgramId, User, UserId};
use sea_orm::{ActiveValue::Set, EntityTrait as _};

use super::batch::{PreparedCreate, search_record};
use super::rows::{add_to_count, meta_rows, shard_of};
use crate::SqlStore;
use crate::along::{Along, Outcome};
use crate::entity::{business_contacts, user_meta_data, users};
use crate::error::StorageError;
use crate::repo::NewUserIds;
use crate::time::{to_ms, truncate};

/// Writes a new user with what comes along, in a batch with whatever other creates wait.
pub(super) async fn create(
    store: &SqlStore,
    program: ProgramId,
    ids: NewUserIds,
    new_user: &NewUser,
    now: DateTime<Utc>,
    along: Along<User>,
) -> Result<Outcome<User>, StorageError> {
    let now = truncate(now);
    let user = User::create(ids.user, program, new_user, now);
    let id = ids.user.uuid().to_string();
    let program_id = program.uuid().to_string();
    let row = store.user_row(program, &id, new_user, now)?;
    let meta = meta_rows(&id, new_user.profile().meta_data());
    let (contact, business_id) = match new_user.business() {
        Some(link) => {
            let business_id = link.business_id.uuid().to_string();
            let contact = business_contacts::ActiveModel {
                id: Set(ids.contact.uuid().to_string()),
                program_id: Set(program_id),
                business_id: Set(business_id.clone()),
                user_id: Set(id),
                contact_type: Set(link.contact_type.as_str().to_owned()),
                created_at: Set(to_ms(now)),
            };
            (Some(contact), Some(business_id))
        }
        None => (None, None),
    };
    let event = crate::events::Sequenced::first(
        crate::events::NewEvent::of(
            program,
            crate::events::Subject::User(ids.user),
            domain::EventType::UserCreated,
            None,
            (store.views.user)(&user),
            &along,
            "operator",
        ),
        now,
    );
    let completion = along
        .idempotency
        .as_ref()
        .map(|c| c.rendered(&user))
        .transpose()?;
    let prepared = PreparedCreate {
        program,
        shard: shard_of(ids.user),
        user: row,
        meta,
        contact,
        business_id,
        first_use: along.replay,
        completion,
        event,
    };
    Ok(if store.create_grouped(prepared).await? {
        Outcome::Written(user)
    } else {
        Outcome::Replayed
    })
}

impl SqlStore {
    /// Inserts many valid users of one program in one transaction with multi-row inserts
    /// (for seeding large data sets; no business links, no idempotency). Each SSN is sealed
    /// and blind-indexed exactly as by `create_user`.
    pub async fn bulk_create_users(
        &self,
        program: ProgramId,
        users: &[(UserId, NewUser)],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let now = truncate(now);
        let mut rows = Vec::with_capacity(users.len());
        let mut meta = Vec::new();
        for (id, user) in users {
            let uid = id.uuid().to_string();
            rows.push(self.user_row(program, &uid, user, now)?);
            meta.extend(meta_rows(&uid, user.profile().meta_data()));
        }
        let txn = crate::db::begin_write(&self.db).await?;
        for chunk in rows.chunks(500) {
            users::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        crate::search::USERS
            .insert_trigrams(&txn, rows.iter().filter_map(search_record))
            .await?;
        let mut per_shard = std::collections::BTreeMap::<i32, i64>::new();
        for (id, _) in users {
            *per_shard.entry(shard_of(*id)).or_default() += 1;
        }
        for (shard, n) in per_shard {
            add_to_count(&txn, program, shard, n).await?;
        }
        for chunk in meta.chunks(1000) {
            user_meta_data::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }
}
