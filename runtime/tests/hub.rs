//! The per-user hub: scoping, order, unsubscription, the overflow policy, and 100 users at once.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use agent_events::schema::{Event, EventType};
use agent_events::testing::{assert_invariants, check_user_scoped, Recorder};
use agent_events::{EventBridge, EventSink, HubMessage, RunContext, Subscription, UserHub};
use serde_json::json;

async fn drain(sub: &mut Subscription) -> (Vec<Arc<Event>>, Option<u64>) {
    let mut events = Vec::new();
    let mut lagged = None;
    while let Some(message) = sub.recv().await {
        match message {
            HubMessage::Event(e) => events.push(e),
            HubMessage::Lagged { skipped } => lagged = Some(skipped),
        }
    }
    (events, lagged)
}

#[tokio::test]
async fn each_subscriber_receives_only_its_users_events_in_order() {
    let hub = UserHub::new();
    let bridge = EventBridge::builder().sink(hub.clone()).build();
    let mut alice = hub.subscribe("alice");
    let mut alice_tab2 = hub.subscribe("alice");
    let mut bob = hub.subscribe("bob");
    let run = bridge.start_run(RunContext::new("alice", "t", "agent"));
    let other = bridge.start_run(RunContext::new("bob", "t", "agent"));
    run.thinking("a");
    other.thinking("b");
    run.tool_executing("x", ()).completed(());
    run.completed("done", ());
    other.completed("done", ());
    bridge.shutdown().await;
    for sub in [&mut alice, &mut alice_tab2] {
        let (events, lagged) = drain(sub).await;
        assert_eq!(lagged, None);
        let types: Vec<_> = events.iter().map(|e| e.type_name().to_owned()).collect();
        assert_eq!(
            types,
            ["agent_started", "agent_thinking", "tool_executing", "tool_completed", "agent_completed"]
        );
        check_user_scoped("alice", &events).unwrap();
        assert_invariants(&events);
    }
    let (events, _) = drain(&mut bob).await;
    assert_eq!(events.len(), 3);
    check_user_scoped("bob", &events).unwrap();
}

#[test]
fn dropping_a_subscription_unsubscribes() {
    let hub = UserHub::new();
    let first = hub.subscribe("alice");
    let second = hub.subscribe("alice");
    assert_eq!(hub.subscriber_count("alice"), 2);
    drop(first);
    assert_eq!(hub.subscriber_count("alice"), 1);
    drop(second);
    assert_eq!(hub.subscriber_count("alice"), 0);
}

fn keep_up(sub: &mut Subscription, seen: &mut Vec<Arc<Event>>) {
    while let Some(message) = sub.try_recv() {
        match message {
            HubMessage::Event(e) => seen.push(e),
            HubMessage::Lagged { .. } => panic!("a subscriber that keeps up lagged"),
        }
    }
}

#[tokio::test]
async fn a_slow_subscriber_loses_thinking_first_then_is_disconnected_with_a_notice() {
    let hub = UserHub::with_capacity(4);
    let bridge = EventBridge::builder().sink(hub.clone()).build();
    let mut slow = hub.subscribe("alice");
    let mut fast = hub.subscribe("alice");
    let run = bridge.start_run(RunContext::new("alice", "t", "agent"));
    let mut fast_seen = Vec::new();
    // Fill the slow queue: started + 3 thinking. Then thinking is dropped, not queued.
    for i in 0..6 {
        run.thinking(format!("step {i}"));
        keep_up(&mut fast, &mut fast_seen);
    }
    assert_eq!(slow.skipped(), 3);
    // Lifecycle events evict queued thinking rather than being lost.
    let a = run.tool_executing("a", ());
    let b = run.tool_executing("b", ());
    let c = run.tool_executing("c", ());
    assert_eq!(slow.skipped(), 6);
    keep_up(&mut fast, &mut fast_seen);
    // The queue now holds only lifecycle events: the next one disconnects the subscriber.
    a.completed(());
    assert_eq!(hub.subscriber_count("alice"), 1, "the slow subscriber was removed");
    b.completed(());
    c.completed(());
    run.completed("done", ());
    keep_up(&mut fast, &mut fast_seen);

    let (events, lagged) = drain(&mut slow).await;
    let types: Vec<_> = events.iter().map(|e| e.type_name().to_owned()).collect();
    assert_eq!(types, ["agent_started", "tool_executing", "tool_executing", "tool_executing"]);
    assert_eq!(lagged, Some(6), "an explicit notice, then the end of the stream");
    assert_eq!(fast_seen.len(), 1 + 6 + 3 + 3 + 1, "a subscriber that keeps up loses nothing");
    assert_invariants(&fast_seen);
    let metrics = bridge.metrics();
    assert_eq!(metrics.lagged_subscribers, 1);
    assert_eq!(metrics.dropped_events, 6);
}

