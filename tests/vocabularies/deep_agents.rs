// The shapes of rust-deep-agents-sdk's `TaskRouterTool::execute` and `DeepAgent::handle_message`
// (docs/vocabularies/rust-deep-agents-sdk.toml).

impl TaskRouterTool {
    async fn execute(&self, args: TaskArgs) -> anyhow::Result<ToolResult> {
        self.emit_event(AgentEvent::SubAgentStarted(SubAgentStartedEvent { // expect: unpaired-tool-event
            metadata: self.create_event_metadata(),
            agent_name: args.agent.clone(),
        }));
        let response = self.delegate(&args).await?;
        self.emit_event(AgentEvent::SubAgentCompleted(SubAgentCompletedEvent {
            metadata: self.create_event_metadata(),
            agent_name: args.agent,
        }));
        Ok(response)
    }

    // silent: the canonical emitter hands events to the dispatcher.
    fn emit_event(&self, event: AgentEvent) {
        if let Some(dispatcher) = &self.event_dispatcher {
            let dispatcher = dispatcher.clone();
            tokio::spawn(async move { dispatcher.dispatch(event).await });
        }
    }
}

impl DeepAgent {
    async fn handle_message(&self, input: &str) -> anyhow::Result<AgentMessage> {
        self.emit_event(AgentEvent::AgentStarted(AgentStartedEvent { agent_name: self.name() })); // expect: unpaired-tool-event
        if input.is_empty() {
            return Err(anyhow::anyhow!("empty"));
        }
        let reply = self.model.generate(input).await?;
        self.emit_event(AgentEvent::AgentCompleted(AgentCompletedEvent { agent_name: self.name() }));
        Ok(reply)
    }

    async fn handle_message_stream(&self, dispatcher: Arc<EventDispatcher>) {
        let event = AgentEvent::AgentCompleted(AgentCompletedEvent { agent_name: self.name() }); // expect: direct-event-payload
        dispatcher.dispatch(event).await;
    }

    // silent: a function that returns the event it builds does not send it.
    fn started_event(&self) -> AgentEvent {
        AgentEvent::AgentStarted(AgentStartedEvent { agent_name: self.name() })
    }
}
