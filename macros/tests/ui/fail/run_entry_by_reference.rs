use agent_events::Run;

#[agent_events::run]
async fn answer(run: &Run) -> String {
    let _ = run;
    String::new()
}

fn main() {}
