//! `UserRepository` on SQL: one transaction writes the user, its meta_data and its contact.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    NewUser, ProgramId, RawMetaEntry, RawNewUser, User, UserChange, UserId, UserQuery, UserRecord,
    UserSort,
};
use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, TransactionTrait as _,
};
use sea_orm::{Condition, PaginatorTrait as _, QuerySelect as _};

use crate::SqlStore;
use crate::crypto::Aad;
use crate::entity::{
    business_contacts, businesses, program_user_counts, user_events, user_meta_data, users,
};
use crate::error::StorageError;
use crate::group::Signature;
use crate::repo::{
    Audit, Completion, FirstUse, NewUserIds, Page, RenderedCompletion, UserEvent, UserRepository,
};
use crate::time::{from_ms, to_ms, truncate};

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

#[async_trait]
impl UserRepository for SqlStore {
    async fn create_user(
        &self,
        program: ProgramId,
        ids: NewUserIds,
        user: &NewUser,
        now: DateTime<Utc>,
        completion: Option<Completion<'_>>,
    ) -> Result<User, StorageError> {
        // Without a signature to record, there is no replay to refuse: always `Some`.
        self.create_user_in(program, ids, user, now, completion, None)
            .await?
            .ok_or_else(|| StorageError::Corrupt("a create returned no user".into()))
    }

