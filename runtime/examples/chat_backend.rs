//! A small chat backend: two users ask a data agent questions at the same time; each user's
//! browser (a hub subscription) prints exactly the events it receives, as wire JSON.
//!
//! `cargo run -p agent-events --example chat_backend`

use std::time::Duration;

use agent_events::testing::{check_invariants, check_user_scoped};
use agent_events::{EventBridge, HubMessage, Run, RunContext, UserHub};
use serde_json::json;

/// A tool: opens a tool call, does the work, closes it with the outcome.
async fn run_sql(run: &Run, query: &str) -> Result<serde_json::Value, String> {
    let call = run.tool_executing("run_sql", json!({ "query": query, "api_key": "sk-live-123" }));
    tokio::time::sleep(Duration::from_millis(5)).await;
    if query.contains("missing_table") {
        call.failed("relation \"missing_table\" does not exist");
        return Err("the table does not exist".into());
    }
    let rows = json!([["north", 120], ["south", 95]]);
    call.completed(&rows);
    Ok(rows)
}

/// The agent: takes its run by value and closes it with its outcome.
async fn data_agent(run: Run, question: &str) {
    run.user_message(question);
    run.thinking("Find the table that answers the question");
    let query = if question.to_lowercase().contains("refunds") {
        "select * from missing_table"
    } else {
        "select region, total from sales"
    };
    match run_sql(&run, query).await {
        Ok(rows) => {
            run.agent_response("North sold the most.");
            run.completed("North sold 120, south 95.", json!({ "rows": rows }));
        }
        Err(e) => run.failed(e),
    }
}

#[tokio::main]
async fn main() {
    let hub = UserHub::new();
    let bridge = EventBridge::builder().sink(hub.clone()).build();
    let browsers: Vec<_> = ["alice", "bob"]
        .into_iter()
        .map(|user| {
            let mut subscription = hub.subscribe(user);
            tokio::spawn(async move {
                let mut received = Vec::new();
                while let Some(HubMessage::Event(event)) = subscription.recv().await {
                    received.push(event);
                }
                (user, received)
            })
        })
        .collect();

    let alice =
        bridge.start_run_with_message(RunContext::new("alice", "thread-1", "data_agent"), "Sales by region?");
    let bob =
        bridge.start_run_with_message(RunContext::new("bob", "thread-9", "data_agent"), "Refunds last week?");
    tokio::join!(data_agent(alice, "Sales by region?"), data_agent(bob, "Refunds last week?"));
    bridge.shutdown().await;

    for browser in browsers {
        let (user, events) = browser.await.expect("subscriber task");
        println!("== {user}'s browser received {} events", events.len());
        for event in &events {
            println!("{}", serde_json::to_string(&**event).expect("events serialize"));
        }
        check_user_scoped(user, &events).expect("only this user's events");
        check_invariants(&events).expect("every run invariant holds");
    }
    let metrics = bridge.metrics();
    println!(
        "== metrics: {} events emitted, {} delivery failures",
        metrics.total_emitted(),
        metrics.delivery_failures
    );
}
