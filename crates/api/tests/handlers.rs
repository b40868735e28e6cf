//! Handlers against a fake of the repositories: the API's state holds `Arc<dyn Repositories>`,
//! so a handler's answer to each kind of storage failure is checked without making a real
//! database fail.
#![allow(clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use actix_web::{App, test, web};
use api::clock::SystemClock;
use api::limits::Rate;
use api::server::Settings;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::fixtures::SeedUser;
use domain::{
    Business, BusinessContact, BusinessId, ContactQuery, NewBusiness, NewUser, ParseContext,
    ProgramId, RawNewUser, User, UserChange, UserId, UserQuery,
};
use storage::{
    Along, Audit, BusinessLifecycle, BusinessRepository, Claim, Entity, HmacCredential,
    IdempotencyRepository, InternalError, IssuedCredentials, NewUserIds, OperatorAction, Outcome,
    Page, Problem, ProgramRepository, ProgramSummary, ReplayGuard, Repositories, RotatedHmac,
    SecretString, Signature, StorageError, UserEvent, UserRepository, VerifiedApiKey,
};

const USERNAME: &str = "fake-user";
const SECRET: &str = "fake-secret";
const API_KEY: &str = "fake-api-key";

/// Accepts the one credential above; `get_user` answers what the test set; every other
/// method is outside what these tests exercise and answers `unavailable`.
#[derive(Debug)]
struct Fake {
    program: ProgramId,
    get_user: Mutex<Option<Result<Option<User>, StorageError>>>,
    signatures: Mutex<Vec<Signature>>,
}

fn not_here<T>() -> Result<T, StorageError> {
    Err(StorageError::unavailable("not part of the fake"))
}

#[async_trait]
impl ProgramRepository for Fake {
    async fn create_program_by(
        &self,
        _: &str,
        _: DateTime<Utc>,
        _: &OperatorAction,
    ) -> Result<IssuedCredentials, StorageError> {
        not_here()
    }
    async fn list_programs(&self) -> Result<Vec<ProgramSummary>, StorageError> {
        not_here()
    }
    async fn rotate_api_key(
        &self,
        _: ProgramId,
        _: DateTime<Utc>,
        _: &OperatorAction,
    ) -> Result<(String, SecretString), StorageError> {
        not_here()
    }
    async fn revoke_api_key(
        &self,
        _: &str,
        _: DateTime<Utc>,
        _: &OperatorAction,
    ) -> Result<(), StorageError> {
        not_here()
    }
    async fn rotate_hmac(
        &self,
        _: ProgramId,
        _: chrono::Duration,
        _: DateTime<Utc>,
        _: &OperatorAction,
    ) -> Result<RotatedHmac, StorageError> {
        not_here()
    }
    async fn revoke_hmac(
        &self,
        _: &str,
        _: DateTime<Utc>,
        _: &OperatorAction,
    ) -> Result<(), StorageError> {
        not_here()
    }
    async fn set_program_disabled(
        &self,
        _: ProgramId,
        _: bool,
        _: DateTime<Utc>,
        _: &OperatorAction,
    ) -> Result<bool, StorageError> {
        not_here()
    }
    async fn verify_api_key(
        &self,
        presented: &str,
    ) -> Result<Option<VerifiedApiKey>, StorageError> {
        Ok((presented == API_KEY).then(|| VerifiedApiKey {
            key_id: "k1".into(),
            program_id: self.program,
        }))
    }
    async fn api_key_active(&self, _: &str) -> Result<bool, StorageError> {
        Ok(true)
    }
    async fn hmac_credential(
        &self,
        username: &str,
    ) -> Result<Option<HmacCredential>, StorageError> {
        Ok((username == USERNAME).then(|| HmacCredential {
            program_id: self.program,
            secret: SecretString::new(SECRET.to_owned()),
        }))
    }
}

