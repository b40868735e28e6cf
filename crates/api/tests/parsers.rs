//! The body reader and the handlers' field reading under arbitrary input (proptest): raw
//! bytes, mutations of the example body, and structure-aware JSON objects with the create
//! fields given random-typed values. None panics; every refusal is a 400 or a 422 with the
//! error envelope, never a 500. The coverage-guided counterparts are in `fuzz/`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use actix_web::ResponseError;
use api::body::Fields;
use api::error::ApiError;
use chrono::NaiveDate;
use domain::{
    ContactQuery, NewBusiness, NewUser, ParseContext, RawContactQuery, RawUserQuery, UserQuery,
};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Number, Value};

const EXAMPLE: &[u8] = include_bytes!("../../../examples/create-user.json");

const STRING_FIELDS: &[&str] = &[
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
    "business_id",
];
const BOOL_FIELDS: &[&str] = &["terms_accepted", "is_vendor"];

fn ctx() -> ParseContext {
    ParseContext::new(NaiveDate::from_ymd_opt(2026, 4, 16).unwrap())
}

/// The pipeline's reading of a body (`api_key` taken out, the canonical form computed), then
/// `POST /user/create`'s handler.
fn create_user(bytes: &[u8]) -> Result<NewUser, ApiError> {
    let mut fields = Fields::parse(bytes)?;
    let _ = fields.take_raw("api_key");
    fields.canonical().expect("the canonical form never fails");
    let raw = api::routes::users::raw_new_user(&mut fields);
    fields.finish_with(NewUser::parse(&raw, ctx()))
}

