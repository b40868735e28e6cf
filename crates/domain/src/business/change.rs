//! Changing a stored business: lifecycle changes (block, unblock, KYB) decided by
//! [`Business::apply`], partial updates by [`Business::update`], and what KYB needs.

use chrono::{DateTime, NaiveDate, Utc};

use super::{Business, BusinessProfile, DateRule, RawNewBusiness};
use crate::error::{Collector, ErrorCode, ValidationErrors, Violation};
use crate::identity::Ein;
use crate::status::{KycStatus, UserStatus};
use crate::user::{ChangeError, Transition};

/// A change of a business's lifecycle state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BusinessChange {
    /// `active` → `blocked`.
    Block,
    /// `blocked` → `active`.
    Unblock,
    /// KYB `not_started` → `pending`; needs an active business, incorporation date and state,
    /// and at least one beneficial owner (the EIN is required at creation).
    SubmitKyb,
    /// KYB `pending` → `verified`.
    VerifyKyb,
    /// KYB `pending` → `rejected`.
    RejectKyb,
}

impl Business {
    /// What a KYB submission lacks, every item at once (code `required`):
    /// `incorporated_date`, `incorporated_state`, `owners` (none added yet). `owners` is the
    /// number of beneficial owners on file.
    pub fn kyb_requirements(&self, owners: u64) -> Result<(), ValidationErrors> {
        let mut e = Collector::default();
        let needed = |what| Violation::new(ErrorCode::Required, what);
        if self.profile.incorporated_date.is_none() {
            e.push("incorporated_date", needed("is required for verification"));
        }
        if self.profile.incorporated_state.is_none() {
            e.push("incorporated_state", needed("is required for verification"));
        }
        if owners == 0 {
            e.push(
                "owners",
                needed("at least one beneficial owner is required for verification (/business/add-business-owner)"),
            );
        }
        e.finish()
    }

    /// Applies `change` at `now` (`owners`: the number of beneficial owners on file), or
    /// refuses it and leaves the business unchanged.
    pub fn apply(
        &mut self,
        change: BusinessChange,
        owners: u64,
        now: DateTime<Utc>,
    ) -> Result<Transition, ChangeError> {
        let transition = match change {
            BusinessChange::Block | BusinessChange::Unblock => {
                let from = self.status;
                let to = if change == BusinessChange::Block {
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
            BusinessChange::SubmitKyb | BusinessChange::VerifyKyb | BusinessChange::RejectKyb => {
                let from = self.kyb_status;
                let to = match change {
                    BusinessChange::SubmitKyb => {
                        // The state machine first: a resubmission is a conflict, not a list
                        // of missing fields.
                        let to = from.submit()?;
                        if self.status == UserStatus::Blocked {
                            return Err(ChangeError::BusinessBlocked);
                        }
                        self.kyb_requirements(owners)?;
                        to
                    }
                    BusinessChange::VerifyKyb => from.verify()?,
                    _ => from.reject()?,
                };
                self.kyb_status = to;
                Transition {
                    kind: "kyb",
                    from: from.as_str(),
                    to: to.as_str(),
                }
            }
        };
        self.touch(now);
        Ok(transition)
    }

    /// Whether beneficial owners may still be added or removed: only before KYB was
    /// requested (they are what was verified).
    pub fn owners_editable(&self) -> Result<(), ChangeError> {
        if self.kyb_status == KycStatus::NotStarted {
            Ok(())
        } else {
            Err(ChangeError::OwnersLocked)
        }
    }

    /// A partial update (`/business/update`): every field given in `raw` replaces the stored
    /// one under the create rules; absent fields stay; `""` clears an optional text
    /// (`business_address_2`, `dba`, …); `meta_data` replaces the whole list. A new `ein` is
    /// refused once KYB was requested. An unchanged incorporation date is not judged against
    /// `today` again. Returns the updated business and the new EIN when one was given.
    pub fn update(
        &self,
        raw: &RawNewBusiness,
        today: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<(Business, Option<Ein>), ChangeError> {
        let current = self.profile.to_raw();
        let pick = |given: &Option<String>, stored: Option<String>| given.clone().or(stored);
        let merged = RawNewBusiness {
            business_name: pick(&raw.business_name, current.business_name),
            email: pick(&raw.email, current.email),
            phone_number: pick(&raw.phone_number, current.phone_number),
            business_address: pick(&raw.business_address, current.business_address),
            business_address_2: pick(&raw.business_address_2, current.business_address_2),
            city: pick(&raw.city, current.city),
            state: pick(&raw.state, current.state),
            zipcode: pick(&raw.zipcode, current.zipcode),
            country: pick(&raw.country, current.country),
            ein: None,
            business_type: pick(&raw.business_type, current.business_type),
            incorporated_date: pick(&raw.incorporated_date, current.incorporated_date),
            incorporated_state: pick(&raw.incorporated_state, current.incorporated_state),
            dba: pick(&raw.dba, current.dba),
            naics_code: pick(&raw.naics_code, current.naics_code),
            business_industry: pick(&raw.business_industry, current.business_industry),
            business_description: pick(&raw.business_description, current.business_description),
            website: pick(&raw.website, current.website),
            support_email: pick(&raw.support_email, current.support_email),
            support_phone_number: pick(&raw.support_phone_number, current.support_phone_number),
            meta_data: raw.meta_data.clone().or(current.meta_data),
        };
        let rule = if raw.incorporated_date.is_some() {
            DateRule::Fresh(today)
        } else {
            DateRule::Stored
        };
        let mut e = Collector::default();
        let mut ein = None;
        let profile = BusinessProfile::parse_into(&merged, rule, &mut e, |e| {
            ein = e.optional("ein", raw.ein.as_ref().map(|s| s.as_str()), Ein::parse);
        });
        e.finish()?;
        let (Some(profile), Some(ein)) = (profile, ein) else {
            return Err(crate::error::inconsistent().into());
        };
        if ein.is_some() && self.kyb_status != KycStatus::NotStarted {
            return Err(ChangeError::EinLocked);
        }
        let mut updated = Business {
            profile,
            ein_last_4: ein.as_ref().map_or(self.ein_last_4, Ein::last4),
            ..self.clone()
        };
        updated.touch(now);
        Ok((updated, ein))
    }

    /// Moves `updated_at` to `now`, never backwards.
    fn touch(&mut self, now: DateTime<Utc>) {
        self.updated_at = now.max(self.updated_at);
    }
}
