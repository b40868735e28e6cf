//! Response bodies: the success envelope and the JSON shape of each entity.

use chrono::{DateTime, SecondsFormat, Utc};
use domain::{Business, MetaData, User};
use serde::Serialize;
use utoipa::ToSchema;

use crate::schemas::{
    BusinessTypeSchema, ContactTypeSchema, KycStatusSchema, ScreeningStatusSchema, SortSchema,
    SuccessStatus, UserStatusSchema, contact_type,
};

/// RFC 3339 UTC with milliseconds: `2026-04-16T12:34:56.000Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The `pagination` block.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, ToSchema)]
pub struct Pagination {
    /// Page number, from 1.
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub page: u64,
    /// Page size.
    #[schema(minimum = 1, maximum = 500)]
    pub per_page: u64,
    /// Items matching in all pages. A filtered listing counts at most 1,000 matches: past
    /// that, `total` is 1,000 and `total_is_estimate` is `true`.
    pub total: u64,
    /// Sort order.
    #[schema(value_type = SortSchema)]
    pub sort: String,
    /// The search text, or `null`.
    pub search: Option<String>,
    /// Present, and `true`, only when `total` is a lower bound (1,000) rather than an exact
    /// count: more than 1,000 items match the filters or search.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    #[schema(required = false)]
    pub total_is_estimate: bool,
}

impl Pagination {
    /// The block of a listing: the page `asked` for, what storage `found`, its `sort` order
    /// and the `search` text.
    pub fn of<T>(
        asked: domain::PageRequest,
        found: &storage::Page<T>,
        sort: &str,
        search: Option<&str>,
    ) -> Self {
        Self {
            page: asked.page(),
            per_page: asked.per_page(),
            total: found.total,
            total_is_estimate: found.total_is_estimate,
            sort: sort.to_owned(),
            search: search.map(str::to_owned),
        }
    }

    /// The block of a single-object answer.
    pub fn single() -> Self {
        Self {
            page: 1,
            per_page: 1,
            total: 1,
            sort: "created_at:desc".to_owned(),
            search: None,
            total_is_estimate: false,
        }
    }
}

/// The `data` block: the items of this page and how they were paged.
#[derive(Debug, Serialize, ToSchema)]
pub struct Data<T> {
    /// The items; a single-object operation returns exactly one.
    items: Vec<T>,
    pagination: Pagination,
}

/// `{"status":"success","message":"operation completed","data":{…}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Success<T> {
    #[schema(value_type = SuccessStatus)]
    status: &'static str,
    #[schema(value_type = String, example = "operation completed")]
    message: &'static str,
    data: Data<T>,
}

impl<T: Serialize> Success<T> {
    /// A page of items.
    pub fn page(items: Vec<T>, pagination: Pagination) -> Self {
        Self {
            status: "success",
            message: "operation completed",
            data: Data { items, pagination },
        }
    }

    /// One item.
    pub fn one(item: T) -> Self {
        Self::page(vec![item], Pagination::single())
    }
}

/// One `{name, value}` pair.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = MetaData)]
pub struct MetaView {
    #[schema(pattern = "^[A-Za-z0-9_.-]{1,64}$", example = "external_ref")]
    name: String,
    #[schema(max_length = 512, example = "customer-001")]
    value: String,
}

fn meta(m: &MetaData) -> Vec<MetaView> {
    m.entries()
        .iter()
        .map(|e| MetaView {
            name: e.name().as_str().to_owned(),
            value: e.value().as_str().to_owned(),
        })
        .collect()
}

