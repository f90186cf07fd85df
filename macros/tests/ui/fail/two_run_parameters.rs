mod jobs {
    pub struct Run;
}

use agent_events::Run;

// Two parameters typed `Run`, neither written `agent_events::Run` nor named `run`.
#[agent_events::tool]
fn resume(job: &jobs::Run, current: &Run) -> u32 {
    let _ = (job, current);
    1
}

fn main() {}
