//! The JSON and JSONL formats. Structs, not maps, so that keys keep a stable order.

use std::io::Write;

use keyhound_findings::{Commit, Finding, Lifecycle, NhiRisk, Occurrence, Owner};
use keyhound_rules::{Confidence, Kind, Rotation, Severity};
use serde::Serialize;

use crate::{Report, ReportError, SkipCounts, SkipReason};

/// The version of the JSON report's shape; bumped on incompatible changes.
const JSON_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    tool: Tool<'a>,
    findings: Vec<JsonFinding<'a>>,
    summary: Summary<'a>,
}

#[derive(Serialize)]
struct Tool<'a> {
    name: &'static str,
    version: &'a str,
}

#[derive(Serialize)]
struct Summary<'a> {
    files_scanned: u64,
    bytes_scanned: u64,
    files_skipped: u64,
    skipped: Skipped<'a>,
    duration_ms: u64,
    errors: &'a [String],
}

/// The skip counts as one object with a key per reason, zeros included, in a fixed order.
pub(crate) struct Skipped<'a>(pub(crate) &'a SkipCounts);

impl Serialize for Skipped<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(SkipReason::ALL.len()))?;
        for (reason, n) in self.0.iter() {
            map.serialize_entry(reason.key(), &n)?;
        }
        map.end()
    }
}

/// One finding; the location fields are those of its first occurrence.
#[derive(Serialize)]
struct JsonFinding<'a> {
    rule_id: &'a str,
    rule_name: &'a str,
    provider: &'a str,
    kind: Kind,
    severity: Severity,
    confidence: Confidence,
    path: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    fingerprint: &'a str,
    #[serde(serialize_with = "keyhound_findings::serialize_decoded")]
    decoded: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<&'a str>,
    occurrences: Vec<JsonOccurrence<'a>>,
    nhi: &'a [NhiRisk],
    rotation: &'a Rotation,
    lifecycle: &'a Lifecycle,
    owner: &'a Owner,
}

#[derive(Serialize)]
struct JsonOccurrence<'a> {
    path: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    #[serde(serialize_with = "keyhound_findings::serialize_decoded")]
    decoded: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    commit: Option<&'a Commit>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    at_head: bool,
}

impl<'a> From<&'a Occurrence> for JsonOccurrence<'a> {
    fn from(o: &'a Occurrence) -> Self {
        JsonOccurrence {
            path: &o.path,
            line: o.line,
            column: o.column,
            end_line: o.end_line,
            end_column: o.end_column,
            decoded: o.decoded,
            commit: o.commit.as_ref(),
            at_head: o.at_head,
        }
    }
}

fn finding<'a>(report: &'a Report<'_>, f: &'a Finding) -> JsonFinding<'a> {
    let rule = report.rule_of(f);
    let first = f.primary();
    JsonFinding {
        rule_id: &f.rule_id,
        rule_name: &f.rule_name,
        provider: &rule.provider,
        kind: rule.kind,
        severity: rule.severity,
        confidence: rule.confidence,
        path: &first.path,
        line: first.line,
        column: first.column,
        end_line: first.end_line,
        end_column: first.end_column,
        fingerprint: &f.fingerprint,
        decoded: first.decoded,
        secret: report.show_secrets.then_some(f.secret.as_str()),
        occurrences: f.occurrences.iter().map(JsonOccurrence::from).collect(),
        nhi: &f.nhi,
        rotation: &rule.rotation,
        lifecycle: &f.lifecycle,
        owner: &f.owner,
    }
}

/// Writes the whole report as one pretty-printed JSON document and a newline.
pub(crate) fn write_document(report: &Report<'_>, out: &mut dyn Write) -> Result<(), ReportError> {
    let summary = report.summary;
    let document = Document {
        version: JSON_VERSION,
        tool: Tool {
            name: "keyhound",
            version: report.tool_version,
        },
        findings: report.findings.iter().map(|f| finding(report, f)).collect(),
        summary: Summary {
            files_scanned: summary.files_scanned,
            bytes_scanned: summary.bytes_scanned,
            files_skipped: summary.skipped.total(),
            skipped: Skipped(&summary.skipped),
            duration_ms: u64::try_from(summary.duration.as_millis()).unwrap_or(u64::MAX),
            errors: &summary.errors,
        },
    };
    serde_json::to_writer_pretty(&mut *out, &document)?;
    writeln!(out)?;
    Ok(())
}

/// Writes one compact JSON finding object per line.
pub(crate) fn write_lines(report: &Report<'_>, out: &mut dyn Write) -> Result<(), ReportError> {
    for f in report.findings {
        serde_json::to_writer(&mut *out, &finding(report, f))?;
        writeln!(out)?;
    }
    Ok(())
}
