// agent-events: allow-file(parse-error) -- this case checks that a body which does not parse reaches rustc unchanged, with the option errors
use agent_events::Run;

#[agent_events::tool(nmae = "search")]
fn search(run: &Run) -> usize {
    let x = ;
    x
}

fn main() {}
