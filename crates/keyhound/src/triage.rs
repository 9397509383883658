//! What a scan does with its findings besides finding them: the configuration file, inline
//! `keyhound:allow` comments, the allowlist, the baseline and the `fail_on` threshold.
//!
//! [`Policy::load`] runs before the scan (it settles the effective options and the rules);
//! [`Policy::triage`] runs on the finished findings and splits them into what is reported,
//! what was allowed (and why) and what the baseline already knew; [`Policy::finish`] prints
//! what the user should know about that, writes a baseline when one is being made, and gives
//! the exit code.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use keyhound_findings::{Finding, NhiContext, map_nhi};
use keyhound_report::{BaselineState, SarifRun, Suppressed, SuppressionKind};
use keyhound_rules::{Rule, RuleSet, Severity};

use crate::baseline::{self, Baseline};
use crate::cli::{FormatArg, ScanArgs};
use crate::config::{AllowEntry, Config};
use crate::inline_allow;

/// The settled options of one scan.
#[derive(Debug)]
pub struct Policy {
    /// The scan's options with the configuration merged in (its excludes and rule files).
    pub args: ScanArgs,
    /// The configuration in force (defaults when there is no file).
    pub config: Config,
    baseline: Option<Baseline>,
    fail_on: Option<Severity>,
}

/// The findings of a scan, sorted out.
#[derive(Debug, Default)]
pub struct Triage {
    /// The findings to report: new ones, and known ones with `--baseline-include-known`.
    pub findings: Vec<Finding>,
    /// What inline comments and the allowlist kept out, and why.
    pub suppressed: Vec<Suppressed>,
    /// Fingerprints of the reported findings that the baseline knows.
    known: HashSet<String>,
    /// Known findings left out of the report.
    known_dropped: usize,
    /// Reported findings that fail the scan: new, and at or above `fail_on`.
    failing: usize,
}

impl Triage {
    /// The baseline state of a reported finding.
    pub fn baseline_state(&self, finding: &Finding) -> BaselineState {
        if self.known.contains(&finding.fingerprint) {
            BaselineState::Unchanged
        } else {
            BaselineState::New
        }
    }

    /// Whether any finding fails the scan.
    pub fn fails(&self) -> bool {
        self.failing > 0
    }
}

impl Policy {
    /// Reads the configuration (unless `--no-config`) and the baseline, and merges them with
    /// the command line: command-line values win, lists add up.
    pub fn load(args: &ScanArgs) -> anyhow::Result<Self> {
        let config = if args.no_config {
            Config::default()
        } else {
            Config::discover(args.config.as_deref(), &args.paths)?
        };
        let mut effective = args.clone();
        effective.excludes.extend(config.exclude.iter().cloned());
        effective.rules.rules.extend(config.rules.iter().cloned());
        let baseline_path = if args.create_baseline {
            if args.baseline.is_some() || args.baseline_include_known {
                bail!("`baseline create` makes a baseline: it takes no --baseline");
            }
            if args.output.is_none() {
                bail!("`baseline create` needs the baseline file to write: -o FILE");
            }
            None
        } else {
            args.baseline.clone().or_else(|| config.baseline.clone())
        };
        let baseline = baseline_path.as_deref().map(Baseline::load).transpose()?;
        if args.baseline_include_known && baseline.is_none() {
            bail!(
                "--baseline-include-known needs a baseline (--baseline FILE or `baseline` in the config)"
            );
        }
        Ok(Self {
            fail_on: args.fail_on.or(config.fail_on),
            args: effective,
            config,
            baseline,
        })
    }

    /// The rules to scan with: built-in and `--rules` files, the configuration's rule files,
    /// less its disabled rules (each of which must exist, so a typo is not silently ignored).
    pub fn rules(&self) -> anyhow::Result<RuleSet> {
        let mut set = crate::rules_cmd::load_rules(&self.args.rules)?;
        let disabled: HashSet<&str> = self
            .config
            .disable_rules
            .iter()
            .map(String::as_str)
            .collect();
        for id in &disabled {
            if !set.rules().iter().any(|r| r.rule.id == *id) {
                bail!(
                    "config {}: `disable_rules`: there is no rule `{id}` (see `keyhound rules list`)",
                    self.config_name()
                );
            }
        }
        set.retain(|rule| !disabled.contains(rule.id.as_str()));
        if set.is_empty() {
            bail!(
                "config {}: `disable_rules` leaves no rule to scan with",
                self.config_name()
            );
        }
        Ok(set)
    }

    fn config_name(&self) -> String {
        self.config
            .path
            .as_deref()
            .map_or_else(|| "(none)".to_string(), |p| p.display().to_string())
    }

