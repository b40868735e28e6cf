//! Lifecycle states and their guarded transitions: account status and KYC/KYB status.

use std::fmt;

use crate::error::{ErrorCode, Violation};

/// An illegal move between two states; the API answers 409 `invalid_transition`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action} when the status is {from}")]
pub struct TransitionError {
    /// The state the entity was in.
    pub from: &'static str,
    /// What was attempted.
    pub action: &'static str,
}

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The wire/storage spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// Parses the wire/storage spelling: exact and lowercase, like every enum token
            /// (tokens are not text, so surrounding whitespace is not trimmed).
            pub fn parse(raw: &str) -> Result<Self, Violation> {
                match raw {
                    $($text => Ok(Self::$variant),)+
                    "" => Err(Violation::required()),
                    _ => Err(Violation::new(
                        ErrorCode::InvalidValue,
                        concat!("must be one of: ", $($text, " "),+),
                    )),
                }
            }
        }

        impl $name {
            /// Parses a request token in any letter case (`"LLC"` is `llc`), as the
            /// platform's own examples send the enums of businesses (SPEC §9).
            pub fn parse_any_case(raw: &str) -> Result<Self, Violation> {
                Self::parse(&raw.to_ascii_lowercase())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Whether an account may be used: `active` or `blocked`.
    UserStatus {
        /// Usable.
        Active => "active",
        /// Blocked by the program.
        Blocked => "blocked",
    }
);

impl UserStatus {
    /// `active` → `blocked`.
    pub fn block(self) -> Result<Self, TransitionError> {
        match self {
            Self::Active => Ok(Self::Blocked),
            Self::Blocked => Err(TransitionError {
                from: self.as_str(),
                action: "block",
            }),
        }
    }

    /// `blocked` → `active`.
    pub fn unblock(self) -> Result<Self, TransitionError> {
        match self {
            Self::Blocked => Ok(Self::Active),
            Self::Active => Err(TransitionError {
                from: self.as_str(),
                action: "unblock",
            }),
        }
    }
}

string_enum!(
    /// Identity verification progress: `not_started` → `pending` → `verified` | `rejected`.
    KycStatus {
        /// Nothing submitted yet (every new user).
        NotStarted => "not_started",
        /// Submitted, waiting for the verifier.
        Pending => "pending",
        /// The verifier accepted the identity. Final.
        Verified => "verified",
        /// The verifier refused the identity. Final.
        Rejected => "rejected",
    }
);

string_enum!(
    /// Something that may happen to a KYC case.
    KycEvent {
        /// The program submits the user for verification.
        Submit => "submit",
        /// The verifier accepts.
        Verify => "verify",
        /// The verifier refuses.
        Reject => "reject",
    }
);

impl KycStatus {
    /// The one place that knows the edges: `not_started -submit-> pending`,
    /// `pending -verify-> verified`, `pending -reject-> rejected`. Nothing else.
    pub fn apply(self, event: KycEvent) -> Result<Self, TransitionError> {
        match (self, event) {
            (Self::NotStarted, KycEvent::Submit) => Ok(Self::Pending),
            (Self::Pending, KycEvent::Verify) => Ok(Self::Verified),
            (Self::Pending, KycEvent::Reject) => Ok(Self::Rejected),
            (from, event) => Err(TransitionError {
                from: from.as_str(),
                action: event.as_str(),
            }),
        }
    }

    /// `not_started` → `pending`.
    pub fn submit(self) -> Result<Self, TransitionError> {
        self.apply(KycEvent::Submit)
    }

    /// `pending` → `verified`.
    pub fn verify(self) -> Result<Self, TransitionError> {
        self.apply(KycEvent::Verify)
    }

    /// `pending` → `rejected`.
    pub fn reject(self) -> Result<Self, TransitionError> {
        self.apply(KycEvent::Reject)
    }

    /// Whether no event can move this state any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Verified | Self::Rejected)
    }
}

string_enum!(
    /// How a user is linked to a business.
    ContactType {
        /// A customer of the business (`is_vendor` false or absent).
        Customer => "customer",
        /// A vendor of the business (`is_vendor: true`).
        Vendor => "vendor",
    }
);

string_enum!(
    /// The legal form of a business.
    BusinessType {
        /// Sole proprietorship.
        SoleProprietorship => "sole_proprietorship",
        /// Partnership.
        Partnership => "partnership",
        /// Limited liability company.
        Llc => "llc",
        /// C corporation.
        Corporation => "corporation",
        /// S corporation.
        SCorporation => "s_corporation",
        /// Non-profit organisation.
        NonProfit => "non_profit",
        /// Anything else.
        Other => "other",
    }
);
