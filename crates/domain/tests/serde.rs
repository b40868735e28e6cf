//! The `serde` feature: valid values round-trip in their wire form, invalid ones are refused with the domain's code.
#![cfg(feature = "serde")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Debug;

use common::{ctx, valid_business, valid_seed};
use onboard_domain::{
    Address, AddressLine, BusinessId, BusinessName, BusinessType, City, ContactId, ContactType,
    Country, DateOfBirth, Ein, Email, KycEvent, KycStatus, Last4, MetaData, MetaName, MetaValue,
    NewBusiness, NewUser, ParseContext, PersonName, PhoneNumber, PostalCode, ProgramId,
    RawContactQuery, RawMetaEntry, RawNewBusiness, RawNewUser, RawUserQuery, Reason, Ssn, UserId,
    UserSort, UserStatus, Username,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `wire` (a JSON text) reads into a `T` that writes exactly `wire` again.
fn round_trips<T>(wire: &str) -> T
where
    T: DeserializeOwned + Serialize + PartialEq + Debug,
{
    let value: T = serde_json::from_str(wire).unwrap_or_else(|e| panic!("{wire}: {e}"));
    let written = serde_json::to_string(&value).unwrap();
    assert_eq!(written, wire);
    let again: T = serde_json::from_str(&written).unwrap();
    assert_eq!(again, value);
    value
}

/// `wire` does not read into a `T`; the message carries `code`. Returns the message.
fn refused<T: DeserializeOwned + Debug>(wire: &str, code: &str) -> String {
    let Err(e) = serde_json::from_str::<T>(wire) else {
        panic!("{wire} was accepted as {}", std::any::type_name::<T>());
    };
    let message = e.to_string();
    assert!(
        message.contains(&format!("{code}: ")),
        "{wire}: expected code {code} in {message:?}"
    );
    message
}

#[test]
fn valid_values_round_trip_in_their_wire_form() {
    round_trips::<PersonName>(r#""José""#);
    round_trips::<AddressLine>(r#""100 Innovation Way""#);
    round_trips::<City>(r#""Anytown""#);
    round_trips::<BusinessName>(r#""Acme Widgets LLC""#);
    round_trips::<Reason>(r#""fraud suspected""#);
    round_trips::<Email>(r#""Jane.Doe@example.com""#);
    round_trips::<PhoneNumber>(r#""+12125551234""#);
    round_trips::<Country>(r#""US""#);
    round_trips::<PostalCode>(r#""30044""#);
    round_trips::<Username>(r#""jane.doe""#);
    round_trips::<MetaName>(r#""external_ref""#);
    round_trips::<MetaValue>(r#""  kept verbatim  ""#);
    round_trips::<Last4>(r#""6789""#);
    round_trips::<DateOfBirth>(r#""1980-04-20""#);
    round_trips::<UserStatus>(r#""blocked""#);
    round_trips::<KycStatus>(r#""not_started""#);
    round_trips::<KycEvent>(r#""verify""#);
    round_trips::<ContactType>(r#""vendor""#);
    round_trips::<BusinessType>(r#""s_corporation""#);
    round_trips::<UserSort>(r#""last_name:desc""#);
}

#[test]
fn values_are_normalised_by_parse_on_the_way_in() {
    let email: Email = serde_json::from_str(r#"" Jane@EXAMPLE.com ""#).unwrap();
    assert_eq!(
        serde_json::to_string(&email).unwrap(),
        r#""Jane@example.com""#
    );
    let country: Country = serde_json::from_str(r#""us""#).unwrap();
    assert_eq!(serde_json::to_string(&country).unwrap(), r#""US""#);
}

#[test]
fn ids_round_trip_with_their_prefix() {
    let uuid = "0190f8a4-6b2e-7c3d-8e4f-5a6b7c8d9e0f";
    let user = round_trips::<UserId>(&format!(r#""user-{uuid}""#));
    assert_eq!(user.uuid().to_string(), uuid);
    round_trips::<BusinessId>(&format!(r#""buss-{uuid}""#));
    round_trips::<ContactId>(&format!(r#""bcus-{uuid}""#));
    round_trips::<ProgramId>(&format!(r#""prog-{uuid}""#));
    refused::<UserId>(&format!(r#""buss-{uuid}""#), "invalid_format");
    refused::<UserId>(&format!(r#""{uuid}""#), "invalid_format");
    refused::<ProgramId>(r#""""#, "required");
}

#[test]
fn every_invalid_example_is_refused_with_the_domains_code() {
    let message = refused::<PostalCode>(r#""3004""#, "invalid_format");
    assert!(
        message.contains("must be a 5-digit US ZIP code"),
        "{message}"
    );
    refused::<PersonName>(r#""""#, "required");
    refused::<PersonName>(r#""R2-D2""#, "invalid_format");
    refused::<PersonName>(&format!(r#""{}""#, "a".repeat(65)), "too_long");
    refused::<AddressLine>(r#""   ""#, "required");
    refused::<City>(r#""Any\ttown""#, "invalid_format");
    refused::<BusinessName>(&format!(r#""{}""#, "b".repeat(129)), "too_long");
    refused::<Reason>(r#""""#, "required");
    refused::<Email>(r#""jane.doe""#, "invalid_format");
    refused::<PhoneNumber>(r#""2125551234""#, "invalid_format");
    refused::<PhoneNumber>(r#""+10005551234""#, "invalid_value");
    refused::<Country>(r#""USA""#, "invalid_format");
    refused::<Country>(r#""ZZ""#, "invalid_value");
    refused::<Username>(r#""ab""#, "too_short");
    refused::<Username>(r#""_jane""#, "invalid_format");
    refused::<MetaName>(r#""a b""#, "invalid_format");
    refused::<MetaValue>(&format!(r#""{}""#, "v".repeat(513)), "too_long");
    refused::<Last4>(r#""67a9""#, "invalid_format");
    refused::<DateOfBirth>(r#""1899-12-31""#, "out_of_range");
    refused::<DateOfBirth>(r#""2001-02-30""#, "invalid_format");
    refused::<UserStatus>(r#""Active""#, "invalid_value");
    refused::<KycStatus>(r#""""#, "required");
    refused::<ContactType>(r#""customers""#, "invalid_value");
    refused::<BusinessType>(r#""LLC""#, "invalid_value");
    refused::<UserSort>(r#""created_at""#, "invalid_value");
    refused::<Ssn>(r#""000-12-3456""#, "invalid_value");
    refused::<Ssn>(r#""12345678""#, "invalid_format");
    refused::<Ein>(r#""00-1234567""#, "invalid_value");
    refused::<Ein>(r#""1234""#, "invalid_format");
}

#[test]
fn a_wrong_json_type_is_refused_by_serde_itself() {
    assert!(serde_json::from_str::<Email>("42").is_err());
    assert!(serde_json::from_str::<UserId>("null").is_err());
}

#[test]
fn secrets_deserialize_through_parse_and_never_print() {
    // `Ssn` and `Ein` do not implement `Serialize` (a compile-time property: writing
    // `serde_json::to_string(&ssn)` does not build). What is observable: `Debug` redacts.
    let ssn: Ssn = serde_json::from_str(r#""123-45-6789""#).unwrap();
    assert_eq!(ssn.last4().as_str(), "6789");
    assert_eq!(format!("{ssn:?}"), "Ssn([redacted])");
    let ein: Ein = serde_json::from_str(r#""12-3456789""#).unwrap();
    assert_eq!(format!("{ein:?}"), "Ein([redacted])");
    // The refusal does not echo the input.
    let message = refused::<Ssn>(r#""666-45-6789""#, "invalid_value");
    assert!(!message.contains("6789"), "{message}");
}

#[test]
fn an_address_reads_with_its_state_judged_against_its_country() {
    let wire = r#"{"address_one":"1 Main St","city":"Austin","state":"TX","country":"US","postal_code":"73301"}"#;
    let address = round_trips::<Address>(wire);
    assert_eq!(address.state().as_str(), "TX");
    assert_eq!(address.line_two(), None);
    round_trips::<Address>(
        r#"{"address_one":"1 Main St","address_two":"Suite 100","city":"Austin","state":"TX","country":"US","postal_code":"73301"}"#,
    );
    let message = refused::<Address>(
        r#"{"address_one":"1 Main St","city":"Austin","state":"ON","country":"US","postal_code":"7330"}"#,
        "not_in_country",
    );
    assert!(message.contains("state: not_in_country"), "{message}");
    assert!(message.contains("postal_code: invalid_format"), "{message}");
}

#[test]
fn meta_data_reads_through_its_rules() {
    let wire = r#"[{"name":"a","value":"1"},{"name":"b","value":""}]"#;
    let meta = round_trips::<MetaData>(wire);
    assert_eq!(meta.entries().len(), 2);
    let message = refused::<MetaData>(
        r#"[{"name":"a","value":"1"},{"name":"a","value":"2"}]"#,
        "duplicate_name",
    );
    assert!(message.contains("meta_data[1].name"), "{message}");
}

#[test]
fn raw_inputs_deserialize_from_the_wire_names_and_parse_as_usual() {
    let raw: RawNewUser = serde_json::from_value(serde_json::json!({
        "first_name": "Alex", "last_name": "Rivera", "email": "jane.doe@example.com",
        "phone_number": "+15555551234", "address_one": "100 Innovation Way", "city": "Anytown",
        "state": "TX", "country": "US", "postal_code": "30044", "date_of_birth": "1980-04-20",
        "ssn": "123-45-6789", "terms_accepted": true, "username": "janedoe",
        "middle_name": "", "address_two": "Suite 100",
        "meta_data": [{"name": "external_ref", "value": "customer-001"}],
    }))
    .unwrap();
    assert_eq!(raw, valid_seed());
    let new_user = NewUser::parse(&raw, ctx()).unwrap();
    assert_eq!(new_user.profile().email().as_str(), "jane.doe@example.com");
    assert!(format!("{raw:?}").contains("[redacted]"));

    let empty: RawNewUser = serde_json::from_str("{}").unwrap();
    let e = NewUser::parse(&empty, ParseContext::new(common::today())).unwrap_err();
    assert!(e.get("first_name").is_some());

    let business: RawNewBusiness = serde_json::from_value(serde_json::json!({
        "business_name": "Acme Widgets LLC", "email": "ops@acme.example",
        "phone_number": "+12125551234", "business_address": "1 Main St", "city": "Austin",
        "state": "TX", "zipcode": "73301", "country": "US", "ein": "12-3456789",
        "business_type": "llc", "incorporated_date": "2015-06-01", "incorporated_state": "DE",
    }))
    .unwrap();
    assert_eq!(business, valid_business());
    assert!(NewBusiness::parse(&business, common::today()).is_ok());

    let entry: RawMetaEntry = serde_json::from_str(r#"{"name":"a"}"#).unwrap();
    assert_eq!(entry.value, None);
    let users: RawUserQuery =
        serde_json::from_str(r#"{"page":2,"sort":"created_at:asc"}"#).unwrap();
    assert_eq!(users.page, Some(2));
    assert_eq!(users.per_page, None);
    let contacts: RawContactQuery = serde_json::from_str(r#"{"type":"vendors"}"#).unwrap();
    assert_eq!(contacts.contact_type.as_deref(), Some("vendors"));
}
