//! Random sequences of bridge operations, with drops, panics and tools on other threads:
//! everything emitted satisfies every invariant.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread::JoinHandle;
use std::time::Duration;

use agent_events::schema::{CustomEvent, EventType};
use agent_events::testing::{check_invariants, Recorder};
use agent_events::{EventBridge, Run, RunContext, ToolCall};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    StartRun,
    CloneRun(usize),
    Thinking(usize),
    Response(usize),
    Custom(usize),
    OpenTool(usize),
    CompleteTool(usize),
    FailTool(usize),
    DropTool(usize),
    /// Moves a tool call to another thread that finishes it after a short sleep.
    SpawnTool(usize, u8),
    /// Moves a tool call to another thread that panics while holding it.
    PanicInTool(usize),
    CompleteRun(usize),
    FailRun(usize),
    DropRun(usize),
    /// Panics while holding a run handle and an open tool call, caught at once.
    PanicWithRun(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let i = any::<usize>();
    prop_oneof![
        3 => Just(Op::StartRun),
        1 => i.prop_map(Op::CloneRun),
        2 => i.prop_map(Op::Thinking),
        1 => i.prop_map(Op::Response),
        1 => i.prop_map(Op::Custom),
        4 => i.prop_map(Op::OpenTool),
        2 => i.prop_map(Op::CompleteTool),
        1 => i.prop_map(Op::FailTool),
        1 => i.prop_map(Op::DropTool),
        2 => (i, 0u8..3).prop_map(|(i, ms)| Op::SpawnTool(i, ms)),
        1 => i.prop_map(Op::PanicInTool),
        2 => i.prop_map(Op::CompleteRun),
        1 => i.prop_map(Op::FailRun),
        1 => i.prop_map(Op::DropRun),
        1 => i.prop_map(Op::PanicWithRun),
    ]
}

fn take<T>(items: &mut Vec<T>, i: usize) -> Option<T> {
    (!items.is_empty()).then(|| items.swap_remove(i % items.len()))
}

fn pick<T>(items: &[T], i: usize) -> Option<&T> {
    (!items.is_empty()).then(|| &items[i % items.len()])
}

fn execute(ops: &[Op]) -> (Recorder, EventBridge) {
    let recorder = Recorder::new();
    let bridge = EventBridge::builder().sink(recorder.clone()).build();
    let mut runs: Vec<Run> = Vec::new();
    let mut tools: Vec<ToolCall> = Vec::new();
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    let mut started = 0;
    for op in ops {
        match op.clone() {
            Op::StartRun => {
                started += 1;
                runs.push(bridge.start_run(RunContext::new(format!("user-{}", started % 3), "t", "agent")));
            }
            Op::CloneRun(i) => {
                if let Some(run) = pick(&runs, i).cloned() {
                    runs.push(run);
                }
            }
            Op::Thinking(i) => pick(&runs, i).into_iter().for_each(|r| r.thinking("hmm")),
            Op::Response(i) => pick(&runs, i).into_iter().for_each(|r| r.agent_response("so far")),
            Op::Custom(i) => {
                if let Some(run) = pick(&runs, i) {
                    let _ = run.emit(CustomEvent::new("progress").field("pct", 50));
                }
            }
            Op::OpenTool(i) => {
                if let Some(run) = pick(&runs, i) {
                    tools.push(run.tool_executing("tool", serde_json::json!({ "i": i % 7 })));
                }
            }
            Op::CompleteTool(i) => take(&mut tools, i).into_iter().for_each(|t| t.completed("ok")),
            Op::FailTool(i) => take(&mut tools, i).into_iter().for_each(|t| t.failed("no")),
            Op::DropTool(i) => drop(take(&mut tools, i)),
            Op::SpawnTool(i, ms) => {
                if let Some(tool) = take(&mut tools, i) {
                    threads.push(std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(u64::from(ms)));
                        tool.completed("from a thread");
                    }));
                }
            }
            Op::PanicInTool(i) => {
                if let Some(tool) = take(&mut tools, i) {
                    threads.push(std::thread::spawn(move || {
                        let _ = catch_unwind(AssertUnwindSafe(move || {
                            let _held = tool;
                            panic!("tool thread crashed");
                        }));
                    }));
                }
            }
            Op::CompleteRun(i) => take(&mut runs, i).into_iter().for_each(|r| r.completed("done", ())),
            Op::FailRun(i) => take(&mut runs, i).into_iter().for_each(|r| r.failed("broke")),
            Op::DropRun(i) => drop(take(&mut runs, i)),
            Op::PanicWithRun(i) => {
                if let Some(run) = take(&mut runs, i) {
                    let _ = catch_unwind(AssertUnwindSafe(move || {
                        let _call = run.tool_executing("doomed", ());
                        panic!("agent crashed");
                    }));
                }
            }
        }
    }
    drop(runs);
    drop(tools);
    for thread in threads {
        thread.join().unwrap();
    }
    (recorder, bridge)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_sequence_of_operations_satisfies_every_invariant(ops in prop::collection::vec(op(), 1..60)) {
        let (recorder, bridge) = execute(&ops);
        let events = recorder.events();
        if let Err(violations) = check_invariants(&events) {
            let listed: Vec<String> = violations.iter().map(ToString::to_string).collect();
            prop_assert!(false, "{}", listed.join("\n"));
        }
        let starts = ops.iter().filter(|o| matches!(o, Op::StartRun)).count();
        let metrics = bridge.metrics();
        prop_assert_eq!(metrics.emitted["agent_started"], starts as u64);
        prop_assert_eq!(metrics.emitted["agent_completed"], starts as u64);
        prop_assert_eq!(metrics.emitted["tool_executing"], metrics.emitted["tool_completed"]);
        prop_assert_eq!(events.iter().filter(|e| e.event_type() == Some(EventType::AgentCompleted)).count(), starts);
    }
}
