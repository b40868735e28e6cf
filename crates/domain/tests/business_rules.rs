//! The rules of SPEC §9 in the domain: business enums in any case, the additional fields,
//! ownership shares, updates, KYB requirements and lifecycle changes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, NaiveDate, TimeZone as _, Utc};
use onboard_domain::fixtures::SeedBusiness;
use onboard_domain::{
    Business, BusinessChange, BusinessId, BusinessQuery, BusinessType, ChangeError, KycStatus,
    NaicsCode, NewBusiness, NewBusinessOwner, OwnershipPercent, ProgramId, RawBusinessQuery,
    RawNewBusiness, RawNewBusinessOwner, UserStatus, Website, Zeroizing,
};
use proptest::prelude::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 4, 16).unwrap()
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 16, 12, 0, 0).unwrap()
}

fn codes(e: &onboard_domain::ValidationErrors) -> Vec<(&str, &str)> {
    e.errors()
        .iter()
        .map(|f| (f.field.as_str(), f.code.as_str()))
        .collect()
}

fn business(raw: &RawNewBusiness) -> Business {
    let new = NewBusiness::parse(raw, today()).unwrap();
    Business::create(
        BusinessId::from_uuid(uuid::Uuid::from_u128(1)),
        ProgramId::from_uuid(uuid::Uuid::from_u128(2)),
        &new,
        now(),
    )
}

#[test]
fn business_enums_are_matched_in_any_case_and_kept_lowercase() {
    for sent in ["LLC", "llc", "Llc", "S_CORPORATION", "Non_Profit"] {
        let raw = SeedBusiness::new(1)
            .with(|b| b.business_type = Some(sent.to_owned()))
            .raw();
        let b = business(&raw);
        assert_eq!(
            b.profile().business_type().map(BusinessType::as_str),
            Some(sent.to_lowercase().as_str())
        );
    }
    assert_eq!(
        UserStatus::parse_any_case("BLOCKED"),
        Ok(UserStatus::Blocked)
    );
    assert_eq!(
        KycStatus::parse_any_case("Not_Started"),
        Ok(KycStatus::NotStarted)
    );
    // Exact parsing (user requests, stored values) is unchanged.
    assert!(BusinessType::parse("LLC").is_err());
    assert!(
        BusinessType::parse_any_case(" llc").is_err(),
        "tokens are not trimmed"
    );
    let q = BusinessQuery::parse(&RawBusinessQuery {
        status: Some("Active".into()),
        kyb_status: Some("PENDING".into()),
        search: Some("  Grüne ".into()),
        ..RawBusinessQuery::default()
    })
    .unwrap();
    assert_eq!(q.status(), Some(UserStatus::Active));
    assert_eq!(q.kyb_status(), Some(KycStatus::Pending));
    assert_eq!(q.search(), Some("Grüne"));
    assert_eq!(q.search_key().as_deref(), Some("grüne"));
}