#[async_trait]
impl UserRepository for Fake {
    async fn create_user(
        &self,
        _: ProgramId,
        _: NewUserIds,
        _: &NewUser,
        _: DateTime<Utc>,
        _: Along<User>,
    ) -> Result<Outcome<User>, StorageError> {
        not_here()
    }
    async fn get_user(&self, _: ProgramId, _: UserId) -> Result<Option<User>, StorageError> {
        self.get_user
            .lock()
            .unwrap()
            .take()
            .expect("the test sets get_user")
    }
    async fn change_user(
        &self,
        _: ProgramId,
        _: UserId,
        _: UserChange,
        _: Audit<'_>,
        _: DateTime<Utc>,
        _: Along<User>,
    ) -> Result<Outcome<User>, StorageError> {
        not_here()
    }
    async fn update_user(
        &self,
        _: ProgramId,
        _: UserId,
        _: &RawNewUser,
        _: ParseContext,
        _: DateTime<Utc>,
        _: Along<User>,
    ) -> Result<Outcome<User>, StorageError> {
        not_here()
    }
    async fn user_events(&self, _: ProgramId, _: UserId) -> Result<Vec<UserEvent>, StorageError> {
        not_here()
    }
    async fn user_program(&self, _: UserId) -> Result<Option<ProgramId>, StorageError> {
        not_here()
    }
    async fn list_users(&self, _: ProgramId, _: &UserQuery) -> Result<Page<User>, StorageError> {
        not_here()
    }
}

#[async_trait]
impl BusinessRepository for Fake {
    async fn create_business(
        &self,
        _: ProgramId,
        _: BusinessId,
        _: &NewBusiness,
        _: DateTime<Utc>,
        _: Along<Business>,
    ) -> Result<Outcome<Business>, StorageError> {
        not_here()
    }
    async fn get_business(
        &self,
        _: ProgramId,
        _: BusinessId,
    ) -> Result<Option<Business>, StorageError> {
        not_here()
    }
    async fn list_contacts(
        &self,
        _: ProgramId,
        _: &ContactQuery,
    ) -> Result<Option<Page<BusinessContact>>, StorageError> {
        not_here()
    }
}

#[async_trait]
impl BusinessLifecycle for Fake {
    async fn update_business(
        &self,
        _: ProgramId,
        _: BusinessId,
        _: &domain::RawNewBusiness,
        _: DateTime<Utc>,
        _: Audit<'_>,
        _: Along<Business>,
    ) -> Result<Outcome<Business>, StorageError> {
        not_here()
    }
    async fn change_business(
        &self,
        _: ProgramId,
        _: BusinessId,
        _: domain::BusinessChange,
        _: Audit<'_>,
        _: DateTime<Utc>,
        _: Along<Business>,
    ) -> Result<Outcome<Business>, StorageError> {
        not_here()
    }
    async fn add_business_owner(
        &self,
        _: ProgramId,
        _: domain::BusinessOwnerId,
        _: &domain::NewBusinessOwner,
        _: Audit<'_>,
        _: DateTime<Utc>,
        _: Along<domain::BusinessOwner>,
    ) -> Result<Outcome<domain::BusinessOwner>, StorageError> {
        not_here()
    }
    async fn remove_business_owner(
        &self,
        _: ProgramId,
        _: BusinessId,
        _: domain::BusinessOwnerId,
        _: Audit<'_>,
        _: DateTime<Utc>,
        _: Along<domain::BusinessOwner>,
    ) -> Result<Outcome<domain::BusinessOwner>, StorageError> {
        not_here()
    }
    async fn business_owners(
        &self,
        _: ProgramId,
        _: BusinessId,
        _: domain::PageRequest,
    ) -> Result<Option<Page<domain::BusinessOwner>>, StorageError> {
        not_here()
    }
    async fn list_businesses(
        &self,
        _: ProgramId,
        _: &domain::BusinessQuery,
    ) -> Result<Page<Business>, StorageError> {
        not_here()
    }
    async fn business_events(
        &self,
        _: ProgramId,
        _: BusinessId,
    ) -> Result<Vec<storage::BusinessEvent>, StorageError> {
        not_here()
    }
    async fn business_program(&self, _: BusinessId) -> Result<Option<ProgramId>, StorageError> {
        not_here()
    }
}

