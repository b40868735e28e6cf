//! The business entity: the raw create input, the validated `NewBusiness`, and `Business`.

use chrono::{DateTime, NaiveDate, Utc};
use zeroize::Zeroizing;

use crate::error::{Collector, ErrorCode, ValidationErrors, Violation};
use crate::geo::{Country, PostalCode, State};
use crate::identity::{Ein, Last4, parse_iso_date};
use crate::ids::{BusinessId, ProgramId};
use crate::meta::{MetaData, RawMetaEntry};
use crate::status::{BusinessType, KycStatus, UserStatus};
use crate::text::{AddressLine, BusinessName, City, blank_is_none};
use crate::{Email, PhoneNumber};

pub(crate) mod change;
pub(crate) mod details;

use details::BusinessDetails;

/// The create-business input as plain strings and options. `Debug` redacts `ein`.
///
/// With the `serde` feature it deserializes from the create body's JSON names (absent fields
/// are `None`; unknown names are ignored). It has no `Serialize`: it may hold an EIN (only with
/// the `fixtures` feature too, for tests that send it as JSON).
#[derive(Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(default))]
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
    /// `ein`, wiped from memory on drop.
    pub ein: Option<Zeroizing<String>>,
    /// `business_type`.
    pub business_type: Option<String>,
    /// `incorporated_date`.
    pub incorporated_date: Option<String>,
    /// `incorporated_state`.
    pub incorporated_state: Option<String>,
    /// `dba` ("doing business as"); `""` means none.
    pub dba: Option<String>,
    /// `naics_code`; `""` means none.
    pub naics_code: Option<String>,
    /// `business_industry`; `""` means none.
    pub business_industry: Option<String>,
    /// `business_description`; `""` means none.
    pub business_description: Option<String>,
    /// `website`; `""` means none.
    pub website: Option<String>,
    /// `support_email`; `""` means none.
    pub support_email: Option<String>,
    /// `support_phone_number`; `""` means none.
    pub support_phone_number: Option<String>,
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
            .field("dba", &self.dba)
            .field("naics_code", &self.naics_code)
            .field("business_industry", &self.business_industry)
            .field("business_description", &self.business_description)
            .field("website", &self.website)
            .field("support_email", &self.support_email)
            .field("support_phone_number", &self.support_phone_number)
            .field("meta_data", &self.meta_data)
            .finish()
    }
}

/// A business's public details, shared by [`NewBusiness`] and [`Business`]. Built only by
/// [`NewBusiness::parse`] and [`Business::restore`]; read through its accessors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessProfile {
    name: BusinessName,
    email: Email,
    phone_number: PhoneNumber,
    address_one: AddressLine,
    address_two: Option<AddressLine>,
    city: City,
    state: State,
    zipcode: PostalCode,
    country: Country,
    business_type: Option<BusinessType>,
    incorporated_date: Option<NaiveDate>,
    incorporated_state: Option<State>,
    details: BusinessDetails,
    meta_data: MetaData,
}

impl BusinessProfile {
    /// Legal name.
    pub fn name(&self) -> &BusinessName {
        &self.name
    }
    /// Contact email.
    pub fn email(&self) -> &Email {
        &self.email
    }
    /// Contact phone.
    pub fn phone_number(&self) -> &PhoneNumber {
        &self.phone_number
    }
    /// Street line 1 (`business_address`).
    pub fn address_one(&self) -> &AddressLine {
        &self.address_one
    }
    /// Street line 2 (`business_address_2`), if any.
    pub fn address_two(&self) -> Option<&AddressLine> {
        self.address_two.as_ref()
    }
    /// City.
    pub fn city(&self) -> &City {
        &self.city
    }
    /// Subdivision of [`BusinessProfile::country`].
    pub fn state(&self) -> &State {
        &self.state
    }
    /// ZIP code.
    pub fn zipcode(&self) -> &PostalCode {
        &self.zipcode
    }
    /// Country.
    pub fn country(&self) -> Country {
        self.country
    }
    /// Legal form, if given.
    pub fn business_type(&self) -> Option<BusinessType> {
        self.business_type
    }
    /// Date of incorporation (not in the future when received, not before 1800-01-01).
    pub fn incorporated_date(&self) -> Option<NaiveDate> {
        self.incorporated_date
    }
    /// Subdivision of [`BusinessProfile::country`] where it was incorporated, if given.
    pub fn incorporated_state(&self) -> Option<&State> {
        self.incorporated_state.as_ref()
    }
    /// The optional details of SPEC §9 (`dba`, `naics_code`, …).
    pub fn details(&self) -> &BusinessDetails {
        &self.details
    }
    /// meta_data pairs.
    pub fn meta_data(&self) -> &MetaData {
        &self.meta_data
    }

