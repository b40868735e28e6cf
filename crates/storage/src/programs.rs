//! `ProgramRepository` on SQL: programs, argon2id-hashed API keys, encrypted HMAC secrets.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, phc::PasswordHash};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use domain::ProgramId;
use sea_orm::sea_query::{Condition, Expr, Query, SelectStatement};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _,
};

use crate::SqlStore;
use crate::crypto::{Aad, CryptoError, hex};
use crate::entity::{api_keys, hmac_credentials, programs};
use crate::error::{Entity, InternalError, Problem, StorageError};
use crate::operators::{OperatorAction, record};
use crate::repo::{
    HmacCredential, IssuedCredentials, ProgramRepository, ProgramSummary, RotatedHmac,
    VerifiedApiKey,
};
use crate::secret::SecretString;
use crate::time::{from_ms, to_ms, truncate};

/// API keys look like `onb_<16 hex key id>_<43 base64url chars: 256 random bits>`.
const API_KEY_PREFIX: &str = "onb_";

fn random_bytes<const N: usize>() -> Result<[u8; N], StorageError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|_| CryptoError::Rng)?;
    Ok(out)
}

/// The associated data of an HMAC secret's ciphertext.
pub(crate) fn hmac_aad(username: &str) -> Aad<'_> {
    Aad {
        table: "hmac_credentials",
        column: "secret_ciphertext",
        row_id: username,
    }
}

/// A fresh API key: its public id, the whole key, and the argon2id hash (computed off the
/// async executor).
async fn new_api_key(
    store: &SqlStore,
) -> Result<(String, SecretString, String, String), StorageError> {
    let key_id = hex(&random_bytes::<8>()?);
    let secret = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    let key = SecretString::new(format!("{API_KEY_PREFIX}{key_id}_{secret}"));
    let digest = store.keys.blind_index("api_key", key.expose().as_bytes());
    let to_hash = key.clone();
    let hash = tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(to_hash.expose().as_bytes())
            .map(|h| h.to_string())
    })
    .await
    .map_err(|_| InternalError::Task)?
    .map_err(|_| InternalError::Hashing)?;
    Ok((key_id, key, hash, digest))
}

fn program_id(text: &str) -> Result<ProgramId, StorageError> {
    uuid::Uuid::parse_str(text)
        .map(ProgramId::from_uuid)
        .map_err(|_| StorageError::corrupt("programs.id", Problem::NotUuid))
}

/// A fresh HMAC credential of program `pid`: its row (the secret sealed), username and secret.
fn new_hmac_credential(
    store: &SqlStore,
    pid: &str,
    now: DateTime<Utc>,
) -> Result<(hmac_credentials::ActiveModel, String, SecretString), StorageError> {
    let username = format!("hm_{}", hex(&random_bytes::<8>()?));
    let secret = SecretString::new(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?));
    let sealed = store
        .keys
        .seal(secret.expose().as_bytes(), hmac_aad(&username))?;
    let row = hmac_credentials::ActiveModel {
        username: Set(username.clone()),
        program_id: Set(pid.to_owned()),
        secret_ciphertext: Set(sealed.bytes),
        secret_key_id: Set(sealed.key_id),
        created_at: Set(to_ms(now)),
        revoked_at: Set(None),
    };
    Ok((row, username, secret))
}

/// The ids of the programs that are not disabled (a subquery for the credential lookups).
fn enabled_programs() -> SelectStatement {
    Query::select()
        .column(programs::Column::Id)
        .from(programs::Entity)
        .and_where(programs::Column::DisabledAt.is_null())
        .to_owned()
}

/// HMAC credentials still valid at `now_ms`: not revoked, or revoked only in the future (a
/// rotated-out secret within its overlap).
fn hmac_valid_at(now_ms: i64) -> Condition {
    Condition::any()
        .add(hmac_credentials::Column::RevokedAt.is_null())
        .add(hmac_credentials::Column::RevokedAt.gt(now_ms))
}

/// The program `pid`, locked for the transaction's change by a no-op write (portable, as
/// `lock_user` does); `NotFound` if there is none.
async fn lock_program(
    txn: &impl ConnectionTrait,
    pid: &str,
) -> Result<programs::Model, StorageError> {
    programs::Entity::update_many()
        .col_expr(
            programs::Column::CreatedAt,
            Expr::col(programs::Column::CreatedAt),
        )
        .filter(programs::Column::Id.eq(pid))
        .exec(txn)
        .await?;
    programs::Entity::find_by_id(pid.to_owned())
        .one(txn)
        .await?
        .ok_or(StorageError::NotFound(Entity::Program))
}

/// Now, by the system clock, in storage's milliseconds: the credential lookups take no clock
/// (they run on the authenticator's cache misses), and an overlap is hours long.
fn wall_clock_ms() -> i64 {
    to_ms(Utc::now())
}