#[async_trait]
impl IdempotencyRepository for Fake {
    async fn claim(
        &self,
        _: ProgramId,
        _: &str,
        _: &str,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
        _: chrono::Duration,
    ) -> Result<Claim, StorageError> {
        not_here()
    }
    async fn complete(
        &self,
        _: ProgramId,
        _: &str,
        _: DateTime<Utc>,
        _: u16,
        _: &str,
    ) -> Result<(), StorageError> {
        not_here()
    }
    async fn release(&self, _: ProgramId, _: &str, _: DateTime<Utc>) -> Result<(), StorageError> {
        not_here()
    }
    async fn sweep_idempotency(&self, _: DateTime<Utc>, _: u64) -> Result<u64, StorageError> {
        not_here()
    }
}

#[async_trait]
impl ReplayGuard for Fake {
    async fn first_use(&self, signature: Signature) -> Result<bool, StorageError> {
        let mut seen = self.signatures.lock().unwrap();
        // Unique by digest, as the `seen_signatures` primary key.
        let fresh = !seen.iter().any(|s| s.digest() == signature.digest());
        seen.push(signature);
        Ok(fresh)
    }
    async fn sweep_signatures(&self, _: DateTime<Utc>, _: u64) -> Result<u64, StorageError> {
        not_here()
    }
}

#[async_trait]
impl storage::WebhookRepository for Fake {
    async fn create_webhook(
        &self,
        _: ProgramId,
        _: domain::WebhookId,
        _: &domain::NewWebhook,
        _: DateTime<Utc>,
        _: Along<storage::Webhook>,
    ) -> Result<Outcome<storage::Webhook>, StorageError> {
        not_here()
    }
    async fn get_webhook(
        &self,
        _: ProgramId,
        _: domain::WebhookId,
    ) -> Result<Option<storage::Webhook>, StorageError> {
        not_here()
    }
    async fn list_webhooks(
        &self,
        _: ProgramId,
        _: domain::PageRequest,
    ) -> Result<Page<storage::Webhook>, StorageError> {
        not_here()
    }
    async fn update_webhook(
        &self,
        _: ProgramId,
        _: domain::WebhookId,
        _: &domain::WebhookUpdate,
        _: DateTime<Utc>,
        _: Along<storage::Webhook>,
    ) -> Result<Outcome<storage::Webhook>, StorageError> {
        not_here()
    }
    async fn delete_webhook(
        &self,
        _: ProgramId,
        _: domain::WebhookId,
        _: DateTime<Utc>,
        _: Along<storage::Webhook>,
    ) -> Result<Outcome<storage::Webhook>, StorageError> {
        not_here()
    }
    async fn rotate_webhook_secret(
        &self,
        _: ProgramId,
        _: domain::WebhookId,
        _: chrono::Duration,
        _: DateTime<Utc>,
        _: Along<storage::Webhook>,
    ) -> Result<Outcome<storage::Webhook>, StorageError> {
        not_here()
    }
    async fn list_events(
        &self,
        _: ProgramId,
        _: &domain::EventQuery,
    ) -> Result<Page<storage::StoredEvent>, StorageError> {
        not_here()
    }
    async fn get_event(
        &self,
        _: ProgramId,
        _: domain::EventId,
    ) -> Result<Option<(storage::StoredEvent, Vec<storage::Attempt>)>, StorageError> {
        not_here()
    }
    async fn resend_event(
        &self,
        _: ProgramId,
        _: domain::EventId,
        _: Option<domain::WebhookId>,
        _: DateTime<Utc>,
        _: Along<storage::StoredEvent>,
    ) -> Result<Outcome<storage::StoredEvent>, StorageError> {
        not_here()
    }
}

#[async_trait]
impl Repositories for Fake {
    fn keyed_digest(&self, label: &str, message: &[u8]) -> String {
        format!("{label}:{}", message.len())
    }
    async fn ping(&self) -> Result<(), StorageError> {
        Ok(())
    }
}

