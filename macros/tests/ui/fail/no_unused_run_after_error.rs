//! A failed expansion reports its error and nothing else: no "unused variable `run`".
use agent_events::{agent_events, Run};

#[agent_events::tool(colour = "red")]
fn lookup(run: &Run, key: &str) -> usize {
    key.len()
}

struct Agent;

#[agent_events]
impl Agent {
    #[tool(nmae = "x")]
    fn search(&self, run: &Run, query: &str) -> usize {
        query.len()
    }

    #[tool]
    const fn fixed(&self, run: &Run) -> u32 {
        1
    }

    #[run(track)]
    async fn answer(&self, run: Run) -> String {
        String::new()
    }
}

fn main() {}
