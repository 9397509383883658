//! keyhound: find exposed secrets of non-human identities.
//!
//! The command line is glue: argument parsing and wiring of the library crates. It lives in
//! this library so the binary stays a call to [`run`] and the fuzz targets in `fuzz/` can reach
//! the parsers of untrusted input, such as the configuration file ([`config`]).

mod baseline;
mod cli;
pub mod config;
mod gitleaks_import;
mod hook;
mod inline_allow;
mod rules_cmd;
mod scan;
mod triage;
mod vcs;

use std::process::ExitCode;

use clap::Parser;

/// Parses the command line and runs the command: the exit code to end with, or the error that
/// stopped it (the binary prints it and exits 2).
pub fn run() -> anyhow::Result<ExitCode> {
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
