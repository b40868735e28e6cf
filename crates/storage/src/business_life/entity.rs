//! The SeaORM entities of migration 12, private to this crate: `business_owners` and
//! `business_events`.

pub(crate) mod business_owners {
    //! `business_owners`: the beneficial owners of a business.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "business_owners")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) program_id: String,
        pub(crate) business_id: String,
        pub(crate) user_id: String,
        pub(crate) ownership_hundredths: i32,
        pub(crate) title: String,
        /// The business id for its control person, NULL otherwise (unique).
        pub(crate) control_person_of: Option<String>,
        pub(crate) created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub(crate) enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}

pub(crate) mod business_events {
    //! `business_events`: the audit trail of a business.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "business_events")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) program_id: String,
        pub(crate) business_id: String,
        pub(crate) kind: String,
        pub(crate) from_state: Option<String>,
        pub(crate) to_state: Option<String>,
        pub(crate) subject: Option<String>,
        pub(crate) reason: Option<String>,
        pub(crate) actor: String,
        pub(crate) created_at: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub(crate) enum Relation {}
    impl ActiveModelBehavior for ActiveModel {}
}
