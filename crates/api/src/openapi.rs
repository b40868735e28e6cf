//! The OpenAPI 3.1 document, generated from the code: the handlers' `#[utoipa::path]`
//! annotations, the response views, the request schemas of [`crate::requests`], and the
//! parts every `/api` operation shares (credentials, error answers, `Idempotency-Key`),
//! added here once. Served at `GET /openapi.json`; `cargo xtask openapi` writes it to
//! `docs/openapi.json`, and a test fails when that file is out of date.

use serde_json::json;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Required, ResponseBuilder};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorItem;
use crate::openapi_links::{COMPOUND_LINKS, LINKS, MUTATING};
use crate::routes::{business_life, businesses, events, health, users, webhooks};
use crate::schemas::{ErrorEnvelopeSchema, string_enum};
use crate::state::VERSIONS;

/// How to sign a request (SPEC §2.1), shown with the `hmac` security scheme.
const HMAC_DESCRIPTION: &str = "HMAC-SHA512 request signature. \
`Authorization: hmac username=\"<hmac username>\", algorithm=\"hmac-sha512\", \
headers=\"request-line x-date content-sha512\", signature=\"<base64>\"`. \
The signing string walks the `headers` list: `request-line` gives `POST <path and query> HTTP/1.1`, \
any other name gives `<name>: <value>`; lines are joined with `\\n`. `signature` is standard Base64 \
of HMAC-SHA512(secret, signing string). `X-Date` (RFC 1123, GMT, within 300 s of the server clock) \
and `Content-sha512` (Base64 of the SHA-512 of the exact body bytes) must be sent and signed; \
a signature is accepted once (replays answer 401 `replayed_request`). Sign an `x-request-id` too \
to send two identical requests within one second.";

const API_KEY_DESCRIPTION: &str = "The program's API key, in the `api_key` header (or, \
alternatively, as an `api_key` field of the JSON body, which is never stored or echoed). \
It must belong to the same program as the HMAC username.";

/// Every `/api` operation's error answers, beside those its annotation lists.
const COMMON_ERRORS: [(&str, &str); 7] = [
    (
        "400",
        "The body is not a JSON object, or a field has the wrong JSON type (every one is listed).",
    ),
    (
        "401",
        "Authentication failed: `missing_signature`, `malformed_signature`, `unsupported_algorithm`, \
         `missing_signed_header`, `stale_date`, `digest_mismatch`, `signature_mismatch`, \
         `unknown_credentials`, `missing_api_key`, `invalid_api_key` or `replayed_request`.",
    ),
    (
        "413",
        "The body is larger than the limit (64 KiB by default).",
    ),
    ("415", "The Content-Type is not `application/json`."),
    (
        "422",
        "Validation failed: every failing field with its JSON path and code (`required`, \
         `invalid_format`, `invalid_value`, `out_of_range`, `too_long`, `unknown_field`, …).",
    ),
    (
        "429",
        "Too many requests for this program (or failed authentications from this address); see `Retry-After`.",
    ),
    (
        "503",
        "The database cannot be reached; nothing was written. Retry after `Retry-After` seconds.",
    ),
];

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Onboard",
        description = "A banking platform's user-entity onboarding API: users, their KYC, \
            businesses and their contacts. Every operation is a signed `POST` with a JSON body, \
            served identically under `/api/v3` and `/api/v4`; answers use the success envelope \
            `{status, message, data: {items, pagination}}` or the error envelope \
            `{status, message, errors: [{field, code, message}]}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        users::create,
        users::get,
        users::get_all,
        users::update,
        users::block,
        users::unblock,
        users::send_verification_request,
        businesses::create,
        businesses::get,
        businesses::customers,
        webhooks::create,
        webhooks::get,
        webhooks::get_all,
        webhooks::update,
        webhooks::delete,
        webhooks::rotate_secret,
        events::get_all,
        events::get,
        events::resend,
        business_life::update,
        business_life::block,
        business_life::unblock,
        business_life::send_verification_request,
        business_life::get_all,
        business_life::add_owner,
        business_life::get_owners,
        business_life::remove_owner,
        health::healthz,
        health::readyz,
        crate::metrics::render,
    ),
    components(schemas(ErrorEnvelopeSchema, ErrorItem)),
    modifiers(&Shared),
    tags(
        (name = "users", description = "People: create, read, list, update, block, KYC."),
        (name = "businesses", description = "Businesses and their contacts."),
        (name = "webhooks", description = "Endpoints that receive every event, signed (Standard Webhooks)."),
        (name = "events", description = "The event log: every change of a user or business, and its deliveries."),
        (name = "businesses", description = "Businesses: create, read, list, update, block, KYB, beneficial owners and contacts."),
        (name = "operations", description = "Health checks, without credentials."),
    ),
)]
struct ApiDoc;

/// Adds what every `/api` operation shares and serves each under every API version.
struct Shared;

