//! Fuzz target: the `X-Date` parser, the server's skew arithmetic on what it parsed, and the
//! round trip through the RFC 1123 form the client sends.
#![no_main]

use chrono::{DateTime, Duration, Utc};
use client::signing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let Some(sent) = signing::parse_x_date(text) else {
        return;
    };
    // As `api::auth` does with it.
    let sent_utc: DateTime<Utc> = sent.into();
    let now = onboard_fuzz::now();
    let window = Duration::seconds(300);
    let _stale = (now - sent_utc).abs() > window;
    let _keep_until = sent_utc.max(now) + window;

    let printed = signing::x_date(sent);
    assert_eq!(signing::parse_x_date(&printed), Some(sent), "{printed}");
});
