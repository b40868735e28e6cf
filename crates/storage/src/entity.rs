//! SeaORM entities, private to this crate: one module per table of the migrations.

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, sea_orm::EnumIter, sea_orm::DeriveRelation)]
        pub(crate) enum Relation {}
        impl sea_orm::ActiveModelBehavior for ActiveModel {}
    };
}

pub(crate) mod programs {
    //! `programs`: tenants.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "programs")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) name: String,
        pub(crate) created_at: i64,
        /// Set while the program is disabled: its credentials verify nothing.
        pub(crate) disabled_at: Option<i64>,
    }
    no_relations!();
}

pub(crate) mod operator_actions {
    //! `operator_actions`: who ran which operator command, and when.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "operator_actions")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) actor: String,
        pub(crate) command: String,
        pub(crate) created_at: i64,
    }
    no_relations!();
}

pub(crate) mod api_keys {
    //! `api_keys`: argon2id hashes of program API keys.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_keys")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) program_id: String,
        pub(crate) hash: String,
        pub(crate) lookup_digest: String,
        pub(crate) created_at: i64,
        pub(crate) revoked_at: Option<i64>,
    }
    no_relations!();
}

pub(crate) mod hmac_credentials {
    //! `hmac_credentials`: HMAC usernames and their encrypted secrets.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "hmac_credentials")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) username: String,
        pub(crate) program_id: String,
        pub(crate) secret_ciphertext: Vec<u8>,
        pub(crate) secret_key_id: String,
        pub(crate) created_at: i64,
        /// When the credential stops (or stopped) verifying; in the future while a rotated-out
        /// secret is still within its overlap.
        pub(crate) revoked_at: Option<i64>,
    }
    no_relations!();
}

pub(crate) mod users {
    //! `users`.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) program_id: String,
        pub(crate) first_name: String,
        pub(crate) middle_name: Option<String>,
        pub(crate) last_name: String,
        pub(crate) email: String,
        pub(crate) email_key: String,
        pub(crate) phone_number: String,
        pub(crate) address_one: String,
        pub(crate) address_two: Option<String>,
        pub(crate) city: String,
        pub(crate) state: String,
        pub(crate) country: String,
        pub(crate) postal_code: String,
        pub(crate) username: Option<String>,
        pub(crate) username_key: Option<String>,
        pub(crate) date_of_birth: Option<String>,
        pub(crate) ssn_ciphertext: Option<Vec<u8>>,
        pub(crate) ssn_key_id: Option<String>,
        pub(crate) ssn_blind_index: Option<String>,
        pub(crate) ssn_last_4: Option<String>,
        pub(crate) terms_accepted_at: Option<i64>,
        pub(crate) status: String,
        pub(crate) kyc_status: String,
        pub(crate) created_at: i64,
        pub(crate) updated_at: i64,
        /// Folded names, email, username and phone (`domain::search::SearchText::person`).
        pub(crate) search_text: String,
        /// Folded first name (short search terms are prefixes of it or of the last name).
        pub(crate) first_name_folded: String,
        /// Folded last name.
        pub(crate) last_name_folded: String,
        /// The sanctions screening status (migration 16), kept with each screening.
        pub(crate) screening_status: String,
    }
    no_relations!();
}

pub(crate) mod user_meta_data {
    //! `user_meta_data`: a user's `{name, value}` pairs in order.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_meta_data")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) user_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) position: i32,
        pub(crate) name: String,
        pub(crate) value: String,
    }
    no_relations!();
}

pub(crate) mod businesses {
    //! `businesses`.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "businesses")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) program_id: String,
        pub(crate) business_name: String,
        pub(crate) email: String,
        pub(crate) phone_number: String,
        pub(crate) address_one: String,
        pub(crate) address_two: Option<String>,
        pub(crate) city: String,
        pub(crate) state: String,
        pub(crate) zipcode: String,
        pub(crate) country: String,
        pub(crate) ein_ciphertext: Vec<u8>,
        pub(crate) ein_key_id: String,
        pub(crate) ein_blind_index: String,
        pub(crate) ein_last_4: String,
        pub(crate) business_type: Option<String>,
        pub(crate) incorporated_date: Option<String>,
        pub(crate) incorporated_state: Option<String>,
        pub(crate) status: String,
        pub(crate) kyb_status: String,
        pub(crate) dba: Option<String>,
        pub(crate) naics_code: Option<String>,
        pub(crate) business_industry: Option<String>,
        pub(crate) business_description: Option<String>,
        pub(crate) website: Option<String>,
        pub(crate) support_email: Option<String>,
        pub(crate) support_phone_number: Option<String>,
        /// Name, email and `dba`, case-folded (what `/business/get-all` searches).
        pub(crate) search_text: String,
        /// Beneficial owners on file, and their shares summed in hundredths of a percent.
        pub(crate) owners_count: i32,
        pub(crate) owners_hundredths: i32,
        pub(crate) created_at: i64,
        pub(crate) updated_at: i64,
    }
    no_relations!();
}

pub(crate) mod business_meta_data {
    //! `business_meta_data`: a business's `{name, value}` pairs in order.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "business_meta_data")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) business_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) position: i32,
        pub(crate) name: String,
        pub(crate) value: String,
    }
    no_relations!();
}

pub(crate) mod business_contacts {
    //! `business_contacts`: users linked to a business as customers or vendors.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "business_contacts")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) program_id: String,
        pub(crate) business_id: String,
        pub(crate) user_id: String,
        pub(crate) contact_type: String,
        pub(crate) created_at: i64,
    }
    no_relations!();
}

pub(crate) mod idempotency_records {
    //! `idempotency_records`: claimed idempotency keys and their first responses.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency_records")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) program_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) idempotency_key: String,
        pub(crate) request_digest: String,
        pub(crate) state: String,
        pub(crate) response_status: Option<i32>,
        pub(crate) response_body: Option<String>,
        pub(crate) created_at: i64,
        pub(crate) expires_at: i64,
    }
    no_relations!();
}

pub(crate) mod seen_signatures {
    //! `seen_signatures`: the replay guard's memory of accepted signatures.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "seen_signatures")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) signature_digest: String,
        pub(crate) program_id: String,
        pub(crate) expires_at: i64,
    }
    no_relations!();
}

pub(crate) mod user_events {
    //! `user_events`: the audit trail of status and KYC transitions.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_events")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) id: String,
        pub(crate) program_id: String,
        pub(crate) user_id: String,
        pub(crate) kind: String,
        pub(crate) from_state: String,
        pub(crate) to_state: String,
        pub(crate) reason: Option<String>,
        pub(crate) actor: String,
        pub(crate) created_at: i64,
    }
    no_relations!();
}

pub(crate) mod program_user_counts {
    //! `program_user_counts`: sharded user counts per program.
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "program_user_counts")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) program_id: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) shard: i32,
        pub(crate) users: i64,
    }
    no_relations!();
}

pub(crate) mod key_checks {
    //! `key_checks`: what each key id the database was written with seals (never the key).
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "key_checks")]
    pub(crate) struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub(crate) key_id: String,
        pub(crate) purpose: String,
        pub(crate) check_mac: String,
        pub(crate) created_at: i64,
    }
    no_relations!();
}
