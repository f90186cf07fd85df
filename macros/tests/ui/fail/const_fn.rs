use agent_events::Run;

#[agent_events::tool]
const fn search(run: &Run) -> usize {
    let _ = run;
    1
}

fn main() {}
