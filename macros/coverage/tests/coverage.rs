//! Runs every instrumented function of the crate and checks what it sent, exactly, through the
//! recorder and the run invariants.
#![deny(warnings)]
#![deny(clippy::pedantic, clippy::nursery)]

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use agent_events::schema::Event;
use agent_events::testing::{assert_invariants, Recorder};
use agent_events::{EventBridge, Run, RunContext};
use agent_events_macro_coverage as cov;
use cov::{Describe as _, Search as _};
use serde_json::{json, Value};

fn setup() -> (EventBridge, Recorder) {
    let recorder = Recorder::new();
    (EventBridge::builder().sink(recorder.clone()).build(), recorder)
}

fn start(bridge: &EventBridge) -> Run {
    bridge.start_run(RunContext::new("u1", "t1", cov::Counter::AGENT_NAME))
}

fn wire(events: &[Arc<Event>]) -> Vec<Value> {
    events.iter().map(|e| e.to_value()).collect()
}

/// `(type, tool_name, parameters or results, success)` of every tool event, in order.
fn tool_events(w: &[Value]) -> Vec<(String, String, Value, Value)> {
    w.iter()
        .filter(|e| e["type"] == "tool_executing" || e["type"] == "tool_completed")
        .map(|e| {
            let body =
                if e["type"] == "tool_executing" { e["parameters"].clone() } else { e["results"].clone() };
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                e["tool_name"].to_string(),
                body,
                e["success"].clone(),
            )
        })
        .collect()
}

fn opened(name: &str, parameters: Value) -> (String, String, Value, Value) {
    ("tool_executing".to_owned(), format!("\"{name}\""), parameters, Value::Null)
}

fn closed(name: &str, results: Value) -> (String, String, Value, Value) {
    ("tool_completed".to_owned(), format!("\"{name}\""), results, json!(true))
}

/// Closes the run and returns its events, checked against every invariant.
fn finish(run: Run, recorder: &Recorder) -> Vec<Value> {
    run.completed("done", ());
    let events = recorder.events();
    assert_invariants(&events);
    wire(&events)
}

#[test]
fn free_functions_sync_generic_borrowing_and_impl_trait() {
    let (bridge, recorder) = setup();
    let run = start(&bridge);
    assert_eq!(cov::add(&run, 2, 3), 5);
    assert_eq!(cov::largest(&run, vec![3, 9, 4]), Some(9));
    assert_eq!(cov::longest(&run, "ab", "abc"), "abc");
    let mut values = [7, 8];
    if let Some(first) = cov::first_mut(&run, &mut values) {
        *first += 1;
    }
    assert_eq!(values, [8, 8]);
    assert_eq!(cov::sum_all(&run, vec![1, 2], [10].into_iter()), 13);
    let w = finish(run, &recorder);
    assert_eq!(
        tool_events(&w),
        [
            opened("add", json!({ "a": 2, "b": 3 })),
            closed("add", json!(5)),
            opened("largest", json!({ "items": [3, 9, 4] })),
            closed("largest", json!(9)),
            opened("longest", json!({ "a": "ab", "b": "abc" })),
            closed("longest", json!("abc")),
            opened("first_mut", json!({ "values": [7, 8] })),
            closed("first_mut", json!(7)),
            opened("sum_all", json!({ "items": [1, 2] })),
            closed("sum_all", json!(13)),
        ]
    );
}

