//! The optional `serde` feature: `Deserialize` goes through each type's `parse`, `Serialize` writes the wire form.
//!
//! An invalid value cannot be deserialized into a valid type: the error message is the
//! domain's own (`code: message`, e.g. `invalid_format: must be a 5-digit US ZIP code`),
//! never the input. Secrets (`Ssn`, `Ein`) can be deserialized but never serialized.

use std::fmt::Write as _;

use serde::ser::{SerializeSeq as _, SerializeStruct as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};
use zeroize::Zeroize as _;

use crate::error::{Collector, ErrorCode, ValidationErrors};
use crate::{
    AddressLine, BusinessId, BusinessName, BusinessType, City, ContactId, ContactType, Country,
    DateOfBirth, Ein, Email, KycEvent, KycStatus, Last4, MetaData, MetaEntry, MetaName, MetaValue,
    PersonName, PhoneNumber, PostalCode, ProgramId, RawMetaEntry, RawNewUser, Reason, Ssn, State,
    UserId, UserSort, UserStatus, Username,
};

/// A serde error carrying every failing field of `errors` with its code and message.
fn custom_errors<E: de::Error>(errors: &ValidationErrors) -> E {
    let mut text = String::new();
    for (i, f) in errors.errors().iter().enumerate() {
        let sep = if i == 0 { "" } else { "; " };
        let _ = write!(text, "{sep}{}: {}: {}", f.field, f.code, f.message);
    }
    E::custom(text)
}

/// `Deserialize` from a string through `Type::parse`; `Serialize` as `as_str()`.
macro_rules! text_serde {
    ($($ty:ty),+ $(,)?) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                <$ty>::parse(&raw).map_err(de::Error::custom)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    )+};
}

text_serde!(
    PersonName,
    AddressLine,
    City,
    BusinessName,
    Reason,
    Email,
    PhoneNumber,
    Country,
    PostalCode,
    Username,
    MetaName,
    MetaValue,
    Last4,
    UserStatus,
    KycStatus,
    KycEvent,
    ContactType,
    BusinessType,
    UserSort,
);

/// Typed ids: `Deserialize` through `parse` (the prefix is required), `Serialize` as Display.
macro_rules! id_serde {
    ($($ty:ty),+ $(,)?) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = String::deserialize(d)?;
                <$ty>::parse(&raw).map_err(de::Error::custom)
            }
        }

        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )+};
}

id_serde!(UserId, BusinessId, ContactId, ProgramId);

/// Secrets: `Deserialize` through `parse` (the received text is zeroized afterwards); no
/// `Serialize`, so that a secret cannot be written out by accident.
macro_rules! secret_serde {
    ($($ty:ty),+ $(,)?) => {$(
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let mut raw = String::deserialize(d)?;
                let parsed = <$ty>::parse(&raw);
                raw.zeroize();
                parsed.map_err(de::Error::custom)
            }
        }
    )+};
}

secret_serde!(Ssn, Ein);

/// `ErrorCode` writes its stable spelling (it is never read back).
impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A date of birth reads `YYYY-MM-DD` under the timeless rules only (a real date, not before
/// 1900-01-01), like a stored one: age and "not in the future" need the caller's clock and
/// are judged by [`crate::NewUser::parse`]. Writes `YYYY-MM-DD`.
impl<'de> Deserialize<'de> for DateOfBirth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        crate::identity::parse_iso_date(&raw)
            .and_then(DateOfBirth::from_record)
            .map_err(de::Error::custom)
    }
}

impl Serialize for DateOfBirth {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_iso())
    }
}

/// A `State` is only valid as a subdivision of a country, so it is read as part of an
/// [`crate::Address`], never alone. It writes its code (`TX`).
impl Serialize for State {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// An address in the user endpoints' shape: `address_one`, `address_two` (omitted when
/// none), `city`, `state`, `country`, `postal_code`.
impl Serialize for crate::Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("Address", 6)?;
        out.serialize_field("address_one", &self.line_one)?;
        if let Some(two) = &self.line_two {
            out.serialize_field("address_two", two)?;
        } else {
            out.skip_field("address_two")?;
        }
        out.serialize_field("city", &self.city)?;
        out.serialize_field("state", &self.state)?;
        out.serialize_field("country", &self.country)?;
        out.serialize_field("postal_code", &self.postal_code)?;
        out.end()
    }
}

/// The address fields as received.
#[derive(Default, Deserialize)]
#[serde(default)]
struct RawAddress {
    address_one: Option<String>,
    address_two: Option<String>,
    city: Option<String>,
    state: Option<String>,
    country: Option<String>,
    postal_code: Option<String>,
}

/// Reads the shape [`crate::Address`] writes, through the same rules as the user endpoints
/// (the state must be a subdivision of the country); every failing field is in the message.
impl<'de> Deserialize<'de> for crate::Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawAddress::deserialize(d)?;
        let user = RawNewUser {
            address_one: raw.address_one,
            address_two: raw.address_two,
            city: raw.city,
            state: raw.state,
            country: raw.country,
            postal_code: raw.postal_code,
            ..RawNewUser::default()
        };
        let mut errors = Collector::default();
        let address = crate::new_user::parse_address(&user, &mut errors);
        errors.finish().map_err(|e| custom_errors(&e))?;
        address.ok_or_else(|| custom_errors(&crate::error::inconsistent()))
    }
}

/// A pair writes `{"name": …, "value": …}`.
impl Serialize for MetaEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_struct("MetaEntry", 2)?;
        out.serialize_field("name", self.name())?;
        out.serialize_field("value", self.value())?;
        out.end()
    }
}

/// A `meta_data` list writes its pairs in order.
impl Serialize for MetaData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut out = s.serialize_seq(Some(self.entries().len()))?;
        for entry in self.entries() {
            out.serialize_element(entry)?;
        }
        out.end()
    }
}

/// A `meta_data` list reads through [`MetaData::parse`] (at most 50 pairs, unique names),
/// failing fields named `meta_data[i].name` / `meta_data[i].value`.
impl<'de> Deserialize<'de> for MetaData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Vec::<RawMetaEntry>::deserialize(d)?;
        MetaData::parse("meta_data", &raw).map_err(|e| custom_errors(&e))
    }
}
