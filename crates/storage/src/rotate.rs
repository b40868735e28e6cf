//! Re-encryption under the active data key, in resumable batches (`onboard keys rotate`).

use sea_orm::{
    ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use crate::SqlStore;
use crate::businesses::ein_aad;
use crate::entity::{businesses, hmac_credentials, users};
use crate::error::StorageError;
use crate::programs::hmac_aad;
use crate::users::rows::ssn_aad;

/// What one call of [`SqlStore::reencrypt_batch`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Ciphertexts rewritten under the active key.
    pub rewritten: u64,
    /// Whether rows under other keys may remain (call again).
    pub more: bool,
}

/// Rewrites up to `$batch` ciphertexts of one encrypted column whose key id is not `$active`.
/// Each row is updated only if its key id is still the one read (optimistic), so concurrent
/// rotations or writes never lose data.
macro_rules! rotate_column {
    ($store:expr, $report:expr, $active:expr, $batch:expr,
     $entity:ident, $id:ident, $bytes:ident, $key:ident, $aad:path) => {{
        let rows: Vec<(String, Option<Vec<u8>>, Option<String>)> = $entity::Entity::find()
            .select_only()
            .columns([
                $entity::Column::$id,
                $entity::Column::$bytes,
                $entity::Column::$key,
            ])
            .filter($entity::Column::$key.is_not_null())
            .filter($entity::Column::$key.ne($active))
            .order_by_asc($entity::Column::$id)
            .limit($batch)
            .into_tuple()
            .all(&$store.db)
            .await?;
        $report.more |= rows.len() as u64 == $batch;
        for (id, bytes, key_id) in rows {
            let (Some(bytes), Some(key_id)) = (bytes, key_id) else {
                continue;
            };
            let plain = $store.keys.open(&key_id, &bytes, $aad(&id))?;
            let sealed = $store.keys.seal(&plain, $aad(&id))?;
            let res = $entity::Entity::update_many()
                .col_expr($entity::Column::$bytes, sealed.bytes.into())
                .col_expr($entity::Column::$key, sealed.key_id.into())
                .filter($entity::Column::$id.eq(id))
                .filter($entity::Column::$key.eq(key_id))
                .exec(&$store.db)
                .await?;
            $report.rewritten += res.rows_affected;
        }
    }};
}

impl SqlStore {
    /// Rewrites up to `batch` ciphertexts per encrypted column that are not under the active
    /// key. Stateless and idempotent: interrupted at any point, the next call picks up the rows
    /// still under old keys. When it returns `more == false`, no row needs an old key any more.
    pub async fn reencrypt_batch(&self, batch: u64) -> Result<RotationReport, StorageError> {
        let active = self.keys.active_key_id().to_owned();
        let mut report = RotationReport::default();
        rotate_column!(
            self,
            report,
            active.clone(),
            batch,
            users,
            Id,
            SsnCiphertext,
            SsnKeyId,
            ssn_aad
        );
        rotate_column!(
            self,
            report,
            active.clone(),
            batch,
            businesses,
            Id,
            EinCiphertext,
            EinKeyId,
            ein_aad
        );
        rotate_column!(
            self,
            report,
            active,
            batch,
            hmac_credentials,
            Username,
            SecretCiphertext,
            SecretKeyId,
            hmac_aad
        );
        Ok(report)
    }
}