/// A user as the API shows it. The full SSN is never part of it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = User)]
pub struct UserView {
    /// `user-` and the UUIDv7 of the user.
    #[schema(pattern = "^user-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    id: String,
    #[schema(format = Uuid)]
    uuid: String,
    #[schema(min_length = 1, max_length = 64, example = "Jane")]
    first_name: String,
    #[schema(min_length = 1, max_length = 64)]
    middle_name: Option<String>,
    #[schema(min_length = 1, max_length = 64, example = "Doe")]
    last_name: String,
    #[schema(format = Email, max_length = 254, example = "jane.doe@example.com")]
    email: String,
    /// E.164.
    #[schema(pattern = "^\\+[1-9][0-9]{7,14}$", example = "+15555551234")]
    phone_number: String,
    #[schema(format = Date, example = "1990-01-31")]
    date_of_birth: Option<String>,
    #[schema(min_length = 1, max_length = 128)]
    address_one: String,
    #[schema(min_length = 1, max_length = 128)]
    address_two: Option<String>,
    #[schema(min_length = 1, max_length = 64)]
    city: String,
    /// ISO 3166-2 subdivision of `country`, without the country prefix.
    #[schema(pattern = "^[A-Z0-9]{1,3}$", example = "TX")]
    state: String,
    /// ISO 3166-1 alpha-2.
    #[schema(pattern = "^[A-Z]{2}$", example = "US")]
    country: String,
    #[schema(pattern = "^[0-9]{5}$", example = "30044")]
    postal_code: String,
    #[schema(pattern = "^[0-9]{4}$", example = "6789")]
    ssn_last_4: Option<String>,
    #[schema(value_type = UserStatusSchema)]
    status: &'static str,
    #[schema(value_type = KycStatusSchema)]
    kyc_status: &'static str,
    #[schema(value_type = ScreeningStatusSchema)]
    screening_status: &'static str,
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{2,31}$")]
    username: Option<String>,
    terms_accepted: bool,
    meta_data: Vec<MetaView>,
    #[schema(format = DateTime, example = "2026-04-16T12:34:56.000Z")]
    created_at: String,
    #[schema(format = DateTime, example = "2026-04-16T12:34:56.000Z")]
    updated_at: String,
}

impl From<&User> for UserView {
    fn from(u: &User) -> Self {
        let p = u.profile();
        let a = p.address();
        Self {
            id: u.id().to_string(),
            uuid: u.id().uuid().to_string(),
            first_name: p.first_name().as_str().to_owned(),
            middle_name: p.middle_name().map(|n| n.as_str().to_owned()),
            last_name: p.last_name().as_str().to_owned(),
            email: p.email().as_str().to_owned(),
            phone_number: p.phone_number().as_str().to_owned(),
            date_of_birth: p.date_of_birth().map(|d| d.to_iso()),
            address_one: a.line_one().as_str().to_owned(),
            address_two: a.line_two().map(|l| l.as_str().to_owned()),
            city: a.city().as_str().to_owned(),
            state: a.state().as_str().to_owned(),
            country: a.country().as_str().to_owned(),
            postal_code: a.postal_code().as_str().to_owned(),
            ssn_last_4: u.ssn_last_4().map(|l| l.as_str().to_owned()),
            status: u.status().as_str(),
            kyc_status: u.kyc_status().as_str(),
            screening_status: u.screening_status().as_str(),
            username: p.username().map(|n| n.as_str().to_owned()),
            terms_accepted: u.terms_accepted_at().is_some(),
            meta_data: meta(p.meta_data()),
            created_at: timestamp(u.created_at()),
            updated_at: timestamp(u.updated_at()),
        }
    }
}

