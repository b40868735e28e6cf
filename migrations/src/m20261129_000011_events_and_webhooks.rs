//! Migration 11: the event outbox (`events`, written in the transaction of every change) and
//! webhooks (`webhook_endpoints`, `webhook_deliveries` claimed with a lease, and
//! `webhook_attempts`, the delivery log).

use sea_orm_migration::prelude::*;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

// `async_trait` needs the trait's elided `&SchemaManager` (see migration 4).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let backend = manager.get_database_backend();
        crate::create_table(manager, events_table(backend)).await?;
        for (name, cols) in [
            (
                "idx_events_program_created",
                vec![Events::ProgramId, Events::CreatedAt],
            ),
            (
                "idx_events_entity_created",
                vec![Events::EntityId, Events::CreatedAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(Events::Table);
            for col in cols {
                index.col(col);
            }
            manager.create_index(index).await?;
        }
        crate::create_table(manager, endpoints_table()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_endpoints_program")
                    .table(WebhookEndpoints::Table)
                    .col(WebhookEndpoints::ProgramId)
                    .col(WebhookEndpoints::CreatedAt)
                    .to_owned(),
            )
            .await?;
        crate::create_table(manager, deliveries_table()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::State)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_deliveries_order")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::EndpointId)
                    .col(WebhookDeliveries::EntityId)
                    .col(WebhookDeliveries::Sequence)
                    .to_owned(),
            )
            .await?;
        crate::create_table(manager, attempts_table()).await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_webhook_attempts_event")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::EventId)
                    .col(WebhookAttempts::AttemptedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
            Events::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

fn id(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).string_len(36).not_null().to_owned()
}

fn millis(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).big_integer().not_null().to_owned()
}

