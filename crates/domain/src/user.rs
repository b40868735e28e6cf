//! The user entity: the raw create input, the validated `NewUser`, and the stored `User`.

use chrono::{DateTime, NaiveDate, Utc};

use crate::error::{Collector, ErrorCode, ValidationErrors, Violation};
use crate::geo::{Address, Country, PostalCode, State};
use crate::identity::{DateOfBirth, Last4, Ssn, Username};
use crate::ids::{BusinessId, ProgramId, UserId};
use crate::meta::{MetaData, RawMetaEntry};
use crate::status::{ContactType, KycStatus, TransitionError, UserStatus};
use crate::text::{AddressLine, City, PersonName, blank_is_none};
use crate::{Email, PhoneNumber};

/// The create-user input as plain strings and options, before any rule is checked.
/// `None` means the field was absent or `null`. `Debug` redacts `ssn`.
///
/// With the `serde` feature it deserializes from the create body's JSON names (absent fields
/// are `None`; unknown names are ignored). It has no `Serialize`: it may hold an SSN.
#[derive(Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(default))]
pub struct RawNewUser {
    /// `first_name`.
    pub first_name: Option<String>,
    /// `middle_name`; `""` means none.
    pub middle_name: Option<String>,
    /// `last_name`.
    pub last_name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `phone_number`.
    pub phone_number: Option<String>,
    /// `address_one`.
    pub address_one: Option<String>,
    /// `address_two`; `""` means none.
    pub address_two: Option<String>,
    /// `city`.
    pub city: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `country`.
    pub country: Option<String>,
    /// `postal_code`.
    pub postal_code: Option<String>,
    /// `username`.
    pub username: Option<String>,
    /// `date_of_birth`, `YYYY-MM-DD`.
    pub date_of_birth: Option<String>,
    /// `ssn`.
    pub ssn: Option<String>,
    /// `terms_accepted`.
    pub terms_accepted: Option<bool>,
    /// `meta_data`.
    pub meta_data: Option<Vec<RawMetaEntry>>,
    /// `business_id`.
    pub business_id: Option<String>,
    /// `is_vendor`.
    pub is_vendor: Option<bool>,
}

impl std::fmt::Debug for RawNewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawNewUser")
            .field("first_name", &self.first_name)
            .field("middle_name", &self.middle_name)
            .field("last_name", &self.last_name)
            .field("email", &self.email)
            .field("phone_number", &self.phone_number)
            .field("address_one", &self.address_one)
            .field("address_two", &self.address_two)
            .field("city", &self.city)
            .field("state", &self.state)
            .field("country", &self.country)
            .field("postal_code", &self.postal_code)
            .field("username", &self.username)
            .field("date_of_birth", &self.date_of_birth)
            .field("ssn", &self.ssn.as_ref().map(|_| "[redacted]"))
            .field("terms_accepted", &self.terms_accepted)
            .field("meta_data", &self.meta_data)
            .field("business_id", &self.business_id)
            .field("is_vendor", &self.is_vendor)
            .finish()
    }
}

/// What a parse needs from its caller: today's date (the clock) and the minimum age.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseContext {
    /// Today, in the caller's clock.
    pub today: NaiveDate,
    /// Minimum age in whole years.
    pub min_age: u32,
}

impl ParseContext {
    /// The minimum age when none is configured.
    pub const DEFAULT_MIN_AGE: u32 = 18;

    /// A context for `today` with the default minimum age.
    pub fn new(today: NaiveDate) -> Self {
        Self {
            today,
            min_age: Self::DEFAULT_MIN_AGE,
        }
    }
}

/// How a date of birth is judged: freshly received, or read back from storage.
#[derive(Clone, Copy)]
enum DobRule {
    Fresh(ParseContext),
    Stored,
}

/// The person's details shared by [`NewUser`] and [`User`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    first_name: PersonName,
    middle_name: Option<PersonName>,
    last_name: PersonName,
    email: Email,
    phone_number: PhoneNumber,
    address: Address,
    username: Option<Username>,
    date_of_birth: Option<DateOfBirth>,
    meta_data: MetaData,
}

