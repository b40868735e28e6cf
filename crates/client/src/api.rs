//! Typed calls: one method per endpoint, request and response types in the wire shape, and
//! the error envelope as an error value.
//!
//! The types here mirror the JSON of the service (SPEC §3) and nothing more: the server is
//! where the rules are enforced, and its 422 answers list every failing field
//! ([`ApiError::errors`]). Responses are read leniently (unknown fields are ignored), so a
//! newer server does not break an older client.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::http::{Client, ClientError, Response};
pub use crate::requests::{
    CreateBusiness, CreateUser, ListContacts, ListUsers, MetaEntry, UpdateUser,
};
pub use crate::responses::{Business, Contact, Page, Pagination, User};

/// Attempts of a typed call before its last answer is returned (see
/// [`Client::post_idempotent`] for which answers are retried).
pub const DEFAULT_ATTEMPTS: u32 = 4;

/// The API version prefix of typed calls; the two versions are identical today.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ApiVersion {
    /// `/api/v3`.
    #[default]
    V3,
    /// `/api/v4`.
    V4,
}

impl ApiVersion {
    /// The path prefix, without a trailing slash.
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::V3 => "/api/v3",
            Self::V4 => "/api/v4",
        }
    }
}

/// Every endpoint of the API. [`Endpoint::mutating`] ones are sent with an automatic
/// `Idempotency-Key`, so that a retry never applies a change twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `/user/create`.
    CreateUser,
    /// `/user/get`.
    GetUser,
    /// `/user/get-all`.
    ListUsers,
    /// `/user/update`.
    UpdateUser,
    /// `/user/block`.
    BlockUser,
    /// `/user/unblock`.
    UnblockUser,
    /// `/user/send-verification-request`.
    SendVerificationRequest,
    /// `/business/create`.
    CreateBusiness,
    /// `/business/get`.
    GetBusiness,
    /// `/business/customers/get-all`.
    ListContacts,
    /// `/webhook/create`.
    CreateWebhook,
    /// `/webhook/get`.
    GetWebhook,
    /// `/webhook/get-all`.
    ListWebhooks,
    /// `/webhook/update`.
    UpdateWebhook,
    /// `/webhook/delete`.
    DeleteWebhook,
    /// `/webhook/rotate-secret`.
    RotateWebhookSecret,
    /// `/event/get-all`.
    ListEvents,
    /// `/event/get`.
    GetEvent,
    /// `/event/resend`.
    ResendEvent,
    /// `/business/update`.
    UpdateBusiness,
    /// `/business/block`.
    BlockBusiness,
    /// `/business/unblock`.
    UnblockBusiness,
    /// `/business/send-verification-request`.
    SendBusinessVerificationRequest,
    /// `/business/get-all`.
    ListBusinesses,
    /// `/business/add-business-owner`.
    AddBusinessOwner,
    /// `/business/get-business-owners`.
    ListBusinessOwners,
    /// `/business/remove-business-owner`.
    RemoveBusinessOwner,
}

impl Endpoint {
    /// All endpoints.
    pub const ALL: [Self; 27] = [
        Self::CreateUser,
        Self::GetUser,
        Self::ListUsers,
        Self::UpdateUser,
        Self::BlockUser,
        Self::UnblockUser,
        Self::SendVerificationRequest,
        Self::CreateBusiness,
        Self::GetBusiness,
        Self::ListContacts,
        Self::CreateWebhook,
        Self::GetWebhook,
        Self::ListWebhooks,
        Self::UpdateWebhook,
        Self::DeleteWebhook,
        Self::RotateWebhookSecret,
        Self::ListEvents,
        Self::GetEvent,
        Self::ResendEvent,
        Self::UpdateBusiness,
        Self::BlockBusiness,
        Self::UnblockBusiness,
        Self::SendBusinessVerificationRequest,
        Self::ListBusinesses,
        Self::AddBusinessOwner,
        Self::ListBusinessOwners,
        Self::RemoveBusinessOwner,
    ];

