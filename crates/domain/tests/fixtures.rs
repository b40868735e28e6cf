//! The `fixtures` feature: every seed user and business parses, each `n` is unique, and the
//! modifiers change only what they say.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;

use common::ctx;
use onboard_domain::fixtures::{SeedBusiness, SeedUser, ein, ssn};
use onboard_domain::{NewBusiness, NewUser, RawNewUser};

#[test]
fn every_seed_user_parses_and_is_unique_per_n() {
    let mut emails = HashSet::new();
    let mut usernames = HashSet::new();
    let mut ssns = HashSet::new();
    let ns = (0..2_000).chain([44_499, 44_500, 100_000, 800_999, u32::MAX]);
    for n in ns {
        let user = NewUser::parse(&SeedUser::new(n).raw(), ctx())
            .unwrap_or_else(|e| panic!("seed user {n} does not parse: {e:?}"));
        let p = user.profile();
        assert!(emails.insert(p.email().as_str().to_owned()), "email {n}");
        assert!(usernames.insert(p.username().unwrap().as_str().to_owned()));
        assert!(ssns.insert(user.ssn().unwrap().expose_digits().to_owned()));
    }
    assert!(NewUser::parse(&SeedUser::example().raw(), ctx()).is_ok());
}

#[test]
fn ssns_are_unique_below_801_000() {
    let all: HashSet<String> = (0..801_000).map(ssn).collect();
    assert_eq!(all.len(), 801_000);
    assert_eq!(ssn(800_999 + 1), ssn(0), "the period is 801,000");
}

#[test]
fn seed_user_n_is_the_example_with_its_own_email_username_and_ssn() {
    let raw = SeedUser::new(6).raw();
    assert_eq!(raw.email.as_deref(), Some("jane.doe6@example.com"));
    assert_eq!(raw.username.as_deref(), Some("janedoe6"));
    assert_eq!(raw.ssn.as_ref().map(|s| s.as_str()), Some("106-10-1006"));
    assert_eq!(
        RawNewUser {
            email: None,
            username: None,
            ssn: None,
            ..raw
        },
        RawNewUser {
            email: None,
            username: None,
            ssn: None,
            ..SeedUser::example().raw()
        }
    );
}

#[test]
fn modifiers_change_only_their_field_and_the_result_parses() {
    let base = SeedUser::new(3).raw();
    let stripped = SeedUser::new(3)
        .without_ssn()
        .without_date_of_birth()
        .without_terms()
        .without_meta_data()
        .raw();
    assert_eq!(
        stripped,
        RawNewUser {
            ssn: None,
            date_of_birth: None,
            terms_accepted: None,
            meta_data: None,
            ..base.clone()
        }
    );
    let user = NewUser::parse(&stripped, ctx()).unwrap();
    assert!(user.ssn().is_none() && !user.terms_accepted());

    let linked = SeedUser::new(3)
        .vendor_of("buss-0190f8a4-6b2e-7c3d-8e4f-5a6b7c8d9e0f")
        .meta("tier", "gold")
        .email("Jane.Doe3@Example.com")
        .raw();
    let user = NewUser::parse(&linked, ctx()).unwrap();
    assert_eq!(
        user.business().map(|b| b.contact_type),
        Some(onboard_domain::ContactType::Vendor)
    );
    assert_eq!(user.profile().meta_data().entries().len(), 2);
    assert_eq!(user.profile().email().as_str(), "Jane.Doe3@example.com");

    let customer = SeedUser::new(3)
        .vendor_of("buss-0190f8a4-6b2e-7c3d-8e4f-5a6b7c8d9e0f")
        .customer_of("buss-0190f8a4-6b2e-7c3d-8e4f-5a6b7c8d9e0f")
        .raw();
    assert_eq!(customer.is_vendor, None);
    let changed = SeedUser::new(3)
        .with(|u| u.city = Some("Austin".into()))
        .raw();
    assert_eq!(changed.city.as_deref(), Some("Austin"));
}

#[test]
fn every_seed_business_parses_with_its_own_ein() {
    let mut eins = HashSet::new();
    for n in (0..2_000).chain([6_543_999, u32::MAX]) {
        let b = NewBusiness::parse(&SeedBusiness::new(n).raw(), ctx().today)
            .unwrap_or_else(|e| panic!("seed business {n} does not parse: {e:?}"));
        assert!(eins.insert(b.ein().expose_digits().to_owned()), "ein {n}");
    }
    assert_eq!(ein(789), "12-3456789");
    assert!(NewBusiness::parse(&SeedBusiness::example().raw(), ctx().today).is_ok());
    let with_meta = SeedBusiness::new(1).meta("crm", "42").raw();
    assert!(NewBusiness::parse(&with_meta, ctx().today).is_ok());
}

/// With `serde`: the JSON omits absent fields and reads back into the same raw input.
#[cfg(feature = "serde")]
#[test]
fn seed_json_omits_absent_fields_and_round_trips() {
    let raw = SeedUser::new(1).without_ssn().raw();
    let json = serde_json::to_value(&raw).unwrap();
    assert!(json.get("ssn").is_none() && json.get("business_id").is_none());
    assert_eq!(json["email"], "jane.doe1@example.com");
    assert_eq!(
        json["meta_data"],
        serde_json::json!([{"name": "external_ref", "value": "customer-001"}])
    );
    assert_eq!(serde_json::from_value::<RawNewUser>(json).unwrap(), raw);
    let full = SeedUser::new(2)
        .vendor_of("buss-0190f8a4-6b2e-7c3d-8e4f-5a6b7c8d9e0f")
        .raw();
    let json = serde_json::to_value(&full).unwrap();
    assert_eq!(
        json.as_object().unwrap().len(),
        18,
        "every field of RawNewUser: {json}"
    );
    assert_eq!(serde_json::from_value::<RawNewUser>(json).unwrap(), full);

    let business = SeedBusiness::new(2).raw();
    let json = serde_json::to_value(&business).unwrap();
    assert!(json.get("business_address_2").is_none() && json.get("meta_data").is_none());
    assert_eq!(
        serde_json::from_value::<onboard_domain::RawNewBusiness>(json).unwrap(),
        business
    );
}
