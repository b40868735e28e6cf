//! The client crate's typed calls against the running service: every endpoint, its answer
//! parsed into the client's types, and refusals as `CallError::Api` with every field listed.

use client::{
    ApiVersion, CallError, CreateBusiness, CreateUser, ListContacts, ListUsers, MetaEntry,
    UpdateUser,
};
use tests::{TestApp, service_test, ssn};

fn new_user(n: u32) -> CreateUser {
    CreateUser {
        first_name: "Alex".to_owned(),
        middle_name: Some(String::new()),
        last_name: "Rivera".to_owned(),
        email: format!("typed{n}@example.com"),
        phone_number: "+15555551234".to_owned(),
        address_one: "100 Innovation Way".to_owned(),
        address_two: Some("Suite 100".to_owned()),
        city: "Anytown".to_owned(),
        state: "TX".to_owned(),
        postal_code: "30044".to_owned(),
        country: "US".to_owned(),
        username: Some(format!("typed{n}")),
        date_of_birth: Some("1980-04-20".to_owned()),
        ssn: Some(ssn(n)),
        terms_accepted: Some(true),
        meta_data: Some(vec![MetaEntry::new("external_ref", format!("c-{n}"))]),
        ..CreateUser::default()
    }
}

fn api_error(result: Result<impl std::fmt::Debug, CallError>) -> client::ApiError {
    match result {
        Err(CallError::Api(e)) => e,
        other => panic!("expected an error envelope, got {other:?}"),
    }
}

