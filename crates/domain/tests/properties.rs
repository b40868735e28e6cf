//! Invariants of the domain crate, checked with generated inputs (proptest).
//!
//! 1. Valid values parse, and their normalised form re-parses to an equal value.
//! 2. Invalid values of each field make `NewUser::parse` fail on exactly that field's path,
//!    with the expected code.
//! 3. Breaking any subset of a valid user's fields fails exactly that subset of paths.
//! 4. `Debug` never shows an SSN or an EIN.
//! 5. Random event sequences only follow the lifecycle edges of SPEC §3.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use onboard_domain::Zeroizing;
use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Duration, NaiveDate};
use common::{US_STATES, ctx, now, today};
use onboard_domain::{
    AddressLine, Business, BusinessId, City, ContactId, ContactType, Country, DateOfBirth, Ein,
    Email, ErrorCode, KycEvent, KycStatus, MetaName, MetaValue, NewBusiness, NewUser, PersonName,
    PhoneNumber, PostalCode, ProgramId, RawMetaEntry, RawNewBusiness, RawNewUser, Ssn, State, User,
    UserId, UserStatus, Username,
};
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::string::string_regex;
use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

type Bad = (String, ErrorCode);

// ---------------------------------------------------------------------------------------------
// Generic helpers
// ---------------------------------------------------------------------------------------------

fn re(pattern: &str) -> BoxedStrategy<String> {
    string_regex(pattern).unwrap().boxed()
}

/// Surrounding whitespace that every trimmed field must ignore.
const PADS: &[&str] = &["", "", "", " ", "  ", "\t", " \n", "\r\n "];

fn padded(inner: impl Strategy<Value = String>) -> impl Strategy<Value = String> {
    (select(PADS), inner, select(PADS)).prop_map(|(a, s, b)| format!("{a}{s}{b}"))
}

/// Flips the case of the ASCII letters of `s` where `mask` has a 1 bit.
fn random_case(s: &str, mask: u32) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if mask >> (i % 32) & 1 == 1 {
                if c.is_ascii_uppercase() {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            } else {
                c
            }
        })
        .collect()
}

/// Inserts `ins` at a char boundary chosen by `at`.
fn insert_at(s: &str, at: usize, ins: &str) -> String {
    let n = s.chars().count();
    let idx = s
        .char_indices()
        .nth(at % (n + 1))
        .map_or(s.len(), |(i, _)| i);
    let mut out = s.to_owned();
    out.insert_str(idx, ins);
    out
}

