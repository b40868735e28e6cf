//! The business entity: the raw create input, the validated `NewBusiness`, and `Business`.

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{Collector, ErrorCode, ValidationErrors, Violation};
use crate::geo::{Country, PostalCode, State};
use crate::identity::{Ein, Last4, parse_iso_date};
use crate::ids::{BusinessId, ProgramId};
use crate::meta::{MetaData, RawMetaEntry};
use crate::status::{BusinessType, KycStatus, UserStatus};
use crate::text::{AddressLine, BusinessName, City, blank_is_none};
use crate::{Email, PhoneNumber};

/// The create-business input as plain strings and options. `Debug` redacts `ein`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawNewBusiness {
    /// `business_name`.
    pub business_name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `phone_number`.
    pub phone_number: Option<String>,
    /// `business_address`.
    pub business_address: Option<String>,
    /// `business_address_2`; `""` means none.
    pub business_address_2: Option<String>,
    /// `city`.
    pub city: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `zipcode`.
    pub zipcode: Option<String>,
    /// `country`.
    pub country: Option<String>,
    /// `ein`.
    pub ein: Option<String>,
    /// `business_type`.
    pub business_type: Option<String>,
    /// `incorporated_date`.
    pub incorporated_date: Option<String>,
    /// `incorporated_state`.
    pub incorporated_state: Option<String>,
    /// `meta_data`.
    pub meta_data: Option<Vec<RawMetaEntry>>,
}

impl std::fmt::Debug for RawNewBusiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawNewBusiness")
            .field("business_name", &self.business_name)
            .field("email", &self.email)
            .field("phone_number", &self.phone_number)
            .field("business_address", &self.business_address)
            .field("business_address_2", &self.business_address_2)
            .field("city", &self.city)
            .field("state", &self.state)
            .field("zipcode", &self.zipcode)
            .field("country", &self.country)
            .field("ein", &self.ein.as_ref().map(|_| "[redacted]"))
            .field("business_type", &self.business_type)
            .field("incorporated_date", &self.incorporated_date)
            .field("incorporated_state", &self.incorporated_state)
            .field("meta_data", &self.meta_data)
            .finish()
    }
}

/// A business's public details, shared by [`NewBusiness`] and [`Business`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessProfile {
    /// Legal name.
    pub name: BusinessName,
    /// Contact email.
    pub email: Email,
    /// Contact phone.
    pub phone_number: PhoneNumber,
    /// Street line 1.
    pub address_one: AddressLine,
    /// Street line 2.
    pub address_two: Option<AddressLine>,
    /// City.
    pub city: City,
    /// Subdivision of `country`.
    pub state: State,
    /// ZIP code.
    pub zipcode: PostalCode,
    /// Country.
    pub country: Country,
    /// Legal form.
    pub business_type: Option<BusinessType>,
    /// Date of incorporation (not in the future, not before 1800-01-01).
    pub incorporated_date: Option<NaiveDate>,
    /// Subdivision of `country` where it was incorporated.
    pub incorporated_state: Option<State>,
    /// meta_data pairs.
    pub meta_data: MetaData,
}

/// A create-business request that passed every rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewBusiness {
    profile: BusinessProfile,
    ein: Ein,
}

