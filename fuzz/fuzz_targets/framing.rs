//! `cargo fuzz run framing`: see `portcullis_fuzz::framing` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::framing::check(data));
