//! Table-driven edge cases of the domain rules. Every assertion names the exact field path
//! and error code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::{Duration, NaiveDate};
use common::{US_STATES, ctx, now, pairs, s, seed_raw, today, valid_seed};
use onboard_domain::Zeroizing;
use onboard_domain::{
    BusinessId, ContactId, ContactType, Country, DateOfBirth, Email, ErrorCode, KycStatus,
    MetaData, NewUser, ParseContext, PersonName, PhoneNumber, ProgramId, RawMetaEntry, RawNewUser,
    State, User, UserId, UserInvariantError, UserParts, UserStatus, anniversary,
};
use uuid::Uuid;

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// The `(field, code)` list of parsing `raw` on `today()` with min age 18 (empty when valid).
fn outcome(raw: &RawNewUser) -> Vec<(String, &'static str)> {
    outcome_with(raw, ctx())
}

fn outcome_with(raw: &RawNewUser, ctx: ParseContext) -> Vec<(String, &'static str)> {
    match NewUser::parse(raw, ctx) {
        Ok(_) => Vec::new(),
        Err(e) => pairs(&e),
    }
}

fn only(field: &str, code: &'static str) -> Vec<(String, &'static str)> {
    vec![(field.to_owned(), code)]
}

/// Expected `(field, code)` failures of one table row.
type Expect = &'static [(&'static str, &'static str)];

fn code_of<T>(r: Result<T, onboard_domain::Violation>) -> Option<&'static str> {
    r.err().map(|v| v.code.as_str())
}

// ---------------------------------------------------------------------------------------------
// The seed example
// ---------------------------------------------------------------------------------------------

#[test]
fn seed_placeholder_ssn_fails_on_ssn_alone() {
    assert_eq!(outcome(&seed_raw()), only("ssn", "invalid_format"));
    let err = NewUser::parse(&seed_raw(), ctx()).unwrap_err();
    assert_eq!(err.errors()[0].code, ErrorCode::InvalidFormat);
    assert!(!err.errors()[0].message.contains("XXXXXXXXX"));
}

#[test]
fn seed_with_valid_ssn_passes_and_is_normalised() {
    for ssn in ["123-45-6789", "123456789", " 123-45-6789 "] {
        let raw = RawNewUser {
            ssn: s(ssn).map(Zeroizing::new),
            ..seed_raw()
        };
        let user = NewUser::parse(&raw, ctx()).unwrap();
        let p = user.profile();
        assert_eq!(p.first_name().as_str(), "Alex");
        assert_eq!(p.middle_name(), None, "\"\" means no middle name");
        assert_eq!(p.last_name().as_str(), "Rivera");
        assert_eq!(p.email().as_str(), "jane.doe@example.com");
        assert_eq!(p.phone_number().as_str(), "+15555551234");
        assert_eq!(p.phone_number().calling_code(), 1);
        assert_eq!(p.address().line_one().as_str(), "100 Innovation Way");
        assert_eq!(p.address().line_two().unwrap().as_str(), "Suite 100");
        assert_eq!(p.address().city().as_str(), "Anytown");
        assert_eq!(p.address().state().as_str(), "TX");
        assert_eq!(p.address().country().as_str(), "US");
        assert_eq!(p.address().postal_code().as_str(), "30044");
        assert_eq!(p.username().unwrap().as_str(), "janedoe");
        assert_eq!(p.date_of_birth().unwrap().to_iso(), "1980-04-20");
        assert_eq!(user.ssn().unwrap().expose_digits(), "123456789");
        assert_eq!(user.ssn().unwrap().last4().as_str(), "6789");
        assert!(user.terms_accepted());
        assert_eq!(user.business(), None);
        let meta = p.meta_data().entries();
        assert_eq!(meta.len(), 1);
        assert_eq!(meta[0].name().as_str(), "external_ref");
        assert_eq!(meta[0].value().as_str(), "customer-001");
    }
}

#[test]
fn every_failing_field_is_listed_at_once() {
    let raw = RawNewUser {
        first_name: None,
        email: s("not-an-email"),
        postal_code: s("3004"),
        date_of_birth: s("2030-01-01"),
        ..seed_raw()
    };
    assert_eq!(
        outcome(&raw),
        vec![
            ("first_name".to_owned(), "required"),
            ("email".to_owned(), "invalid_format"),
            ("postal_code".to_owned(), "invalid_format"),
            ("date_of_birth".to_owned(), "out_of_range"),
            ("ssn".to_owned(), "invalid_format"),
        ]
    );
}

#[test]
fn required_fields_missing() {
    let raw = RawNewUser::default();
    let got = outcome(&raw);
    let expected: Vec<(String, &str)> = [
        "first_name",
        "last_name",
        "email",
        "phone_number",
        "address_one",
        "city",
        "country",
        "state",
        "postal_code",
    ]
    .iter()
    .map(|f| ((*f).to_owned(), "required"))
    .collect();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut expected_sorted = expected;
    expected_sorted.sort();
    assert_eq!(got_sorted, expected_sorted);
}