#[test]
fn the_additional_fields_have_their_rules_and_blank_means_none() {
    let raw = SeedBusiness::new(1)
        .with(|b| {
            b.dba = Some(" Acme ".into());
            b.naics_code = Some("541511".into());
            b.website = Some("HTTPS://acme.example:8443/a?b#c".into());
            b.support_email = Some("help@ACME.example".into());
            b.support_phone_number = Some(String::new());
            b.business_description = Some("line one\nline two\tend".into());
        })
        .raw();
    let b = business(&raw);
    let d = b.profile().details();
    assert_eq!(d.dba().unwrap().as_str(), "Acme");
    assert_eq!(d.naics_code().unwrap().as_str(), "541511");
    assert_eq!(
        d.website().unwrap().as_str(),
        "HTTPS://acme.example:8443/a?b#c"
    );
    assert_eq!(d.support_email().unwrap().as_str(), "help@acme.example");
    assert!(d.support_phone_number().is_none(), "\"\" means none");
    assert_eq!(
        b.search_text(),
        "acme 1 llc\nops@acme.example\nacme",
        "name, email and dba, case-folded"
    );

    for (code, bad) in [
        ("invalid_format", "54151"),
        ("invalid_format", "54151a"),
        ("invalid_value", "101234"),
        ("invalid_value", "000000"),
    ] {
        assert_eq!(
            NaicsCode::parse(bad).unwrap_err().code.as_str(),
            code,
            "{bad}"
        );
    }
    for bad in [
        "http://acme.example",
        "https://",
        "https://localhost",
        "https://acme.example x",
        "https://u:p@acme.example",
        "https://acme.example:99999",
        "https://-acme.example",
        "https://acme.123",
        "ftp://acme.example",
    ] {
        assert_eq!(
            Website::parse(bad).unwrap_err().code.as_str(),
            "invalid_format",
            "{bad}"
        );
    }
    let raw = SeedBusiness::new(1)
        .with(|b| {
            b.dba = Some("a\u{7}".into());
            b.business_description = Some("z".repeat(1001));
            b.support_phone_number = Some("5551234".into());
        })
        .raw();
    let e = NewBusiness::parse(&raw, today()).unwrap_err();
    assert_eq!(
        codes(&e),
        [
            ("dba", "invalid_format"),
            ("business_description", "too_long"),
            ("support_phone_number", "invalid_format"),
        ]
    );
}

#[test]
fn ownership_percent_has_two_decimals_within_0_and_100() {
    for (text, hundredths) in [
        ("0", 0),
        ("100", 10_000),
        ("25.5", 2550),
        ("33.33", 3333),
        ("0.01", 1),
        ("100.0", 10_000),
        ("007.50", 750),
        ("25.500", 2550),
    ] {
        assert_eq!(
            OwnershipPercent::parse(text).map(OwnershipPercent::hundredths),
            Ok(hundredths),
            "{text}"
        );
    }
    for (text, code) in [
        ("100.01", "out_of_range"),
        ("-0.5", "out_of_range"),
        ("1000", "out_of_range"),
        ("12.345", "invalid_format"),
        ("1e2", "invalid_format"),
        ("", "invalid_format"),
        (".5", "invalid_format"),
        ("5.", "invalid_format"),
        ("abc", "invalid_format"),
    ] {
        assert_eq!(
            OwnershipPercent::parse(text).unwrap_err().code.as_str(),
            code,
            "{text}"
        );
    }
    let p = OwnershipPercent::parse("40").unwrap();
    assert_eq!(p.add_to(6000), Ok(10_000));
    let refused = p.add_to(6001).unwrap_err();
    assert_eq!(codes(&refused), [("ownership_percent", "out_of_range")]);
    assert!(refused.errors()[0].message.contains("60.01"));
}

proptest! {
    #[test]
    fn every_share_with_two_decimals_round_trips(h in 0u16..=10_000) {
        let text = format!("{}.{:02}", h / 100, h % 100);
        prop_assert_eq!(OwnershipPercent::parse(&text).unwrap().hundredths(), h);
        let as_number = serde_json_number(f64::from(h) / 100.0);
        prop_assert_eq!(OwnershipPercent::parse(&as_number).unwrap().hundredths(), h);
        prop_assert!((OwnershipPercent::parse(&text).unwrap().as_f64() - f64::from(h) / 100.0).abs() < 1e-9);
    }
}

/// How serde_json writes an `f64` (the text the API parses), without depending on it here.
fn serde_json_number(v: f64) -> String {
    serde_json::to_string(&v).unwrap()
}

#[test]
fn an_owner_request_reports_every_failing_field() {
    let e = NewBusinessOwner::parse(&RawNewBusinessOwner {
        business_id: Some("user-1".into()),
        user_id: None,
        ownership_percent: Some("101".into()),
        title: Some(" ".into()),
        is_control_person: Some(true),
    })
    .unwrap_err();
    assert_eq!(
        codes(&e),
        [
            ("business_id", "invalid_format"),
            ("user_id", "required"),
            ("ownership_percent", "out_of_range"),
            ("title", "required"),
        ]
    );
}