    /// The profile back in the create input's shape (no `ein`), for a partial update.
    pub(crate) fn to_raw(&self) -> RawNewBusiness {
        let text = |t: &str| Some(t.to_owned());
        let mut raw = RawNewBusiness {
            business_name: text(self.name.as_str()),
            email: text(self.email.as_str()),
            phone_number: text(self.phone_number.as_str()),
            business_address: text(self.address_one.as_str()),
            business_address_2: self.address_two.as_ref().map(|a| a.as_str().to_owned()),
            city: text(self.city.as_str()),
            state: text(self.state.as_str()),
            zipcode: text(self.zipcode.as_str()),
            country: text(self.country.as_str()),
            ein: None,
            business_type: self.business_type.map(|t| t.as_str().to_owned()),
            incorporated_date: self
                .incorporated_date
                .map(|d| d.format("%Y-%m-%d").to_string()),
            incorporated_state: self
                .incorporated_state
                .as_ref()
                .map(|s| s.as_str().to_owned()),
            meta_data: Some(
                self.meta_data
                    .entries()
                    .iter()
                    .map(|e| RawMetaEntry {
                        name: Some(e.name().as_str().to_owned()),
                        value: Some(e.value().as_str().to_owned()),
                    })
                    .collect(),
            ),
            ..RawNewBusiness::default()
        };
        self.details.fill_raw(&mut raw);
        raw
    }

    /// Parses every profile field of `raw` (all but `ein`), recording each failure in `e`.
    /// `secret` runs right after `zipcode`, where `ein` sits in the input, so that the
    /// failing fields are listed in input order.
    fn parse_into(
        raw: &RawNewBusiness,
        rule: DateRule,
        e: &mut Collector,
        secret: impl FnOnce(&mut Collector),
    ) -> Option<Self> {
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
        secret(e);
        // As the platform's examples send it (`"LLC"`): any letter case (SPEC §9).
        let business_type = e.optional(
            "business_type",
            raw.business_type.as_deref(),
            BusinessType::parse_any_case,
        );
        let incorporated_date =
            e.optional("incorporated_date", raw.incorporated_date.as_deref(), |s| {
                incorporation_date(s, rule)
            });
        let details = BusinessDetails::parse_into(raw, e);
        let meta_data = match &raw.meta_data {
            None => Some(MetaData::default()),
            Some(list) => MetaData::parse_into("meta_data", list, e),
        };
        Some(Self {
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
            details: details?,
            meta_data: meta_data?,
        })
    }
}