// ---------------------------------------------------------------------------------------------
// Dates of birth
// ---------------------------------------------------------------------------------------------

#[test]
fn date_of_birth_table() {
    // (date_of_birth, today, min_age, expected error code or None)
    let table: &[(&str, NaiveDate, u32, Option<&str>)] = &[
        // Leap days.
        ("1992-02-29", today(), 18, None),
        ("2000-02-29", today(), 18, None),
        ("1991-02-29", today(), 18, Some("invalid_format")),
        ("1900-02-29", today(), 18, Some("invalid_format")),
        ("2100-02-29", today(), 18, Some("invalid_format")),
        // Not real dates / not the format.
        ("1990-04-31", today(), 18, Some("invalid_format")),
        ("1990-13-01", today(), 18, Some("invalid_format")),
        ("1990-00-01", today(), 18, Some("invalid_format")),
        ("1990-1-01", today(), 18, Some("invalid_format")),
        ("19900101", today(), 18, Some("invalid_format")),
        ("1990/01/01", today(), 18, Some("invalid_format")),
        ("20-04-1990", today(), 18, Some("invalid_format")),
        // Turns 18 exactly today: old enough. Tomorrow: not yet.
        ("2008-04-16", today(), 18, None),
        ("2008-04-17", today(), 18, Some("underage")),
        ("2008-04-15", today(), 18, None),
        ("2026-04-16", today(), 18, Some("underage")),
        // Born on 29 Feb 2008: 18 on 1 Mar 2026 (2026 has no 29 Feb).
        ("2008-02-29", ymd(2026, 2, 28), 18, Some("underage")),
        ("2008-02-29", ymd(2026, 3, 1), 18, None),
        // ...but on 29 Feb itself in a leap year: 16 on 2024-02-29.
        ("2008-02-29", ymd(2024, 2, 28), 16, Some("underage")),
        ("2008-02-29", ymd(2024, 2, 29), 16, None),
        // Configured minimum age.
        ("2005-04-17", today(), 21, Some("underage")),
        ("2005-04-16", today(), 21, None),
        ("2026-04-16", today(), 0, None),
        // The range.
        ("2026-04-17", today(), 0, Some("out_of_range")),
        ("2999-01-01", today(), 18, Some("out_of_range")),
        ("1899-12-31", today(), 18, Some("out_of_range")),
        ("1000-01-01", today(), 18, Some("out_of_range")),
        ("0000-01-01", today(), 18, Some("out_of_range")),
        ("1900-01-01", today(), 18, None),
        ("1980-02-30", today(), 18, Some("invalid_format")),
    ];
    // A blank value: the newtype says `required`; as an optional field of a user it is
    // `invalid_format` (omit it or send null instead).
    assert_eq!(
        code_of(DateOfBirth::parse("", today(), 18)),
        Some("required")
    );
    assert_eq!(
        outcome_with(
            &RawNewUser {
                date_of_birth: s(""),
                ..valid_seed()
            },
            ParseContext::new(today())
        ),
        only("date_of_birth", "invalid_format")
    );
    for &(raw, today, min_age, expected) in table {
        let direct = code_of(DateOfBirth::parse(raw, today, min_age));
        assert_eq!(direct, expected, "{raw} on {today} (min {min_age})");
        let user = RawNewUser {
            date_of_birth: s(raw),
            ..valid_seed()
        };
        let through_user = outcome_with(&user, ParseContext { today, min_age });
        let want = expected.map_or_else(Vec::new, |c| only("date_of_birth", c));
        assert_eq!(through_user, want, "{raw} on {today} (min {min_age})");
    }
}

#[test]
fn anniversary_table() {
    let table = [
        (ymd(2008, 2, 29), 18, ymd(2026, 3, 1)),
        (ymd(2008, 2, 29), 16, ymd(2024, 2, 29)),
        (ymd(2008, 2, 29), 0, ymd(2008, 2, 29)),
        (ymd(2000, 2, 29), 100, ymd(2100, 3, 1)),
        (ymd(1980, 4, 20), 18, ymd(1998, 4, 20)),
        (ymd(1999, 12, 31), 18, ymd(2017, 12, 31)),
        (ymd(2008, 3, 1), 18, ymd(2026, 3, 1)),
    ];
    for (born, years, expected) in table {
        assert_eq!(anniversary(born, years), expected, "{born} + {years}");
    }
}

