//! Every run invariant holds whatever the agent code does: success, `?`, explicit failure,
//! panic, cancellation, tools on spawned tasks, and sinks that fail.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agent_events::schema::{CloseReason, CustomEvent, Event, EventType, Payload, Problem};
use agent_events::testing::{assert_invariants, Recorder};
use agent_events::{EmitError, EventBridge, EventSink, Run, RunContext, SinkError};
use serde_json::json;

fn bridge() -> (EventBridge, Recorder) {
    let recorder = Recorder::new();
    (EventBridge::builder().sink(recorder.clone()).build(), recorder)
}

fn ctx() -> RunContext {
    RunContext::new("user-1", "thread-1", "data_agent")
}

fn tool_completed(events: &[Arc<Event>]) -> Vec<&agent_events::schema::ToolCompleted> {
    events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::ToolCompleted(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn agent_completed(events: &[Arc<Event>]) -> &agent_events::schema::AgentCompleted {
    match &events.last().expect("events").payload {
        Payload::AgentCompleted(c) => c,
        other => panic!("last event is {other:?}"),
    }
}

#[test]
fn success_sends_the_full_sequence_with_every_required_field() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run_with_message(ctx(), "How did sales do?");
    run.user_message("How did sales do?");
    run.thinking("Query the sales table");
    let call = run.tool_executing("sql", json!({"query": "select sum(total) from sales"}));
    let id = call.id().to_owned();
    call.completed(json!({"rows": [[42]]}));
    run.agent_response("Sales were 42.");
    run.completed("Sales were 42.", json!({"total": 42}));

    let events = recorder.events();
    assert_eq!(
        recorder.types(),
        [
            "agent_started",
            "user_message",
            "agent_thinking",
            "tool_executing",
            "tool_completed",
            "agent_response",
            "agent_completed"
        ]
    );
    let wire: Vec<_> = events.iter().map(|e| e.to_value()).collect();
    assert_eq!(wire[0]["message"], "How did sales do?");
    assert_eq!(wire[2]["step_number"], 1);
    assert_eq!(wire[3]["tool_name"], "sql");
    assert_eq!(wire[3]["tool_call_id"], id.as_str());
    assert_eq!(wire[3]["parameters"], json!({"query": "select sum(total) from sales"}));
    assert_eq!(wire[4]["tool_call_id"], id.as_str());
    assert_eq!(wire[4]["results"], json!({"rows": [[42]]}));
    assert_eq!(wire[4]["success"], true);
    assert!(wire[4]["duration_ms"].is_u64());
    assert_eq!(wire[6]["final_response"], "Sales were 42.");
    assert_eq!(wire[6]["result"], json!({"total": 42}));
    assert_eq!(wire[6]["success"], true);
    for (i, w) in wire.iter().enumerate() {
        assert_eq!(w["seq"], i as u64 + 1);
        assert_eq!(w["user_id"], "user-1");
        assert_eq!(w["run_id"], run_id_of(&events));
    }
    recorder.assert_invariants();
    let metrics = bridge.metrics();
    assert_eq!(metrics.total_emitted(), 7);
    assert_eq!(metrics.emitted["tool_completed"], 1);
}

fn run_id_of(events: &[Arc<Event>]) -> &str {
    &events[0].envelope.run_id
}

#[derive(Debug)]
struct NotFound;

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("table not found")
    }
}

fn lookup(run: &Run, table: &str) -> Result<u64, NotFound> {
    let call = run.tool_executing("sql", json!({ "table": table }));
    let rows = if table == "sales" { Ok(42) } else { Err(NotFound) };
    let rows = rows?; // the early return that skipped the second send in legacy code
    call.completed(rows);
    Ok(rows)
}

#[test]
fn question_mark_early_return_closes_the_tool_call_as_dropped() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run(ctx());
    match lookup(&run, "missing") {
        Ok(n) => run.completed(format!("{n}"), ()),
        Err(e) => run.failed(e),
    }
    let events = recorder.events();
    let tools = tool_completed(&events);
    assert_eq!(tools.len(), 1);
    assert!(!tools[0].success);
    assert_eq!(tools[0].reason, Some(CloseReason::Dropped));
    assert!(tools[0].results.is_null());
    let done = agent_completed(&events);
    assert!(!done.success);
    assert_eq!(done.reason, Some(CloseReason::Failed));
    assert_eq!(done.error.as_deref(), Some("table not found"));
    assert_eq!(done.final_response, None);
    assert_invariants(&events);
}

#[test]
fn explicit_failure_is_reported_with_its_error() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run(ctx());
    run.tool_executing("http", ()).failed("503 from upstream");
    run.failed("could not fetch");
    let events = recorder.events();
    let tools = tool_completed(&events);
    assert_eq!((tools[0].success, tools[0].reason), (false, Some(CloseReason::Failed)));
    assert_eq!(tools[0].error.as_deref(), Some("503 from upstream"));
    assert_eq!(agent_completed(&events).reason, Some(CloseReason::Failed));
    assert_invariants(&events);
}

