//! What the annotated code emits, checked with the recorder: exact sequences of types, names,
//! parameters, results, success and reasons.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use agent_events::schema::{CloseReason, Event, Payload};
use agent_events::testing::{assert_invariants, Recorder};
use agent_events::{agent_events, AgentEvent, EventBridge, Run, RunContext};
use serde_json::{json, Value};

#[derive(Debug)]
struct LookupError(String);

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "lookup failed: {}", self.0)
    }
}

struct DataAgent {
    rows: Vec<(String, u32)>,
}

#[agent_events(name = "data_agent")]
impl DataAgent {
    #[run]
    async fn answer(&self, run: Run, question: String) -> Result<String, LookupError> {
        run.thinking(format!("Looking up {question}"));
        let total = self.total(&run, question.clone(), 10).await?;
        Ok(format!("{question}: {total}"))
    }

    #[agent_events::tool(skip(limit))]
    async fn total(&self, run: &Run, table: String, limit: usize) -> Result<u32, LookupError> {
        let _ = (run, limit);
        let sum = self.rows.iter().filter(|(t, _)| *t == table).map(|(_, n)| n).sum::<u32>();
        if sum == 0 {
            Err(LookupError(table))?;
        }
        Ok(sum)
    }

    #[tool(name = "slow_scan")]
    async fn scan(&self, run: &Run) -> u32 {
        let _ = run;
        tokio::time::sleep(Duration::from_secs(30)).await;
        1
    }

    #[tool(display)]
    fn describe(&self, run: &Run, table: &str) -> String {
        let _ = run;
        format!("{table} has {} rows", self.rows.len())
    }

    #[tool]
    fn explode(&self, run: &Run) -> u32 {
        let _ = run;
        panic!("tool crashed")
    }
}

fn setup() -> (EventBridge, Recorder) {
    let recorder = Recorder::new();
    (EventBridge::builder().sink(recorder.clone()).build(), recorder)
}

fn ctx() -> RunContext {
    RunContext::new("u1", "t1", DataAgent::AGENT_NAME)
}

fn wire(events: &[Arc<Event>]) -> Vec<Value> {
    events.iter().map(|e| e.to_value()).collect()
}

fn agent() -> DataAgent {
    DataAgent { rows: vec![("sales".into(), 40), ("sales".into(), 2)] }
}

#[tokio::test]
async fn a_successful_run_sends_the_full_sequence() {
    let (bridge, recorder) = setup();
    let out = agent().answer(bridge.start_run(ctx()), "sales".into()).await;
    assert_eq!(out.unwrap(), "sales: 42");
    let events = recorder.events();
    assert_eq!(
        recorder.types(),
        ["agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"]
    );
    let w = wire(&events);
    assert_eq!(w[0]["agent_name"], "data_agent");
    assert_eq!(w[2]["tool_name"], "total");
    assert_eq!(
        w[2]["parameters"],
        json!({ "table": "sales" }),
        "the run and skipped parameters are left out"
    );
    assert_eq!((w[3]["results"].clone(), w[3]["success"].clone()), (json!(42), json!(true)));
    assert_eq!(w[3]["tool_call_id"], w[2]["tool_call_id"]);
    assert_eq!(w[4]["final_response"], "sales: 42");
    assert_eq!(w[4]["success"], true);
    assert_invariants(&events);
}

#[tokio::test]
async fn question_mark_in_a_tool_fails_the_tool_and_err_fails_the_run() {
    let (bridge, recorder) = setup();
    let out = agent().answer(bridge.start_run(ctx()), "refunds".into()).await;
    assert!(out.is_err());
    let w = wire(&recorder.events());
    assert_eq!(w[3]["type"], "tool_completed");
    assert_eq!((w[3]["success"].clone(), w[3]["reason"].clone()), (json!(false), json!("failed")));
    assert_eq!(w[3]["error"], "lookup failed: refunds");
    assert_eq!(w[3]["results"], Value::Null);
    assert_eq!(w[4]["type"], "agent_completed");
    assert_eq!((w[4]["success"].clone(), w[4]["reason"].clone()), (json!(false), json!("failed")));
    assert_eq!(w[4]["error"], "lookup failed: refunds");
    assert_invariants(&recorder.events());
}

