//! Validation errors: one stable snake_case code per broken rule, collected per field path.

use std::borrow::Cow;
use std::fmt;

/// The rule a value broke. The `as_str` spelling is part of the public API contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ErrorCode {
    /// A required value is missing, `null` or blank.
    Required,
    /// The value does not have the required shape (characters, layout).
    InvalidFormat,
    /// Shorter than the minimum length.
    TooShort,
    /// Longer than the maximum length.
    TooLong,
    /// Outside the allowed range (dates in the future, before 1900, …).
    OutOfRange,
    /// Younger than the minimum age.
    Underage,
    /// A state/region code that is not a subdivision of the given country.
    NotInCountry,
    /// The value has the right shape but is not an issued/existing value
    /// (SSN area 000, unknown calling code, unknown country, …).
    InvalidValue,
    /// A name repeated within a list (`meta_data`).
    DuplicateName,
    /// A list with more entries than allowed.
    TooMany,
    /// `is_vendor` sent without `business_id`.
    RequiresBusinessId,
}

impl ErrorCode {
    /// The stable wire spelling of the code.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::InvalidFormat => "invalid_format",
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::OutOfRange => "out_of_range",
            Self::Underage => "underage",
            Self::NotInCountry => "not_in_country",
            Self::InvalidValue => "invalid_value",
            Self::DuplicateName => "duplicate_name",
            Self::TooMany => "too_many",
            Self::RequiresBusinessId => "requires_business_id",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One broken rule of one value, without knowing where the value sits.
/// Messages never echo the input (it may be a secret).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Violation {
    /// Which rule.
    pub code: ErrorCode,
    /// One human sentence fragment, e.g. "must be a 5-digit US ZIP code".
    pub message: Cow<'static, str>,
}

impl Violation {
    /// A violation with a fixed message.
    pub const fn new(code: ErrorCode, message: &'static str) -> Self {
        Self {
            code,
            message: Cow::Borrowed(message),
        }
    }

    /// A violation with a computed message (never built from the input value).
    pub fn with_message(code: ErrorCode, message: String) -> Self {
        Self {
            code,
            message: Cow::Owned(message),
        }
    }

    pub(crate) const fn required() -> Self {
        Self::new(ErrorCode::Required, "is required")
    }

    pub(crate) fn too_long(max: usize) -> Self {
        Self::with_message(
            ErrorCode::TooLong,
            format!("must be at most {max} characters"),
        )
    }

    pub(crate) fn too_short(min: usize) -> Self {
        Self::with_message(
            ErrorCode::TooShort,
            format!("must be at least {min} characters"),
        )
    }
}

/// A violation located at a JSON path such as `meta_data[3].name`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the offending value.
    pub field: String,
    /// Which rule.
    pub code: ErrorCode,
    /// Human explanation; never contains the input.
    pub message: String,
}

/// Every failing field of one input, at once. Never empty.
///
/// ```
/// use chrono::NaiveDate;
/// use onboard_domain::{NewUser, ParseContext, RawNewUser};
///
/// let s = |v: &str| Some(v.to_owned());
/// let raw = RawNewUser {
///     first_name: s("Alex"),
///     email: s("not-an-email"),
///     phone_number: s("5551234"),
///     country: s("US"),
///     state: s("ON"),
///     ..RawNewUser::default()
/// };
/// let today = NaiveDate::from_ymd_opt(2026, 4, 16).unwrap();
/// let errors = NewUser::parse(&raw, ParseContext::new(today)).unwrap_err();
///
/// // Every failing field, in input order, each with its JSON path and stable code.
/// let pairs: Vec<(&str, &str)> = errors
///     .errors()
///     .iter()
///     .map(|e| (e.field.as_str(), e.code.as_str()))
///     .collect();
/// assert_eq!(
///     pairs,
///     [
///         ("last_name", "required"),
///         ("email", "invalid_format"),
///         ("phone_number", "invalid_format"),
///         ("address_one", "required"),
///         ("city", "required"),
///         ("state", "not_in_country"),
///         ("postal_code", "required"),
///     ]
/// );
/// assert_eq!(errors.to_string(), "7 field(s) failed validation");
/// assert!(errors.get("email").is_some_and(|e| !e.message.contains("not-an-email")));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{} field(s) failed validation", .errors.len())]
pub struct ValidationErrors {
    errors: Vec<FieldError>,
}

impl ValidationErrors {
    /// A single-field error.
    pub fn single(field: impl Into<String>, violation: Violation) -> Self {
        Self {
            errors: vec![FieldError {
                field: field.into(),
                code: violation.code,
                message: violation.message.into_owned(),
            }],
        }
    }

    /// Both lists of failures, `self`'s first (fields of one request parsed in parts).
    #[must_use]
    pub fn merge(mut self, other: Self) -> Self {
        self.errors.extend(other.errors);
        self
    }

    /// These errors followed by `other`'s (two parts of one input judged apart).
    #[must_use]
    pub fn and(self, other: ValidationErrors) -> Self {
        self.merge(other)
    }

    /// The failing fields, in input order.
    pub fn errors(&self) -> &[FieldError] {
        &self.errors
    }

    /// Consumes the error into its field list.
    pub fn into_errors(self) -> Vec<FieldError> {
        self.errors
    }

    /// The distinct field paths that failed.
    pub fn fields(&self) -> Vec<&str> {
        let mut out: Vec<&str> = self.errors.iter().map(|e| e.field.as_str()).collect();
        out.dedup();
        out
    }

    /// The error for `field`, if it failed.
    pub fn get(&self, field: &str) -> Option<&FieldError> {
        self.errors.iter().find(|e| e.field == field)
    }
}

/// Collects violations while a whole input is parsed, so every failing field is reported.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    errors: Vec<FieldError>,
}

impl Collector {
    pub(crate) fn push(&mut self, field: impl Into<String>, violation: Violation) {
        self.errors.push(FieldError {
            field: field.into(),
            code: violation.code,
            message: violation.message.into_owned(),
        });
    }

    /// Records the error of `result`, if any, and hands back its value.
    pub(crate) fn take<T>(&mut self, field: &str, result: Result<T, Violation>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(v) => {
                self.push(field, v);
                None
            }
        }
    }

    /// A required value: `None` is `required`, anything else goes through `parse`.
    pub(crate) fn required<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, Violation>,
    ) -> Option<T> {
        match raw {
            None => {
                self.push(field, Violation::required());
                None
            }
            Some(s) => self.take(field, parse(s)),
        }
    }

    /// An optional value: `None` is fine (`Some(None)`), a failed parse records an error (`None`).
    pub(crate) fn optional<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, Violation>,
    ) -> Option<Option<T>> {
        match raw {
            None => Some(None),
            // A blank optional value is neither "absent" nor a value: say how to omit it.
            Some(s) if s.trim().is_empty() => {
                self.push(
                    field,
                    Violation::new(
                        ErrorCode::InvalidFormat,
                        "must not be blank; omit the field or send null",
                    ),
                );
                None
            }
            Some(s) => self.take(field, parse(s)).map(Some),
        }
    }

    pub(crate) fn finish(self) -> Result<(), ValidationErrors> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors {
                errors: self.errors,
            })
        }
    }
}

/// The error for a parse whose collector was empty although a value is missing; cannot
/// happen unless a parser forgets to record its failure.
pub(crate) fn inconsistent() -> ValidationErrors {
    ValidationErrors::single(
        "",
        Violation::new(ErrorCode::InvalidValue, "internal validation inconsistency"),
    )
}