    /// The path below the version prefix.
    pub const fn path(self) -> &'static str {
        match self {
            Self::CreateUser => "/user/create",
            Self::GetUser => "/user/get",
            Self::ListUsers => "/user/get-all",
            Self::UpdateUser => "/user/update",
            Self::BlockUser => "/user/block",
            Self::UnblockUser => "/user/unblock",
            Self::SendVerificationRequest => "/user/send-verification-request",
            Self::CreateBusiness => "/business/create",
            Self::GetBusiness => "/business/get",
            Self::ListContacts => "/business/customers/get-all",
            Self::CreateWebhook => "/webhook/create",
            Self::GetWebhook => "/webhook/get",
            Self::ListWebhooks => "/webhook/get-all",
            Self::UpdateWebhook => "/webhook/update",
            Self::DeleteWebhook => "/webhook/delete",
            Self::RotateWebhookSecret => "/webhook/rotate-secret",
            Self::ListEvents => "/event/get-all",
            Self::GetEvent => "/event/get",
            Self::ResendEvent => "/event/resend",
            Self::UpdateBusiness => "/business/update",
            Self::BlockBusiness => "/business/block",
            Self::UnblockBusiness => "/business/unblock",
            Self::SendBusinessVerificationRequest => "/business/send-verification-request",
            Self::ListBusinesses => "/business/get-all",
            Self::AddBusinessOwner => "/business/add-business-owner",
            Self::ListBusinessOwners => "/business/get-business-owners",
            Self::RemoveBusinessOwner => "/business/remove-business-owner",
        }
    }

    /// Whether the call changes state (and so takes an `Idempotency-Key`).
    pub const fn mutating(self) -> bool {
        !matches!(
            self,
            Self::GetUser
                | Self::ListUsers
                | Self::GetBusiness
                | Self::ListContacts
                | Self::GetWebhook
                | Self::ListWebhooks
                | Self::ListEvents
                | Self::GetEvent
                | Self::ListBusinesses
                | Self::ListBusinessOwners
        )
    }

    /// The endpoint of a full path such as `/api/v3/user/create` (either version; a query
    /// string is ignored).
    pub fn from_path(path: &str) -> Option<Self> {
        let path = path.split('?').next().unwrap_or_default();
        let rest = [ApiVersion::V3, ApiVersion::V4]
            .iter()
            .find_map(|v| path.strip_prefix(v.prefix()))?;
        Self::ALL.into_iter().find(|e| e.path() == rest)
    }
}

#[derive(Deserialize)]
struct SuccessEnvelope<T> {
    data: Page<T>,
}

/// One entry of an error envelope's `errors`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct FieldError {
    /// The request field, when the error is about one.
    #[serde(default)]
    pub field: Option<String>,
    /// Machine-readable code (`invalid_format`, `duplicate`, `unauthorized`, …).
    pub code: String,
    /// Human-readable text.
    pub message: String,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    message: String,
    #[serde(default)]
    errors: Vec<FieldError>,
}

/// An answer other than 2xx, in the platform's error envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The envelope's `message`.
    pub message: String,
    /// Every reported error (a 422 lists every failing field).
    pub errors: Vec<FieldError>,
    /// `Retry-After` in seconds (429 and 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    /// Whether some entry has this code (and, when given, this field).
    pub fn has(&self, code: &str, field: Option<&str>) -> bool {
        self.errors
            .iter()
            .any(|e| e.code == code && (field.is_none() || e.field.as_deref() == field))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {}: {}", self.status, self.message)?;
        for e in &self.errors {
            match &e.field {
                Some(field) => write!(f, "; {field}: {} ({})", e.message, e.code)?,
                None => write!(f, "; {} ({})", e.message, e.code)?,
            }
        }
        Ok(())
    }
}

/// What a typed call can end in, other than its value.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The call could not be made (transport, signing, URL).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The service refused it, in its error envelope.
    #[error("{0}")]
    Api(ApiError),
    /// The service answered something that is not the documented shape.
    #[error("unexpected answer (HTTP {status}): {detail}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// What did not parse, and the start of the body.
        detail: String,
    },
}

impl CallError {
    /// The envelope, when the service refused the call.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) => Some(e),
            _ => None,
        }
    }
}

/// A success envelope's single item, or the error the answer stands for.
pub(crate) fn one<T: DeserializeOwned>(response: &Response) -> Result<T, CallError> {
    let mut page = page::<T>(response)?;
    match (page.items.pop(), page.items.is_empty()) {
        (Some(item), true) => Ok(item),
        _ => Err(CallError::Unexpected {
            status: response.status,
            detail: "expected exactly one item".to_owned(),
        }),
    }
}

