//! Webhooks: the event catalog (`EventType`), an endpoint's URL and status, and the inputs of
//! `/webhook/create` and `/webhook/update`, each parsed with every failing field reported.

use std::fmt;

use crate::error::{Collector, ErrorCode, ValidationErrors, Violation, inconsistent};

macro_rules! token_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

            /// Parses the wire/storage spelling (exact).
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

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

token_enum!(
    /// The type of an event (SPEC §7): dotted and lowercase.
    EventType {
        /// A user was created.
        UserCreated => "user.created",
        /// A user's profile changed.
        UserUpdated => "user.updated",
        /// A user was blocked.
        UserBlocked => "user.blocked",
        /// A user was unblocked.
        UserUnblocked => "user.unblocked",
        /// KYC submitted.
        UserKycPending => "user.kyc.pending",
        /// KYC verified.
        UserKycVerified => "user.kyc.verified",
        /// KYC rejected (the platform's own name for a rejection).
        UserKycFailed => "user.kyc.failed",
        /// Sanctions screening found a potential match.
        UserScreeningPotentialMatch => "user.screening.potential_match",
        /// A business was created.
        BusinessCreated => "business.created",
        /// A business's profile changed.
        BusinessUpdated => "business.updated",
        /// A business was blocked.
        BusinessBlocked => "business.blocked",
        /// A business was unblocked.
        BusinessUnblocked => "business.unblocked",
        /// KYB submitted.
        BusinessKybPending => "business.kyb.pending",
        /// KYB verified.
        BusinessKybVerified => "business.kyb.verified",
        /// KYB rejected.
        BusinessKybFailed => "business.kyb.failed",
        /// A beneficial owner was added.
        BusinessOwnerAdded => "business.owner.added",
    }
);

token_enum!(
    /// Whether an endpoint receives deliveries.
    WebhookStatus {
        /// Receives deliveries.
        Enabled => "enabled",
        /// Receives nothing (by request, after a 410, or after 5 days of failures).
        Disabled => "disabled",
    }
);

/// The longest accepted endpoint URL.
pub(crate) const MAX_URL_LEN: usize = 2048;

/// An endpoint's URL: absolute, `https` (or `http` where allowed), with a host, without
/// credentials or a fragment. Where it resolves to is checked at delivery, not here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Parses a URL; `allow_http` (development) also accepts `http://`.
    pub fn parse(raw: &str, allow_http: bool) -> Result<Self, Violation> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Violation::required());
        }
        if s.chars().count() > MAX_URL_LEN {
            return Err(Violation::too_long(MAX_URL_LEN));
        }
        let bad = || Violation::new(ErrorCode::InvalidFormat, "must be an absolute URL");
        let url = url::Url::parse(s).map_err(|_| bad())?;
        match url.scheme() {
            "https" => {}
            "http" if allow_http => {}
            _ => {
                return Err(Violation::new(
                    ErrorCode::InvalidValue,
                    "must be an https:// URL",
                ));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Violation::new(
                ErrorCode::InvalidValue,
                "must not carry credentials",
            ));
        }
        if url.fragment().is_some() {
            return Err(Violation::new(
                ErrorCode::InvalidValue,
                "must not have a fragment",
            ));
        }
        Ok(Self(url.to_string()))
    }

    /// A stored URL, as written (it was parsed when it was written).
    pub fn restore(stored: String) -> Self {
        Self(stored)
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The input of `/webhook/create`, as sent.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawNewWebhook {
    /// `url`.
    pub url: Option<String>,
    /// `event_types`; `None` for every type.
    pub event_types: Option<Vec<String>>,
}

/// A valid new endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWebhook {
    url: WebhookUrl,
    event_types: Option<Vec<EventType>>,
}

impl NewWebhook {
    /// Parses every field; `allow_http` as in [`WebhookUrl::parse`].
    pub fn parse(raw: &RawNewWebhook, allow_http: bool) -> Result<Self, ValidationErrors> {
        let mut c = Collector::default();
        let url = c.required("url", raw.url.as_deref(), |s| {
            WebhookUrl::parse(s, allow_http)
        });
        let event_types = raw
            .event_types
            .as_ref()
            .map(|types| event_types(&mut c, types));
        c.finish()?;
        Ok(Self {
            url: url.ok_or_else(inconsistent)?,
            event_types: match event_types {
                Some(types) => Some(types.ok_or_else(inconsistent)?),
                None => None,
            },
        })
    }

