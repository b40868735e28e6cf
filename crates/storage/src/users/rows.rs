//! The rows of a user: built from a valid `NewUser` (the SSN sealed for its row and
//! blind-indexed per program), read back through the domain's constructors, and the
//! program's sharded user count kept with them.

use chrono::{DateTime, Utc};
use domain::screening::ScreeningStatus;
use domain::search::{SearchText, fold};
use domain::{NewUser, Profile, ProgramId, RawMetaEntry, RawNewUser, User, UserId, UserRecord};
use sea_orm::sea_query::{Expr, ExprTrait as _, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _,
};

use crate::SqlStore;
use crate::crypto::Aad;
use crate::entity::{program_user_counts, user_meta_data, users};
use crate::error::{Problem, StorageError};
use crate::time::{from_ms, to_ms};

/// The associated data of a user's SSN ciphertext.
pub(crate) fn ssn_aad(user_id: &str) -> Aad<'_> {
    Aad {
        table: "users",
        column: "ssn_ciphertext",
        row_id: user_id,
    }
}

/// The blind-index label of SSNs in one program (indexes do not link programs).
pub(crate) fn ssn_label(program: ProgramId) -> String {
    format!("ssn:{}", program.uuid())
}

/// A stored id column back to its UUID.
pub(crate) fn uuid_of(text: &str, column: &'static str) -> Result<uuid::Uuid, StorageError> {
    uuid::Uuid::parse_str(text).map_err(|_| StorageError::corrupt(column, Problem::NotUuid))
}

impl SqlStore {
    /// The `users` row of a new user: SSN sealed for this row and blind-indexed per program.
    pub(crate) fn user_row(
        &self,
        program: ProgramId,
        id: &str,
        user: &NewUser,
        now: DateTime<Utc>,
    ) -> Result<users::ActiveModel, StorageError> {
        let profile = user.profile();
        let address = profile.address();
        let ssn = match user.ssn() {
            Some(ssn) => {
                let digits = ssn.expose_digits().as_bytes();
                let sealed = self.keys.seal(digits, ssn_aad(id))?;
                let index = self.keys.blind_index(&ssn_label(program), digits);
                Some((sealed, index, ssn.last4()))
            }
            None => None,
        };
        Ok(users::ActiveModel {
            id: Set(id.to_owned()),
            program_id: Set(program.uuid().to_string()),
            first_name: Set(profile.first_name().as_str().to_owned()),
            middle_name: Set(profile.middle_name().map(|n| n.as_str().to_owned())),
            last_name: Set(profile.last_name().as_str().to_owned()),
            email: Set(profile.email().as_str().to_owned()),
            email_key: Set(profile.email().unique_key()),
            phone_number: Set(profile.phone_number().as_str().to_owned()),
            address_one: Set(address.line_one().as_str().to_owned()),
            address_two: Set(address.line_two().map(|l| l.as_str().to_owned())),
            city: Set(address.city().as_str().to_owned()),
            state: Set(address.state().as_str().to_owned()),
            country: Set(address.country().as_str().to_owned()),
            postal_code: Set(address.postal_code().as_str().to_owned()),
            username: Set(profile.username().map(|u| u.as_str().to_owned())),
            username_key: Set(profile.username().map(domain::Username::unique_key)),
            date_of_birth: Set(profile.date_of_birth().map(|d| d.to_iso())),
            ssn_last_4: Set(ssn.as_ref().map(|(_, _, l4)| l4.as_str().to_owned())),
            ssn_blind_index: Set(ssn.as_ref().map(|(_, index, _)| index.clone())),
            ssn_key_id: Set(ssn.as_ref().map(|(s, _, _)| s.key_id.clone())),
            ssn_ciphertext: Set(ssn.map(|(s, _, _)| s.bytes)),
            terms_accepted_at: Set(user.terms_accepted().then(|| to_ms(now))),
            status: Set(domain::UserStatus::Active.as_str().to_owned()),
            kyc_status: Set(domain::KycStatus::NotStarted.as_str().to_owned()),
            created_at: Set(to_ms(now)),
            updated_at: Set(to_ms(now)),
            search_text: Set(user_search_text(profile).into()),
            first_name_folded: Set(fold(profile.first_name().as_str())),
            last_name_folded: Set(fold(profile.last_name().as_str())),
            screening_status: Set(ScreeningStatus::NotScreened.as_str().to_owned()),
        })
    }
}

/// The stored search text of a person (see `crate::search`).
pub(crate) fn user_search_text(p: &Profile) -> SearchText {
    SearchText::person(
        p.first_name().as_str(),
        p.last_name().as_str(),
        p.email().as_str(),
        p.username().map(domain::Username::as_str),
        p.phone_number().as_str(),
    )
}

/// The meta_data rows of a user, in order.
pub(crate) fn meta_rows(
    user_id: &str,
    meta: &domain::MetaData,
) -> Vec<user_meta_data::ActiveModel> {
    meta.entries()
        .iter()
        .enumerate()
        .map(|(i, e)| user_meta_data::ActiveModel {
            user_id: Set(user_id.to_owned()),
            position: Set(i32::try_from(i).unwrap_or(i32::MAX)),
            name: Set(e.name().as_str().to_owned()),
            value: Set(e.value().as_str().to_owned()),
        })
        .collect()
}