#[test]
fn a_panic_closes_the_tool_call_and_the_run_as_panicked() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run(ctx());
    let result = catch_unwind(AssertUnwindSafe(move || {
        let _call = run.tool_executing("parse", ());
        panic!("index out of bounds");
    }));
    assert!(result.is_err());
    let events = recorder.events();
    assert_eq!(tool_completed(&events)[0].reason, Some(CloseReason::Panicked));
    let done = agent_completed(&events);
    assert_eq!((done.success, done.reason), (false, Some(CloseReason::Panicked)));
    assert_invariants(&events);
}

#[test]
fn a_run_dropped_unclosed_completes_as_dropped() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run(ctx());
    run.thinking("step");
    drop(run);
    let events = recorder.events();
    assert_eq!(agent_completed(&events).reason, Some(CloseReason::Dropped));
    assert_invariants(&events);
}

async fn slow_agent(run: Run) {
    run.thinking("calling a slow tool");
    let call = run.tool_executing("slow", ());
    tokio::time::sleep(Duration::from_secs(30)).await;
    call.completed(());
    run.completed("never", ());
}

#[tokio::test]
async fn cancellation_mid_tool_closes_everything_as_dropped() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run(ctx());
    let outcome = tokio::time::timeout(Duration::from_millis(20), slow_agent(run)).await;
    assert!(outcome.is_err(), "the agent was cancelled");
    let events = recorder.events();
    assert_eq!(
        recorder.types(),
        ["agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"]
    );
    assert_eq!(tool_completed(&events)[0].reason, Some(CloseReason::Dropped));
    assert_eq!(agent_completed(&events).reason, Some(CloseReason::Dropped));
    assert_invariants(&events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawned_tools_finishing_after_the_run_completes_send_nothing_late() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run(ctx());
    let (run_closed, closed) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for i in 0..3 {
        let call = run.tool_executing(format!("fetch_{i}"), json!({ "i": i }));
        let mut closed = closed.clone();
        tasks.push(tokio::spawn(async move {
            closed.wait_for(|c| *c).await.unwrap();
            call.completed(json!({ "i": i }));
        }));
    }
    let quick = run.tool_executing("quick", ());
    tokio::spawn(async move { quick.completed("ok") }).await.unwrap();
    run.completed("answered before the fetches finished", ());
    run_closed.send(true).unwrap();
    for task in tasks {
        task.await.unwrap();
    }
    let events = recorder.events();
    assert_eq!(events.last().unwrap().event_type(), Some(EventType::AgentCompleted));
    let tools = tool_completed(&events);
    assert_eq!(tools.len(), 4);
    assert_eq!(tools.iter().filter(|t| t.success).count(), 1);
    assert!(tools.iter().filter(|t| !t.success).all(|t| t.reason == Some(CloseReason::Dropped)));
    assert_eq!(bridge.metrics().late_completions, 3);
    assert_invariants(&events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_handle_on_a_spawned_task_keeps_the_run_open_until_it_finishes() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run(ctx());
    let worker = run.clone();
    let task = tokio::spawn(async move {
        let call = worker.tool_executing("index", ());
        tokio::time::sleep(Duration::from_millis(10)).await;
        call.completed(());
        worker.completed("done on the worker", ());
    });
    drop(run);
    task.await.unwrap();
    let events = recorder.events();
    assert!(agent_completed(&events).success);
    assert_invariants(&events);
}

/// A sink whose lock was poisoned by a panic elsewhere and which unwraps it, as careless code does.
struct PoisonedSink(Arc<Mutex<Vec<String>>>);

impl EventSink for PoisonedSink {
    fn deliver(&self, event: &Arc<Event>) -> Result<(), SinkError> {
        self.0.lock().unwrap().push(event.type_name().to_owned());
        Ok(())
    }
}

fn poisoned() -> Arc<Mutex<Vec<String>>> {
    let lock = Arc::new(Mutex::new(Vec::new()));
    let held = lock.clone();
    let _ = std::thread::spawn(move || {
        let _guard = held.lock().unwrap();
        panic!("poison the lock");
    })
    .join();
    assert!(lock.is_poisoned());
    lock
}

#[test]
fn a_poisoned_lock_inside_a_sink_never_makes_emission_panic() {
    let recorder = Recorder::new();
    let bridge = EventBridge::builder().sink(PoisonedSink(poisoned())).sink(recorder.clone()).build();
    let run = bridge.start_run(ctx());
    let call = run.tool_executing("t", ());
    call.completed(());
    run.completed("ok", ());
    assert_eq!(recorder.len(), 4, "the other sink still gets every event");
    assert_eq!(bridge.metrics().delivery_failures, 4);
    recorder.assert_invariants();
}

#[test]
fn a_sink_that_panics_while_a_guard_drops_during_unwinding_does_not_abort() {
    let recorder = Recorder::new();
    let bridge = EventBridge::builder().sink(PoisonedSink(poisoned())).sink(recorder.clone()).build();
    let run = bridge.start_run(ctx());
    let result = catch_unwind(AssertUnwindSafe(|| {
        let _call = run.tool_executing("t", ());
        panic!("tool crashed");
    }));
    assert!(result.is_err());
    run.failed("tool crashed");
    assert_eq!(tool_completed(&recorder.events())[0].reason, Some(CloseReason::Panicked));
    recorder.assert_invariants();
}

#[test]
fn parameters_and_results_are_redacted_and_capped_before_any_sink() {
    let recorder = Recorder::new();
    let bridge = EventBridge::builder()
        .sink(recorder.clone())
        .max_payload_bytes(64)
        .redact_with(|v| {
            if let Some(email) = v.get_mut("email") {
                *email = json!("***");
            }
        })
        .build();
    let run = bridge.start_run(ctx());
    let call = run.tool_executing("crm", json!({"email": "a@b.c", "api_key": "sk-live", "q": "x"}));
    call.completed(json!({"text": "x".repeat(1000)}));
    run.completed("ok", ());
    let wire: Vec<_> = recorder.events().iter().map(|e| e.to_value()).collect();
    assert_eq!(wire[1]["parameters"], json!({"email": "***", "api_key": "[redacted]", "q": "x"}));
    assert_eq!(wire[2]["results"]["truncated"], true);
    assert_eq!(wire[2]["results"]["bytes"], 1011);
    assert_eq!(bridge.metrics().truncated_payloads, 1);
    recorder.assert_invariants();
}

#[test]
fn custom_events_are_checked_and_sent_with_the_envelope() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run(ctx());
    run.emit(CustomEvent::new("plan_updated").field("steps", 3)).unwrap();
    let Err(EmitError::Invalid(e)) = run.emit(CustomEvent::new("tool_completed")) else { panic!("accepted") };
    assert!(e.has("type", &Problem::InvalidCustomType));
    let Err(EmitError::Invalid(e)) = run.emit(CustomEvent::new("note").field("user_id", "someone-else"))
    else {
        panic!("accepted")
    };
    assert_eq!(
        e.to_string(),
        "invalid `note` event: `user_id` is an envelope field that only the bridge fills in"
    );
    run.completed("ok", ());
    let wire = recorder.events()[1].to_value();
    assert_eq!((wire["type"].as_str(), wire["steps"].as_u64()), (Some("plan_updated"), Some(3)));
    assert_eq!(wire["user_id"], "user-1");
    assert_eq!(bridge.metrics().validation_failures, 2);
    assert_eq!(bridge.metrics().emitted["custom"], 1);
    recorder.assert_invariants();
}

