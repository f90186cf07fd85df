// event-wire-name: a declared variant serialised under another name than its `wire`.

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event_type")]
pub enum AgentEvent {
    AgentStarted(AgentStartedEvent), // expect: event-wire-name
    #[serde(rename = "agent_done")]
    AgentCompleted(AgentCompletedEvent), // expect: event-wire-name
}

mod renamed {
    // silent: `rename_all` gives every variant its declared name.
    #[derive(Serialize)]
    #[serde(tag = "event_type", rename_all = "snake_case")]
    pub enum AgentEvent {
        AgentStarted(AgentStartedEvent),
        #[serde(rename = "agent_completed")]
        AgentCompleted(AgentCompletedEvent),
    }
}

mod internal {
    // silent: an enum that is not serialised has no wire name.
    pub enum AgentEvent {
        AgentStarted,
    }
}
