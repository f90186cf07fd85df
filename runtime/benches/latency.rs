//! Enqueue-to-receive latency through the per-user hub with 100 concurrent users, each with a
//! subscriber task and a producer task running agent runs, on a 2-worker tokio runtime.
//!
//! `cargo bench -p agent-events --bench latency`
//!
//! Prints p50 / p99 / max for two loads: `paced` (each producer emits one event per
//! millisecond: 100,000 events/s offered) and `burst` (every producer emits as fast as it can).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agent_events::{EventBridge, HubMessage, RunContext, UserHub};

const USERS: usize = 100;
const RUNS: usize = 10;

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64()
}

async fn scenario(paced: bool) -> Vec<f64> {
    let hub = UserHub::with_capacity(1 << 16);
    let bridge = EventBridge::builder().sink(hub.clone()).build();
    let mut readers = Vec::new();
    for u in 0..USERS {
        let mut sub = hub.subscribe(format!("user-{u}"));
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while let Some(HubMessage::Event(event)) = sub.recv().await {
                latencies.push((now() - event.envelope.timestamp) * 1e6);
            }
            latencies
        }));
    }
    let mut producers = Vec::new();
    for u in 0..USERS {
        let bridge = bridge.clone();
        producers.push(tokio::spawn(async move {
            for r in 0..RUNS {
                let run = bridge.start_run(RunContext::new(format!("user-{u}"), format!("t{r}"), "agent"));
                pause(paced).await;
                for step in 0..3 {
                    run.thinking(format!("step {step}"));
                    pause(paced).await;
                }
                for tool in 0..2 {
                    let call = run.tool_executing("search", serde_json::json!({ "q": tool }));
                    pause(paced).await;
                    call.completed(serde_json::json!({ "hits": tool }));
                    pause(paced).await;
                }
                run.agent_response("partial");
                pause(paced).await;
                run.completed("done", ());
                pause(paced).await;
            }
        }));
    }
    for p in producers {
        p.await.unwrap();
    }
    bridge.shutdown().await;
    let mut all = Vec::new();
    for r in readers {
        all.extend(r.await.unwrap());
    }
    assert_eq!(all.len(), USERS * RUNS * 10, "every event arrived");
    all
}

async fn pause(paced: bool) {
    if paced {
        tokio::time::sleep(Duration::from_millis(1)).await;
    } else {
        tokio::task::yield_now().await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass nothing to run.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!(
        "enqueue-to-receive latency, {USERS} users, {RUNS} runs x 10 events each, 2 workers \
         (clock: the envelope timestamp, resolution about 0.25 us)"
    );
    for (name, paced) in [("paced", true), ("burst", false)] {
        let mut medians = Vec::new();
        let mut p99s = Vec::new();
        let mut maxes = Vec::new();
        for _ in 0..5 {
            let mut latencies = runtime.block_on(scenario(paced));
            latencies.sort_by(f64::total_cmp);
            medians.push(percentile(&latencies, 0.5));
            p99s.push(percentile(&latencies, 0.99));
            maxes.push(*latencies.last().unwrap());
        }
        for v in [&mut medians, &mut p99s, &mut maxes] {
            v.sort_by(f64::total_cmp);
        }
        println!(
            "{name:>6}: p50 {:>8.1} us   p99 {:>8.1} us   max {:>8.1} us   (median of 5 runs of {} events)",
            medians[2],
            p99s[2],
            maxes[2],
            USERS * RUNS * 10
        );
    }
}
