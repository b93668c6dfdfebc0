//! `cargo fuzz run session`: see `portcullis_fuzz::session` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::session::check(data));
