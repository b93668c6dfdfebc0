//! `cargo fuzz run command`: see `portcullis_fuzz::command` for what is checked.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| portcullis_fuzz::command::check(data));
