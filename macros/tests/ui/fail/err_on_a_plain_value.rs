//! `err` says the function returns a `Result`: on any other type it is an error at the type.
use agent_events::Run;

#[agent_events::tool(err)]
fn count(run: &Run) -> u32 {
    let _ = run;
    1
}

fn main() {}