#[test]
fn nothing_is_sent_on_a_closed_run() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run(ctx());
    let other_handle = run.clone();
    run.completed("done", ());
    other_handle.thinking("too late");
    other_handle.agent_response("too late");
    let call = other_handle.tool_executing("late", ());
    assert_eq!(call.id(), "");
    call.completed(());
    assert_eq!(other_handle.emit(CustomEvent::new("note")), Err(EmitError::RunClosed));
    other_handle.failed("again");
    assert_eq!(recorder.types(), ["agent_started", "agent_completed"]);
    let metrics = bridge.metrics();
    assert_eq!(metrics.emitted_after_close, 4);
    assert_eq!(metrics.late_completions, 1);
}

#[test]
fn model_given_tool_call_ids_are_kept_and_duplicates_kept_apart() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run(ctx());
    let a = run.tool_executing_with_id("search", "call_abc", ());
    let b = run.tool_executing_with_id("search", "call_abc", ());
    assert_eq!(a.id(), "call_abc");
    assert_ne!(b.id(), a.id());
    b.completed(());
    a.completed(());
    run.completed("ok", ());
    recorder.assert_invariants();
}

#[test]
fn seq_is_strictly_increasing_when_many_threads_share_a_run() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run(ctx());
    std::thread::scope(|s| {
        for t in 0..8 {
            let run = run.clone();
            s.spawn(move || {
                for i in 0..50 {
                    let call = run.tool_executing(format!("t{t}"), json!({ "i": i }));
                    run.thinking(format!("{t}/{i}"));
                    call.completed(i);
                }
            });
        }
    });
    run.completed("ok", ());
    let events = recorder.events();
    assert_eq!(events.len(), 2 + 8 * 50 * 3);
    let steps: Vec<u64> = events
        .iter()
        .filter_map(|e| match &e.payload {
            Payload::AgentThinking(t) => t.step_number,
            _ => None,
        })
        .collect();
    assert_eq!(steps, (1..=400).collect::<Vec<_>>());
    assert_invariants(&events);
}

#[tokio::test]
async fn shutdown_flushes_and_later_events_are_counted_not_delivered() {
    let (bridge, recorder) = bridge();
    let run = bridge.start_run(ctx());
    bridge.shutdown().await;
    run.completed("after shutdown", ());
    assert_eq!(recorder.types(), ["agent_started"]);
    assert_eq!(bridge.metrics().delivery_failures, 1);
}