fn settings() -> Settings {
    let unlimited = Rate {
        per_second: 1000.0,
        burst: 1000.0,
    };
    Settings {
        min_age: 18,
        body_limit: 64 * 1024,
        api_key_ttl: Duration::from_secs(60),
        program_rate: unlimited,
        auth_failure_rate: unlimited,
        kyc_verifier: api::kyc::verifier("manual").unwrap(),
        kyc_interval: Duration::from_secs(60),
        trusted_proxies: api::client_addr::TrustedProxies::default(),
        replay_reads: false,
        tls: None,
        webhooks: api::delivery::DeliverySettings::default(),
        screening_list_dir: None,
        screening_threshold: domain::screening::DEFAULT_REVIEW_THRESHOLD,
        screening_poll: Duration::from_millis(100),
    }
}

fn a_user(program: ProgramId) -> User {
    let raw = SeedUser::example().raw();
    let now = Utc::now();
    let new = NewUser::parse(&raw, ParseContext::new(now.date_naive())).unwrap();
    User::create(UserId::from_uuid(uuid::Uuid::now_v7()), program, &new, now)
}

/// A fake of program `program` whose `get_user` answers `get_user`.
fn fake(program: ProgramId, get_user: Option<Result<Option<User>, StorageError>>) -> Arc<Fake> {
    Arc::new(Fake {
        program,
        get_user: Mutex::new(get_user),
        signatures: Mutex::new(Vec::new()),
    })
}

/// A POST of `body` to `path`, signed with the fake's credentials: the body and headers.
fn signed_parts(path: &str, body: &serde_json::Value) -> (Vec<u8>, Vec<(String, String)>) {
    let body = serde_json::to_vec(body).unwrap();
    let names = [
        "request-line",
        "x-date",
        "content-type",
        "content-sha512",
        "api_key",
    ];
    let headers = client::signing::SignedRequest::new(
        "POST",
        path,
        &body,
        USERNAME,
        SECRET.as_bytes(),
        SystemTime::now(),
    )
    .signed_headers(&names)
    .header("api_key", API_KEY)
    .build()
    .unwrap()
    .into_vec();
    (body, headers)
}

/// The request of [`signed_parts`].
fn request(path: &str, (body, headers): &(Vec<u8>, Vec<(String, String)>)) -> test::TestRequest {
    let mut request = test::TestRequest::post()
        .uri(path)
        .set_payload(body.clone());
    for (name, value) in headers {
        request = request.insert_header((name.as_str(), value.as_str()));
    }
    request
}

/// A POST of `body` to `path`, signed with the fake's credentials.
fn signed(path: &str, body: &serde_json::Value) -> test::TestRequest {
    request(path, &signed_parts(path, body))
}

/// `POST /api/v3/user/get` with the fake's credentials, against a fake whose `get_user`
/// answers `answer`: the status and the body.
async fn get_user_answering(
    answer: impl FnOnce(ProgramId) -> Result<Option<User>, StorageError>,
) -> (u16, serde_json::Value) {
    let program = ProgramId::from_uuid(uuid::Uuid::now_v7());
    let fake = fake(program, Some(answer(program)));
    let state = api::server::state(fake.clone(), Arc::new(SystemClock), &settings(), None);
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(state))
            .configure(api::app::configure),
    )
    .await;
    let request = signed(
        "/api/v3/user/get",
        &serde_json::json!({"user_id": UserId::from_uuid(uuid::Uuid::now_v7()).to_string()}),
    );
    let response = test::call_service(&app, request.to_request()).await;
    let status = response.status().as_u16();
    let body: serde_json::Value = test::read_body_json(response).await;
    assert!(
        fake.signatures.lock().unwrap().is_empty(),
        "a read writes nothing, not even its signature (SPEC §2.1)"
    );
    (status, body)
}

/// A change whose work writes nothing to storage (takes nothing along).
async fn noop_change(
    state: web::Data<api::state::AppState>,
    req: actix_web::HttpRequest,
    payload: web::Payload,
) -> Result<actix_web::HttpResponse, api::error::ApiError> {
    api::pipeline::serve(
        &state,
        &req,
        payload,
        api::pipeline::Policy::Changes,
        async |_call, fields| {
            fields.finish()?;
            Ok("{}".to_owned())
        },
    )
    .await
}

