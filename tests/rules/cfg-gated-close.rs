// cfg-gated-close: a close compiled out by `#[cfg]` where its open is not.

async fn finish_run(emitter: &UserEmitter, task: &str, result: String) {
    emitter.send_tool_executing(task, "{}").await;
    #[cfg(not(target_arch = "wasm32"))]
    emitter.send_tool_completed(task, result).await; // expect: cfg-gated-close
}

async fn finish_task(tx: &Sender<Event>, id: u64) {
    tx.send(Event::TaskStarted { sub_id: id }).await.ok();
    let output = run(id).await;
    #[cfg(feature = "events")]
    tx.send(Event::TaskComplete { sub_id: id, output }).await.ok(); // expect: cfg-gated-close
}

// silent: the open is compiled under the same condition as its close.
async fn both_gated(tx: &Sender<Event>, id: u64) {
    #[cfg(feature = "events")]
    tx.send(Event::TaskStarted { sub_id: id }).await.ok();
    #[cfg(feature = "events")]
    tx.send(Event::TaskComplete { sub_id: id, output: String::new() }).await.ok();
}

// silent: every configuration has a close of its own.
async fn both_targets(tx: &Sender<Event>, id: u64) {
    tx.send(Event::TaskStarted { sub_id: id }).await.ok();
    #[cfg(not(target_arch = "wasm32"))]
    tx.send(Event::TaskComplete { sub_id: id, output: String::new() }).await.ok();
    #[cfg(target_arch = "wasm32")]
    tx.send(Event::TaskError { sub_id: id, error: String::new() }).await.ok();
}