async fn every_endpoint_through_typed_calls(app: &TestApp) {
    let c = app.client();

    let business = c
        .create_business(&CreateBusiness {
            business_name: "Typed Widgets LLC".to_owned(),
            email: "ops@typed.example".to_owned(),
            phone_number: "+12125551234".to_owned(),
            business_address: "1 Main St".to_owned(),
            city: "Austin".to_owned(),
            state: "TX".to_owned(),
            zipcode: "73301".to_owned(),
            country: "US".to_owned(),
            ein: "12-3456789".to_owned(),
            business_type: Some("llc".to_owned()),
            ..CreateBusiness::default()
        })
        .await
        .unwrap();
    assert!(business.id.starts_with("buss-"), "{business:?}");
    assert_eq!(business.ein_last_4, "6789");
    assert_eq!(business.business_address_2, None);
    assert_eq!(business.business_type.as_deref(), Some("llc"));
    assert_eq!(c.get_business(&business.id).await.unwrap(), business);

    let user = c
        .create_user(&CreateUser {
            business_id: Some(business.id.clone()),
            is_vendor: Some(true),
            ..new_user(1)
        })
        .await
        .unwrap();
    assert!(user.id.starts_with("user-"), "{user:?}");
    assert_eq!(
        (user.middle_name.as_deref(), user.address_two.as_deref()),
        (None, Some("Suite 100"))
    );
    assert_eq!(user.ssn_last_4.as_deref(), Some(&ssn(1)[7..]));
    assert_eq!(
        (
            user.status.as_str(),
            user.kyc_status.as_str(),
            user.screening_status.as_str()
        ),
        ("active", "not_started", "not_screened")
    );
    assert_eq!(
        user.meta_data,
        [MetaEntry::new("external_ref", "c-1")],
        "{user:?}"
    );
    assert_eq!(c.get_user(&user.id).await.unwrap(), user);
    let v4 = app.client().with_version(ApiVersion::V4);
    assert_eq!(v4.get_user(&user.id).await.unwrap(), user);

    let other = c.create_user(&new_user(2)).await.unwrap();
    let page = c
        .list_users(&ListUsers {
            search: Some("TYPED1@".to_owned()),
            per_page: Some(5),
            ..ListUsers::default()
        })
        .await
        .unwrap();
    assert_eq!(page.items, std::slice::from_ref(&user));
    assert_eq!(
        (
            page.pagination.total,
            page.pagination.per_page,
            page.pagination.search.as_deref()
        ),
        (1, 5, Some("TYPED1@"))
    );
    let all = c
        .list_users(&ListUsers {
            sort: Some("created_at:asc".to_owned()),
            ..ListUsers::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = all.items.iter().map(|u| u.id.as_str()).collect();
    assert_eq!(ids, [user.id.as_str(), other.id.as_str()]);

    let named = c
        .update_user(&UpdateUser {
            user_id: user.id.clone(),
            middle_name: Some("Quinn".to_owned()),
            city: Some("Dallas".to_owned()),
            ..UpdateUser::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (named.middle_name.as_deref(), named.city.as_str()),
        (Some("Quinn"), "Dallas")
    );
    let cleared = c
        .update_user(&UpdateUser {
            user_id: user.id.clone(),
            middle_name: Some(String::new()),
            ..UpdateUser::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (cleared.middle_name, cleared.city.as_str()),
        (None, "Dallas")
    );

    let blocked = c.block_user(&user.id, Some("fraud review")).await.unwrap();
    assert_eq!(blocked.status, "blocked");
    let again = api_error(c.block_user(&user.id, None).await);
    assert_eq!(again.status, 409);
    assert!(again.has("invalid_transition", None), "{again}");
    assert_eq!(c.unblock_user(&user.id).await.unwrap().status, "active");
    let submitted = c.send_verification_request(&user.id).await.unwrap();
    assert_eq!(submitted.kyc_status, "pending");

    let vendors = c
        .list_contacts(&ListContacts {
            business_id: business.id.clone(),
            contact_type: Some("vendors".to_owned()),
            ..ListContacts::default()
        })
        .await
        .unwrap();
    assert_eq!(vendors.items.len(), 1, "{vendors:?}");
    let contact = &vendors.items[0];
    assert_eq!(
        (
            contact.user_id.as_str(),
            contact.business_id.as_str(),
            contact.contact_type.as_str()
        ),
        (user.id.as_str(), business.id.as_str(), "vendors")
    );
    let customers = c
        .list_contacts(&ListContacts {
            business_id: business.id.clone(),
            contact_type: Some("customers".to_owned()),
            ..ListContacts::default()
        })
        .await
        .unwrap();
    assert!(customers.items.is_empty(), "{customers:?}");
}
service_test!(every_endpoint, every_endpoint_through_typed_calls);

async fn refusals_are_typed_errors(app: &TestApp) {
    let c = app.client();
    let invalid = api_error(
        c.create_user(&CreateUser {
            email: "not-an-email".to_owned(),
            postal_code: "3004".to_owned(),
            state: "ZZ".to_owned(),
            ..new_user(3)
        })
        .await,
    );
    assert_eq!(invalid.status, 422);
    for field in ["email", "postal_code", "state"] {
        assert!(
            invalid
                .errors
                .iter()
                .any(|e| e.field.as_deref() == Some(field)),
            "{field} missing from {invalid}"
        );
    }

    let first = c.create_user(&new_user(4)).await.unwrap();
    let duplicate = api_error(
        c.create_user(&CreateUser {
            ssn: Some(ssn(5)),
            username: Some("typed5".to_owned()),
            ..new_user(4)
        })
        .await,
    );
    assert_eq!(duplicate.status, 409, "{duplicate}");
    assert!(duplicate.has("duplicate", Some("email")), "{duplicate}");

    let missing = api_error(
        c.get_user("user-01a222b8-1e42-73f6-92e2-c1ebdea6c27c")
            .await,
    );
    assert_eq!(missing.status, 404);
    assert!(missing.has("not_found", None), "{missing}");

    let stranger = client::Client::new(&app.base_url, "onb_0000000000000000_x", "nobody", "s");
    let refused = api_error(stranger.get_user(&first.id).await);
    assert_eq!(refused.status, 401, "{refused}");
}
service_test!(refusals, refusals_are_typed_errors);