impl Profile {
    /// First name.
    pub fn first_name(&self) -> &PersonName {
        &self.first_name
    }
    /// Middle name, if any.
    pub fn middle_name(&self) -> Option<&PersonName> {
        self.middle_name.as_ref()
    }
    /// Last name.
    pub fn last_name(&self) -> &PersonName {
        &self.last_name
    }
    /// Email address.
    pub fn email(&self) -> &Email {
        &self.email
    }
    /// Phone number.
    pub fn phone_number(&self) -> &PhoneNumber {
        &self.phone_number
    }
    /// Postal address.
    pub fn address(&self) -> &Address {
        &self.address
    }
    /// Username, if any.
    pub fn username(&self) -> Option<&Username> {
        self.username.as_ref()
    }
    /// Date of birth, if any.
    pub fn date_of_birth(&self) -> Option<DateOfBirth> {
        self.date_of_birth
    }
    /// meta_data pairs.
    pub fn meta_data(&self) -> &MetaData {
        &self.meta_data
    }

    /// Parses every profile field of `raw`, recording each failure in `errors`.
    fn parse_into(raw: &RawNewUser, rule: DobRule, errors: &mut Collector) -> Option<Self> {
        let first_name =
            errors.required("first_name", raw.first_name.as_deref(), PersonName::parse);
        let middle_name = errors.optional(
            "middle_name",
            blank_is_none(raw.middle_name.as_deref()),
            PersonName::parse,
        );
        let last_name = errors.required("last_name", raw.last_name.as_deref(), PersonName::parse);
        let email = errors.required("email", raw.email.as_deref(), Email::parse);
        let phone_number = errors.required(
            "phone_number",
            raw.phone_number.as_deref(),
            PhoneNumber::parse,
        );
        let address = parse_address(raw, errors);
        let username = errors.optional("username", raw.username.as_deref(), Username::parse);
        let date_of_birth =
            errors.optional(
                "date_of_birth",
                raw.date_of_birth.as_deref(),
                |s| match rule {
                    DobRule::Fresh(ctx) => DateOfBirth::parse(s, ctx.today, ctx.min_age),
                    DobRule::Stored => {
                        crate::identity::parse_iso_date(s).and_then(DateOfBirth::from_record)
                    }
                },
            );
        let meta_data = match &raw.meta_data {
            None => Some(MetaData::default()),
            Some(list) => MetaData::parse_into("meta_data", list, errors),
        };
        Some(Self {
            first_name: first_name?,
            middle_name: middle_name?,
            last_name: last_name?,
            email: email?,
            phone_number: phone_number?,
            address: address?,
            username: username?,
            date_of_birth: date_of_birth?,
            meta_data: meta_data?,
        })
    }
}

/// Parses the address fields; `state` is judged only once `country` is known to be valid.
pub(crate) fn parse_address(raw: &RawNewUser, errors: &mut Collector) -> Option<Address> {
    let line_one = errors.required(
        "address_one",
        raw.address_one.as_deref(),
        AddressLine::parse,
    );
    let line_two = errors.optional(
        "address_two",
        blank_is_none(raw.address_two.as_deref()),
        AddressLine::parse,
    );
    let city = errors.required("city", raw.city.as_deref(), City::parse);
    let country = errors.required("country", raw.country.as_deref(), Country::parse);
    let state = match (country, raw.state.as_deref()) {
        (_, None) => {
            errors.push("state", Violation::required());
            None
        }
        (Some(country), Some(s)) => errors.take("state", State::parse(s, country)),
        // An invalid country makes the state impossible to judge; only the country is reported.
        (None, Some(_)) => None,
    };
    let postal_code = errors.required("postal_code", raw.postal_code.as_deref(), PostalCode::parse);
    Some(Address {
        line_one: line_one?,
        line_two: line_two?,
        city: city?,
        state: state?,
        country: country?,
        postal_code: postal_code?,
    })
}

/// The business a new user is linked to, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BusinessLink {
    /// The business (its existence in the program is checked by storage).
    pub business_id: BusinessId,
    /// Customer or vendor.
    pub contact_type: ContactType,
}

/// A create-user request that passed every rule. Only [`NewUser::parse`] makes one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    profile: Profile,
    ssn: Option<Ssn>,
    terms_accepted: bool,
    business: Option<BusinessLink>,
}

