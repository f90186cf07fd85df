use agent_events::Run;

#[agent_events::tool(skip(limit))]
fn search(run: &Run, query: String) -> usize {
    let _ = run;
    query.len()
}

fn main() {}
