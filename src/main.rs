//! `cargo agent-events`: finds and fixes every non-canonical agent-event emission site.

fn main() -> std::process::ExitCode {
    cargo_agent_events::cli::main(std::env::args_os())
}
