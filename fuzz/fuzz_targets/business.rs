//! Fuzz target: raw bytes through the body reader and `POST /business/create`'s field
//! reading into `NewBusiness::parse`; a business that parses is stored and read back equal.
#![no_main]

use domain::{Business, BusinessId, ProgramId};
use libfuzzer_sys::fuzz_target;
use onboard_fuzz::{
    assert_business_fits_columns, assert_client_error, business_record, create_business, now, today,
};
use uuid::Uuid;

fuzz_target!(|data: &[u8]| {
    match create_business(data, today()) {
        Ok(new) => {
            let id = BusinessId::from_uuid(Uuid::from_u128(1));
            let program = ProgramId::from_uuid(Uuid::from_u128(2));
            let business = Business::create(id, program, &new, now());
            assert_business_fits_columns(&business);
            let restored = Business::restore(&business_record(&business))
                .expect("a created business restores");
            assert_eq!(restored, business);
        }
        Err(e) => assert_client_error(&e),
    }
});
