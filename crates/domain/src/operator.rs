//! Console operators' roles and what each may do (SPEC §10): `viewer` reads, `reviewer` also
//! decides cases and blocks or unblocks, `admin` also manages programs and operators.

use std::fmt;

use crate::error::{ErrorCode, Violation};

/// An operator's role, from least to most trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OperatorRole {
    /// Reads every page.
    Viewer,
    /// Also decides KYC, KYB and sanctions cases, blocks and unblocks users and businesses,
    /// resends webhooks.
    Reviewer,
    /// Also disables and enables programs, and manages operators.
    Admin,
}

/// What an operator does in the console; each needs a least role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OperatorAct {
    /// Reading any page.
    Read,
    /// Deciding a KYC case.
    DecideKyc,
    /// Deciding a sanctions case.
    DecideScreening,
    /// Blocking or unblocking a user.
    BlockUser,
    /// Blocking or unblocking a business.
    BlockBusiness,
    /// Deciding a KYB case.
    DecideKyb,
    /// Resending an event to a webhook endpoint.
    ResendEvent,
    /// Disabling or enabling a program.
    ManagePrograms,
    /// Creating, disabling, enabling and resetting operators.
    ManageOperators,
}

impl OperatorAct {
    /// The least role allowed to do it.
    pub const fn least_role(self) -> OperatorRole {
        match self {
            Self::Read => OperatorRole::Viewer,
            Self::DecideKyc
            | Self::DecideScreening
            | Self::BlockUser
            | Self::BlockBusiness
            | Self::DecideKyb
            | Self::ResendEvent => OperatorRole::Reviewer,
            Self::ManagePrograms | Self::ManageOperators => OperatorRole::Admin,
        }
    }

    /// A name for logs and refusal pages.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::DecideKyc => "decide_kyc",
            Self::DecideScreening => "decide_screening",
            Self::BlockUser => "block_user",
            Self::BlockBusiness => "block_business",
            Self::DecideKyb => "decide_kyb",
            Self::ResendEvent => "resend_event",
            Self::ManagePrograms => "manage_programs",
            Self::ManageOperators => "manage_operators",
        }
    }
}

impl OperatorRole {
    /// Every role, least trusted first.
    pub const ALL: &'static [Self] = &[Self::Viewer, Self::Reviewer, Self::Admin];

    /// The stored and command-line spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Reviewer => "reviewer",
            Self::Admin => "admin",
        }
    }

    /// Parses `viewer`, `reviewer` or `admin` (exact).
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        match raw {
            "viewer" => Ok(Self::Viewer),
            "reviewer" => Ok(Self::Reviewer),
            "admin" => Ok(Self::Admin),
            "" => Err(Violation::required()),
            _ => Err(Violation::new(
                ErrorCode::InvalidValue,
                "must be one of: viewer reviewer admin",
            )),
        }
    }

    /// Whether this role may do `act`.
    pub fn may(self, act: OperatorAct) -> bool {
        self >= act.least_role()
    }
}

impl fmt::Display for OperatorRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_each_may_what_the_spec_says() {
        use OperatorAct::*;
        let acts = [
            Read,
            DecideKyc,
            DecideScreening,
            BlockUser,
            BlockBusiness,
            DecideKyb,
            ResendEvent,
            ManagePrograms,
            ManageOperators,
        ];
        let allowed = |role: OperatorRole| -> Vec<OperatorAct> {
            acts.iter().copied().filter(|a| role.may(*a)).collect()
        };
        assert_eq!(allowed(OperatorRole::Viewer), vec![Read]);
        assert_eq!(
            allowed(OperatorRole::Reviewer),
            vec![
                Read,
                DecideKyc,
                DecideScreening,
                BlockUser,
                BlockBusiness,
                DecideKyb,
                ResendEvent
            ]
        );
        assert_eq!(allowed(OperatorRole::Admin), acts.to_vec());
    }

    #[test]
    fn roles_parse_exactly() {
        for role in OperatorRole::ALL {
            assert_eq!(OperatorRole::parse(role.as_str()), Ok(*role));
        }
        assert!(OperatorRole::parse("Admin").is_err());
        assert!(OperatorRole::parse("root").is_err());
    }
}
