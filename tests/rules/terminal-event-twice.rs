// terminal-event-twice: an `exactly-once` close sent twice on one path.

async fn finish(tx: &Sender<Event>, id: u64, output: String) {
    tx.send(Event::TaskStarted { sub_id: id }).await.ok();
    tx.send(Event::TaskComplete { sub_id: id, output: output.clone() }).await.ok();
    if output.is_empty() {
        tx.send(Event::TaskError { sub_id: id, error: "empty".into() }).await.ok(); // expect: terminal-event-twice
    }
}

// silent: one close on each path.
async fn one_of(tx: &Sender<Event>, id: u64, output: Result<String, String>) {
    tx.send(Event::TaskStarted { sub_id: id }).await.ok();
    match output {
        Ok(output) => tx.send(Event::TaskComplete { sub_id: id, output }).await.ok(),
        Err(error) => tx.send(Event::TaskError { sub_id: id, error }).await.ok(),
    };
}

// silent: each iteration is a task of its own (a new open before each close).
async fn each(tx: &Sender<Event>, ids: Vec<u64>) {
    for id in ids {
        tx.send(Event::TaskStarted { sub_id: id }).await.ok();
        tx.send(Event::TaskComplete { sub_id: id, output: String::new() }).await.ok();
    }
}

// silent: two different tasks, by their key.
async fn two_tasks(tx: &Sender<Event>) {
    tx.send(Event::TaskComplete { sub_id: 1, output: String::new() }).await.ok();
    tx.send(Event::TaskComplete { sub_id: 2, output: String::new() }).await.ok();
}
