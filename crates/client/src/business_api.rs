//! Typed calls of the business operations of SPEC §9: update, block, unblock, KYB, the
//! listing, and beneficial owners.

use serde::{Deserialize, Serialize};

use crate::api::{Business, CallError, Endpoint, MetaEntry, Page};
use crate::http::Client;

/// The body of `/business/update`: `business_id` and the fields to change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UpdateBusiness {
    /// The business, `buss-…`.
    pub business_id: String,
    /// Legal name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    /// Contact email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// E.164.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Street address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_address: Option<String>,
    /// Second address line (`""` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_address_2: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Subdivision of `country`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ZIP code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zipcode: Option<String>,
    /// ISO 3166-1 alpha-2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// A new EIN (refused once KYB was requested).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ein: Option<String>,
    /// Legal form, any letter case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_type: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incorporated_date: Option<String>,
    /// Subdivision of `country`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incorporated_state: Option<String>,
    /// "Doing business as" (`""` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dba: Option<String>,
    /// Six-digit NAICS code (`""` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naics_code: Option<String>,
    /// Industry (`""` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_industry: Option<String>,
    /// Description (`""` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_description: Option<String>,
    /// An `https://` URL (`""` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// Support email (`""` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_email: Option<String>,
    /// Support phone (`""` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_phone_number: Option<String>,
    /// Replaces the whole list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta_data: Option<Vec<MetaEntry>>,
}

/// The body of `/business/get-all`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ListBusinesses {
    /// Page number, from 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<u64>,
    /// Page size, 1–500.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_page: Option<u64>,
    /// Case-insensitive substring of the name, `dba` or email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<String>,
    /// `active` or `blocked`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `not_started`, `pending`, `verified` or `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kyb_status: Option<String>,
}

/// The body of `/business/add-business-owner`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct AddBusinessOwner {
    /// The business, `buss-…`.
    pub business_id: String,
    /// A user of the same program, `user-…`.
    pub user_id: String,
    /// 0–100 with at most two decimals.
    pub ownership_percent: f64,
    /// The owner's title.
    pub title: String,
    /// At most one control person per business.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_control_person: Option<bool>,
}

/// A beneficial owner as the service answers it.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct BusinessOwner {
    /// `bown-…`.
    pub id: String,
    /// The UUID inside `id`.
    pub uuid: String,
    /// `buss-…`.
    pub business_id: String,
    /// `user-…`.
    pub user_id: String,
    /// The user's given name.
    pub first_name: String,
    /// The user's family name.
    pub last_name: String,
    /// The user's email.
    pub email: String,
    /// The share, 0–100.
    pub ownership_percent: f64,
    /// Title.
    pub title: String,
    /// Whether this owner controls the business.
    pub is_control_person: bool,
    /// The owner's KYC status.
    pub kyc_status: String,
    /// RFC 3339.
    pub created_at: String,
}

#[derive(Serialize)]
struct BusinessReasonBody<'a> {
    business_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct OwnersBody<'a> {
    business_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    page: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    per_page: Option<u64>,
}

#[derive(Serialize)]
struct RemoveOwnerBody<'a> {
    business_id: &'a str,
    owner_id: &'a str,
}

impl Client {
    /// `/business/update`.
    pub async fn update_business(&self, change: &UpdateBusiness) -> Result<Business, CallError> {
        self.one(Endpoint::UpdateBusiness, change).await
    }

    /// `/business/block`.
    pub async fn block_business(
        &self,
        business_id: &str,
        reason: Option<&str>,
    ) -> Result<Business, CallError> {
        self.one(
            Endpoint::BlockBusiness,
            &BusinessReasonBody {
                business_id,
                reason,
            },
        )
        .await
    }

    /// `/business/unblock`.
    pub async fn unblock_business(
        &self,
        business_id: &str,
        reason: Option<&str>,
    ) -> Result<Business, CallError> {
        self.one(
            Endpoint::UnblockBusiness,
            &BusinessReasonBody {
                business_id,
                reason,
            },
        )
        .await
    }

    /// `/business/send-verification-request`: submits the business for KYB.
    pub async fn send_business_verification_request(
        &self,
        business_id: &str,
    ) -> Result<Business, CallError> {
        self.one(
            Endpoint::SendBusinessVerificationRequest,
            &BusinessReasonBody {
                business_id,
                reason: None,
            },
        )
        .await
    }

    /// `/business/get-all`.
    pub async fn list_businesses(
        &self,
        query: &ListBusinesses,
    ) -> Result<Page<Business>, CallError> {
        self.page(Endpoint::ListBusinesses, query).await
    }

    /// `/business/add-business-owner`.
    pub async fn add_business_owner(
        &self,
        owner: &AddBusinessOwner,
    ) -> Result<BusinessOwner, CallError> {
        self.one(Endpoint::AddBusinessOwner, owner).await
    }

    /// `/business/get-business-owners`.
    pub async fn list_business_owners(
        &self,
        business_id: &str,
        page: Option<u64>,
        per_page: Option<u64>,
    ) -> Result<Page<BusinessOwner>, CallError> {
        self.page(
            Endpoint::ListBusinessOwners,
            &OwnersBody {
                business_id,
                page,
                per_page,
            },
        )
        .await
    }

    /// `/business/remove-business-owner`: answers the removed owner.
    pub async fn remove_business_owner(
        &self,
        business_id: &str,
        owner_id: &str,
    ) -> Result<BusinessOwner, CallError> {
        self.one(
            Endpoint::RemoveBusinessOwner,
            &RemoveOwnerBody {
                business_id,
                owner_id,
            },
        )
        .await
    }
}