    /// The URL.
    pub fn url(&self) -> &WebhookUrl {
        &self.url
    }

    /// The subscribed types; `None` for every type.
    pub fn event_types(&self) -> Option<&[EventType]> {
        self.event_types.as_deref()
    }
}

/// The input of `/webhook/update`, as sent: omitted fields stay as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RawWebhookUpdate {
    /// `url`.
    pub url: Option<String>,
    /// `event_types`: `Some(None)` (sent as `null`) subscribes to every type.
    pub event_types: Option<Option<Vec<String>>>,
    /// `status`.
    pub status: Option<String>,
}

/// A valid partial update of an endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookUpdate {
    /// A new URL.
    pub url: Option<WebhookUrl>,
    /// New types: `Some(None)` for every type.
    pub event_types: Option<Option<Vec<EventType>>>,
    /// A new status.
    pub status: Option<WebhookStatus>,
}

impl WebhookUpdate {
    /// Parses every field sent; `allow_http` as in [`WebhookUrl::parse`].
    pub fn parse(raw: &RawWebhookUpdate, allow_http: bool) -> Result<Self, ValidationErrors> {
        let mut c = Collector::default();
        let url = match raw.url.as_deref() {
            Some(s) => c.take("url", WebhookUrl::parse(s, allow_http)),
            None => None,
        };
        let event_types = match &raw.event_types {
            None => None,
            Some(None) => Some(None),
            Some(Some(types)) => event_types(&mut c, types).map(Some),
        };
        let status = match raw.status.as_deref() {
            Some(s) => c.take("status", WebhookStatus::parse(s)),
            None => None,
        };
        c.finish()?;
        Ok(Self {
            url,
            event_types,
            status,
        })
    }
}

/// The most event types one endpoint lists.
const MAX_EVENT_TYPES: usize = 64;

/// A list of event types: known, each once, not empty.
fn event_types(c: &mut Collector, raw: &[String]) -> Option<Vec<EventType>> {
    if raw.is_empty() {
        c.push(
            "event_types",
            Violation::new(
                ErrorCode::TooShort,
                "must list at least one type; omit it for every type",
            ),
        );
        return None;
    }
    if raw.len() > MAX_EVENT_TYPES {
        c.push(
            "event_types",
            Violation::new(ErrorCode::TooMany, "must list at most 64 types"),
        );
        return None;
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut ok = true;
    for (i, s) in raw.iter().enumerate() {
        match EventType::parse(s) {
            Ok(t) if out.contains(&t) => {
                ok = false;
                c.push(
                    format!("event_types[{i}]"),
                    Violation::new(ErrorCode::DuplicateName, "is listed twice"),
                );
            }
            Ok(t) => out.push(t),
            Err(v) => {
                ok = false;
                c.push(format!("event_types[{i}]"), v);
            }
        }
    }
    ok.then_some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn every_failing_field_is_reported() {
        let raw = RawNewWebhook {
            url: Some("http://example.com/hook".to_owned()),
            event_types: Some(vec![
                "user.created".to_owned(),
                "user.nope".to_owned(),
                "user.created".to_owned(),
            ]),
        };
        let errors = NewWebhook::parse(&raw, false).unwrap_err();
        let pairs: Vec<_> = errors
            .errors()
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("url", "invalid_value"),
                ("event_types[1]", "invalid_value"),
                ("event_types[2]", "duplicate_name")
            ]
        );
        let ok = NewWebhook::parse(&raw_ok("http://127.0.0.1:9/x"), true).unwrap();
        assert_eq!(ok.url().as_str(), "http://127.0.0.1:9/x");
        assert_eq!(ok.event_types(), None);
    }

    fn raw_ok(url: &str) -> RawNewWebhook {
        RawNewWebhook {
            url: Some(url.to_owned()),
            event_types: None,
        }
    }

    #[test]
    fn urls_are_absolute_https_without_credentials() {
        for bad in [
            "",
            "example.com",
            "ftp://example.com",
            "https://user:pw@example.com/",
            "https://example.com/#frag",
        ] {
            assert!(WebhookUrl::parse(bad, true).is_err(), "{bad}");
        }
        assert!(WebhookUrl::parse("https://example.com/hooks?a=1", false).is_ok());
        assert!(
            EventType::ALL
                .iter()
                .all(|t| EventType::parse(t.as_str()) == Ok(*t))
        );
        assert_eq!(EventType::ALL.len(), 16);
    }
}
