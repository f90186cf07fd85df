// cancelled-pair: a pair opened in a future that `select!` or `abort()` may drop.

async fn search(emitter: &UserEmitter, cancel: CancellationToken) {
    tokio::select! {
        _ = cancel.cancelled() => {}
        _ = async {
            emitter.send_tool_executing("search", "{}").await; // expect: cancelled-pair
            let hits = backend_search().await;
            emitter.send_tool_completed("search", hits).await;
        } => {}
    }
}

async fn with_timeout(tx: Sender<Event>, id: u64) {
    let handle = tokio::spawn(async move {
        tx.send(Event::TaskStarted { sub_id: id }).await.ok(); // expect: cancelled-pair
        let output = run(id).await;
        tx.send(Event::TaskComplete { sub_id: id, output }).await.ok();
    });
    tokio::time::sleep(TIMEOUT).await;
    handle.abort();
}

// silent: the open is sent before the race, and every arm closes it.
async fn raced(emitter: &UserEmitter, cancel: CancellationToken) {
    emitter.send_tool_executing("search", "{}").await;
    tokio::select! {
        _ = cancel.cancelled() => emitter.send_tool_completed("search", "cancelled").await,
        hits = backend_search() => emitter.send_tool_completed("search", hits).await,
    }
}

// silent: a spawned task nobody aborts runs to its close.
async fn detached(tx: Sender<Event>, id: u64) {
    tokio::spawn(async move {
        tx.send(Event::TaskStarted { sub_id: id }).await.ok();
        let output = run(id).await;
        tx.send(Event::TaskComplete { sub_id: id, output }).await.ok();
    });
}
