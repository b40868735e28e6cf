//! What the fuzz targets share: the handlers' reading of a body, the "never a 500" check,
//! the stored form of users and businesses, and structure-aware edits of the seed values.

use actix_web::ResponseError;
use api::body::Fields;
use api::error::ApiError;
use arbitrary::Arbitrary;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use domain::{
    Business, BusinessRecord, NewBusiness, NewUser, ParseContext, ProgramId, RawNewBusiness, User,
    UserId, UserRecord,
};
use uuid::Uuid;

/// The fixed "today" every parse runs against (the domain tests' date).
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 4, 16).expect("a valid date")
}

/// A fixed "now" on `today()`, at whole milliseconds like the handlers' clock.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 16, 12, 34, 56)
        .single()
        .expect("a valid time")
}

/// The front half's reading of a body (`pipeline::front`): parse the JSON object, take
/// `api_key` out, and compute the canonical form the `Idempotency-Key` digest uses (an error
/// there would be a 500).
pub fn read_body(bytes: &[u8]) -> Result<Fields, ApiError> {
    let mut fields = Fields::parse(bytes)?;
    let _api_key = fields.take_raw("api_key");
    let canonical = fields.canonical();
    assert!(
        canonical.is_ok(),
        "canonical JSON failed: {:?}",
        canonical.err()
    );
    Ok(fields)
}

/// `POST /user/create`'s reading of a body, as its handler does it.
pub fn create_user(bytes: &[u8], ctx: ParseContext) -> Result<NewUser, ApiError> {
    let mut fields = read_body(bytes)?;
    let raw = api::routes::users::raw_new_user(&mut fields);
    fields.finish_with(NewUser::parse(&raw, ctx))
}

/// `POST /business/create`'s reading of a body, as its handler does it.
pub fn create_business(bytes: &[u8], today: NaiveDate) -> Result<NewBusiness, ApiError> {
    let mut fields = read_body(bytes)?;
    let raw = api::routes::businesses::raw_new_business(&mut fields);
    fields.finish_with(NewBusiness::parse(&raw, today))
}

/// A parser's refusal must be the client's fault: 400 or 422, an envelope that is JSON, and
/// no item the domain only emits when a parser forgot to record its failure (path `""`).
pub fn assert_client_error(e: &ApiError) {
    let status = e.status_code().as_u16();
    assert!(
        status == 400 || status == 422,
        "a parser answered {status}: {e:?}"
    );
    let (rendered, body) = e.body();
    assert_eq!(rendered.as_u16(), status);
    let envelope: serde_json::Value = serde_json::from_str(&body).expect("the envelope is JSON");
    assert_eq!(envelope["status"], "error", "{body}");
    let items = envelope["errors"].as_array().expect("an errors list");
    assert!(!items.is_empty(), "an error without items: {body}");
    for item in items {
        // The domain names the empty path only when a parser forgot to record its failure;
        // a body may have an unknown field named "" though.
        if item["field"] == "" {
            assert_eq!(
                item["code"], "unknown_field",
                "an inconsistent parse: {body}"
            );
        }
        assert!(
            item["code"].as_str().is_some_and(|c| !c.is_empty()),
            "{body}"
        );
    }
    let _response = e.error_response();
}

/// A parsed user becomes a stored `User` that fits its columns and reads back equal, and its
/// normalised form parses to the same profile. Returns the created user.
pub fn assert_user_round_trips(new_user: &NewUser, ctx: ParseContext) -> User {
    let id = UserId::from_uuid(Uuid::from_u128(1));
    let program = ProgramId::from_uuid(Uuid::from_u128(2));
    let user = User::create(id, program, new_user, now());
    assert_user_fits_columns(&user);
    let restored = User::restore(&user_record(&user)).expect("a created user restores");
    assert_eq!(restored, user);
    let again =
        NewUser::parse(&new_user.profile().to_raw(), ctx).expect("a normalised user parses again");
    assert_eq!(again.profile(), new_user.profile());
    user
}

