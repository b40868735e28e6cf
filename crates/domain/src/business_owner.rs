//! Beneficial owners of a business (SPEC §9): the raw add-owner input, the validated
//! `NewBusinessOwner`, and the stored `BusinessOwner` with the owner's KYC status.

use chrono::{DateTime, Utc};

use crate::Email;
use crate::error::{Collector, ErrorCode, ValidationErrors, Violation};
use crate::ids::{BusinessId, BusinessOwnerId, UserId};
use crate::status::KycStatus;
use crate::text::{PersonName, bounded_text};

/// An ownership share: 0–100 with at most two decimals, held in hundredths of a percent
/// (`25.5` is 2550), so that sums are exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OwnershipPercent(u16);

impl OwnershipPercent {
    /// 100 %, in hundredths.
    pub const FULL: u16 = 10_000;

    /// Parses a decimal such as `25`, `25.5` or `33.33` (as the JSON number's text).
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let t = raw.trim();
        let bad = || {
            Violation::new(
                ErrorCode::InvalidFormat,
                "must be a number from 0 to 100 with at most two decimals",
            )
        };
        if t.starts_with('-') {
            return Err(Violation::new(
                ErrorCode::OutOfRange,
                "must be between 0 and 100",
            ));
        }
        let (whole, fraction) = t.split_once('.').unwrap_or((t, ""));
        if whole.is_empty()
            || !whole.bytes().all(|b| b.is_ascii_digit())
            || !fraction.bytes().all(|b| b.is_ascii_digit())
            || (t.contains('.') && fraction.is_empty())
        {
            return Err(bad());
        }
        // Trailing zeros carry no precision (`25.500` is 25.5).
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > 2 {
            return Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must have at most two decimals",
            ));
        }
        let whole = whole.trim_start_matches('0');
        if whole.len() > 3 {
            return Err(Violation::new(
                ErrorCode::OutOfRange,
                "must be between 0 and 100",
            ));
        }
        let whole: u32 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| bad())?
        };
        let cents: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
        let hundredths = whole * 100 + cents;
        if hundredths > u32::from(Self::FULL) {
            return Err(Violation::new(
                ErrorCode::OutOfRange,
                "must be between 0 and 100",
            ));
        }
        u16::try_from(hundredths).map(Self).map_err(|_| bad())
    }

    /// From stored hundredths (0–10000).
    pub fn from_hundredths(hundredths: i64) -> Result<Self, Violation> {
        u16::try_from(hundredths)
            .ok()
            .filter(|h| *h <= Self::FULL)
            .map(Self)
            .ok_or(Violation::new(
                ErrorCode::OutOfRange,
                "must be between 0 and 100",
            ))
    }

    /// Hundredths of a percent.
    pub fn hundredths(self) -> u16 {
        self.0
    }

    /// As a number (`25.5`), for answers.
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 100.0
    }
}

/// An owner's title (`CEO`, `Managing member`): 1–64 characters after trimming, no control
/// characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OwnerTitle(String);

impl OwnerTitle {
    /// Longest accepted title.
    pub const MAX: usize = 64;

    /// Parses and trims.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        bounded_text(raw, Self::MAX).map(Self)
    }
    /// The title.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `/business/add-business-owner` as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawNewBusinessOwner {
    /// `business_id`.
    pub business_id: Option<String>,
    /// `user_id`: a user of the same program.
    pub user_id: Option<String>,
    /// `ownership_percent`, as the text of the JSON number.
    pub ownership_percent: Option<String>,
    /// `title`.
    pub title: Option<String>,
    /// `is_control_person` (default false).
    pub is_control_person: Option<bool>,
}

/// A valid add-owner request. Built only by [`NewBusinessOwner::parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewBusinessOwner {
    business_id: BusinessId,
    user_id: UserId,
    ownership_percent: OwnershipPercent,
    title: OwnerTitle,
    is_control_person: bool,
}

impl NewBusinessOwner {
    /// Checks every rule, reporting every failing field.
    pub fn parse(raw: &RawNewBusinessOwner) -> Result<Self, ValidationErrors> {
        let mut e = Collector::default();
        let business_id = e.required(
            "business_id",
            raw.business_id.as_deref().map(str::trim),
            BusinessId::parse,
        );
        let user_id = e.required(
            "user_id",
            raw.user_id.as_deref().map(str::trim),
            UserId::parse,
        );
        let ownership_percent = e.required(
            "ownership_percent",
            raw.ownership_percent.as_deref(),
            OwnershipPercent::parse,
        );
        let title = e.required("title", raw.title.as_deref(), OwnerTitle::parse);
        e.finish()?;
        match (business_id, user_id, ownership_percent, title) {
            (Some(business_id), Some(user_id), Some(ownership_percent), Some(title)) => Ok(Self {
                business_id,
                user_id,
                ownership_percent,
                title,
                is_control_person: raw.is_control_person.unwrap_or(false),
            }),
            _ => Err(crate::error::inconsistent()),
        }
    }

