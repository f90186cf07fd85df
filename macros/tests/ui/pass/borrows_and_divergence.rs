//! Generated code warns of nothing, even under `deny(warnings)`: a body that diverges, a sync
//! tool that returns a borrow of its inputs, and a builder method returning `&mut Self`.
#![deny(warnings)]

use agent_events::Run;

#[agent_events::tool]
async fn not_yet(run: &Run, table: String) -> u32 {
    let _ = (run, table);
    todo!()
}

#[agent_events::tool]
fn first_mut<'a>(run: &Run, values: &'a mut Vec<u32>) -> &'a mut u32 {
    let _ = run;
    &mut values[0]
}

#[derive(Debug, Default)]
struct Query {
    limit: u32,
}

impl Query {
    #[agent_events::tool(debug)]
    fn limit(&mut self, run: &Run, limit: u32) -> &mut Self {
        let _ = run;
        self.limit = limit;
        self
    }
}

fn main() {
    let _ = not_yet;
    let bridge = agent_events::EventBridge::builder().build();
    let run = bridge.start_run(agent_events::RunContext::new("u", "t", "a"));
    let mut values = vec![1, 2];
    *first_mut(&run, &mut values) += 1;
    assert_eq!(values[0], 2);
    let mut query = Query::default();
    query.limit(&run, 5).limit(&run, 6);
    assert_eq!(query.limit, 6);
}
