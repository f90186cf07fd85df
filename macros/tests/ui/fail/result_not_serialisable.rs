//! A returned value that is not `Serialize`: the error is at the return type, with the hint.
use agent_events::Run;

struct Opaque;

#[agent_events::tool]
fn plain(run: &Run) -> Opaque {
    let _ = run;
    Opaque
}

#[agent_events::tool]
async fn fallible(run: &Run) -> Result<Opaque, String> {
    let _ = run;
    Ok(Opaque)
}

#[agent_events::run(err)]
fn entry(run: Run) -> Result<Opaque, String> {
    drop(run);
    Ok(Opaque)
}

fn main() {}
