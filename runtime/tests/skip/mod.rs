//! What a test does when a service it needs (redis-server, Chromium, Node) is missing.
//!
//! libtest has no way to mark a test ignored while it runs, and it captures what a test prints
//! (`println!`, `eprintln!`) unless the test fails. So a skipped test would show `ok` and say
//! nothing. Here a skip is written straight to the process's standard error, on a duplicate of
//! its file descriptor that libtest's capture does not see, as one line naming the test:
//!
//! ```text
//! test a_key_that_is_not_a_stream_stops_only_its_own_user ... SKIPPED (needs redis-server: …)
//! ```
//!
//! With `AGENT_EVENTS_REQUIRE_SERVICES=1` (CI sets it) a skip is a failure instead.
#![allow(dead_code)]

use std::io::Write;

/// Whether every service must be there (`AGENT_EVENTS_REQUIRE_SERVICES=1`).
pub fn services_required() -> bool {
    std::env::var_os("AGENT_EVENTS_REQUIRE_SERVICES").is_some_and(|v| v == "1")
}

/// The running test's name (libtest names each test's thread after it).
fn test_name() -> String {
    std::thread::current().name().unwrap_or("a test").to_owned()
}

/// Reports that the running test cannot run because `needs` is missing (`why`: how to get
/// it): fails the test under `AGENT_EVENTS_REQUIRE_SERVICES=1`, else writes the skip where the
/// person running the tests sees it. The caller then returns.
#[track_caller]
pub fn skip(needs: &str, why: &str) {
    let name = test_name();
    if services_required() {
        panic!("{name} needs {needs}, and AGENT_EVENTS_REQUIRE_SERVICES=1: {why}");
    }
    let line = format!(
        "\nSKIPPED {name}: needs {needs} ({why}; AGENT_EVENTS_REQUIRE_SERVICES=1 makes this a failure)\n"
    );
    write_uncaptured(&line);
}

/// Reports a skip asked for explicitly (an `AGENT_EVENTS_SKIP_*` variable): written like
/// [`skip`], never a failure.
pub fn skip_asked(why: &str) {
    write_uncaptured(&format!("\nSKIPPED {}: {why}\n", test_name()));
}

/// Writes to the process's standard error past libtest's capture.
fn write_uncaptured(text: &str) {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = std::io::stderr().as_fd().try_clone_to_owned() {
            let mut file = std::fs::File::from(fd);
            if file.write_all(text.as_bytes()).is_ok() {
                return;
            }
        }
    }
    // Elsewhere: the captured stream (shown with `--nocapture`).
    let _ = std::io::stderr().write_all(text.as_bytes());
    eprint!("{text}");
}
