//! Findings built from arbitrary bytes through every report writer.

use std::time::Duration;

use arbitrary::{Result, Unstructured};
use keyhound_findings::{
    Commit, Finding, FindingSet, Lifecycle, NhiContext, Occurrence, Owner, Snippet, Status,
};
use keyhound_report::{
    BaselineState, Format, Report, SarifRun, ScanSummary, SkipCounts, SkipReason, VersionControl,
    write,
};
use keyhound_rules::Rule;
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::inputs::BUILTIN;

/// A secret no writer's own text holds: a distinctive prefix and 24 hex digits.
const MARK: &str = "KHFUZZSECRET";

/// Findings, their rules' context and every string given to the writers besides the secrets.
struct Built {
    findings: Vec<Finding>,
    summary: ScanSummary,
    sarif: SarifRun,
    baseline: bool,
    /// Every string that goes into the report other than the secrets themselves.
    other_text: Vec<String>,
}

fn string(u: &mut Unstructured<'_>, other: &mut Vec<String>) -> Result<String> {
    let s: String = u.arbitrary()?;
    other.push(s.clone());
    Ok(s)
}

fn commit(u: &mut Unstructured<'_>, other: &mut Vec<String>) -> Result<Option<Commit>> {
    if !u.arbitrary()? {
        return Ok(None);
    }
    Ok(Some(Commit {
        id: string(u, other)?,
        author: string(u, other)?,
        date: u.arbitrary()?,
        summary: string(u, other)?,
    }))
}

fn build(u: &mut Unstructured<'_>) -> Result<Built> {
    let rules = BUILTIN.rules();
    let mut other = Vec::new();
    let mut set = FindingSet::new();
    let mut annotations = Vec::new();
    for _ in 0..u.int_in_range(0..=4)? {
        let rule_index = u.choose_index(rules.len())?;
        let rule = &rules[rule_index].rule;
        let secret = if u.arbitrary()? {
            format!("{MARK}{:024x}", u.int_in_range(0..=u128::MAX >> 32)?)
        } else {
            u.arbitrary::<String>()?
        };
        for _ in 0..u.int_in_range(1..=3)? {
            let decoded: Option<&'static str> = if u.arbitrary()? {
                Some(*u.choose(&["base64", "percent", "escape", "hex"])?)
            } else {
                None
            };
            let matched = if decoded.is_some() {
                string(u, &mut other)?
            } else {
                secret.clone()
            };
            let occurrence = Occurrence {
                path: string(u, &mut other)?,
                line: u.arbitrary()?,
                column: u.arbitrary()?,
                end_line: u.arbitrary()?,
                end_column: u.arbitrary()?,
                offset: u.arbitrary()?,
                decoded,
                snippet: Snippet {
                    before: string(u, &mut other)?,
                    matched,
                    after: string(u, &mut other)?,
                },
                commit: commit(u, &mut other)?,
                at_head: u.arbitrary()?,
            };
            set.add(rule_index, rule, secret.as_bytes(), occurrence);
        }
        if u.arbitrary()? {
            let status = *u.choose(&[
                Status::Active,
                Status::Removed,
                Status::Replaced,
                Status::Unreachable,
            ])?;
            let lifecycle = Lifecycle {
                status,
                first_seen: commit(u, &mut other)?,
                last_seen: commit(u, &mut other)?,
                removed_in: commit(u, &mut other)?,
                present_at_head: u.arbitrary()?,
                refs: vec![string(u, &mut other)?],
                exposure_days: u.arbitrary()?,
                overdue: u.arbitrary()?,
            };
            let owner = Owner {
                codeowners: vec![string(u, &mut other)?],
                introduced_by: Some(string(u, &mut other)?),
                introducer_last_commit: u.arbitrary()?,
                last_touched_by: Some(string(u, &mut other)?),
            };
            annotations.push((rule_index, secret, lifecycle, owner));
        }
    }
    for (rule_index, secret, lifecycle, owner) in annotations {
        set.annotate(&rules[rule_index].rule, secret.as_bytes(), lifecycle, owner);
    }
    let context = NhiContext {
        as_of: u.arbitrary()?,
        offboarding_days: u.arbitrary()?,
        environments: None,
    };
    let findings = set.finish(|i| &rules[i].rule, &context);
    let summary = ScanSummary {
        files_scanned: u.arbitrary()?,
        bytes_scanned: u.arbitrary()?,
        skipped: {
            let mut skipped = SkipCounts::default();
            for reason in SkipReason::ALL {
                skipped.add(reason, u.arbitrary()?);
            }
            skipped
        },
        errors: vec![string(u, &mut other)?],
        duration: Duration::from_millis(u.arbitrary()?),
    };
    let version_control = if u.arbitrary()? {
        Some(VersionControl {
            repository_uri: string(u, &mut other)?,
            revision_id: Some(string(u, &mut other)?),
            branch: Some(string(u, &mut other)?),
        })
    } else {
        None
    };
    let category = Some(string(u, &mut other)?);
    Ok(Built {
        findings,
        summary,
        sarif: SarifRun {
            src_root: None,
            base_dir: None,
            version_control,
            category,
        },
        baseline: u.arbitrary()?,
        other_text: other,
    })
}

