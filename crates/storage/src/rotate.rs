//! Re-encryption under the active data key, in resumable batches (`onboard keys rotate`).

use sea_orm::{
    ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use crate::SqlStore;
use crate::businesses::ein_aad;
use crate::console::entity::console_operators;
use crate::console::totp_aad;
use crate::crypto::Sealed;
use crate::entity::{businesses, hmac_credentials, users};
use crate::error::StorageError;
use crate::programs::hmac_aad;
use crate::users::rows::ssn_aad;

/// What one call of [`SqlStore::reencrypt_batch`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RotationReport {
    /// Ciphertexts rewritten under the active key.
    pub rewritten: u64,
    /// Whether rows under other keys may remain (call again): a full batch was read, or a
    /// row changed between its read and its write.
    pub more: bool,
}

/// The encrypted columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Column {
    UserSsn,
    BusinessEin,
    HmacSecret,
    OperatorTotp,
}

/// One ciphertext read under an old key and sealed again under the active one.
#[derive(Debug)]
struct Rewrite {
    column: Column,
    id: String,
    /// The ciphertext as read: the row is rewritten only if it still holds exactly this.
    old: Vec<u8>,
    new: Sealed,
}

/// A batch read and re-sealed but not written yet (see [`SqlStore::reencrypt_batch`]).
#[derive(Debug)]
pub struct RotationPlan {
    rewrites: Vec<Rewrite>,
    more: bool,
}

impl RotationPlan {
    /// How many ciphertexts the plan would rewrite.
    pub fn len(&self) -> usize {
        self.rewrites.len()
    }

    /// Whether the plan rewrites nothing.
    pub fn is_empty(&self) -> bool {
        self.rewrites.is_empty()
    }
}

/// Reads up to `$batch` ciphertexts of one encrypted column whose key id is not `$active` and
/// seals each again under the active key, into `$plan`.
macro_rules! plan_column {
    ($store:expr, $plan:expr, $active:expr, $batch:expr, $column:expr,
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
        $plan.more |= rows.len() as u64 == $batch;
        for (id, bytes, key_id) in rows {
            let (Some(old), Some(key_id)) = (bytes, key_id) else {
                continue;
            };
            let plain = $store.keys.open(&key_id, &old, $aad(&id))?;
            let new = $store.keys.seal(&plain, $aad(&id))?;
            $plan.rewrites.push(Rewrite {
                column: $column,
                id,
                old,
                new,
            });
        }
    }};
}

/// Writes one rewrite, compare-and-swap on the ciphertext read: a row changed since (a new SSN
/// written meanwhile, another rotation) is left alone, and picked up by the next batch if it
/// is still under an old key. Answers the rows written (0 or 1).
macro_rules! write_rewrite {
    ($store:expr, $rewrite:expr, $entity:ident, $id:ident, $bytes:ident, $key:ident) => {
        $entity::Entity::update_many()
            .col_expr($entity::Column::$bytes, $rewrite.new.bytes.into())
            .col_expr($entity::Column::$key, $rewrite.new.key_id.into())
            .filter($entity::Column::$id.eq($rewrite.id))
            .filter($entity::Column::$bytes.eq($rewrite.old))
            .exec(&$store.db)
            .await?
            .rows_affected
    };
}

impl SqlStore {
    /// Rewrites up to `batch` ciphertexts per encrypted column that are not under the active
    /// key. Stateless and idempotent: interrupted at any point, the next call picks up the rows
    /// still under old keys. When it returns `more == false`, no row needs an old key any more.
    /// Each row is written only if it still holds the ciphertext read, so a concurrent write
    /// (a user's new SSN) is never overwritten with the old value.
    pub async fn reencrypt_batch(&self, batch: u64) -> Result<RotationReport, StorageError> {
        let plan = self.plan_reencryption(batch).await?;
        self.write_reencryption(plan).await
    }

    /// The read half of [`SqlStore::reencrypt_batch`]: up to `batch` ciphertexts per column,
    /// re-sealed under the active key, nothing written yet.
    pub async fn plan_reencryption(&self, batch: u64) -> Result<RotationPlan, StorageError> {
        let active = self.keys.active_key_id().to_owned();
        let mut plan = RotationPlan {
            rewrites: Vec::new(),
            more: false,
        };
        plan_column!(
            self,
            plan,
            active.clone(),
            batch,
            Column::UserSsn,
            users,
            Id,
            SsnCiphertext,
            SsnKeyId,
            ssn_aad
        );
        plan_column!(
            self,
            plan,
            active.clone(),
            batch,
            Column::BusinessEin,
            businesses,
            Id,
            EinCiphertext,
            EinKeyId,
            ein_aad
        );
        plan_column!(
            self,
            plan,
            active.clone(),
            batch,
            Column::OperatorTotp,
            console_operators,
            Id,
            TotpCiphertext,
            TotpKeyId,
            totp_aad
        );
        plan_column!(
            self,
            plan,
            active,
            batch,
            Column::HmacSecret,
            hmac_credentials,
            Username,
            SecretCiphertext,
            SecretKeyId,
            hmac_aad
        );
        Ok(plan)
    }

    /// The write half of [`SqlStore::reencrypt_batch`]: each row compare-and-swapped on the
    /// ciphertext its plan read.
    pub async fn write_reencryption(
        &self,
        plan: RotationPlan,
    ) -> Result<RotationReport, StorageError> {
        let mut report = RotationReport {
            rewritten: 0,
            more: plan.more,
        };
        for rewrite in plan.rewrites {
            let written = match rewrite.column {
                Column::UserSsn => {
                    write_rewrite!(self, rewrite, users, Id, SsnCiphertext, SsnKeyId)
                }
                Column::BusinessEin => {
                    write_rewrite!(self, rewrite, businesses, Id, EinCiphertext, EinKeyId)
                }
                Column::OperatorTotp => write_rewrite!(
                    self,
                    rewrite,
                    console_operators,
                    Id,
                    TotpCiphertext,
                    TotpKeyId
                ),
                Column::HmacSecret => write_rewrite!(
                    self,
                    rewrite,
                    hmac_credentials,
                    Username,
                    SecretCiphertext,
                    SecretKeyId
                ),
            };
            report.rewritten += written;
            // A row changed since it was read may still be under an old key: look again.
            report.more |= written == 0;
        }
        Ok(report)
    }
}
