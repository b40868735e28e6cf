//! Failed console logins, counted per account and per address in the database (so that every
//! instance counts the same failures): a subject with `max` failures inside its window is
//! refused until the window ends. Subjects are stored as keyed digests, never as an email or
//! an address.

use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{ActiveValue::Set, ColumnTrait as _, EntityTrait as _, QueryFilter as _};

use super::entity::console_login_throttle;
use crate::SqlStore;
use crate::error::StorageError;
use crate::time::to_ms;

/// One limit on failed logins: at most `max` failures of `subject` within `window`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleRule {
    /// `account` or `address`.
    pub kind: &'static str,
    /// The email (lowercased) or the client address.
    pub subject: String,
    /// Failures allowed in a window.
    pub max: u32,
    /// The window.
    pub window: Duration,
}

impl SqlStore {
    fn throttle_key(&self, rule: &ThrottleRule) -> String {
        let digest = self
            .keys
            .blind_index("console_login_throttle", rule.subject.as_bytes());
        format!("{}:{}", rule.kind, &digest[..digest.len().min(64)])
    }

    /// The first rule whose subject has used up its failures in the current window.
    pub async fn login_throttled<'r>(
        &self,
        rules: &'r [ThrottleRule],
        now: DateTime<Utc>,
    ) -> Result<Option<&'r ThrottleRule>, StorageError> {
        for rule in rules {
            let row = console_login_throttle::Entity::find_by_id(self.throttle_key(rule))
                .one(&self.db)
                .await?;
            if let Some(row) = row {
                let open = row.window_started_at + rule.window.num_milliseconds() > to_ms(now);
                if open && i64::from(row.failures) >= i64::from(rule.max) {
                    return Ok(Some(rule));
                }
            }
        }
        Ok(None)
    }

    /// Counts one failed login against every rule's subject.
    pub async fn record_login_failure(
        &self,
        rules: &[ThrottleRule],
        now: DateTime<Utc>,
    ) -> Result<(), StorageError> {
        let now_ms = to_ms(now);
        for rule in rules {
            let key = self.throttle_key(rule);
            let window_start = now_ms - rule.window.num_milliseconds();
            // A window that ended starts again at one failure.
            let restarted = console_login_throttle::Entity::update_many()
                .col_expr(console_login_throttle::Column::Failures, 1.into())
                .col_expr(
                    console_login_throttle::Column::WindowStartedAt,
                    now_ms.into(),
                )
                .filter(console_login_throttle::Column::ThrottleKey.eq(key.clone()))
                .filter(console_login_throttle::Column::WindowStartedAt.lte(window_start))
                .exec(&self.db)
                .await?;
            if restarted.rows_affected > 0 {
                continue;
            }
            let counted = console_login_throttle::Entity::update_many()
                .col_expr(
                    console_login_throttle::Column::Failures,
                    Expr::col(console_login_throttle::Column::Failures).add(1),
                )
                .filter(console_login_throttle::Column::ThrottleKey.eq(key.clone()))
                .exec(&self.db)
                .await?;
            if counted.rows_affected > 0 {
                continue;
            }
            let inserted =
                console_login_throttle::Entity::insert(console_login_throttle::ActiveModel {
                    throttle_key: Set(key.clone()),
                    failures: Set(1),
                    window_started_at: Set(now_ms),
                })
                .exec_without_returning(&self.db)
                .await;
            if inserted.is_err() {
                // Another instance inserted it first: count on its row.
                console_login_throttle::Entity::update_many()
                    .col_expr(
                        console_login_throttle::Column::Failures,
                        Expr::col(console_login_throttle::Column::Failures).add(1),
                    )
                    .filter(console_login_throttle::Column::ThrottleKey.eq(key))
                    .exec(&self.db)
                    .await?;
            }
        }
        Ok(())
    }

    /// Forgets the failures of a rule's subject (an account after a successful login).
    pub async fn clear_login_failures(&self, rule: &ThrottleRule) -> Result<(), StorageError> {
        console_login_throttle::Entity::delete_many()
            .filter(console_login_throttle::Column::ThrottleKey.eq(self.throttle_key(rule)))
            .exec(&self.db)
            .await?;
        Ok(())
    }
}