    #[tracing::instrument(level = "debug", skip(self, audit, completion), fields(program = %program, user = %id, ?change))]
    async fn change_user(
        &self,
        program: ProgramId,
        id: UserId,
        change: UserChange,
        audit: Audit<'_>,
        now: DateTime<Utc>,
        completion: Option<RenderedCompletion<'_>>,
    ) -> Result<User, StorageError> {
        let now = truncate(now);
        let uid = id.uuid().to_string();
        let pid = program.uuid().to_string();
        let txn = self.db.begin().await?;
        // Lock the row first with a no-op write: SQLite takes its write lock now (instead of
        // failing a later read-to-write upgrade), PostgreSQL and MariaDB lock the row.
        let locked = users::Entity::update_many()
            .col_expr(
                users::Column::UpdatedAt,
                Expr::col(users::Column::UpdatedAt),
            )
            .filter(users::Column::Id.eq(uid.clone()))
            .filter(users::Column::ProgramId.eq(pid.clone()))
            .exec(&txn)
            .await?;
        if locked.rows_affected == 0 {
            return Err(StorageError::NotFound("user"));
        }
        let row = users::Entity::find_by_id(uid.clone())
            .one(&txn)
            .await?
            .ok_or(StorageError::NotFound("user"))?;
        let mut user = load_user(&txn, program, row).await?;
        let transition = user.apply(change, now)?;
        users::Entity::update_many()
            .col_expr(users::Column::Status, user.status().as_str().into())
            .col_expr(users::Column::KycStatus, user.kyc_status().as_str().into())
            .col_expr(users::Column::UpdatedAt, to_ms(user.updated_at()).into())
            .filter(users::Column::Id.eq(uid.clone()))
            .exec(&txn)
            .await?;
        user_events::Entity::insert(user_events::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            program_id: Set(pid),
            user_id: Set(uid),
            kind: Set(transition.kind.to_owned()),
            from_state: Set(transition.from.to_owned()),
            to_state: Set(transition.to.to_owned()),
            reason: Set(audit.reason.map(ToOwned::to_owned)),
            actor: Set(audit.actor.chars().take(64).collect()),
            created_at: Set(to_ms(now)),
        })
        .exec_without_returning(&txn)
        .await?;
        if let Some(c) = completion {
            let body = (c.render)(&user);
            crate::guards::complete_in(
                &txn,
                program,
                Completion {
                    key: c.key,
                    claimed_at: c.claimed_at,
                    status: 200,
                    body: &body,
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok(user)
    }

    #[tracing::instrument(level = "debug", skip(self, raw, ctx, completion), fields(program = %program, user = %id))]
    async fn update_user(
        &self,
        program: ProgramId,
        id: UserId,
        raw: &RawNewUser,
        ctx: domain::ParseContext,
        now: DateTime<Utc>,
        completion: Option<RenderedCompletion<'_>>,
    ) -> Result<User, StorageError> {
        let now = truncate(now);
        let uid = id.uuid().to_string();
        let txn = self.db.begin().await?;
        let row = lock_user(&txn, program, &uid).await?;
        let current = load_user(&txn, program, row).await?;
        let (user, ssn) = current.update(raw, ctx, now)?;
        let p = user.profile();
        let a = p.address();
        let mut update = users::Entity::update_many()
            .col_expr(users::Column::FirstName, p.first_name().as_str().into())
            .col_expr(
                users::Column::MiddleName,
                p.middle_name().map(|n| n.as_str().to_owned()).into(),
            )
            .col_expr(users::Column::LastName, p.last_name().as_str().into())
            .col_expr(users::Column::PhoneNumber, p.phone_number().as_str().into())
            .col_expr(users::Column::AddressOne, a.line_one().as_str().into())
            .col_expr(
                users::Column::AddressTwo,
                a.line_two().map(|l| l.as_str().to_owned()).into(),
            )
            .col_expr(users::Column::City, a.city().as_str().into())
            .col_expr(users::Column::State, a.state().as_str().into())
            .col_expr(users::Column::Country, a.country().as_str().into())
            .col_expr(users::Column::PostalCode, a.postal_code().as_str().into())
            .col_expr(
                users::Column::Username,
                p.username().map(|u| u.as_str().to_owned()).into(),
            )
            .col_expr(
                users::Column::UsernameKey,
                p.username().map(domain::Username::unique_key).into(),
            )
            .col_expr(
                users::Column::DateOfBirth,
                p.date_of_birth().map(|d| d.to_iso()).into(),
            )
            .col_expr(
                users::Column::TermsAcceptedAt,
                user.terms_accepted_at().map(to_ms).into(),
            )
            .col_expr(users::Column::UpdatedAt, to_ms(user.updated_at()).into());
        if let Some(ssn) = &ssn {
            let digits = ssn.expose_digits().as_bytes();
            let sealed = self.keys.seal(digits, ssn_aad(&uid))?;
            update = update
                .col_expr(users::Column::SsnCiphertext, sealed.bytes.into())
                .col_expr(users::Column::SsnKeyId, sealed.key_id.into())
                .col_expr(
                    users::Column::SsnBlindIndex,
                    self.keys.blind_index(&ssn_label(program), digits).into(),
                )
                .col_expr(users::Column::SsnLast4, ssn.last4().as_str().into());
        }
        update
            .filter(users::Column::Id.eq(uid.clone()))
            .exec(&txn)
            .await?;
        if raw.meta_data.is_some() {
            user_meta_data::Entity::delete_many()
                .filter(user_meta_data::Column::UserId.eq(uid.clone()))
                .exec(&txn)
                .await?;
            let meta = meta_rows(&uid, p.meta_data());
            if !meta.is_empty() {
                user_meta_data::Entity::insert_many(meta)
                    .exec_without_returning(&txn)
                    .await?;
            }
        }
        if let Some(c) = completion {
            let body = (c.render)(&user);
            crate::guards::complete_in(
                &txn,
                program,
                Completion {
                    key: c.key,
                    claimed_at: c.claimed_at,
                    status: 200,
                    body: &body,
                },
            )
            .await?;
        }
        txn.commit().await?;
        Ok(user)
    }

    async fn user_events(
        &self,
        program: ProgramId,
        id: UserId,
    ) -> Result<Vec<UserEvent>, StorageError> {
        user_events::Entity::find()
            .filter(user_events::Column::UserId.eq(id.uuid().to_string()))
            .filter(user_events::Column::ProgramId.eq(program.uuid().to_string()))
            .order_by_asc(user_events::Column::CreatedAt)
            .order_by_asc(user_events::Column::Id)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|e| {
                Ok(UserEvent {
                    at: from_ms(e.created_at)?,
                    kind: e.kind,
                    from: e.from_state,
                    to: e.to_state,
                    reason: e.reason,
                    actor: e.actor,
                })
            })
            .collect()
    }

    async fn user_program(&self, id: UserId) -> Result<Option<ProgramId>, StorageError> {
        let program: Option<String> = users::Entity::find_by_id(id.uuid().to_string())
            .select_only()
            .column(users::Column::ProgramId)
            .into_tuple()
            .one(&self.db)
            .await?;
        program
            .map(|p| {
                uuid::Uuid::parse_str(&p)
                    .map(ProgramId::from_uuid)
                    .map_err(|_| StorageError::Corrupt("users.program_id".into()))
            })
            .transpose()
    }

    async fn pending_kyc(&self, limit: u64) -> Result<Vec<(ProgramId, UserId)>, StorageError> {
        let rows: Vec<(String, String)> = users::Entity::find()
            .select_only()
            .column(users::Column::ProgramId)
            .column(users::Column::Id)
            .filter(users::Column::KycStatus.eq(domain::KycStatus::Pending.as_str()))
            .order_by_asc(users::Column::UpdatedAt)
            .limit(limit)
            .into_tuple()
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|(p, u)| {
                let p = uuid::Uuid::parse_str(&p)
                    .map_err(|_| StorageError::Corrupt("users.program_id".into()))?;
                let u = uuid::Uuid::parse_str(&u)
                    .map_err(|_| StorageError::Corrupt("users.id".into()))?;
                Ok((ProgramId::from_uuid(p), UserId::from_uuid(u)))
            })
            .collect()
    }

