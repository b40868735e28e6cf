//! The key check (SPEC §5): the database keeps, for each data key id and for the blind-index
//! key, a MAC of a constant under that key — never the key. A start whose keys do not match
//! what the database was written with is refused before it serves anything, instead of
//! discovering the mismatch as a 500 on live traffic.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, PaginatorTrait as _,
    QueryFilter as _,
};

use crate::SqlStore;
use crate::entity::{businesses, hmac_credentials, key_checks, programs, users};
use crate::error::StorageError;
use crate::time::to_ms;

/// The row id of the blind-index key's check (data key ids are 1–32 of `A-Za-z0-9_-`, and
/// this one is reserved for it).
pub const BLIND_INDEX_CHECK_ID: &str = "blind-index";

/// How the configured keys differ from what the database was written with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyMismatch {
    /// A configured data key has the id of another key the database was written with.
    #[error(
        "data key {0} is not the key with that id this database was written with: configure \
         the original key (key file or ONBOARD_DATA_KEYS); a key file created elsewhere for \
         the same database does not fit"
    )]
    Differs(String),
    /// The configured blind-index key is another.
    #[error(
        "the blind-index key is not the one this database was written with: configure the \
         original key (key file or ONBOARD_BLIND_INDEX_KEY)"
    )]
    BlindIndexDiffers,
    /// Data sealed under a key id that is not configured.
    #[error(
        "data key {0} sealed data in this database but is not configured: add it to the key \
         file or ONBOARD_DATA_KEYS (run `onboard keys rotate` before removing a key)"
    )]
    Missing(String),
}

/// Whether the database holds anything written under keys (a program, or a key check): then
/// keys must come from configuration and are never generated.
pub async fn holds_sealed_data(db: &impl ConnectionTrait) -> Result<bool, StorageError> {
    let checks = key_checks::Entity::find().count(db).await?;
    let programs = programs::Entity::find().count(db).await?;
    Ok(checks > 0 || programs > 0)
}

impl SqlStore {
    /// Compares the keyring with the key checks the database holds, and records the checks of
    /// keys it does not know yet (a first start, a key added for rotation). Nothing is
    /// recorded when any key differs.
    pub async fn check_keys(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Result<(), KeyMismatch>, StorageError> {
        let rows = key_checks::Entity::find().all(&self.db).await?;
        let blind = self.keys.blind_key_check();
        let mut unknown = Vec::new();
        if let Some(row) = rows.iter().find(|r| r.key_id == BLIND_INDEX_CHECK_ID) {
            if row.check_mac != blind {
                return Ok(Err(KeyMismatch::BlindIndexDiffers));
            }
        } else {
            unknown.push((BLIND_INDEX_CHECK_ID.to_owned(), "blind_index", blind));
        }
        for key_id in self.keys.key_ids() {
            match rows.iter().find(|r| r.key_id == key_id) {
                Some(row) if self.keys.matches_key_check(key_id, &row.check_mac) => {}
                Some(_) => return Ok(Err(KeyMismatch::Differs(key_id.to_owned()))),
                None => unknown.push((key_id.to_owned(), "data", self.keys.key_check(key_id)?)),
            }
        }
        for row in &rows {
            let configured = row.key_id == BLIND_INDEX_CHECK_ID
                || self.keys.key_ids().any(|id| id == row.key_id);
            if !configured && sealed_under(&self.db, &row.key_id).await? {
                return Ok(Err(KeyMismatch::Missing(row.key_id.clone())));
            }
        }
        for (key_id, purpose, check) in unknown {
            let row = key_checks::ActiveModel {
                key_id: Set(key_id.clone()),
                purpose: Set(purpose.to_owned()),
                check_mac: Set(check),
                created_at: Set(to_ms(now)),
            };
            if let Err(e) = key_checks::Entity::insert(row)
                .exec_without_returning(&self.db)
                .await
            {
                let e = StorageError::from(e);
                if !e.is_duplicate() {
                    return Err(e);
                }
                // Another instance recorded it meanwhile: compare with what it recorded.
                return Box::pin(self.check_keys(now)).await;
            }
        }
        Ok(Ok(()))
    }
}

/// Whether any stored secret is sealed under `key_id`.
async fn sealed_under(db: &impl ConnectionTrait, key_id: &str) -> Result<bool, StorageError> {
    let users = users::Entity::find()
        .filter(users::Column::SsnKeyId.eq(key_id))
        .count(db)
        .await?;
    let businesses = businesses::Entity::find()
        .filter(businesses::Column::EinKeyId.eq(key_id))
        .count(db)
        .await?;
    let credentials = hmac_credentials::Entity::find()
        .filter(hmac_credentials::Column::SecretKeyId.eq(key_id))
        .count(db)
        .await?;
    let operators = crate::console::entity::console_operators::Entity::find()
        .filter(crate::console::entity::console_operators::Column::TotpKeyId.eq(key_id))
        .count(db)
        .await?;
    Ok(users + businesses + credentials + operators > 0)
}