    /// Sorts `findings` out: the allowlist and inline comments first (an allowed finding is
    /// never baselined nor reported), then the baseline, then the `fail_on` threshold.
    pub fn triage<'r>(
        &self,
        findings: Vec<Finding>,
        rule_of: impl Fn(usize) -> &'r Rule,
        context: &NhiContext<'_>,
    ) -> Triage {
        let mut triage = Triage::default();
        for mut finding in findings {
            // Allows are per occurrence (a path, an inline comment); grouped by how and why.
            let mut allowed: BTreeMap<(bool, String), Vec<_>> = BTreeMap::new();
            let total = finding.occurrences.len();
            let mut kept = Vec::with_capacity(total);
            let limits: Vec<&regex::Regex> = self
                .config
                .rule_paths
                .iter()
                .filter(|r| r.rule == finding.rule_id)
                .map(|r| &r.path)
                .collect();
            for occurrence in std::mem::take(&mut finding.occurrences) {
                let relative = self.relative_to_root(&occurrence.path);
                if !limits.is_empty() && !limits.iter().any(|p| p.is_match(relative)) {
                    // Outside the rule's paths: the rule does not apply there at all.
                    continue;
                }
                if let Some(reason) = self.config_allows(&finding, relative) {
                    allowed
                        .entry((false, reason.to_string()))
                        .or_default()
                        .push(occurrence);
                } else if let Some(allow) =
                    inline_allow::check(&occurrence.snippet, &finding.rule_id)
                {
                    allowed
                        .entry((true, allow.reason.unwrap_or_default()))
                        .or_default()
                        .push(occurrence);
                } else {
                    kept.push(occurrence);
                }
            }
            let rule = rule_of(finding.rule_index);
            for ((in_source, reason), occurrences) in allowed {
                let mut part = finding.clone();
                part.occurrences = occurrences;
                part.nhi = map_nhi(rule, &part, context);
                triage.suppressed.push(Suppressed {
                    finding: part,
                    kind: if in_source {
                        SuppressionKind::InSource
                    } else {
                        SuppressionKind::External
                    },
                    justification: reason,
                });
            }
            if kept.is_empty() {
                continue;
            }
            let partly_allowed = kept.len() != total;
            finding.occurrences = kept;
            if partly_allowed {
                // Risks such as reuse across paths are judged on what is still reported.
                finding.nhi = map_nhi(rule, &finding, context);
            }
            let known = self.baseline.as_ref().is_some_and(|b| b.contains(&finding));
            if known {
                if !self.args.baseline_include_known {
                    triage.known_dropped += 1;
                    continue;
                }
                triage.known.insert(finding.fingerprint.clone());
            } else if self
                .fail_on
                .is_none_or(|threshold| rule.severity >= threshold)
            {
                triage.failing += 1;
            }
            triage.findings.push(finding);
        }
        triage
    }

    /// `path` (as reported: under the scanned root as given) relative to that root, which is
    /// what the configuration's path regexes are written against.
    pub(crate) fn relative_to_root<'p>(&self, path: &'p str) -> &'p str {
        self.args
            .paths
            .iter()
            .filter_map(|root| {
                let root = root
                    .to_str()?
                    .trim_start_matches("./")
                    .trim_end_matches('/');
                if root.is_empty() || root == "." || root == "-" {
                    return None;
                }
                path.strip_prefix(root)?.strip_prefix('/')
            })
            .next()
            .unwrap_or(path)
    }

    /// The reason of the allowlist entry that allows `finding` at `path`, if one does.
    fn config_allows(&self, finding: &Finding, path: &str) -> Option<&str> {
        self.config.allow.iter().find_map(|entry| match entry {
            AllowEntry::Fingerprint {
                fingerprint,
                reason,
            } => (*fingerprint == finding.fingerprint).then_some(reason.as_str()),
            AllowEntry::Matching {
                value,
                path: path_regex,
                rule,
                reason,
            } => (rule.as_ref().is_none_or(|r| *r == finding.rule_id)
                && value.as_ref().is_none_or(|v| v.is_match(&finding.secret))
                && path_regex.as_ref().is_none_or(|p| p.is_match(path)))
            .then_some(reason.as_str()),
        })
    }

    /// Whether a baseline is in use (then every reported finding has a baseline state).
    pub fn uses_baseline(&self) -> bool {
        self.baseline.is_some()
    }

    /// The suppressed findings the report should list: all with `--report-allowed`, else none.
    pub fn reported_suppressions<'t>(&self, triage: &'t Triage) -> &'t [Suppressed] {
        if self.args.report_allowed {
            &triage.suppressed
        } else {
            &[]
        }
    }

    /// Run-level SARIF facts: the repository root and state, the category. Only looked up for
    /// SARIF reports.
    pub fn sarif_run(&self) -> SarifRun {
        if self.args.format != FormatArg::Sarif {
            return SarifRun::default();
        }
        let first = self
            .args
            .paths
            .iter()
            .find(|p| p.as_os_str() != "-")
            .map_or(Path::new("."), |p| p.as_path());
        let mut run = crate::vcs::sarif_run(first);
        run.category.clone_from(&self.args.sarif_category);
        run
    }

    /// Tells the user what the triage kept out of the report, writes the baseline when one is
    /// being made, and returns the exit code: 1 when a finding fails the scan, else 2 when
    /// something could not be read, else 0.
    pub fn finish(&self, triage: &Triage, errors: &[String]) -> anyhow::Result<ExitCode> {
        if self.args.create_baseline {
            let Some(path) = self.args.output.as_deref() else {
                bail!("`baseline create` needs -o FILE");
            };
            baseline::write(path, &triage.findings)?;
            eprintln!(
                "keyhound: baseline {}: {} finding(s) recorded{}",
                path.display(),
                triage.findings.len(),
                if triage.suppressed.is_empty() {
                    String::new()
                } else {
                    format!(" ({} allowed, left out)", triage.suppressed.len())
                }
            );
            if !errors.is_empty() {
                eprintln!(
                    "keyhound: {} input(s) could not be read: the baseline may miss their findings",
                    errors.len()
                );
                return Ok(ExitCode::from(2));
            }
            return Ok(ExitCode::SUCCESS);
        }
        if !self.args.quiet
            && let Some(baseline) = &self.baseline
            && triage.known_dropped > 0
        {
            eprintln!(
                "keyhound: {} known finding(s) of baseline {} not reported (--baseline-include-known lists them)",
                triage.known_dropped,
                baseline.path().display()
            );
        }
        if self.args.report_allowed {
            print_allowed(&triage.suppressed);
        }
        let code = if triage.fails() {
            1
        } else if !errors.is_empty() {
            2
        } else {
            0
        };
        Ok(ExitCode::from(code))
    }
}