#[test]
fn stored_date_of_birth_only_checks_1900() {
    // Age and "not in the future" belong to the moment of entry.
    assert!(DateOfBirth::from_record(ymd(2030, 1, 1)).is_ok());
    assert_eq!(
        code_of(DateOfBirth::from_record(ymd(1899, 12, 31))),
        Some("out_of_range")
    );
    assert_eq!(DateOfBirth::EARLIEST, ymd(1900, 1, 1));
    assert_eq!(
        code_of(DateOfBirth::new(today() + Duration::days(1), today(), 0)),
        Some("out_of_range")
    );
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

#[test]
fn unicode_names_are_accepted() {
    let table = [
        ("José", "José"),
        ("Jose\u{301}", "José"), // decomposed input is stored NFC
        ("Zoë", "Zoë"),
        ("Zoe\u{308}", "Zoë"),
        ("李", "李"),
        ("Ñúñez", "Ñúñez"),
        ("O'Brien", "O'Brien"),
        ("Mary-Jane", "Mary-Jane"),
        ("St. John", "St. John"),
        ("  Ana María  ", "Ana María"),
        ("Łukasz", "Łukasz"),
        ("Øyvind", "Øyvind"),
        ("Παναγιώτης", "Παναγιώτης"),
        ("Дмитрий", "Дмитрий"),
        ("김민준", "김민준"),
        ("محمد", "محمد"),
        ("देवी", "देवी"),
        ("J.", "J."),
        ("A", "A"),
    ];
    for (raw, stored) in table {
        let name = PersonName::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
        assert_eq!(name.as_str(), stored, "{raw:?}");
        for field in ["first_name", "middle_name", "last_name"] {
            let mut user = valid_seed();
            match field {
                "first_name" => user.first_name = s(raw),
                "middle_name" => user.middle_name = s(raw),
                _ => user.last_name = s(raw),
            }
            assert_eq!(outcome(&user), Vec::new(), "{field} = {raw:?}");
        }
    }
    assert_eq!(
        PersonName::parse(&"a".repeat(64)).unwrap().as_str().len(),
        64
    );
    assert_eq!(
        PersonName::parse(&"é".repeat(64))
            .unwrap()
            .as_str()
            .chars()
            .count(),
        64
    );
    // 64 characters after NFC even if the input has 128 code points.
    assert!(PersonName::parse(&"e\u{301}".repeat(64)).is_ok());
}

#[test]
fn bad_names_are_rejected() {
    let long = "a".repeat(65);
    let table: &[(&str, &str)] = &[
        ("J0hn", "invalid_format"),
        ("R2-D2", "invalid_format"),
        ("李1", "invalid_format"),
        ("Jo😀", "invalid_format"),
        ("😀", "invalid_format"),
        ("Anna!", "invalid_format"),
        ("Anna_Lee", "invalid_format"),
        ("Anna, Lee", "invalid_format"),
        ("Ann\u{0}a", "invalid_format"),
        ("Ann\u{7}a", "invalid_format"),
        ("Ann\na", "invalid_format"),
        ("\u{301}Anna", "invalid_format"),
        ("-", "invalid_format"),
        ("'.", "invalid_format"),
        ("123", "invalid_format"),
        ("Anna\u{200B}", "invalid_format"),
        (&long, "too_long"),
        ("", "required"),
        ("   ", "required"),
    ];
    for &(raw, code) in table {
        assert_eq!(code_of(PersonName::parse(raw)), Some(code), "{raw:?}");
        assert_eq!(
            outcome(&RawNewUser {
                first_name: s(raw),
                ..valid_seed()
            }),
            only("first_name", code),
            "{raw:?}"
        );
        assert_eq!(
            outcome(&RawNewUser {
                last_name: s(raw),
                ..valid_seed()
            }),
            only("last_name", code),
            "{raw:?}"
        );
        // For the middle name, blank means "none".
        let middle = outcome(&RawNewUser {
            middle_name: s(raw),
            ..valid_seed()
        });
        if code == "required" {
            assert_eq!(middle, Vec::new(), "{raw:?}");
        } else {
            assert_eq!(middle, only("middle_name", code), "{raw:?}");
        }
    }
}

#[test]
fn text_field_lengths() {
    let table: &[(&str, usize, Option<&str>)] = &[
        ("address_one", 128, None),
        ("address_one", 129, Some("too_long")),
        ("address_two", 128, None),
        ("address_two", 129, Some("too_long")),
        ("city", 64, None),
        ("city", 65, Some("too_long")),
    ];
    for &(field, len, code) in table {
        let value = "ü".repeat(len);
        let mut raw = valid_seed();
        match field {
            "address_one" => raw.address_one = Some(value),
            "address_two" => raw.address_two = Some(value),
            _ => raw.city = Some(value),
        }
        let want = code.map_or_else(Vec::new, |c| only(field, c));
        assert_eq!(outcome(&raw), want, "{field} of {len} chars");
    }
    let raw = RawNewUser {
        address_two: s(" "),
        ..valid_seed()
    };
    let user = NewUser::parse(&raw, ctx()).unwrap();
    assert_eq!(user.profile().address().line_two(), None);
    let raw = RawNewUser {
        city: s("San\u{1}Jose"),
        ..valid_seed()
    };
    assert_eq!(outcome(&raw), only("city", "invalid_format"));
}

// ---------------------------------------------------------------------------------------------
// Phone numbers
// ---------------------------------------------------------------------------------------------

#[test]
fn phone_table() {
    // (input, Ok(calling code) or Err(code))
    let table: &[(&str, Result<u16, &str>)] = &[
        ("+15555551234", Ok(1)),
        ("+12125551234", Ok(1)),
        ("+12425551234", Ok(1)), // Bahamas, NANP
        ("+442071838750", Ok(44)),
        ("+4930123456", Ok(49)),
        ("+33142685300", Ok(33)),
        ("+81312345678", Ok(81)),
        ("+79161234567", Ok(7)),
        ("+35312345678", Ok(353)),
        ("+8613800138000", Ok(86)),
        ("+123456789012345", Err("invalid_value")), // +1 with 14 national digits
        ("+10125551234", Err("invalid_value")),     // area code starts with 0
        ("+11125551234", Err("invalid_value")),     // area code starts with 1
        ("+12120551234", Err("invalid_value")),     // exchange starts with 0
        ("+12121551234", Err("invalid_value")),     // exchange starts with 1
        ("+1212555123", Err("invalid_value")),      // 9 national digits
        ("+121255512345", Err("invalid_value")),    // 11 national digits
        ("+999123456789", Err("invalid_value")),    // no such calling code
        ("+990123456789", Err("invalid_value")),
        ("+0123456789", Err("invalid_value")),
        ("+1 0125551234", Err("invalid_format")),
        ("+1 212 555 1234", Err("invalid_format")),
        ("+1-212-555-1234", Err("invalid_format")),
        ("12125551234", Err("invalid_format")),
        ("0012125551234", Err("invalid_format")),
        ("+4412345", Err("invalid_format")),          // 7 digits
        ("+4412345678901234", Err("invalid_format")), // 16 digits
        ("+44207183875O", Err("invalid_format")),
        ("+", Err("invalid_format")),
        ("", Err("required")),
    ];
    for &(raw, expected) in table {
        let got = PhoneNumber::parse(raw)
            .map(|p| p.calling_code())
            .map_err(|v| v.code.as_str());
        assert_eq!(got, expected, "{raw:?}");
        let want = expected
            .err()
            .map_or_else(Vec::new, |c| only("phone_number", c));
        assert_eq!(
            outcome(&RawNewUser {
                phone_number: s(raw),
                ..valid_seed()
            }),
            want,
            "{raw:?}"
        );
    }
    assert_eq!(
        PhoneNumber::parse(" +15555551234 ").unwrap().as_str(),
        "+15555551234"
    );
}

// ---------------------------------------------------------------------------------------------
// Country, state, postal code
// ---------------------------------------------------------------------------------------------

#[test]
fn every_us_state_dc_and_territory_passes() {
    assert_eq!(US_STATES.len(), 50 + 1 + 6);
    for code in US_STATES {
        for given in [
            code.to_owned(),
            code.to_ascii_lowercase(),
            format!(" {code} "),
        ] {
            let raw = RawNewUser {
                state: Some(given.clone()),
                ..valid_seed()
            };
            let user = NewUser::parse(&raw, ctx()).unwrap_or_else(|e| panic!("{given:?}: {e:?}"));
            assert_eq!(user.profile().address().state().as_str(), code, "{given:?}");
        }
    }
    // The territories are also ISO countries of their own.
    for (country, state) in [("PR", "PR"), ("GU", "GU")] {
        let raw = RawNewUser {
            country: s(country),
            state: s(state),
            ..valid_seed()
        };
        assert_eq!(
            outcome(&raw),
            only("state", "not_in_country"),
            "{country}/{state}"
        );
    }
}

#[test]
fn state_table() {
    // (country, state, expected field/code list)
    let table: &[(&str, &str, Expect)] = &[
        ("US", "TX", &[]),
        ("us", "tx", &[]),
        ("Us", "tX", &[]),
        ("US", "ZZ", &[("state", "not_in_country")]),
        ("US", "ON", &[("state", "not_in_country")]),
        ("CA", "ON", &[]),
        ("CA", "TX", &[("state", "not_in_country")]),
        ("GB", "ENG", &[]),
        ("DE", "BY", &[]),
        ("FR", "75C", &[]),
        ("US", "US-TX", &[("state", "invalid_format")]),
        ("US", "Texas", &[("state", "invalid_format")]),
        ("US", "T X", &[("state", "invalid_format")]),
        ("US", "", &[("state", "required")]),
        // An unknown country cannot judge its state: only the country is reported.
        ("XX", "TX", &[("country", "invalid_value")]),
        ("XX", "ZZ", &[("country", "invalid_value")]),
        ("ZZ", "TX", &[("country", "invalid_value")]),
        ("USA", "TX", &[("country", "invalid_format")]),
        ("U", "TX", &[("country", "invalid_format")]),
        ("1A", "TX", &[("country", "invalid_format")]),
        ("", "TX", &[("country", "required")]),
    ];
    for &(country, state, expected) in table {
        let raw = RawNewUser {
            country: s(country),
            state: s(state),
            ..valid_seed()
        };
        let want: Vec<(String, &str)> = expected
            .iter()
            .map(|(f, c)| ((*f).to_owned(), *c))
            .collect();
        assert_eq!(outcome(&raw), want, "{country}/{state}");
    }
    let raw = RawNewUser {
        country: s("XX"),
        state: None,
        ..valid_seed()
    };
    assert_eq!(
        outcome(&raw),
        vec![
            ("country".to_owned(), "invalid_value"),
            ("state".to_owned(), "required")
        ]
    );
    assert_eq!(Country::parse("gb").unwrap().as_str(), "GB");
    let us = Country::parse("US").unwrap();
    assert_eq!(State::parse("ny", us).unwrap().as_str(), "NY");
}

#[test]
fn postal_code_table() {
    let table: &[(&str, Option<&str>)] = &[
        ("30044", None),
        ("00501", None),
        (" 30044 ", None),
        ("3004", Some("invalid_format")),
        ("300444", Some("invalid_format")),
        ("30044-1234", Some("invalid_format")),
        ("3004A", Some("invalid_format")),
        ("K1A 0B1", Some("invalid_format")),
        ("３００４４", Some("invalid_format")),
        ("", Some("required")),
    ];
    for &(raw, code) in table {
        let want = code.map_or_else(Vec::new, |c| only("postal_code", c));
        let user = RawNewUser {
            postal_code: s(raw),
            ..valid_seed()
        };
        assert_eq!(outcome(&user), want, "{raw:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Email, username, SSN
// ---------------------------------------------------------------------------------------------

#[test]
fn email_table() {
    let ok = [
        ("Jane.Doe@EXAMPLE.COM", "Jane.Doe@example.com"),
        (" jane@Example.Org ", "jane@example.org"),
        ("JANE+tag@Mail.Example.co.uk", "JANE+tag@mail.example.co.uk"),
        ("a@b.io", "a@b.io"),
    ];
    for (raw, stored) in ok {
        let email = Email::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
        assert_eq!(email.as_str(), stored);
        assert_eq!(email.unique_key(), stored.to_ascii_lowercase());
    }
    let long_local = format!(
        "{}@{}.com",
        "a".repeat(60),
        vec!["b".repeat(63); 3].join(".")
    );
    let bad: &[(&str, &str)] = &[
        ("jane@example", "invalid_format"),
        ("jane@localhost", "invalid_format"),
        ("jane doe@example.com", "invalid_format"),
        ("jane@exa mple.com", "invalid_format"),
        (" jane @example.com", "invalid_format"),
        ("\"jane\"@example.com", "invalid_format"),
        ("\"jane doe\"@example.com", "invalid_format"),
        ("jane.doe.example.com", "invalid_format"),
        ("jane@@example.com", "invalid_format"),
        ("jane..doe@example.com", "invalid_format"),
        ("jane@example.c0m", "invalid_format"),
        ("jane@[192.168.0.1]", "invalid_format"),
        ("Jane <jane@example.com>", "invalid_format"),
        ("josé@example.com", "invalid_format"),
        ("@example.com", "invalid_format"),
        (&long_local, "too_long"),
        ("", "required"),
    ];
    for &(raw, code) in bad {
        assert_eq!(code_of(Email::parse(raw)), Some(code), "{raw:?}");
        let user = RawNewUser {
            email: s(raw),
            ..valid_seed()
        };
        assert_eq!(outcome(&user), only("email", code), "{raw:?}");
    }
}

#[test]
fn username_table() {
    let table: &[(&str, Option<&str>)] = &[
        ("janedoe", None),
        ("Jane.Doe_99", None),
        ("abc", None),
        ("9lives", None),
        ("a-b", None),
        ("ab", Some("too_short")),
        ("a", Some("too_short")),
        (&"a".repeat(33), Some("too_long")),
        (".jane", Some("invalid_format")),
        ("_jane", Some("invalid_format")),
        ("-jane", Some("invalid_format")),
        ("jane doe", Some("invalid_format")),
        ("jane@doe", Some("invalid_format")),
        ("josé", Some("invalid_format")),
    ];
    for &(raw, code) in table {
        let want = code.map_or_else(Vec::new, |c| only("username", c));
        let user = RawNewUser {
            username: s(raw),
            ..valid_seed()
        };
        assert_eq!(outcome(&user), want, "{raw:?}");
    }
    let user = RawNewUser {
        username: s(&"a".repeat(32)),
        ..valid_seed()
    };
    assert_eq!(outcome(&user), Vec::new());
}

#[test]
fn ssn_table() {
    let table: &[(&str, Option<&str>)] = &[
        ("123-45-6789", None),
        ("123456789", None),
        ("001-01-0001", None),
        ("899-99-9999", None),
        ("665-12-3456", None),
        ("667-12-3456", None),
        ("000-12-3456", Some("invalid_value")),
        ("666-12-3456", Some("invalid_value")),
        ("666123456", Some("invalid_value")),
        ("900-12-3456", Some("invalid_value")),
        ("999-12-3456", Some("invalid_value")),
        ("123-00-6789", Some("invalid_value")),
        ("123-45-0000", Some("invalid_value")),
        ("XXXXXXXXX", Some("invalid_format")),
        ("XXX-XX-XXXX", Some("invalid_format")),
        ("12345678", Some("invalid_format")),
        ("1234567890", Some("invalid_format")),
        ("12-345-6789", Some("invalid_format")),
        ("123-456789", Some("invalid_format")),
        ("123 45 6789", Some("invalid_format")),
        ("", Some("invalid_format")),
    ];
    for &(raw, code) in table {
        let want = code.map_or_else(Vec::new, |c| only("ssn", c));
        let user = RawNewUser {
            ssn: s(raw).map(Zeroizing::new),
            ..valid_seed()
        };
        assert_eq!(outcome(&user), want, "{raw:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// meta_data
// ---------------------------------------------------------------------------------------------

fn meta(names: &[&str]) -> Vec<RawMetaEntry> {
    names
        .iter()
        .map(|n| RawMetaEntry {
            name: s(n),
            value: s("v"),
        })
        .collect()
}

#[test]
fn meta_data_table() {
    let fifty: Vec<String> = (0..50).map(|i| format!("k{i}")).collect();
    let fifty: Vec<&str> = fifty.iter().map(String::as_str).collect();
    let mut fifty_one = fifty.clone();
    fifty_one.push("k50");
    let long_name = "n".repeat(65);
    let table: &[(Vec<RawMetaEntry>, Expect)] = &[
        (meta(&[]), &[]),
        (meta(&fifty), &[]),
        (meta(&fifty_one), &[("meta_data", "too_many")]),
        (
            meta(&["a", "b", "a"]),
            &[("meta_data[2].name", "duplicate_name")],
        ),
        (
            meta(&["a", "b", " a "]),
            &[("meta_data[2].name", "duplicate_name")],
        ),
        (meta(&["a", "A"]), &[]),
        (
            meta(&["a", "a", "a"]),
            &[
                ("meta_data[1].name", "duplicate_name"),
                ("meta_data[2].name", "duplicate_name"),
            ],
        ),
        (
            meta(&["ok", "bad name"]),
            &[("meta_data[1].name", "invalid_format")],
        ),
        (meta(&[&long_name]), &[("meta_data[0].name", "too_long")]),
        (meta(&["x", ""]), &[("meta_data[1].name", "required")]),
    ];
    for (list, expected) in table {
        let raw = RawNewUser {
            meta_data: Some(list.clone()),
            ..valid_seed()
        };
        let want: Vec<(String, &str)> = expected
            .iter()
            .map(|(f, c)| ((*f).to_owned(), *c))
            .collect();
        assert_eq!(outcome(&raw), want, "{} entries", list.len());
    }
    let values: &[(String, Option<&str>)] = &[
        ("x".repeat(512), None),
        ("é".repeat(512), None),
        (String::new(), None),
        ("  padded\tline\r\n".to_owned(), None),
        ("x".repeat(513), Some("too_long")),
        ("bell\u{7}".to_owned(), Some("invalid_format")),
    ];
    for (value, code) in values {
        let list = vec![
            RawMetaEntry {
                name: s("a"),
                value: s("v"),
            },
            RawMetaEntry {
                name: s("b"),
                value: Some(value.clone()),
            },
        ];
        let parsed = MetaData::parse("meta_data", &list);
        match code {
            None => assert_eq!(
                parsed.unwrap().entries()[1].value().as_str(),
                value,
                "stored verbatim"
            ),
            Some(c) => assert_eq!(pairs(&parsed.unwrap_err()), only("meta_data[1].value", c)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Business link and ids
// ---------------------------------------------------------------------------------------------

const UUID: &str = "8f3a2b1c-0e44-4f2d-9a11-7b23cc90d1ef";

/// `(business_id, is_vendor, expected errors, expected contact type)`.
type LinkRow = (
    Option<String>,
    Option<bool>,
    Vec<(String, &'static str)>,
    Option<ContactType>,
);

#[test]
fn business_link_table() {
    let business = format!("buss-{UUID}");
    // (business_id, is_vendor, expected errors, expected contact type)
    let table: Vec<LinkRow> = vec![
        (None, None, vec![], None),
        (
            None,
            Some(true),
            only("is_vendor", "requires_business_id"),
            None,
        ),
        (
            None,
            Some(false),
            only("is_vendor", "requires_business_id"),
            None,
        ),
        (
            Some(business.clone()),
            None,
            vec![],
            Some(ContactType::Customer),
        ),
        (
            Some(business.clone()),
            Some(false),
            vec![],
            Some(ContactType::Customer),
        ),
        (
            Some(business.clone()),
            Some(true),
            vec![],
            Some(ContactType::Vendor),
        ),
        (
            Some(format!("user-{UUID}")),
            Some(true),
            only("business_id", "invalid_format"),
            None,
        ),
        (
            Some("buss-123".to_owned()),
            None,
            only("business_id", "invalid_format"),
            None,
        ),
    ];
    for (business_id, is_vendor, errors, contact) in table {
        let raw = RawNewUser {
            business_id: business_id.clone(),
            is_vendor,
            ..valid_seed()
        };
        assert_eq!(outcome(&raw), errors, "{business_id:?} / {is_vendor:?}");
        if let Ok(user) = NewUser::parse(&raw, ctx()) {
            assert_eq!(user.business().map(|b| b.contact_type), contact);
            if let Some(link) = user.business() {
                assert_eq!(link.business_id.to_string(), business);
            }
        }
    }
}

#[test]
fn typed_id_table() {
    let upper = UUID.to_ascii_uppercase();
    let simple = UUID.replace('-', "");
    let table: Vec<(String, Option<&str>)> = vec![
        (format!("user-{UUID}"), None),
        (format!(" user-{UUID} "), None),
        (format!("USER-{UUID}"), Some("invalid_format")),
        (format!("User-{UUID}"), Some("invalid_format")),
        (format!("buss-{UUID}"), Some("invalid_format")),
        (format!("bcus-{UUID}"), Some("invalid_format")),
        (format!("user-{simple}"), Some("invalid_format")),
        (format!("user{UUID}"), Some("invalid_format")),
        (format!("user_{UUID}"), Some("invalid_format")),
        (format!("user-{{{UUID}}}"), Some("invalid_format")),
        (format!("user-urn:uuid:{UUID}"), Some("invalid_format")),
        (format!("user-{}", &UUID[..35]), Some("invalid_format")),
        (format!("user-{UUID}0"), Some("invalid_format")),
        (format!("user-{}g", &UUID[..35]), Some("invalid_format")),
        (UUID.to_owned(), Some("invalid_format")),
        ("user-".to_owned(), Some("invalid_format")),
        (String::new(), Some("required")),
    ];
    for (raw, code) in table {
        assert_eq!(code_of(UserId::parse(&raw)), code, "{raw:?}");
    }
    // Each kind only accepts its own prefix.
    assert!(BusinessId::parse(&format!("buss-{UUID}")).is_ok());
    assert_eq!(
        code_of(BusinessId::parse(&format!("bcus-{UUID}"))),
        Some("invalid_format")
    );
    assert!(ContactId::parse(&format!("bcus-{UUID}")).is_ok());
    assert_eq!(
        code_of(ContactId::parse(&format!("user-{UUID}"))),
        Some("invalid_format")
    );
    // Display is always the lowercase form.
    let id = UserId::from_uuid(Uuid::parse_str(&upper).unwrap());
    assert_eq!(id.to_string(), format!("user-{UUID}"));
}

// ---------------------------------------------------------------------------------------------
// The stored user
// ---------------------------------------------------------------------------------------------

fn new_user(raw: &RawNewUser) -> NewUser {
    NewUser::parse(raw, ctx()).unwrap()
}

fn ids() -> (UserId, ProgramId) {
    (
        UserId::from_uuid(Uuid::from_u128(7)),
        ProgramId::from_uuid(Uuid::from_u128(9)),
    )
}

fn parts(user: &NewUser, kyc: KycStatus) -> UserParts {
    let (id, program_id) = ids();
    UserParts {
        id,
        program_id,
        profile: user.profile().clone(),
        ssn_last_4: user.ssn().map(onboard_domain::Ssn::last4),
        terms_accepted_at: user.terms_accepted().then_some(now()),
        status: UserStatus::Active,
        kyc_status: kyc,
        screening_status: onboard_domain::screening::ScreeningStatus::NotScreened,
        created_at: now(),
        updated_at: now(),
    }
}

#[test]
fn user_new_checks_time() {
    let user = new_user(&valid_seed());
    let ok = parts(&user, KycStatus::NotStarted);
    assert!(User::new(ok.clone()).is_ok());
    let later = UserParts {
        updated_at: now() + Duration::milliseconds(1),
        ..ok.clone()
    };
    assert!(User::new(later).is_ok());
    let backwards = UserParts {
        updated_at: now() - Duration::milliseconds(1),
        ..ok
    };
    assert_eq!(User::new(backwards), Err(UserInvariantError::TimeTravel));
}

#[test]
fn user_new_checks_kyc_data() {
    let full = new_user(&valid_seed());
    let no_dob = new_user(&RawNewUser {
        date_of_birth: None,
        ..valid_seed()
    });
    let no_ssn = new_user(&RawNewUser {
        ssn: None,
        ..valid_seed()
    });
    let no_terms = new_user(&RawNewUser {
        terms_accepted: Some(false),
        ..valid_seed()
    });
    for kyc in KycStatus::ALL.iter().copied() {
        assert!(User::new(parts(&full, kyc)).is_ok(), "{kyc} with full data");
        for (what, user) in [("dob", &no_dob), ("ssn", &no_ssn), ("terms", &no_terms)] {
            let result = User::new(parts(user, kyc));
            if kyc == KycStatus::NotStarted {
                assert!(result.is_ok(), "{kyc} without {what}");
            } else {
                assert_eq!(
                    result,
                    Err(UserInvariantError::KycWithoutData(kyc)),
                    "{kyc} without {what}"
                );
            }
        }
    }
}

#[test]
fn kyc_requirements_list_exactly_what_is_missing() {
    // (date_of_birth, ssn, terms_accepted) → missing fields
    let table: &[(bool, bool, Option<bool>, &[&str])] = &[
        (true, true, Some(true), &[]),
        (false, true, Some(true), &["date_of_birth"]),
        (true, false, Some(true), &["ssn"]),
        (true, true, Some(false), &["terms_accepted"]),
        (true, true, None, &["terms_accepted"]),
        (false, false, Some(true), &["date_of_birth", "ssn"]),
        (false, true, None, &["date_of_birth", "terms_accepted"]),
        (true, false, Some(false), &["ssn", "terms_accepted"]),
        (
            false,
            false,
            None,
            &["date_of_birth", "ssn", "terms_accepted"],
        ),
    ];
    for &(dob, ssn, terms, missing) in table {
        let raw = RawNewUser {
            date_of_birth: if dob { s("1980-04-20") } else { None },
            ssn: if ssn {
                s("123-45-6789").map(Zeroizing::new)
            } else {
                None
            },
            terms_accepted: terms,
            ..valid_seed()
        };
        let (id, program) = ids();
        let user = User::create(id, program, &new_user(&raw), now());
        assert_eq!(user.status(), UserStatus::Active);
        assert_eq!(user.kyc_status(), KycStatus::NotStarted);
        assert_eq!(user.created_at(), now());
        assert_eq!(user.updated_at(), now());
        assert_eq!(
            user.terms_accepted_at(),
            (terms == Some(true)).then_some(now())
        );
        assert_eq!(
            user.ssn_last_4().map(|l| l.to_string()),
            ssn.then(|| "6789".to_owned())
        );
        let want: Vec<(String, &str)> = missing
            .iter()
            .map(|f| ((*f).to_owned(), "required"))
            .collect();
        match user.kyc_requirements() {
            Ok(()) => assert!(missing.is_empty(), "expected {missing:?} missing"),
            Err(e) => assert_eq!(pairs(&e), want, "{dob} {ssn} {terms:?}"),
        }
    }
}

#[test]
fn blocking_moves_updated_at() {
    let (id, program) = ids();
    let mut user = User::create(id, program, &new_user(&valid_seed()), now());
    let later = now() + Duration::seconds(30);
    user.set_status(UserStatus::block, later).unwrap();
    assert_eq!(user.status(), UserStatus::Blocked);
    assert_eq!(user.updated_at(), later);
    let before = user.clone();
    let err = user
        .set_status(UserStatus::block, later + Duration::seconds(1))
        .unwrap_err();
    assert_eq!((err.from, err.action), ("blocked", "block"));
    assert_eq!(user, before);
    assert_eq!(err.to_string(), "cannot block when the status is blocked");
    user.set_status(UserStatus::unblock, later + Duration::seconds(2))
        .unwrap();
    assert_eq!(user.status(), UserStatus::Active);
}

#[test]
fn kyc_edge_table() {
    use onboard_domain::KycEvent::{Reject, Submit, Verify};
    use onboard_domain::KycStatus::{NotStarted, Pending, Rejected, Verified};
    let table = [
        (NotStarted, Submit, Some(Pending)),
        (NotStarted, Verify, None),
        (NotStarted, Reject, None),
        (Pending, Submit, None),
        (Pending, Verify, Some(Verified)),
        (Pending, Reject, Some(Rejected)),
        (Verified, Submit, None),
        (Verified, Verify, None),
        (Verified, Reject, None),
        (Rejected, Submit, None),
        (Rejected, Verify, None),
        (Rejected, Reject, None),
    ];
    for (from, event, to) in table {
        let got = from.apply(event);
        if let Some(to) = to {
            assert_eq!(got, Ok(to), "{from} -{event}->");
        } else {
            let e = got.unwrap_err();
            assert_eq!((e.from, e.action), (from.as_str(), event.as_str()));
        }
    }
}
