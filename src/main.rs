//! `cargo agent-events`: finds and fixes every non-canonical agent-event emission site.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Finds and fixes every non-canonical agent-event emission site in a workspace.
#[derive(Parser)]
#[command(name = "cargo-agent-events", bin_name = "cargo agent-events", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Prints the JSON Schema (draft 2020-12) of the wire format.
    Schema,
}

fn main() -> ExitCode {
    // `cargo agent-events …` runs this binary as `cargo-agent-events agent-events …`.
    let args =
        std::env::args_os().enumerate().filter(|(i, a)| !(*i == 1 && a == "agent-events")).map(|(_, a)| a);
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match cli.command {
        Command::Schema => {
            let schema = agent_events_schema::json_schema();
            println!("{}", serde_json::to_string_pretty(&schema).unwrap_or_default());
            ExitCode::SUCCESS
        }
    }
}
