use agent_events::{AgentEvent, Run};

#[derive(serde::Serialize, AgentEvent)]
struct PlanUpdated {
    steps: u32,
    user_id: String,
    #[serde(rename = "seq")]
    order: u32,
}

#[agent_events::tool(name = "Web Search")]
fn search(run: &Run, query: &str) -> usize {
    let _ = run;
    query.len()
}

fn main() {}
