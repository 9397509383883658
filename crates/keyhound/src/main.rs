//! keyhound: find exposed secrets of non-human identities.
//!
//! The binary is glue: argument parsing and wiring of the library crates.

mod baseline;
mod cli;
mod config;
mod gitleaks_import;
mod hook;
mod inline_allow;
mod rules_cmd;
mod scan;
mod triage;
mod vcs;

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
        cli::Command::Baseline {
            command: cli::BaselineCommand::Create(mut args),
        } => {
            args.create_baseline = true;
            scan::run(&args)
        }
        cli::Command::Config { command } => triage::config_command(&command),
    }
}
