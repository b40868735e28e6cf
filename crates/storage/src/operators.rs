//! The record of operator actions (`operator_actions`): who ran which command, and when; read
//! back newest first, a keyset page at a time along `idx_operator_actions_created_at`
//! (`created_at`, `id`; migration 17) for the console's audit page.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::extension::mysql::{IndexHintScope, MySqlSelectStatementExt as _};
use sea_orm::sea_query::{Alias, Expr};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect, QueryTrait as _, Select,
};

use crate::SqlStore;
use crate::entity::operator_actions;
use crate::error::{Problem, StorageError};
use crate::keyset::{self, KeyOrder, KeysetPage, PageKey, Seek};
use crate::time::{from_ms, to_ms};

/// The longest actor and command kept (longer ones are cut at a character boundary).
const MAX_ACTOR: usize = 128;
const MAX_COMMAND: usize = 512;

/// Who ran an operator command, and the command (never a secret: commands print secrets, they
/// do not take them). Written in the same transaction as what the command changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OperatorAction {
    /// The operator: `--actor`, or the OS user who ran the command.
    pub actor: String,
    /// The command as run, e.g. `program disable prog-…`.
    pub command: String,
}

impl OperatorAction {
    /// `command` run by `actor`.
    pub fn new(actor: impl Into<String>, command: impl Into<String>) -> Self {
        Self {
            actor: actor.into(),
            command: command.into(),
        }
    }
}

/// An operator action as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedAction {
    /// Who and what.
    pub action: OperatorAction,
    /// When.
    pub at: DateTime<Utc>,
}

/// The audit order: newest first.
fn newest_first() -> KeyOrder {
    KeyOrder {
        ms: Expr::col((
            operator_actions::Entity,
            operator_actions::Column::CreatedAt,
        )),
        id: Expr::col((operator_actions::Entity, operator_actions::Column::Id)),
        descending: true,
    }
}

/// The select of an audit page: at most a page and one more.
fn actions_page(backend: DbBackend, seek: Seek, per_page: u64) -> Select<operator_actions::Entity> {
    let order = newest_first();
    let dir = order.read_order(seek);
    let mut select = operator_actions::Entity::find();
    if let Some(c) = order.condition(backend, seek) {
        select = select.filter(c);
    }
    if backend == DbBackend::MySql {
        // Without a condition (the first page) MariaDB reads the whole table and sorts it
        // rather than walk the index that has the order (seen at 37k rows).
        QuerySelect::query(&mut select).force_index(
            Alias::new("idx_operator_actions_created_at"),
            IndexHintScope::All,
        );
    }
    select
        .order_by(order.ms, dir.clone())
        .order_by(order.id, dir)
        .limit(keyset::bounded(per_page) + 1)
}

fn recorded(row: operator_actions::Model) -> Result<RecordedAction, StorageError> {
    Ok(RecordedAction {
        at: from_ms(row.created_at)?,
        action: OperatorAction {
            actor: row.actor,
            command: row.command,
        },
    })
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Inserts the record of `action` through `conn` (the transaction of the change it made).
pub(crate) async fn record(
    conn: &impl ConnectionTrait,
    action: &OperatorAction,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    operator_actions::Entity::insert(operator_actions::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        actor: Set(cut(&action.actor, MAX_ACTOR)),
        command: Set(cut(&action.command, MAX_COMMAND)),
        created_at: Set(to_ms(now)),
    })
    .exec_without_returning(conn)
    .await?;
    Ok(())
}

impl SqlStore {
    /// Records an operator action that is not one transaction of its own (`keys rotate`, which
    /// runs in batches, is recorded as it starts; `kyc decide` once decided).
    pub async fn record_operator_action(
        &self,
        action: &OperatorAction,
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        record(&self.db, action, now).await
    }

    /// The latest `limit` operator actions, newest first.
    pub async fn operator_actions(&self, limit: u64) -> Result<Vec<RecordedAction>, StorageError> {
        operator_actions::Entity::find()
            .order_by_desc(operator_actions::Column::CreatedAt)
            .order_by_desc(operator_actions::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?
            .into_iter()
            .map(recorded)
            .collect()
    }

    /// A page of operator actions, newest first (the console's audit page).
    pub async fn operator_actions_page(
        &self,
        seek: Seek,
        per_page: u64,
    ) -> Result<KeysetPage<RecordedAction>, StorageError> {
        let rows = actions_page(self.db.get_database_backend(), seek, per_page)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|row| {
                let id = row
                    .id
                    .parse()
                    .map_err(|_| StorageError::corrupt("operator_actions.id", Problem::NotUuid))?;
                Ok((
                    PageKey {
                        ms: row.created_at,
                        id,
                    },
                    row,
                ))
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        keyset::finish(rows, per_page, seek, |(k, _)| *k).try_map(|(_, row)| recorded(row))
    }

    /// The plan of an audit page's statement at `seek` (tests: which index serves it).
    pub async fn explain_operator_actions_page(
        &self,
        seek: Seek,
    ) -> Result<Vec<String>, StorageError> {
        let backend = self.db.get_database_backend();
        self.explain(actions_page(backend, seek, 25).build(backend))
            .await
    }
}
