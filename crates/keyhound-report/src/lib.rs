//! keyhound's report writers: human, JSON, JSONL and SARIF 2.1.0.
//!
//! The scanner hands over a [`Report`]: the findings of a scan, a way to look up each finding's
//! rule, the scan's [`ScanSummary`] and whether secrets may be shown. [`write`] renders it in one
//! of the [`Format`]s:
//!
//! - [`Format::Human`]: one block per finding (severity, rule, every occurrence with its line,
//!   fingerprint, OWASP NHI risks, rotation runbook) and a summary line; coloured on request.
//! - [`Format::Json`]: one document, `{"version":1,"tool":…,"findings":[…],"summary":…}`.
//! - [`Format::Jsonl`]: one finding object per line and nothing else.
//! - [`Format::Sarif`]: SARIF 2.1.0 for code scanning, one result per occurrence, each rule with
//!   its `security-severity`, NHI tags and a rotation runbook in its help.
//!
//! No format prints a secret unless [`Report::show_secrets`] is set: human output and SARIF
//! messages carry the redacted form of [`keyhound_findings::redact`], JSON has no `secret` key.
//! Text taken from scanned files (snippets, paths) has its control and bidirectional-override
//! characters escaped in human output, so a scanned file cannot drive the terminal.

mod human;
mod json;
mod sarif;
mod text;

use std::fmt;
use std::io::Write;
use std::str::FromStr;
use std::time::Duration;

use keyhound_findings::Finding;
use keyhound_rules::Rule;

/// A report format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Format {
    /// Readable blocks for terminals, optionally coloured.
    #[default]
    Human,
    /// One JSON document with every finding and the scan summary.
    Json,
    /// One JSON finding object per line, nothing else.
    Jsonl,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

impl Format {
    /// Every format, in the order of their names in help texts.
    pub const ALL: [Format; 4] = [Format::Human, Format::Json, Format::Jsonl, Format::Sarif];

    /// The lowercase name used on the command line: `human`, `json`, `jsonl` or `sarif`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Sarif => "sarif",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A format name that is none of `human`, `json`, `jsonl`, `sarif`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown report format `{name}` (expected one of: human, json, jsonl, sarif)")]
pub struct ParseFormatError {
    /// The name that was given.
    pub name: String,
}

impl FromStr for Format {
    type Err = ParseFormatError;

    /// Parses a format name, ignoring ASCII case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ParseFormatError {
                name: s.to_string(),
            })
    }
}

/// Why an input (a file, a blob) was not scanned, as the summary counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// Larger than the size limit (`--max-file-size`).
    TooLarge,
    /// It could not be read (each one is an error too, named in [`ScanSummary::errors`]).
    Unreadable,
    /// It looks binary and `--skip-binary` was given.
    Binary,
    /// An `--exclude` glob (or the configuration's `exclude`) matches it; an excluded
    /// directory counts once.
    Excluded,
    /// A symbolic link, not followed (without `--follow-symlinks`).
    Symlink,
    /// Not a regular file: a FIFO, a socket, a device.
    Special,
    /// An archive's member (or the rest of an archive) left out: over a size, count, depth or
    /// compression-ratio limit, encrypted, or compressed in a way not read.
    Archive,
    /// Its scan ran out of time (`--input-time-budget`) and stopped: what was found before is
    /// reported, the rest of it was not looked at.
    TimeBudget,
}

impl SkipReason {
    /// Every reason, in the order reports list them.
    pub const ALL: [SkipReason; 8] = [
        SkipReason::TooLarge,
        SkipReason::Unreadable,
        SkipReason::Binary,
        SkipReason::Excluded,
        SkipReason::Symlink,
        SkipReason::Special,
        SkipReason::Archive,
        SkipReason::TimeBudget,
    ];

