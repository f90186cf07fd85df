//! The demo page (`examples/demo`) in headless Chromium, driven by `tests/browser/demo.mjs`
//! (playwright-core): what a user sees when they press "Run the demo agent", and after their
//! connection drops while a run goes on.
//!
//! Needs node 20+ and Chromium (`/usr/bin/chromium`, or `CHROMIUM=<path>`). `npm ci` installs
//! playwright-core (pinned in `tests/browser/package-lock.json`, no browser download) into
//! `tests/browser/node_modules` when it is missing. Without node or Chromium the test writes
//! `SKIPPED <test>: needs …` past libtest's capture (see `skip/mod.rs`) and returns, unless
//! `AGENT_EVENTS_REQUIRE_SERVICES=1` (as CI sets, after installing them): then it fails.
//! `AGENT_EVENTS_SKIP_BROWSER=1` always skips it (and says so the same way).

#[path = "../examples/demo/app.rs"]
mod app;
mod skip;

use std::future::IntoFuture;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The node project that drives the browser.
const SCRIPT_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser");

/// How long the whole browser session may take (it takes about 3 s).
const NODE_DEADLINE: Duration = Duration::from_secs(120);

/// What the demo run shows, in order.
const DEMO_RUN: [&str; 8] = [
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "tool_executing",
    "tool_completed",
    "agent_response",
    "agent_completed",
];

/// The lifecycle every run shows, in this order.
const LIFECYCLE: [&str; 5] =
    ["agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"];

/// One list item of the page.
#[derive(Debug, Clone, PartialEq)]
struct Shown {
    /// `data-type`, or `control:<name>` for a control notice.
    kind: String,
    tool: Option<String>,
    cursor: Option<String>,
    run_id: Option<String>,
    seq: Option<u64>,
    success: Option<bool>,
}

fn shown(items: &Value) -> Vec<Shown> {
    let text = |item: &Value, key: &str| item[key].as_str().map(str::to_owned);
    items
        .as_array()
        .expect("a list of items")
        .iter()
        .map(|item| Shown {
            kind: text(item, "type").unwrap_or_else(|| format!("control:{}", item["control"])),
            tool: text(item, "tool"),
            cursor: text(item, "cursor"),
            run_id: text(item, "runId"),
            seq: item["seq"].as_u64(),
            success: item["success"].as_bool(),
        })
        .collect()
}

fn kinds(items: &[Shown]) -> Vec<&str> {
    items.iter().map(|s| s.kind.as_str()).collect()
}

/// Whether `expected` appears in `kinds` in order (other items may come between).
fn in_order(kinds: &[&str], expected: &[&str]) -> bool {
    let mut it = kinds.iter();
    expected.iter().all(|want| it.any(|k| k == want))
}

fn skipped() -> bool {
    std::env::var_os("AGENT_EVENTS_SKIP_BROWSER").is_some_and(|v| v == "1")
}

/// Chromium's path; `None` (the test is skipped) when it is missing and not required.
fn chromium() -> Option<PathBuf> {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if !path.is_file() {
        skip::skip(
            "Chromium",
            &format!(
                "not found at {}; Debian: `apt-get install chromium`, or point CHROMIUM at it",
                path.display()
            ),
        );
        return None;
    }
    Some(path)
}

/// Whether Node.js 20+ runs; a missing `node` is a skip, a too old one a failure.
fn check_node() -> bool {
    let version = Command::new("node").arg("--version").output();
    let version = match version {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        _ => {
            skip::skip("Node.js 20+ and npm", "`node` not found on the PATH");
            return false;
        }
    };
    let major: u32 =
        version.trim_start_matches('v').split('.').next().and_then(|m| m.parse().ok()).unwrap_or(0);
    assert!(major >= 20, "node {version} is too old for playwright-core: install Node.js 20+");
    true
}

