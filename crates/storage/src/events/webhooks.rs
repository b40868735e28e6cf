//! Webhook endpoints: created with a secret (`whsec_` + base64 of 32 random bytes, sealed
//! like the SSN and shown once), listed, updated (re-enabling a disabled one), deleted, their
//! secret rotated with an overlap; and resends of an event.

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use domain::{
    EventId, EventQuery, EventType, NewWebhook, PageRequest, ProgramId, WebhookId, WebhookStatus,
    WebhookUpdate, WebhookUrl,
};
use sea_orm::{
    ActiveValue::Set, ColumnTrait as _, ConnectionTrait, EntityTrait as _, PaginatorTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _,
};

use super::entity::{events, webhook_deliveries, webhook_endpoints};
use super::reads::{Attempt, StoredEvent};
use super::{Sequenced, Subject, delivery_row, takes};
use crate::SqlStore;
use crate::along::{Along, Outcome};
use crate::crypto::{Aad, CryptoError};
use crate::error::{Entity, Problem, StorageError};
use crate::page::Page;
use crate::secret::SecretString;
use crate::time::{from_ms, to_ms, truncate};

/// A webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    /// Its id.
    pub id: WebhookId,
    /// Where events are posted.
    pub url: WebhookUrl,
    /// The types it takes; `None` for every type.
    pub event_types: Option<Vec<EventType>>,
    /// Whether it receives deliveries.
    pub status: WebhookStatus,
    /// Why it is disabled: `requested`, `gone` (it answered 410) or `failing` (5 days).
    pub disabled_reason: Option<String>,
    /// Until when the previous secret still signs beside the current one.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Last changed.
    pub updated_at: DateTime<Utc>,
    /// The new secret: only in the answer of a create or a rotation (shown once).
    pub secret: Option<SecretString>,
}

/// Webhook endpoints and the event log of a program.
#[async_trait]
pub trait WebhookRepository: Send + Sync {
    /// Creates an endpoint with a new secret (in the answer only), with what comes `along`.
    async fn create_webhook(
        &self,
        program: ProgramId,
        id: WebhookId,
        new: &NewWebhook,
        now: DateTime<Utc>,
        along: Along<Webhook>,
    ) -> Result<Outcome<Webhook>, StorageError>;
    /// One endpoint of the program.
    async fn get_webhook(
        &self,
        program: ProgramId,
        id: WebhookId,
    ) -> Result<Option<Webhook>, StorageError>;
    /// A page of the program's endpoints, newest first.
    async fn list_webhooks(
        &self,
        program: ProgramId,
        page: PageRequest,
    ) -> Result<Page<Webhook>, StorageError>;
    /// Changes an endpoint (re-enabling clears why it was disabled).
    async fn update_webhook(
        &self,
        program: ProgramId,
        id: WebhookId,
        update: &WebhookUpdate,
        now: DateTime<Utc>,
        along: Along<Webhook>,
    ) -> Result<Outcome<Webhook>, StorageError>;
    /// Deletes an endpoint with its pending deliveries; answers it as it was.
    async fn delete_webhook(
        &self,
        program: ProgramId,
        id: WebhookId,
        now: DateTime<Utc>,
        along: Along<Webhook>,
    ) -> Result<Outcome<Webhook>, StorageError>;
    /// A new secret (in the answer only); the current one keeps signing until `now + overlap`.
    async fn rotate_webhook_secret(
        &self,
        program: ProgramId,
        id: WebhookId,
        overlap: chrono::Duration,
        now: DateTime<Utc>,
        along: Along<Webhook>,
    ) -> Result<Outcome<Webhook>, StorageError>;
    /// A page of the program's events, newest first.
    async fn list_events(
        &self,
        program: ProgramId,
        query: &EventQuery,
    ) -> Result<Page<StoredEvent>, StorageError>;
    /// One event of the program with its delivery attempts.
    async fn get_event(
        &self,
        program: ProgramId,
        id: EventId,
    ) -> Result<Option<(StoredEvent, Vec<Attempt>)>, StorageError>;
    /// Delivers an event again: to `webhook`, or to every enabled endpoint that takes its
    /// type. Answers the event.
    async fn resend_event(
        &self,
        program: ProgramId,
        id: EventId,
        webhook: Option<WebhookId>,
        now: DateTime<Utc>,
        along: Along<StoredEvent>,
    ) -> Result<Outcome<StoredEvent>, StorageError>;
}

