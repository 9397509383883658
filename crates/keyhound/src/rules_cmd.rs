//! `keyhound rules list|check`, and rule loading shared with `scan`.

use std::process::ExitCode;

use anyhow::{Context, bail};
use keyhound_engine::{Engine, EngineOptions};
use keyhound_rules::{RuleError, RuleSet};

use crate::cli::{RuleArgs, RulesCommand};

fn rule_errors(errors: Vec<RuleError>) -> anyhow::Error {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    anyhow::anyhow!("bad rules:\n  {}", lines.join("\n  "))
}

/// The built-in rules (unless disabled) plus every `--rules` file.
pub fn load_rules(args: &RuleArgs) -> anyhow::Result<RuleSet> {
    let mut set = if args.no_builtin_rules {
        RuleSet::new()
    } else {
        RuleSet::builtin().map_err(rule_errors)?
    };
    for path in &args.rules {
        set.add_file(path).map_err(rule_errors)?;
    }
    if set.is_empty() {
        bail!("no rules to scan with (--no-builtin-rules without --rules)");
    }
    Ok(set)
}

/// Runs a `rules` subcommand.
pub fn run(command: &RulesCommand) -> anyhow::Result<ExitCode> {
    match command {
        RulesCommand::List { rules, json } => list(&load_rules(rules)?, *json),
        RulesCommand::Check { files } => {
            let set = if files.is_empty() {
                RuleSet::builtin().map_err(rule_errors)?
            } else {
                let mut set = RuleSet::new();
                let mut errors = Vec::new();
                for file in files {
                    if let Err(e) = set.add_file(file) {
                        errors.extend(e);
                    }
                }
                if !errors.is_empty() {
                    return Err(rule_errors(errors));
                }
                set
            };
            check(&set)
        }
        RulesCommand::ImportGitleaks {
            file,
            output,
            config_out,
        } => crate::gitleaks_import::run(file, output, config_out.as_deref()),
    }
}

fn list(set: &RuleSet, json: bool) -> anyhow::Result<ExitCode> {
    use std::io::Write;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if json {
        let rules: Vec<_> = set.rules().iter().map(|r| &r.rule).collect();
        serde_json::to_writer_pretty(&mut out, &rules).context("writing rules as JSON")?;
        writeln!(out)?;
    } else {
        let width = set
            .rules()
            .iter()
            .map(|r| r.rule.id.len())
            .max()
            .unwrap_or(2);
        writeln!(
            out,
            "{:width$}  {:8}  {:6}  {:17}  NAME",
            "ID", "SEVERITY", "CONF", "KIND"
        )?;
        for loaded in set.rules() {
            let r = &loaded.rule;
            let confidence = format!("{:?}", r.confidence).to_lowercase();
            writeln!(
                out,
                "{:width$}  {:8}  {:6}  {:17}  {}",
                r.id,
                r.severity.as_str(),
                confidence,
                r.kind.as_str(),
                r.name
            )?;
        }
        writeln!(out, "{} rules", set.len())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn check(set: &RuleSet) -> anyhow::Result<ExitCode> {
    let engine = Engine::new(set, EngineOptions::default())?;
    let failures = engine.check_examples();
    let files: std::collections::BTreeSet<&str> =
        set.rules().iter().map(|r| r.origin.as_str()).collect();
    if failures.is_empty() {
        let examples: usize = set
            .rules()
            .iter()
            .map(|r| r.rule.examples.len() + r.rule.negative_examples.len())
            .sum();
        println!(
            "ok: {} rules in {} files, {} examples checked",
            set.len(),
            files.len(),
            examples
        );
        return Ok(ExitCode::SUCCESS);
    }
    for f in &failures {
        eprintln!("{}: rule `{}`: {}", f.origin, f.rule_id, f.message);
    }
    eprintln!("{} problem(s) in {} rules", failures.len(), set.len());
    Ok(ExitCode::from(2))
}