    /// The reason's key in JSON and SARIF: `too_large`, `unreadable`, `binary`, `excluded`,
    /// `symlink`, `special`, `archive`, `time_budget`.
    pub fn key(self) -> &'static str {
        match self {
            SkipReason::TooLarge => "too_large",
            SkipReason::Unreadable => "unreadable",
            SkipReason::Binary => "binary",
            SkipReason::Excluded => "excluded",
            SkipReason::Symlink => "symlink",
            SkipReason::Special => "special",
            SkipReason::Archive => "archive",
            SkipReason::TimeBudget => "time_budget",
        }
    }

    /// The reason in words, for people.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::TooLarge => "too large",
            SkipReason::Unreadable => "unreadable",
            SkipReason::Binary => "binary",
            SkipReason::Excluded => "excluded",
            SkipReason::Symlink => "symbolic link not followed",
            SkipReason::Special => "not a regular file",
            SkipReason::Archive => "left out of an archive",
            SkipReason::TimeBudget => "cut short by the time budget",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// How many inputs were skipped, by [`SkipReason`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkipCounts([u64; SkipReason::ALL.len()]);

impl SkipCounts {
    /// Counts `n` more inputs skipped for `reason`.
    pub fn add(&mut self, reason: SkipReason, n: u64) {
        let count = &mut self.0[reason as usize];
        *count = count.saturating_add(n);
    }

    /// The inputs skipped for `reason`.
    pub fn get(&self, reason: SkipReason) -> u64 {
        self.0[reason as usize]
    }

    /// The inputs skipped for any reason.
    pub fn total(&self) -> u64 {
        self.0.iter().fold(0, |sum, n| sum.saturating_add(*n))
    }

    /// Each reason with its count, in [`SkipReason::ALL`]'s order, zeros included.
    pub fn iter(&self) -> impl Iterator<Item = (SkipReason, u64)> + '_ {
        SkipReason::ALL
            .into_iter()
            .map(|reason| (reason, self.get(reason)))
    }
}

impl FromIterator<(SkipReason, u64)> for SkipCounts {
    fn from_iter<I: IntoIterator<Item = (SkipReason, u64)>>(iter: I) -> Self {
        let mut counts = SkipCounts::default();
        for (reason, n) in iter {
            counts.add(reason, n);
        }
        counts
    }
}

/// What a scan did besides finding secrets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Files (and blobs, and stdin) whose content was scanned.
    pub files_scanned: u64,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Files and blobs not scanned, by reason.
    pub skipped: SkipCounts,
    /// Errors met along the way (unreadable files and the like), one message each.
    pub errors: Vec<String>,
    /// How long the scan took.
    pub duration: Duration,
}

/// A result's state relative to a baseline (SARIF `baselineState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaselineState {
    /// Not in the baseline.
    New,
    /// In the baseline.
    Unchanged,
}

/// Where a suppression of a finding is kept (SARIF `suppression.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuppressionKind {
    /// In the scanned file: a `keyhound:allow` comment on the secret's line.
    InSource,
    /// Outside it: the configuration's allowlist.
    External,
}

/// A finding kept out of the report's findings, and why; SARIF lists it as a suppressed result.
#[derive(Debug, Clone)]
pub struct Suppressed {
    /// The finding (its occurrences: the ones allowed).
    pub finding: Finding,
    /// Where the suppression is kept.
    pub kind: SuppressionKind,
    /// Why, as written by whoever allowed it (may be empty for a bare inline allow).
    pub justification: String,
}

/// The repository a SARIF run describes (`versionControlProvenance`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionControl {
    /// The repository's URL (from its remote), without credentials.
    pub repository_uri: String,
    /// The commit checked out (HEAD), hex.
    pub revision_id: Option<String>,
    /// The branch checked out, short name.
    pub branch: Option<String>,
}

