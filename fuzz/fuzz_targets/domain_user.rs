//! Fuzz target, structure-aware: a `RawNewUser` built from edits of the seed user's fields
//! (`arbitrary`) through `NewUser::parse`; a parsed user must round-trip through
//! `User::create`/`User::restore`, and a partial update of it (`User::update`) must either
//! round-trip too or be refused with a 4xx.
#![no_main]

use actix_web::ResponseError as _;
use api::error::ApiError;
use arbitrary::Arbitrary;
use chrono::Duration;
use domain::fixtures::SeedUser;
use domain::{BusinessId, NewUser, ParseContext, RawMetaEntry, RawNewUser, User, UserChange};
use libfuzzer_sys::fuzz_target;
use onboard_fuzz::{
    Text, assert_client_error, assert_user_fits_columns, assert_user_round_trips, now, today,
    user_record,
};
use storage::StorageError;
use uuid::Uuid;

/// A meta_data list: the seed's, none, or entries edited from the seed's one.
#[derive(Arbitrary, Debug)]
enum Meta {
    Seed,
    Absent,
    Entries(Vec<(Text, Text)>),
}

/// Every field of the create input, each an edit of the seed's value.
#[derive(Arbitrary, Debug)]
struct Edit {
    first_name: Text,
    middle_name: Text,
    last_name: Text,
    email: Text,
    phone_number: Text,
    address_one: Text,
    address_two: Text,
    city: Text,
    state: Text,
    country: Text,
    postal_code: Text,
    username: Text,
    date_of_birth: Text,
    ssn: Text,
    terms_accepted: Option<bool>,
    meta_data: Meta,
    business_id: Text,
    is_vendor: Option<bool>,
}

impl Edit {
    fn apply(&self, seed: &RawNewUser, business_id: &str) -> RawNewUser {
        let meta_seed = seed.meta_data.clone().unwrap_or_default();
        let first = meta_seed.first().cloned().unwrap_or_default();
        RawNewUser {
            first_name: self.first_name.apply(seed.first_name.as_deref()),
            middle_name: self.middle_name.apply(seed.middle_name.as_deref()),
            last_name: self.last_name.apply(seed.last_name.as_deref()),
            email: self.email.apply(seed.email.as_deref()),
            phone_number: self.phone_number.apply(seed.phone_number.as_deref()),
            address_one: self.address_one.apply(seed.address_one.as_deref()),
            address_two: self.address_two.apply(seed.address_two.as_deref()),
            city: self.city.apply(seed.city.as_deref()),
            state: self.state.apply(seed.state.as_deref()),
            country: self.country.apply(seed.country.as_deref()),
            postal_code: self.postal_code.apply(seed.postal_code.as_deref()),
            username: self.username.apply(seed.username.as_deref()),
            date_of_birth: self.date_of_birth.apply(seed.date_of_birth.as_deref()),
            ssn: self
                .ssn
                .apply(seed.ssn.as_ref().map(|s| s.as_str()))
                .map(domain::Zeroizing::new),
            terms_accepted: self.terms_accepted.or(seed.terms_accepted),
            meta_data: match &self.meta_data {
                Meta::Seed => Some(meta_seed),
                Meta::Absent => None,
                Meta::Entries(list) => Some(
                    list.iter()
                        .map(|(name, value)| RawMetaEntry {
                            name: name.apply(first.name.as_deref()),
                            value: value.apply(first.value.as_deref()),
                        })
                        .collect(),
                ),
            },
            business_id: self.business_id.apply(Some(business_id)),
            is_vendor: self.is_vendor,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Which seed user (unique email, username, SSN).
    n: u16,
    /// Today, in days from the tests' date.
    today_shift: i16,
    min_age: u8,
    create: Edit,
    /// Submit the created user for KYC before the update (identity then locked).
    submit_kyc: bool,
    update: Option<Edit>,
}

fuzz_target!(|input: Input| {
    let today = today()
        .checked_add_signed(Duration::days(i64::from(input.today_shift)))
        .unwrap_or_else(today);
    let ctx = ParseContext {
        today,
        min_age: u32::from(input.min_age),
    };
    let seed = SeedUser::new(u32::from(input.n)).raw();
    let business_id = BusinessId::from_uuid(Uuid::from_u128(u128::from(input.n))).to_string();
    let raw = input.create.apply(&seed, &business_id);
    let new_user = match NewUser::parse(&raw, ctx) {
        Ok(new_user) => new_user,
        Err(e) => {
            assert!(!e.errors().is_empty());
            assert_client_error(&ApiError::from(e));
            return;
        }
    };
    let mut user: User = assert_user_round_trips(&new_user, ctx);

    if input.submit_kyc {
        let _ = user.apply(UserChange::SubmitKyc, now());
    }
    let Some(update) = &input.update else {
        return;
    };
    let current = user.profile().to_raw();
    let mut raw = update.apply(&current, &business_id);
    // `/user/update` does not read these (sending them is an unknown field).
    raw.business_id = None;
    raw.is_vendor = None;
    let later = now() + Duration::minutes(1);
    match user.update(&raw, ctx, later) {
        Ok((updated, _ssn)) => {
            assert_user_fits_columns(&updated);
            let restored = User::restore(&user_record(&updated)).expect("an updated user restores");
            assert_eq!(restored, updated);
        }
        Err(e) => {
            // 422 listing the fields, or 409 `invalid_transition` (identity locked).
            let answer = ApiError::from(StorageError::Rejected(e));
            match answer.status_code().as_u16() {
                422 => assert_client_error(&answer),
                status => assert_eq!(status, 409, "an update answered {status}: {answer:?}"),
            }
        }
    }
});
