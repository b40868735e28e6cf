//! SeaORM entities of the screening tables (migration 13), private to storage.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, sea_orm::EnumIter, sea_orm::DeriveRelation)]
        pub(crate) enum Relation {}
        impl sea_orm::ActiveModelBehavior for ActiveModel {}
    };
}

pub(crate) mod screening_lists {
    //! `screening_lists`: loaded list versions with their files.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "screening_lists")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) sha256: String,
        pub(crate) sdn_csv: Vec<u8>,
        pub(crate) alt_csv: Vec<u8>,
        pub(crate) add_csv: Vec<u8>,
        pub(crate) entries: i32,
        pub(crate) aliases: i32,
        pub(crate) addresses: i32,
        pub(crate) skipped: i32,
        pub(crate) loaded_by: String,
        pub(crate) loaded_at: i64,
    }
    no_relations!();
}

pub(crate) mod screening_state {
    //! `screening_state`: the current list and the rescreen's lease (one row, `id = 1`).
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "screening_state")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: i32,
        pub(crate) current_list_id: String,
        pub(crate) rescreen_holder: Option<String>,
        pub(crate) rescreen_until: Option<i64>,
        pub(crate) rescreen_done_at: Option<i64>,
        pub(crate) rescreen_cursor: Option<String>,
    }
    no_relations!();
}

pub(crate) mod screenings {
    //! `screenings`: every screening of a user and its decision.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "screenings")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) program_id: String,
        pub(crate) user_id: String,
        pub(crate) list_id: String,
        pub(crate) cause: String,
        pub(crate) score: Option<f64>,
        pub(crate) entry_number: Option<i32>,
        pub(crate) entry_name: Option<String>,
        pub(crate) outcome: String,
        pub(crate) decision: Option<String>,
        pub(crate) decided_by: Option<String>,
        pub(crate) decision_reason: Option<String>,
        pub(crate) decided_at: Option<i64>,
        pub(crate) created_at: i64,
    }
    no_relations!();
}

pub(crate) mod screening_subjects {
    //! `screening_subjects`: each screened user's status and last list.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "screening_subjects")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) user_id: String,
        pub(crate) program_id: String,
        pub(crate) status: String,
        pub(crate) list_id: String,
        pub(crate) screening_id: String,
        pub(crate) updated_at: i64,
    }
    no_relations!();
}