/// Rebuilds a `User` from its row and its meta_data rows, read on `db`.
pub(crate) async fn load_user(
    db: &impl ConnectionTrait,
    program: ProgramId,
    row: users::Model,
) -> Result<User, StorageError> {
    let meta = user_meta_data::Entity::find()
        .filter(user_meta_data::Column::UserId.eq(row.id.clone()))
        .order_by_asc(user_meta_data::Column::Position)
        .all(db)
        .await?;
    user_from_rows(program, row, meta)
}

/// Rebuilds users from their rows (of any programs), their meta_data read in one statement;
/// in the rows' order.
pub(crate) async fn with_meta(
    db: &impl ConnectionTrait,
    rows: Vec<users::Model>,
) -> Result<Vec<User>, StorageError> {
    let mut meta: std::collections::HashMap<String, Vec<user_meta_data::Model>> =
        std::collections::HashMap::new();
    if !rows.is_empty() {
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        for m in user_meta_data::Entity::find()
            .filter(user_meta_data::Column::UserId.is_in(ids))
            .order_by_asc(user_meta_data::Column::UserId)
            .order_by_asc(user_meta_data::Column::Position)
            .all(db)
            .await?
        {
            meta.entry(m.user_id.clone()).or_default().push(m);
        }
    }
    rows.into_iter()
        .map(|row| {
            let program = ProgramId::from_uuid(uuid_of(&row.program_id, "users.program_id")?);
            let m = meta.remove(&row.id).unwrap_or_default();
            user_from_rows(program, row, m)
        })
        .collect()
}

/// The users of `ids` (of any programs), in that order; an id without a user is left out.
pub(crate) async fn by_ids(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> Result<Vec<User>, StorageError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut rows: std::collections::HashMap<String, users::Model> = users::Entity::find()
        .filter(users::Column::Id.is_in(ids.iter().cloned()))
        .all(db)
        .await?
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    let ordered = ids.iter().filter_map(|id| rows.remove(id)).collect();
    with_meta(db, ordered).await
}

/// Rebuilds a `User` from its row and its meta_data rows through the domain's rules (a
/// corrupt row is an error, not an invalid value).
pub(crate) fn user_from_rows(
    program: ProgramId,
    row: users::Model,
    meta: Vec<user_meta_data::Model>,
) -> Result<User, StorageError> {
    let record = UserRecord {
        id: UserId::from_uuid(uuid_of(&row.id, "users.id")?),
        program_id: program,
        details: RawNewUser {
            first_name: Some(row.first_name),
            middle_name: row.middle_name,
            last_name: Some(row.last_name),
            email: Some(row.email),
            phone_number: Some(row.phone_number),
            address_one: Some(row.address_one),
            address_two: row.address_two,
            city: Some(row.city),
            state: Some(row.state),
            country: Some(row.country),
            postal_code: Some(row.postal_code),
            username: row.username,
            date_of_birth: row.date_of_birth,
            meta_data: Some(
                meta.into_iter()
                    .map(|m| RawMetaEntry {
                        name: Some(m.name),
                        value: Some(m.value),
                    })
                    .collect(),
            ),
            ..RawNewUser::default()
        },
        ssn_last_4: row.ssn_last_4,
        terms_accepted_at: row.terms_accepted_at.map(from_ms).transpose()?,
        status: row.status,
        kyc_status: row.kyc_status,
        screening_status: row.screening_status,
        created_at: from_ms(row.created_at)?,
        updated_at: from_ms(row.updated_at)?,
    };
    User::restore(&record).map_err(|e| StorageError::corrupt("users", e))
}

/// Shards of a program's user count: concurrent creates rarely touch the same row.
const COUNT_SHARDS: u128 = 16;

/// The counter shard of a user.
pub(crate) fn shard_of(id: UserId) -> i32 {
    i32::try_from(id.uuid().as_u128() % COUNT_SHARDS).unwrap_or(0)
}

/// Adds `n` to a program's user count on `shard`, in the caller's transaction.
pub(crate) async fn add_to_count(
    txn: &impl ConnectionTrait,
    program: ProgramId,
    shard: i32,
    n: i64,
) -> Result<(), StorageError> {
    let row = program_user_counts::ActiveModel {
        program_id: Set(program.uuid().to_string()),
        shard: Set(shard),
        users: Set(n),
    };
    program_user_counts::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                program_user_counts::Column::ProgramId,
                program_user_counts::Column::Shard,
            ])
            .value(
                program_user_counts::Column::Users,
                Expr::col((
                    program_user_counts::Entity,
                    program_user_counts::Column::Users,
                ))
                .add(n),
            )
            .to_owned(),
        )
        .exec_without_returning(txn)
        .await?;
    Ok(())
}

/// The number of users of a program, from its counter shards.
pub(crate) async fn count_users(
    db: &impl ConnectionTrait,
    program: ProgramId,
) -> Result<u64, StorageError> {
    let shards: Vec<i64> = program_user_counts::Entity::find()
        .select_only()
        .column(program_user_counts::Column::Users)
        .filter(program_user_counts::Column::ProgramId.eq(program.uuid().to_string()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(u64::try_from(shards.iter().sum::<i64>()).unwrap_or(0))
}