impl NewUser {
    /// Checks every rule of SPEC §3.1 and normalises the values; on failure, ONE error
    /// that lists every failing field with its JSON path and code.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use onboard_domain::{NewUser, ParseContext, RawMetaEntry, RawNewUser};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let s = |v: &str| Some(v.to_owned());
    /// let raw = RawNewUser {
    ///     first_name: s("Alex"),
    ///     last_name: s("Rivera"),
    ///     email: s("Alex.Rivera@Example.COM"),
    ///     phone_number: s("+12125551234"),
    ///     address_one: s("100 Innovation Way"),
    ///     city: s("Austin"),
    ///     state: s("tx"),
    ///     country: s("US"),
    ///     postal_code: s("73301"),
    ///     date_of_birth: s("1980-04-20"),
    ///     ssn: s("123-45-6789"),
    ///     terms_accepted: Some(true),
    ///     meta_data: Some(vec![RawMetaEntry { name: s("external_ref"), value: s("c-001") }]),
    ///     ..RawNewUser::default()
    /// };
    /// // The caller's clock; the minimum age defaults to 18.
    /// let today = NaiveDate::from_ymd_opt(2026, 4, 16).ok_or("date")?;
    /// let user = NewUser::parse(&raw, ParseContext::new(today))?;
    ///
    /// // Values come out normalised: the email's domain lowercased, the state uppercased.
    /// assert_eq!(user.profile().email().as_str(), "Alex.Rivera@example.com");
    /// assert_eq!(user.profile().address().state().as_str(), "TX");
    /// // The SSN is a secret: only its last four digits are shown.
    /// assert_eq!(user.ssn().map(|s| s.last4().to_string()).as_deref(), Some("6789"));
    /// assert_eq!(format!("{:?}", user.ssn()), "Some(Ssn([redacted]))");
    ///
    /// // Seventeen years old: refused, with the field and a stable code.
    /// let young = RawNewUser { date_of_birth: s("2010-01-01"), ..raw };
    /// let errors = NewUser::parse(&young, ParseContext::new(today)).unwrap_err();
    /// assert_eq!(errors.fields(), ["date_of_birth"]);
    /// assert_eq!(errors.errors()[0].code.as_str(), "underage");
    /// # Ok(())
    /// # }
    /// ```
    pub fn parse(raw: &RawNewUser, ctx: ParseContext) -> Result<Self, ValidationErrors> {
        let mut errors = Collector::default();
        let profile = Profile::parse_into(raw, DobRule::Fresh(ctx), &mut errors);
        let ssn = errors.optional("ssn", raw.ssn.as_deref(), Ssn::parse);
        let business_id =
            errors.optional("business_id", raw.business_id.as_deref(), BusinessId::parse);
        if raw.is_vendor.is_some() && raw.business_id.is_none() {
            errors.push(
                "is_vendor",
                Violation::new(
                    ErrorCode::RequiresBusinessId,
                    "may only be sent together with business_id",
                ),
            );
        }
        errors.finish()?;
        let (Some(profile), Some(ssn), Some(business_id)) = (profile, ssn, business_id) else {
            return Err(crate::error::inconsistent());
        };
        let contact_type = if raw.is_vendor == Some(true) {
            ContactType::Vendor
        } else {
            ContactType::Customer
        };
        Ok(Self {
            profile,
            ssn,
            terms_accepted: raw.terms_accepted == Some(true),
            business: business_id.map(|business_id| BusinessLink {
                business_id,
                contact_type,
            }),
        })
    }

    /// The person's details.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }
    /// The SSN, if given.
    pub fn ssn(&self) -> Option<&Ssn> {
        self.ssn.as_ref()
    }
    /// Whether the user accepted the program's terms.
    pub fn terms_accepted(&self) -> bool {
        self.terms_accepted
    }
    /// The business to link the user to, if any.
    pub fn business(&self) -> Option<BusinessLink> {
        self.business
    }
}

