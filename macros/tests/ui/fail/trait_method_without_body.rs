use agent_events::Run;

trait Search {
    #[agent_events::tool]
    fn search(&self, run: &Run, query: String) -> Vec<String>;
}

fn main() {}
