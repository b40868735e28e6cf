//! The storage layer's one error type, and the mapping of database errors onto it.

use sea_orm::sqlx;
use sea_orm::{DbErr, RuntimeErr};

use crate::crypto::CryptoError;

/// A field whose uniqueness the database enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConflictField {
    /// `users.email` (case-insensitive, per program).
    Email,
    /// `users.username` (case-insensitive, per program).
    Username,
    /// `users.ssn` (through the blind index, per program).
    Ssn,
    /// `businesses.ein` (through the blind index, per program).
    Ein,
    /// A user who is already a beneficial owner of the business (`business_owners`).
    OwnerUser,
    /// A second control person of a business (`business_owners.control_person_of`).
    ControlPerson,
    /// A primary key or another unique key (an id or idempotency key reused).
    Id,
}

impl ConflictField {
    /// The API field name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Username => "username",
            Self::Ssn => "ssn",
            Self::Ein => "ein",
            Self::OwnerUser => "user_id",
            Self::ControlPerson => "is_control_person",
            Self::Id => "id",
        }
    }
}

/// An entity a request addresses by its id (`user_id` of `/user/get`): missing, it is a 404.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Entity {
    /// A user of the program.
    User,
    /// A business of the program.
    Business,
    /// A beneficial owner of a business of the program.
    BusinessOwner,
    /// A program (operator commands).
    Program,
    /// An API key (operator commands).
    ApiKey,
    /// An HMAC credential, by its username (operator commands).
    HmacCredential,
    /// A webhook endpoint of the program.
    Webhook,
    /// An event of the program.
    Event,
    /// A console operator (operator commands and the console).
    Operator,
}

impl Entity {
    /// The entity's name in messages (`user`, `business`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Business => "business",
            Self::BusinessOwner => "business owner",
            Self::Program => "program",
            Self::ApiKey => "api key",
            Self::HmacCredential => "hmac credential",
            Self::Webhook => "webhook",
            Self::Event => "event",
            Self::Operator => "operator",
        }
    }
}

/// A field of a request that refers to another entity (`business_id` of `/user/create`):
/// missing, the request is refused field by field (422).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reference {
    /// `business_id`: a business of the program.
    BusinessId,
    /// `user_id`: a user of the program (a beneficial owner).
    UserId,
}

impl Reference {
    /// The request field.
    pub fn field(self) -> &'static str {
        match self {
            Self::BusinessId => "business_id",
            Self::UserId => "user_id",
        }
    }
}

/// Why a write conflicted with what is stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConflictCode {
    /// A unique constraint refused the write.
    Duplicate(ConflictField),
    /// The idempotency claim the write was to complete is no longer held by its caller.
    ClaimLost,
}

