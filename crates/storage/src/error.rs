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
            Self::Id => "id",
        }
    }
}

/// Every failure of a repository method.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A unique constraint refused the write; nothing was written.
    #[error("a record with the same {} already exists", .0.as_str())]
    Conflict(ConflictField),
    /// A referenced record (business, user, program) does not exist in the program.
    #[error("{0} does not exist")]
    NotFound(&'static str),
    /// The database cannot be reached (connection refused, pool timeout, I/O error);
    /// the API answers 503 and the client may retry.
    #[error("the database is unavailable")]
    Unavailable(#[source] DbErr),
    /// A stored value failed its domain rule or failed to decrypt.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The domain refused a lifecycle change; nothing was written.
    #[error("change refused: {0}")]
    Rejected(#[from] domain::ChangeError),
    /// The idempotency claim this write was to complete is no longer held; nothing was written.
    #[error("the idempotency claim was lost")]
    ClaimLost,
    /// Key or cipher failure.
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    /// Any other database error (a bug or an unexpected state).
    #[error("database error")]
    Database(#[source] DbErr),
}

/// The named unique constraints, the columns they cover (SQLite reports columns, not names),
/// and the field each one protects.
const UNIQUE_CONSTRAINTS: &[(&str, &str, ConflictField)] = &[
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
        "uq_businesses_program_ein",
        "businesses.program_id, businesses.ein_blind_index",
        ConflictField::Ein,
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
        return StorageError::Database(err);
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
            StorageError::Conflict(field)
        }
        sqlx::Error::Database(db) if is_unavailable_code(db.code().as_deref()) => {
            StorageError::Unavailable(err)
        }
        _ => StorageError::Database(err),
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
/// 55P03 lock not available; MySQL 1040 too many connections, 1053 shutdown, 1205 lock wait
/// timeout, 1213 deadlock, 2002/2003/2006/2013 connection lost; SQLite 5 `SQLITE_BUSY` and 6
/// `SQLITE_LOCKED` with their extended codes (the busy timeout ran out under write load).
fn is_unavailable_code(code: Option<&str>) -> bool {
    code.is_some_and(|c| {
        c.starts_with("08")
            || c.starts_with("57P")
            || c.starts_with("53")
            || matches!(c, "40001" | "40P01" | "55P03")
            || matches!(
                c,
                "1040" | "1053" | "1205" | "1213" | "2002" | "2003" | "2006" | "2013"
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