/// `npm ci` when playwright-core is not installed yet.
fn ensure_playwright() {
    let installed = Path::new(SCRIPT_DIR).join("node_modules/playwright-core/package.json");
    if installed.is_file() {
        return;
    }
    eprintln!("installing playwright-core into {SCRIPT_DIR}/node_modules (npm ci)");
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--ignore-scripts"])
        .current_dir(SCRIPT_DIR)
        .output()
        .expect("`npm` runs (it comes with node)");
    assert!(
        out.status.success(),
        "`npm ci` in {SCRIPT_DIR} failed ({}): it needs the npm registry once\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `demo.mjs` against `url`; returns its stdout, or fails with its output.
fn drive_browser(url: &str, chromium: &Path) -> String {
    let mut child = Command::new("node")
        .arg("demo.mjs")
        .arg(url)
        .current_dir(SCRIPT_DIR)
        .env("CHROMIUM", chromium)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node starts");
    let read_all = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stdout = read_all(Box::new(child.stdout.take().expect("stdout")));
    let stderr = read_all(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + NODE_DEADLINE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("node status") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let (stdout, stderr) = (stdout.join().expect("stdout"), stderr.join().expect("stderr"));
    match status {
        Some(status) if status.success() => stdout,
        Some(status) => panic!("the browser script failed ({status})\nstdout:\n{stdout}\nstderr:\n{stderr}"),
        None => panic!("the browser script took more than {NODE_DEADLINE:?}\nstderr:\n{stderr}"),
    }
}

/// Checks one demo run as shown: the eight events of one run, numbered 1 to 8, the first tool
/// succeeding and the second failing, the run succeeding.
fn assert_demo_run(run: &[Shown]) {
    assert_eq!(kinds(run), DEMO_RUN, "the demo run as shown");
    let run_id = run[0].run_id.as_deref().expect("a run id");
    assert!(run.iter().all(|s| s.run_id.as_deref() == Some(run_id)), "one run: {run:?}");
    let seqs: Vec<u64> = run.iter().filter_map(|s| s.seq).collect();
    assert_eq!(seqs, (1..=8).collect::<Vec<u64>>(), "seq 1 to 8");
    let tools: Vec<(&str, Option<&str>, Option<bool>)> = run
        .iter()
        .filter(|s| s.kind.starts_with("tool_"))
        .map(|s| (s.kind.as_str(), s.tool.as_deref(), s.success))
        .collect();
    assert_eq!(
        tools,
        [
            ("tool_executing", Some("search_docs"), None),
            ("tool_completed", Some("search_docs"), Some(true)),
            ("tool_executing", Some("fetch_page"), None),
            ("tool_completed", Some("fetch_page"), Some(false)),
        ]
    );
    assert_eq!(run[7].success, Some(true), "the run succeeds");
}

#[test]
fn the_demo_page_shows_a_run_live_and_every_event_once_after_a_reconnect() {
    if skipped() {
        skip::skip_asked("AGENT_EVENTS_SKIP_BROWSER=1");
        return;
    }
    let Some(chromium) = chromium() else { return };
    if !check_node() {
        return;
    }
    ensure_playwright();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let demo = app::Demo::new(app::DemoConfig {
        secret: b"browser-test secret, at least 32 bytes long".to_vec(),
        step: Duration::from_millis(20),
        token_ttl: Duration::from_secs(600),
    });
    let state = demo.state.clone();
    let addr = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("bound address");
        tokio::spawn(axum::serve(listener, demo.router).into_future());
        addr
    });

    let started = Instant::now();
    let stdout = drive_browser(&format!("http://{addr}/"), &chromium);
    eprintln!("browser session: {:.1} s", started.elapsed().as_secs_f64());
    runtime.block_on(async {
        state.shutdown();
        let _ = tokio::time::timeout(Duration::from_secs(5), state.drained()).await;
        demo.bridge.shutdown().await;
    });

    let result = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")).expect("the script's RESULT line");
    let result: Value = serde_json::from_str(result).expect("RESULT is JSON");
    assert_eq!(result["pageErrors"], serde_json::json!([]), "no script error on the page");

    // Live: the run appears as it happens.
    let live = shown(&result["live"]);
    println!("shown live: {}", kinds(&live).join(" → "));
    assert!(
        in_order(&kinds(&live), &LIFECYCLE),
        "the page shows {LIFECYCLE:?} in this order; it showed {:?}",
        kinds(&live)
    );
    assert_demo_run(&live);

    // Disconnected during a second run, then reconnected after the last cursor: the page
    // shows the second run whole, nothing twice, and no notice of lost events.
    assert_eq!(result["started"], 202, "POST /demo/run while disconnected");
    let resumed = shown(&result["resumed"]);
    println!("shown after the reconnect: {}", kinds(&resumed[live.len()..]).join(" → "));
    assert_eq!(&resumed[..live.len()], &live[..], "what was shown stays as it was");
    let second = &resumed[live.len()..];
    assert_demo_run(second);
    assert_ne!(second[0].run_id, live[0].run_id, "a second run");
    let mut cursors: Vec<&str> = resumed.iter().filter_map(|s| s.cursor.as_deref()).collect();
    cursors.sort_unstable();
    cursors.dedup();
    assert_eq!(cursors.len(), resumed.len(), "every event shown once");
    let last_live_cursor = live.last().and_then(|s| s.cursor.clone()).expect("a cursor");
    assert_eq!(
        result["connects"],
        serde_json::json!([null, last_live_cursor]),
        "the page connects without a cursor, then resumes after the last one it showed"
    );
}