impl Modify for Shared {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "hmac",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                HMAC_DESCRIPTION,
            ))),
        );
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "api_key",
                API_KEY_DESCRIPTION,
            ))),
        );
        let envelope = || {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorEnvelope")))
                .build()
        };
        let retry_after = || {
            HeaderBuilder::new()
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(SchemaType::Type(Type::Integer))
                        .minimum(Some(0)),
                ))
                .description(Some("Seconds to wait before retrying."))
                .build()
        };
        for (status, description) in COMMON_ERRORS {
            let mut response = ResponseBuilder::new()
                .description(description)
                .content("application/json", envelope());
            if matches!(status, "429" | "503") {
                response = response.header("Retry-After", retry_after());
            }
            components
                .responses
                .insert(error_response_name(status), response.build().into());
        }
        components.parameters.insert(
            "IdempotencyKey".to_owned(),
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "Makes a retry safe: within 24 hours, a repeat with the same key and body \
                     answers the first response again (with `Idempotent-Replayed: true`) and \
                     changes nothing; the same key with another body is 422 \
                     `idempotency_key_reused`; a repeat while the first is in flight is 409 \
                     `idempotency_in_progress`. Scoped to the program.",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(SchemaType::Type(Type::String))
                        .min_length(Some(1))
                        .max_length(Some(255))
                        .pattern(Some("^[ -~]+$")),
                ))
                .example(Some(json!("3f1c2d9e-6b1a-4c55-9d1e-0a4b7f6e2c11")))
                .build()
                .into(),
        );

        let relative = std::mem::take(&mut doc.paths.paths);
        for (path, item) in relative {
            if !["/user/", "/business/", "/webhook/", "/event/"]
                .iter()
                .any(|p| path.starts_with(p))
            {
                doc.paths.paths.insert(path, item);
                continue;
            }
            for version in VERSIONS {
                let mut item = item.clone();
                if let Some(op) = item.post.as_mut() {
                    share(op, version);
                }
                doc.paths.paths.insert(format!("{version}{path}"), item);
            }
        }
    }
}

/// Gives one `/api` operation its version's id, credentials and shared answers.
fn share(op: &mut utoipa::openapi::path::Operation, version: &str) {
    let id = op.operation_id.clone().unwrap_or_default();
    let mutating = MUTATING.contains(&id.as_str());
    let short = version.trim_start_matches("/api/");
    op.operation_id = Some(format!("{id}_{short}"));
    op.security = Some(vec![
        SecurityRequirement::new("hmac", Vec::<String>::new()).add("api_key", Vec::<String>::new()),
    ]);
    for (status, _) in COMMON_ERRORS {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| {
                Ref::new(format!(
                    "#/components/responses/{}",
                    error_response_name(status)
                ))
                .into()
            });
    }
    if let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") {
        for (_, name, to, field) in LINKS.iter().filter(|(from, ..)| *from == id) {
            ok.links.insert(
                (*name).to_owned(),
                LinkBuilder::new()
                    .operation_id(format!("{to}_{short}"))
                    .request_body(Some(json!({ *field: "$response.body#/data/items/0/id" })))
                    .description(format!("The answer's `data.items[0].id` as `{field}`."))
                    .build()
                    .into(),
            );
        }
    }
    if let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") {
        for (_, name, to, fields) in COMPOUND_LINKS.iter().filter(|(from, ..)| *from == id) {
            let body: serde_json::Map<String, serde_json::Value> = fields
                .iter()
                .map(|(field, from)| {
                    (
                        (*field).to_owned(),
                        json!(format!("$response.body#/data/items/0/{from}")),
                    )
                })
                .collect();
            ok.links.insert(
                (*name).to_owned(),
                LinkBuilder::new()
                    .operation_id(format!("{to}_{short}"))
                    .request_body(Some(serde_json::Value::Object(body)))
                    .description(format!(
                        "The answer's `data.items[0]` fields as {}.",
                        fields
                            .iter()
                            .map(|(f, _)| format!("`{f}`"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ))
                    .build()
                    .into(),
            );
        }
    }
    if mutating {
        op.parameters
            .get_or_insert_with(Vec::new)
            .push(RefOr::Ref(Ref::new(
                "#/components/parameters/IdempotencyKey",
            )));
        if let Some(RefOr::T(ok)) = op.responses.responses.get_mut("200") {
            ok.headers.insert(
                "Idempotent-Replayed".to_owned(),
                HeaderBuilder::new()
                    .schema(Some(string_enum(None, ["true"])))
                    .description(Some(
                        "Present when this is the stored answer to an earlier request with the \
                         same Idempotency-Key.",
                    ))
                    .build()
                    .into(),
            );
        }
    }
}