    #[tracing::instrument(level = "debug", skip(self, query), fields(program = %program))]
    async fn list_users(
        &self,
        program: ProgramId,
        query: &UserQuery,
    ) -> Result<Page<User>, StorageError> {
        self.list_users_impl(program, query).await
    }

    #[tracing::instrument(level = "debug", skip(self), fields(program = %program, user = %id))]
    async fn get_user(&self, program: ProgramId, id: UserId) -> Result<Option<User>, StorageError> {
        // One statement: the row and its meta_data rows, joined (each statement on the pool
        // also costs a round trip when its connection is returned).
        use sea_orm::{EntityTrait as _, JoinType, QuerySelect as _};
        let meta_of_user: sea_orm::RelationDef = user_meta_data::Entity::belongs_to(users::Entity)
            .from(user_meta_data::Column::UserId)
            .to(users::Column::Id)
            .into();
        let rows = users::Entity::find_by_id(id.uuid().to_string())
            .filter(users::Column::ProgramId.eq(program.uuid().to_string()))
            .join_rev(JoinType::LeftJoin, meta_of_user)
            .select_also(user_meta_data::Entity)
            .order_by_asc(user_meta_data::Column::Position)
            .all(&self.db)
            .await?;
        let mut rows = rows.into_iter();
        let Some((row, first)) = rows.next() else {
            return Ok(None);
        };
        let meta = first
            .into_iter()
            .chain(rows.filter_map(|(_, m)| m))
            .collect();
        user_from_rows(program, row, meta).map(Some)
    }
}

/// Rebuilds a `User` from its row and its meta_data rows through the domain's rules.
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

fn user_from_rows(
    program: ProgramId,
    row: users::Model,
    meta: Vec<user_meta_data::Model>,
) -> Result<User, StorageError> {
    let id = uuid::Uuid::parse_str(&row.id)
        .map_err(|_| StorageError::Corrupt("users.id is not a uuid".into()))?;
    let record = UserRecord {
        id: UserId::from_uuid(id),
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
        created_at: from_ms(row.created_at)?,
        updated_at: from_ms(row.updated_at)?,
    };
    User::restore(&record).map_err(|e| StorageError::Corrupt(format!("user {}: {e}", record.id)))
}

impl SqlStore {
    /// Decrypts a user's SSN for the one consumer that needs it (a KYC verifier). Fails
    /// with [`crate::CryptoError::Unauthentic`] if the ciphertext does not belong to this row.
    #[tracing::instrument(level = "debug", skip(self), fields(program = %program, user = %id))]
    pub async fn reveal_ssn(
        &self,
        program: ProgramId,
        id: UserId,
    ) -> Result<Option<domain::Ssn>, StorageError> {
        let row = users::Entity::find_by_id(id.uuid().to_string())
            .filter(users::Column::ProgramId.eq(program.uuid().to_string()))
            .one(&self.db)
            .await?
            .ok_or(StorageError::NotFound("user"))?;
        let (Some(bytes), Some(key_id)) = (row.ssn_ciphertext, row.ssn_key_id) else {
            return Ok(None);
        };
        let plain = self.keys.open(&key_id, &bytes, ssn_aad(&row.id))?;
        let text = std::str::from_utf8(&plain)
            .map_err(|_| StorageError::Corrupt("ssn is not UTF-8".into()))?;
        domain::Ssn::parse(text)
            .map(Some)
            .map_err(|_| StorageError::Corrupt("stored ssn is invalid".into()))
    }
}

