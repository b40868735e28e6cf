//! Stored businesses and contacts come back only through `restore`, under the input's rules.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Duration;
use common::{now, pairs, s, today, valid_business};
use onboard_domain::{
    Business, BusinessContact, BusinessContactRecord, BusinessId, BusinessInvariantError,
    BusinessRecord, ContactId, ContactType, NewBusiness, ProgramId, RawNewBusiness, UserId,
};
use uuid::Uuid;

fn ids() -> (BusinessId, ProgramId) {
    (
        BusinessId::from_uuid(Uuid::from_u128(1)),
        ProgramId::from_uuid(Uuid::from_u128(2)),
    )
}

/// The record a storage layer would hold for `raw` (`ein` is not stored in the clear).
fn record_of(raw: &RawNewBusiness) -> BusinessRecord {
    let (id, program_id) = ids();
    BusinessRecord {
        id,
        program_id,
        details: RawNewBusiness {
            ein: None,
            ..raw.clone()
        },
        ein_last_4: "6789".into(),
        status: "active".into(),
        kyb_status: "not_started".into(),
        created_at: now(),
        updated_at: now(),
    }
}

#[test]
fn a_stored_business_restores_equal_to_the_created_one() {
    let raw = valid_business();
    let new = NewBusiness::parse(&raw, today()).unwrap();
    let (id, program) = ids();
    let created = Business::create(id, program, &new, now());
    let restored = Business::restore(&record_of(&raw)).unwrap();
    assert_eq!(restored, created);
    assert_eq!(restored.profile().name().as_str(), "Acme Widgets LLC");
    assert_eq!(restored.profile().state().as_str(), "TX");
    assert_eq!(
        restored
            .profile()
            .incorporated_state()
            .map(onboard_domain::State::as_str),
        Some("DE")
    );
    assert_eq!(restored.ein_last_4().as_str(), "6789");
}

#[test]
fn a_corrupt_stored_business_is_an_error_naming_every_bad_field() {
    let mut record = record_of(&RawNewBusiness {
        zipcode: s("7330"),
        state: s("ZZ"),
        ..valid_business()
    });
    record.ein_last_4 = "67a9".into();
    record.kyb_status = "done".into();
    let Err(BusinessInvariantError::Corrupt(e)) = Business::restore(&record) else {
        panic!("a corrupt record was restored");
    };
    assert_eq!(
        pairs(&e),
        vec![
            ("state".to_owned(), "not_in_country"),
            ("zipcode".to_owned(), "invalid_format"),
            ("ein_last_4".to_owned(), "invalid_format"),
            ("kyb_status".to_owned(), "invalid_value"),
        ]
    );
}

#[test]
fn a_stored_incorporation_date_is_not_judged_against_today_again() {
    let later = (today() + Duration::days(30))
        .format("%Y-%m-%d")
        .to_string();
    let record = record_of(&RawNewBusiness {
        incorporated_date: Some(later.clone()),
        ..valid_business()
    });
    assert!(Business::restore(&record).is_ok());
    let fresh = NewBusiness::parse(
        &RawNewBusiness {
            incorporated_date: Some(later),
            ..valid_business()
        },
        today(),
    );
    assert_eq!(
        pairs(&fresh.unwrap_err()),
        vec![("incorporated_date".to_owned(), "out_of_range")]
    );
}

#[test]
fn a_stored_business_whose_update_precedes_its_creation_is_refused() {
    let mut record = record_of(&valid_business());
    record.updated_at = record.created_at - Duration::seconds(1);
    assert_eq!(
        Business::restore(&record),
        Err(BusinessInvariantError::TimeTravel)
    );
}

fn contact_record() -> BusinessContactRecord {
    BusinessContactRecord {
        id: ContactId::from_uuid(Uuid::from_u128(3)),
        business_id: ids().0,
        user_id: UserId::from_uuid(Uuid::from_u128(4)),
        contact_type: "vendor".into(),
        first_name: "Alex".into(),
        last_name: "Rivera".into(),
        email: "alex@example.com".into(),
        phone_number: "+12125551234".into(),
        created_at: now(),
    }
}

#[test]
fn a_stored_contact_restores_through_the_rules() {
    let c = BusinessContact::restore(&contact_record()).unwrap();
    assert_eq!(c.contact_type(), ContactType::Vendor);
    assert_eq!(c.first_name().as_str(), "Alex");
    assert_eq!(c.email().as_str(), "alex@example.com");
    assert_eq!(c.business_id(), ids().0);
    assert_eq!(c.created_at(), now());
}

#[test]
fn a_corrupt_stored_contact_is_an_error() {
    let record = BusinessContactRecord {
        contact_type: "supplier".into(),
        phone_number: "12125551234".into(),
        ..contact_record()
    };
    let e = BusinessContact::restore(&record).unwrap_err();
    assert_eq!(
        pairs(&e),
        vec![
            ("contact_type".to_owned(), "invalid_value"),
            ("phone_number".to_owned(), "invalid_format"),
        ]
    );
}
