//! The JSON-lines sink writes one valid wire event per line and flushes on shutdown.

use std::io::{self, Write};

use agent_events::schema::{validate, Event};
use agent_events::{EventBridge, JsonLinesSink, RunContext};

#[tokio::test]
async fn every_event_is_one_valid_line_after_shutdown() {
    let dir = std::env::temp_dir().join(format!("agent-events-jsonl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("events.jsonl");
    let bridge = EventBridge::builder().sink(JsonLinesSink::create(&path).unwrap()).build();
    for i in 0..50 {
        let run = bridge.start_run(RunContext::new(format!("u{i}"), "t", "agent"));
        run.tool_executing("search", serde_json::json!({ "q": i })).completed(i);
        run.completed("ok", ());
    }
    bridge.shutdown().await;
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 50 * 4);
    for line in &lines {
        let value: serde_json::Value = serde_json::from_str(line).unwrap();
        validate(&value).unwrap();
        let _: Event = serde_json::from_value(value).unwrap();
    }
    assert_eq!(bridge.metrics().delivery_failures, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}

struct BrokenDisk;

impl Write for BrokenDisk {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("disk full"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::other("disk full"))
    }
}

#[tokio::test]
async fn write_errors_are_counted_as_delivery_failures() {
    let bridge = EventBridge::builder().sink(JsonLinesSink::with_queue(BrokenDisk, 16)).build();
    bridge.start_run(RunContext::new("u", "t", "a")).completed("ok", ());
    bridge.shutdown().await;
    assert_eq!(bridge.metrics().delivery_failures, 2, "each lost event counted once");
}
