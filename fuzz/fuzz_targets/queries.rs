//! Fuzz target: raw bytes through the body reader into the two listing queries, read as
//! `POST /user/get-all` and `POST /business/customers/get-all` read them.
#![no_main]

use domain::{ContactQuery, PageRequest, RawContactQuery, RawUserQuery, UserQuery};
use libfuzzer_sys::fuzz_target;
use onboard_fuzz::{assert_client_error, read_body};

fn check_page(page: PageRequest) {
    assert!((1..=PageRequest::MAX_PAGE).contains(&page.page()));
    assert!((1..=PageRequest::MAX_PER_PAGE).contains(&page.per_page()));
    let _ = page.offset();
}

fuzz_target!(|data: &[u8]| {
    let users = read_body(data).and_then(|mut f| {
        let raw = RawUserQuery {
            page: f.integer("page"),
            per_page: f.integer("per_page"),
            email: f.string("email"),
            search: f.string("search"),
            status: f.string("status"),
            kyc_status: f.string("kyc_status"),
            sort: f.string("sort"),
        };
        f.finish_with(UserQuery::parse(&raw))
    });
    match users {
        Ok(q) => {
            check_page(q.page());
            assert!(
                q.search()
                    .is_none_or(|s| s.chars().count() <= UserQuery::MAX_SEARCH)
            );
        }
        Err(e) => assert_client_error(&e),
    }

    let contacts = read_body(data).and_then(|mut f| {
        let raw = RawContactQuery {
            business_id: f.string("business_id"),
            contact_type: f.string("type"),
            page: f.integer("page"),
            per_page: f.integer("per_page"),
        };
        f.finish_with(ContactQuery::parse(&raw))
    });
    match contacts {
        Ok(q) => check_page(q.page()),
        Err(e) => assert_client_error(&e),
    }
});
