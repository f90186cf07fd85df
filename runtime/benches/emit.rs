//! Cost of one emitted event, into the recorder and into the per-user hub.
//!
//! `cargo bench -p agent-events --bench emit`

use std::time::{Duration, Instant};

use agent_events::testing::Recorder;
use agent_events::{EventBridge, HubMessage, RunContext, UserHub};
use criterion::{criterion_main, Criterion};

fn ctx() -> RunContext {
    RunContext::new("user-1", "thread-1", "bench_agent")
}

/// Times `iters` calls of `emit`, then runs `reset` (untimed) so queues do not grow across samples.
fn timed(iters: u64, mut emit: impl FnMut(u64), reset: impl FnOnce()) -> Duration {
    let start = Instant::now();
    for i in 0..iters {
        emit(i);
    }
    let elapsed = start.elapsed();
    reset();
    elapsed
}

fn emit(c: &mut Criterion) {
    let mut group = c.benchmark_group("emit");

    // The tool pair runs first: after millions of small events are freed, the allocator's
    // state makes the next benchmark's allocations slower (seen as 1.0 µs alone, 3.4 µs after).
    let recorder = Recorder::new();
    let bridge = EventBridge::builder().sink(recorder.clone()).build();
    let run = bridge.start_run(ctx());
    group.bench_function("tool-pair/recorder", |b| {
        b.iter_custom(|iters| {
            let pair = |i| {
                let call = run.tool_executing("search", serde_json::json!({ "query": "rust", "page": i }));
                call.completed(serde_json::json!({ "hits": 3 }));
            };
            timed(iters, pair, || recorder.clear())
        })
    });

    let bridge = EventBridge::builder().build();
    let run = bridge.start_run(ctx());
    group.bench_function("thinking/no-sink", |b| b.iter(|| run.thinking("step")));

    let recorder = Recorder::new();
    let bridge = EventBridge::builder().sink(recorder.clone()).build();
    let run = bridge.start_run(ctx());
    group.bench_function("thinking/recorder", |b| {
        b.iter_custom(|iters| timed(iters, |_| run.thinking("step"), || recorder.clear()))
    });
    let hub = UserHub::with_capacity(1 << 22);
    let bridge = EventBridge::builder().sink(hub.clone()).build();
    let mut subscriber = hub.subscribe("user-1");
    let _others: Vec<_> = (0..99).map(|u| hub.subscribe(format!("user-{}", u + 2))).collect();
    let run = bridge.start_run(ctx());
    group.bench_function("thinking/hub", |b| {
        b.iter_custom(|iters| {
            timed(
                iters,
                |_| run.thinking("step"),
                || while let Some(HubMessage::Event(_)) = subscriber.try_recv() {},
            )
        })
    });
    group.finish();
    assert_eq!(bridge.metrics().dropped_events, 0, "the hub bench measured the queueing path only");
}

/// The benchmarks `criterion_main!` runs, measured for 3 s each after a 1 s warm-up. (What
/// `criterion_group!` writes, but private: its `pub fn` would need a doc comment it cannot take.)
fn benches() {
    let mut criterion = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .configure_from_args();
    emit(&mut criterion);
}

criterion_main!(benches);