/// A business as the API shows it. The full EIN is never part of it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = Business)]
pub struct BusinessView {
    /// `buss-` and the UUIDv7 of the business.
    #[schema(pattern = "^buss-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    id: String,
    #[schema(format = Uuid)]
    uuid: String,
    #[schema(min_length = 1, max_length = 128, example = "Acme Widgets LLC")]
    business_name: String,
    #[schema(format = Email, max_length = 254)]
    email: String,
    #[schema(pattern = "^\\+[1-9][0-9]{7,14}$")]
    phone_number: String,
    #[schema(min_length = 1, max_length = 128)]
    business_address: String,
    #[schema(min_length = 1, max_length = 128)]
    business_address_2: Option<String>,
    #[schema(min_length = 1, max_length = 64)]
    city: String,
    #[schema(pattern = "^[A-Z0-9]{1,3}$")]
    state: String,
    #[schema(pattern = "^[0-9]{5}$")]
    zipcode: String,
    #[schema(pattern = "^[A-Z]{2}$")]
    country: String,
    #[schema(pattern = "^[0-9]{4}$")]
    ein_last_4: String,
    #[schema(value_type = Option<BusinessTypeSchema>)]
    business_type: Option<&'static str>,
    #[schema(format = Date)]
    incorporated_date: Option<String>,
    #[schema(pattern = "^[A-Z0-9]{1,3}$")]
    incorporated_state: Option<String>,
    /// "Doing business as".
    #[schema(min_length = 1, max_length = 128)]
    dba: Option<String>,
    #[schema(pattern = "^[0-9]{6}$", example = "541511")]
    naics_code: Option<String>,
    #[schema(min_length = 1, max_length = 128)]
    business_industry: Option<String>,
    #[schema(min_length = 1, max_length = 1000)]
    business_description: Option<String>,
    #[schema(pattern = "^[Hh][Tt][Tt][Pp][Ss]://", max_length = 2048)]
    website: Option<String>,
    #[schema(format = Email, max_length = 254)]
    support_email: Option<String>,
    #[schema(pattern = "^\\+[1-9][0-9]{7,14}$")]
    support_phone_number: Option<String>,
    #[schema(value_type = UserStatusSchema)]
    status: &'static str,
    #[schema(value_type = KycStatusSchema)]
    kyb_status: &'static str,
    meta_data: Vec<MetaView>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl From<&Business> for BusinessView {
    fn from(b: &Business) -> Self {
        let p = b.profile();
        let d = p.details();
        Self {
            id: b.id().to_string(),
            uuid: b.id().uuid().to_string(),
            business_name: p.name().as_str().to_owned(),
            email: p.email().as_str().to_owned(),
            phone_number: p.phone_number().as_str().to_owned(),
            business_address: p.address_one().as_str().to_owned(),
            business_address_2: p.address_two().map(|a| a.as_str().to_owned()),
            city: p.city().as_str().to_owned(),
            state: p.state().as_str().to_owned(),
            zipcode: p.zipcode().as_str().to_owned(),
            country: p.country().as_str().to_owned(),
            ein_last_4: b.ein_last_4().as_str().to_owned(),
            business_type: p.business_type().map(domain::BusinessType::as_str),
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
            status: b.status().as_str(),
            kyb_status: b.kyb_status().as_str(),
            meta_data: meta(p.meta_data()),
            created_at: timestamp(b.created_at()),
            updated_at: timestamp(b.updated_at()),
        }
    }
}

/// A business contact (`bcus-…`) as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq, ToSchema)]
#[schema(as = Contact)]
pub struct ContactView {
    #[schema(pattern = "^bcus-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    id: String,
    #[schema(format = Uuid)]
    uuid: String,
    #[schema(pattern = "^buss-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    business_id: String,
    #[schema(value_type = ContactTypeSchema)]
    contact_type: &'static str,
    #[schema(pattern = "^user-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    user_id: String,
    first_name: String,
    last_name: String,
    #[schema(format = Email)]
    email: String,
    #[schema(pattern = "^\\+[1-9][0-9]{7,14}$")]
    phone_number: String,
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<&domain::BusinessContact> for ContactView {
    fn from(c: &domain::BusinessContact) -> Self {
        Self {
            id: c.id().to_string(),
            uuid: c.id().uuid().to_string(),
            business_id: c.business_id().to_string(),
            contact_type: contact_type(c.contact_type()),
            user_id: c.user_id().to_string(),
            first_name: c.first_name().as_str().to_owned(),
            last_name: c.last_name().as_str().to_owned(),
            email: c.email().as_str().to_owned(),
            phone_number: c.phone_number().as_str().to_owned(),
            created_at: timestamp(c.created_at()),
        }
    }
}

/// A body as sent.
pub fn to_body(value: &impl Serialize) -> Result<String, crate::error::ApiError> {
    serde_json::to_string(value).map_err(crate::error::ApiError::render)
}

/// The answer with one user, as sent and as stored for an `Idempotency-Key`.
pub fn render_user(user: &User) -> Result<String, serde_json::Error> {
    serde_json::to_string(&Success::one(UserView::from(user)))
}

/// The answer with one business, as sent and as stored for an `Idempotency-Key`.
pub fn render_business(business: &Business) -> Result<String, serde_json::Error> {
    serde_json::to_string(&Success::one(BusinessView::from(business)))
}

/// A JSON answer; `replayed` marks one stored for an `Idempotency-Key`.
pub fn json(
    status: actix_web::http::StatusCode,
    body: String,
    replayed: bool,
) -> actix_web::HttpResponse {
    let mut builder = actix_web::HttpResponse::build(status);
    builder.content_type("application/json");
    if replayed {
        builder.insert_header(("Idempotent-Replayed", "true"));
    }
    builder.body(body)
}
