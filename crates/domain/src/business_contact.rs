//! A user linked to a business (`bcus-…`) as a listing shows it, rebuilt from stored values.

use chrono::{DateTime, Utc};

use crate::error::{Collector, ValidationErrors};
use crate::ids::{BusinessId, ContactId, UserId};
use crate::status::ContactType;
use crate::text::PersonName;
use crate::{Email, PhoneNumber};

/// A business contact as stored: the link's values and the linked user's contact details,
/// as plain strings, for [`BusinessContact::restore`].
#[derive(Clone, Debug)]
pub struct BusinessContactRecord {
    /// The link's id.
    pub id: ContactId,
    /// The business.
    pub business_id: BusinessId,
    /// The user.
    pub user_id: UserId,
    /// Stored contact type spelling (`customer`, `vendor`).
    pub contact_type: String,
    /// The user's stored first name.
    pub first_name: String,
    /// The user's stored last name.
    pub last_name: String,
    /// The user's stored email.
    pub email: String,
    /// The user's stored phone number.
    pub phone_number: String,
    /// When the link was made.
    pub created_at: DateTime<Utc>,
}

/// A user linked to a business (`bcus-…`), with the user's contact details. Built only by
/// [`BusinessContact::restore`]; read through its accessors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BusinessContact {
    id: ContactId,
    business_id: BusinessId,
    user_id: UserId,
    contact_type: ContactType,
    first_name: PersonName,
    last_name: PersonName,
    email: Email,
    phone_number: PhoneNumber,
    created_at: DateTime<Utc>,
}

impl BusinessContact {
    /// Rebuilds a contact from stored values through the same rules as the API input; a
    /// value that fails its rule is an error (a corrupt row), listing every such field.
    pub fn restore(record: &BusinessContactRecord) -> Result<Self, ValidationErrors> {
        let mut e = Collector::default();
        let contact_type = e.take("contact_type", ContactType::parse(&record.contact_type));
        let first_name = e.take("first_name", PersonName::parse(&record.first_name));
        let last_name = e.take("last_name", PersonName::parse(&record.last_name));
        let email = e.take("email", Email::parse(&record.email));
        let phone_number = e.take("phone_number", PhoneNumber::parse(&record.phone_number));
        e.finish()?;
        match (contact_type, first_name, last_name, email, phone_number) {
            (
                Some(contact_type),
                Some(first_name),
                Some(last_name),
                Some(email),
                Some(phone_number),
            ) => Ok(Self {
                id: record.id,
                business_id: record.business_id,
                user_id: record.user_id,
                contact_type,
                first_name,
                last_name,
                email,
                phone_number,
                created_at: record.created_at,
            }),
            _ => Err(crate::error::inconsistent()),
        }
    }

    /// The link's id.
    pub fn id(&self) -> ContactId {
        self.id
    }
    /// The business.
    pub fn business_id(&self) -> BusinessId {
        self.business_id
    }
    /// The user.
    pub fn user_id(&self) -> UserId {
        self.user_id
    }
    /// Customer or vendor.
    pub fn contact_type(&self) -> ContactType {
        self.contact_type
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
    /// The user's phone number.
    pub fn phone_number(&self) -> &PhoneNumber {
        &self.phone_number
    }
    /// When the link was made.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
}
