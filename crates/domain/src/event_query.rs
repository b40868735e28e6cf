//! The filters of `/event/get-all`: a page, an event type, the user or business the events
//! are about (a user's audit trail), and a creation-time window.

use chrono::{DateTime, Utc};

use crate::error::{Collector, ErrorCode, ValidationErrors, Violation, inconsistent};
use crate::ids::{BusinessId, UserId};
use crate::query::PageRequest;
use crate::webhook::EventType;

/// `/event/get-all`'s fields, as sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawEventQuery {
    /// `page`.
    pub page: Option<u64>,
    /// `per_page`.
    pub per_page: Option<u64>,
    /// `type`.
    pub event_type: Option<String>,
    /// `user_id`.
    pub user_id: Option<String>,
    /// `business_id`.
    pub business_id: Option<String>,
    /// `created_from` (RFC 3339, inclusive).
    pub created_from: Option<String>,
    /// `created_to` (RFC 3339, inclusive).
    pub created_to: Option<String>,
}

/// A valid event query (newest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    page: PageRequest,
    event_type: Option<EventType>,
    user: Option<UserId>,
    business: Option<BusinessId>,
    created_from: Option<DateTime<Utc>>,
    created_to: Option<DateTime<Utc>>,
}

impl EventQuery {
    /// Parses every field, reporting each that fails.
    pub fn parse(raw: &RawEventQuery) -> Result<Self, ValidationErrors> {
        let mut c = Collector::default();
        let page = PageRequest::parse_into(raw.page, raw.per_page, &mut c);
        let event_type = c.optional("type", raw.event_type.as_deref(), EventType::parse);
        let user = c.optional("user_id", raw.user_id.as_deref(), UserId::parse);
        let business = c.optional("business_id", raw.business_id.as_deref(), BusinessId::parse);
        let from = c.optional("created_from", raw.created_from.as_deref(), timestamp);
        let to = c.optional("created_to", raw.created_to.as_deref(), timestamp);
        if let (Some(Some(f)), Some(Some(t))) = (from, to)
            && f > t
        {
            c.push(
                "created_to",
                Violation::new(ErrorCode::OutOfRange, "must not be before created_from"),
            );
        }
        c.finish()?;
        Ok(Self {
            page: page.ok_or_else(inconsistent)?,
            event_type: event_type.ok_or_else(inconsistent)?,
            user: user.ok_or_else(inconsistent)?,
            business: business.ok_or_else(inconsistent)?,
            created_from: from.ok_or_else(inconsistent)?,
            created_to: to.ok_or_else(inconsistent)?,
        })
    }

    /// The page.
    pub fn page(&self) -> PageRequest {
        self.page
    }
    /// Only events of this type.
    pub fn event_type(&self) -> Option<EventType> {
        self.event_type
    }
    /// Only events about this user.
    pub fn user(&self) -> Option<UserId> {
        self.user
    }
    /// Only events about this business.
    pub fn business(&self) -> Option<BusinessId> {
        self.business
    }
    /// Only events created at or after this time.
    pub fn created_from(&self) -> Option<DateTime<Utc>> {
        self.created_from
    }
    /// Only events created at or before this time.
    pub fn created_to(&self) -> Option<DateTime<Utc>> {
        self.created_to
    }
}

/// An RFC 3339 timestamp with its offset (`2026-04-16T12:34:56.000Z`).
fn timestamp(raw: &str) -> Result<DateTime<Utc>, Violation> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            Violation::new(
                ErrorCode::InvalidFormat,
                "must be an RFC 3339 timestamp such as 2026-04-16T12:34:56.000Z",
            )
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_failing_filter_is_reported() {
        let raw = RawEventQuery {
            per_page: Some(501),
            event_type: Some("user.exploded".to_owned()),
            user_id: Some("buss-0190f8a4-6b2e-7c3d-8e4f-5a6b7c8d9e0f".to_owned()),
            created_from: Some("2026-05-01T00:00:00Z".to_owned()),
            created_to: Some("2026-04-01T00:00:00Z".to_owned()),
            ..RawEventQuery::default()
        };
        let fields = EventQuery::parse(&raw).unwrap_err();
        assert_eq!(
            fields.fields(),
            ["per_page", "type", "user_id", "created_to"]
        );
    }
}
