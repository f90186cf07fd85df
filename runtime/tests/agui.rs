//! The AG-UI mapping, checked by the real AG-UI packages: runs built with the bridge are mapped
//! with `agent_events::agui` and handed to `tests/agui/verify.mjs`, which parses every event
//! with the `@ag-ui/core` zod schemas, runs the sequence through `verifyEvents` from
//! `@ag-ui/client`, and replays each run through the client's own `runAgent` pipeline, failing
//! on any warning. Broken sequences must make it fail, so the checks are known to run.
//!
//! Needs `node` and `npm` on the PATH; the first run installs the pinned packages with `npm ci`
//! into `tests/agui/node_modules`. Without `node` each test runs its Rust-side assertions and
//! writes `SKIPPED <test>: needs Node.js …` past libtest's capture (see `skip/mod.rs`) for the
//! node checks, unless `AGENT_EVENTS_REQUIRE_SERVICES=1` (as CI sets): then it fails.
//! `AGENT_EVENTS_SKIP_NODE=1` skips the node checks on purpose (and says so the same way).
#![cfg(feature = "agui")]

mod skip;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use agent_events::agui::{to_agui, AgUiMapper};
use agent_events::schema::CustomEvent;
use agent_events::testing::Recorder;
use agent_events::{EventBridge, Run, RunContext};
use serde_json::{json, Value};

// ---- running verify.mjs ----------------------------------------------------------------------

fn node_project() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("agui")
}

fn skip_node() -> bool {
    std::env::var("AGENT_EVENTS_SKIP_NODE").is_ok_and(|v| v == "1")
}

fn missing_tool(tool: &str, error: &std::io::Error) -> String {
    format!(
        "`{tool}` could not be run ({error}). The AG-UI tests check the mapping with the real \
         @ag-ui/core and @ag-ui/client packages, which need node and npm on the PATH (tested with \
         node 20 and npm 11): install them, or set AGENT_EVENTS_SKIP_NODE=1 to skip these checks."
    )
}

/// Why the node checks cannot run here: `node` is not on the PATH.
const NO_NODE: &str = "no-node";

