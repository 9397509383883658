//! keyhound: find exposed secrets of non-human identities.
//!
//! The binary is glue: argument parsing and wiring of the library crates.

mod cli;
mod hook;
mod rules_cmd;
mod scan;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("keyhound: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> anyhow::Result<ExitCode> {
    let cli = cli::Cli::parse();
    match cli.command {
        cli::Command::Scan(args) => scan::run(&args),
        cli::Command::Rules { command } => rules_cmd::run(&command),
        cli::Command::Hook { command } => hook::run(&command),
    }
}
