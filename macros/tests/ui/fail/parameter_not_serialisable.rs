use agent_events::Run;

struct Connection;

#[agent_events::tool]
fn query(run: &Run, connection: &Connection, sql: &str) -> usize {
    let _ = (run, connection);
    sql.len()
}

fn main() {}