/// How an incorporation date is judged: freshly received (against the caller's `today`),
/// or read back from storage (only the timeless rule).
#[derive(Clone, Copy)]
enum DateRule {
    Fresh(NaiveDate),
    Stored,
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

fn incorporation_date(raw: &str, rule: DateRule) -> Result<NaiveDate, Violation> {
    let date = parse_iso_date(raw)?;
    if let DateRule::Fresh(today) = rule
        && date > today
    {
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
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use onboard_domain::{BusinessType, NewBusiness, RawNewBusiness, Zeroizing};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let s = |v: &str| Some(v.to_owned());
    /// let raw = RawNewBusiness {
    ///     business_name: s("Acme Widgets LLC"),
    ///     email: s("ops@acme.example"),
    ///     phone_number: s("+12125551234"),
    ///     business_address: s("1 Main St"),
    ///     city: s("Austin"),
    ///     state: s("TX"),
    ///     zipcode: s("73301"),
    ///     country: s("US"),
    ///     ein: s("12-3456789").map(Zeroizing::new),
    ///     business_type: s("llc"),
    ///     incorporated_date: s("2001-02-03"),
    ///     ..RawNewBusiness::default()
    /// };
    /// let today = NaiveDate::from_ymd_opt(2026, 4, 16).ok_or("date")?;
    /// let business = NewBusiness::parse(&raw, today)?;
    /// assert_eq!(business.profile().business_type(), Some(BusinessType::Llc));
    /// assert_eq!(business.ein().last4().as_str(), "6789");
    /// assert_eq!(format!("{:?}", business.ein()), "Ein([redacted])");
    ///
    /// // An EIN prefix the IRS never assigns, a date after today.
    /// let bad = RawNewBusiness {
    ///     ein: s("00-1234567").map(Zeroizing::new),
    ///     incorporated_date: s("2030-01-01"),
    ///     ..raw
    /// };
    /// let errors = NewBusiness::parse(&bad, today).unwrap_err();
    /// let codes: Vec<_> = errors.errors().iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
    /// assert_eq!(codes, [("ein", "invalid_value"), ("incorporated_date", "out_of_range")]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn parse(raw: &RawNewBusiness, today: NaiveDate) -> Result<Self, ValidationErrors> {
        let mut e = Collector::default();
        let mut ein = None;
        let profile = BusinessProfile::parse_into(raw, DateRule::Fresh(today), &mut e, |e| {
            ein = e.required("ein", raw.ein.as_ref().map(|s| s.as_str()), Ein::parse);
        });
        e.finish()?;
        match (profile, ein) {
            (Some(profile), Some(ein)) => Ok(Self { profile, ein }),
            _ => Err(crate::error::inconsistent()),
        }
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

/// A stored business as plain values, for rebuilding a [`Business`] from a row.
#[derive(Clone, Debug)]
pub struct BusinessRecord {
    /// Id.
    pub id: BusinessId,
    /// Owning program.
    pub program_id: ProgramId,
    /// The stored profile fields, in the create input's shape (`ein` is ignored).
    pub details: RawNewBusiness,
    /// Stored last four EIN digits.
    pub ein_last_4: String,
    /// Stored status spelling.
    pub status: String,
    /// Stored KYB status spelling.
    pub kyb_status: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A stored business that broke an invariant of [`Business`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BusinessInvariantError {
    /// `updated_at` before `created_at`.
    #[error("updated_at is before created_at")]
    TimeTravel,
    /// A stored value failed its rule.
    #[error("stored business is invalid: {0}")]
    Corrupt(#[from] ValidationErrors),
}

/// A stored business. Built only through [`Business::create`] (from a [`NewBusiness`]) or
/// [`Business::restore`] (from a [`BusinessRecord`]); read through its accessors. The full
/// EIN is never part of it.
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

    /// Rebuilds a stored business from its stored values through the same rules as the API
    /// input (except "not in the future", which belongs to the moment of entry). A value that
    /// fails its rule, or `updated_at` before `created_at`, is an error: a corrupt row.
    pub fn restore(record: &BusinessRecord) -> Result<Self, BusinessInvariantError> {
        let mut e = Collector::default();
        let mut ein_last_4 = None;
        let profile = BusinessProfile::parse_into(&record.details, DateRule::Stored, &mut e, |e| {
            ein_last_4 = e.take("ein_last_4", Last4::parse(&record.ein_last_4));
        });
        let status = e.take("status", UserStatus::parse(&record.status));
        let kyb_status = e.take("kyb_status", KycStatus::parse(&record.kyb_status));
        e.finish()?;
        let (Some(profile), Some(ein_last_4), Some(status), Some(kyb_status)) =
            (profile, ein_last_4, status, kyb_status)
        else {
            return Err(crate::error::inconsistent().into());
        };
        if record.updated_at < record.created_at {
            return Err(BusinessInvariantError::TimeTravel);
        }
        Ok(Self {
            id: record.id,
            program_id: record.program_id,
            profile,
            ein_last_4,
            status,
            kyb_status,
            created_at: record.created_at,
            updated_at: record.updated_at,
        })
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