    /// The business.
    pub fn business_id(&self) -> BusinessId {
        self.business_id
    }
    /// The owner (a user of the same program).
    pub fn user_id(&self) -> UserId {
        self.user_id
    }
    /// The share.
    pub fn ownership_percent(&self) -> OwnershipPercent {
        self.ownership_percent
    }
    /// The title.
    pub fn title(&self) -> &OwnerTitle {
        &self.title
    }
    /// Whether this owner controls the business (at most one per business).
    pub fn is_control_person(&self) -> bool {
        self.is_control_person
    }
}

/// A stored owner as plain values, with the owning user's details.
#[derive(Clone, Debug)]
pub struct BusinessOwnerRecord {
    /// Id.
    pub id: BusinessOwnerId,
    /// The business.
    pub business_id: BusinessId,
    /// The user.
    pub user_id: UserId,
    /// Stored hundredths of a percent.
    pub ownership_hundredths: i64,
    /// Stored title.
    pub title: String,
    /// Control person.
    pub is_control_person: bool,
    /// The user's first name.
    pub first_name: String,
    /// The user's last name.
    pub last_name: String,
    /// The user's email.
    pub email: String,
    /// The user's KYC status spelling.
    pub kyc_status: String,
    /// When the owner was added.
    pub created_at: DateTime<Utc>,
}

/// A beneficial owner as the API shows it (`bown-…`). Built only by [`BusinessOwner::restore`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessOwner {
    id: BusinessOwnerId,
    business_id: BusinessId,
    user_id: UserId,
    ownership_percent: OwnershipPercent,
    title: OwnerTitle,
    is_control_person: bool,
    first_name: PersonName,
    last_name: PersonName,
    email: Email,
    kyc_status: KycStatus,
    created_at: DateTime<Utc>,
}

impl BusinessOwner {
    /// Rebuilds a stored owner through the same rules as the input (a corrupt row is an error).
    pub fn restore(r: &BusinessOwnerRecord) -> Result<Self, ValidationErrors> {
        let mut e = Collector::default();
        let ownership_percent = e.take(
            "ownership_percent",
            OwnershipPercent::from_hundredths(r.ownership_hundredths),
        );
        let title = e.take("title", OwnerTitle::parse(&r.title));
        let first_name = e.take("first_name", PersonName::parse(&r.first_name));
        let last_name = e.take("last_name", PersonName::parse(&r.last_name));
        let email = e.take("email", Email::parse(&r.email));
        let kyc_status = e.take("kyc_status", KycStatus::parse(&r.kyc_status));
        e.finish()?;
        match (
            ownership_percent,
            title,
            first_name,
            last_name,
            email,
            kyc_status,
        ) {
            (Some(p), Some(title), Some(first_name), Some(last_name), Some(email), Some(kyc)) => {
                Ok(Self {
                    id: r.id,
                    business_id: r.business_id,
                    user_id: r.user_id,
                    ownership_percent: p,
                    title,
                    is_control_person: r.is_control_person,
                    first_name,
                    last_name,
                    email,
                    kyc_status: kyc,
                    created_at: r.created_at,
                })
            }
            _ => Err(crate::error::inconsistent()),
        }
    }

    /// Id.
    pub fn id(&self) -> BusinessOwnerId {
        self.id
    }
    /// The business.
    pub fn business_id(&self) -> BusinessId {
        self.business_id
    }
    /// The user who owns.
    pub fn user_id(&self) -> UserId {
        self.user_id
    }
    /// The share.
    pub fn ownership_percent(&self) -> OwnershipPercent {
        self.ownership_percent
    }
    /// The title.
    pub fn title(&self) -> &OwnerTitle {
        &self.title
    }
    /// Whether this owner controls the business.
    pub fn is_control_person(&self) -> bool {
        self.is_control_person
    }
    /// The user's first name.
    pub fn first_name(&self) -> &PersonName {
        &self.first_name
    }
    /// The user's last name.
    pub fn last_name(&self) -> &PersonName {
        &self.last_name
    }
    /// The user's email.
    pub fn email(&self) -> &Email {
        &self.email
    }
    /// The user's KYC status.
    pub fn kyc_status(&self) -> KycStatus {
        self.kyc_status
    }
    /// When the owner was added.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}

impl OwnershipPercent {
    /// The owners' new sum when this share joins `held` (hundredths already held by the
    /// business's other owners): at most 100 %, or a 422 on `ownership_percent`.
    pub fn add_to(self, held: i64) -> Result<i64, ValidationErrors> {
        let total = held.saturating_add(i64::from(self.0));
        if total > i64::from(Self::FULL) {
            return Err(Self::refused(held));
        }
        Ok(total)
    }

    /// The refusal of a share that does not fit beside `held` hundredths.
    pub fn refused(held: i64) -> ValidationErrors {
        let held = held.clamp(0, i64::from(Self::FULL));
        ValidationErrors::single(
            "ownership_percent",
            Violation::with_message(
                ErrorCode::OutOfRange,
                format!(
                    "the owners' shares would sum to more than 100 ({}.{:02} is already held)",
                    held / 100,
                    held % 100
                ),
            ),
        )
    }
}
