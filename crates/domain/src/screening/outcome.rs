//! What a screening decides, and what an operator may decide after it.

use std::fmt;
use std::str::FromStr;

/// The default `screening_review_threshold`: a best score at or above it is a potential match.
pub const DEFAULT_REVIEW_THRESHOLD: f64 = 0.90;

/// A user's screening status, as the integrator sees it (`screening_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScreeningStatus {
    /// Never screened (no list loaded, or not yet submitted).
    NotScreened,
    /// Screened below the threshold, or cleared by an operator.
    Clear,
    /// At or above the threshold, awaiting an operator: KYC does not proceed.
    PotentialMatch,
    /// An operator confirmed the match: KYC rejected, the user blocked.
    ConfirmedMatch,
}

impl ScreeningStatus {
    /// Every status, in the order of the wire documentation.
    pub const ALL: [Self; 4] = [
        Self::NotScreened,
        Self::Clear,
        Self::PotentialMatch,
        Self::ConfirmedMatch,
    ];

    /// The wire token.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotScreened => "not_screened",
            Self::Clear => "clear",
            Self::PotentialMatch => "potential_match",
            Self::ConfirmedMatch => "confirmed_match",
        }
    }

    /// The outcome of a screening whose best score is `score` (none: nothing reached the floor).
    pub fn of_score(score: Option<f64>, threshold: f64) -> Self {
        match score {
            Some(s) if s >= threshold => Self::PotentialMatch,
            _ => Self::Clear,
        }
    }

    /// True while KYC must wait for an operator, or must never proceed.
    pub const fn holds_kyc(self) -> bool {
        matches!(self, Self::PotentialMatch | Self::ConfirmedMatch)
    }
}

impl fmt::Display for ScreeningStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown token.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownToken(pub String);

impl FromStr for ScreeningStatus {
    type Err = UnknownToken;
    fn from_str(s: &str) -> Result<Self, UnknownToken> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownToken(s.to_owned()))
    }
}

/// An operator's decision on a potential match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScreeningDecision {
    /// Not the listed person: KYC goes on.
    Clear,
    /// The listed person: KYC rejected (`sanctions_match`), the user blocked.
    Confirm,
}

impl ScreeningDecision {
    /// The command-line and stored token.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Clear => "clear",
            Self::Confirm => "confirm",
        }
    }

    /// The status the decision leaves.
    pub const fn status(self) -> ScreeningStatus {
        match self {
            Self::Clear => ScreeningStatus::Clear,
            Self::Confirm => ScreeningStatus::ConfirmedMatch,
        }
    }
}

impl FromStr for ScreeningDecision {
    type Err = UnknownToken;
    fn from_str(s: &str) -> Result<Self, UnknownToken> {
        match s {
            "clear" => Ok(Self::Clear),
            "confirm" => Ok(Self::Confirm),
            other => Err(UnknownToken(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_the_threshold_is_inclusive() {
        for s in ScreeningStatus::ALL {
            assert_eq!(s.as_str().parse::<ScreeningStatus>(), Ok(s));
        }
        assert_eq!(
            ScreeningStatus::of_score(Some(0.9), 0.9),
            ScreeningStatus::PotentialMatch
        );
        assert_eq!(
            ScreeningStatus::of_score(Some(0.89), 0.9),
            ScreeningStatus::Clear
        );
        assert_eq!(ScreeningStatus::of_score(None, 0.9), ScreeningStatus::Clear);
        assert_eq!("confirm".parse(), Ok(ScreeningDecision::Confirm));
        assert!("Confirm".parse::<ScreeningDecision>().is_err());
    }
}