#[actix_web::test]
async fn a_change_that_writes_nothing_still_uses_up_its_signature() {
    let fake = fake(ProgramId::from_uuid(uuid::Uuid::now_v7()), None);
    let state = api::server::state(fake.clone(), Arc::new(SystemClock), &settings(), None);
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(state))
            .route("/api/v3/noop", web::post().to(noop_change)),
    )
    .await;
    let parts = signed_parts("/api/v3/noop", &serde_json::json!({}));
    let first = test::call_service(&app, request("/api/v3/noop", &parts).to_request()).await;
    assert_eq!(first.status().as_u16(), 200);
    assert_eq!(
        fake.signatures.lock().unwrap().len(),
        1,
        "the signature was recorded although the work wrote nothing"
    );
    // Kept for the skew window (300 s) plus a margin for instances' clocks (60 s).
    let kept = fake.signatures.lock().unwrap()[0].expires_at() - chrono::Utc::now();
    assert!(
        (358..=361).contains(&kept.num_seconds()),
        "kept {} s",
        kept.num_seconds()
    );
    let again = test::call_service(&app, request("/api/v3/noop", &parts).to_request()).await;
    assert_eq!(again.status().as_u16(), 401);
    let body: serde_json::Value = test::read_body_json(again).await;
    assert_eq!(body["errors"][0]["code"], "replayed_request");
}

#[actix_web::test]
async fn a_found_user_is_answered_in_the_envelope() {
    let (status, body) = get_user_answering(|p| Ok(Some(a_user(p)))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success");
    assert_eq!(body["data"]["items"][0]["first_name"], "Alex");
}

#[actix_web::test]
async fn a_missing_user_is_404() {
    let (status, body) = get_user_answering(|_| Ok(None)).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["errors"],
        serde_json::json!([{"code": "not_found", "message": "user not found"}])
    );
}

#[actix_web::test]
async fn storage_not_found_of_an_entity_is_404_not_422() {
    let (status, body) = get_user_answering(|_| Err(StorageError::NotFound(Entity::User))).await;
    assert_eq!(status, 404, "{body}");
}

#[actix_web::test]
async fn an_unavailable_database_is_503() {
    let (status, body) = get_user_answering(|_| Err(StorageError::unavailable("down"))).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["errors"][0]["code"], "storage_unavailable");
}

#[actix_web::test]
async fn a_corrupt_row_is_500_and_names_nothing_of_it() {
    let corrupt = || {
        Err(StorageError::Internal(InternalError::Corrupt {
            column: "users.email",
            problem: Problem::NotUtf8,
        }))
    };
    let (status, body) = get_user_answering(|_| corrupt()).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        body,
        serde_json::json!({
            "status": "error",
            "message": "An internal error occurred.",
            "errors": [{"code": "internal_error", "message": "the error was logged"}]
        })
    );
}

#[actix_web::test]
async fn keys_that_do_not_match_the_database_answer_503_and_touch_nothing() {
    let fake = fake(ProgramId::from_uuid(uuid::Uuid::now_v7()), None);
    let state = api::server::state(
        fake.clone(),
        Arc::new(SystemClock),
        &settings(),
        Some(storage::KeyMismatch::Differs("k1".into())),
    );
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(state))
            .configure(api::app::configure),
    )
    .await;
    let request = signed(
        "/api/v3/user/get",
        &serde_json::json!({"user_id": UserId::from_uuid(uuid::Uuid::now_v7()).to_string()}),
    );
    let response = test::call_service(&app, request.to_request()).await;
    assert_eq!(response.status().as_u16(), 503);
    let body: serde_json::Value = test::read_body_json(response).await;
    assert_eq!(body["errors"][0]["code"], "keys_mismatch");
    let ready =
        test::call_service(&app, test::TestRequest::get().uri("/readyz").to_request()).await;
    assert_eq!(ready.status().as_u16(), 503);
    assert!(fake.signatures.lock().unwrap().is_empty());
}
