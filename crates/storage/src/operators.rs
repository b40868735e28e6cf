//! The record of operator actions (`operator_actions`): who ran which command, and when.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, EntityTrait as _, QueryOrder as _, QuerySelect as _,
};

use crate::SqlStore;
use crate::entity::operator_actions;
use crate::error::StorageError;
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
            .map(|row| {
                Ok(RecordedAction {
                    at: from_ms(row.created_at)?,
                    action: OperatorAction {
                        actor: row.actor,
                        command: row.command,
                    },
                })
            })
            .collect()
    }
}
