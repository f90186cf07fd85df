use agent_events::Run;

#[agent_events::tool]
fn add(run: &Run, (a, b): (u32, u32), _: u8) -> u32 {
    let _ = run;
    a + b
}

fn main() {}