/// A refusal is the client's: 400 or 422, a JSON envelope listing at least one item, and no
/// item naming the empty path but an unknown field `""` (the domain's "a parser forgot its
/// failure").
fn assert_client_error(e: &ApiError) -> Vec<(Option<String>, String)> {
    let status = e.status_code().as_u16();
    assert!(status == 400 || status == 422, "answered {status}: {e:?}");
    let (_, body) = e.body();
    let envelope: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(envelope["status"], "error");
    let items: Vec<(Option<String>, String)> = envelope["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["field"].as_str().map(str::to_owned),
                i["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(!items.is_empty(), "{body}");
    // A body may have an unknown field named ""; any other item on the empty path is the
    // domain's "a parser forgot its failure".
    assert!(
        items
            .iter()
            .all(|(f, code)| f.as_deref() != Some("") || code == "unknown_field"),
        "{body}"
    );
    items
}

fn check(bytes: &[u8]) -> Result<NewUser, Vec<(Option<String>, String)>> {
    create_user(bytes).map_err(|e| assert_client_error(&e))
}

/// Leaves: every JSON type, edge numbers, and strings that are long, unicode or control.
fn leaf() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        any::<i64>().prop_map(Number::from),
        any::<u64>().prop_map(Number::from),
        select(vec![
            0.0,
            -0.0,
            0.5,
            1e308,
            -1e308,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            9_007_199_254_740_993.0,
        ])
        .prop_map(|f| Number::from_f64(f).unwrap()),
        any::<f64>().prop_filter_map("finite", Number::from_f64),
    ];
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number.prop_map(Value::Number),
        any::<String>().prop_map(Value::String),
        "\\PC{0,40}".prop_map(Value::String),
        select(vec![
            "Alex",
            "jane.doe@example.com",
            "+15555551234",
            "US",
            "TX",
            "30044",
            "1980-04-20",
            "123-45-6789",
            "buss-0190a5b4-7c1e-7d2a-9f00-000000000001",
            "",
            " ",
            "\u{0}",
            "\u{1f600}\u{301}",
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        (1usize..20_000).prop_map(|n| Value::String("é".repeat(n))),
    ]
}

/// Any JSON value, nested up to a few levels (arrays and objects of leaves).
fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..8).prop_map(Value::Array),
            btree_map("[a-z_]{1,12}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A meta_data value: mostly a list of `{name, value}`-ish objects.
fn meta_data() -> impl Strategy<Value = Value> {
    let entry = btree_map(select(vec!["name", "value", "other"]), value(), 0..4)
        .prop_map(|m| Value::Object(m.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()));
    prop_oneof![
        vec(prop_oneof![entry, value()], 0..60).prop_map(Value::Array),
        value(),
    ]
}

/// A create-user body: the example's fields, each kept, dropped or given any value, plus a
/// few unknown fields.
fn create_body() -> impl Strategy<Value = Map<String, Value>> {
    let names: Vec<&str> = STRING_FIELDS.iter().chain(BOOL_FIELDS).copied().collect();
    (
        btree_map(select(names), value(), 0..12),
        option_of(meta_data()),
        btree_map("[a-z_]{1,8}", value(), 0..3),
    )
        .prop_map(|(changed, meta, unknown)| {
            let mut body: Map<String, Value> = serde_json::from_slice(EXAMPLE).unwrap();
            for (k, v) in changed {
                body.insert(k.to_owned(), v);
            }
            if let Some(meta) = meta {
                body.insert("meta_data".to_owned(), meta);
            }
            for (k, v) in unknown {
                body.entry(k).or_insert(v);
            }
            body
        })
}

fn option_of<S: Strategy>(s: S) -> impl Strategy<Value = Option<S::Value>> {
    proptest::option::of(s)
}

/// The top-level fields of `body` whose JSON type the reader refuses.
fn wrong_typed(body: &Map<String, Value>) -> BTreeSet<String> {
    body.iter()
        .filter(|(k, v)| {
            let k = k.as_str();
            if STRING_FIELDS.contains(&k) {
                !matches!(v, Value::String(_) | Value::Null)
            } else if BOOL_FIELDS.contains(&k) {
                !matches!(v, Value::Bool(_) | Value::Null)
            } else if k == "meta_data" {
                !matches!(v, Value::Array(_) | Value::Null)
            } else {
                false
            }
        })
        .map(|(k, _)| k.clone())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_bytes_are_a_user_or_a_client_error(bytes in vec(any::<u8>(), 0..600)) {
        let _ = check(&bytes);
    }

    #[test]
    fn mutations_of_the_example_are_a_user_or_a_client_error(
        edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = EXAMPLE.to_vec();
        for (at, byte, op) in edits {
            let i = at.index(bytes.len() + 1);
            match op {
                0 => bytes.insert(i, byte),
                1 if i < bytes.len() => bytes[i] = byte,
                _ if i < bytes.len() => {
                    bytes.remove(i);
                }
                _ => {}
            }
        }
        let _ = check(&bytes);
    }

    #[test]
    fn any_json_value_is_a_client_error_unless_it_is_a_valid_object(v in value()) {
        let bytes = serde_json::to_vec(&v).unwrap();
        let _ = check(&bytes);
    }

    #[test]
    fn structured_bodies_report_every_wrong_type_as_400(body in create_body()) {
        let bytes = serde_json::to_vec(&body).unwrap();
        let wrong = wrong_typed(&body);
        match check(&bytes) {
            Ok(_) => prop_assert!(wrong.is_empty()),
            Err(items) => {
                let reported: BTreeSet<String> = items
                    .iter()
                    .filter(|(f, code)| code == "wrong_type" && f.as_deref().is_some_and(|f| !f.contains('[')))
                    .filter_map(|(f, _)| f.clone())
                    .collect();
                prop_assert_eq!(reported, wrong);
            }
        }
    }

    #[test]
    fn business_and_query_bodies_are_read_or_a_client_error(
        body in btree_map(
            select(vec![
                "business_name", "email", "phone_number", "business_address",
                "business_address_2", "city", "state", "zipcode", "country", "ein",
                "business_type", "incorporated_date", "incorporated_state", "meta_data",
                "page", "per_page", "search", "status", "kyc_status", "sort", "business_id",
                "type", "api_key",
            ]),
            value(),
            0..10,
        ),
    ) {
        let body: Map<String, Value> = body.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let bytes = serde_json::to_vec(&body).unwrap();
        let today = ctx().today;
        let business = Fields::parse(&bytes).and_then(|mut f| {
            let raw = api::routes::businesses::raw_new_business(&mut f);
            f.finish_with(NewBusiness::parse(&raw, today))
        });
        if let Err(e) = business {
            assert_client_error(&e);
        }
        let users = Fields::parse(&bytes).and_then(|mut f| {
            let raw = RawUserQuery {
                page: f.integer("page"),
                per_page: f.integer("per_page"),
                email: f.string("email"),
                search: f.string("search"),
                status: f.string("status"),
                kyc_status: f.string("kyc_status"),
                sort: f.string("sort"),
            };
            f.finish_with(UserQuery::parse(&raw))
        });
        if let Err(e) = users {
            assert_client_error(&e);
        }
        let contacts = Fields::parse(&bytes).and_then(|mut f| {
            let raw = RawContactQuery {
                business_id: f.string("business_id"),
                contact_type: f.string("type"),
                page: f.integer("page"),
                per_page: f.integer("per_page"),
            };
            f.finish_with(ContactQuery::parse(&raw))
        });
        if let Err(e) = contacts {
            assert_client_error(&e);
        }
    }
}

#[test]
fn the_example_is_a_user_and_deep_nesting_is_a_400() {
    assert!(check(EXAMPLE).is_ok());
    // serde_json's recursion limit (128) refuses this as malformed JSON, not a stack overflow.
    let deep = format!(
        "{{\"meta_data\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let items = check(deep.as_bytes()).unwrap_err();
    assert_eq!(items, [(None, "malformed_json".to_owned())]);
    // Numbers beyond every integer type and a lone surrogate escape.
    let odd = br#"{"first_name":"\ud800","terms_accepted":1e400,"is_vendor":-0}"#;
    let _ = check(odd);
}