/// A success envelope's page, or the error the answer stands for.
pub(crate) fn page<T: DeserializeOwned>(response: &Response) -> Result<Page<T>, CallError> {
    let unexpected = |e: serde_json::Error| CallError::Unexpected {
        status: response.status,
        detail: format!("{e}; body starts {:?}", snippet(&response.body)),
    };
    if (200..300).contains(&response.status) {
        return serde_json::from_slice::<SuccessEnvelope<T>>(&response.body)
            .map(|e| e.data)
            .map_err(unexpected);
    }
    let envelope = serde_json::from_slice::<ErrorEnvelope>(&response.body).map_err(unexpected)?;
    Err(CallError::Api(ApiError {
        status: response.status,
        message: envelope.message,
        errors: envelope.errors,
        retry_after: response
            .header("retry-after")
            .and_then(|v| v.trim().parse().ok()),
    }))
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}

#[derive(Serialize)]
struct UserIdBody<'a> {
    user_id: &'a str,
}

#[derive(Serialize)]
struct BlockBody<'a> {
    user_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct BusinessIdBody<'a> {
    business_id: &'a str,
}

impl Client {
    /// Sends `body` to `endpoint` under this client's version: a mutating call with an
    /// automatic `Idempotency-Key` and retries, a read with retries and no key.
    pub async fn call(
        &self,
        endpoint: Endpoint,
        body: &impl Serialize,
    ) -> Result<Response, ClientError> {
        let path = format!("{}{}", self.version().prefix(), endpoint.path());
        let body = serde_json::to_vec(body)?;
        if endpoint.mutating() {
            self.post_idempotent(&path, &body, self.max_attempts())
                .await
        } else {
            self.post_retrying(&path, &body, self.max_attempts()).await
        }
    }

