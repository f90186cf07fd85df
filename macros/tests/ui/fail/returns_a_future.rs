use std::future::Future;

use agent_events::Run;

#[agent_events::tool]
fn later(run: &Run) -> impl Future<Output = u32> {
    let _ = run;
    async { 1 }
}

fn main() {}