fn program_fk(
    table: impl IntoIden + Clone,
    name: &str,
    col: impl IntoIden,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, col)
        .to(Programs::Table, Programs::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

fn events_table(backend: sea_orm::DbBackend) -> TableCreateStatement {
    // The body as delivered: up to 16 MiB on MySQL/MariaDB (`TEXT` stops at 64 KiB).
    let mut body = ColumnDef::new(Events::Body);
    if backend == sea_orm::DbBackend::MySql {
        body.custom(Alias::new("MEDIUMTEXT"));
    } else {
        body.text();
    }
    body.not_null();
    Table::create()
        .table(Events::Table)
        .col(id(Events::Id).primary_key().to_owned())
        .col(id(Events::ProgramId))
        .col(ColumnDef::new(Events::EntityType).string_len(16).not_null())
        .col(id(Events::EntityId))
        .col(ColumnDef::new(Events::Sequence).big_integer().not_null())
        .col(ColumnDef::new(Events::EventType).string_len(64).not_null())
        .col(body)
        .col(millis(Events::CreatedAt))
        .index(
            Index::create()
                .name("uq_events_entity_sequence")
                .unique()
                .col(Events::EntityId)
                .col(Events::Sequence),
        )
        .foreign_key(&mut program_fk(
            Events::Table,
            "fk_events_program_id",
            Events::ProgramId,
        ))
        .to_owned()
}

fn endpoints_table() -> TableCreateStatement {
    Table::create()
        .table(WebhookEndpoints::Table)
        .col(id(WebhookEndpoints::Id).primary_key().to_owned())
        .col(id(WebhookEndpoints::ProgramId))
        .col(
            ColumnDef::new(WebhookEndpoints::Url)
                .string_len(2048)
                .not_null(),
        )
        // A JSON list of event types; `null` for every type.
        .col(
            ColumnDef::new(WebhookEndpoints::EventTypes)
                .string_len(2048)
                .null(),
        )
        .col(
            ColumnDef::new(WebhookEndpoints::Status)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(WebhookEndpoints::DisabledReason)
                .string_len(32)
                .null(),
        )
        .col(
            ColumnDef::new(WebhookEndpoints::SecretCiphertext)
                .blob()
                .not_null(),
        )
        .col(
            ColumnDef::new(WebhookEndpoints::SecretKeyId)
                .string_len(32)
                .not_null(),
        )
        .col(
            ColumnDef::new(WebhookEndpoints::OldSecretCiphertext)
                .blob()
                .null(),
        )
        .col(
            ColumnDef::new(WebhookEndpoints::OldSecretKeyId)
                .string_len(32)
                .null(),
        )
        .col(
            ColumnDef::new(WebhookEndpoints::OldSecretUntil)
                .big_integer()
                .null(),
        )
        .col(
            ColumnDef::new(WebhookEndpoints::FailingSince)
                .big_integer()
                .null(),
        )
        .col(millis(WebhookEndpoints::CreatedAt))
        .col(millis(WebhookEndpoints::UpdatedAt))
        .foreign_key(&mut program_fk(
            WebhookEndpoints::Table,
            "fk_webhook_endpoints_program_id",
            WebhookEndpoints::ProgramId,
        ))
        .to_owned()
}

fn deliveries_table() -> TableCreateStatement {
    Table::create()
        .table(WebhookDeliveries::Table)
        .col(id(WebhookDeliveries::Id).primary_key().to_owned())
        .col(id(WebhookDeliveries::ProgramId))
        .col(id(WebhookDeliveries::EventId))
        .col(id(WebhookDeliveries::EndpointId))
        .col(id(WebhookDeliveries::EntityId))
        .col(
            ColumnDef::new(WebhookDeliveries::Sequence)
                .big_integer()
                .not_null(),
        )
        // `pending`, `delivered` or `failed`.
        .col(
            ColumnDef::new(WebhookDeliveries::State)
                .string_len(16)
                .not_null(),
        )
        .col(
            ColumnDef::new(WebhookDeliveries::Attempts)
                .integer()
                .not_null(),
        )
        .col(millis(WebhookDeliveries::NextAttemptAt))
        .col(
            ColumnDef::new(WebhookDeliveries::LeaseOwner)
                .string_len(36)
                .null(),
        )
        .col(
            ColumnDef::new(WebhookDeliveries::LeaseUntil)
                .big_integer()
                .null(),
        )
        .col(millis(WebhookDeliveries::EventCreatedAt))
        .col(millis(WebhookDeliveries::CreatedAt))
        .col(
            ColumnDef::new(WebhookDeliveries::FinishedAt)
                .big_integer()
                .null(),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_webhook_deliveries_event_id")
                .from(WebhookDeliveries::Table, WebhookDeliveries::EventId)
                .to(Events::Table, Events::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .foreign_key(
            ForeignKey::create()
                .name("fk_webhook_deliveries_endpoint_id")
                .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

fn attempts_table() -> TableCreateStatement {
    Table::create()
        .table(WebhookAttempts::Table)
        .col(id(WebhookAttempts::Id).primary_key().to_owned())
        .col(id(WebhookAttempts::DeliveryId))
        .col(id(WebhookAttempts::EventId))
        .col(id(WebhookAttempts::EndpointId))
        .col(millis(WebhookAttempts::AttemptedAt))
        .col(ColumnDef::new(WebhookAttempts::StatusCode).integer().null())
        .col(
            ColumnDef::new(WebhookAttempts::Error)
                .string_len(256)
                .null(),
        )
        .col(millis(WebhookAttempts::DurationMs))
        .foreign_key(
            ForeignKey::create()
                .name("fk_webhook_attempts_delivery_id")
                .from(WebhookAttempts::Table, WebhookAttempts::DeliveryId)
                .to(WebhookDeliveries::Table, WebhookDeliveries::Id)
                .on_delete(ForeignKeyAction::Cascade),
        )
        .to_owned()
}

#[derive(DeriveIden)]
enum Programs {
    Table,
    Id,
}

#[derive(DeriveIden, Clone, Copy)]
enum Events {
    Table,
    Id,
    ProgramId,
    EntityType,
    EntityId,
    Sequence,
    EventType,
    Body,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookEndpoints {
    Table,
    Id,
    ProgramId,
    Url,
    EventTypes,
    Status,
    DisabledReason,
    SecretCiphertext,
    SecretKeyId,
    OldSecretCiphertext,
    OldSecretKeyId,
    OldSecretUntil,
    FailingSince,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookDeliveries {
    Table,
    Id,
    ProgramId,
    EventId,
    EndpointId,
    EntityId,
    Sequence,
    State,
    Attempts,
    NextAttemptAt,
    LeaseOwner,
    LeaseUntil,
    EventCreatedAt,
    CreatedAt,
    FinishedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    EventId,
    EndpointId,
    AttemptedAt,
    StatusCode,
    Error,
    DurationMs,
}
