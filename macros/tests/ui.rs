//! Compile-time behaviour: what compiles, and the error each misuse gives (snapshots beside
//! each case as `.stderr`).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
