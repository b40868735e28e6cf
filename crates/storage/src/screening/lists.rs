//! List versions: loading one (stored with its files, SHA-256 and counts, and made current in
//! the same transaction, so that every instance switches to it at once and atomically), and
//! reading the current one.

use chrono::{DateTime, Utc};
use domain::screening::ListReport;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _, QuerySelect as _,
};
use sha2::{Digest as _, Sha256};
use std::fmt::Write as _;

use super::entity::{screening_lists, screening_state};
use crate::SqlStore;
use crate::error::{Problem, StorageError};
use crate::operators::{OperatorAction, record};
use crate::time::{from_ms, to_ms};

/// The three files of a list, as read.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ListFiles {
    /// `sdn.csv`.
    pub sdn: Vec<u8>,
    /// `alt.csv`.
    pub alt: Vec<u8>,
    /// `add.csv`.
    pub add: Vec<u8>,
}

impl ListFiles {
    /// SHA-256 over the three files, each preceded by its length (so that bytes cannot move
    /// between files unnoticed), lowercase hex.
    pub fn sha256(&self) -> String {
        let mut hash = Sha256::new();
        for file in [&self.sdn, &self.alt, &self.add] {
            hash.update((file.len() as u64).to_be_bytes());
            hash.update(file);
        }
        hash.finalize()
            .iter()
            .fold(String::with_capacity(64), |mut hex, b| {
                let _ = write!(hex, "{b:02x}");
                hex
            })
    }
}

/// A stored list version (without its files).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListVersion {
    /// The version's id.
    pub id: uuid::Uuid,
    /// [`ListFiles::sha256`].
    pub sha256: String,
    /// Entries parsed.
    pub entries: u32,
    /// Aliases parsed.
    pub aliases: u32,
    /// Addresses parsed.
    pub addresses: u32,
    /// Rows skipped as malformed.
    pub skipped: u32,
    /// Who loaded it.
    pub loaded_by: String,
    /// When.
    pub loaded_at: DateTime<Utc>,
}

/// What loading did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Loaded {
    /// A new version, now current.
    New(ListVersion),
    /// The current version has the same SHA-256: nothing changed.
    Unchanged(ListVersion),
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn version(row: screening_lists::Model) -> Result<ListVersion, StorageError> {
    let number = |n: i32| {
        u32::try_from(n).map_err(|_| StorageError::corrupt("screening_lists", Problem::OutOfRange))
    };
    Ok(ListVersion {
        id: row
            .id
            .parse()
            .map_err(|_| StorageError::corrupt("screening_lists.id", Problem::NotUuid))?,
        sha256: row.sha256,
        entries: number(row.entries)?,
        aliases: number(row.aliases)?,
        addresses: number(row.addresses)?,
        skipped: number(row.skipped)?,
        loaded_by: row.loaded_by,
        loaded_at: from_ms(row.loaded_at)?,
    })
}