/// `text` with the LIKE wildcards `%`, `_` and the escape `\` escaped.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The filters of a user listing (everything but order and page).
fn user_filter(program: ProgramId, q: &UserQuery) -> Condition {
    let mut cond = Condition::all().add(users::Column::ProgramId.eq(program.uuid().to_string()));
    if let Some(email) = q.email_key() {
        cond = cond.add(users::Column::EmailKey.eq(email));
    }
    if let Some(status) = q.status() {
        cond = cond.add(users::Column::Status.eq(status.as_str()));
    }
    if let Some(kyc) = q.kyc_status() {
        cond = cond.add(users::Column::KycStatus.eq(kyc.as_str()));
    }
    if let Some(text) = q.search() {
        let pattern = format!("%{}%", escape_like(&text.to_lowercase()));
        let like = |e: Expr| e.like(LikeExpr::new(pattern.clone()).escape('\\'));
        cond = cond.add(
            Condition::any()
                .add(like(Expr::expr(Func::lower(Expr::col(
                    users::Column::FirstName,
                )))))
                .add(like(Expr::expr(Func::lower(Expr::col(
                    users::Column::LastName,
                )))))
                .add(like(Expr::col(users::Column::EmailKey)))
                .add(like(Expr::col(users::Column::UsernameKey)))
                .add(like(Expr::col(users::Column::PhoneNumber))),
        );
    }
    cond
}

impl SqlStore {
    async fn list_users_impl(
        &self,
        program: ProgramId,
        q: &UserQuery,
    ) -> Result<Page<User>, StorageError> {
        let filter = user_filter(program, q);
        // Unfiltered, the total comes from the program's counter shards (a table scan at a
        // million users costs ~200 ms); with filters it is counted.
        let unfiltered = q.email_key().is_none()
            && q.search().is_none()
            && q.status().is_none()
            && q.kyc_status().is_none();
        let total = if unfiltered {
            count_users(&self.db, program).await?
        } else {
            users::Entity::find()
                .filter(filter.clone())
                .count(&self.db)
                .await?
        };
        let select = users::Entity::find().filter(filter);
        let select = match q.sort() {
            UserSort::CreatedDesc => select
                .order_by_desc(users::Column::CreatedAt)
                .order_by_desc(users::Column::Id),
            UserSort::CreatedAsc => select
                .order_by_asc(users::Column::CreatedAt)
                .order_by_asc(users::Column::Id),
            UserSort::LastNameAsc => select
                .order_by_asc(users::Column::LastName)
                .order_by_asc(users::Column::Id),
            UserSort::LastNameDesc => select
                .order_by_desc(users::Column::LastName)
                .order_by_desc(users::Column::Id),
        };
        let rows = select
            .offset(q.page().offset())
            .limit(q.page().per_page())
            .all(&self.db)
            .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut meta: std::collections::HashMap<String, Vec<user_meta_data::Model>> =
            std::collections::HashMap::new();
        if !ids.is_empty() {
            for m in user_meta_data::Entity::find()
                .filter(user_meta_data::Column::UserId.is_in(ids))
                .order_by_asc(user_meta_data::Column::UserId)
                .order_by_asc(user_meta_data::Column::Position)
                .all(&self.db)
                .await?
            {
                meta.entry(m.user_id.clone()).or_default().push(m);
            }
        }
        let items = rows
            .into_iter()
            .map(|row| {
                let m = meta.remove(&row.id).unwrap_or_default();
                user_from_rows(program, row, m)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, total })
    }
}

/// Locks a user row of the program inside `txn` with a no-op write (SQLite takes its write
/// lock now instead of failing a later read-to-write upgrade; PostgreSQL and MariaDB lock the
/// row) and reads it.
async fn lock_user(
    txn: &impl ConnectionTrait,
    program: ProgramId,
    uid: &str,
) -> Result<users::Model, StorageError> {
    let locked = users::Entity::update_many()
        .col_expr(
            users::Column::UpdatedAt,
            Expr::col(users::Column::UpdatedAt),
        )
        .filter(users::Column::Id.eq(uid))
        .filter(users::Column::ProgramId.eq(program.uuid().to_string()))
        .exec(txn)
        .await?;
    if locked.rows_affected == 0 {
        return Err(StorageError::NotFound("user"));
    }
    users::Entity::find_by_id(uid.to_owned())
        .one(txn)
        .await?
        .ok_or(StorageError::NotFound("user"))
}

/// The meta_data rows of a user, in order.
fn meta_rows(user_id: &str, meta: &domain::MetaData) -> Vec<user_meta_data::ActiveModel> {
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

impl SqlStore {
    /// The `users` row of a new user: SSN sealed for this row and blind-indexed per program.
    fn user_row(
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
        })
    }
}

/// Shards of a program's user count: concurrent creates rarely touch the same row.
const COUNT_SHARDS: u128 = 16;

/// The counter shard of a user.
fn shard_of(id: UserId) -> i32 {
    i32::try_from(id.uuid().as_u128() % COUNT_SHARDS).unwrap_or(0)
}

