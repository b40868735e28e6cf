//! PostgreSQL: the rows of a multi-row insert as one JSON parameter, unpacked by
//! `json_to_recordset` (as `events/outcomes.rs` passes a batch of outcomes). The statement's
//! text then depends on the table and its columns, not on how many rows it carries: a
//! group-committed batch of 1 to 64 creates is one prepared statement on each pooled
//! connection (instead of one per batch size, each with thousands of parameters whose types
//! sqlx keeps per cached statement), and PostgreSQL plans it once.
//!
//! Values travel as JSON: text as strings, integers as numbers (exact: `serde_json` keeps an
//! `i64`), bytes as hex strings (`decode(…, 'hex')`), `NULL` as `null`.

use std::fmt::Write as _;

use sea_orm::sea_query::Value;
use sea_orm::{ActiveModelTrait, EntityName as _, EntityTrait, IdenStatic as _, Iterable as _};

use crate::error::{InternalError, StorageError};

/// How a column travels in the JSON and is read back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Text,
    Integer,
    BigInt,
    SmallInt,
    Boolean,
    /// Hex in the JSON, `bytea` in the table.
    Bytes,
}

impl Kind {
    fn of(value: &Value) -> Option<Self> {
        Some(match value {
            Value::String(_) => Self::Text,
            Value::BigInt(_) => Self::BigInt,
            Value::Int(_) => Self::Integer,
            Value::SmallInt(_) => Self::SmallInt,
            Value::Bool(_) => Self::Boolean,
            Value::Bytes(_) => Self::Bytes,
            _ => return None,
        })
    }

    /// The type `json_to_recordset` reads the field as.
    fn record_type(self) -> &'static str {
        match self {
            Self::Text | Self::Bytes => "text",
            Self::Integer => "integer",
            Self::BigInt => "bigint",
            Self::SmallInt => "smallint",
            Self::Boolean => "boolean",
        }
    }
}

/// `value` as JSON, if its kind is `kind`.
fn json(value: Value, kind: Kind) -> Option<serde_json::Value> {
    use serde_json::Value as J;
    Some(match (value, kind) {
        (Value::String(v), Kind::Text) => v.map_or(J::Null, J::String),
        (Value::BigInt(v), Kind::BigInt) => v.map_or(J::Null, J::from),
        (Value::Int(v), Kind::Integer) => v.map_or(J::Null, J::from),
        (Value::SmallInt(v), Kind::SmallInt) => v.map_or(J::Null, J::from),
        (Value::Bool(v), Kind::Boolean) => v.map_or(J::Null, J::Bool),
        (Value::Bytes(v), Kind::Bytes) => v.map_or(J::Null, |b| J::String(hex(&b))),
        _ => return None,
    })
}

/// Lower-case hex, as `decode(…, 'hex')` reads it.
fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// An `INSERT INTO t (…) SELECT … FROM json_to_recordset(?::json) AS r(…)` of `rows` (with no
/// conflict clause: the caller may append one) and its one parameter. The columns are those
/// set in the first row; every row must set the same ones. `None` for no rows.
pub(crate) fn insert<A>(rows: &[A]) -> Result<Option<(String, sea_orm::Value)>, StorageError>
where
    A: ActiveModelTrait,
{
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let mut columns = Vec::new();
    for column in <A::Entity as EntityTrait>::Column::iter() {
        if let Some(value) = first.get(column).into_value() {
            let kind = Kind::of(&value).ok_or_else(|| unsupported(column.as_str()))?;
            columns.push((column, kind));
        }
    }
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let mut record = serde_json::Map::with_capacity(columns.len());
        for (column, kind) in &columns {
            let value = row
                .get(*column)
                .into_value()
                .and_then(|v| json(v, *kind))
                .ok_or_else(|| unsupported(column.as_str()))?;
            record.insert(column.as_str().to_owned(), value);
        }
        records.push(serde_json::Value::Object(record));
    }
    let table = <A::Entity as Default>::default().table_name().to_owned();
    let names: Vec<String> = columns
        .iter()
        .map(|(c, _)| format!("\"{}\"", c.as_str()))
        .collect();
    let read: Vec<String> = columns
        .iter()
        .map(|(c, kind)| match kind {
            Kind::Bytes => format!("decode(r.\"{}\", 'hex')", c.as_str()),
            _ => format!("r.\"{}\"", c.as_str()),
        })
        .collect();
    let mut sql = format!(
        "INSERT INTO \"{table}\" ({}) SELECT {} FROM json_to_recordset(?::json) AS r(",
        names.join(", "),
        read.join(", ")
    );
    for (i, (column, kind)) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "\"{}\" {}", column.as_str(), kind.record_type());
    }
    sql.push(')');
    // Text, read as `json`: PostgreSQL lexes it once, where `jsonb` would first build its
    // binary form.
    let parameter = sea_orm::Value::from(serde_json::Value::Array(records).to_string());
    Ok(Some((sql, parameter)))
}

