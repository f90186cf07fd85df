// agent-events: allow-file(parse-error) -- this case checks that an impl block which does not parse reaches rustc unchanged but for its helper attributes, with the option errors
use agent_events::{agent_events, Run};

struct Agent;

#[agent_events(nmae = "agent")]
impl Agent {
    #[tool(colour)]
    fn search(&self, run: &Run) -> usize {
        let x = ;
        x
    }

    #[run]
    fn answer(&self, run: Run) {
        let _ = run;
    }
}

fn main() {}