/// Where a secret's ciphertext belongs (`secret_ciphertext` or `old_secret_ciphertext`).
pub(crate) fn secret_aad<'a>(column: &'a str, id: &'a str) -> Aad<'a> {
    Aad {
        table: "webhook_endpoints",
        column,
        row_id: id,
    }
}

/// A new secret: `whsec_` and the base64 of 32 random bytes.
fn new_secret() -> Result<SecretString, StorageError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut_slice()).map_err(|_| CryptoError::Rng)?;
    Ok(SecretString::new(format!(
        "whsec_{}",
        STANDARD.encode(bytes.as_slice())
    )))
}

fn types_column(types: Option<&[EventType]>) -> Option<String> {
    types.map(|t| {
        serde_json::Value::from(t.iter().map(|t| t.as_str()).collect::<Vec<_>>()).to_string()
    })
}

pub(crate) fn webhook(row: &webhook_endpoints::Model) -> Result<Webhook, StorageError> {
    let id = uuid::Uuid::parse_str(&row.id)
        .map_err(|_| StorageError::corrupt("webhook_endpoints.id", Problem::NotUuid))?;
    let event_types = match &row.event_types {
        None => None,
        Some(list) => Some(
            serde_json::from_str::<Vec<String>>(list)
                .map_err(|_| {
                    StorageError::corrupt("webhook_endpoints.event_types", Problem::NotJson)
                })?
                .iter()
                .map(|t| EventType::parse(t))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StorageError::corrupt("webhook_endpoints.event_types", e))?,
        ),
    };
    let status = WebhookStatus::parse(&row.status)
        .map_err(|e| StorageError::corrupt("webhook_endpoints.status", e))?;
    Ok(Webhook {
        id: WebhookId::from_uuid(id),
        url: WebhookUrl::restore(row.url.clone()),
        event_types,
        status,
        disabled_reason: row.disabled_reason.clone(),
        previous_secret_expires_at: row.old_secret_until.map(from_ms).transpose()?,
        created_at: from_ms(row.created_at)?,
        updated_at: from_ms(row.updated_at)?,
        secret: None,
    })
}

async fn find(
    conn: &impl ConnectionTrait,
    program: ProgramId,
    id: WebhookId,
) -> Result<Option<webhook_endpoints::Model>, StorageError> {
    Ok(webhook_endpoints::Entity::find_by_id(id.uuid().to_string())
        .filter(webhook_endpoints::Column::ProgramId.eq(program.uuid().to_string()))
        .one(conn)
        .await?)
}

async fn found(
    conn: &impl ConnectionTrait,
    program: ProgramId,
    id: WebhookId,
) -> Result<webhook_endpoints::Model, StorageError> {
    find(conn, program, id)
        .await?
        .ok_or(StorageError::NotFound(Entity::Webhook))
}

#[async_trait]
impl WebhookRepository for SqlStore {
    async fn create_webhook(
        &self,
        program: ProgramId,
        id: WebhookId,
        new: &NewWebhook,
        now: DateTime<Utc>,
        along: Along<Webhook>,
    ) -> Result<Outcome<Webhook>, StorageError> {
        let now = truncate(now);
        let row_id = id.uuid().to_string();
        let secret = new_secret()?;
        let sealed = self.keys.seal(
            secret.expose().as_bytes(),
            secret_aad("secret_ciphertext", &row_id),
        )?;
        let row = webhook_endpoints::ActiveModel {
            id: Set(row_id.clone()),
            program_id: Set(program.uuid().to_string()),
            url: Set(new.url().as_str().to_owned()),
            event_types: Set(types_column(new.event_types())),
            status: Set(WebhookStatus::Enabled.as_str().to_owned()),
            disabled_reason: Set(None),
            secret_ciphertext: Set(sealed.bytes),
            secret_key_id: Set(sealed.key_id),
            old_secret_ciphertext: Set(None),
            old_secret_key_id: Set(None),
            old_secret_until: Set(None),
            failing_since: Set(None),
            created_at: Set(to_ms(now)),
            updated_at: Set(to_ms(now)),
        };
        let Some(txn) = self.begin_along(&along).await? else {
            return Ok(Outcome::Replayed);
        };
        let written = async {
            webhook_endpoints::Entity::insert(row.clone())
                .exec_without_returning(&txn)
                .await?;
            let mut created = webhook(&found(&txn, program, id).await?)?;
            created.secret = Some(secret);
            Ok(created)
        }
        .await;
        self.commit_along(txn, program, &along, written).await
    }