fn day_between(lo: NaiveDate, hi: NaiveDate) -> BoxedStrategy<NaiveDate> {
    let span = (hi - lo).num_days();
    (0..=span).prop_map(move |d| lo + Duration::days(d)).boxed()
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn iso(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

// ---------------------------------------------------------------------------------------------
// Valid-value generators
// ---------------------------------------------------------------------------------------------

/// Letters of several scripts; some decomposed (NFC composes them), some with a combining mark
/// that has no precomposed form.
const LETTER_UNITS: &[&str] = &[
    "a", "b", "e", "k", "m", "o", "r", "z", "A", "J", "M", "Q", "Z", "é", "ñ", "ü", "ø", "ß", "ç",
    "å", "Ł", "œ", "Š", "ž", "ğ", "ı", "Ö", "e\u{301}", "n\u{303}", "o\u{308}", "A\u{30A}", "α",
    "Ω", "ж", "Я", "李", "王", "김", "박", "م", "ح", "ד", "ש", "ก", "कि", "न", "ō", "ą",
];

fn name_word() -> impl Strategy<Value = String> {
    vec(select(LETTER_UNITS), 1..=7).prop_map(|v| v.concat())
}

/// A valid person name: words of letters joined by ` `, `-`, `'`, `. `, maybe padded.
fn valid_person_name() -> BoxedStrategy<String> {
    let words = (
        name_word(),
        vec((select(vec![" ", "-", "'", ". ", " "]), name_word()), 0..=2),
        any::<bool>(),
    )
        .prop_map(|(first, rest, dot)| {
            let mut s = first;
            for (sep, w) in rest {
                s.push_str(sep);
                s.push_str(&w);
            }
            if dot {
                s.push('.');
            }
            s
        });
    prop_oneof![
        3 => padded(words),
        1 => re("[A-Za-z][A-Za-z .'-]{0,63}"),
        1 => re("[A-Za-z]{64}"),
    ]
    .boxed()
}

/// Non-blank text without control characters, at most `max` characters after trimming.
fn valid_free_text(max: usize) -> BoxedStrategy<String> {
    let edge = "[^\\p{Cc}\\s]";
    let inner = (
        re(edge),
        re(&format!("[^\\p{{Cc}}]{{0,{}}}", max - 2)),
        option::of(re(edge)),
    )
        .prop_map(|(a, m, b)| format!("{a}{m}{}", b.unwrap_or_default()));
    prop_oneof![
        4 => padded(inner),
        1 => re(&format!("[a-zA-Z0-9 ,.#/-]{{{}}}", max - 1)).prop_map(|s| format!("x{s}")),
    ]
    .boxed()
}

/// `(raw, expected normalised)`.
fn valid_email() -> BoxedStrategy<(String, String)> {
    let local = "[A-Za-z0-9_%+-]{1,16}(\\.[A-Za-z0-9_%+-]{1,8}){0,2}";
    let domain = "([A-Za-z0-9]([A-Za-z0-9-]{0,8}[A-Za-z0-9])?\\.){1,3}[A-Za-z]{2,8}";
    (re(local), re(domain), select(PADS))
        .prop_map(|(l, d, pad)| {
            (
                format!("{pad}{l}@{d}{pad}"),
                format!("{l}@{}", d.to_ascii_lowercase()),
            )
        })
        .boxed()
}

/// Real country calling codes other than +1.
const CALLING_CODES: &[u16] = &[
    7, 20, 27, 30, 31, 33, 34, 39, 41, 44, 49, 52, 55, 61, 81, 82, 86, 91, 234, 353, 358, 380, 852,
    971, 972, 992, 998,
];

/// `(raw, calling code)`.
fn valid_phone() -> BoxedStrategy<(String, u16)> {
    let nanp = re("\\+1[2-9][0-9]{2}[2-9][0-9]{6}").prop_map(|s| (s, 1));
    let fixed = prop_oneof![
        re("\\+44[0-9]{9,10}").prop_map(|s| (s, 44)),
        re("\\+49[0-9]{6,13}").prop_map(|s| (s, 49)),
        re("\\+33[1-9][0-9]{8}").prop_map(|s| (s, 33)),
        re("\\+81[0-9]{9,10}").prop_map(|s| (s, 81)),
    ];
    let any_code = select(CALLING_CODES).prop_flat_map(|code| {
        let len = code.to_string().len();
        re(&format!("[0-9]{{{},{}}}", 8 - len, 15 - len))
            .prop_map(move |n| (format!("+{code}{n}"), code))
    });
    prop_oneof![2 => nanp, 1 => fixed, 1 => any_code].boxed()
}

/// `(raw, expected alpha-2)` over every ISO 3166-1 country.
fn valid_country() -> BoxedStrategy<(String, &'static str)> {
    (select(rust_iso3166::ALL), any::<u32>(), select(PADS))
        .prop_map(|(c, mask, pad)| (format!("{pad}{}", random_case(c.alpha2, mask)), c.alpha2))
        .boxed()
}

fn countries_with_subdivisions() -> Vec<&'static str> {
    rust_iso3166::ALL
        .iter()
        .filter(|c| c.subdivisions().is_some_and(|s| !s.is_empty()))
        .map(|c| c.alpha2)
        .collect()
}

/// `(country, raw state, expected state)`, from the ISO 3166-2 tables (US weighted up).
fn valid_country_state() -> BoxedStrategy<(String, String, String)> {
    let us = (select(US_STATES.to_vec()), any::<u32>())
        .prop_map(|(st, mask)| ("US".to_owned(), random_case(st, mask), st.to_owned()));
    let others = (
        select(vec!["CA", "GB", "DE", "FR", "MX", "AU", "JP", "IN", "BR"]),
        any::<prop::sample::Index>(),
        any::<u32>(),
    )
        .prop_map(|(c, idx, mask)| {
            let country = rust_iso3166::from_alpha2(c).unwrap();
            let subs = country.subdivisions().unwrap();
            let code = subs[idx.index(subs.len())].code;
            let suffix = code.split_once('-').unwrap().1;
            (
                random_case(c, mask),
                random_case(suffix, mask >> 3),
                suffix.to_owned(),
            )
        });
    let anywhere = (
        select(countries_with_subdivisions()),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(c, idx)| {
            let country = rust_iso3166::from_alpha2(c).unwrap();
            let subs = country.subdivisions().unwrap();
            let suffix = subs[idx.index(subs.len())].code.split_once('-').unwrap().1;
            (c.to_owned(), suffix.to_ascii_lowercase(), suffix.to_owned())
        });
    prop_oneof![3 => us, 1 => others, 1 => anywhere].boxed()
}

fn valid_zip() -> BoxedStrategy<String> {
    padded(re("[0-9]{5}")).boxed()
}

fn valid_username() -> BoxedStrategy<String> {
    padded(re("[A-Za-z0-9][A-Za-z0-9._-]{2,31}")).boxed()
}

/// The latest birth date that is `min_age` years old on `today()` (2026-04-16, not a 29 Feb).
fn latest_birth(min_age: u32) -> NaiveDate {
    let t = today();
    ymd(
        t.year() - i32::try_from(min_age).unwrap(),
        t.month(),
        t.day(),
    )
}

/// `(date, min_age)` of a person at least `min_age` old on `today()`.
fn valid_dob() -> BoxedStrategy<(NaiveDate, u32)> {
    (0u32..=110)
        .prop_flat_map(|age| {
            (
                day_between(DateOfBirth::EARLIEST, latest_birth(age)),
                Just(age),
            )
        })
        .boxed()
}

/// An issuable SSN: `(raw, digits)`.
fn valid_ssn() -> BoxedStrategy<(String, String)> {
    (
        (1u16..=899).prop_filter("666 is never issued", |a| *a != 666),
        1u16..=99,
        1u16..=9999,
        any::<bool>(),
        select(PADS),
    )
        .prop_map(|(a, g, s, dashed, pad)| {
            let digits = format!("{a:03}{g:02}{s:04}");
            let raw = if dashed {
                format!("{pad}{a:03}-{g:02}-{s:04}")
            } else {
                format!("{digits}{pad}")
            };
            (raw, digits)
        })
        .boxed()
}

/// IRS-assigned EIN prefixes.
fn ein_prefixes() -> Vec<u8> {
    [
        (1, 6),
        (10, 16),
        (20, 27),
        (30, 48),
        (50, 68),
        (71, 77),
        (80, 88),
        (90, 95),
        (98, 99),
    ]
    .iter()
    .flat_map(|&(lo, hi)| lo..=hi)
    .collect()
}

/// A valid EIN: `(raw, digits)`.
fn valid_ein() -> BoxedStrategy<(String, String)> {
    (select(ein_prefixes()), 0u32..=9_999_999, any::<bool>())
        .prop_map(|(p, rest, dashed)| {
            let digits = format!("{p:02}{rest:07}");
            let raw = if dashed {
                format!("{p:02}-{rest:07}")
            } else {
                digits.clone()
            };
            (raw, digits)
        })
        .boxed()
}

fn valid_meta_name() -> BoxedStrategy<String> {
    re("[A-Za-z0-9_.-]{1,64}")
}

fn valid_meta_value() -> BoxedStrategy<String> {
    prop_oneof![
        3 => re("([^\\p{Cc}]|[\\t\\n\\r]){0,64}"),
        1 => re("([^\\p{Cc}]|[\\t\\n\\r]){500,512}"),
    ]
    .boxed()
}

/// Up to `max` entries (at most 50) with distinct names, in a shuffled order.
fn valid_meta_list(max: usize) -> BoxedStrategy<Vec<RawMetaEntry>> {
    let value = prop_oneof![
        20 => re("[ -~]{0,24}"),
        2 => re("([^\\p{Cc}]|[\\t\\n\\r]){0,24}"),
        1 => re("[ -~]{512}"),
    ];
    btree_map(re("[A-Za-z0-9_.-]{1,12}"), value, 0..=max)
        .prop_map(|m| {
            m.into_iter()
                .map(|(n, v)| RawMetaEntry {
                    name: Some(n),
                    value: Some(v),
                })
                .collect::<Vec<_>>()
        })
        .prop_shuffle()
        .boxed()
}

/// A random create-user input that passes every rule on `today()` with min age 18.
fn valid_raw_user() -> BoxedStrategy<RawNewUser> {
    let names = (
        valid_person_name(),
        option::of(prop_oneof![Just(String::new()), valid_person_name()]),
        valid_person_name(),
    );
    let contact = (valid_email(), valid_phone());
    let address = (
        valid_free_text(AddressLine::MAX),
        option::of(prop_oneof![
            Just(String::new()),
            valid_free_text(AddressLine::MAX)
        ]),
        valid_free_text(City::MAX),
        valid_country_state(),
        valid_zip(),
    );
    let identity = (
        option::of(valid_username()),
        option::of(day_between(DateOfBirth::EARLIEST, latest_birth(18))),
        option::of(valid_ssn()),
        option::of(any::<bool>()),
    );
    let extra = (
        option::of(valid_meta_list(50)),
        option::of((any::<u128>(), option::of(any::<bool>()))),
    );
    (names, contact, address, identity, extra)
        .prop_map(
            |(
                (first, middle, last),
                ((email, _), (phone, _)),
                (one, two, city, (country, state, _), zip),
                (username, dob, ssn, terms),
                (meta, business),
            )| RawNewUser {
                first_name: Some(first),
                middle_name: middle,
                last_name: Some(last),
                email: Some(email),
                phone_number: Some(phone),
                address_one: Some(one),
                address_two: two,
                city: Some(city),
                state: Some(state),
                country: Some(country),
                postal_code: Some(zip),
                username,
                date_of_birth: dob.map(iso),
                ssn: ssn.map(|(raw, _)| Zeroizing::new(raw)),
                terms_accepted: terms,
                meta_data: meta,
                business_id: business
                    .map(|(u, _)| BusinessId::from_uuid(Uuid::from_u128(u)).to_string()),
                is_vendor: business.and_then(|(_, v)| v),
            },
        )
        .boxed()
}

fn valid_raw_business() -> BoxedStrategy<RawNewBusiness> {
    (
        (valid_free_text(128), valid_email(), valid_phone()),
        (
            valid_free_text(AddressLine::MAX),
            valid_free_text(City::MAX),
            valid_country_state(),
            valid_zip(),
        ),
        option::of(valid_meta_list(8)),
    )
        .prop_map(
            |((name, (email, _), (phone, _)), (one, city, (country, state, _), zip), meta)| {
                RawNewBusiness {
                    business_name: Some(name),
                    email: Some(email),
                    phone_number: Some(phone),
                    business_address: Some(one),
                    business_address_2: None,
                    city: Some(city),
                    state: Some(state),
                    zipcode: Some(zip),
                    country: Some(country),
                    ein: None,
                    business_type: Some("llc".to_owned()),
                    incorporated_date: Some("2001-02-03".to_owned()),
                    incorporated_state: None,
                    meta_data: meta,
                    ..RawNewBusiness::default()
                }
            },
        )
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// Invalid-value generators: `(value, expected code)`
// ---------------------------------------------------------------------------------------------

fn blank() -> BoxedStrategy<Bad> {
    select(vec!["", " ", "   ", "\t", " \n "])
        .prop_map(|s| (s.to_owned(), ErrorCode::Required))
        .boxed()
}

/// Characters no name may contain.
const NOT_IN_NAMES: &[&str] = &[
    "0", "1", "7", "9", "😀", "🎉", "@", "#", "!", "?", ",", ";", ":", "/", "_", "(", "&", "+",
    "=", "\u{200B}", "٣", "½", "€",
];

/// A bad person name. `blank_is_bad`: whether `""` is an error (false for `middle_name`).
fn invalid_person_name(blank_is_bad: bool) -> BoxedStrategy<Bad> {
    let short_name = vec(select(LETTER_UNITS), 1..=20).prop_map(|v| v.concat());
    let with_bad_char = (short_name.clone(), select(NOT_IN_NAMES), any::<usize>())
        .prop_map(|(n, bad, at)| (insert_at(&n, at, bad), ErrorCode::InvalidFormat));
    let with_control = (
        re("[A-Za-z]{1,10}"),
        re("[\\x00-\\x08\\x0B\\x0E-\\x1F\\x7F\\u0080-\\u009F]"),
        re("[A-Za-z]{1,10}"),
    )
        .prop_map(|(a, c, b)| (format!("{a}{c}{b}"), ErrorCode::InvalidFormat));
    let too_long = re("[A-Za-zé]{65,100}").prop_map(|s| (s, ErrorCode::TooLong));
    let no_letter = re("[-'.][-'. ]{0,9}").prop_map(|s| (s, ErrorCode::InvalidFormat));
    let leading_mark = short_name.prop_map(|n| (format!("\u{301}{n}"), ErrorCode::InvalidFormat));
    let mut options = vec![
        (3, with_bad_char.boxed()),
        (1, with_control.boxed()),
        (1, too_long.boxed()),
        (1, no_letter.boxed()),
        (1, leading_mark.boxed()),
    ];
    if blank_is_bad {
        options.push((1, blank()));
    }
    proptest::strategy::Union::new_weighted(options).boxed()
}

fn invalid_free_text(max: usize, blank_is_bad: bool) -> BoxedStrategy<Bad> {
    let too_long = re(&format!("[a-zA-Z0-9 ,.]{{{},{}}}", max + 1, max + 40))
        .prop_map(|s| (format!("x{s}y"), ErrorCode::TooLong));
    let control = (
        re("[A-Za-z0-9 ]{0,20}"),
        re("[\\x00-\\x08\\x0B\\x0E-\\x1F\\x7F\\u0080-\\u009F]"),
    )
        .prop_map(|(a, c)| (format!("x{a}{c}y"), ErrorCode::InvalidFormat));
    let mut options = vec![(1, too_long.boxed()), (1, control.boxed())];
    if blank_is_bad {
        options.push((1, blank()));
    }
    proptest::strategy::Union::new_weighted(options).boxed()
}

fn invalid_email() -> BoxedStrategy<Bad> {
    let bad = |s: BoxedStrategy<String>| s.prop_map(|v| (v, ErrorCode::InvalidFormat)).boxed();
    prop_oneof![
        bad(re("[a-z]{1,10}(\\.[a-z]{2,5})?")),              // no @
        bad(re("[a-z]{1,8} [a-z]{1,8}@example\\.com")),      // space in local part
        bad(re("[a-z]{1,8}@exa mple\\.com")),                // space in domain
        bad(re("\"[a-z ]{1,8}\"@example\\.com")),            // quoted local part
        bad(re("[a-z]{1,8}@[a-z]{1,10}")),                   // no TLD
        bad(re("[a-z]{1,8}@[a-z]{1,10}\\.[0-9]{1,3}")),      // numeric TLD
        bad(re("[a-z]{1,8}\\.\\.[a-z]{1,8}@example\\.com")), // double dot
        bad(re("\\.[a-z]{1,8}@example\\.com")),              // leading dot
        bad(re("[a-z]{1,8}@-[a-z]{1,8}\\.com")),             // label starts with '-'
        bad(re("[a-z]{1,8}@[a-z]{1,8}-\\.com")),             // label ends with '-'
        bad(re("[a-z]{1,8}@[a-z]{1,8}@example\\.com")),      // two @
        bad(re("[a-z]{1,8}@\\[127\\.0\\.0\\.[0-9]\\]")),     // domain literal
        bad(re("Jane <[a-z]{1,8}@example\\.com>")),          // display text
        bad(re("jos[éü][a-z]{0,5}@example\\.com")),          // non-ASCII local part
        bad(re("[a-z]{1,8}@b[üé]cher\\.de")),                // non-ASCII domain
        bad(re("@example\\.com|[a-z]{1,8}@")),               // empty side
        re("[a-z]{60}@([a-z]{63}\\.){3}[a-z]{3,10}").prop_map(|v| (v, ErrorCode::TooLong)),
        blank(),
    ]
    .boxed()
}

/// Three-digit codes no country uses (ITU spare/reserved), with no shorter prefix in use.
const UNKNOWN_CALLING_CODES: &[&str] = &[
    "999", "990", "997", "210", "214", "280", "289", "801", "807", "830", "839", "890", "899",
];

fn invalid_phone() -> BoxedStrategy<Bad> {
    let fmt = |s: BoxedStrategy<String>| s.prop_map(|v| (v, ErrorCode::InvalidFormat)).boxed();
    let val = |s: BoxedStrategy<String>| s.prop_map(|v| (v, ErrorCode::InvalidValue)).boxed();
    prop_oneof![
        fmt(re("1[2-9][0-9]{9}")),                            // no '+'
        fmt(re("\\+1 [2-9][0-9]{2} [2-9][0-9]{2} [0-9]{4}")), // spaces
        fmt(re("\\+1-[2-9][0-9]{2}-[2-9][0-9]{2}-[0-9]{4}")), // dashes
        fmt(re("\\+\\(1\\)[2-9][0-9]{9}")),                   // parentheses
        fmt(re("\\+[1-9][0-9]{0,6}")),                        // fewer than 8 digits
        fmt(re("\\+[1-9][0-9]{15,20}")),                      // more than 15 digits
        fmt(re("\\+44[0-9]{3}[a-zA-Z][0-9]{4}")),             // a letter
        fmt(re("00[1-9][0-9]{9}")),                           // 00 instead of '+'
        val(re("\\+0[0-9]{8,14}")),                           // calling code 0
        (select(UNKNOWN_CALLING_CODES), re("[0-9]{5,12}"))
            .prop_map(|(c, n)| (format!("+{c}{n}"), ErrorCode::InvalidValue)),
        val(re("\\+1[01][0-9]{9}")),               // area code starts 0/1
        val(re("\\+1[2-9][0-9]{2}[01][0-9]{6}")),  // exchange starts 0/1
        val(re("\\+1[2-9][0-9]{2}[2-9][0-9]{5}")), // 9 national digits
        val(re("\\+1[2-9][0-9]{2}[2-9][0-9]{7,10}")), // 11+ national digits
        blank(),
    ]
    .boxed()
}

/// Two-letter codes ISO keeps for user assignment: never a country.
fn unknown_alpha2() -> BoxedStrategy<String> {
    (re("AA|Q[M-Z]|X[A-Z]|ZZ"), any::<u32>())
        .prop_map(|(c, m)| random_case(&c, m))
        .boxed()
}

fn invalid_country() -> BoxedStrategy<Bad> {
    prop_oneof![
        unknown_alpha2().prop_map(|c| (c, ErrorCode::InvalidValue)),
        re("[A-Za-z]{3,5}|[A-Za-z][0-9]|[0-9]{2,3}|[A-Z]\\.[A-Z]\\.?|[A-Z]")
            .prop_map(|c| (c, ErrorCode::InvalidFormat)),
        select(vec!["USA", "Üs", "U S"]).prop_map(|c| (c.to_owned(), ErrorCode::InvalidFormat)),
        blank(),
    ]
    .boxed()
}

/// A bad state for country `US`.
fn invalid_state_for_us() -> BoxedStrategy<Bad> {
    let two_letters = (re("[A-Z]{2}"), any::<u32>())
        .prop_filter("not a US state", |(s, _)| !US_STATES.contains(&s.as_str()))
        .prop_map(|(s, m)| (random_case(&s, m), ErrorCode::NotInCountry));
    let numeric = re("[0-9]{1,3}").prop_map(|s| (s, ErrorCode::NotInCountry));
    prop_oneof![
        3 => two_letters,
        1 => numeric,
        1 => re("[A-Za-z]{4,8}|US-[A-Z]{2}|[A-Z] [A-Z]|[A-Z]\\.|Té|T_")
            .prop_map(|s| (s, ErrorCode::InvalidFormat)),
        1 => blank(),
    ]
    .boxed()
}

fn invalid_zip() -> BoxedStrategy<Bad> {
    prop_oneof![
        re("[0-9]{1,4}|[0-9]{6,10}|[0-9]{5}-[0-9]{4}|[0-9]{4}[A-Za-z]|[A-Z][0-9][A-Z] [0-9][A-Z][0-9]|[0-9]{2} [0-9]{3}|[０-９]{5}|[0-9]{3}٣[0-9]")
            .prop_map(|s| (s, ErrorCode::InvalidFormat)),
        blank(),
    ]
    .boxed()
}

fn invalid_username() -> BoxedStrategy<Bad> {
    prop_oneof![
        re("[._-][A-Za-z0-9._-]{2,20}").prop_map(|s| (s, ErrorCode::InvalidFormat)),
        (
            re("[a-z0-9]{1,10}"),
            select(vec![" ", "@", "é", "!", "+", "/", "ß", "😀"]),
            re("[a-z0-9]{1,10}")
        )
            .prop_map(|(a, c, b)| (format!("{a}{c}{b}"), ErrorCode::InvalidFormat)),
        re("[A-Za-z0-9][A-Za-z0-9._-]{0,1}").prop_map(|s| (s, ErrorCode::TooShort)),
        re("[A-Za-z0-9][A-Za-z0-9._-]{32,60}").prop_map(|s| (s, ErrorCode::TooLong)),
    ]
    .boxed()
}

fn invalid_dob() -> BoxedStrategy<Bad> {
    let t = today();
    prop_oneof![
        day_between(t + Duration::days(1), ymd(2999, 12, 31))
            .prop_map(|d| (iso(d), ErrorCode::OutOfRange)),
        day_between(ymd(1000, 1, 1), ymd(1899, 12, 31))
            .prop_map(|d| (iso(d), ErrorCode::OutOfRange)),
        // Born after 2008-04-16: not 18 on 2026-04-16.
        day_between(latest_birth(18) + Duration::days(1), t)
            .prop_map(|d| (iso(d), ErrorCode::Underage)),
        select(
            &[
                "1990/01/01",
                "90-01-01",
                "1990-1-1",
                "1990-01-1",
                "1990-02-30",
                "1990-13-01",
                "1990-00-10",
                "1990-01-00",
                "1991-02-29",
                "1900-02-29",
                "abcd-ef-gh",
                "1990-01-01x",
                "1990-01-01T00:00:00Z",
                "01-01-1990",
                "+1990-01-01",
                "１９９０-01-01",
                "1990-04-31",
                "2001-02-29",
            ][..]
        )
        .prop_map(|s| (s.to_owned(), ErrorCode::InvalidFormat)),
    ]
    .boxed()
}

fn invalid_ssn() -> BoxedStrategy<Bad> {
    let area = prop_oneof![Just(0u16), Just(666), 900u16..=999];
    let bad_area = (area, 1u16..=99, 1u16..=9999, any::<bool>())
        .prop_map(|(a, g, s, dashed)| (a, g, s, dashed, ErrorCode::InvalidValue));
    let bad_group = (1u16..=899, 1u16..=9999, any::<bool>())
        .prop_filter("issuable area", |(a, _, _)| *a != 666)
        .prop_map(|(a, s, dashed)| (a, 0, s, dashed, ErrorCode::InvalidValue));
    let bad_serial = (1u16..=899, 1u16..=99, any::<bool>())
        .prop_filter("issuable area", |(a, _, _)| *a != 666)
        .prop_map(|(a, g, dashed)| (a, g, 0, dashed, ErrorCode::InvalidValue));
    let value = prop_oneof![bad_area, bad_group, bad_serial].prop_map(|(a, g, s, dashed, code)| {
        let raw = if dashed {
            format!("{a:03}-{g:02}-{s:04}")
        } else {
            format!("{a:03}{g:02}{s:04}")
        };
        (raw, code)
    });
    let format = re(
        "[0-9]{1,8}|[0-9]{10,12}|[0-9]{2}-[0-9]{3}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4}|[0-9]{3}-[0-9]{6}|[0-9]{5}-[0-9]{4}|X{9}|[0-9]{3}-[0-9]{2}-[0-9]{3}[A-Z]|[0-9]{3}–[0-9]{2}–[0-9]{4}",
    )
    .prop_map(|s| (s, ErrorCode::InvalidFormat));
    prop_oneof![2 => value, 1 => format].boxed()
}

fn invalid_meta_name() -> BoxedStrategy<Bad> {
    prop_oneof![
        (
            re("[A-Za-z0-9_.-]{1,10}"),
            select(vec![" ", "@", "/", "é", ":", "$", "\u{0}"]),
            re("[A-Za-z0-9]{1,5}")
        )
            .prop_map(|(a, c, b)| (format!("{a}{c}{b}"), ErrorCode::InvalidFormat)),
        re("[A-Za-z0-9_.-]{65,90}").prop_map(|s| (s, ErrorCode::TooLong)),
        blank(),
    ]
    .boxed()
}

fn invalid_meta_value() -> BoxedStrategy<Bad> {
    prop_oneof![
        re("[a-z]{0,10}[\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x7F\\u0080-\\u009F][a-z]{0,10}")
            .prop_map(|s| (s, ErrorCode::InvalidFormat)),
        re("[^\\p{Cc}]{513,600}").prop_map(|s| (s, ErrorCode::TooLong)),
    ]
    .boxed()
}

fn invalid_business_id() -> BoxedStrategy<Bad> {
    (any::<u128>(), 0usize..8)
        .prop_map(|(u, kind)| {
            let uuid = Uuid::from_u128(u);
            let h = uuid.hyphenated().to_string();
            let v = match kind {
                0 => format!("user-{h}"),
                1 => format!("BUSS-{h}"),
                2 => format!("buss-{}", uuid.simple()),
                3 => format!("buss{h}"),
                4 => h,
                5 => format!("buss-{}", &h[..35]),
                6 => format!("buss-{h}x"),
                _ => format!("buss-{{{h}}}"),
            };
            (v, ErrorCode::InvalidFormat)
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// 1. Valid values parse; normalisation is idempotent
// ---------------------------------------------------------------------------------------------

proptest! {
    #[test]
    fn person_name_round_trips(raw in valid_person_name()) {
        let name = PersonName::parse(&raw).unwrap();
        let expected: String = raw.trim().nfc().collect();
        prop_assert_eq!(name.as_str(), expected.trim());
        prop_assert_eq!(PersonName::parse(name.as_str()).unwrap(), name);
    }

    #[test]
    fn address_line_round_trips(raw in valid_free_text(AddressLine::MAX)) {
        let line = AddressLine::parse(&raw).unwrap();
        prop_assert_eq!(line.as_str(), raw.trim());
        prop_assert_eq!(AddressLine::parse(line.as_str()).unwrap(), line);
    }

    #[test]
    fn city_round_trips(raw in valid_free_text(City::MAX)) {
        let city = City::parse(&raw).unwrap();
        prop_assert_eq!(city.as_str(), raw.trim());
        prop_assert_eq!(City::parse(city.as_str()).unwrap(), city);
    }

    #[test]
    fn email_round_trips((raw, expected) in valid_email()) {
        let email = Email::parse(&raw).unwrap();
        prop_assert_eq!(email.as_str(), expected.as_str());
        prop_assert_eq!(email.unique_key(), expected.to_ascii_lowercase());
        prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email);
    }

    #[test]
    fn phone_round_trips((raw, code) in valid_phone()) {
        let phone = PhoneNumber::parse(&raw).unwrap();
        prop_assert_eq!(phone.as_str(), raw.as_str());
        prop_assert_eq!(phone.calling_code(), code);
        prop_assert_eq!(PhoneNumber::parse(phone.as_str()).unwrap(), phone);
    }

    #[test]
    fn country_round_trips((raw, alpha2) in valid_country()) {
        let country = Country::parse(&raw).unwrap();
        prop_assert_eq!(country.as_str(), alpha2);
        prop_assert_eq!(Country::parse(country.as_str()).unwrap(), country);
    }

    #[test]
    fn state_round_trips((country, raw, expected) in valid_country_state()) {
        let country = Country::parse(&country).unwrap();
        let state = State::parse(&raw, country).unwrap();
        prop_assert_eq!(state.as_str(), expected.as_str());
        prop_assert_eq!(State::parse(state.as_str(), country).unwrap(), state);
    }

    #[test]
    fn postal_code_round_trips(raw in valid_zip()) {
        let zip = PostalCode::parse(&raw).unwrap();
        prop_assert_eq!(zip.as_str(), raw.trim());
        prop_assert_eq!(PostalCode::parse(zip.as_str()).unwrap(), zip);
    }

    #[test]
    fn username_round_trips(raw in valid_username()) {
        let username = Username::parse(&raw).unwrap();
        prop_assert_eq!(username.as_str(), raw.trim());
        prop_assert_eq!(username.unique_key(), raw.trim().to_ascii_lowercase());
        prop_assert_eq!(Username::parse(username.as_str()).unwrap(), username);
    }

    #[test]
    fn date_of_birth_round_trips((date, min_age) in valid_dob()) {
        let dob = DateOfBirth::parse(&iso(date), today(), min_age).unwrap();
        prop_assert_eq!(dob.date(), date);
        prop_assert_eq!(dob.to_iso(), iso(date));
        prop_assert_eq!(DateOfBirth::parse(&dob.to_iso(), today(), min_age).unwrap(), dob);
    }

    #[test]
    fn ssn_round_trips((raw, digits) in valid_ssn()) {
        let ssn = Ssn::parse(&raw).unwrap();
        prop_assert_eq!(ssn.expose_digits(), digits.as_str());
        prop_assert_eq!(ssn.last4().to_string(), &digits[5..]);
        let again = Ssn::parse(ssn.expose_digits()).unwrap();
        prop_assert_eq!(again.expose_digits(), ssn.expose_digits());
        prop_assert!(again == ssn);
    }

    #[test]
    fn ein_round_trips((raw, digits) in valid_ein()) {
        let ein = Ein::parse(&raw).unwrap();
        prop_assert_eq!(ein.expose_digits(), digits.as_str());
        prop_assert_eq!(ein.last4().to_string(), &digits[5..]);
        let again = Ein::parse(ein.expose_digits()).unwrap();
        prop_assert_eq!(again.expose_digits(), ein.expose_digits());
        prop_assert!(again == ein);
    }

    #[test]
    fn meta_name_round_trips(raw in padded(valid_meta_name())) {
        let name = MetaName::parse(&raw).unwrap();
        prop_assert_eq!(name.as_str(), raw.trim());
        prop_assert_eq!(MetaName::parse(name.as_str()).unwrap(), name);
    }

    #[test]
    fn meta_value_round_trips(raw in valid_meta_value()) {
        let value = MetaValue::parse(&raw).unwrap();
        prop_assert_eq!(value.as_str(), raw.as_str(), "values are stored verbatim");
        prop_assert_eq!(MetaValue::parse(value.as_str()).unwrap(), value);
    }

    #[test]
    fn typed_ids_round_trip(u in any::<u128>()) {
        let uuid = Uuid::from_u128(u);
        let user = UserId::from_uuid(uuid);
        let text = user.to_string();
        prop_assert_eq!(&text, &format!("user-{}", uuid.hyphenated()));
        prop_assert_eq!(text.len(), 41);
        prop_assert_eq!(text.to_ascii_lowercase(), text.clone());
        prop_assert_eq!(UserId::parse(&text).unwrap(), user);
        prop_assert_eq!(text.parse::<UserId>().unwrap().uuid(), uuid);

        let business = BusinessId::from_uuid(uuid);
        prop_assert!(business.to_string().starts_with("buss-"));
        prop_assert_eq!(BusinessId::parse(&business.to_string()).unwrap(), business);
        let contact = ContactId::from_uuid(uuid);
        prop_assert!(contact.to_string().starts_with("bcus-"));
        prop_assert_eq!(ContactId::parse(&contact.to_string()).unwrap(), contact);
        let program = ProgramId::from_uuid(uuid);
        prop_assert_eq!(ProgramId::parse(&program.to_string()).unwrap(), program);

        // A typed id never parses as another kind.
        prop_assert!(UserId::parse(&business.to_string()).is_err());
        prop_assert!(BusinessId::parse(&contact.to_string()).is_err());
        prop_assert!(ContactId::parse(&text).is_err());
    }

    /// A whole random valid user parses, and its normalised fields are what was sent, trimmed.
    #[test]
    fn valid_users_parse(raw in valid_raw_user()) {
        let user = NewUser::parse(&raw, ctx()).unwrap();
        let p = user.profile();
        let first: String = raw.first_name.as_deref().unwrap().trim().nfc().collect();
        prop_assert_eq!(p.first_name().as_str(), first.trim());
        prop_assert_eq!(p.address().country().as_str(), raw.country.as_deref().unwrap().trim().to_ascii_uppercase());
        prop_assert_eq!(p.address().state().as_str(), raw.state.as_deref().unwrap().trim().to_ascii_uppercase());
        prop_assert_eq!(p.address().postal_code().as_str(), raw.postal_code.as_deref().unwrap().trim());
        prop_assert_eq!(
            p.middle_name().is_some(),
            raw.middle_name.as_deref().is_some_and(|m| !m.trim().is_empty())
        );
        prop_assert_eq!(p.meta_data().entries().len(), raw.meta_data.as_ref().map_or(0, Vec::len));
        prop_assert_eq!(user.ssn().is_some(), raw.ssn.is_some());
        prop_assert_eq!(user.terms_accepted(), raw.terms_accepted == Some(true));
        match user.business() {
            None => prop_assert!(raw.business_id.is_none()),
            Some(link) => {
                prop_assert_eq!(Some(link.business_id.to_string()), raw.business_id.clone());
                let vendor = raw.is_vendor == Some(true);
                prop_assert_eq!(link.contact_type == ContactType::Vendor, vendor);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Invalid values are rejected on their own path with the right code
// ---------------------------------------------------------------------------------------------

/// Parses `raw` and checks that exactly `field` failed, with `code`.
fn fails_only(raw: &RawNewUser, field: &str, code: ErrorCode) -> Result<(), TestCaseError> {
    match NewUser::parse(raw, ctx()) {
        Ok(_) => Err(TestCaseError::fail(format!(
            "{field}: accepted an invalid value"
        ))),
        Err(e) => {
            let got: Vec<(&str, ErrorCode)> = e
                .errors()
                .iter()
                .map(|f| (f.field.as_str(), f.code))
                .collect();
            prop_assert_eq!(got, vec![(field, code)]);
            prop_assert!(!e.errors()[0].message.is_empty());
            Ok(())
        }
    }
}

fn seed() -> RawNewUser {
    common::valid_seed()
}

proptest! {
    #[test]
    fn bad_first_name((v, code) in invalid_person_name(true)) {
        fails_only(&RawNewUser { first_name: Some(v), ..seed() }, "first_name", code)?;
    }

    #[test]
    fn bad_middle_name((v, code) in invalid_person_name(false)) {
        fails_only(&RawNewUser { middle_name: Some(v), ..seed() }, "middle_name", code)?;
    }

    #[test]
    fn bad_last_name((v, code) in invalid_person_name(true)) {
        fails_only(&RawNewUser { last_name: Some(v), ..seed() }, "last_name", code)?;
    }

    #[test]
    fn bad_email((v, code) in invalid_email()) {
        fails_only(&RawNewUser { email: Some(v), ..seed() }, "email", code)?;
    }

    #[test]
    fn bad_phone((v, code) in invalid_phone()) {
        fails_only(&RawNewUser { phone_number: Some(v), ..seed() }, "phone_number", code)?;
    }

    #[test]
    fn bad_address_one((v, code) in invalid_free_text(AddressLine::MAX, true)) {
        fails_only(&RawNewUser { address_one: Some(v), ..seed() }, "address_one", code)?;
    }

    #[test]
    fn bad_address_two((v, code) in invalid_free_text(AddressLine::MAX, false)) {
        fails_only(&RawNewUser { address_two: Some(v), ..seed() }, "address_two", code)?;
    }

    #[test]
    fn bad_city((v, code) in invalid_free_text(City::MAX, true)) {
        fails_only(&RawNewUser { city: Some(v), ..seed() }, "city", code)?;
    }

    #[test]
    fn bad_state((v, code) in invalid_state_for_us()) {
        fails_only(&RawNewUser { state: Some(v), ..seed() }, "state", code)?;
    }

    /// A subdivision code of one country given with another country that has no such code.
    #[test]
    fn state_of_another_country(
        (country, _, _) in valid_country_state(),
        (_, other_state, _) in valid_country_state(),
    ) {
        let full = format!("{}-{}", country.to_ascii_uppercase(), other_state.to_ascii_uppercase());
        prop_assume!(rust_iso3166::iso3166_2::from_code(&full).is_none());
        let raw = RawNewUser { country: Some(country), state: Some(other_state), ..seed() };
        fails_only(&raw, "state", ErrorCode::NotInCountry)?;
    }

    /// An invalid country is reported alone: the state cannot be judged without it.
    #[test]
    fn bad_country((v, code) in invalid_country()) {
        fails_only(&RawNewUser { country: Some(v), ..seed() }, "country", code)?;
    }

    #[test]
    fn bad_postal_code((v, code) in invalid_zip()) {
        fails_only(&RawNewUser { postal_code: Some(v), ..seed() }, "postal_code", code)?;
    }

    #[test]
    fn bad_username((v, code) in invalid_username()) {
        fails_only(&RawNewUser { username: Some(v), ..seed() }, "username", code)?;
    }

    #[test]
    fn bad_date_of_birth((v, code) in invalid_dob()) {
        fails_only(&RawNewUser { date_of_birth: Some(v), ..seed() }, "date_of_birth", code)?;
    }

    #[test]
    fn bad_ssn((v, code) in invalid_ssn()) {
        let raw = RawNewUser { ssn: Some(Zeroizing::new(v.clone())), ..seed() };
        fails_only(&raw, "ssn", code)?;
        // The error never echoes the number.
        let err = NewUser::parse(&raw, ctx()).unwrap_err();
        let digits: String = v.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 9 {
            for text in [format!("{err:?}"), format!("{err}"), format!("{:?}", err.errors())] {
                prop_assert!(!text.contains(&v));
                prop_assert!(!text.contains(&digits));
            }
        }
    }

    #[test]
    fn bad_business_id((v, code) in invalid_business_id(), vendor in option::of(any::<bool>())) {
        let raw = RawNewUser { business_id: Some(v), is_vendor: vendor, ..seed() };
        fails_only(&raw, "business_id", code)?;
    }

    #[test]
    fn vendor_without_business(vendor in any::<bool>()) {
        let raw = RawNewUser { is_vendor: Some(vendor), business_id: None, ..seed() };
        fails_only(&raw, "is_vendor", ErrorCode::RequiresBusinessId)?;
    }

    #[test]
    fn too_many_meta_entries(extra in 1usize..=30) {
        let list = (0..50 + extra)
            .map(|i| RawMetaEntry { name: Some(format!("k{i}")), value: Some(String::new()) })
            .collect();
        fails_only(&RawNewUser { meta_data: Some(list), ..seed() }, "meta_data", ErrorCode::TooMany)?;
    }

    /// A name repeated (after trimming) at index `dup` is reported there, not at the first one.
    #[test]
    fn duplicate_meta_name(
        mut list in valid_meta_list(12).prop_filter("needs an entry", |l| !l.is_empty() && l.len() < 50),
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        pad in select(PADS),
    ) {
        let original = pick.index(list.len());
        let name = list[original].name.clone().unwrap();
        let dup = at.index(list.len() + 1).max(original + 1);
        list.insert(dup, RawMetaEntry { name: Some(format!("{pad}{name}{pad}")), value: Some("x".into()) });
        let field = format!("meta_data[{dup}].name");
        fails_only(&RawNewUser { meta_data: Some(list), ..seed() }, &field, ErrorCode::DuplicateName)?;
    }

    #[test]
    fn bad_meta_name(
        list in valid_meta_list(12).prop_filter("needs an entry", |l| !l.is_empty()),
        at in any::<prop::sample::Index>(),
        (v, code) in invalid_meta_name(),
    ) {
        let i = at.index(list.len());
        let mut list = list;
        list[i].name = Some(v);
        let field = format!("meta_data[{i}].name");
        fails_only(&RawNewUser { meta_data: Some(list), ..seed() }, &field, code)?;
    }

    #[test]
    fn bad_meta_value(
        list in valid_meta_list(12).prop_filter("needs an entry", |l| !l.is_empty()),
        at in any::<prop::sample::Index>(),
        (v, code) in invalid_meta_value(),
    ) {
        let i = at.index(list.len());
        let mut list = list;
        list[i].value = Some(v);
        let field = format!("meta_data[{i}].value");
        fails_only(&RawNewUser { meta_data: Some(list), ..seed() }, &field, code)?;
    }

    #[test]
    fn missing_meta_parts(at in 0usize..3, name_missing in any::<bool>()) {
        let mut list: Vec<RawMetaEntry> = (0..3)
            .map(|i| RawMetaEntry { name: Some(format!("n{i}")), value: Some("v".into()) })
            .collect();
        let field = if name_missing {
            list[at].name = None;
            format!("meta_data[{at}].name")
        } else {
            list[at].value = None;
            format!("meta_data[{at}].value")
        };
        fails_only(&RawNewUser { meta_data: Some(list), ..seed() }, &field, ErrorCode::Required)?;
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Breaking a subset of fields fails exactly that subset
// ---------------------------------------------------------------------------------------------

/// The paths the breakers below target, in the same order.
const BREAKABLE: [&str; 17] = [
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
    "meta_data[0].name",
    "meta_data[0].value",
    "business_id",
];

/// For each breakable path, maybe an invalid value for it (with its expected code).
fn breakers() -> impl Strategy<Value = Vec<Option<Bad>>> {
    let state_missing = Just((String::new(), ErrorCode::Required)).boxed();
    let strategies: Vec<BoxedStrategy<Option<Bad>>> = vec![
        invalid_person_name(true),
        invalid_person_name(false),
        invalid_person_name(true),
        invalid_email(),
        invalid_phone(),
        invalid_free_text(AddressLine::MAX, true),
        invalid_free_text(AddressLine::MAX, false),
        invalid_free_text(City::MAX, true),
        // A missing state is reported whatever the country; a wrong one only with a valid country.
        state_missing,
        invalid_country(),
        invalid_zip(),
        invalid_username(),
        invalid_dob(),
        invalid_ssn(),
        invalid_meta_name(),
        invalid_meta_value(),
        invalid_business_id(),
    ]
    .into_iter()
    .map(|s| option::weighted(0.3, s).boxed())
    .collect();
    strategies
}

fn apply_breaker(raw: &mut RawNewUser, path: &str, value: String) {
    let ensure_meta = |raw: &mut RawNewUser| {
        let list = raw.meta_data.get_or_insert_with(Vec::new);
        if list.is_empty() {
            list.push(RawMetaEntry {
                name: Some("ref".into()),
                value: Some("v".into()),
            });
        }
    };
    match path {
        "first_name" => raw.first_name = Some(value),
        "middle_name" => raw.middle_name = Some(value),
        "last_name" => raw.last_name = Some(value),
        "email" => raw.email = Some(value),
        "phone_number" => raw.phone_number = Some(value),
        "address_one" => raw.address_one = Some(value),
        "address_two" => raw.address_two = Some(value),
        "city" => raw.city = Some(value),
        "state" => raw.state = None,
        "country" => raw.country = Some(value),
        "postal_code" => raw.postal_code = Some(value),
        "username" => raw.username = Some(value),
        "date_of_birth" => raw.date_of_birth = Some(value),
        "ssn" => raw.ssn = Some(Zeroizing::new(value)),
        "meta_data[0].name" => {
            ensure_meta(raw);
            raw.meta_data.as_mut().unwrap()[0].name = Some(value);
        }
        "meta_data[0].value" => {
            ensure_meta(raw);
            raw.meta_data.as_mut().unwrap()[0].value = Some(value);
        }
        "business_id" => raw.business_id = Some(value),
        other => panic!("no breaker for {other}"),
    }
}

proptest! {
    #[test]
    fn broken_subset_fails_exactly(base in valid_raw_user(), breaks in breakers()) {
        prop_assert!(NewUser::parse(&base, ctx()).is_ok(), "the base must be valid");
        let mut raw = base;
        let mut expected = BTreeMap::new();
        for (path, brk) in BREAKABLE.iter().zip(breaks) {
            if let Some((value, code)) = brk {
                apply_breaker(&mut raw, path, value);
                expected.insert((*path).to_owned(), code);
            }
        }
        match NewUser::parse(&raw, ctx()) {
            Ok(_) => prop_assert!(expected.is_empty(), "broke {:?} but it parsed", expected),
            Err(e) => {
                let got: BTreeMap<String, ErrorCode> =
                    e.errors().iter().map(|f| (f.field.clone(), f.code)).collect();
                prop_assert_eq!(got.len(), e.errors().len(), "a path reported twice: {:?}", e.errors());
                prop_assert_eq!(&got, &expected);
                let fields: BTreeSet<&str> = e.fields().into_iter().collect();
                prop_assert_eq!(fields.len(), expected.len());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 4. Debug never shows the SSN or the EIN
// ---------------------------------------------------------------------------------------------

fn dashed_ssn(d: &str) -> String {
    format!("{}-{}-{}", &d[..3], &d[3..5], &d[5..])
}

fn debug_forms(v: &impl std::fmt::Debug) -> [String; 2] {
    [format!("{v:?}"), format!("{v:#?}")]
}

proptest! {
    #[test]
    fn debug_hides_ssn(
        raw in valid_raw_user(),
        (ssn_raw, digits) in valid_ssn(),
        (other_raw, other_digits) in valid_ssn(),
        (uid, pid) in (any::<u128>(), any::<u128>()),
    ) {
        prop_assume!(digits != other_digits);
        let new_user = NewUser::parse(&RawNewUser { ssn: Some(Zeroizing::new(ssn_raw)), ..raw.clone() }, ctx()).unwrap();
        let control = NewUser::parse(&RawNewUser { ssn: Some(Zeroizing::new(other_raw)), ..raw }, ctx()).unwrap();
        prop_assert_eq!(new_user.ssn().unwrap().expose_digits(), digits.as_str());
        let id = UserId::from_uuid(Uuid::from_u128(uid));
        let program = ProgramId::from_uuid(Uuid::from_u128(pid));
        let user = User::create(id, program, &new_user, now());
        let control_user = User::create(id, program, &control, now());
        // Rule out a coincidence: the digits must not already appear through another field.
        for text in debug_forms(&control).iter().chain(&debug_forms(&control_user)) {
            prop_assume!(!text.contains(&digits));
        }
        let dashed = dashed_ssn(&digits);
        for text in debug_forms(&new_user).iter().chain(&debug_forms(&user)).chain(&debug_forms(new_user.ssn().unwrap())) {
            prop_assert!(!text.contains(&digits), "SSN digits in Debug: {}", text);
            prop_assert!(!text.contains(&dashed), "dashed SSN in Debug: {}", text);
        }
        // The SSN does not influence a NewUser's Debug at all.
        prop_assert_eq!(format!("{new_user:?}"), format!("{control:?}"));
        let shown = format!("{new_user:?}");
        prop_assert!(shown.contains("redacted"));
        prop_assert_eq!(user.ssn_last_4().unwrap().to_string(), &digits[5..]);
    }

    #[test]
    fn debug_hides_ein(
        raw in valid_raw_business(),
        (ein_raw, digits) in valid_ein(),
        (other_raw, other_digits) in valid_ein(),
        (bid, pid) in (any::<u128>(), any::<u128>()),
    ) {
        prop_assume!(digits != other_digits);
        let new = NewBusiness::parse(&RawNewBusiness { ein: Some(Zeroizing::new(ein_raw)), ..raw.clone() }, today()).unwrap();
        let control = NewBusiness::parse(&RawNewBusiness { ein: Some(Zeroizing::new(other_raw)), ..raw }, today()).unwrap();
        prop_assert_eq!(new.ein().expose_digits(), digits.as_str());
        let id = BusinessId::from_uuid(Uuid::from_u128(bid));
        let program = ProgramId::from_uuid(Uuid::from_u128(pid));
        let business = Business::create(id, program, &new, now());
        let control_business = Business::create(id, program, &control, now());
        for text in debug_forms(&control).iter().chain(&debug_forms(&control_business)) {
            prop_assume!(!text.contains(&digits));
        }
        let dashed = format!("{}-{}", &digits[..2], &digits[2..]);
        for text in debug_forms(&new).iter().chain(&debug_forms(&business)).chain(&debug_forms(new.ein())) {
            prop_assert!(!text.contains(&digits), "EIN digits in Debug: {}", text);
            prop_assert!(!text.contains(&dashed), "dashed EIN in Debug: {}", text);
        }
        prop_assert_eq!(format!("{new:?}"), format!("{control:?}"));
        prop_assert_eq!(business.ein_last_4().to_string(), &digits[5..]);
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Lifecycles follow SPEC §3 and nothing else
// ---------------------------------------------------------------------------------------------

/// SPEC §3: `not_started → pending → verified | rejected`, each edge with its event.
const KYC_EDGES: [(KycStatus, KycEvent, KycStatus); 3] = [
    (KycStatus::NotStarted, KycEvent::Submit, KycStatus::Pending),
    (KycStatus::Pending, KycEvent::Verify, KycStatus::Verified),
    (KycStatus::Pending, KycEvent::Reject, KycStatus::Rejected),
];

fn spec_kyc(from: KycStatus, event: KycEvent) -> Option<KycStatus> {
    KYC_EDGES
        .iter()
        .find(|(f, e, _)| *f == from && *e == event)
        .map(|(_, _, to)| *to)
}

#[derive(Clone, Copy, Debug)]
enum StatusEvent {
    Block,
    Unblock,
}

proptest! {
    #[test]
    fn kyc_walks_only_spec_edges(
        start in prop_oneof![3 => Just(KycStatus::NotStarted), 1 => select(KycStatus::ALL)],
        events in vec(select(KycEvent::ALL), 0..40),
    ) {
        let mut state = start;
        let mut visited = BTreeSet::from([state.as_str()]);
        for event in events {
            let before = state;
            let result = state.apply(event);
            // The named helpers agree with `apply`.
            let helper = match event {
                KycEvent::Submit => state.submit(),
                KycEvent::Verify => state.verify(),
                KycEvent::Reject => state.reject(),
            };
            prop_assert_eq!(result, helper);
            match (spec_kyc(state, event), result) {
                (Some(to), Ok(next)) => {
                    prop_assert_eq!(next, to);
                    state = next;
                }
                (None, Err(e)) => {
                    prop_assert_eq!(e.from, before.as_str());
                    prop_assert_eq!(e.action, event.as_str());
                    prop_assert_eq!(state, before);
                }
                (expected, got) => {
                    return Err(TestCaseError::fail(format!(
                        "{before} -{event}-> expected {expected:?}, got {got:?}"
                    )));
                }
            }
            prop_assert_eq!(state.is_final(), matches!(state, KycStatus::Verified | KycStatus::Rejected));
            if state.is_final() {
                for e in KycEvent::ALL {
                    prop_assert!(state.apply(*e).is_err());
                }
            }
            visited.insert(state.as_str());
        }
        if start == KycStatus::NotStarted {
            // From creation only the states of the spec's graph are reachable, never back.
            prop_assert!(visited.len() <= 3, "visited {:?}", visited);
            prop_assert!(!(visited.contains("verified") && visited.contains("rejected")));
        }
    }

    #[test]
    fn user_status_walks_only_block_unblock(
        raw in Just(common::valid_seed()),
        events in vec(prop_oneof![Just(StatusEvent::Block), Just(StatusEvent::Unblock)], 0..40),
        steps in vec(-5i64..=60, 40),
    ) {
        let new_user = NewUser::parse(&raw, ctx()).unwrap();
        let created = now();
        let mut user = User::create(UserId::from_uuid(Uuid::from_u128(1)), ProgramId::from_uuid(Uuid::from_u128(2)), &new_user, created);
        prop_assert_eq!(user.status(), UserStatus::Active);
        prop_assert_eq!(user.kyc_status(), KycStatus::NotStarted);
        let mut clock = created;
        for (event, step) in events.into_iter().zip(steps) {
            clock += Duration::seconds(step);
            let before = user.clone();
            let expected = match (before.status(), event) {
                (UserStatus::Active, StatusEvent::Block) => Some(UserStatus::Blocked),
                (UserStatus::Blocked, StatusEvent::Unblock) => Some(UserStatus::Active),
                _ => None,
            };
            let direct = match event {
                StatusEvent::Block => before.status().block(),
                StatusEvent::Unblock => before.status().unblock(),
            };
            let result = match event {
                StatusEvent::Block => user.set_status(UserStatus::block, clock),
                StatusEvent::Unblock => user.set_status(UserStatus::unblock, clock),
            };
            match (expected, result) {
                (Some(to), Ok(())) => {
                    prop_assert_eq!(direct, Ok(to));
                    prop_assert_eq!(user.status(), to);
                    // `updated_at` follows the clock but never moves backwards.
                    prop_assert_eq!(user.updated_at(), clock.max(before.updated_at()));
                    prop_assert!(user.updated_at() >= before.updated_at());
                    prop_assert!(user.updated_at() >= user.created_at());
                }
                (None, Err(e)) => {
                    prop_assert_eq!(direct, Err(e));
                    prop_assert_eq!(e.from, before.status().as_str());
                    prop_assert_eq!(&user, &before, "a refused transition changed the user");
                }
                (expected, got) => {
                    return Err(TestCaseError::fail(format!(
                        "{} -{event:?}-> expected {expected:?}, got {got:?}", before.status()
                    )));
                }
            }
            prop_assert_eq!(user.kyc_status(), KycStatus::NotStarted);
        }
    }

    /// The wire spellings parse back to the same value; anything else is rejected.
    #[test]
    fn status_spellings_round_trip(junk in "[a-z_]{0,12}") {
        for s in KycStatus::ALL {
            prop_assert_eq!(KycStatus::parse(s.as_str()).unwrap(), *s);
        }
        for s in UserStatus::ALL {
            prop_assert_eq!(UserStatus::parse(s.as_str()).unwrap(), *s);
        }
        let known = KycStatus::ALL.iter().any(|s| s.as_str() == junk);
        prop_assert_eq!(KycStatus::parse(&junk).is_ok(), known);
        let known = UserStatus::ALL.iter().any(|s| s.as_str() == junk);
        prop_assert_eq!(UserStatus::parse(&junk).is_ok(), known);
    }
}