#[tokio::test]
async fn async_free_functions_and_runs_succeed_and_fail_by_type() {
    let (bridge, recorder) = setup();
    assert_eq!(cov::async_run(start(&bridge), "abcd".to_owned()).await, Ok("4 bytes".to_owned()));
    assert_eq!(
        cov::async_run(start(&bridge), String::new()).await,
        Err(cov::NotFound("an empty key".to_owned()))
    );
    assert_eq!(cov::sync_run(start(&bridge), "k"), Ok("k3".to_owned()));
    let events = recorder.events();
    assert_invariants(&events);
    let w = wire(&events);
    let runs: Vec<_> = recorder.run_ids();
    assert_eq!(runs.len(), 3);
    assert_eq!(
        recorder.types_of_run(&runs[0]),
        ["agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"]
    );
    let done: Vec<_> = w.iter().filter(|e| e["type"] == "agent_completed").collect();
    assert_eq!(
        (done[0]["success"].clone(), done[0]["final_response"].clone()),
        (json!(true), json!("4 bytes"))
    );
    assert_eq!(
        (done[1]["success"].clone(), done[1]["error"].clone()),
        (json!(false), json!("not found: an empty key"))
    );
    assert_eq!(done[2]["final_response"], "k3");
    let failed_tool = w.iter().filter(|e| e["type"] == "tool_completed").nth(1).cloned().unwrap_or_default();
    assert_eq!(
        (failed_tool["success"].clone(), failed_tool["reason"].clone()),
        (json!(false), json!("failed"))
    );
    assert_eq!(failed_tool["tool_name"], "fetch");
    assert!(w.iter().all(|e| e["agent_name"] == "counter"));
}

#[tokio::test]
async fn every_receiver() {
    let (bridge, recorder) = setup();
    let run = start(&bridge);
    let mut counter = cov::Counter { count: 1 };
    assert_eq!(counter.bump(&run, 2).bump(&run, 3).get(&run), 6);
    assert_eq!(Arc::new(cov::Counter { count: 4 }).shared(&run).await, 4);
    assert_eq!(counter.into_count(&run), 6);
    let w = finish(run, &recorder);
    assert_eq!(
        tool_events(&w),
        [
            opened("bump", json!({ "by": 2 })),
            closed("bump", json!("Counter { count: 3 }")),
            opened("bump", json!({ "by": 3 })),
            closed("bump", json!("Counter { count: 6 }")),
            opened("get", json!({})),
            closed("get", json!(6)),
            opened("shared", json!({})),
            closed("shared", json!(4)),
            opened("into_count", json!({})),
            closed("into_count", json!(6)),
        ]
    );
}

#[tokio::test]
async fn a_run_entry_point_method_calls_tool_methods() {
    let (bridge, recorder) = setup();
    assert_eq!(cov::Counter { count: 1 }.go(start(&bridge), 5).await, Ok(6));
    assert_eq!(
        recorder.types(),
        [
            "agent_started",
            "tool_executing",
            "tool_completed",
            "tool_executing",
            "tool_completed",
            "agent_completed"
        ]
    );
    let events = recorder.events();
    assert_invariants(&events);
    let w = wire(&events);
    assert_eq!((w[5]["success"].clone(), w[5]["result"].clone()), (json!(true), json!(6)));
}

#[tokio::test]
async fn generic_impl_blocks_and_generic_methods() {
    let (bridge, recorder) = setup();
    let run = start(&bridge);
    let store = cov::Store { items: vec!["a".to_owned(), "b".to_owned()] };
    assert_eq!(store.at(&run, 1), Some("b".to_owned()));
    assert_eq!(store.find(&run, "b").await, Ok(1));
    assert!(store.find(&run, "z").await.is_err());
    let w = finish(run, &recorder);
    let events = tool_events(&w);
    assert_eq!(
        events[..4],
        [
            opened("at", json!({ "index": 1 })),
            closed("at", json!("b")),
            opened("find", json!({ "key": "b" })),
            closed("find", json!(1)),
        ]
    );
    assert_eq!(events[5].3, json!(false), "{events:?}");
}

#[tokio::test]
async fn trait_default_methods_and_async_trait_in_both_orders() {
    let (bridge, recorder) = setup();
    let run = start(&bridge);
    assert_eq!(cov::Counter { count: 2 }.describe(&run), "I am counter at 2");
    assert_eq!(cov::AsyncTraitFirst.search(&run, "q".to_owned()).await, ["q"]);
    assert_eq!(cov::AgentEventsFirst.search(&run, "q".to_owned()).await, ["q", "q"]);
    let w = finish(run, &recorder);
    assert_eq!(
        tool_events(&w),
        [
            opened("describe", json!({})),
            closed("describe", json!("I am counter at 2")),
            opened("search", json!({ "query": "q" })),
            closed("search", json!(["q"])),
            opened("search", json!({ "query": "q" })),
            closed("search", json!(["q", "q"])),
        ]
    );
}