/// The earliest accepted incorporation date.
const EARLIEST_INCORPORATION: NaiveDate = match NaiveDate::from_ymd_opt(1800, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

fn incorporation_date(raw: &str, today: NaiveDate) -> Result<NaiveDate, Violation> {
    let date = parse_iso_date(raw)?;
    if date > today {
        return Err(Violation::new(
            ErrorCode::OutOfRange,
            "must not be in the future",
        ));
    }
    if date < EARLIEST_INCORPORATION {
        return Err(Violation::new(
            ErrorCode::OutOfRange,
            "must not be before 1800-01-01",
        ));
    }
    Ok(date)
}

impl NewBusiness {
    /// Checks every rule; on failure ONE error listing every failing field. `today` is the
    /// caller's clock.
    pub fn parse(raw: &RawNewBusiness, today: NaiveDate) -> Result<Self, ValidationErrors> {
        let mut e = Collector::default();
        let name = e.required(
            "business_name",
            raw.business_name.as_deref(),
            BusinessName::parse,
        );
        let email = e.required("email", raw.email.as_deref(), Email::parse);
        let phone_number = e.required(
            "phone_number",
            raw.phone_number.as_deref(),
            PhoneNumber::parse,
        );
        let address_one = e.required(
            "business_address",
            raw.business_address.as_deref(),
            AddressLine::parse,
        );
        let address_two = e.optional(
            "business_address_2",
            blank_is_none(raw.business_address_2.as_deref()),
            AddressLine::parse,
        );
        let city = e.required("city", raw.city.as_deref(), City::parse);
        let country = e.required("country", raw.country.as_deref(), Country::parse);
        let (state, incorporated_state) = match country {
            Some(c) => (
                e.required("state", raw.state.as_deref(), |s| State::parse(s, c)),
                e.optional(
                    "incorporated_state",
                    raw.incorporated_state.as_deref(),
                    |s| State::parse(s, c),
                ),
            ),
            None => (None, None),
        };
        if country.is_none() && raw.state.is_none() {
            e.push("state", Violation::required());
        }
        let zipcode = e.required("zipcode", raw.zipcode.as_deref(), PostalCode::parse);
        let ein = e.required("ein", raw.ein.as_deref(), Ein::parse);
        let business_type = e.optional(
            "business_type",
            raw.business_type.as_deref(),
            BusinessType::parse,
        );
        let incorporated_date =
            e.optional("incorporated_date", raw.incorporated_date.as_deref(), |s| {
                incorporation_date(s, today)
            });
        let meta_data = match &raw.meta_data {
            None => Some(MetaData::default()),
            Some(list) => MetaData::parse_into("meta_data", list, &mut e),
        };
        e.finish()?;
        let built = (|| {
            Some(Self {
                profile: BusinessProfile {
                    name: name?,
                    email: email?,
                    phone_number: phone_number?,
                    address_one: address_one?,
                    address_two: address_two?,
                    city: city?,
                    state: state?,
                    zipcode: zipcode?,
                    country: country?,
                    business_type: business_type?,
                    incorporated_date: incorporated_date?,
                    incorporated_state: incorporated_state?,
                    meta_data: meta_data?,
                },
                ein: ein?,
            })
        })();
        built.ok_or_else(crate::error::inconsistent)
    }

    /// Public details.
    pub fn profile(&self) -> &BusinessProfile {
        &self.profile
    }
    /// The EIN (a secret).
    pub fn ein(&self) -> &Ein {
        &self.ein
    }
}

/// A stored business. The full EIN is never part of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Business {
    id: BusinessId,
    program_id: ProgramId,
    profile: BusinessProfile,
    ein_last_4: Last4,
    status: UserStatus,
    kyb_status: KycStatus,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Business {
    /// The business a [`NewBusiness`] becomes: `active`, `kyb_status` `not_started`.
    pub fn create(
        id: BusinessId,
        program_id: ProgramId,
        new: &NewBusiness,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            program_id,
            profile: new.profile.clone(),
            ein_last_4: new.ein.last4(),
            status: UserStatus::Active,
            kyb_status: KycStatus::NotStarted,
            created_at: now,
            updated_at: now,
        }
    }

    /// Rebuilds a stored business; its profile is re-parsed by the caller through
    /// [`NewBusiness`]'s field types.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: BusinessId,
        program_id: ProgramId,
        profile: BusinessProfile,
        ein_last_4: Last4,
        status: UserStatus,
        kyb_status: KycStatus,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            program_id,
            profile,
            ein_last_4,
            status,
            kyb_status,
            created_at,
            updated_at: updated_at.max(created_at),
        }
    }

    /// Id.
    pub fn id(&self) -> BusinessId {
        self.id
    }
    /// Owning program.
    pub fn program_id(&self) -> ProgramId {
        self.program_id
    }
    /// Public details.
    pub fn profile(&self) -> &BusinessProfile {
        &self.profile
    }
    /// Last four EIN digits.
    pub fn ein_last_4(&self) -> Last4 {
        self.ein_last_4
    }
    /// Status.
    pub fn status(&self) -> UserStatus {
        self.status
    }
    /// KYB status.
    pub fn kyb_status(&self) -> KycStatus {
        self.kyb_status
    }
    /// Creation time.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    /// Last change.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
}

/// A user linked to a business (`bcus-…`), with the user's contact details.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessContact {
    /// The link's id.
    pub id: crate::ContactId,
    /// The business.
    pub business_id: BusinessId,
    /// The user.
    pub user_id: crate::UserId,
    /// Customer or vendor.
    pub contact_type: crate::ContactType,
    /// The user's first name.
    pub first_name: crate::PersonName,
    /// The user's last name.
    pub last_name: crate::PersonName,
    /// The user's email.
    pub email: Email,
    /// The user's phone number.
    pub phone_number: PhoneNumber,
    /// When the link was made.
    pub created_at: DateTime<Utc>,
}