#[tokio::test]
async fn shutdown_ends_streams_after_what_is_queued() {
    let hub = UserHub::new();
    let bridge = EventBridge::builder().sink(hub.clone()).build();
    let mut sub = hub.subscribe("alice");
    bridge.start_run(RunContext::new("alice", "t", "agent")).completed("ok", ());
    bridge.shutdown().await;
    let (events, lagged) = drain(&mut sub).await;
    assert_eq!((events.len(), lagged), (2, None));
    let mut late = hub.subscribe("alice");
    assert!(late.recv().await.is_none(), "a subscription after shutdown ends at once");
    assert!(hub.deliver(&events[0]).is_err());
}

#[tokio::test]
async fn a_waiting_subscriber_is_woken_by_an_event_from_another_thread() {
    let hub = UserHub::new();
    let bridge = EventBridge::builder().sink(hub.clone()).build();
    let mut sub = hub.subscribe("alice");
    let waiter = tokio::spawn(async move { sub.recv().await });
    tokio::time::sleep(Duration::from_millis(10)).await;
    std::thread::spawn(move || bridge.start_run(RunContext::new("alice", "t", "a")).completed("ok", ()))
        .join()
        .unwrap();
    let Some(HubMessage::Event(e)) =
        tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap()
    else {
        panic!("no event")
    };
    assert_eq!(e.event_type(), Some(EventType::AgentStarted));
}

const USERS: usize = 100;
const RUNS_PER_USER: usize = 4;
const SUBSCRIBERS_PER_USER: usize = 2;

/// 100 users, each with two subscribers and four concurrent runs through one bridge; tools run
/// on spawned tasks. Every subscriber receives exactly its own user's events, every run
/// complete and in order, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_users_each_receive_exactly_their_own_events() {
    let hub = UserHub::with_capacity(4096);
    let recorder = Recorder::new();
    let bridge = EventBridge::builder().sink(recorder.clone()).sink(hub.clone()).build();

    let mut readers = Vec::new();
    for u in 0..USERS {
        for _ in 0..SUBSCRIBERS_PER_USER {
            let mut sub = hub.subscribe(format!("user-{u}"));
            readers.push(tokio::spawn(async move {
                let (events, lagged) = drain(&mut sub).await;
                (u, events, lagged)
            }));
        }
    }

    let mut runs = Vec::new();
    for u in 0..USERS {
        for r in 0..RUNS_PER_USER {
            let bridge = bridge.clone();
            runs.push(tokio::spawn(async move {
                let run =
                    bridge.start_run(RunContext::new(format!("user-{u}"), format!("thread-{r}"), "agent"));
                run.user_message(format!("question {r}"));
                let mut tools = Vec::new();
                for t in 0..3 {
                    let call = run.tool_executing(format!("tool-{t}"), json!({ "u": u, "r": r }));
                    tools.push(tokio::spawn(async move {
                        tokio::task::yield_now().await;
                        if t == 2 && (u + r) % 5 == 0 {
                            call.failed("upstream error");
                        } else {
                            call.completed(json!({ "t": t }));
                        }
                    }));
                    run.thinking(format!("started tool {t}"));
                }
                for tool in tools {
                    tool.await.unwrap();
                }
                run.agent_response("partial answer");
                run.completed(format!("answer {r}"), ());
            }));
        }
    }
    for run in runs {
        run.await.unwrap();
    }
    bridge.shutdown().await;

    let all = recorder.events();
    assert_invariants(&all);
    let mut expected: HashMap<String, Vec<Arc<Event>>> = HashMap::new();
    for e in &all {
        expected.entry(e.envelope.user_id.to_string()).or_default().push(e.clone());
    }
    let per_run = 1 + 1 + 3 * 3 + 1 + 1;
    assert_eq!(all.len(), USERS * RUNS_PER_USER * per_run);

    let mut subscribers = 0;
    for reader in readers {
        let (u, events, lagged) = reader.await.unwrap();
        let user = format!("user-{u}");
        assert_eq!(lagged, None);
        check_user_scoped(&user, &events).unwrap();
        assert_invariants(&events);
        // Same events as the recorder saw for this user, and each run's in the same order.
        let by_run = |events: &[Arc<Event>]| {
            let mut runs: HashMap<String, Vec<String>> = HashMap::new();
            for e in events {
                runs.entry(e.envelope.run_id.to_string()).or_default().push(e.envelope.event_id.to_string());
            }
            runs
        };
        assert_eq!(by_run(&events), by_run(&expected[&user]));
        assert_eq!(events.len(), RUNS_PER_USER * per_run);
        subscribers += 1;
    }
    assert_eq!(subscribers, USERS * SUBSCRIBERS_PER_USER);
    let metrics = bridge.metrics();
    assert_eq!((metrics.lagged_subscribers, metrics.dropped_events, metrics.delivery_failures), (0, 0, 0));
}
