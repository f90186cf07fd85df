use agent_events::Run;

#[agent_events::tool]
#[track_caller]
fn checked(run: &Run, value: u32) -> u32 {
    let _ = run;
    value
}

fn main() {}