/// Everything a [`User`] is made of, for [`User::new`].
#[derive(Clone, Debug)]
pub struct UserParts {
    /// Id.
    pub id: UserId,
    /// Owning program.
    pub program_id: ProgramId,
    /// Details.
    pub profile: Profile,
    /// Last four SSN digits, when an SSN is on file.
    pub ssn_last_4: Option<Last4>,
    /// When the terms were accepted, if they were.
    pub terms_accepted_at: Option<DateTime<Utc>>,
    /// Account status.
    pub status: UserStatus,
    /// KYC status.
    pub kyc_status: KycStatus,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A stored user as plain values, for rebuilding a [`User`] from a row.
#[derive(Clone, Debug)]
pub struct UserRecord {
    /// Id.
    pub id: UserId,
    /// Owning program.
    pub program_id: ProgramId,
    /// The stored profile fields (ssn, business_id and is_vendor are ignored).
    pub details: RawNewUser,
    /// Stored last four SSN digits.
    pub ssn_last_4: Option<String>,
    /// When the terms were accepted.
    pub terms_accepted_at: Option<DateTime<Utc>>,
    /// Stored status spelling.
    pub status: String,
    /// Stored KYC status spelling.
    pub kyc_status: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A user that broke an invariant of [`User`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserInvariantError {
    /// `updated_at` before `created_at`.
    #[error("updated_at is before created_at")]
    TimeTravel,
    /// KYC started without the data it requires.
    #[error("kyc_status {0} requires date_of_birth, ssn and accepted terms on file")]
    KycWithoutData(KycStatus),
    /// A stored value failed its rule.
    #[error("stored user is invalid: {0}")]
    Corrupt(#[from] ValidationErrors),
}

/// A user as stored. Built only through [`User::new`] (or [`User::restore`]), which
/// enforces its invariants. The full SSN is never part of a `User`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    id: UserId,
    program_id: ProgramId,
    profile: Profile,
    ssn_last_4: Option<Last4>,
    terms_accepted_at: Option<DateTime<Utc>>,
    status: UserStatus,
    kyc_status: KycStatus,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl User {
    /// Builds a user, checking that time moves forward and that a KYC case only exists
    /// with date of birth, SSN and accepted terms on file.
    pub fn new(parts: UserParts) -> Result<Self, UserInvariantError> {
        if parts.updated_at < parts.created_at {
            return Err(UserInvariantError::TimeTravel);
        }
        let kyc_data = parts.profile.date_of_birth.is_some()
            && parts.ssn_last_4.is_some()
            && parts.terms_accepted_at.is_some();
        if parts.kyc_status != KycStatus::NotStarted && !kyc_data {
            return Err(UserInvariantError::KycWithoutData(parts.kyc_status));
        }
        Ok(Self {
            id: parts.id,
            program_id: parts.program_id,
            profile: parts.profile,
            ssn_last_4: parts.ssn_last_4,
            terms_accepted_at: parts.terms_accepted_at,
            status: parts.status,
            kyc_status: parts.kyc_status,
            created_at: parts.created_at,
            updated_at: parts.updated_at,
        })
    }

    /// The user a freshly created [`NewUser`] becomes: `active`, `not_started`.
    pub fn create(
        id: UserId,
        program_id: ProgramId,
        new_user: &NewUser,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id,
            program_id,
            profile: new_user.profile.clone(),
            ssn_last_4: new_user.ssn.as_ref().map(Ssn::last4),
            terms_accepted_at: new_user.terms_accepted.then_some(now),
            status: UserStatus::Active,
            kyc_status: KycStatus::NotStarted,
            created_at: now,
            updated_at: now,
        }
    }

    /// Rebuilds a user from stored values through the same rules as the API input
    /// (except the age and "not in the future" checks, which belong to the moment of entry).
    pub fn restore(record: &UserRecord) -> Result<Self, UserInvariantError> {
        let mut errors = Collector::default();
        let profile = Profile::parse_into(&record.details, DobRule::Stored, &mut errors);
        let ssn_last_4 = errors.optional("ssn_last_4", record.ssn_last_4.as_deref(), Last4::parse);
        let status = errors.take("status", UserStatus::parse(&record.status));
        let kyc_status = errors.take("kyc_status", KycStatus::parse(&record.kyc_status));
        errors.finish()?;
        let (Some(profile), Some(ssn_last_4), Some(status), Some(kyc_status)) =
            (profile, ssn_last_4, status, kyc_status)
        else {
            return Err(crate::error::inconsistent().into());
        };
        Self::new(UserParts {
            id: record.id,
            program_id: record.program_id,
            profile,
            ssn_last_4,
            terms_accepted_at: record.terms_accepted_at,
            status,
            kyc_status,
            created_at: record.created_at,
            updated_at: record.updated_at,
        })
    }

    /// What a KYC submission lacks: `date_of_birth`, `ssn`, `terms_accepted` (code `required`).
    pub fn kyc_requirements(&self) -> Result<(), ValidationErrors> {
        let mut errors = Collector::default();
        if self.profile.date_of_birth.is_none() {
            errors.push(
                "date_of_birth",
                Violation::new(ErrorCode::Required, "is required for verification"),
            );
        }
        if self.ssn_last_4.is_none() {
            errors.push(
                "ssn",
                Violation::new(ErrorCode::Required, "is required for verification"),
            );
        }
        if self.terms_accepted_at.is_none() {
            errors.push(
                "terms_accepted",
                Violation::new(ErrorCode::Required, "must be accepted before verification"),
            );
        }
        errors.finish()
    }

    /// Moves the account status (block/unblock) and `updated_at`.
    pub fn set_status(
        &mut self,
        change: impl FnOnce(UserStatus) -> Result<UserStatus, TransitionError>,
        now: DateTime<Utc>,
    ) -> Result<(), TransitionError> {
        self.status = change(self.status)?;
        self.touch(now);
        Ok(())
    }

    /// Moves `updated_at` to `now`, never backwards (a clock step back keeps the old value).
    fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now.max(self.updated_at);
    }

    /// Id.
    pub fn id(&self) -> UserId {
        self.id
    }
    /// Owning program.
    pub fn program_id(&self) -> ProgramId {
        self.program_id
    }
    /// The person's details.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }
    /// Last four SSN digits, if an SSN is on file.
    pub fn ssn_last_4(&self) -> Option<Last4> {
        self.ssn_last_4
    }
    /// When the terms were accepted.
    pub fn terms_accepted_at(&self) -> Option<DateTime<Utc>> {
        self.terms_accepted_at
    }
    /// Account status.
    pub fn status(&self) -> UserStatus {
        self.status
    }
    /// KYC status.
    pub fn kyc_status(&self) -> KycStatus {
        self.kyc_status
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

/// A change of a user's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserChange {
    /// `active` → `blocked`.
    Block,
    /// `blocked` → `active`.
    Unblock,
    /// KYC `not_started` → `pending`; needs date of birth, SSN and accepted terms, and an
    /// active account.
    SubmitKyc,
    /// KYC `pending` → `verified`.
    VerifyKyc,
    /// KYC `pending` → `rejected`.
    RejectKyc,
}

/// What a change did, for the audit trail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transition {
    /// `status` or `kyc`.
    pub kind: &'static str,
    /// The state before.
    pub from: &'static str,
    /// The state after.
    pub to: &'static str,
}

/// Why a change was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    /// Not a legal move from the current state (409 `invalid_transition`).
    #[error(transparent)]
    Transition(#[from] TransitionError),
    /// A blocked user cannot be submitted for verification (409 `invalid_transition`).
    #[error("a blocked user cannot be submitted for verification")]
    Blocked,
    /// The data verification needs is missing, or an update is invalid (422, listing each
    /// field).
    #[error(transparent)]
    Missing(#[from] ValidationErrors),
    /// Identity fields cannot change once verification was requested (409
    /// `invalid_transition`).
    #[error(
        "first_name, last_name, date_of_birth and ssn cannot change once verification was requested"
    )]
    IdentityLocked,
}

impl User {
    /// Applies `change` at `now`, or refuses it and leaves the user unchanged.
    pub fn apply(
        &mut self,
        change: UserChange,
        now: DateTime<Utc>,
    ) -> Result<Transition, ChangeError> {
        let transition = match change {
            UserChange::Block | UserChange::Unblock => {
                let from = self.status;
                let to = if change == UserChange::Block {
                    from.block()?
                } else {
                    from.unblock()?
                };
                self.status = to;
                Transition {
                    kind: "status",
                    from: from.as_str(),
                    to: to.as_str(),
                }
            }
            UserChange::SubmitKyc | UserChange::VerifyKyc | UserChange::RejectKyc => {
                let from = self.kyc_status;
                let to = match change {
                    UserChange::SubmitKyc => {
                        // The state machine first, so that a resubmission is a conflict, not
                        // a list of missing fields.
                        let to = from.submit()?;
                        if self.status == UserStatus::Blocked {
                            return Err(ChangeError::Blocked);
                        }
                        self.kyc_requirements()?;
                        to
                    }
                    UserChange::VerifyKyc => from.verify()?,
                    _ => from.reject()?,
                };
                self.kyc_status = to;
                Transition {
                    kind: "kyc",
                    from: from.as_str(),
                    to: to.as_str(),
                }
            }
        };
        self.touch(now);
        Ok(transition)
    }
}

impl Profile {
    /// The profile as plain strings (the shape of the create input).
    pub fn to_raw(&self) -> RawNewUser {
        let a = &self.address;
        RawNewUser {
            first_name: Some(self.first_name.as_str().to_owned()),
            middle_name: self.middle_name.as_ref().map(|n| n.as_str().to_owned()),
            last_name: Some(self.last_name.as_str().to_owned()),
            email: Some(self.email.as_str().to_owned()),
            phone_number: Some(self.phone_number.as_str().to_owned()),
            address_one: Some(a.line_one.as_str().to_owned()),
            address_two: a.line_two.as_ref().map(|l| l.as_str().to_owned()),
            city: Some(a.city.as_str().to_owned()),
            state: Some(a.state.as_str().to_owned()),
            country: Some(a.country.as_str().to_owned()),
            postal_code: Some(a.postal_code.as_str().to_owned()),
            username: self.username.as_ref().map(|u| u.as_str().to_owned()),
            date_of_birth: self.date_of_birth.map(|d| d.to_iso()),
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
            ..RawNewUser::default()
        }
    }
}

impl User {
    /// A partial update (`/user/update`): every field given in `raw` replaces the stored one
    /// under the same rules as create; absent fields stay. `email` cannot change (422);
    /// `middle_name`/`address_two` `""` clears them; `meta_data` replaces the whole list;
    /// `terms_accepted` true records the acceptance time (kept if already accepted), false
    /// withdraws it. Once verification was requested, names, date of birth and SSN are
    /// locked. Returns the updated user and the new SSN when one was given.
    pub fn update(
        &self,
        raw: &RawNewUser,
        ctx: ParseContext,
        now: DateTime<Utc>,
    ) -> Result<(User, Option<Ssn>), ChangeError> {
        let mut errors = Collector::default();
        if raw.email.is_some() {
            errors.push(
                "email",
                Violation::new(ErrorCode::InvalidValue, "cannot be changed"),
            );
        }
        let current = self.profile.to_raw();
        let merged = RawNewUser {
            first_name: raw.first_name.clone().or(current.first_name),
            middle_name: raw.middle_name.clone().or(current.middle_name),
            last_name: raw.last_name.clone().or(current.last_name),
            email: current.email,
            phone_number: raw.phone_number.clone().or(current.phone_number),
            address_one: raw.address_one.clone().or(current.address_one),
            address_two: raw.address_two.clone().or(current.address_two),
            city: raw.city.clone().or(current.city),
            state: raw.state.clone().or(current.state),
            country: raw.country.clone().or(current.country),
            postal_code: raw.postal_code.clone().or(current.postal_code),
            username: raw.username.clone().or(current.username),
            date_of_birth: raw.date_of_birth.clone().or(current.date_of_birth),
            meta_data: raw.meta_data.clone().or(current.meta_data),
            ..RawNewUser::default()
        };
        // A date of birth that is not changed is not judged again (the minimum age may have
        // been raised since).
        let rule = if raw.date_of_birth.is_some() {
            DobRule::Fresh(ctx)
        } else {
            DobRule::Stored
        };
        let profile = Profile::parse_into(&merged, rule, &mut errors);
        let ssn = errors.optional("ssn", raw.ssn.as_deref(), Ssn::parse);
        errors.finish()?;
        let (Some(profile), Some(ssn)) = (profile, ssn) else {
            return Err(crate::error::inconsistent().into());
        };
        let identity_changed = profile.first_name != self.profile.first_name
            || profile.last_name != self.profile.last_name
            || profile.date_of_birth != self.profile.date_of_birth
            || ssn.is_some();
        if identity_changed && self.kyc_status != KycStatus::NotStarted {
            return Err(ChangeError::IdentityLocked);
        }
        let terms_accepted_at = match raw.terms_accepted {
            None => self.terms_accepted_at,
            Some(true) => self.terms_accepted_at.or(Some(now)),
            Some(false) => None,
        };
        let updated = User::new(UserParts {
            id: self.id,
            program_id: self.program_id,
            profile,
            ssn_last_4: ssn.as_ref().map(Ssn::last4).or(self.ssn_last_4),
            terms_accepted_at,
            status: self.status,
            kyc_status: self.kyc_status,
            created_at: self.created_at,
            updated_at: now.max(self.updated_at),
        })
        .map_err(|e| match e {
            UserInvariantError::KycWithoutData(_) => {
                ChangeError::Missing(ValidationErrors::single(
                    "terms_accepted",
                    Violation::new(
                        ErrorCode::InvalidValue,
                        "cannot be withdrawn once verification was requested",
                    ),
                ))
            }
            UserInvariantError::Corrupt(errors) => ChangeError::Missing(errors),
            UserInvariantError::TimeTravel => ChangeError::Missing(crate::error::inconsistent()),
        })?;
        Ok((updated, ssn))
    }
}