    async fn get_webhook(
        &self,
        program: ProgramId,
        id: WebhookId,
    ) -> Result<Option<Webhook>, StorageError> {
        find(&self.db, program, id)
            .await?
            .as_ref()
            .map(webhook)
            .transpose()
    }

    async fn list_webhooks(
        &self,
        program: ProgramId,
        page: PageRequest,
    ) -> Result<Page<Webhook>, StorageError> {
        let select = webhook_endpoints::Entity::find()
            .filter(webhook_endpoints::Column::ProgramId.eq(program.uuid().to_string()));
        let total = select.clone().count(&self.db).await?;
        let rows = select
            .order_by_desc(webhook_endpoints::Column::CreatedAt)
            .order_by_desc(webhook_endpoints::Column::Id)
            .offset(page.offset())
            .limit(page.per_page())
            .all(&self.db)
            .await?;
        Ok(Page {
            items: rows.iter().map(webhook).collect::<Result<_, _>>()?,
            total,
            // Counted exactly: an event log or a program's endpoints, filtered by indexed
            // columns.
            total_is_estimate: false,
        })
    }

    async fn update_webhook(
        &self,
        program: ProgramId,
        id: WebhookId,
        update: &WebhookUpdate,
        now: DateTime<Utc>,
        along: Along<Webhook>,
    ) -> Result<Outcome<Webhook>, StorageError> {
        let now = truncate(now);
        let Some(txn) = self.begin_along(&along).await? else {
            return Ok(Outcome::Replayed);
        };
        let written = async {
            found(&txn, program, id).await?;
            let mut change = webhook_endpoints::Entity::update_many()
                .col_expr(webhook_endpoints::Column::UpdatedAt, to_ms(now).into());
            if let Some(url) = &update.url {
                change = change.col_expr(webhook_endpoints::Column::Url, url.as_str().into());
            }
            if let Some(types) = &update.event_types {
                change = change.col_expr(
                    webhook_endpoints::Column::EventTypes,
                    types_column(types.as_deref()).into(),
                );
            }
            if let Some(status) = update.status {
                let reason = match status {
                    WebhookStatus::Enabled => None,
                    WebhookStatus::Disabled => Some("requested".to_owned()),
                };
                change = change
                    .col_expr(webhook_endpoints::Column::Status, status.as_str().into())
                    .col_expr(webhook_endpoints::Column::DisabledReason, reason.into())
                    .col_expr(
                        webhook_endpoints::Column::FailingSince,
                        Option::<i64>::None.into(),
                    );
            }
            change
                .filter(webhook_endpoints::Column::Id.eq(id.uuid().to_string()))
                .exec(&txn)
                .await?;
            webhook(&found(&txn, program, id).await?)
        }
        .await;
        self.commit_along(txn, program, &along, written).await
    }

    async fn delete_webhook(
        &self,
        program: ProgramId,
        id: WebhookId,
        _now: DateTime<Utc>,
        along: Along<Webhook>,
    ) -> Result<Outcome<Webhook>, StorageError> {
        let Some(txn) = self.begin_along(&along).await? else {
            return Ok(Outcome::Replayed);
        };
        let written = async {
            let row = found(&txn, program, id).await?;
            // Its deliveries and their attempts go with it (foreign keys cascade; deleted
            // here too for databases that do not enforce them).
            webhook_deliveries::Entity::delete_many()
                .filter(webhook_deliveries::Column::EndpointId.eq(row.id.clone()))
                .exec(&txn)
                .await?;
            webhook_endpoints::Entity::delete_by_id(row.id.clone())
                .exec(&txn)
                .await?;
            webhook(&row)
        }
        .await;
        self.commit_along(txn, program, &along, written).await
    }

