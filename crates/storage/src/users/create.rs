//! Creating users: a create is prepared (rows built, SSN sealed, answer rendered) and handed
//! to the group commit (`group.rs`), which writes it alone or in a batch with others.

use chrono::{DateTime, Utc};
use domain::{NewUser, ProgramId, User, UserId};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    TransactionTrait as _,
};

use super::rows::{add_to_count, meta_rows, shard_of};
use crate::SqlStore;
use crate::along::{Along, Outcome, RenderedCompletion, rollback};
use crate::entity::{business_contacts, businesses, user_meta_data, users};
use crate::error::{Reference, StorageError};
use crate::replay::Signature;
use crate::repo::NewUserIds;
use crate::time::{to_ms, truncate};

/// A create ready to write: its rows built (SSN sealed, blind index computed), its replay
/// record and idempotency completion owned, so that it can wait in a batch.
pub(crate) struct PreparedCreate {
    program: ProgramId,
    /// The count shard of the new user.
    shard: i32,
    user: users::ActiveModel,
    meta: Vec<user_meta_data::ActiveModel>,
    contact: Option<business_contacts::ActiveModel>,
    business_id: Option<String>,
    /// The replay guard's record written with it, if any.
    pub(crate) first_use: Option<Signature>,
    completion: Option<RenderedCompletion>,
}

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
    };
    Ok(if store.create_grouped(prepared).await? {
        Outcome::Written(user)
    } else {
        Outcome::Replayed
    })
}

impl SqlStore {
    /// One create in its own transaction. `Ok(false)`: a replayed signature, nothing written.
    pub(crate) async fn create_alone(&self, create: &PreparedCreate) -> Result<bool, StorageError> {
        let Some(txn) = self.begin_once(create.first_use.as_ref()).await? else {
            return Ok(false);
        };
        match insert_batch(&txn, &[create]).await {
            Ok(()) => {
                txn.commit().await?;
                Ok(true)
            }
            Err(e) => {
                rollback(txn).await;
                Err(e)
            }
        }
    }

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
        let txn = self.db.begin().await?;
        for chunk in rows.chunks(500) {
            users::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
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

/// Writes the rows of `creates` on `txn` (not their replay records: the caller writes those
/// first), with one multi-row insert per table, and completes their idempotency keys. Fails
/// as a whole.
pub(crate) async fn insert_batch(
    txn: &impl ConnectionTrait,
    creates: &[&PreparedCreate],
) -> Result<(), StorageError> {
    users::Entity::insert_many(creates.iter().map(|c| c.user.clone()))
        .exec_without_returning(txn)
        .await?;
    // One count row per program in the batch (the shard of its first user), in program
    // order, so that concurrent batches lock count rows in the same order.
    let mut per_program = std::collections::BTreeMap::<String, (ProgramId, i32, i64)>::new();
    for c in creates {
        per_program
            .entry(c.program.uuid().to_string())
            .or_insert((c.program, c.shard, 0))
            .2 += 1;
    }
    for (program, shard, n) in per_program.into_values() {
        add_to_count(txn, program, shard, n).await?;
    }
    let meta: Vec<_> = creates
        .iter()
        .flat_map(|c| c.meta.iter().cloned())
        .collect();
    if !meta.is_empty() {
        user_meta_data::Entity::insert_many(meta)
            .exec_without_returning(txn)
            .await?;
    }
    for c in creates {
        if let (Some(contact), Some(business_id)) = (&c.contact, &c.business_id) {
            let found = businesses::Entity::find_by_id(business_id.clone())
                .filter(businesses::Column::ProgramId.eq(c.program.uuid().to_string()))
                .one(txn)
                .await?;
            if found.is_none() {
                return Err(StorageError::MissingReference(Reference::BusinessId));
            }
            business_contacts::Entity::insert(contact.clone())
                .exec_without_returning(txn)
                .await?;
        }
    }
    for c in creates {
        if let Some(completion) = &c.completion {
            completion.write(txn, c.program).await?;
        }
    }
    Ok(())
}
