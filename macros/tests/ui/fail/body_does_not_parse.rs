use agent_events::Run;

#[agent_events::tool]
fn search(run: &Run) -> usize {
    let x = ;
    x
}

fn main() {}
