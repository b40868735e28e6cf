//! Response bodies: the success envelope and the JSON shape of each entity.

use chrono::{DateTime, SecondsFormat, Utc};
use domain::{Business, MetaData, User};
use serde::Serialize;

/// RFC 3339 UTC with milliseconds: `2026-04-16T12:34:56.000Z`.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The `pagination` block.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Pagination {
    /// Page number, from 1.
    pub page: u64,
    /// Page size.
    pub per_page: u64,
    /// Items matching in all pages.
    pub total: u64,
    /// Sort order.
    pub sort: String,
    /// The search text, or `null`.
    pub search: Option<String>,
}

impl Pagination {
    /// The block of a single-object answer.
    pub fn single() -> Self {
        Self {
            page: 1,
            per_page: 1,
            total: 1,
            sort: "created_at:desc".to_owned(),
            search: None,
        }
    }
}

#[derive(Debug, Serialize)]
struct Data<T> {
    items: Vec<T>,
    pagination: Pagination,
}

/// `{"status":"success","message":"operation completed","data":{…}}`.
#[derive(Debug, Serialize)]
pub struct Success<T> {
    status: &'static str,
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
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct MetaView {
    name: String,
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
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct UserView {
    id: String,
    uuid: String,
    first_name: String,
    middle_name: Option<String>,
    last_name: String,
    email: String,
    phone_number: String,
    date_of_birth: Option<String>,
    address_one: String,
    address_two: Option<String>,
    city: String,
    state: String,
    country: String,
    postal_code: String,
    ssn_last_4: Option<String>,
    status: &'static str,
    kyc_status: &'static str,
    username: Option<String>,
    terms_accepted: bool,
    meta_data: Vec<MetaView>,
    created_at: String,
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
            username: p.username().map(|n| n.as_str().to_owned()),
            terms_accepted: u.terms_accepted_at().is_some(),
            meta_data: meta(p.meta_data()),
            created_at: timestamp(u.created_at()),
            updated_at: timestamp(u.updated_at()),
        }
    }
}

/// A business as the API shows it. The full EIN is never part of it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct BusinessView {
    id: String,
    uuid: String,
    business_name: String,
    email: String,
    phone_number: String,
    business_address: String,
    business_address_2: Option<String>,
    city: String,
    state: String,
    zipcode: String,
    country: String,
    ein_last_4: String,
    business_type: Option<&'static str>,
    incorporated_date: Option<String>,
    incorporated_state: Option<String>,
    status: &'static str,
    kyb_status: &'static str,
    meta_data: Vec<MetaView>,
    created_at: String,
    updated_at: String,
}

impl From<&Business> for BusinessView {
    fn from(b: &Business) -> Self {
        let p = b.profile();
        Self {
            id: b.id().to_string(),
            uuid: b.id().uuid().to_string(),
            business_name: p.name.as_str().to_owned(),
            email: p.email.as_str().to_owned(),
            phone_number: p.phone_number.as_str().to_owned(),
            business_address: p.address_one.as_str().to_owned(),
            business_address_2: p.address_two.as_ref().map(|a| a.as_str().to_owned()),
            city: p.city.as_str().to_owned(),
            state: p.state.as_str().to_owned(),
            zipcode: p.zipcode.as_str().to_owned(),
            country: p.country.as_str().to_owned(),
            ein_last_4: b.ein_last_4().as_str().to_owned(),
            business_type: p.business_type.map(domain::BusinessType::as_str),
            incorporated_date: p
                .incorporated_date
                .map(|d| d.format("%Y-%m-%d").to_string()),
            incorporated_state: p.incorporated_state.as_ref().map(|s| s.as_str().to_owned()),
            status: b.status().as_str(),
            kyb_status: b.kyb_status().as_str(),
            meta_data: meta(&p.meta_data),
            created_at: timestamp(b.created_at()),
            updated_at: timestamp(b.updated_at()),
        }
    }
}

/// A business contact (`bcus-…`) as the API shows it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct ContactView {
    id: String,
    uuid: String,
    business_id: String,
    contact_type: &'static str,
    user_id: String,
    first_name: String,
    last_name: String,
    email: String,
    phone_number: String,
    created_at: String,
}

impl From<&domain::BusinessContact> for ContactView {
    fn from(c: &domain::BusinessContact) -> Self {
        Self {
            id: c.id.to_string(),
            uuid: c.id.uuid().to_string(),
            business_id: c.business_id.to_string(),
            contact_type: match c.contact_type {
                domain::ContactType::Customer => "customers",
                domain::ContactType::Vendor => "vendors",
            },
            user_id: c.user_id.to_string(),
            first_name: c.first_name.as_str().to_owned(),
            last_name: c.last_name.as_str().to_owned(),
            email: c.email.as_str().to_owned(),
            phone_number: c.phone_number.as_str().to_owned(),
            created_at: timestamp(c.created_at),
        }
    }
}
