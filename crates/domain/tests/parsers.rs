//! Every parser of the domain under arbitrary input (proptest): none panics, a refusal names
//! real field paths, and whatever is accepted is stable (it parses again to itself) and
//! round-trips through the stored form. The coverage-guided counterparts are in `fuzz/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use chrono::Duration;
use common::{ctx, now, today};
use onboard_domain::Zeroizing;
use onboard_domain::fixtures::{SeedBusiness, SeedUser};
use onboard_domain::{
    AddressLine, Business, BusinessId, BusinessName, BusinessRecord, BusinessType, City, ContactId,
    ContactQuery, ContactType, Country, DateOfBirth, Ein, Email, KycStatus, Last4, MetaName,
    MetaValue, NewBusiness, NewUser, ParseContext, PersonName, PhoneNumber, PostalCode, ProgramId,
    RawContactQuery, RawMetaEntry, RawNewBusiness, RawNewUser, RawUserQuery, Reason, Ssn, State,
    User, UserChange, UserId, UserQuery, UserRecord, UserSort, UserStatus, Username,
    ValidationErrors,
};
use proptest::collection::{btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use uuid::Uuid;

/// Strings a parser may see: anything, or near-misses of valid values (the seed's values with
/// unicode, control characters and whitespace mixed in, or repeated to be long).
fn text() -> BoxedStrategy<String> {
    const NEAR: &[&str] = &[
        "Alex",
        "jane.doe@example.com",
        "+15555551234",
        "100 Innovation Way",
        "TX",
        "US",
        "30044",
        "janedoe",
        "1980-04-20",
        "123-45-6789",
        "12-3456789",
        "external_ref",
        "buss-0190a5b4-7c1e-7d2a-9f00-000000000001",
        "active",
        "not_started",
        "last_name:asc",
    ];
    const BITS: &[&str] = &[
        "",
        " ",
        "\t",
        "\n",
        "\u{0}",
        "\u{a0}",
        "\u{200b}",
        "\u{fe0f}",
        "\u{301}",
        "é",
        "İ",
        "ß",
        "\u{1f600}",
        "\u{10ffff}",
        "-",
        "+",
        ".",
        "@",
        "\"",
        "\\",
        "0",
        "9",
        "x",
    ];
    prop_oneof![
        any::<String>(),
        "\\PC{0,80}",
        (select(NEAR), select(BITS), any::<prop::sample::Index>()).prop_map(|(s, bit, at)| {
            let chars: Vec<char> = s.chars().collect();
            let at = at.index(chars.len() + 1);
            let mut out: String = chars[..at].iter().collect();
            out.push_str(bit);
            out.extend(&chars[at..]);
            out
        }),
        (select(NEAR), 0usize..40).prop_map(|(s, n)| s.repeat(n)),
    ]
    .boxed()
}

/// Every path a create's validation may name.
fn known_path(path: &str) -> bool {
    const FIELDS: &[&str] = &[
        "first_name",
        "middle_name",
        "last_name",
        "email",
        "phone_number",
        "address_one",
        "address_two",
        "city",
        "state",
        "country",
        "postal_code",
        "username",
        "date_of_birth",
        "ssn",
        "terms_accepted",
        "meta_data",
        "business_id",
        "is_vendor",
    ];
    FIELDS.contains(&path)
        || path
            .strip_prefix("meta_data[")
            .and_then(|rest| rest.split_once(']'))
            .is_some_and(|(i, after)| {
                i.parse::<usize>().is_ok() && matches!(after, "" | ".name" | ".value")
            })
}

fn assert_named(e: &ValidationErrors) {
    assert!(!e.errors().is_empty());
    for f in e.errors() {
        assert!(known_path(&f.field), "unexpected path {:?}", f.field);
    }
}

/// A few of the field indexes `0..n`: the fields an input changes (the others keep the seed's
/// valid value, so that many inputs parse and the round trips are exercised).
fn changed(n: usize) -> impl Strategy<Value = BTreeSet<usize>> {
    btree_set(0..n, 0..4)
}

fn raw_user() -> impl Strategy<Value = RawNewUser> {
    let meta = option::of(vec((option::of(text()), option::of(text())), 0..4));
    (
        vec(option::of(text()), 15),
        changed(18),
        option::of(any::<bool>()),
        meta,
        option::of(any::<bool>()),
    )
        .prop_map(|(s, changed, terms, meta, is_vendor)| {
            let seed = SeedUser::example().raw();
            let pick = |i: usize, seed: Option<String>| {
                if changed.contains(&i) {
                    s[i].clone()
                } else {
                    seed
                }
            };
            RawNewUser {
                first_name: pick(0, seed.first_name),
                middle_name: pick(1, seed.middle_name),
                last_name: pick(2, seed.last_name),
                email: pick(3, seed.email),
                phone_number: pick(4, seed.phone_number),
                address_one: pick(5, seed.address_one),
                address_two: pick(6, seed.address_two),
                city: pick(7, seed.city),
                state: pick(8, seed.state),
                country: pick(9, seed.country),
                postal_code: pick(10, seed.postal_code),
                username: pick(11, seed.username),
                date_of_birth: pick(12, seed.date_of_birth),
                ssn: pick(13, seed.ssn.map(|s| s.as_str().to_owned())).map(Zeroizing::new),
                business_id: pick(14, seed.business_id),
                terms_accepted: if changed.contains(&15) {
                    terms
                } else {
                    seed.terms_accepted
                },
                meta_data: if changed.contains(&16) {
                    meta.map(|list| {
                        list.into_iter()
                            .map(|(name, value)| RawMetaEntry { name, value })
                            .collect()
                    })
                } else {
                    seed.meta_data
                },
                is_vendor: if changed.contains(&17) {
                    is_vendor
                } else {
                    None
                },
            }
        })
}

fn raw_business() -> impl Strategy<Value = RawNewBusiness> {
    (vec(option::of(text()), 13), changed(13)).prop_map(|(s, changed)| {
        let seed = SeedBusiness::example().raw();
        let pick = |i: usize, seed: Option<String>| {
            if changed.contains(&i) {
                s[i].clone()
            } else {
                seed
            }
        };
        RawNewBusiness {
            business_name: pick(0, seed.business_name),
            email: pick(1, seed.email),
            phone_number: pick(2, seed.phone_number),
            business_address: pick(3, seed.business_address),
            business_address_2: pick(4, seed.business_address_2),
            city: pick(5, seed.city),
            state: pick(6, seed.state),
            zipcode: pick(7, seed.zipcode),
            country: pick(8, seed.country),
            ein: pick(9, seed.ein.map(|e| e.as_str().to_owned())).map(Zeroizing::new),
            business_type: pick(10, seed.business_type),
            incorporated_date: pick(11, seed.incorporated_date),
            incorporated_state: pick(12, seed.incorporated_state),
            meta_data: None,
            ..RawNewBusiness::default()
        }
    })
}

/// The record storage keeps for `user`.
fn record_of(user: &User) -> UserRecord {
    UserRecord {
        id: user.id(),
        program_id: user.program_id(),
        details: user.profile().to_raw(),
        ssn_last_4: user.ssn_last_4().map(|l| l.as_str().to_owned()),
        terms_accepted_at: user.terms_accepted_at(),
        status: user.status().as_str().to_owned(),
        kyc_status: user.kyc_status().as_str().to_owned(),
        screening_status: user.screening_status().as_str().to_owned(),
        created_at: user.created_at(),
        updated_at: user.updated_at(),
    }
}

fn ids() -> (UserId, ProgramId) {
    (
        UserId::from_uuid(Uuid::from_u128(1)),
        ProgramId::from_uuid(Uuid::from_u128(2)),
    )
}

/// `parse` never panics; what it accepts, printed, parses to the same value.
macro_rules! stable {
    ($s:expr, $($ty:ty),+) => {$(
        if let Ok(v) = <$ty>::parse($s) {
            assert_eq!(<$ty>::parse(v.as_str()), Ok(v.clone()), "{}", stringify!($ty));
        }
    )+};
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_field_parser_takes_any_string(s in text()) {
        stable!(&s, PersonName, Email, PhoneNumber, PostalCode, Username, MetaName, MetaValue,
            AddressLine, BusinessName, City, Reason, UserStatus, KycStatus, BusinessType,
            ContactType, UserSort);
        if let Ok(c) = Country::parse(&s) {
            prop_assert_eq!(Country::parse(c.as_str()), Ok(c));
            if let Ok(st) = State::parse(&s, c) {
                prop_assert_eq!(State::parse(st.as_str(), c), Ok(st));
            }
        }
        for country in [Country::parse("US").unwrap(), Country::parse("CA").unwrap()] {
            if let Ok(st) = State::parse(&s, country) {
                prop_assert_eq!(State::parse(st.as_str(), country), Ok(st));
            }
        }
        if let Ok(d) = DateOfBirth::parse(&s, today(), 18) {
            prop_assert_eq!(DateOfBirth::parse(&d.to_iso(), today(), 18), Ok(d));
        }
        let _ = DateOfBirth::parse(&s, chrono::NaiveDate::MAX, u32::MAX);
        let _ = DateOfBirth::parse(&s, chrono::NaiveDate::MIN, 0);
        if let Ok(ssn) = Ssn::parse(&s) {
            prop_assert_eq!(ssn.last4().as_str().len(), 4);
        }
        if let Ok(ein) = Ein::parse(&s) {
            prop_assert_eq!(ein.last4().as_str().len(), 4);
        }
        if let Ok(l) = Last4::parse(&s) {
            prop_assert_eq!(Last4::parse(l.as_str()), Ok(l));
        }
        if let Ok(id) = UserId::parse(&s) {
            prop_assert_eq!(UserId::parse(&id.to_string()), Ok(id));
        }
        let _ = (BusinessId::parse(&s), ContactId::parse(&s), ProgramId::parse(&s));
    }

    #[test]
    fn a_create_is_a_user_that_round_trips_or_errors_on_named_fields(
        raw in raw_user(),
        shift in -40_000i64..40_000,
        min_age in any::<u8>(),
    ) {
        let ctx = ParseContext {
            today: today().checked_add_signed(Duration::days(shift)).unwrap(),
            min_age: u32::from(min_age),
        };
        match NewUser::parse(&raw, ctx) {
            Err(e) => assert_named(&e),
            Ok(new_user) => {
                let (id, program) = ids();
                let user = User::create(id, program, &new_user, now());
                prop_assert_eq!(User::restore(&record_of(&user)), Ok(user.clone()));
                let again = NewUser::parse(&new_user.profile().to_raw(), ctx).unwrap();
                prop_assert_eq!(again.profile(), new_user.profile());
            }
        }
    }

    #[test]
    fn an_update_is_a_user_that_round_trips_or_a_refusal(
        raw in raw_user(),
        submitted in any::<bool>(),
    ) {
        let (id, program) = ids();
        let new_user = NewUser::parse(&SeedUser::example().raw(), ctx()).unwrap();
        let mut user = User::create(id, program, &new_user, now());
        if submitted {
            user.apply(UserChange::SubmitKyc, now()).unwrap();
        }
        let raw = RawNewUser { business_id: None, is_vendor: None, ..raw };
        match user.update(&raw, ctx(), now() + Duration::minutes(1)) {
            Ok((updated, _)) => {
                prop_assert_eq!(User::restore(&record_of(&updated)), Ok(updated.clone()));
            }
            Err(onboard_domain::ChangeError::Missing(e)) => assert_named(&e),
            Err(other) => {
                prop_assert!(submitted, "{other:?}");
                prop_assert_eq!(user.kyc_status(), KycStatus::Pending);
            }
        }
    }

    #[test]
    fn a_business_round_trips_or_errors(raw in raw_business(), shift in -40_000i64..40_000) {
        let today = today().checked_add_signed(Duration::days(shift)).unwrap();
        if let Ok(new) = NewBusiness::parse(&raw, today) {
            let business = Business::create(
                BusinessId::from_uuid(Uuid::from_u128(1)),
                ProgramId::from_uuid(Uuid::from_u128(2)),
                &new,
                now(),
            );
            let p = business.profile();
            let record = BusinessRecord {
                id: business.id(),
                program_id: business.program_id(),
                details: RawNewBusiness {
                    ein: None,
                    business_name: Some(p.name().as_str().to_owned()),
                    email: Some(p.email().as_str().to_owned()),
                    phone_number: Some(p.phone_number().as_str().to_owned()),
                    business_address: Some(p.address_one().as_str().to_owned()),
                    business_address_2: p.address_two().map(|a| a.as_str().to_owned()),
                    city: Some(p.city().as_str().to_owned()),
                    state: Some(p.state().as_str().to_owned()),
                    zipcode: Some(p.zipcode().as_str().to_owned()),
                    country: Some(p.country().as_str().to_owned()),
                    business_type: p.business_type().map(|t| t.as_str().to_owned()),
                    incorporated_date: p.incorporated_date().map(|d| d.format("%Y-%m-%d").to_string()),
                    incorporated_state: p.incorporated_state().map(|s| s.as_str().to_owned()),
                    meta_data: None,
                    ..RawNewBusiness::default()
                },
                ein_last_4: business.ein_last_4().as_str().to_owned(),
                status: UserStatus::Active.as_str().to_owned(),
                kyb_status: KycStatus::NotStarted.as_str().to_owned(),
                created_at: now(),
                updated_at: now(),
            };
            prop_assert_eq!(Business::restore(&record), Ok(business));
        }
    }

    #[test]
    fn queries_take_any_numbers_and_strings(
        page in option::of(any::<u64>()),
        per_page in option::of(any::<u64>()),
        s in vec(option::of(text()), 6),
    ) {
        let raw = RawUserQuery {
            page,
            per_page,
            email: s[0].clone(),
            search: s[1].clone(),
            status: s[2].clone(),
            kyc_status: s[3].clone(),
            sort: s[4].clone(),
        };
        if let Ok(q) = UserQuery::parse(&raw) {
            prop_assert!(q.page().page() >= 1 && q.page().per_page() >= 1);
            let _ = q.page().offset();
        }
        let raw = RawContactQuery { business_id: s[5].clone(), contact_type: s[2].clone(), page, per_page };
        if let Ok(q) = ContactQuery::parse(&raw) {
            let _ = q.page().offset();
        }
    }
}
