//! `cargo fuzz run lmtp`: see `portcullis_fuzz::lmtp` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::lmtp::check(data));
