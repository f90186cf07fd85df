#[agent_events::tool]
fn search(query: String) -> usize {
    query.len()
}

fn main() {}
