use agent_events::AgentEvent;

#[derive(serde::Serialize, AgentEvent)]
struct ToolCompleted {
    tool_name: String,
}

fn main() {}
