use agent_events::{agent_events, AgentEvent, Run};

#[derive(serde::Serialize)]
struct Hit {
    title: String,
}

struct Researcher;

#[agent_events(name = "researcher")]
impl Researcher {
    #[run(display)]
    async fn answer(&self, run: Run, question: String) -> Result<String, std::io::Error> {
        let hits = self.search(&run, &question, 3).await;
        Ok(format!("{} hits", hits.len()))
    }

    #[agent_events::tool(skip(limit))]
    async fn search(&self, run: &Run, query: &str, limit: usize) -> Vec<Hit> {
        let _ = (run, limit);
        vec![Hit { title: query.to_owned() }]
    }

    #[tool(debug, name = "count")]
    fn count(&self, run: &Run, items: Vec<u32>) -> usize {
        let _ = run;
        items.len()
    }

    fn untouched(&self) -> u32 {
        1
    }
}

#[agent_events::tool(run = current)]
fn free_tool(current: &Run, n: u32) -> Option<u32> {
    let _ = current;
    n.checked_mul(2)
}

#[derive(serde::Serialize, AgentEvent)]
struct PlanUpdated {
    steps: u32,
}

fn main() {
    assert_eq!(Researcher::AGENT_NAME, "researcher");
    let _ = (Researcher.untouched(), free_tool as fn(&Run, u32) -> Option<u32>);
    let _ = <PlanUpdated as AgentEvent>::EVENT_TYPE;
}