/// The record storage keeps for `user` (`storage::users::rows`), which `User::restore` reads.
pub fn user_record(user: &User) -> UserRecord {
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

/// The record storage keeps for `business` (`storage::businesses`).
pub fn business_record(business: &Business) -> BusinessRecord {
    let p = business.profile();
    let d = p.details();
    BusinessRecord {
        id: business.id(),
        program_id: business.program_id(),
        details: RawNewBusiness {
            business_name: Some(p.name().as_str().to_owned()),
            email: Some(p.email().as_str().to_owned()),
            phone_number: Some(p.phone_number().as_str().to_owned()),
            business_address: Some(p.address_one().as_str().to_owned()),
            business_address_2: p.address_two().map(|a| a.as_str().to_owned()),
            city: Some(p.city().as_str().to_owned()),
            state: Some(p.state().as_str().to_owned()),
            zipcode: Some(p.zipcode().as_str().to_owned()),
            country: Some(p.country().as_str().to_owned()),
            ein: None,
            business_type: p.business_type().map(|t| t.as_str().to_owned()),
            incorporated_date: p
                .incorporated_date()
                .map(|d| d.format("%Y-%m-%d").to_string()),
            incorporated_state: p.incorporated_state().map(|s| s.as_str().to_owned()),
            dba: d.dba().map(|v| v.as_str().to_owned()),
            naics_code: d.naics_code().map(|v| v.as_str().to_owned()),
            business_industry: d.industry().map(|v| v.as_str().to_owned()),
            business_description: d.description().map(|v| v.as_str().to_owned()),
            website: d.website().map(|v| v.as_str().to_owned()),
            support_email: d.support_email().map(|v| v.as_str().to_owned()),
            support_phone_number: d.support_phone_number().map(|v| v.as_str().to_owned()),
            meta_data: Some(
                p.meta_data()
                    .entries()
                    .iter()
                    .map(|e| domain::RawMetaEntry {
                        name: Some(e.name().as_str().to_owned()),
                        value: Some(e.value().as_str().to_owned()),
                    })
                    .collect(),
            ),
        },
        ein_last_4: business.ein_last_4().as_str().to_owned(),
        status: business.status().as_str().to_owned(),
        kyb_status: business.kyb_status().as_str().to_owned(),
        created_at: business.created_at(),
        updated_at: business.updated_at(),
    }
}

/// `value` fits a `VARCHAR(max)` column (characters, as PostgreSQL and MariaDB count them):
/// a valid value that does not would be refused by the database, a 500.
fn fits(column: &str, value: Option<&str>, max: usize) {
    if let Some(v) = value {
        let n = v.chars().count();
        assert!(n <= max, "{column}: {n} characters, the column holds {max}");
    }
}

/// Every stored string of `user` fits its column (migrations `m20261128_000002_users`).
pub fn assert_user_fits_columns(user: &User) {
    let r = user.profile().to_raw();
    let p = user.profile();
    fits("users.first_name", r.first_name.as_deref(), 64);
    fits("users.middle_name", r.middle_name.as_deref(), 64);
    fits("users.last_name", r.last_name.as_deref(), 64);
    fits("users.email", r.email.as_deref(), 254);
    fits("users.email_key", Some(&p.email().unique_key()), 254);
    fits("users.phone_number", r.phone_number.as_deref(), 16);
    fits("users.address_one", r.address_one.as_deref(), 128);
    fits("users.address_two", r.address_two.as_deref(), 128);
    fits("users.city", r.city.as_deref(), 64);
    fits("users.state", r.state.as_deref(), 3);
    fits("users.country", r.country.as_deref(), 2);
    fits("users.postal_code", r.postal_code.as_deref(), 5);
    fits("users.username", r.username.as_deref(), 32);
    let username_key = p.username().map(domain::Username::unique_key);
    fits("users.username_key", username_key.as_deref(), 32);
    fits("users.date_of_birth", r.date_of_birth.as_deref(), 10);
    let last4 = user.ssn_last_4().map(|l| l.as_str().to_owned());
    fits("users.ssn_last_4", last4.as_deref(), 4);
    for e in p.meta_data().entries() {
        fits("user_meta_data.name", Some(e.name().as_str()), 64);
        fits("user_meta_data.value", Some(e.value().as_str()), 512);
    }
}

/// Every stored string of `business` fits its column (`m20261128_000003_businesses`).
pub fn assert_business_fits_columns(business: &Business) {
    let r = business_record(business);
    let d = &r.details;
    fits("businesses.business_name", d.business_name.as_deref(), 128);
    fits("businesses.email", d.email.as_deref(), 254);
    fits("businesses.phone_number", d.phone_number.as_deref(), 16);
    fits("businesses.address_one", d.business_address.as_deref(), 128);
    fits(
        "businesses.address_two",
        d.business_address_2.as_deref(),
        128,
    );
    fits("businesses.city", d.city.as_deref(), 64);
    fits("businesses.state", d.state.as_deref(), 3);
    fits("businesses.zipcode", d.zipcode.as_deref(), 5);
    fits("businesses.country", d.country.as_deref(), 2);
    fits("businesses.ein_last_4", Some(&r.ein_last_4), 4);
    fits("businesses.business_type", d.business_type.as_deref(), 32);
    fits(
        "businesses.incorporated_date",
        d.incorporated_date.as_deref(),
        10,
    );
    fits(
        "businesses.incorporated_state",
        d.incorporated_state.as_deref(),
        3,
    );
    fits("businesses.dba", d.dba.as_deref(), 128);
    fits("businesses.naics_code", d.naics_code.as_deref(), 6);
    fits("businesses.business_industry", d.business_industry.as_deref(), 128);
    fits("businesses.support_email", d.support_email.as_deref(), 254);
    fits(
        "businesses.support_phone_number",
        d.support_phone_number.as_deref(),
        16,
    );
    fits("businesses.search_text", Some(&business.search_text()), 2048);
    for e in d.meta_data.iter().flatten() {
        fits("business_meta_data.name", e.name.as_deref(), 64);
        fits("business_meta_data.value", e.value.as_deref(), 512);
    }
}

/// Whitespace a trimmed field must ignore, and some it must not.
#[derive(Arbitrary, Clone, Copy, Debug)]
pub enum Pad {
    /// Nothing.
    None,
    /// A space.
    Space,
    /// A tab and a newline.
    TabNewline,
    /// A non-breaking space (U+00A0).
    NoBreak,
    /// A zero-width space (U+200B, not whitespace to `trim`).
    ZeroWidth,
}

impl Pad {
    fn as_str(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Space => " ",
            Self::TabNewline => "\t\n",
            Self::NoBreak => "\u{a0}",
            Self::ZeroWidth => "\u{200b}",
        }
    }
}

