//! Any bytes as a Python file: findings or a `parse-error`, never a panic or a stack overflow.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_support::lint_any("app/fuzz.py", data));
