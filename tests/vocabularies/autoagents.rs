// The shapes of AutoAgents' `TurnEngine::run_turn` and `ToolProcessor`
// (docs/vocabularies/autoagents.toml).
use autoagents_protocol::Event;

impl TurnEngine {
    async fn run_turn(&self, context: &Context, task: &Task, turn_index: usize) -> Result<TurnResult, Error> {
        let tx_event = context.tx().ok();
        EventHelper::send_turn_started(&tx_event, task.submission_id, turn_index).await; // expect: unpaired-tool-event
        let response = self.get_llm_response(context).await?;
        if response.has_tools() {
            let results = self.process_tool_calls(context, &response).await;
            EventHelper::send_turn_completed(&tx_event, task.submission_id, turn_index, false).await;
            return Ok(TurnResult::Continue(results));
        }
        EventHelper::send_turn_completed(&tx_event, task.submission_id, turn_index, true).await;
        Ok(TurnResult::Complete(response))
    }

    // silent: the streamed turn is closed inside the producer it hands the turn to, on both arms.
    async fn run_turn_stream(&self, context: Arc<Context>, turn_index: usize) -> Stream {
        let tx_event = context.tx().ok();
        let producer = async move {
            EventHelper::send_turn_started(&tx_event, 1, turn_index).await;
            match engine.stream(&context).await {
                Ok(result) => {
                    EventHelper::send_turn_completed(&tx_event, 1, turn_index, true).await;
                }
                Err(err) => {
                    EventHelper::send_turn_completed(&tx_event, 1, turn_index, false).await;
                }
            }
        };
        stream_from_producer(rx, producer)
    }
}

impl ToolProcessor {
    async fn process(tx_event: &Option<Sender<Event>>, call: &ToolCall) -> ToolCallResult {
        Self::send_event(tx_event, Event::ToolCallRequested { id: call.id.clone(), tool_name: call.name.clone() }).await;
        let result = call.run().await;
        Self::send_tool_result_event(tx_event, call, &result).await;
        result
    }

    async fn send_event(tx: &Option<Sender<Event>>, event: Event) { // expect: competing-emitter
        if let Some(tx) = tx {
            let _ = tx.send(event).await;
        }
    }
}

impl EventHelper {
    // silent: the canonical emitter.
    pub async fn send(tx: &Option<Sender<Event>>, event: Event) {
        if let Some(tx) = tx {
            let _ = tx.send(event).await;
        }
    }
}