#[test]
fn unsafe_and_extern_c_functions() {
    let (bridge, recorder) = setup();
    let run = start(&bridge);
    let value = 41_u32;
    // SAFETY: `value` is a live `u32`.
    assert_eq!(unsafe { cov::read_raw(&run, &raw const value) }, 41);
    assert_eq!(cov::doubled(&run, 21), 42);
    let w = finish(run, &recorder);
    assert_eq!(
        tool_events(&w),
        [
            opened("read_raw", json!({})),
            closed("read_raw", json!(41)),
            opened("doubled", json!({ "value": 21 })),
            closed("doubled", json!(42)),
        ]
    );
}

#[tokio::test]
async fn recursion_nests_one_call_per_level() {
    let (bridge, recorder) = setup();
    let run = start(&bridge);
    assert_eq!(cov::depth(&run, 2), 2);
    assert_eq!(cov::countdown(&run, 1).await, 1);
    let w = finish(run, &recorder);
    assert_eq!(
        tool_events(&w),
        [
            opened("depth", json!({ "n": 2 })),
            opened("depth", json!({ "n": 1 })),
            opened("depth", json!({ "n": 0 })),
            closed("depth", json!(0)),
            closed("depth", json!(1)),
            closed("depth", json!(2)),
            opened("countdown", json!({ "n": 1 })),
            opened("countdown", json!({ "n": 0 })),
            closed("countdown", json!(0)),
            closed("countdown", json!(1)),
        ]
    );
    let ids: Vec<_> =
        w.iter().filter(|e| e["type"] == "tool_executing").map(|e| e["tool_call_id"].clone()).collect();
    let closes: Vec<_> =
        w.iter().filter(|e| e["type"] == "tool_completed").map(|e| e["tool_call_id"].clone()).collect();
    assert_eq!(closes[..3], [ids[2].clone(), ids[1].clone(), ids[0].clone()], "innermost first");
}

const fn assert_send<T: Send>(_: &T) {}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_spawned_on_tokio_keep_their_futures_send() {
    let (bridge, recorder) = setup();
    let run = start(&bridge);
    let store = cov::Store { items: vec![1_u32] };
    assert_send(&cov::fetch(&run, String::new()));
    assert_send(&store.find(&run, 1_u32));
    assert_send(&cov::AsyncTraitFirst.search(&run, String::new()));
    let a = tokio::spawn(cov::download(run.clone(), "https://a.example".to_owned()));
    let b = tokio::spawn(cov::download(run.clone(), String::new()));
    let shared_run = run.clone();
    let c = tokio::spawn(async move { Arc::new(cov::Counter { count: 9 }).shared(&shared_run).await });
    let (a, b, c) = (a.await, b.await, c.await);
    assert_eq!(a.ok().and_then(Result::ok), Some(17));
    assert_eq!(b.ok().and_then(Result::err), Some(cov::NotFound("no url".to_owned())));
    assert_eq!(c.ok(), Some(9));
    let w = finish(run, &recorder);
    let downloads: Vec<_> = w
        .iter()
        .filter(|e| e["type"] == "tool_completed" && e["tool_name"] == "download")
        .map(|e| e["success"].clone())
        .collect();
    assert_eq!(downloads.len(), 2);
    assert!(downloads.contains(&json!(true)) && downloads.contains(&json!(false)));
}

