//! The stored user: built by `create` or `restore`, changed only by `apply` and `update`.

use chrono::{DateTime, Utc};

use crate::error::{Collector, ErrorCode, ValidationErrors, Violation};
use crate::identity::{Last4, Ssn};
use crate::ids::{ProgramId, UserId};
use crate::status::{KycStatus, TransitionError, UserStatus};

use crate::new_user::{DobRule, NewUser, ParseContext, Profile, RawNewUser};
use crate::screening::ScreeningStatus;

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
    /// Sanctions screening status (SPEC §8), as storage keeps it with each screening.
    pub screening_status: ScreeningStatus,
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
    /// Stored screening status spelling.
    pub screening_status: String,
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
    screening_status: ScreeningStatus,
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
            screening_status: parts.screening_status,
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
            screening_status: ScreeningStatus::NotScreened,
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
        let screening_status = errors.take(
            "screening_status",
            record
                .screening_status
                .parse::<ScreeningStatus>()
                .map_err(|_| Violation::new(ErrorCode::InvalidValue, "not a screening status")),
        );
        errors.finish()?;
        let (Some(profile), Some(ssn_last_4), Some(status), Some(kyc_status), Some(screening)) =
            (profile, ssn_last_4, status, kyc_status, screening_status)
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
            screening_status: screening,
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
    /// Sanctions screening status (never which list entry matched).
    pub fn screening_status(&self) -> ScreeningStatus {
        self.screening_status
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
    /// A business's EIN cannot change once KYB was requested (409 `invalid_transition`).
    #[error("ein cannot change once verification was requested")]
    EinLocked,
    /// A blocked business cannot be submitted for verification (409 `invalid_transition`).
    #[error("a blocked business cannot be submitted for verification")]
    BusinessBlocked,
    /// A business's owners cannot change once KYB was requested (409 `invalid_transition`).
    #[error("beneficial owners cannot change once verification was requested")]
    OwnersLocked,
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
        let ssn = errors.optional("ssn", raw.ssn.as_ref().map(|s| s.as_str()), Ssn::parse);
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
            screening_status: self.screening_status,
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
