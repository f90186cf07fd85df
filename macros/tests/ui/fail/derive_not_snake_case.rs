use agent_events::AgentEvent;

#[derive(serde::Serialize, AgentEvent)]
#[agent_event(name = "Plan Updated")]
struct PlanUpdated {
    steps: u32,
}

fn main() {}