/// Adds `n` to a program's user count on `shard`, in the caller's transaction.
async fn add_to_count(
    txn: &impl ConnectionTrait,
    program: ProgramId,
    shard: i32,
    n: i64,
) -> Result<(), StorageError> {
    use sea_orm::sea_query::OnConflict;
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
async fn count_users(db: &impl ConnectionTrait, program: ProgramId) -> Result<u64, StorageError> {
    let shards: Vec<i64> = program_user_counts::Entity::find()
        .select_only()
        .column(program_user_counts::Column::Users)
        .filter(program_user_counts::Column::ProgramId.eq(program.uuid().to_string()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(u64::try_from(shards.iter().sum::<i64>()).unwrap_or(0))
}

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
    completion: Option<OwnedCompletion>,
}

struct OwnedCompletion {
    key: String,
    claimed_at: DateTime<Utc>,
    status: u16,
    body: String,
}

impl OwnedCompletion {
    fn borrow(&self) -> Completion<'_> {
        Completion {
            key: &self.key,
            claimed_at: self.claimed_at,
            status: self.status,
            body: &self.body,
        }
    }
}

impl SqlStore {
    /// [`UserRepository::create_user`] that also records the request's signature as used
    /// (the replay guard) in the same transaction: the user and the record commit together,
    /// with one commit instead of two. `Ok(None)` when the signature was already recorded (a
    /// replay): nothing is written. When this fails, the caller still records the signature
    /// on its own (see `ReplayGuard::first_use`).
    pub async fn create_user_once(
        &self,
        program: ProgramId,
        ids: NewUserIds,
        user: &NewUser,
        now: DateTime<Utc>,
        completion: Option<Completion<'_>>,
        first_use: FirstUse<'_>,
    ) -> Result<Option<User>, StorageError> {
        self.create_user_in(program, ids, user, now, completion, Some(first_use))
            .await
    }

    #[tracing::instrument(level = "debug", skip(self, user, completion, first_use), fields(program = %program, user = %ids.user))]
    async fn create_user_in(
        &self,
        program: ProgramId,
        ids: NewUserIds,
        user: &NewUser,
        now: DateTime<Utc>,
        completion: Option<Completion<'_>>,
        first_use: Option<FirstUse<'_>>,
    ) -> Result<Option<User>, StorageError> {
        let now = truncate(now);
        let id = ids.user.uuid().to_string();
        let program_id = program.uuid().to_string();
        let row = self.user_row(program, &id, user, now)?;
        let meta = meta_rows(&id, user.profile().meta_data());
        let (contact, business_id) = match user.business() {
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
        let prepared = PreparedCreate {
            program,
            shard: shard_of(ids.user),
            user: row,
            meta,
            contact,
            business_id,
            first_use: first_use.map(|f| Signature {
                program,
                digest: f.signature_digest.to_owned(),
                expires_at: f.expires_at,
            }),
            completion: completion.map(|c| OwnedCompletion {
                key: c.key.to_owned(),
                claimed_at: c.claimed_at,
                status: c.status,
                body: c.body.to_owned(),
            }),
        };
        if self.create_grouped(prepared).await? {
            Ok(Some(User::create(ids.user, program, user, now)))
        } else {
            Ok(None)
        }
    }

    /// One create in its own transaction. `Ok(false)`: a replayed signature, nothing written.
    pub(crate) async fn create_alone(&self, create: &PreparedCreate) -> Result<bool, StorageError> {
        let txn = self.db.begin().await?;
        let written = async {
            // First, so that a replay is refused before anything else is tried (and so that
            // on SQLite the transaction takes the write lock at once).
            if let Some(signature) = &create.first_use
                && !crate::guards::first_use_in(&txn, signature).await?
            {
                return Ok(false);
            }
            insert_batch(&txn, &[create]).await?;
            Ok(true)
        }
        .await;
        match written {
            Ok(true) => {
                txn.commit().await?;
                Ok(true)
            }
            refused => {
                // Rolled back now, not when the connection is next used: the caller records
                // this signature next, and its uncommitted row would hold that insert's lock.
                let _ = txn.rollback().await;
                refused
            }
        }
    }
}

/// Writes the rows of `creates` on `txn` (not their replay records: the caller writes those
/// first), with one multi-row insert per table. Fails as a whole.
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
                return Err(StorageError::NotFound("business_id"));
            }
            business_contacts::Entity::insert(contact.clone())
                .exec_without_returning(txn)
                .await?;
        }
    }
    for c in creates {
        if let Some(completion) = &c.completion {
            crate::guards::complete_in(txn, c.program, completion.borrow()).await?;
        }
    }
    Ok(())
}