#[tokio::test]
async fn panics_and_dropped_futures_close_their_calls() {
    let (bridge, recorder) = setup();
    let run = start(&bridge);
    let panicked = std::panic::catch_unwind(AssertUnwindSafe(|| cov::explode(&run)));
    assert!(panicked.is_err());
    let timed_out = tokio::time::timeout(Duration::from_millis(10), cov::wait_forever(&run)).await;
    assert!(timed_out.is_err());
    let w = finish(run, &recorder);
    let reasons: Vec<_> = w
        .iter()
        .filter(|e| e["type"] == "tool_completed")
        .map(|e| (e["tool_name"].clone(), e["success"].clone(), e["reason"].clone()))
        .collect();
    assert_eq!(
        reasons,
        [
            (json!("explode"), json!(false), json!("panicked")),
            (json!("wait_forever"), json!(false), json!("dropped")),
        ]
    );
}

#[tokio::test]
async fn a_tool_returning_nothing() {
    let (bridge, recorder) = setup();
    let run = start(&bridge);
    cov::log_line(&run, "note".to_owned()).await;
    let w = finish(run, &recorder);
    assert_eq!(
        recorder.types(),
        ["agent_started", "tool_executing", "agent_thinking", "tool_completed", "agent_completed"]
    );
    assert_eq!(w[3]["results"], Value::Null);
}

/// How each shape of type is put on the wire by `#[derive(AgentEvent)]`.
#[test]
fn derived_events_of_every_shape() {
    let (bridge, recorder) = setup();
    let run = start(&bridge);
    let sent = [
        run.emit_event(&cov::PlanUpdated { steps: 3 }),
        run.emit_event(&cov::Heartbeat),
        run.emit_event(&cov::Progress(40)),
        run.emit_event(&cov::Wrapped(cov::PlanUpdated { steps: 4 })),
        run.emit_event(&cov::Span(1, 2)),
        run.emit_event(&cov::Stage::Planning),
        run.emit_event(&cov::Stage::Executing { step: 2 }),
        run.emit_event(&cov::Mood::Calm),
        run.emit_event(&cov::Mood::Busy(3)),
    ];
    assert!(sent.iter().all(Result::is_ok), "{sent:?}");
    let w = finish(run, &recorder);
    // Each custom event as `[type, the fields it adds to the envelope]`.
    let fields: Vec<Value> = w[1..10]
        .iter()
        .map(|e| {
            let added: serde_json::Map<String, Value> = e
                .as_object()
                .into_iter()
                .flatten()
                .filter(|(k, _)| !agent_events::schema::ENVELOPE.iter().any(|f| f.name == k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            json!([e["type"], added])
        })
        .collect();
    assert_eq!(
        fields,
        [
            json!(["plan_updated", { "steps": 3 }]),
            json!(["heartbeat", {}]),
            json!(["progress", { "value": 40 }]),
            json!(["wrapped", { "steps": 4 }]),
            json!(["span", { "value": [1, 2] }]),
            json!(["stage", { "phase": "planning" }]),
            json!(["stage", { "phase": "executing", "step": 2 }]),
            json!(["mood", { "value": "Calm" }]),
            json!(["mood", { "Busy": 3 }]),
        ]
    );
}

#[tokio::test]
async fn the_err_and_debug_options() {
    let (bridge, recorder) = setup();
    let run = start(&bridge);
    assert_eq!(cov::forced(&run, "abc"), Ok(3));
    assert!(cov::forced(&run, "").is_err());
    let w = finish(run, &recorder);
    let done: Vec<_> = w.iter().filter(|e| e["type"] == "tool_completed").collect();
    assert_eq!((done[0]["success"].clone(), done[0]["results"].clone()), (json!(true), json!(3)));
    assert_eq!(
        (done[1]["success"].clone(), done[1]["error"].clone()),
        (json!(false), json!("not found: an empty key"))
    );
    recorder.clear();
    assert_eq!(cov::timed_out(start(&bridge), 5).await, Err(cov::Timeout::After(5)));
    let events = recorder.events();
    assert_invariants(&events);
    assert_eq!(wire(&events)[1]["error"], "After(5)");
}
