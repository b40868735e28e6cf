//! Re-encryption under the active data key, in resumable batches (`onboard keys rotate`).

use sea_orm::{
    ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use crate::SqlStore;
use crate::businesses::ein_aad;
use crate::entity::{businesses, hmac_credentials, users};
use crate::error::StorageError;
use crate::programs::hmac_aad;
use crate::users::ssn_aad;

/// What one call of [`SqlStore::reencrypt_batch`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Ciphertexts rewritten under the active key.
    pub rewritten: u64,
    /// Whether rows under other keys may remain (call again).
    pub more: bool,
}

impl SqlStore {
    /// Rewrites up to `batch` ciphertexts per encrypted column that are not under the active
    /// key. Stateless and idempotent: interrupted at any point, the next call picks up the rows
    /// still under old keys. When it returns `more == false`, no row needs an old key any more.
    pub async fn reencrypt_batch(&self, batch: u64) -> Result<RotationReport, StorageError> {
        let active = self.keys.active_key_id().to_owned();
        let mut report = RotationReport::default();

        let rows: Vec<(String, Option<Vec<u8>>, Option<String>)> = users::Entity::find()
            .select_only()
            .columns([
                users::Column::Id,
                users::Column::SsnCiphertext,
                users::Column::SsnKeyId,
            ])
            .filter(users::Column::SsnKeyId.is_not_null())
            .filter(users::Column::SsnKeyId.ne(active.clone()))
            .order_by_asc(users::Column::Id)
            .limit(batch)
            .into_tuple()
            .all(&self.db)
            .await?;
        report.more |= rows.len() as u64 == batch;
        for (id, bytes, key_id) in rows {
            let (Some(bytes), Some(key_id)) = (bytes, key_id) else {
                continue;
            };
            let plain = self.keys.open(&key_id, &bytes, ssn_aad(&id))?;
            let sealed = self.keys.seal(&plain, ssn_aad(&id))?;
            let res = users::Entity::update_many()
                .col_expr(users::Column::SsnCiphertext, sealed.bytes.into())
                .col_expr(users::Column::SsnKeyId, sealed.key_id.into())
                .filter(users::Column::Id.eq(id))
                .filter(users::Column::SsnKeyId.eq(key_id))
                .exec(&self.db)
                .await?;
            report.rewritten += res.rows_affected;
        }

        let rows: Vec<(String, Vec<u8>, String)> = businesses::Entity::find()
            .select_only()
            .columns([
                businesses::Column::Id,
                businesses::Column::EinCiphertext,
                businesses::Column::EinKeyId,
            ])
            .filter(businesses::Column::EinKeyId.ne(active.clone()))
            .order_by_asc(businesses::Column::Id)
            .limit(batch)
            .into_tuple()
            .all(&self.db)
            .await?;
        report.more |= rows.len() as u64 == batch;
        for (id, bytes, key_id) in rows {
            let plain = self.keys.open(&key_id, &bytes, ein_aad(&id))?;
            let sealed = self.keys.seal(&plain, ein_aad(&id))?;
            let res = businesses::Entity::update_many()
                .col_expr(businesses::Column::EinCiphertext, sealed.bytes.into())
                .col_expr(businesses::Column::EinKeyId, sealed.key_id.into())
                .filter(businesses::Column::Id.eq(id))
                .filter(businesses::Column::EinKeyId.eq(key_id))
                .exec(&self.db)
                .await?;
            report.rewritten += res.rows_affected;
        }

        let rows: Vec<(String, Vec<u8>, String)> = hmac_credentials::Entity::find()
            .select_only()
            .columns([
                hmac_credentials::Column::Username,
                hmac_credentials::Column::SecretCiphertext,
                hmac_credentials::Column::SecretKeyId,
            ])
            .filter(hmac_credentials::Column::SecretKeyId.ne(active))
            .order_by_asc(hmac_credentials::Column::Username)
            .limit(batch)
            .into_tuple()
            .all(&self.db)
            .await?;
        report.more |= rows.len() as u64 == batch;
        for (username, bytes, key_id) in rows {
            let plain = self.keys.open(&key_id, &bytes, hmac_aad(&username))?;
            let sealed = self.keys.seal(&plain, hmac_aad(&username))?;
            let res = hmac_credentials::Entity::update_many()
                .col_expr(
                    hmac_credentials::Column::SecretCiphertext,
                    sealed.bytes.into(),
                )
                .col_expr(hmac_credentials::Column::SecretKeyId, sealed.key_id.into())
                .filter(hmac_credentials::Column::Username.eq(username))
                .filter(hmac_credentials::Column::SecretKeyId.eq(key_id))
                .exec(&self.db)
                .await?;
            report.rewritten += res.rows_affected;
        }
        Ok(report)
    }
}