impl SqlStore {
    /// Stores a list version and makes it current, in one transaction with the operator's
    /// record; the rescreen of every submitted user starts over. The same files as the current
    /// version change nothing ([`Loaded::Unchanged`]).
    pub async fn load_screening_list(
        &self,
        files: &ListFiles,
        report: &ListReport,
        action: &OperatorAction,
        now: DateTime<Utc>,
    ) -> Result<Loaded, StorageError> {
        let sha256 = files.sha256();
        let txn = crate::db::begin_write(&self.db).await?;
        let done = async {
            // Lock the state row first (a no-op write), so that two loads serialize.
            screening_state::Entity::update_many()
                .col_expr(
                    screening_state::Column::Id,
                    Expr::col(screening_state::Column::Id),
                )
                .filter(screening_state::Column::Id.eq(1))
                .exec(&txn)
                .await?;
            let state = screening_state::Entity::find_by_id(1).one(&txn).await?;
            if let Some(state) = &state
                && let Some(current) = metadata(&txn, &state.current_list_id).await?
                && current.sha256 == sha256
            {
                return Ok(Loaded::Unchanged(current));
            }
            let id = uuid::Uuid::now_v7();
            let row = screening_lists::ActiveModel {
                id: Set(id.to_string()),
                sha256: Set(sha256.clone()),
                sdn_csv: Set(files.sdn.clone()),
                alt_csv: Set(files.alt.clone()),
                add_csv: Set(files.add.clone()),
                entries: Set(count(report.entries)),
                aliases: Set(count(report.aliases)),
                addresses: Set(count(report.addresses)),
                skipped: Set(count(report.skipped.len())),
                loaded_by: Set(action.actor.chars().take(128).collect()),
                loaded_at: Set(to_ms(now)),
            };
            screening_lists::Entity::insert(row)
                .exec_without_returning(&txn)
                .await?;
            let state_row = screening_state::ActiveModel {
                id: Set(1),
                current_list_id: Set(id.to_string()),
                rescreen_holder: Set(None),
                rescreen_until: Set(None),
                rescreen_done_at: Set(None),
                rescreen_cursor: Set(None),
            };
            if state.is_some() {
                screening_state::Entity::update(state_row)
                    .exec(&txn)
                    .await?;
            } else {
                screening_state::Entity::insert(state_row)
                    .exec_without_returning(&txn)
                    .await?;
            }
            record(&txn, action, now).await?;
            metadata(&txn, &id.to_string())
                .await?
                .map(Loaded::New)
                .ok_or_else(|| StorageError::corrupt("screening_lists", Problem::Dangling))
        }
        .await;
        match done {
            Ok(loaded) => {
                txn.commit().await?;
                Ok(loaded)
            }
            Err(e) => {
                crate::along::rollback(txn).await;
                Err(e)
            }
        }
    }

    /// The current list version, `None` while no list was loaded (screening is off). Cheap:
    /// instances poll it to pick up a new version.
    pub async fn current_screening_list(&self) -> Result<Option<ListVersion>, StorageError> {
        let Some(state) = screening_state::Entity::find_by_id(1).one(&self.db).await? else {
            return Ok(None);
        };
        metadata(&self.db, &state.current_list_id).await
    }

    /// A version's files, to build its index.
    pub async fn screening_list_files(
        &self,
        id: uuid::Uuid,
    ) -> Result<Option<ListFiles>, StorageError> {
        Ok(screening_lists::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .map(|row| ListFiles {
                sdn: row.sdn_csv,
                alt: row.alt_csv,
                add: row.add_csv,
            }))
    }
}

/// The columns of a version without its files.
const METADATA: [screening_lists::Column; 8] = [
    screening_lists::Column::Id,
    screening_lists::Column::Sha256,
    screening_lists::Column::Entries,
    screening_lists::Column::Aliases,
    screening_lists::Column::Addresses,
    screening_lists::Column::Skipped,
    screening_lists::Column::LoadedBy,
    screening_lists::Column::LoadedAt,
];

/// A version's metadata, without reading its files.
async fn metadata(
    conn: &impl sea_orm::ConnectionTrait,
    id: &str,
) -> Result<Option<ListVersion>, StorageError> {
    type Row = (String, String, i32, i32, i32, i32, String, i64);
    let row: Option<Row> = screening_lists::Entity::find_by_id(id.to_owned())
        .select_only()
        .columns(METADATA)
        .into_tuple()
        .one(conn)
        .await?;
    row.map(
        |(id, sha256, entries, aliases, addresses, skipped, loaded_by, loaded_at)| {
            version(screening_lists::Model {
                id,
                sha256,
                sdn_csv: Vec::new(),
                alt_csv: Vec::new(),
                add_csv: Vec::new(),
                entries,
                aliases,
                addresses,
                skipped,
                loaded_by,
                loaded_at,
            })
        },
    )
    .transpose()
}
