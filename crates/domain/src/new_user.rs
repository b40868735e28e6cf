//! The create input: the raw fields, the parse context, the validated `NewUser` and the
//! `Profile` it shares with the stored `User`.

use chrono::NaiveDate;
use zeroize::Zeroizing;

use crate::error::{Collector, ErrorCode, ValidationErrors, Violation};
use crate::geo::{Address, Country, PostalCode, State};
use crate::identity::{DateOfBirth, Ssn, Username};
use crate::ids::BusinessId;
use crate::meta::{MetaData, RawMetaEntry};
use crate::status::ContactType;
use crate::text::{AddressLine, City, PersonName, blank_is_none};
use crate::{Email, PhoneNumber};

/// The create-user input as plain strings and options, before any rule is checked.
/// `None` means the field was absent or `null`. `Debug` redacts `ssn`.
///
/// With the `serde` feature it deserializes from the create body's JSON names (absent fields
/// are `None`; unknown names are ignored). It has no `Serialize`: it may hold an SSN (only with
/// the `fixtures` feature too, for tests that send it as JSON).
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
    /// `ssn`, wiped from memory on drop.
    pub ssn: Option<Zeroizing<String>>,
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
pub(crate) enum DobRule {
    Fresh(ParseContext),
    Stored,
}

/// The person's details shared by [`NewUser`] and [`User`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    pub(crate) first_name: PersonName,
    pub(crate) middle_name: Option<PersonName>,
    pub(crate) last_name: PersonName,
    pub(crate) email: Email,
    pub(crate) phone_number: PhoneNumber,
    pub(crate) address: Address,
    pub(crate) username: Option<Username>,
    pub(crate) date_of_birth: Option<DateOfBirth>,
    pub(crate) meta_data: MetaData,
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
    pub(crate) fn parse_into(
        raw: &RawNewUser,
        rule: DobRule,
        errors: &mut Collector,
    ) -> Option<Self> {
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
    pub(crate) profile: Profile,
    pub(crate) ssn: Option<Ssn>,
    pub(crate) terms_accepted: bool,
    pub(crate) business: Option<BusinessLink>,
}

impl NewUser {
    /// Checks every rule of SPEC §3.1 and normalises the values; on failure, ONE error
    /// that lists every failing field with its JSON path and code.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use onboard_domain::{NewUser, ParseContext, RawMetaEntry, RawNewUser, Zeroizing};
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
    ///     ssn: s("123-45-6789").map(Zeroizing::new),
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
        let ssn = errors.optional("ssn", raw.ssn.as_ref().map(|s| s.as_str()), Ssn::parse);
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