fn error_response_name(status: &str) -> String {
    format!("Error{status}")
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as pretty JSON with a final newline, exactly as `GET /openapi.json` serves
/// it and `docs/openapi.json` holds it.
pub fn json() -> String {
    let mut out = document().to_pretty_json().unwrap_or_default();
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Every operation whose request names an existing entity (`user_id`, `business_id`) is
    /// the target of a link that passes it: a new endpoint cannot be left out of `LINKS`.
    #[test]
    fn every_operation_taking_an_id_is_linked_to() {
        let doc: serde_json::Value = serde_json::from_str(&json()).unwrap();
        let schemas = &doc["components"]["schemas"];
        let mut unlinked = Vec::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                let id = op["operationId"].as_str().unwrap();
                // `get_user_v3` is the operation `get_user` under `/api/v3`.
                let base = id.rsplit_once('_').map_or(id, |(base, _)| base);
                let Some(schema) =
                    op["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str()
                else {
                    continue;
                };
                let name = schema.rsplit('/').next().unwrap();
                let required: Vec<&str> = schemas[name]["required"]
                    .as_array()
                    .map(|r| r.iter().filter_map(|f| f.as_str()).collect())
                    .unwrap_or_default();
                for field in ["user_id", "business_id", "webhook_id", "event_id"] {
                    let linked = LINKS.iter().any(|(_, _, to, f)| *to == base && *f == field)
                        || COMPOUND_LINKS.iter().any(|(_, _, to, fs)| {
                            *to == base && fs.iter().any(|(f, _)| *f == field)
                        });
                    if required.contains(&field) && !linked {
                        unlinked.push(format!("{id} ({field})"));
                    }
                }
            }
        }
        assert!(
            unlinked.is_empty(),
            "operations that take an id but no link leads to (add them to LINKS): {unlinked:?}"
        );
    }

    #[test]
    fn every_api_path_is_served_under_both_versions_with_unique_operation_ids() {
        let doc: serde_json::Value = serde_json::from_str(&json()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let mut ids = std::collections::BTreeSet::new();
        for (path, item) in paths {
            for op in item.as_object().unwrap().values() {
                assert!(
                    ids.insert(op["operationId"].as_str().unwrap().to_owned()),
                    "{path}"
                );
            }
        }
        for version in VERSIONS {
            for endpoint in [
                "/user/create",
                "/user/get",
                "/user/get-all",
                "/user/update",
                "/user/block",
                "/user/unblock",
                "/user/send-verification-request",
                "/business/create",
                "/business/get",
                "/business/customers/get-all",
                "/webhook/create",
                "/webhook/get",
                "/webhook/get-all",
                "/webhook/update",
                "/webhook/delete",
                "/webhook/rotate-secret",
                "/event/get-all",
                "/event/get",
                "/event/resend",
                "/business/update",
                "/business/block",
                "/business/unblock",
                "/business/send-verification-request",
                "/business/get-all",
                "/business/add-business-owner",
                "/business/get-business-owners",
                "/business/remove-business-owner",
            ] {
                let op = &paths[&format!("{version}{endpoint}")]["post"];
                assert!(op.is_object(), "{version}{endpoint}");
                assert_eq!(op["security"], json!([{"hmac": [], "api_key": []}]));
                for status in ["200", "400", "401", "413", "415", "422", "429", "503"] {
                    assert!(op["responses"][status].is_object(), "{endpoint} {status}");
                }
            }
        }
        assert_eq!(ids.len(), 2 * 27 + 3);
    }

    #[test]
    fn links_name_operations_of_the_same_version_whose_body_takes_the_id() {
        let doc: serde_json::Value = serde_json::from_str(&json()).unwrap();
        let mut by_id = std::collections::BTreeMap::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for op in item.as_object().unwrap().values() {
                by_id.insert(op["operationId"].as_str().unwrap().to_owned(), (path, op));
            }
        }
        let mut count = 0;
        for (id, (path, op)) in &by_id {
            let Some(links) = op["responses"]["200"]["links"].as_object() else {
                continue;
            };
            for link in links.values() {
                let target = link["operationId"].as_str().unwrap();
                let (target_path, target_op) = &by_id[target];
                let version = |p: &str| p.split('/').nth(2).unwrap_or_default().to_owned();
                assert_eq!(version(path), version(target_path), "{id} -> {target}");
                let body = link["requestBody"].as_object().unwrap();
                let schema =
                    target_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
                        .as_str()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap();
                for field in body.keys() {
                    assert!(
                        doc["components"]["schemas"][schema]["properties"][field].is_object(),
                        "{id} -> {target}: {field}"
                    );
                }
                count += 1;
            }
        }
        assert_eq!(count, 2 * (LINKS.len() + COMPOUND_LINKS.len()));
    }

    #[test]
    fn only_mutating_operations_take_an_idempotency_key() {
        let doc: serde_json::Value = serde_json::from_str(&json()).unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let Some(op) = item.get("post") else { continue };
            let id = op["operationId"].as_str().unwrap();
            let takes_key = op["parameters"].as_array().is_some_and(|p| {
                p.iter()
                    .any(|p| p["$ref"] == "#/components/parameters/IdempotencyKey")
            });
            let mutating = MUTATING.iter().any(|m| {
                id.strip_prefix(m)
                    .is_some_and(|rest| rest.starts_with("_v"))
            });
            assert_eq!(takes_key, mutating, "{path}");
        }
    }
}