/// Makes sure node runs and the pinned packages are installed (`npm ci`, once per test run,
/// when `node_modules` is missing or older than `package-lock.json`). `Err(NO_NODE)` when
/// there is no `node` at all.
fn node_ready() -> Result<(), String> {
    static READY: OnceLock<Result<(), String>> = OnceLock::new();
    READY
        .get_or_init(|| {
            let dir = node_project();
            match Command::new("node").arg("--version").output() {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(NO_NODE.to_owned()),
                Err(e) => return Err(missing_tool("node", &e)),
            }
            let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
            let installed = modified(&dir.join("node_modules").join(".package-lock.json"));
            let locked = modified(&dir.join("package-lock.json"));
            if installed.is_some() && installed >= locked {
                return Ok(());
            }
            let out = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir)
                .output()
                .map_err(|e| missing_tool("npm", &e))?;
            if !out.status.success() {
                return Err(format!(
                    "`npm ci` in {} failed ({}):\n{}",
                    dir.display(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            Ok(())
        })
        .clone()
}

struct Verdict {
    success: bool,
    stdout: String,
    stderr: String,
}

/// Runs `verify.mjs --json` on these events; `None` when the node checks are skipped.
fn verify(name: &str, events: &[Value]) -> Option<Verdict> {
    if skip_node() {
        skip::skip_asked(&format!("AGENT_EVENTS_SKIP_NODE=1: `{name}` not checked with the AG-UI packages"));
        return None;
    }
    match node_ready() {
        Ok(()) => {}
        Err(message) if message == NO_NODE => {
            skip::skip(
                "Node.js 20+ and npm",
                &format!("`node` not found on the PATH: `{name}` not checked with the AG-UI packages"),
            );
            return None;
        }
        Err(message) => panic!("{message}"),
    }
    let file = std::env::temp_dir().join(format!("agent-events-agui-{}-{name}.json", std::process::id()));
    std::fs::write(&file, serde_json::to_vec_pretty(events).unwrap()).unwrap();
    let out = Command::new("node")
        .arg("verify.mjs")
        .arg("--json")
        .arg(&file)
        .current_dir(node_project())
        .output()
        .unwrap_or_else(|e| panic!("{}", missing_tool("node", &e)));
    std::fs::remove_file(&file).ok();
    Some(Verdict {
        success: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Asserts that the AG-UI packages accept the events; returns verify.mjs's summary: the
/// count, each run's outcome and the conversation the client built.
#[track_caller]
fn assert_accepted(name: &str, events: &[Value]) -> Option<Value> {
    let verdict = verify(name, events)?;
    assert!(
        verdict.success,
        "the AG-UI packages rejected `{name}`:\n{}\nevents:\n{}",
        verdict.stderr,
        serde_json::to_string_pretty(events).unwrap()
    );
    let summary: Value = serde_json::from_str(&verdict.stdout).expect("verify.mjs prints a JSON summary");
    assert_eq!(summary["verified"], events.len());
    Some(summary)
}

/// Asserts that the AG-UI packages reject the events at `stage` with a message containing
/// `expected`.
#[track_caller]
fn assert_rejected(name: &str, events: &[Value], stage: &str, expected: &str) {
    let Some(verdict) = verify(name, events) else { return };
    assert!(!verdict.success, "the AG-UI packages accepted the broken `{name}`:\n{}", verdict.stdout);
    let headline = format!("AG-UI {stage} check failed");
    assert!(
        verdict.stderr.contains(&headline) && verdict.stderr.contains(expected),
        "expected `{headline}` and `{expected}`, got:\n{}",
        verdict.stderr
    );
}

// ---- runs ------------------------------------------------------------------------------------

fn bridge() -> (EventBridge, Recorder) {
    let recorder = Recorder::new();
    (EventBridge::builder().sink(recorder.clone()).build(), recorder)
}

fn start(bridge: &EventBridge, run_id: &str) -> Run {
    bridge.start_run(RunContext::new("user-1", "thread-1", "research_agent").with_run_id(run_id))
}

/// A run that does everything once: a user message, thoughts, a response, three parallel tool
/// calls (one completes, one fails, one is dropped), a custom event, and a final answer.
fn full_run(bridge: &EventBridge, run_id: &str) {
    let run = start(bridge, run_id);
    run.user_message("When did Rust 1.0 come out?");
    run.thinking_with_reasoning("Search the web", "The date is in the release notes");
    run.thinking("Then check the changelog");
    run.agent_response("Let me look that up.");
    let search = run.tool_executing_with_id("search", "call-search", json!({ "query": "rust 1.0" }));
    let fetch = run.tool_executing("fetch", json!({ "url": "https://blog.rust-lang.org" }));
    let changelog = run.tool_executing("changelog", ());
    search.completed(json!({ "hits": ["2015-05-15"] }));
    fetch.failed("connection refused");
    drop(changelog); // a tool that never finished: closed as dropped by its guard
    run.emit(CustomEvent::new("sources_ranked").field("count", 1)).unwrap();
    run.completed("Rust 1.0 came out on 2015-05-15.", json!({ "date": "2015-05-15" }));
}

/// A run that fails with a thought and a tool call still open.
fn failed_run(bridge: &EventBridge, run_id: &str) {
    let run = start(bridge, run_id);
    run.thinking("Ask the model");
    let _open = run.tool_executing("llm", json!({ "prompt": "hi" }));
    run.failed("model unavailable"); // closes the call first (reason "dropped")
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

fn content(value: &Value) -> Value {
    serde_json::from_str(value.as_str().expect("content is JSON text")).unwrap()
}

// ---- accepted --------------------------------------------------------------------------------

#[test]
fn a_full_run_passes_the_agui_schemas_verifier_and_client() {
    let (bridge, recorder) = bridge();
    full_run(&bridge, "run-1");
    recorder.assert_invariants();
    let events = to_agui(recorder.events());
    assert_eq!(
        types(&events),
        [
            "RUN_STARTED",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "REASONING_START",
            "REASONING_MESSAGE_START",
            "REASONING_MESSAGE_CONTENT",
            "REASONING_MESSAGE_CONTENT",
            "REASONING_MESSAGE_END",
            "REASONING_MESSAGE_START",
            "REASONING_MESSAGE_CONTENT",
            "REASONING_MESSAGE_END",
            "REASONING_END",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "TOOL_CALL_START",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_END",
            "TOOL_CALL_START",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_END",
            "TOOL_CALL_START",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_END",
            "TOOL_CALL_RESULT",
            "TOOL_CALL_RESULT",
            "TOOL_CALL_RESULT",
            "CUSTOM",
            "TEXT_MESSAGE_START",
            "TEXT_MESSAGE_CONTENT",
            "TEXT_MESSAGE_END",
            "RUN_FINISHED",
        ]
    );

    let Some(summary) = assert_accepted("full_run", &events) else { return };
    assert_eq!(
        summary["runs"],
        json!([{
            "runId": "run-1",
            "outcome": "success",
            "result": { "date": "2015-05-15" },
            "pendingToolCallIds": [],
        }]),
        "every call, failed or dropped too, is answered"
    );
    // The conversation the AG-UI client built from the events.
    let messages = summary["messages"].as_array().unwrap();
    let roles: Vec<_> = messages.iter().map(|m| m["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["user", "reasoning", "reasoning", "assistant", "tool", "tool", "tool", "assistant"]);
    assert_eq!(messages[0]["content"], "When did Rust 1.0 come out?");
    assert_eq!(messages[1]["content"], "Search the web\n\nThe date is in the release notes");
    assert_eq!(messages[3]["content"], "Let me look that up.");
    let calls = messages[3]["toolCalls"].as_array().unwrap();
    let names: Vec<_> = calls.iter().map(|c| c["function"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["search", "fetch", "changelog"]);
    assert_eq!(calls[0]["id"], "call-search");
    assert_eq!(content(&calls[0]["function"]["arguments"]), json!({ "query": "rust 1.0" }));
    assert_eq!(content(&calls[2]["function"]["arguments"]), json!({}));
    assert_eq!(messages[4]["toolCallId"], "call-search");
    assert_eq!(content(&messages[4]["content"]), json!({ "hits": ["2015-05-15"] }));
    assert_eq!(
        content(&messages[5]["content"]),
        json!({ "error": "connection refused", "reason": "failed" })
    );
    assert_eq!(content(&messages[6]["content"])["reason"], "dropped");
    assert_eq!(messages[7]["content"], "Rust 1.0 came out on 2015-05-15.");
}

#[test]
fn a_failed_run_ends_with_run_error_after_its_open_call_is_answered() {
    let (bridge, recorder) = bridge();
    failed_run(&bridge, "run-failed");
    recorder.assert_invariants();
    let events = to_agui(recorder.events());
    assert_eq!(
        types(&events),
        [
            "RUN_STARTED",
            "REASONING_START",
            "REASONING_MESSAGE_START",
            "REASONING_MESSAGE_CONTENT",
            "REASONING_MESSAGE_END",
            "REASONING_END",
            "TOOL_CALL_START",
            "TOOL_CALL_ARGS",
            "TOOL_CALL_END",
            "TOOL_CALL_RESULT",
            "RUN_ERROR",
        ],
        "the runtime closes the call, then the run"
    );
    assert_eq!(content(&events[9]["content"])["reason"], "dropped");
    let Some(summary) = assert_accepted("failed_run", &events) else { return };
    assert_eq!(
        summary["runs"],
        json!([{
            "runId": "run-failed", "outcome": "error", "message": "model unavailable", "code": "failed",
        }])
    );
}

#[test]
fn a_thread_of_runs_with_raw_events_passes_as_one_stream() {
    let (bridge, recorder) = bridge();
    full_run(&bridge, "run-1");
    failed_run(&bridge, "run-2");
    drop(start(&bridge, "run-3")); // nobody closed it: `agent_completed` with reason "dropped"
    full_run(&bridge, "run-4");
    recorder.assert_invariants();
    let mut mapper = AgUiMapper::new().with_raw_events(true);
    let events: Vec<Value> = recorder.events().iter().flat_map(|e| mapper.map(e)).collect();
    assert_eq!(mapper.skipped(), 0);
    assert!(events.iter().filter(|e| e["type"] != "REASONING_END").all(|e| e["rawEvent"]["v"] == 1));

    let Some(summary) = assert_accepted("thread", &events) else { return };
    let outcomes: Vec<_> = summary["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["runId"].clone(), r["outcome"].clone(), r["code"].clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (json!("run-1"), json!("success"), Value::Null),
            (json!("run-2"), json!("error"), json!("failed")),
            (json!("run-3"), json!("error"), json!("dropped")),
            (json!("run-4"), json!("success"), Value::Null),
        ]
    );
}

/// A small deterministic generator (xorshift64*), so a failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

#[test]
fn generated_runs_pass_the_real_client() {
    let (bridge, recorder) = bridge();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for r in 0..150 {
        let run = start(&bridge, &format!("gen-{r}"));
        let mut open = Vec::new();
        for _ in 0..rng.below(12) {
            match rng.below(9) {
                0 => run.thinking(["", "a thought"][rng.below(2) as usize]),
                1 => run.thinking_with_reasoning("step", ["", "why"][rng.below(2) as usize]),
                2 => run.user_message(["", "question"][rng.below(2) as usize]),
                3 => run.agent_response(["", "answer", "final"][rng.below(3) as usize]),
                // A model reusing a tool call id, or a fresh one.
                4 => open.push(run.tool_executing_with_id(
                    "t",
                    format!("id-{}", rng.below(3)),
                    json!({ "n": r }),
                )),
                5 => open.push(run.tool_executing("t", ())),
                6 | 7 if !open.is_empty() => {
                    let call = open.remove(rng.below(open.len() as u64) as usize);
                    match rng.below(3) {
                        0 => call.completed(json!([r])),
                        1 => call.failed("boom"),
                        _ => drop(call),
                    }
                }
                _ => run.emit(CustomEvent::new("progress").field("r", r)).unwrap(),
            }
        }
        // Some calls stay open: closing the run closes them.
        match rng.below(3) {
            0 => run.completed(["", "final", "done"][rng.below(3) as usize], json!({ "r": r })),
            1 => run.failed("gave up"),
            _ => drop(run),
        }
        drop(open);
    }
    recorder.assert_invariants();
    let events = to_agui(recorder.events());
    let Some(summary) = assert_accepted("generated", &events) else { return };
    let runs = summary["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 150);
    for run in runs {
        assert!(run["outcome"] == "error" || run["pendingToolCallIds"] == json!([]), "{run}");
    }
}

// ---- rejected: proof that each check really runs ---------------------------------------------

fn mapped_full_run() -> Vec<Value> {
    let (bridge, recorder) = bridge();
    full_run(&bridge, "run-1");
    to_agui(recorder.events())
}

#[test]
fn the_verifier_rejects_a_tool_call_end_without_its_start() {
    let mut events = mapped_full_run();
    let start = events.iter().position(|e| e["type"] == "TOOL_CALL_START").unwrap();
    let args = start + 1;
    events.drain(start..=args);
    assert_rejected(
        "end_without_start",
        &events,
        "protocol",
        "No active tool call found with ID 'call-search'",
    );
}

#[test]
fn the_verifier_rejects_events_after_run_finished() {
    let mut events = mapped_full_run();
    events.push(json!({ "type": "CUSTOM", "name": "late", "value": 1 }));
    assert_rejected("after_finished", &events, "protocol", "The run has already finished");
}

#[test]
fn the_verifier_rejects_a_run_finished_while_a_message_is_open() {
    let mut events = mapped_full_run();
    let end = events.iter().rposition(|e| e["type"] == "TEXT_MESSAGE_END").unwrap();
    events.remove(end);
    assert_rejected("unclosed_message", &events, "protocol", "text messages are still active");
}

#[test]
fn the_schema_check_rejects_a_missing_field_and_a_fractional_timestamp() {
    let mut events = mapped_full_run();
    let start = events.iter().position(|e| e["type"] == "TOOL_CALL_START").unwrap();
    events[start].as_object_mut().unwrap().remove("toolCallName");
    assert_rejected("missing_field", &events, "schema", "toolCallName");

    let mut events = mapped_full_run();
    events[0]["timestamp"] = json!(1_700_000_000.5);
    assert_rejected("fractional_timestamp", &events, "schema", "expected int");
}

#[test]
fn the_client_check_rejects_a_field_agui_does_not_describe() {
    let mut events = mapped_full_run();
    events[0]["agentName"] = json!("research_agent");
    assert_rejected("unknown_field", &events, "client", "Removed unrecognised material at '/agentName'");
}

// ---- served: `GET /events/sse?format=agui` -----------------------------------------------------

/// The transport's SSE route in AG-UI format, read by a real HTTP client and checked by the
/// AG-UI packages like the mapped runs above.
#[cfg(all(feature = "axum", feature = "jwt"))]
mod served {
    use std::future::IntoFuture;
    use std::net::SocketAddr;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    use agent_events::transport::{router, JwtAuthenticator, ReplayHub, TransportState};
    use agent_events::{EventBridge, RunContext};
    use futures_util::StreamExt;
    use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
    use serde_json::{json, Value};
    use tokio::net::TcpListener;
    use tokio::time::timeout;

    use super::{assert_accepted, types};

    const WAIT: Duration = Duration::from_secs(5);
    const SECRET: &[u8] = b"a test secret that is long enough for HS256";

    fn token(user: &str) -> String {
        let exp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + 3600;
        let claims = json!({ "sub": user, "exp": exp });
        encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(SECRET)).unwrap()
    }

    /// A transport server on 127.0.0.1:0 fed by a bridge whose sink is its hub.
    async fn server() -> (SocketAddr, EventBridge, TransportState) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let hub = ReplayHub::new();
        let state = TransportState::new(hub.clone(), JwtAuthenticator::hs256(SECRET));
        tokio::spawn(axum::serve(listener, router(state.clone())).into_future());
        (addr, EventBridge::builder().sink(hub).build(), state)
    }

    fn http() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    async fn get(addr: SocketAddr, query: &str, last_event_id: Option<&str>) -> reqwest::Response {
        let mut request = http().get(format!("http://{addr}/events/sse?{query}"));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id);
        }
        timeout(WAIT, request.send()).await.expect("answers in time").unwrap()
    }

    /// One SSE block: its `id`, and its `data` as JSON (`None`: an id alone).
    #[derive(Debug)]
    struct Block {
        id: Option<String>,
        data: Option<Value>,
    }

    /// Reads SSE blocks (comments skipped) until `stop` says so or the stream ends.
    async fn read_until(response: reqwest::Response, mut stop: impl FnMut(&Value) -> bool) -> Vec<Block> {
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        let mut body = Box::pin(response.bytes_stream());
        let (mut buffer, mut blocks) = (Vec::<u8>::new(), Vec::new());
        loop {
            while let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                let raw: Vec<u8> = buffer.drain(..end + 2).collect();
                let text = std::str::from_utf8(&raw[..end]).unwrap();
                if text.lines().all(|l| l.starts_with(':')) {
                    continue;
                }
                let mut block = Block { id: None, data: None };
                for line in text.lines() {
                    match line.split_once(": ") {
                        Some(("id", id)) => block.id = Some(id.to_owned()),
                        Some(("data", data)) => block.data = Some(serde_json::from_str(data).unwrap()),
                        _ => panic!("unexpected SSE line {line:?} (AG-UI format has no `event:`)"),
                    }
                }
                let done = block.data.as_ref().is_some_and(&mut stop);
                blocks.push(block);
                if done {
                    return blocks;
                }
            }
            match timeout(WAIT, body.next()).await.expect("SSE data in time") {
                Some(chunk) => buffer.extend_from_slice(&chunk.unwrap()),
                None => return blocks,
            }
        }
    }

    fn data(blocks: &[Block]) -> Vec<Value> {
        blocks.iter().filter_map(|b| b.data.clone()).collect()
    }

    fn run_finished(event: &Value) -> bool {
        event["type"] == "RUN_FINISHED"
    }

    /// Alice's run: a thought, a tool call that succeeds, one that fails, one dropped, and the
    /// answer; Bob's run interleaves with it.
    fn emit(bridge: &EventBridge) -> usize {
        let run = bridge.start_run(RunContext::new("alice", "thread-a", "agent").with_run_id("run-alice"));
        let other = bridge.start_run(RunContext::new("bob", "thread-b", "agent").with_run_id("run-bob"));
        run.thinking_with_reasoning("Search first", "The answer is on the web");
        other.thinking("Bob's thought");
        let search = run.tool_executing_with_id("search", "call-1", json!({ "query": "rust" }));
        let fetch = run.tool_executing("fetch", json!({ "url": "https://example.org" }));
        let stale = run.tool_executing("stale", ());
        search.completed(json!(["rust-lang.org"]));
        fetch.failed("connection refused");
        drop(stale);
        other.completed("Bob's answer", ());
        run.completed("Rust is a language.", json!({ "ok": true }));
        // agent_started, thinking, 3 × tool_executing, 3 × tool_completed, agent_completed.
        9
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_users_run_served_as_agui_passes_the_real_client() {
        let (addr, bridge, state) = server().await;
        let response = get(addr, &format!("format=agui&token={}", token("alice")), None).await;
        let ours = emit(&bridge);
        let blocks = read_until(response, run_finished).await;
        let events = data(&blocks);

        assert_eq!(events.first().map(|e| e["type"].clone()), Some(json!("RUN_STARTED")));
        assert_eq!(events.last().map(|e| e["type"].clone()), Some(json!("RUN_FINISHED")));
        assert!(events.iter().all(|e| e.get("runId").is_none_or(|r| r == "run-alice")), "only Alice's run");
        assert!(!serde_json::to_string(&events).unwrap().contains("Bob"), "nothing of Bob's run");
        // One cursor per event of ours, on the last AG-UI event made from it.
        let ids: Vec<&Block> = blocks.iter().filter(|b| b.id.is_some()).collect();
        assert_eq!(ids.len(), ours);
        assert!(blocks.last().unwrap().id.is_some(), "RUN_FINISHED carries the last cursor");
        let mut cursors: Vec<_> = ids.iter().map(|b| b.id.clone().unwrap()).collect();
        cursors.dedup();
        assert_eq!(cursors.len(), ours, "distinct cursors");
        let results = events.iter().filter(|e| e["type"] == "TOOL_CALL_RESULT").count();
        assert_eq!(results, 3);

        if let Some(summary) = assert_accepted("served", &events) {
            assert_eq!(
                summary["runs"],
                json!([{
                    "runId": "run-alice", "outcome": "success", "result": { "ok": true },
                    "pendingToolCallIds": [],
                }])
            );
            let roles: Vec<_> = summary["messages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["role"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(roles, ["reasoning", "assistant", "tool", "tool", "tool", "assistant"]);
        }

        // Resuming midway (after the thought): the rest, begun with a synthesized RUN_STARTED.
        let thought = ids[1].id.clone().unwrap();
        let resumed = get(addr, &format!("format=agui&token={}", token("alice")), Some(&thought)).await;
        let rest = data(&read_until(resumed, run_finished).await);
        assert_eq!(types(&rest)[..2], ["RUN_STARTED", "TOOL_CALL_START"]);
        let tail = events.iter().position(|e| e["type"] == "TOOL_CALL_START").unwrap();
        assert_eq!(rest[1..], events[tail..], "the same events after the cursor");

        // Shutdown: an AG-UI CUSTOM notice, then the end of the stream.
        let open = get(addr, &format!("format=agui&token={}&after={thought}", token("alice")), None).await;
        state.shutdown();
        let blocks = read_until(open, |_| false).await;
        let last = blocks.last().expect("a shutdown notice");
        assert_eq!(last.id, None);
        assert_eq!(
            last.data,
            Some(
                json!({ "type": "CUSTOM", "name": "agent_events.shutdown", "value": { "control": "shutdown" } })
            )
        );
        bridge.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn notices_are_agui_custom_events_and_at_most_64_runs_are_mapped() {
        let (addr, bridge, _state) = server().await;
        let response = get(addr, &format!("format=agui&after=nope&token={}", token("alice")), None).await;
        let runs: Vec<_> = (0..65)
            .map(|i| bridge.start_run(RunContext::new("alice", "t", "agent").with_run_id(format!("run-{i}"))))
            .collect();
        let mut runs = runs.into_iter();
        runs.next().unwrap().completed("", ()); // run-0: its mapper made way for run-64's
        runs.next_back().unwrap().completed("", ()); // run-64: still mapped
        let mut finished = 0;
        let blocks = read_until(response, |e| {
            finished += usize::from(e["type"] == "RUN_FINISHED");
            finished == 2
        })
        .await;
        let events = data(&blocks);
        assert_eq!(
            events[0],
            json!({
                "type": "CUSTOM", "name": "agent_events.reset",
                "value": { "control": "reset", "reason": "unknown_cursor" },
            })
        );
        assert_eq!(blocks[0].id, None, "a notice does not move Last-Event-ID");
        let tail: Vec<_> = events[66..].iter().map(|e| (e["type"].clone(), e["runId"].clone())).collect();
        assert_eq!(
            tail,
            [
                (json!("RUN_STARTED"), json!("run-0")),
                (json!("RUN_FINISHED"), json!("run-0")),
                (json!("RUN_FINISHED"), json!("run-64")),
            ]
        );
        assert!(events[1..66].iter().all(|e| e["type"] == "RUN_STARTED"));
        drop(runs);
        bridge.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unknown_format_is_refused_with_400() {
        let (addr, _bridge, _state) = server().await;
        for format in ["bogus", "AGUI"] {
            let response = get(addr, &format!("format={format}&token={}", token("alice")), None).await;
            assert_eq!(response.status(), 400, "format={format}");
            assert_eq!(response.headers()["content-type"], "application/json");
            let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
            assert_eq!(body["error"], "unsupported_format", "{body}");
            assert!(body["message"].as_str().unwrap().contains(format), "{body}");
        }
        // Refused before authentication too.
        assert_eq!(get(addr, "format=bogus", None).await.status(), 400);
    }
}
