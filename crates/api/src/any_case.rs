//! Schemas of enum values that requests of businesses may send in any letter case (SPEC
//! §9: `"LLC"` is `llc`): case-insensitive patterns built from the domain's own token
//! lists, since JSON Schema patterns have no case-insensitive flag.

use std::borrow::Cow;

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

/// A pattern matching exactly one of `tokens` in any ASCII letter case (JSON Schema patterns
/// have no case-insensitive flag): `llc` becomes `[Ll][Ll][Cc]`.
pub fn any_case_pattern<'a>(tokens: impl IntoIterator<Item = &'a str>) -> String {
    let alternatives: Vec<String> = tokens
        .into_iter()
        .map(|t| {
            t.chars()
                .map(|c| {
                    if c.is_ascii_alphabetic() {
                        format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                    } else {
                        c.to_string()
                    }
                })
                .collect()
        })
        .collect();
    format!("^(?:{})$", alternatives.join("|"))
}

/// Declares a named schema for a set of tokens accepted in any letter case.
macro_rules! any_case_schema {
    ($(#[$doc:meta])* $marker:ident, $name:literal, $description:literal, $values:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $marker;

        impl PartialSchema for $marker {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(SchemaType::Type(Type::String))
                    .description(Some($description))
                    .pattern(Some(any_case_pattern($values)))
                    .into()
            }
        }

        impl ToSchema for $marker {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

any_case_schema!(
    /// `business_type` as requests send it.
    BusinessTypeInput,
    "BusinessTypeInput",
    "The legal form, in any letter case (`LLC` is `llc`); answered lowercase.",
    domain::BusinessType::ALL.iter().map(|t| t.as_str())
);
any_case_schema!(
    /// The `type` filter of `/business/customers/get-all`.
    ContactTypeInput,
    "ContactTypeInput",
    "`customers` or `vendors`, in any letter case.",
    domain::ContactType::ALL
        .iter()
        .map(|t| crate::schemas::contact_type(*t))
);
any_case_schema!(
    /// A business status filter.
    BusinessStatusInput,
    "BusinessStatusInput",
    "`active` or `blocked`, in any letter case.",
    domain::UserStatus::ALL.iter().map(|t| t.as_str())
);
any_case_schema!(
    /// A KYB status filter.
    KybStatusInput,
    "KybStatusInput",
    "`not_started`, `pending`, `verified` or `rejected`, in any letter case.",
    domain::KycStatus::ALL.iter().map(|t| t.as_str())
);

#[cfg(test)]
mod tests {
    #[test]
    fn any_case_patterns_spell_every_token_in_every_case() {
        assert_eq!(
            super::any_case_pattern(["llc", "s_corporation"]),
            "^(?:[lL][lL][cC]|[sS]_[cC][oO][rR][pP][oO][rR][aA][tT][iI][oO][nN])$"
        );
    }
}