/// Renders `built` in `format`.
fn render(built: &Built, format: Format, show_secrets: bool) -> Vec<u8> {
    let rules = BUILTIN.rules();
    let rule = |i: usize| -> &Rule { &rules[i].rule };
    let state = |f: &Finding| {
        if f.fingerprint.as_bytes()[0] < b'8' {
            BaselineState::New
        } else {
            BaselineState::Unchanged
        }
    };
    let report = Report {
        findings: &built.findings,
        rule: &rule,
        summary: &built.summary,
        show_secrets,
        tool_version: "0.0.0-fuzz",
        baseline_state: built
            .baseline
            .then_some(&state as &dyn Fn(&Finding) -> BaselineState),
        suppressed: &[],
        sarif: built.sarif.clone(),
    };
    let mut out = Vec::new();
    write(format, &report, &mut out, false).expect("writing to memory cannot fail");
    out
}

/// How many SARIF results `finding` has, as the SARIF writer documents it: one per occurrence;
/// for a secret found in git history (every occurrence with a commit), one per occurrence HEAD
/// holds, else one (where it came in).
fn sarif_results(finding: &Finding) -> usize {
    let occurrences = &finding.occurrences;
    if occurrences.iter().any(|o| o.commit.is_none()) {
        return occurrences.len();
    }
    occurrences.iter().filter(|o| o.at_head).count().max(1)
}

/// The JSON document as far as the check reads it: the findings, each any JSON value.
#[derive(Deserialize)]
struct JsonDocument {
    findings: Vec<IgnoredAny>,
}

/// The SARIF log as far as the check reads it: each run's results, each any JSON value.
#[derive(Deserialize)]
struct SarifLog {
    runs: Vec<SarifRunResults>,
}

/// One SARIF run's results.
#[derive(Deserialize)]
struct SarifRunResults {
    results: Vec<IgnoredAny>,
}

/// Parses `text` as JSON into `T`: syntax checked throughout, values not kept.
fn parse<'a, T: Deserialize<'a>>(text: &'a str, what: &str) -> T {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("{what} does not parse: {e}"))
}

/// Checks one rendering of `built` in `format`: it parses back, with every finding.
fn check_parses(built: &Built, format: Format, text: &str, sarif_results: usize) {
    match format {
        Format::Json => {
            let doc: JsonDocument = parse(text, "JSON");
            assert_eq!(doc.findings.len(), built.findings.len());
        }
        Format::Sarif => {
            let doc: SarifLog = parse(text, "SARIF");
            let run = doc.runs.first().expect("a SARIF run");
            assert_eq!(run.results.len(), sarif_results);
        }
        Format::Jsonl => {
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), built.findings.len());
            for line in lines {
                // A JSON value that starts with `{` is an object.
                assert!(
                    line.starts_with('{'),
                    "a JSONL line is not an object: {line}"
                );
                let _: IgnoredAny = parse(line, "a JSONL line");
            }
        }
        Format::Human => {}
    }
}

/// Arbitrary findings (rules from the built-in set; paths, snippets, commits, lifecycle and
/// owners from the bytes) through the human, JSON, JSONL and SARIF writers, with and without
/// `--show-secrets`: JSON and SARIF parse back as JSON with every finding (SARIF: every
/// occurrence it shows), JSONL is one JSON object a finding, and no writer shows a secret
/// unless asked. Each writer gives the same bytes for the same findings built a second time
/// from the same bytes (without `--show-secrets`, where the writers redact; with it they run
/// the same code and only print the secret).
pub fn report_writers(data: &[u8]) {
    let Ok(built) = build(&mut Unstructured::new(data)) else {
        return;
    };
    let again = build(&mut Unstructured::new(data)).expect("the same bytes build again");
    let results: usize = built.findings.iter().map(sarif_results).sum();
    for format in Format::ALL {
        let out = render(&built, format, false);
        assert_eq!(out, render(&again, format, false), "{format} not stable");
        let text = String::from_utf8(out).expect("reports are UTF-8");
        check_parses(&built, format, &text, results);
        for finding in &built.findings {
            let secret = &finding.secret;
            if secret.starts_with(MARK) && !built.other_text.iter().any(|t| t.contains(MARK)) {
                assert!(!text.contains(secret.as_str()), "{format} shows a secret");
            }
        }
        let shown = String::from_utf8(render(&built, format, true)).expect("reports are UTF-8");
        check_parses(&built, format, &shown, results);
    }
}
