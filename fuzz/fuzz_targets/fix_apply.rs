//! Fix application: a flags byte then a file's text; the fixed file always parses, or `fix`
//! leaves it untouched.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::check_fix(data));
