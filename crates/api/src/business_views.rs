//! The answers of beneficial-owner operations: a `bown-…` owner as the API shows it.

use domain::BusinessOwner;
use serde::Serialize;
use utoipa::ToSchema;

use crate::schemas::KycStatusSchema;
use crate::views::{Success, timestamp};

/// A beneficial owner of a business, with the owning user's details and KYC status.
#[derive(Clone, Debug, Serialize, PartialEq, ToSchema)]
#[schema(as = BusinessOwner)]
pub struct OwnerView {
    /// `bown-` and the UUIDv7 of the ownership.
    #[schema(pattern = "^bown-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    id: String,
    #[schema(format = Uuid)]
    uuid: String,
    #[schema(pattern = "^buss-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    business_id: String,
    #[schema(pattern = "^user-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    user_id: String,
    first_name: String,
    last_name: String,
    #[schema(format = Email)]
    email: String,
    /// The share, 0–100 with at most two decimals.
    #[schema(minimum = 0, maximum = 100, example = 25.5)]
    ownership_percent: f64,
    #[schema(min_length = 1, max_length = 64, example = "CEO")]
    title: String,
    /// At most one owner of a business is its control person.
    is_control_person: bool,
    /// The owning user's KYC status.
    #[schema(value_type = KycStatusSchema)]
    kyc_status: &'static str,
    #[schema(format = DateTime)]
    created_at: String,
}

impl From<&BusinessOwner> for OwnerView {
    fn from(o: &BusinessOwner) -> Self {
        Self {
            id: o.id().to_string(),
            uuid: o.id().uuid().to_string(),
            business_id: o.business_id().to_string(),
            user_id: o.user_id().to_string(),
            first_name: o.first_name().as_str().to_owned(),
            last_name: o.last_name().as_str().to_owned(),
            email: o.email().as_str().to_owned(),
            ownership_percent: o.ownership_percent().as_f64(),
            title: o.title().as_str().to_owned(),
            is_control_person: o.is_control_person(),
            kyc_status: o.kyc_status().as_str(),
            created_at: timestamp(o.created_at()),
        }
    }
}

/// The answer with one owner, as sent and as stored for an `Idempotency-Key`.
pub fn render_owner(owner: &BusinessOwner) -> Result<String, serde_json::Error> {
    serde_json::to_string(&Success::one(OwnerView::from(owner)))
}