#[async_trait]
impl ProgramRepository for SqlStore {
    #[tracing::instrument(level = "debug", skip(self, by))]
    async fn create_program_by(
        &self,
        name: &str,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<IssuedCredentials, StorageError> {
        let now = truncate(now);
        let program = ProgramId::from_uuid(uuid::Uuid::now_v7());
        let pid = program.uuid().to_string();
        let (key_id, api_key, hash, digest) = new_api_key(self).await?;
        let (credential, hmac_username, hmac_secret) = new_hmac_credential(self, &pid, now)?;

        let txn = crate::db::begin_write(&self.db).await?;
        programs::Entity::insert(programs::ActiveModel {
            id: Set(pid.clone()),
            name: Set(name.to_owned()),
            created_at: Set(to_ms(now)),
            disabled_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        api_keys::Entity::insert(api_keys::ActiveModel {
            id: Set(key_id.clone()),
            program_id: Set(pid.clone()),
            hash: Set(hash),
            lookup_digest: Set(digest),
            created_at: Set(to_ms(now)),
            revoked_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        hmac_credentials::Entity::insert(credential)
            .exec_without_returning(&txn)
            .await?;
        record(&txn, by, now).await?;
        txn.commit().await?;
        Ok(IssuedCredentials {
            program_id: program,
            api_key,
            api_key_id: key_id,
            hmac_username,
            hmac_secret,
        })
    }

    async fn list_programs(&self) -> Result<Vec<ProgramSummary>, StorageError> {
        let programs = programs::Entity::find()
            .order_by_asc(programs::Column::CreatedAt)
            .all(&self.db)
            .await?;
        let keys = api_keys::Entity::find()
            .filter(api_keys::Column::RevokedAt.is_null())
            .order_by_asc(api_keys::Column::CreatedAt)
            .all(&self.db)
            .await?;
        let creds = hmac_credentials::Entity::find()
            .filter(hmac_valid_at(wall_clock_ms()))
            .order_by_asc(hmac_credentials::Column::CreatedAt)
            .all(&self.db)
            .await?;
        programs
            .into_iter()
            .map(|p| {
                Ok(ProgramSummary {
                    program_id: program_id(&p.id)?,
                    active_api_key_ids: keys
                        .iter()
                        .filter(|k| k.program_id == p.id)
                        .map(|k| k.id.clone())
                        .collect(),
                    hmac_usernames: creds
                        .iter()
                        .filter(|c| c.program_id == p.id && c.revoked_at.is_none())
                        .map(|c| c.username.clone())
                        .collect(),
                    hmac_retiring: creds
                        .iter()
                        .filter(|c| c.program_id == p.id)
                        .filter_map(|c| Some((c.username.clone(), c.revoked_at?)))
                        .map(|(username, until)| Ok((username, from_ms(until)?)))
                        .collect::<Result<_, StorageError>>()?,
                    disabled_at: p.disabled_at.map(from_ms).transpose()?,
                    created_at: from_ms(p.created_at)?,
                    name: p.name,
                })
            })
            .collect()
    }

    async fn rotate_api_key(
        &self,
        program: ProgramId,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<(String, SecretString), StorageError> {
        let pid = program.uuid().to_string();
        let (key_id, api_key, hash, digest) = new_api_key(self).await?;
        let txn = crate::db::begin_write(&self.db).await?;
        lock_program(&txn, &pid).await?;
        api_keys::Entity::update_many()
            .col_expr(api_keys::Column::RevokedAt, to_ms(now).into())
            .filter(api_keys::Column::ProgramId.eq(pid.clone()))
            .filter(api_keys::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        api_keys::Entity::insert(api_keys::ActiveModel {
            id: Set(key_id.clone()),
            program_id: Set(pid),
            hash: Set(hash),
            lookup_digest: Set(digest),
            created_at: Set(to_ms(now)),
            revoked_at: Set(None),
        })
        .exec_without_returning(&txn)
        .await?;
        record(&txn, by, now).await?;
        txn.commit().await?;
        Ok((key_id, api_key))
    }

    async fn revoke_api_key(
        &self,
        key_id: &str,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<(), StorageError> {
        let txn = crate::db::begin_write(&self.db).await?;
        let res = api_keys::Entity::update_many()
            .col_expr(api_keys::Column::RevokedAt, to_ms(now).into())
            .filter(api_keys::Column::Id.eq(key_id))
            .filter(api_keys::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            return Err(StorageError::NotFound(Entity::ApiKey));
        }
        record(&txn, by, now).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn rotate_hmac(
        &self,
        program: ProgramId,
        overlap: chrono::Duration,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<RotatedHmac, StorageError> {
        let now = truncate(now);
        let until = now + overlap.max(chrono::Duration::zero());
        let pid = program.uuid().to_string();
        let (credential, username, secret) = new_hmac_credential(self, &pid, now)?;
        let txn = crate::db::begin_write(&self.db).await?;
        lock_program(&txn, &pid).await?;
        let retiring = hmac_credentials::Entity::find()
            .filter(hmac_credentials::Column::ProgramId.eq(pid.clone()))
            .filter(hmac_valid_at(to_ms(now)))
            .order_by_asc(hmac_credentials::Column::CreatedAt)
            .order_by_asc(hmac_credentials::Column::Username)
            .all(&txn)
            .await?
            .into_iter()
            .map(|c| c.username)
            .collect();
        // Every credential valid past `until` now ends there; one ending sooner keeps its end.
        hmac_credentials::Entity::update_many()
            .col_expr(hmac_credentials::Column::RevokedAt, to_ms(until).into())
            .filter(hmac_credentials::Column::ProgramId.eq(pid))
            .filter(hmac_valid_at(to_ms(until)))
            .exec(&txn)
            .await?;
        hmac_credentials::Entity::insert(credential)
            .exec_without_returning(&txn)
            .await?;
        record(&txn, by, now).await?;
        txn.commit().await?;
        Ok(RotatedHmac {
            username,
            secret,
            retiring,
            old_valid_until: until,
        })
    }

    async fn revoke_hmac(
        &self,
        username: &str,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<(), StorageError> {
        let txn = crate::db::begin_write(&self.db).await?;
        let res = hmac_credentials::Entity::update_many()
            .col_expr(hmac_credentials::Column::RevokedAt, to_ms(now).into())
            .filter(hmac_credentials::Column::Username.eq(username))
            .filter(hmac_valid_at(to_ms(now)))
            .exec(&txn)
            .await?;
        if res.rows_affected == 0 {
            return Err(StorageError::NotFound(Entity::HmacCredential));
        }
        record(&txn, by, now).await?;
        txn.commit().await?;
        Ok(())
    }

    async fn set_program_disabled(
        &self,
        program: ProgramId,
        disabled: bool,
        now: DateTime<Utc>,
        by: &OperatorAction,
    ) -> Result<bool, StorageError> {
        let pid = program.uuid().to_string();
        let txn = crate::db::begin_write(&self.db).await?;
        let row = lock_program(&txn, &pid).await?;
        let changed = row.disabled_at.is_some() != disabled;
        if changed {
            let disabled_at = disabled.then(|| to_ms(now));
            programs::Entity::update_many()
                .col_expr(programs::Column::DisabledAt, disabled_at.into())
                .filter(programs::Column::Id.eq(pid))
                .exec(&txn)
                .await?;
        }
        record(&txn, by, now).await?;
        txn.commit().await?;
        Ok(changed)
    }

    async fn verify_api_key(
        &self,
        presented: &str,
    ) -> Result<Option<VerifiedApiKey>, StorageError> {
        if !presented.starts_with(API_KEY_PREFIX) || presented.len() > 128 {
            return Ok(None);
        }
        let digest = self.keys.blind_index("api_key", presented.as_bytes());
        let Some(row) = api_keys::Entity::find()
            .filter(api_keys::Column::LookupDigest.eq(digest))
            .filter(api_keys::Column::RevokedAt.is_null())
            .filter(api_keys::Column::ProgramId.in_subquery(enabled_programs()))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let candidate = SecretString::new(presented.to_owned());
        let hash = row.hash.clone();
        let ok = tokio::task::spawn_blocking(move || {
            PasswordHash::new(&hash).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(candidate.expose().as_bytes(), &parsed)
                    .is_ok()
            })
        })
        .await
        .map_err(|_| InternalError::Task)?;
        if !ok {
            return Ok(None);
        }
        Ok(Some(VerifiedApiKey {
            program_id: program_id(&row.program_id)?,
            key_id: row.id,
        }))
    }

    async fn api_key_active(&self, key_id: &str) -> Result<bool, StorageError> {
        Ok(api_keys::Entity::find_by_id(key_id.to_owned())
            .filter(api_keys::Column::RevokedAt.is_null())
            .filter(api_keys::Column::ProgramId.in_subquery(enabled_programs()))
            .one(&self.db)
            .await?
            .is_some())
    }

    async fn hmac_credential(
        &self,
        username: &str,
    ) -> Result<Option<HmacCredential>, StorageError> {
        let Some(row) = hmac_credentials::Entity::find_by_id(username.to_owned())
            .filter(hmac_valid_at(wall_clock_ms()))
            .filter(hmac_credentials::Column::ProgramId.in_subquery(enabled_programs()))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let plain = self.keys.open(
            &row.secret_key_id,
            &row.secret_ciphertext,
            hmac_aad(&row.username),
        )?;
        let secret = String::from_utf8(plain.to_vec()).map_err(|_| {
            StorageError::corrupt("hmac_credentials.secret_ciphertext", Problem::NotUtf8)
        })?;
        Ok(Some(HmacCredential {
            program_id: program_id(&row.program_id)?,
            secret: SecretString::new(secret),
        }))
    }
}
