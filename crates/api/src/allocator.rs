//! The allocator's settings, applied when `onboard` starts (default feature `mimalloc`).
//!
//! mimalloc 3 hands memory the program has freed back to the OS only a second after it was
//! freed (its `purge_delay`, 1000 ms by default). Under load a second's worth of freed
//! buffers is 13–23 MiB of RSS that serves nothing: measured on SQLite, the peak RSS of the
//! create and read scenarios fell from 68–82 MiB to 56–71 MiB with the delay at 0, at the same
//! server CPU per request (docs/bench.md, "Allocator"). `onboard` therefore purges at once,
//! unless `MIMALLOC_PURGE_DELAY` is set in its environment (mimalloc reads it itself).
//!
//! The one `unsafe` of the workspace (`cargo xtask check-layers` keeps it here): mimalloc's
//! options are set through its C API, which the `mimalloc` crate does not wrap.

use std::os::raw::c_long;

use libmimalloc_sys::mi_option_t;

/// `mi_option_purge_delay`, its place in mimalloc 3's `mi_option_e` (`include/mimalloc.h`):
/// `libmimalloc-sys` 0.1.49 names no constant for it. The test below checks the place against
/// the option's documented default.
const PURGE_DELAY: mi_option_t = 15;

/// Purges freed memory at once (see the module), unless the environment chooses a delay.
/// Call it first thing in `main`, before any thread is started.
pub fn purge_freed_memory_at_once() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        set(PURGE_DELAY, 0);
    }
}

#[allow(unsafe_code)]
fn set(option: mi_option_t, value: c_long) {
    // SAFETY: `mi_option_set` stores one entry of mimalloc's option table (an array indexed
    // by the option, which is in range: see `PURGE_DELAY`); any value is valid for it, and
    // mimalloc reads it at its next purge.
    unsafe { libmimalloc_sys::mi_option_set(option, value) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(unsafe_code)]
    fn get(option: mi_option_t) -> c_long {
        // SAFETY: reads one entry of mimalloc's option table, initialising it from the
        // environment on first use; `option` is in range.
        unsafe { libmimalloc_sys::mi_option_get(option) }
    }

    #[test]
    fn the_purge_delay_is_the_option_set_and_it_becomes_zero() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return; // the environment chose; nothing to check here
        }
        // mimalloc 3's default purge delay, 1000 ms: no neighbouring option has that default
        // (14 is 1, 16 is 0), so the index is the purge delay's.
        assert_eq!(get(PURGE_DELAY), 1000);
        purge_freed_memory_at_once();
        assert_eq!(get(PURGE_DELAY), 0);
    }
}