/// A field's value: the seed's own (valid) value, an edit of it, or anything at all.
#[derive(Arbitrary, Clone, Debug)]
pub enum Text {
    /// The seed's value.
    Seed,
    /// Absent (`None`).
    Absent,
    /// The seed's value between two pads.
    Padded(Pad, Pad),
    /// The seed's value with `insert` put in at character `at` (modulo its length).
    Insert {
        /// Where.
        at: u8,
        /// What.
        insert: String,
    },
    /// The seed's first `keep` characters.
    Cut {
        /// How many characters are kept.
        keep: u8,
    },
    /// The seed's value `times` times over (long values).
    Repeat {
        /// How many copies.
        times: u8,
    },
    /// The seed's value in upper case.
    Upper,
    /// Any string.
    Any(String),
}

impl Text {
    /// The value for a field whose seed value is `seed`.
    pub fn apply(&self, seed: Option<&str>) -> Option<String> {
        let seed_or_empty = seed.unwrap_or_default();
        match self {
            Self::Seed => seed.map(str::to_owned),
            Self::Absent => None,
            Self::Padded(a, b) => Some(format!("{}{seed_or_empty}{}", a.as_str(), b.as_str())),
            Self::Insert { at, insert } => {
                let chars: Vec<char> = seed_or_empty.chars().collect();
                let at = usize::from(*at) % (chars.len() + 1);
                let mut out: String = chars[..at].iter().collect();
                out.push_str(insert);
                out.extend(&chars[at..]);
                Some(out)
            }
            Self::Cut { keep } => Some(seed_or_empty.chars().take(usize::from(*keep)).collect()),
            Self::Repeat { times } => Some(seed_or_empty.repeat(usize::from(*times))),
            Self::Upper => Some(seed_or_empty.to_uppercase()),
            Self::Any(s) => Some(s.clone()),
        }
    }
}