/// Run-level facts for SARIF that the findings do not carry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SarifRun {
    /// The absolute directory that `%SRCROOT%` stands for (the repository root): result URIs
    /// are made relative to it whatever path the scan was given, and it is written to
    /// `originalUriBaseIds`. `None`: paths stay as the scan reports them.
    pub src_root: Option<std::path::PathBuf>,
    /// The absolute directory the findings' relative paths are relative to (where the scan ran).
    pub base_dir: Option<std::path::PathBuf>,
    /// The repository scanned.
    pub version_control: Option<VersionControl>,
    /// `automationDetails.id`: the category of this analysis.
    pub category: Option<String>,
}

/// Everything a writer needs: the findings, their rules, the summary and the options.
pub struct Report<'a> {
    /// The findings, in the order to report them (each with at least one occurrence).
    pub findings: &'a [Finding],
    /// The rule of a finding's [`Finding::rule_index`].
    pub rule: &'a dyn Fn(usize) -> &'a Rule,
    /// What the scan did.
    pub summary: &'a ScanSummary,
    /// Print secrets in full instead of redacted.
    pub show_secrets: bool,
    /// The version of keyhound that made the report.
    pub tool_version: &'a str,
    /// With a baseline: each finding's state against it (SARIF `baselineState`).
    pub baseline_state: Option<&'a dyn Fn(&Finding) -> BaselineState>,
    /// Findings allowed rather than reported, listed by SARIF as suppressed results; empty
    /// unless asked for.
    pub suppressed: &'a [Suppressed],
    /// Run-level SARIF facts.
    pub sarif: SarifRun,
}

impl Report<'_> {
    /// The rule of `finding`.
    fn rule_of(&self, finding: &Finding) -> &Rule {
        (self.rule)(finding.rule_index)
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A finding's Debug shows its secret: list how many there are instead.
        f.debug_struct("Report")
            .field("findings", &self.findings.len())
            .field("summary", &self.summary)
            .field("show_secrets", &self.show_secrets)
            .field("tool_version", &self.tool_version)
            .field("baseline", &self.baseline_state.is_some())
            .field("suppressed", &self.suppressed.len())
            .field("sarif", &self.sarif)
            .finish_non_exhaustive()
    }
}

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Writing to the output failed (a closed pipe, a full disk).
    #[error("write error")]
    Io(#[from] std::io::Error),
    /// The report could not be serialized as JSON.
    #[error("cannot serialize the report as JSON")]
    Serialize(#[source] serde_json::Error),
    /// A finding has no occurrence, so it has no location to report.
    #[error("finding {fingerprint} of rule `{rule_id}` has no occurrence")]
    EmptyFinding {
        /// The finding's rule.
        rule_id: String,
        /// The finding's fingerprint.
        fingerprint: String,
    },
}

impl From<serde_json::Error> for ReportError {
    fn from(e: serde_json::Error) -> Self {
        if e.is_io() {
            // Keep the I/O error itself in the chain, so callers can spot a broken pipe.
            ReportError::Io(e.into())
        } else {
            ReportError::Serialize(e)
        }
    }
}

/// Writes `report` to `out` in `format`.
///
/// `color` applies to [`Format::Human`] only: the caller decides it (terminal, `NO_COLOR`,
/// `--color`). Nothing is written if a finding has no occurrence. The output is not flushed.
pub fn write(
    format: Format,
    report: &Report<'_>,
    out: &mut dyn Write,
    color: bool,
) -> Result<(), ReportError> {
    let suppressed = report.suppressed.iter().map(|s| &s.finding);
    if let Some(f) = report
        .findings
        .iter()
        .chain(suppressed)
        .find(|f| f.occurrences.is_empty())
    {
        return Err(ReportError::EmptyFinding {
            rule_id: f.rule_id.clone(),
            fingerprint: f.fingerprint.clone(),
        });
    }
    match format {
        Format::Human => human::write(report, out, color)?,
        Format::Json => json::write_document(report, out)?,
        Format::Jsonl => json::write_lines(report, out)?,
        Format::Sarif => sarif::write(report, out)?,
    }
    Ok(())
}
