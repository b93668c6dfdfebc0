//! `cargo fuzz run mutf7`: see `portcullis_fuzz::mutf7` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::mutf7::check(data));