/// A column whose value this module does not carry, or a row that does not set it.
fn unsupported(column: &str) -> StorageError {
    InternalError::Database(sea_orm::DbErr::Custom(format!(
        "a multi-row insert cannot carry column {column}"
    )))
    .into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use sea_orm::ActiveValue::Set;

    use super::insert;
    use crate::entity::{program_user_counts, users};

    fn count(program: &str, shard: i32, n: i64) -> program_user_counts::ActiveModel {
        program_user_counts::ActiveModel {
            program_id: Set(program.to_owned()),
            shard: Set(shard),
            users: Set(n),
        }
    }

    /// The parameter's JSON.
    fn rows(parameter: sea_orm::Value) -> serde_json::Value {
        match parameter {
            sea_orm::Value::String(Some(text)) => serde_json::from_str(&text).unwrap(),
            other => panic!("the rows travel as text, not {other:?}"),
        }
    }

    #[test]
    fn the_text_is_the_same_for_any_number_of_rows() {
        let (one, _) = insert(&[count("a", 1, 1)]).unwrap().unwrap();
        let (three, parameter) = insert(&[count("a", 1, 1), count("b", 2, 2), count("c", 3, 3)])
            .unwrap()
            .unwrap();
        assert_eq!(one, three);
        assert_eq!(
            one,
            "INSERT INTO \"program_user_counts\" (\"program_id\", \"shard\", \"users\") \
             SELECT r.\"program_id\", r.\"shard\", r.\"users\" FROM json_to_recordset(?::json) \
             AS r(\"program_id\" text, \"shard\" integer, \"users\" bigint)"
        );
        assert_eq!(
            rows(parameter),
            serde_json::json!([
                {"program_id": "a", "shard": 1, "users": 1},
                {"program_id": "b", "shard": 2, "users": 2},
                {"program_id": "c", "shard": 3, "users": 3},
            ])
        );
        assert!(
            insert::<program_user_counts::ActiveModel>(&[])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn nulls_bytes_and_large_integers_travel_exactly() {
        let row = users::ActiveModel {
            id: Set("u1".to_owned()),
            middle_name: Set(None),
            ssn_ciphertext: Set(Some(vec![0x00, 0xff, 0x10, 0xab])),
            created_at: Set(i64::MAX),
            terms_accepted_at: Set(Some(i64::MIN)),
            ..Default::default()
        };
        let (sql, parameter) = insert(&[row]).unwrap().unwrap();
        assert!(sql.contains("decode(r.\"ssn_ciphertext\", 'hex')"), "{sql}");
        assert!(sql.contains("\"ssn_ciphertext\" text"), "{sql}");
        assert!(sql.contains("\"created_at\" bigint"), "{sql}");
        assert_eq!(
            rows(parameter),
            serde_json::json!([{
                "id": "u1",
                "middle_name": null,
                "ssn_ciphertext": "00ff10ab",
                "created_at": i64::MAX,
                "terms_accepted_at": i64::MIN,
            }])
        );
    }

    #[test]
    fn a_row_that_leaves_out_a_column_is_refused() {
        let partial = program_user_counts::ActiveModel {
            program_id: Set("b".to_owned()),
            ..Default::default()
        };
        assert!(insert(&[count("a", 1, 1), partial]).is_err());
    }
}