    pub(crate) async fn one<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        body: &impl Serialize,
    ) -> Result<T, CallError> {
        one(&self.call(endpoint, body).await?)
    }

    pub(crate) async fn page<T: DeserializeOwned>(
        &self,
        endpoint: Endpoint,
        body: &impl Serialize,
    ) -> Result<Page<T>, CallError> {
        page(&self.call(endpoint, body).await?)
    }

    /// `/user/create`.
    pub async fn create_user(&self, user: &CreateUser) -> Result<User, CallError> {
        self.one(Endpoint::CreateUser, user).await
    }

    /// `/user/get`.
    pub async fn get_user(&self, user_id: &str) -> Result<User, CallError> {
        self.one(Endpoint::GetUser, &UserIdBody { user_id }).await
    }

    /// `/user/get-all`.
    pub async fn list_users(&self, query: &ListUsers) -> Result<Page<User>, CallError> {
        self.page(Endpoint::ListUsers, query).await
    }

    /// `/user/update`.
    pub async fn update_user(&self, change: &UpdateUser) -> Result<User, CallError> {
        self.one(Endpoint::UpdateUser, change).await
    }

    /// `/user/block`.
    pub async fn block_user(&self, user_id: &str, reason: Option<&str>) -> Result<User, CallError> {
        self.one(Endpoint::BlockUser, &BlockBody { user_id, reason })
            .await
    }

    /// `/user/unblock`.
    pub async fn unblock_user(&self, user_id: &str) -> Result<User, CallError> {
        self.one(Endpoint::UnblockUser, &UserIdBody { user_id })
            .await
    }

    /// `/user/send-verification-request`: submits the user for KYC.
    pub async fn send_verification_request(&self, user_id: &str) -> Result<User, CallError> {
        self.one(Endpoint::SendVerificationRequest, &UserIdBody { user_id })
            .await
    }

    /// `/business/create`.
    pub async fn create_business(&self, business: &CreateBusiness) -> Result<Business, CallError> {
        self.one(Endpoint::CreateBusiness, business).await
    }

    /// `/business/get`.
    pub async fn get_business(&self, business_id: &str) -> Result<Business, CallError> {
        self.one(Endpoint::GetBusiness, &BusinessIdBody { business_id })
            .await
    }

    /// `/business/customers/get-all`.
    pub async fn list_contacts(&self, query: &ListContacts) -> Result<Page<Contact>, CallError> {
        self.page(Endpoint::ListContacts, query).await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        Response {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn endpoints_round_trip_their_paths() {
        for e in Endpoint::ALL {
            for v in [ApiVersion::V3, ApiVersion::V4] {
                let path = format!("{}{}", v.prefix(), e.path());
                assert_eq!(Endpoint::from_path(&path), Some(e), "{path}");
                assert_eq!(Endpoint::from_path(&format!("{path}?x=1")), Some(e));
            }
        }
        assert_eq!(Endpoint::from_path("/api/v2/user/create"), None);
        assert_eq!(Endpoint::from_path("/api/v3/user/create/"), None);
        assert_eq!(Endpoint::from_path("/user/create"), None);
        let reads: Vec<_> = Endpoint::ALL
            .into_iter()
            .filter(|e| !e.mutating())
            .collect();
        assert_eq!(
            reads,
            [
                Endpoint::GetUser,
                Endpoint::ListUsers,
                Endpoint::GetBusiness,
                Endpoint::ListContacts,
                Endpoint::GetWebhook,
                Endpoint::ListWebhooks,
                Endpoint::ListEvents,
                Endpoint::GetEvent,
                Endpoint::ListBusinesses,
                Endpoint::ListBusinessOwners
            ]
        );
    }

    #[test]
    fn absent_options_are_not_sent() {
        let body = serde_json::to_value(UpdateUser {
            user_id: "user-1".to_owned(),
            middle_name: Some(String::new()),
            ..UpdateUser::default()
        })
        .unwrap();
        assert_eq!(
            body,
            serde_json::json!({"user_id": "user-1", "middle_name": ""})
        );
        let contacts = serde_json::to_value(ListContacts {
            business_id: "buss-1".to_owned(),
            contact_type: Some("vendors".to_owned()),
            ..ListContacts::default()
        })
        .unwrap();
        assert_eq!(
            contacts,
            serde_json::json!({"business_id": "buss-1", "type": "vendors"})
        );
        let block = serde_json::to_value(BlockBody {
            user_id: "user-1",
            reason: None,
        })
        .unwrap();
        assert_eq!(block, serde_json::json!({"user_id": "user-1"}));
    }

    #[test]
    fn success_envelopes_give_their_items() {
        let body = r#"{"status":"success","message":"operation completed","data":{"items":[{"name":"a","value":"b"}],"pagination":{"page":1,"per_page":1,"total":1,"sort":"created_at:desc","search":null,"later_field":1}},"extra":true}"#;
        let item: MetaEntry = one(&response(200, &[], body)).unwrap();
        assert_eq!(item, MetaEntry::new("a", "b"));
        let two = body.replace(
            r#"[{"name":"a","value":"b"}]"#,
            r#"[{"name":"a","value":"b"},{"name":"c","value":"d"}]"#,
        );
        assert!(matches!(
            one::<MetaEntry>(&response(200, &[], &two)),
            Err(CallError::Unexpected { status: 200, .. })
        ));
        let listed: Page<MetaEntry> = page(&response(200, &[], &two)).unwrap();
        assert_eq!(listed.items.len(), 2);
        assert_eq!(listed.pagination.sort, "created_at:desc");
    }

    #[test]
    fn error_envelopes_become_api_errors() {
        let body = r#"{"status":"error","message":"validation failed","errors":[{"field":"email","code":"invalid_format","message":"not an email"},{"code":"unknown","message":"x"}]}"#;
        let err = one::<User>(&response(422, &[], body)).unwrap_err();
        let api = err.api().unwrap();
        assert_eq!(api.status, 422);
        assert!(api.has("invalid_format", Some("email")));
        assert!(api.has("unknown", None));
        assert!(!api.has("invalid_format", Some("ssn")));
        assert_eq!(
            err.to_string(),
            "HTTP 422: validation failed; email: not an email (invalid_format); x (unknown)"
        );
        let limited = one::<User>(&response(
            429,
            &[("Retry-After", "3")],
            r#"{"status":"error","message":"slow down","errors":[]}"#,
        ))
        .unwrap_err();
        assert_eq!(limited.api().unwrap().retry_after, Some(3));
        let garbage = one::<User>(&response(502, &[], "<html>bad gateway</html>")).unwrap_err();
        assert!(
            matches!(&garbage, CallError::Unexpected { status: 502, detail } if detail.contains("bad gateway")),
            "{garbage}"
        );
    }
}
