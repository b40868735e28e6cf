//! Onboard's pure domain: validated user and business types, typed ids, lifecycle states.
//!
//! Parse, don't validate: every value with a rule is a newtype that can only exist valid.
//! [`NewUser::parse`] turns raw strings into a [`NewUser`] or ONE [`ValidationErrors`] that
//! lists every failing field with its JSON path and a stable code. No IO, no async runtime,
//! no clock and no randomness: the caller passes today's date and generates ids.
//!
//! The optional `serde` feature adds `Deserialize` through each type's `parse` and
//! `Serialize` as the wire form (never for the secrets `Ssn` and `Ein`); see `README.md`.
//! The optional `fixtures` feature adds the `fixtures` module: valid example data for your tests.

mod business;
mod business_contact;
mod business_owner;
mod business_query;
mod contact;
mod error;
mod event_query;
#[cfg(feature = "fixtures")]
pub mod fixtures;
mod geo;
mod identity;
mod ids;
mod meta;
mod new_user;
mod operator;
mod query;
pub mod screening;
pub mod search;
#[cfg(feature = "serde")]
mod serde_support;
mod status;
mod text;
mod user;
mod webhook;

pub use business::change::BusinessChange;
pub use business::details::{BusinessDetails, Description, NaicsCode, ShortText, Website};
pub use business::{
    Business, BusinessInvariantError, BusinessProfile, BusinessRecord, NewBusiness, RawNewBusiness,
};
pub use business_contact::{BusinessContact, BusinessContactRecord};
pub use business_owner::{
    BusinessOwner, BusinessOwnerRecord, NewBusinessOwner, OwnerTitle, OwnershipPercent,
    RawNewBusinessOwner,
};
pub use business_query::{BusinessQuery, RawBusinessQuery, fold};
pub use contact::{Email, PhoneNumber};
pub use error::{ErrorCode, FieldError, ValidationErrors, Violation};
pub use event_query::{EventQuery, RawEventQuery};
pub use geo::{Address, Country, PostalCode, State};
pub use identity::{DateOfBirth, Ein, Last4, Ssn, Username, anniversary};
pub use ids::{
    BusinessId, BusinessOwnerId, ContactId, EventId, OperatorId, ProgramId, UserId, WebhookId,
};
pub use meta::{MetaData, MetaEntry, MetaName, MetaValue, RawMetaEntry};
pub use new_user::{BusinessLink, NewUser, ParseContext, Profile, RawNewUser};
pub use operator::{OperatorAct, OperatorRole};
pub use query::{ContactQuery, PageRequest, RawContactQuery, RawUserQuery, UserQuery, UserSort};
pub use status::{BusinessType, ContactType, KycEvent, KycStatus, TransitionError, UserStatus};
pub use text::{AddressLine, BusinessName, City, PersonName, Reason};
pub use user::{
    ChangeError, Transition, User, UserChange, UserInvariantError, UserParts, UserRecord,
};
pub use webhook::{
    EventType, NewWebhook, RawNewWebhook, RawWebhookUpdate, WebhookStatus, WebhookUpdate,
    WebhookUrl,
};
/// The wrapper of the raw inputs that hold a secret (`RawNewUser::ssn`, `RawNewBusiness::ein`):
/// wiped from memory on drop.
pub use zeroize::Zeroizing;

/// The README's example, run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctest;
