// The shapes of swiftide's `Agent::run_agent` and `invoke_tools` (docs/vocabularies/swiftide.toml):
// hooks fired through `invoke_hooks!`, `OnStop` through `stop`/`stop_with_error`.

impl Agent {
    async fn run_agent(&mut self, query: Option<String>) -> Result<(), AgentError> {
        invoke_hooks!(OnStart, self); // expect: unpaired-tool-event
        self.state = State::Running;
        if let Some(query) = query {
            self.context.add_message(ChatMessage::User(query)).await?;
        }
        loop {
            let messages = self.context.next_completion().await?;
            let Some(messages) = messages else { break };
            if let Err(err) = self.step(&messages).await {
                self.stop_with_error(&err).await;
                return Err(err);
            }
        }
        self.stop(StopReason::NoNewMessages).await;
        Ok(())
    }

    // silent: every path stops the agent.
    async fn run_once(&mut self) -> Result<(), AgentError> {
        invoke_hooks!(OnStart, self);
        if let Err(err) = self.step(&[]).await {
            self.stop_with_error(&err).await;
            return Err(err);
        }
        self.stop(StopReason::NoNewMessages).await;
        Ok(())
    }

    async fn invoke_tools(&mut self, tool_calls: Vec<ToolCall>) -> Result<(), AgentError> {
        let mut handles = vec![];
        for tool_call in tool_calls {
            let Some(tool) = self.find_tool_by_name(tool_call.name()) else {
                continue;
            };
            invoke_hooks!(BeforeTool, self, &tool_call); // expect: unpaired-tool-event
            let handle = tokio::spawn(async move { tool.invoke(&tool_call).await });
            handles.push((handle, tool_call));
        }
        for (handle, tool_call) in handles {
            let mut output = handle.await.map_err(AgentError::ToolFailedToJoin)?;
            invoke_hooks!(AfterTool, self, &tool_call, &mut output);
        }
        Ok(())
    }

    // silent: `stop` is the close itself (a declared helper); its callers are checked.
    async fn stop(&mut self, reason: StopReason) {
        invoke_hooks!(OnStop, self, reason, None);
    }
}
