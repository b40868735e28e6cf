//! `meta_data`: up to 50 uniquely named `{name, value}` pairs stored beside an entity.

use std::collections::HashSet;

use crate::error::{Collector, ErrorCode, Violation};

/// A raw `{name, value}` pair as received.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Deserialize), serde(default))]
pub struct RawMetaEntry {
    /// The pair's name, if sent.
    pub name: Option<String>,
    /// The pair's value, if sent.
    pub value: Option<String>,
}

/// A meta_data name: 1–64 of `A-Z a-z 0-9 _ . -` after trimming.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetaName(String);

impl MetaName {
    /// Longest accepted name.
    pub const MAX: usize = 64;

    /// Parses a name.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let s = raw.trim();
        if s.is_empty() {
            return Err(Violation::required());
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must be letters, digits, '_', '.' or '-'",
            ));
        }
        if s.len() > Self::MAX {
            return Err(Violation::too_long(Self::MAX));
        }
        Ok(Self(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A meta_data value: a string of 0–512 characters, stored verbatim (not trimmed), without
/// control characters other than tab, line feed and carriage return.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MetaValue(String);

impl MetaValue {
    /// Longest accepted value, in characters.
    pub const MAX: usize = 512;

    /// Parses a value.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        if raw
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        {
            return Err(Violation::new(
                ErrorCode::InvalidFormat,
                "must not contain control characters other than tab and line breaks",
            ));
        }
        if raw.chars().count() > Self::MAX {
            return Err(Violation::too_long(Self::MAX));
        }
        Ok(Self(raw.to_owned()))
    }

    /// The value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One validated pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetaEntry {
    name: MetaName,
    value: MetaValue,
}

impl MetaEntry {
    /// The pair's name.
    pub fn name(&self) -> &MetaName {
        &self.name
    }
    /// The pair's value.
    pub fn value(&self) -> &MetaValue {
        &self.value
    }
}

/// A validated `meta_data` list: at most 50 pairs with unique names, in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetaData(Vec<MetaEntry>);

impl MetaData {
    /// Most pairs in one list.
    pub const MAX_ENTRIES: usize = 50;

    /// Parses a whole list, reporting every failing entry under `field[i].name` / `field[i].value`.
    pub(crate) fn parse_into(
        field: &str,
        raw: &[RawMetaEntry],
        errors: &mut Collector,
    ) -> Option<Self> {
        if raw.len() > Self::MAX_ENTRIES {
            errors.push(
                field,
                Violation::with_message(
                    ErrorCode::TooMany,
                    format!("must have at most {} entries", Self::MAX_ENTRIES),
                ),
            );
            return None;
        }
        let mut seen = HashSet::with_capacity(raw.len());
        let mut entries = Vec::with_capacity(raw.len());
        let mut ok = true;
        for (i, entry) in raw.iter().enumerate() {
            let name_path = format!("{field}[{i}].name");
            let value_path = format!("{field}[{i}].value");
            let name = errors.required(&name_path, entry.name.as_deref(), MetaName::parse);
            let name = name.and_then(|n| {
                if seen.insert(n.0.clone()) {
                    Some(n)
                } else {
                    errors.push(
                        &name_path,
                        Violation::new(ErrorCode::DuplicateName, "repeats an earlier name"),
                    );
                    None
                }
            });
            let value = errors.required(&value_path, entry.value.as_deref(), MetaValue::parse);
            match (name, value) {
                (Some(name), Some(value)) => entries.push(MetaEntry { name, value }),
                _ => ok = false,
            }
        }
        ok.then_some(Self(entries))
    }

    /// Parses a standalone list (for callers outside a larger input).
    pub fn parse(field: &str, raw: &[RawMetaEntry]) -> Result<Self, crate::ValidationErrors> {
        let mut errors = Collector::default();
        let parsed = Self::parse_into(field, raw, &mut errors);
        errors.finish()?;
        Ok(parsed.unwrap_or_default())
    }

    /// The pairs, in order.
    pub fn entries(&self) -> &[MetaEntry] {
        &self.0
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
