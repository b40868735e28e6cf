//! Typed public ids: a 4-letter prefix, a dash and a lowercase UUID (`user-…`, `buss-…`).

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use crate::error::{ErrorCode, Violation};

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// The public prefix, without the dash.
            pub const PREFIX: &'static str = $prefix;

            /// Wraps a UUID the caller generated (UUIDv7 in the service).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The bare UUID.
            pub const fn uuid(&self) -> Uuid {
                self.0
            }

            /// Parses `prefix-<hyphenated uuid>`.
            pub fn parse(raw: &str) -> Result<Self, Violation> {
                let s = raw.trim();
                if s.is_empty() {
                    return Err(Violation::required());
                }
                s.strip_prefix(concat!($prefix, "-"))
                    .filter(|rest| rest.len() == 36)
                    .and_then(|rest| Uuid::parse_str(rest).ok())
                    .map(Self)
                    .ok_or(Violation::new(
                        ErrorCode::InvalidFormat,
                        concat!("must be an id of the form ", $prefix, "-<uuid>"),
                    ))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}-{}", $prefix, self.0.hyphenated())
            }
        }

        impl FromStr for $name {
            type Err = Violation;
            fn from_str(s: &str) -> Result<Self, Violation> {
                Self::parse(s)
            }
        }
    };
}

typed_id!(
    /// A user's id, `user-<uuid>`.
    ///
    /// ```
    /// use onboard_domain::{BusinessId, ErrorCode, UserId};
    /// use uuid::Uuid;
    ///
    /// let id = UserId::from_uuid(Uuid::from_u128(0x0190_f8a4_6b2e_7c3d_8e4f_5a6b_7c8d_9e0f));
    /// let text = id.to_string();
    /// assert_eq!(text, "user-0190f8a4-6b2e-7c3d-8e4f-5a6b7c8d9e0f");
    /// assert_eq!(UserId::parse(&text), Ok(id));
    /// assert_eq!(text.parse::<UserId>(), Ok(id));
    ///
    /// // The prefix is part of the type: a business id is not a user id, nor is a bare UUID.
    /// let business = text.replacen("user-", "buss-", 1);
    /// assert!(BusinessId::parse(&business).is_ok());
    /// assert_eq!(UserId::parse(&business).unwrap_err().code, ErrorCode::InvalidFormat);
    /// assert!(UserId::parse(&id.uuid().to_string()).is_err());
    /// ```
    UserId,
    "user"
);
typed_id!(
    /// A business's id, `buss-<uuid>`.
    BusinessId,
    "buss"
);
typed_id!(
    /// A business contact's id, `bcus-<uuid>`.
    ContactId,
    "bcus"
);
typed_id!(
    /// A business's beneficial owner's id, `bown-<uuid>`.
    BusinessOwnerId,
    "bown"
);
typed_id!(
    /// A program's (tenant's) id, `prog-<uuid>`.
    ProgramId,
    "prog"
);
typed_id!(
    /// A webhook endpoint's id, `whk-<uuid>`.
    WebhookId,
    "whk"
);
typed_id!(
    /// A console operator's id, `opr-<uuid>`.
    OperatorId,
    "opr"
);
typed_id!(
    /// An event's id, `evt-<uuid>`.
    EventId,
    "evt"
);
