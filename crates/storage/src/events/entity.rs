//! SeaORM entities of the event outbox and webhooks (migration 11), private to this crate.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, sea_orm::EnumIter, sea_orm::DeriveRelation)]
        pub(crate) enum Relation {}
        impl sea_orm::ActiveModelBehavior for ActiveModel {}
    };
}

pub(crate) mod events {
    //! `events`: the outbox, one row per change, with the body as delivered.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "events")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) program_id: String,
        pub(crate) entity_type: String,
        pub(crate) entity_id: String,
        pub(crate) sequence: i64,
        pub(crate) event_type: String,
        pub(crate) body: String,
        pub(crate) created_at: i64,
    }
    no_relations!();
}

pub(crate) mod webhook_endpoints {
    //! `webhook_endpoints`: where a program's events are delivered, the secret sealed.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_endpoints")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) program_id: String,
        pub(crate) url: String,
        pub(crate) event_types: Option<String>,
        pub(crate) status: String,
        pub(crate) disabled_reason: Option<String>,
        pub(crate) secret_ciphertext: Vec<u8>,
        pub(crate) secret_key_id: String,
        pub(crate) old_secret_ciphertext: Option<Vec<u8>>,
        pub(crate) old_secret_key_id: Option<String>,
        pub(crate) old_secret_until: Option<i64>,
        pub(crate) failing_since: Option<i64>,
        pub(crate) created_at: i64,
        pub(crate) updated_at: i64,
    }
    no_relations!();
}

pub(crate) mod webhook_deliveries {
    //! `webhook_deliveries`: one event to one endpoint, claimed with a lease.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_deliveries")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) program_id: String,
        pub(crate) event_id: String,
        pub(crate) endpoint_id: String,
        pub(crate) entity_id: String,
        pub(crate) sequence: i64,
        pub(crate) state: String,
        pub(crate) attempts: i32,
        pub(crate) next_attempt_at: i64,
        pub(crate) lease_owner: Option<String>,
        pub(crate) lease_until: Option<i64>,
        pub(crate) event_created_at: i64,
        pub(crate) created_at: i64,
        pub(crate) finished_at: Option<i64>,
    }
    no_relations!();
}

pub(crate) mod webhook_attempts {
    //! `webhook_attempts`: the delivery log.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_attempts")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) delivery_id: String,
        pub(crate) event_id: String,
        pub(crate) endpoint_id: String,
        pub(crate) attempted_at: i64,
        pub(crate) status_code: Option<i32>,
        pub(crate) error: Option<String>,
        pub(crate) duration_ms: i64,
    }
    no_relations!();
}
