// agent-events: allow-file(parse-error) -- this case checks that a body which does not parse reaches rustc unchanged
use agent_events::Run;

#[agent_events::tool]
fn search(run: &Run) -> usize {
    let x = ;
    x
}

fn main() {}