#[test]
fn updates_are_partial_and_the_ein_locks_once_kyb_was_requested() {
    let b = business(&SeedBusiness::new(1).raw());
    let later = now() + chrono::Duration::seconds(5);
    let (u, ein) = b
        .update(
            &RawNewBusiness {
                city: Some("Dallas".into()),
                dba: Some("Acme".into()),
                ein: Some(Zeroizing::new("98-7654321".into())),
                ..RawNewBusiness::default()
            },
            today(),
            later,
        )
        .unwrap();
    assert_eq!(u.profile().city().as_str(), "Dallas");
    assert_eq!(u.profile().name(), b.profile().name());
    assert_eq!(u.ein_last_4().as_str(), "4321");
    assert_eq!(ein.unwrap().last4().as_str(), "4321");
    assert_eq!(u.updated_at(), later);
    // An update with the create rules, every failing field.
    let e = b
        .update(
            &RawNewBusiness {
                zipcode: Some("1".into()),
                incorporated_date: Some("2030-01-01".into()),
                ein: Some(Zeroizing::new("00-1234567".into())),
                ..RawNewBusiness::default()
            },
            today(),
            later,
        )
        .unwrap_err();
    let ChangeError::Missing(e) = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        codes(&e),
        [
            ("zipcode", "invalid_format"),
            ("ein", "invalid_value"),
            ("incorporated_date", "out_of_range"),
        ]
    );

    let mut submitted = b.clone();
    submitted
        .apply(BusinessChange::SubmitKyb, 1, now())
        .unwrap();
    let locked = submitted.update(
        &RawNewBusiness {
            ein: Some(Zeroizing::new("98-7654321".into())),
            ..RawNewBusiness::default()
        },
        today(),
        later,
    );
    assert_eq!(locked.unwrap_err(), ChangeError::EinLocked);
    assert!(
        submitted
            .update(
                &RawNewBusiness {
                    dba: Some("Acme".into()),
                    ..RawNewBusiness::default()
                },
                today(),
                later
            )
            .is_ok()
    );
    assert_eq!(submitted.owners_editable(), Err(ChangeError::OwnersLocked));
}

#[test]
fn kyb_needs_incorporation_and_an_owner_and_moves_only_along_its_edges() {
    let bare = business(
        &SeedBusiness::new(1)
            .with(|b| {
                b.incorporated_date = None;
                b.incorporated_state = None;
            })
            .raw(),
    );
    let mut b = bare.clone();
    let ChangeError::Missing(e) = b.apply(BusinessChange::SubmitKyb, 0, now()).unwrap_err() else {
        panic!()
    };
    assert_eq!(
        codes(&e),
        [
            ("incorporated_date", "required"),
            ("incorporated_state", "required"),
            ("owners", "required"),
        ]
    );
    assert_eq!(b, bare, "a refused change leaves the business as it was");

    let mut b = business(&SeedBusiness::new(2).raw());
    b.apply(BusinessChange::Block, 1, now()).unwrap();
    assert_eq!(
        b.apply(BusinessChange::SubmitKyb, 1, now()),
        Err(ChangeError::BusinessBlocked)
    );
    assert!(matches!(
        b.apply(BusinessChange::Block, 1, now()),
        Err(ChangeError::Transition(_))
    ));
    b.apply(BusinessChange::Unblock, 1, now()).unwrap();
    assert!(matches!(
        b.apply(BusinessChange::VerifyKyb, 1, now()),
        Err(ChangeError::Transition(_))
    ));
    let t = b.apply(BusinessChange::SubmitKyb, 1, now()).unwrap();
    assert_eq!((t.kind, t.from, t.to), ("kyb", "not_started", "pending"));
    assert!(matches!(
        b.apply(BusinessChange::SubmitKyb, 1, now()),
        Err(ChangeError::Transition(_))
    ));
    b.apply(BusinessChange::RejectKyb, 1, now()).unwrap();
    assert_eq!(b.kyb_status(), KycStatus::Rejected);
    assert!(
        b.apply(BusinessChange::VerifyKyb, 1, now()).is_err(),
        "final"
    );
}