    async fn rotate_webhook_secret(
        &self,
        program: ProgramId,
        id: WebhookId,
        overlap: chrono::Duration,
        now: DateTime<Utc>,
        along: Along<Webhook>,
    ) -> Result<Outcome<Webhook>, StorageError> {
        let now = truncate(now);
        let row_id = id.uuid().to_string();
        let secret = new_secret()?;
        let Some(txn) = self.begin_along(&along).await? else {
            return Ok(Outcome::Replayed);
        };
        let written = async {
            let row = found(&txn, program, id).await?;
            let current = self.keys.open(
                &row.secret_key_id,
                &row.secret_ciphertext,
                secret_aad("secret_ciphertext", &row_id),
            )?;
            let old = self
                .keys
                .seal(&current, secret_aad("old_secret_ciphertext", &row_id))?;
            let sealed = self.keys.seal(
                secret.expose().as_bytes(),
                secret_aad("secret_ciphertext", &row_id),
            )?;
            webhook_endpoints::Entity::update_many()
                .col_expr(
                    webhook_endpoints::Column::SecretCiphertext,
                    sealed.bytes.into(),
                )
                .col_expr(webhook_endpoints::Column::SecretKeyId, sealed.key_id.into())
                .col_expr(
                    webhook_endpoints::Column::OldSecretCiphertext,
                    old.bytes.into(),
                )
                .col_expr(webhook_endpoints::Column::OldSecretKeyId, old.key_id.into())
                .col_expr(
                    webhook_endpoints::Column::OldSecretUntil,
                    to_ms(now + overlap).into(),
                )
                .col_expr(webhook_endpoints::Column::UpdatedAt, to_ms(now).into())
                .filter(webhook_endpoints::Column::Id.eq(row_id.clone()))
                .exec(&txn)
                .await?;
            let mut rotated = webhook(&found(&txn, program, id).await?)?;
            rotated.secret = Some(secret);
            Ok(rotated)
        }
        .await;
        self.commit_along(txn, program, &along, written).await
    }

    async fn list_events(
        &self,
        program: ProgramId,
        query: &EventQuery,
    ) -> Result<Page<StoredEvent>, StorageError> {
        self.list_events_page(program, query).await
    }

    async fn get_event(
        &self,
        program: ProgramId,
        id: EventId,
    ) -> Result<Option<(StoredEvent, Vec<Attempt>)>, StorageError> {
        self.get_event_with_attempts(program, id).await
    }

    async fn resend_event(
        &self,
        program: ProgramId,
        id: EventId,
        webhook_id: Option<WebhookId>,
        now: DateTime<Utc>,
        along: Along<StoredEvent>,
    ) -> Result<Outcome<StoredEvent>, StorageError> {
        let now = truncate(now);
        let Some(txn) = self.begin_along(&along).await? else {
            return Ok(Outcome::Replayed);
        };
        let written = async {
            let row = events::Entity::find_by_id(id.uuid().to_string())
                .filter(events::Column::ProgramId.eq(program.uuid().to_string()))
                .one(&txn)
                .await?
                .ok_or(StorageError::NotFound(Entity::Event))?;
            let stored = super::reads::event(&row)?;
            let endpoints: Vec<String> = match webhook_id {
                Some(w) => vec![found(&txn, program, w).await?.id],
                None => webhook_endpoints::Entity::find()
                    .filter(webhook_endpoints::Column::ProgramId.eq(program.uuid().to_string()))
                    .filter(webhook_endpoints::Column::Status.eq("enabled"))
                    .all(&txn)
                    .await?
                    .into_iter()
                    .filter(|e| takes(e.event_types.as_deref(), stored.event_type))
                    .map(|e| e.id)
                    .collect(),
            };
            let subject = match row.entity_type.as_str() {
                "business" => {
                    Subject::Business(domain::BusinessId::from_uuid(parse_uuid(&row.entity_id)?))
                }
                _ => Subject::User(domain::UserId::from_uuid(parse_uuid(&row.entity_id)?)),
            };
            // A new delivery, due now; its lag counts from the resend, not from the event.
            let again = Sequenced {
                id,
                sequence: row.sequence,
                at: now,
                event: super::NewEvent {
                    program,
                    subject,
                    event_type: stored.event_type,
                    object: serde_json::Value::Null,
                    previous: serde_json::Map::new(),
                    actor: String::new(),
                    request_id: None,
                    idempotency_key: None,
                    extra: serde_json::Map::new(),
                },
            };
            let rows: Vec<_> = endpoints.iter().map(|e| delivery_row(&again, e)).collect();
            super::insert_deliveries(&txn, rows).await?;
            Ok(stored)
        }
        .await;
        self.commit_along(txn, program, &along, written).await
    }
}

fn parse_uuid(s: &str) -> Result<uuid::Uuid, StorageError> {
    uuid::Uuid::parse_str(s)
        .map_err(|_| StorageError::corrupt("events.entity_id", Problem::NotUuid))
}