/// Lists allowed findings on stderr: where, which rule, the fingerprint, and why.
fn print_allowed(suppressed: &[Suppressed]) {
    let occurrences: usize = suppressed.iter().map(|s| s.finding.occurrences.len()).sum();
    eprintln!("keyhound: {occurrences} allowed occurrence(s), not reported:");
    for s in suppressed {
        let how = match s.kind {
            SuppressionKind::InSource => "inline keyhound:allow",
            SuppressionKind::External => "config allowlist",
        };
        let why = if s.justification.is_empty() {
            "(no reason given)"
        } else {
            &s.justification
        };
        for o in &s.finding.occurrences {
            eprintln!(
                "  {}:{}:{}  {}  {}  {how}: {}",
                escape(&o.path),
                o.line,
                o.column,
                s.finding.rule_id,
                s.finding.fingerprint,
                escape(why)
            );
        }
    }
}

/// `text` with control characters escaped, so a scanned file cannot drive the terminal.
fn escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
            {
                c.escape_unicode().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// Runs `keyhound config init|check`.
pub fn config_command(command: &crate::cli::ConfigCommand) -> anyhow::Result<ExitCode> {
    use crate::cli::ConfigCommand;
    match command {
        ConfigCommand::Init { output, force } => {
            if output.exists() && !force {
                bail!("{}: already exists (--force replaces it)", output.display());
            }
            std::fs::write(output, crate::config::TEMPLATE)
                .with_context(|| format!("{}: cannot write", output.display()))?;
            eprintln!("keyhound: wrote {}", output.display());
            Ok(ExitCode::SUCCESS)
        }
        ConfigCommand::Check { file } => {
            let path = match file {
                Some(file) => file.clone(),
                None => crate::config::find(&[]).with_context(|| {
                    format!(
                        "no {} here or at the repository's root",
                        crate::config::FILE_NAME
                    )
                })?,
            };
            let config = Config::load(&path)?;
            for rules in &config.rules {
                RuleSet::new().add_file(rules).map_err(|e| {
                    anyhow::anyhow!(
                        "config {}: `rules`: {}",
                        path.display(),
                        e.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                })?;
            }
            if let Some(baseline) = &config.baseline {
                Baseline::load(baseline)?;
            }
            println!("ok: {}", path.display());
            println!("  exclude: {:?}", config.exclude);
            println!("  disable_rules: {:?}", config.disable_rules);
            println!("  rules: {:?}", config.rules);
            println!("  allow: {} entr(y/ies)", config.allow.len());
            for limit in &config.rule_paths {
                println!(
                    "  rule_paths: {} only in /{}/",
                    limit.rule,
                    limit.path.as_str()
                );
            }
            println!(
                "  fail_on: {}",
                config.fail_on.map_or("(any finding)", Severity::as_str)
            );
            println!("  baseline: {:?}", config.baseline);
            println!("  nhi.offboarding_days: {}", config.nhi.offboarding_days);
            for env in &config.nhi.environments {
                println!("  nhi.environments.{:?}: {:?}", env.environment, env.globs);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
