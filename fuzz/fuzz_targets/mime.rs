//! `cargo fuzz run mime`: see `portcullis_fuzz::mime` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::mime::check(data));
