use agent_events::{agent_events, Run};

struct Agent;

#[agent_events(name = "agent")]
impl Agent {
    #[tool(skip(missing), colour)]
    fn one(&self, run: &Run) -> u32 {
        let _ = run;
        1
    }

    #[run]
    fn two(&self) -> u32 {
        2
    }
}

fn main() {}
