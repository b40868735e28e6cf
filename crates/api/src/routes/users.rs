//! User endpoints: `POST /user/create`.

use actix_web::{HttpRequest, HttpResponse, web};
use domain::{ContactId, NewUser, ParseContext, RawNewUser, User, UserId};
use storage::{Completion, NewUserIds, UserRepository as _};
use uuid::Uuid;

use crate::app::{AppState, authenticate};
use crate::body::Fields;
use crate::error::ApiError;
use crate::idempotency;
use crate::views::{Success, UserView};

/// Reads the create-user fields (SPEC §3.1) out of a JSON object.
pub fn raw_new_user(f: &mut Fields) -> RawNewUser {
    RawNewUser {
        first_name: f.string("first_name"),
        middle_name: f.string("middle_name"),
        last_name: f.string("last_name"),
        email: f.string("email"),
        phone_number: f.string("phone_number"),
        address_one: f.string("address_one"),
        address_two: f.string("address_two"),
        city: f.string("city"),
        state: f.string("state"),
        country: f.string("country"),
        postal_code: f.string("postal_code"),
        username: f.string("username"),
        date_of_birth: f.string("date_of_birth"),
        ssn: f.string("ssn"),
        terms_accepted: f.boolean("terms_accepted"),
        meta_data: f.meta_data("meta_data"),
        business_id: f.string("business_id"),
        is_vendor: f.boolean("is_vendor"),
    }
}

/// `POST /user/create`: validates, stores, and answers with the created user.
#[tracing::instrument(skip_all, fields(program))]
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let key = idempotency::key(&req)?;
    let request = authenticate(&state, &req, payload).await?;
    let program = request.program;
    tracing::Span::current().record("program", tracing::field::display(program));
    let digest = idempotency::digest(req.path(), &request.fields.canonical());
    let mut fields = request.fields;
    let work_state = state.clone();
    idempotency::run(&state, program, key, &digest, |key| async move {
        let state = work_state;
        let raw = raw_new_user(&mut fields);
        fields.finish()?;
        let now = truncate_ms(state.clock.now());
        let ctx = ParseContext {
            today: now.date_naive(),
            min_age: state.min_age,
        };
        let new_user = NewUser::parse(&raw, ctx)?;
        let ids = NewUserIds {
            user: UserId::from_uuid(Uuid::now_v7()),
            contact: ContactId::from_uuid(Uuid::now_v7()),
        };
        // The response is known before the write, so that it can be stored with it.
        let body = to_body(&Success::one(UserView::from(&User::create(
            ids.user, program, &new_user, now,
        ))))?;
        let completion = key.as_deref().map(|key| Completion {
            key,
            status: 200,
            body: &body,
        });
        let user = state
            .store
            .create_user(program, ids, &new_user, now, completion)
            .await?;
        tracing::info!(user = %user.id(), "user created");
        Ok(body)
    })
    .await
}

/// `t` at millisecond precision, as stored.
pub fn truncate_ms(t: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}

/// Serialises a response body.
pub fn to_body(value: &impl serde::Serialize) -> Result<String, ApiError> {
    serde_json::to_string(value)
        .map_err(|e| ApiError::Internal(format!("serialising a response: {e}")))
}