/// What is wrong with a stored value.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// Not a UUID.
    #[error("not a uuid")]
    NotUuid,
    /// A timestamp out of range.
    #[error("timestamp out of range")]
    Timestamp,
    /// Bytes that are not UTF-8.
    #[error("not UTF-8")]
    NotUtf8,
    /// A number out of its range.
    #[error("number out of range")]
    OutOfRange,
    /// Text that is not the JSON it should be.
    #[error("not JSON")]
    NotJson,
    /// A row the stored data requires is missing.
    #[error("a row it refers to is missing")]
    Dangling,
    /// A token that is none of the column's values.
    #[error("unknown token")]
    UnknownToken,
    /// A value that fails its domain rule (the rule's code and message; never the value).
    #[error("{0}")]
    Rule(#[from] domain::Violation),
    /// Values that fail their domain rules together (a user or business rebuilt from rows).
    #[error("{0}")]
    Rules(#[from] domain::ValidationErrors),
    /// A user row that breaks the user's invariants.
    #[error("{0}")]
    Invariant(#[from] domain::UserInvariantError),
    /// A business row that breaks the business's invariants.
    #[error("{0}")]
    BusinessInvariant(#[from] domain::BusinessInvariantError),
}

/// A failure that is a bug or a damaged database, never the client's doing (500).
#[derive(Debug, thiserror::Error)]
pub enum InternalError {
    /// Any database error that is neither a known conflict nor unavailability.
    #[error("database error")]
    Database(#[source] DbErr),
    /// Key or cipher failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// A stored value failed its rule or its format.
    #[error("stored data is corrupt: {column}")]
    Corrupt {
        /// `table.column` of the value.
        column: &'static str,
        /// What is wrong with it.
        #[source]
        problem: Problem,
    },
    /// The answer to store with a change could not be rendered.
    #[error("rendering the stored answer")]
    Render(#[source] serde_json::Error),
    /// A blocking task (argon2) panicked or was cancelled.
    #[error("a blocking task failed")]
    Task,
    /// Password hashing failed.
    #[error("argon2 hashing failed")]
    Hashing,
    /// The group commit lost a batch (a lock poisoned or a leader gone).
    #[error("a batch of creates was abandoned")]
    Abandoned,
    /// A batch's commit failed, with this error (copied to each create of the batch, as the
    /// database's error cannot be); whether it took effect is unknown.
    #[error("the commit of a batch of creates failed: {0}")]
    BatchCommit(String),
}

impl InternalError {
    /// A corrupt stored value.
    pub(crate) fn corrupt(column: &'static str, problem: impl Into<Problem>) -> Self {
        Self::Corrupt {
            column,
            problem: problem.into(),
        }
    }
}

/// Every failure of a repository method.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The entity the request addresses does not exist in the program.
    #[error("{} does not exist", .0.as_str())]
    NotFound(Entity),
    /// An entity the request refers to does not exist in the program; nothing was written.
    #[error("{} does not exist", .0.field())]
    MissingReference(Reference),
    /// The write conflicts with what is stored; nothing was written.
    #[error("conflict: {0:?}")]
    Conflict(ConflictCode),
    /// The domain refused a lifecycle change; nothing was written.
    #[error("change refused: {0}")]
    Rejected(#[from] domain::ChangeError),
    /// The database cannot be reached (connection refused, pool timeout, I/O error);
    /// the API answers 503 and the client may retry.
    #[error("the database is unavailable")]
    Unavailable(#[source] DbErr),
    /// A bug or damaged data (500).
    #[error(transparent)]
    Internal(#[from] InternalError),
}

impl StorageError {
    /// A corrupt stored value (see [`InternalError::Corrupt`]).
    pub(crate) fn corrupt(column: &'static str, problem: impl Into<Problem>) -> Self {
        Self::Internal(InternalError::corrupt(column, problem))
    }

    /// The database is unavailable for `reason` (for fakes of the repositories in tests of
    /// the layers above).
    pub fn unavailable(reason: impl Into<String>) -> Self {
        Self::Unavailable(DbErr::Custom(reason.into()))
    }

    /// A duplicate of `field`.
    pub fn duplicate(field: ConflictField) -> Self {
        Self::Conflict(ConflictCode::Duplicate(field))
    }

    /// Whether a unique constraint refused the write.
    pub fn is_duplicate(&self) -> bool {
        matches!(self, Self::Conflict(ConflictCode::Duplicate(_)))
    }
}

impl From<CryptoError> for StorageError {
    fn from(err: CryptoError) -> Self {
        Self::Internal(InternalError::Crypto(err))
    }
}

/// The named unique constraints, the columns they cover (SQLite reports columns, not names),
/// and the field each one protects (`Id`: a generated value, whose collision is a 500). A test
/// (`every_unique_index_is_attributed`) fails when a migration adds a unique index that is
/// not listed here.
pub const UNIQUE_CONSTRAINTS: &[(&str, &str, ConflictField)] = &[
    (
        "uq_users_program_email",
        "users.program_id, users.email_key",
        ConflictField::Email,
    ),
    (
        "uq_users_program_username",
        "users.program_id, users.username_key",
        ConflictField::Username,
    ),
    (
        "uq_users_program_ssn",
        "users.program_id, users.ssn_blind_index",
        ConflictField::Ssn,
    ),
    (
        "uq_console_operators_email_key",
        "console_operators.email_key",
        ConflictField::Email,
    ),
    (
        "uq_businesses_program_ein",
        "businesses.program_id, businesses.ein_blind_index",
        ConflictField::Ein,
    ),
    (
        "uq_business_owners_business_user",
        "business_owners.business_id, business_owners.user_id",
        ConflictField::OwnerUser,
    ),
    (
        "uq_business_owners_control_person",
        "business_owners.control_person_of",
        ConflictField::ControlPerson,
    ),
    // A user linked to the same business twice: creates link only new users, so this is a bug.
    (
        "uq_business_contacts_business_user",
        "business_contacts.business_id, business_contacts.user_id",
        ConflictField::Id,
    ),
    // A generated API key's lookup digest: a collision is not the client's doing (500).
    (
        "uq_api_keys_lookup_digest",
        "api_keys.lookup_digest",
        ConflictField::Id,
    ),
];

impl From<DbErr> for StorageError {
    fn from(err: DbErr) -> Self {
        classify(err)
    }
}

fn sqlx_error(err: &DbErr) -> Option<&sqlx::Error> {
    match err {
        DbErr::Conn(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

/// Maps a database error onto the storage error kinds.
///
/// Unique violations are recognised by the driver's error kind and attributed by constraint
/// name (PostgreSQL reports it as a field; MySQL/MariaDB name the key in their error; SQLite
/// names no constraint, only the indexed columns, which are matched exactly).
pub(crate) fn classify(err: DbErr) -> StorageError {
    if matches!(err, DbErr::ConnectionAcquire(_)) {
        return StorageError::Unavailable(err);
    }
    let Some(sqlx_err) = sqlx_error(&err) else {
        return InternalError::Database(err).into();
    };
    match sqlx_err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => StorageError::Unavailable(err),
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            let field = unique_field(db.constraint(), db.message());
            StorageError::duplicate(field)
        }
        sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
            StorageError::Unavailable(err)
        }
        _ => InternalError::Database(err).into(),
    }
}

/// Whether `err` is a deadlock or a serialization failure between concurrent transactions
/// (SQLSTATE 40001, 40P01; MySQL 1213): worth running each piece of the work again alone.
/// Every other unavailability (connection lost, pool exhausted, a lock or statement timeout)
/// would only fail again for each piece.
pub(crate) fn is_contention(err: &StorageError) -> bool {
    let StorageError::Unavailable(db) = err else {
        return false;
    };
    match sqlx_error(db) {
        Some(sqlx::Error::Database(e)) => {
            matches!(e.code().as_deref(), Some("40001" | "40P01" | "1213"))
        }
        _ => false,
    }
}

fn unique_field(constraint: Option<&str>, message: &str) -> ConflictField {
    for (name, columns, field) in UNIQUE_CONSTRAINTS {
        let by_name = constraint == Some(*name);
        // MySQL/MariaDB: "Duplicate entry '…' for key '[table.]name'"
        let by_mysql_key = constraint.is_none()
            && (message.ends_with(&format!("'{name}'")) || message.ends_with(&format!(".{name}'")));
        // SQLite: "UNIQUE constraint failed: table.col, table.col"
        let by_sqlite_columns = constraint.is_none()
            && message.strip_prefix("UNIQUE constraint failed: ") == Some(*columns);
        if by_name || by_mysql_key || by_sqlite_columns {
            return *field;
        }
    }
    ConflictField::Id
}

/// Codes that mean "the server cannot serve us now, retry": SQLSTATE 08 connection exception,
/// 57P0x shutdown, 53 insufficient resources, 40001 serialization failure, 40P01 deadlock,
/// 55P03 lock not available (`lock_timeout`), 57014 statement cancelled (`statement_timeout`),
/// 25P03 idle-in-transaction timeout; MySQL 1040 too many connections, 1053 shutdown, 1205
/// lock wait timeout, 1213 deadlock, 1969 (MariaDB) and 3024 (MySQL) statement time exceeded,
/// 2002/2003/2006/2013 connection lost; SQLite 5 `SQLITE_BUSY` and 6 `SQLITE_LOCKED` with
/// their extended codes (the busy timeout ran out under write load).
fn is_unavailable_code(code: Option<&str>) -> bool {
    code.is_some_and(|c| {
        c.starts_with("08")
            || c.starts_with("57P")
            || c.starts_with("53")
            || matches!(c, "40001" | "40P01" | "55P03" | "57014" | "25P03")
            || matches!(
                c,
                "1040"
                    | "1053"
                    | "1205"
                    | "1213"
                    | "1969"
                    | "3024"
                    | "2002"
                    | "2003"
                    | "2006"
                    | "2013"
            )
            || c.parse::<u32>()
                .is_ok_and(|n| matches!(n & 0xff, 5 | 6) && n < 1000)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_are_attributed_by_name_or_columns() {
        assert_eq!(
            unique_field(Some("uq_users_program_ssn"), "whatever"),
            ConflictField::Ssn
        );
        assert_eq!(
            unique_field(
                None,
                "Duplicate entry 'p-a@b.co' for key 'uq_users_program_email'"
            ),
            ConflictField::Email
        );
        assert_eq!(
            unique_field(
                None,
                "Duplicate entry 'x' for key 'users.uq_users_program_username'"
            ),
            ConflictField::Username
        );
        assert_eq!(
            unique_field(
                None,
                "UNIQUE constraint failed: businesses.program_id, businesses.ein_blind_index"
            ),
            ConflictField::Ein
        );
        assert_eq!(
            unique_field(None, "UNIQUE constraint failed: users.id"),
            ConflictField::Id
        );
        assert_eq!(unique_field(Some("users_pkey"), ""), ConflictField::Id);
    }

    #[test]
    fn transient_codes_are_unavailable() {
        for code in [
            "08006", "57P01", "40001", "40P01", "1205", "1213", "5", "517", "6", "262",
        ] {
            assert!(is_unavailable_code(Some(code)), "{code}");
        }
        for code in ["23505", "1062", "2067", "19", "42P01"] {
            assert!(!is_unavailable_code(Some(code)), "{code}");
        }
    }
}
