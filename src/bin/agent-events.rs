//! `agent-events`: the same command line as `cargo agent-events`, under the name the Python
//! wheel installs (`agent-events check .`).

fn main() -> std::process::ExitCode {
    cargo_agent_events::cli::main(std::env::args_os())
}
