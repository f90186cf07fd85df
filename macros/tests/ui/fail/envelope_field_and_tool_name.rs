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



/// An internally tagged enum: its tag and its variants' fields are the event's own.
#[derive(serde::Serialize, AgentEvent)]
#[serde(tag = "type")]
enum Stage {
    Planning,
    Executing { step: u32, run_id: String },
}

/// Untagged: the variants' fields are the event's own.
#[derive(serde::Serialize, AgentEvent)]
#[serde(untagged)]
enum Either {
    Left { thread_id: String },
}

/// Adjacently tagged: the content key is the event's own, the variants' fields are inside it.
#[derive(serde::Serialize, AgentEvent)]
#[serde(tag = "kind", content = "timestamp")]
enum Adjacent {
    Tick { seq: u32 },
}

/// Serde's default tagging: the variants' fields are inside the variant's field (allowed).
#[derive(serde::Serialize, AgentEvent)]
enum External {
    Tick { seq: u32 },
}
fn main() {}