#[test]
fn a_panic_in_a_tool_closes_it_as_panicked() {
    let (bridge, recorder) = setup();
    let run = bridge.start_run(ctx());
    let a = agent();
    let caught = std::panic::catch_unwind(AssertUnwindSafe(|| a.explode(&run)));
    assert!(caught.is_err());
    assert_eq!(a.describe(&run, "sales"), "sales has 2 rows");
    run.completed("done", ());
    let events = recorder.events();
    let completions: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::ToolCompleted(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(completions[0].tool_name, "explode");
    assert_eq!(completions[0].reason, Some(CloseReason::Panicked));
    assert_eq!(completions[1].results, json!("sales has 2 rows"), "rendered with Display");
    assert_invariants(&events);
}

#[tokio::test]
async fn dropping_the_run_future_mid_tool_closes_everything_as_dropped() {
    let (bridge, recorder) = setup();
    struct Slow(DataAgent);
    #[agent_events]
    impl Slow {
        #[run]
        async fn go(&self, run: Run) -> u32 {
            self.0.scan(&run).await
        }
    }
    let slow = Slow(agent());
    let timed_out = tokio::time::timeout(Duration::from_millis(20), slow.go(bridge.start_run(ctx()))).await;
    assert!(timed_out.is_err());
    let w = wire(&recorder.events());
    assert_eq!(recorder.types(), ["agent_started", "tool_executing", "tool_completed", "agent_completed"]);
    assert_eq!(w[1]["tool_name"], "slow_scan");
    assert_eq!(w[2]["reason"], "dropped");
    assert_eq!(w[3]["reason"], "dropped");
    assert_invariants(&recorder.events());
}

#[agent_events::tool]
async fn fetch(run: Run, url: String) -> Result<usize, std::io::Error> {
    let _ = &run;
    tokio::time::sleep(Duration::from_millis(5)).await;
    Ok(url.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tools_on_spawned_tasks_in_one_run() {
    let (bridge, recorder) = setup();
    let run = bridge.start_run(ctx());
    let a = tokio::spawn(fetch(run.clone(), "https://a.example".into()));
    let b = tokio::spawn(fetch(run.clone(), "https://bb.example".into()));
    assert_eq!(a.await.unwrap().unwrap() + b.await.unwrap().unwrap(), 17 + 18);
    run.completed("fetched", ());
    let events = recorder.events();
    let w = wire(&events);
    let results: Vec<_> =
        w.iter().filter(|e| e["type"] == "tool_completed").map(|e| e["results"].clone()).collect();
    assert_eq!(results.len(), 2);
    assert!(results.contains(&json!(17)) && results.contains(&json!(18)));
    assert!(w.iter().filter(|e| e["type"] == "tool_executing").all(|e| e["tool_name"] == "fetch"));
    assert_invariants(&events);
}

type Outcome = Result<u32, String>;

#[agent_events::run(err)]
fn count_rows(run: Run, rows: u32) -> Outcome {
    let _ = &run;
    if rows == 0 {
        return Err("empty table".into());
    }
    Ok(rows)
}

#[test]
fn a_type_alias_result_with_err() {
    let (bridge, recorder) = setup();
    assert!(count_rows(bridge.start_run(ctx()), 0).is_err());
    assert_eq!(count_rows(bridge.start_run(ctx()), 7), Ok(7));
    let w = wire(&recorder.events());
    let done: Vec<_> = w.iter().filter(|e| e["type"] == "agent_completed").collect();
    assert_eq!((done[0]["success"].clone(), done[0]["error"].clone()), (json!(false), json!("empty table")));
    assert_eq!((done[1]["success"].clone(), done[1]["final_response"].clone()), (json!(true), json!("7")));
    assert_eq!(done[1]["result"], json!(7));
    assert_invariants(&recorder.events());
}

#[async_trait::async_trait]
trait Tools {
    async fn search(&self, run: &Run, query: String) -> Vec<String>;
}

struct AsyncTraitFirst;

#[async_trait::async_trait]
#[agent_events]
impl Tools for AsyncTraitFirst {
    #[tool]
    async fn search(&self, run: &Run, query: String) -> Vec<String> {
        let _ = run;
        vec![query]
    }
}

struct AgentEventsFirst;

#[agent_events]
#[async_trait::async_trait]
impl Tools for AgentEventsFirst {
    #[tool]
    async fn search(&self, run: &Run, query: String) -> Vec<String> {
        let _ = run;
        vec![query, "more".into()]
    }
}

#[tokio::test]
async fn works_with_async_trait_in_either_order() {
    let (bridge, recorder) = setup();
    let run = bridge.start_run(ctx());
    let tools: [&dyn Tools; 2] = [&AsyncTraitFirst, &AgentEventsFirst];
    for t in tools {
        t.search(&run, "rust".into()).await;
    }
    run.completed("ok", ());
    let w = wire(&recorder.events());
    let results: Vec<_> =
        w.iter().filter(|e| e["type"] == "tool_completed").map(|e| e["results"].clone()).collect();
    assert_eq!(results, [json!(["rust"]), json!(["rust", "more"])]);
    let params: Vec<_> =
        w.iter().filter(|e| e["type"] == "tool_executing").map(|e| e["parameters"].clone()).collect();
    assert_eq!(params, [json!({ "query": "rust" }), json!({ "query": "rust" })]);
    assert_invariants(&recorder.events());
}

fn assert_send<T: Send>(_: &T) {}

#[test]
fn annotated_async_functions_return_send_futures() {
    let (bridge, _) = setup();
    let a = agent();
    let run = bridge.start_run(ctx());
    assert_send(&a.answer(run.clone(), "x".into()));
    assert_send(&a.total(&run, "x".into(), 1));
    assert_send(&fetch(run.clone(), "u".into()));
}

#[derive(serde::Serialize, AgentEvent)]
struct PlanUpdated {
    steps: u32,
}

#[derive(serde::Serialize, AgentEvent)]
#[agent_event(name = "cost_report")]
struct Cost {
    cents: u64,
}

#[test]
fn derived_custom_events_are_sent_with_the_envelope() {
    let (bridge, recorder) = setup();
    let run = bridge.start_run(ctx());
    run.emit_event(&PlanUpdated { steps: 3 }).unwrap();
    run.emit_event(&Cost { cents: 12 }).unwrap();
    run.completed("ok", ());
    let w = wire(&recorder.events());
    assert_eq!((w[1]["type"].clone(), w[1]["steps"].clone()), (json!("plan_updated"), json!(3)));
    assert_eq!((w[2]["type"].clone(), w[2]["cents"].clone()), (json!("cost_report"), json!(12)));
    assert_eq!(w[2]["user_id"], "u1");
    assert_invariants(&recorder.events());
}

type Rs<T> = Result<T, String>;

mod api {
    /// A crate's own result type, named as such crates name it.
    pub type ApiResult<T> = std::result::Result<T, std::io::Error>;
}

#[agent_events::tool]
fn lookup(run: &Run, key: &str) -> Rs<u32> {
    let _ = run;
    if key.is_empty() {
        return Err("no key".into());
    }
    Ok(7)
}

#[agent_events::tool]
fn read_config(run: &Run, missing: bool) -> api::ApiResult<String> {
    let _ = run;
    if missing {
        return Err(std::io::Error::new(std::io::ErrorKind::NotFound, "no config"));
    }
    Ok("ok".into())
}

#[agent_events::run]
fn summarise(run: Run, fail: bool) -> Rs<String> {
    let _ = &run;
    if fail {
        return Err("nothing to summarise".into());
    }
    Ok("summary".into())
}

/// Fallibility comes from the real type: an alias of `Result` whose name is not `Result` fails the
/// tool or the run on `Err`, never sends `{"Err": …}` as a success.
#[test]
fn a_result_behind_any_alias_fails_on_err_without_the_err_option() {
    let (bridge, recorder) = setup();
    let run = bridge.start_run(ctx());
    assert_eq!(lookup(&run, ""), Err("no key".to_owned()));
    assert_eq!(lookup(&run, "k"), Ok(7));
    assert!(read_config(&run, true).is_err());
    assert_eq!(read_config(&run, false).unwrap(), "ok");
    run.completed("done", ());
    assert!(summarise(bridge.start_run(ctx()), true).is_err());
    assert!(summarise(bridge.start_run(ctx()), false).is_ok());
    let events = recorder.events();
    let w = wire(&events);
    let tools: Vec<_> = w.iter().filter(|e| e["type"] == "tool_completed").collect();
    assert_eq!(tools.len(), 4);
    assert_eq!((tools[0]["success"].clone(), tools[0]["error"].clone()), (json!(false), json!("no key")));
    assert_eq!((tools[1]["success"].clone(), tools[1]["results"].clone()), (json!(true), json!(7)));
    assert_eq!((tools[2]["success"].clone(), tools[2]["error"].clone()), (json!(false), json!("no config")));
    assert_eq!((tools[3]["success"].clone(), tools[3]["results"].clone()), (json!(true), json!("ok")));
    let runs: Vec<_> = w.iter().filter(|e| e["type"] == "agent_completed").collect();
    assert_eq!(
        (runs[1]["success"].clone(), runs[1]["error"].clone()),
        (json!(false), json!("nothing to summarise"))
    );
    assert_eq!(
        (runs[2]["success"].clone(), runs[2]["final_response"].clone()),
        (json!(true), json!("summary"))
    );
    assert_invariants(&events);
}

#[agent_events::tool]
fn probe(run: &Run, shown: u32, #[cfg(not(test))] hidden: u32, #[cfg(test)] kept: &str) -> u32 {
    let _ = (run, kept);
    shown
}

/// A parameter's `#[cfg]` is carried onto its `parameters` entry: compiled out, it is left out.
#[test]
fn a_cfg_on_a_parameter_applies_to_its_entry() {
    let (bridge, recorder) = setup();
    let run = bridge.start_run(ctx());
    assert_eq!(probe(&run, 3, "yes"), 3);
    run.completed("done", ());
    let w = wire(&recorder.events());
    let started = w.iter().find(|e| e["type"] == "tool_executing").unwrap();
    assert_eq!(started["parameters"], json!({ "shown": 3, "kept": "yes" }));
}

/// `HTTPFetched` is sent as `http_fetched`, as `heck` splits words.
#[derive(serde::Serialize, AgentEvent)]
struct HTTPFetched {
    url: String,
}

#[test]
fn acronyms_in_a_derived_type_name_are_one_word() {
    let (bridge, recorder) = setup();
    let run = bridge.start_run(ctx());
    run.emit_event(&HTTPFetched { url: "https://example.com".into() }).unwrap();
    run.completed("done", ());
    let w = wire(&recorder.events());
    assert!(w.iter().any(|e| e["type"] == "http_fetched" && e["url"] == "https://example.com"), "{w:#?}");
}

mod jobs {
    /// A job runner's own `Run`, beside the agent's.
    pub struct Run {
        pub id: u32,
    }
}

#[agent_events::tool(skip(job))]
fn resume(job: &jobs::Run, current: &agent_events::Run) -> u32 {
    let _ = current;
    job.id
}

/// Of two parameters typed `Run`, the one written `agent_events::Run` is the run.
#[test]
fn the_run_parameter_is_the_one_from_the_runtime_crate() {
    let (bridge, recorder) = setup();
    let run = bridge.start_run(ctx());
    assert_eq!(resume(&jobs::Run { id: 4 }, &run), 4);
    run.completed("done", ());
    let w = wire(&recorder.events());
    assert!(w
        .iter()
        .any(|e| e["type"] == "tool_completed" && e["tool_name"] == "resume" && e["results"] == json!(4)));
}

/// A result whose `Serialize` panics, and an error whose `Display` panics.
struct Explosive;

impl serde::Serialize for Explosive {
    fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("boom in Serialize")
    }
}

struct Unprintable;

impl std::fmt::Display for Unprintable {
    fn fmt(&self, _: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        panic!("boom in Display")
    }
}

#[agent_events::tool]
fn explosive(run: &Run) -> Explosive {
    let _ = run;
    Explosive
}

#[agent_events::tool]
fn unprintable(run: &Run) -> Result<u32, Unprintable> {
    let _ = run;
    Err(Unprintable)
}

/// Emitting never panics: a panicking `Serialize` or `Display` in what the macros send is
/// recorded like a failed serialisation, and the tool returns its value.
#[test]
fn a_panicking_serialize_or_display_never_escapes_an_emission() {
    let (bridge, recorder) = setup();
    let run = bridge.start_run(ctx());
    let _ = explosive(&run);
    assert!(unprintable(&run).is_err());
    run.completed("done", ());
    let events = recorder.events();
    let w = wire(&events);
    let done: Vec<_> = w.iter().filter(|e| e["type"] == "tool_completed").collect();
    assert_eq!(done[0]["results"], json!({ "serialization_error": "Serialize panicked" }));
    assert_eq!(
        (done[1]["success"].clone(), done[1]["error"].clone()),
        (json!(false), json!("<formatting panicked>"))
    );
    assert_invariants(&events);
}

/// An error type with only `Debug` (its field is read through `Debug` alone).
#[derive(Debug)]
#[allow(dead_code)]
enum Opaque {
    Timeout { after_ms: u32 },
}

/// `debug` sends both the value and the error with `Debug`: an error type needs no `Display`.
#[agent_events::tool(debug)]
fn opaque(run: &Run, fail: bool) -> Result<Vec<u8>, Opaque> {
    let _ = run;
    if fail {
        return Err(Opaque::Timeout { after_ms: 30 });
    }
    Ok(vec![1])
}

#[agent_events::run(debug, err)]
fn opaque_run(run: Run) -> Result<u8, Opaque> {
    drop(run);
    Err(Opaque::Timeout { after_ms: 5 })
}

#[test]
fn the_debug_option_sends_errors_with_debug_too() {
    let (bridge, recorder) = setup();
    let run = bridge.start_run(ctx());
    assert!(opaque(&run, true).is_err());
    assert_eq!(opaque(&run, false).unwrap(), [1]);
    run.completed("done", ());
    assert!(opaque_run(bridge.start_run(ctx())).is_err());
    let events = recorder.events();
    let w = wire(&events);
    let done: Vec<_> = w.iter().filter(|e| e["type"] == "tool_completed").collect();
    assert_eq!(
        (done[0]["success"].clone(), done[0]["error"].clone()),
        (json!(false), json!("Timeout { after_ms: 30 }"))
    );
    assert_eq!(done[1]["results"], json!("[1]"));
    let runs: Vec<_> = w.iter().filter(|e| e["type"] == "agent_completed").collect();
    assert_eq!(runs[1]["error"], json!("Timeout { after_ms: 5 }"));
    assert_invariants(&events);
}
