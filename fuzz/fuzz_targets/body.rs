//! Fuzz target: raw bytes through the body reader and `POST /user/create`'s field reading
//! into `NewUser::parse`. A refusal is a 400/422, never a 500; a user that parses is stored
//! and read back equal.
#![no_main]

use domain::ParseContext;
use libfuzzer_sys::fuzz_target;
use onboard_fuzz::{assert_client_error, assert_user_round_trips, create_user, today};

fuzz_target!(|data: &[u8]| {
    let ctx = ParseContext::new(today());
    match create_user(data, ctx) {
        Ok(new_user) => {
            assert_user_round_trips(&new_user, ctx);
        }
        Err(e) => assert_client_error(&e),
    }
});
