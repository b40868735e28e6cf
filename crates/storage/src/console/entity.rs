//! SeaORM entities of the console tables (migration 15), private to storage.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, sea_orm::EnumIter, sea_orm::DeriveRelation)]
        pub(crate) enum Relation {}
        impl sea_orm::ActiveModelBehavior for ActiveModel {}
    };
}

pub(crate) mod console_operators {
    //! `console_operators`: who may log in to the console.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "console_operators")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) email: String,
        pub(crate) email_key: String,
        pub(crate) role: String,
        pub(crate) password_hash: String,
        pub(crate) totp_ciphertext: Vec<u8>,
        pub(crate) totp_key_id: String,
        pub(crate) totp_last_step: Option<i64>,
        pub(crate) disabled_at: Option<i64>,
        pub(crate) created_at: i64,
        pub(crate) updated_at: i64,
        /// When its latest session was opened (migration 17).
        pub(crate) last_login_at: Option<i64>,
    }
    no_relations!();
}

pub(crate) mod console_sessions {
    //! `console_sessions`: open sessions, by the SHA-256 of their opaque id.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "console_sessions")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id_hash: String,
        pub(crate) operator_id: String,
        pub(crate) created_at: i64,
        pub(crate) last_seen_at: i64,
        pub(crate) expires_at: i64,
    }
    no_relations!();
}

pub(crate) mod console_login_throttle {
    //! `console_login_throttle`: failed logins per account or address in the current window.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "console_login_throttle")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) throttle_key: String,
        pub(crate) failures: i32,
        pub(crate) window_started_at: i64,
    }
    no_relations!();
}
