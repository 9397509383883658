//! The SARIF 2.1.0 format, built with `serde-sarif`'s types.
//!
//! One run; `tool.driver.rules` holds one reporting descriptor per rule that has findings
//! (sorted by id), and `results` one result per occurrence, in the order of the findings; for
//! secrets found in git history, the occurrences HEAD still holds (their current location), or
//! else the one where the secret was introduced.
//! GitHub code scanning's requirements are met: relative `uri` under `%SRCROOT%`, full regions,
//! `security-severity`, `partialFingerprints` from the finding's keyed hash.
//!
//! With [`SarifRun`] facts: URIs relative to the repository root whatever path the scan was
//! given (`%SRCROOT%` in `originalUriBaseIds`), `versionControlProvenance`,
//! `automationDetails.id`; with a baseline, each result's `baselineState`; allowed findings, when
//! asked for, as results with `suppressions`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

use keyhound_findings::{Finding, Occurrence, redact};
use keyhound_rules::{Confidence, Rule, Severity};
use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor, Result,
    ResultLevel, Run, RunAutomationDetails, Sarif, Suppression, Tool, ToolComponent,
    VersionControlDetails,
};

use crate::text::{kind_noun, pascal_case, rule_nhi};
use crate::{BaselineState, Report, ReportError, SarifRun, SuppressionKind};

/// The `$schema` of the log.
const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// Where keyhound is documented.
const INFORMATION_URI: &str = env!("CARGO_PKG_REPOSITORY");
/// The `partialFingerprints` key of the finding's fingerprint (the keyed hash of rule and secret);
/// the version follows the fingerprint's hash key.
const FINGERPRINT_KEY: &str = "keyhound/v1";
/// The `partialFingerprints` key that tells a finding's occurrences apart: the path and the
/// occurrence's rank among the finding's occurrences in that path, never a line number, so it
/// survives edits. Without it, code scanning would merge every occurrence of one secret into
/// one alert, as they share the finding's fingerprint.
const LOCATION_KEY: &str = "keyhound/location/v1";
/// The base id relative paths resolve against.
const SRCROOT: &str = "%SRCROOT%";

/// SARIF `security-severity`, a CVSS-like score as a string, as GitHub expects.
fn security_severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

/// SARIF `precision` of a rule's confidence.
fn precision(confidence: Confidence) -> &'static str {
    match confidence {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

/// The result level of a severity.
fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low => ResultLevel::Note,
    }
}

fn level_name(severity: Severity) -> &'static str {
    match level(severity) {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        ResultLevel::Note => "note",
        ResultLevel::None => "none",
    }
}

fn int(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn text_message(text: impl Into<String>) -> Message {
    Message::builder().text(text.into()).build()
}

/// Writes the SARIF log, pretty-printed, and a newline.
pub(crate) fn write(
    report: &Report<'_>,
    out: &mut dyn Write,
) -> std::result::Result<(), ReportError> {
    let log = build(report)?;
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)?;
    Ok(())
}

fn build(report: &Report<'_>) -> std::result::Result<Sarif, ReportError> {
    // The rules with findings, by id; a result's ruleIndex is the rule's place here.
    let reported = report.findings.iter().map(|f| (f, None));
    let suppressed = report.suppressed.iter().map(|s| (&s.finding, Some(s)));
    let all: Vec<_> = reported.chain(suppressed).collect();
    let mut rules: BTreeMap<&str, &Rule> = BTreeMap::new();
    for (finding, _) in &all {
        let rule = report.rule_of(finding);
        rules.insert(&rule.id, rule);
    }
    let index_of: BTreeMap<&str, usize> =
        rules.keys().enumerate().map(|(i, id)| (*id, i)).collect();

    let mut results = Vec::new();
    for (finding, suppression) in all {
        let rule = report.rule_of(finding);
        let rule_index = index_of.get(rule.id.as_str()).copied().unwrap_or_default();
        let baseline_state = report.baseline_state.map(|state| match state(finding) {
            BaselineState::New => "new",
            BaselineState::Unchanged => "unchanged",
        });
        let mut rank_in_path: BTreeMap<&str, usize> = BTreeMap::new();
        for occurrence in located(finding) {
            let rank = rank_in_path.entry(occurrence.path.as_str()).or_default();
            *rank += 1;
            let mut result = result(report, finding, rule, rule_index, occurrence, *rank)?;
            result.baseline_state = baseline_state.map(|s| json!(s));
            if let Some(s) = suppression {
                let kind = match s.kind {
                    SuppressionKind::InSource => "inSource",
                    SuppressionKind::External => "external",
                };
                let mut suppression = Suppression::builder().kind(json!(kind)).build();
                suppression.justification =
                    (!s.justification.is_empty()).then(|| s.justification.clone());
                result.suppressions = Some(vec![suppression]);
            }
            results.push(result);
        }
    }

    let driver = ToolComponent::builder()
        .name("keyhound")
        .full_name(format!("keyhound {}", report.tool_version))
        .information_uri(INFORMATION_URI)
        .semantic_version(report.tool_version)
        .version(report.tool_version)
        .rules(rules.values().map(|r| descriptor(r)).collect::<Vec<_>>())
        .build();

    let mut invocation = Invocation::builder().execution_successful(true).build();
    // Errors, then a note per reason inputs were skipped for: nothing is left out unsaid.
    let notification = |level: &str, text: String| {
        Notification::builder()
            .level(json!(level))
            .message(text_message(text))
            .build()
    };
    let notifications: Vec<Notification> = report
        .summary
        .errors
        .iter()
        .map(|e| notification("error", e.clone()))
        .chain(
            report
                .summary
                .skipped
                .iter()
                .filter(|&(_, n)| n > 0)
                .map(|(reason, n)| {
                    let inputs = crate::text::count(n, "input", "inputs");
                    notification("note", format!("{inputs} skipped: {reason}"))
                }),
        )
        .collect();
    if !notifications.is_empty() {
        invocation.tool_execution_notifications = Some(notifications);
    }

    let summary = report.summary;
    let counts = serde_json::to_value(crate::json::Skipped(&summary.skipped))
        .map_err(ReportError::Serialize)?;
    let run_properties = PropertyBag::builder()
        .additional_properties(BTreeMap::from([
            ("filesScanned".to_string(), json!(summary.files_scanned)),
            ("bytesScanned".to_string(), json!(summary.bytes_scanned)),
            ("filesSkipped".to_string(), json!(summary.skipped.total())),
            ("skipped".to_string(), counts),
        ]))
        .build();
    let mut run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .invocations(vec![invocation])
        .results(results)
        .column_kind(json!("unicodeCodePoints"))
        .properties(run_properties)
        .build();
    let facts = &report.sarif;
    if let Some(root) = &facts.src_root {
        let mut uri = file_uri(&root.to_string_lossy());
        if !uri.ends_with('/') {
            uri.push('/');
        }
        run.original_uri_base_ids = Some(BTreeMap::from([(
            SRCROOT.to_string(),
            ArtifactLocation::builder().uri(uri).build(),
        )]));
    }
    if let Some(vc) = &facts.version_control {
        let mut details = VersionControlDetails::builder()
            .repository_uri(vc.repository_uri.as_str())
            .build();
        details.revision_id.clone_from(&vc.revision_id);
        details.branch.clone_from(&vc.branch);
        if facts.src_root.is_some() {
            details.mapped_to = Some(ArtifactLocation::builder().uri_base_id(SRCROOT).build());
        }
        run.version_control_provenance = Some(vec![details]);
    }
    if let Some(category) = &facts.category {
        let mut automation = RunAutomationDetails::builder().build();
        automation.id = Some(category.clone());
        run.automation_details = Some(automation);
    }
    Ok(Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build())
}

/// The occurrences of `finding` that code scanning should show: for a secret found in git
/// history, where it is at HEAD if HEAD still holds it (the files' current location), else
/// where it was introduced (the earliest introducing commit); every occurrence otherwise.
fn located(finding: &Finding) -> Vec<&Occurrence> {
    let occurrences = &finding.occurrences;
    if occurrences.iter().any(|o| o.commit.is_none()) {
        return occurrences.iter().collect();
    }
    let at_head: Vec<&Occurrence> = occurrences.iter().filter(|o| o.at_head).collect();
    if !at_head.is_empty() {
        return at_head;
    }
    occurrences
        .iter()
        .min_by_key(|o| o.commit.as_ref().map(|c| c.date))
        .into_iter()
        .collect()
}

/// The reporting descriptor of a rule.
fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let nhi = rule_nhi(rule);
    let mut tags = vec!["security".to_string(), "secret".to_string()];
    tags.extend(nhi.iter().map(|(id, _)| id.to_string()));
    let properties = PropertyBag::builder()
        .tags(tags)
        .additional_properties(BTreeMap::from([
            (
                "security-severity".to_string(),
                json!(security_severity(rule.severity)),
            ),
            ("precision".to_string(), json!(precision(rule.confidence))),
        ]))
        .build();
    let description = rule
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .unwrap_or(&rule.name);
    ReportingDescriptor::builder()
        .id(rule.id.as_str())
        .name(pascal_case(&rule.name))
        .short_description(
            MultiformatMessageString::builder()
                .text(rule.name.as_str())
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(description)
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(help_text(rule))
                .markdown(help_markdown(rule, &nhi))
                .build(),
        )
        .help_uri(rule.rotation.url.as_str())
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_name(rule.severity)))
                .build(),
        )
        .properties(properties)
        .build()
}

/// The rule's description when it says more than its name.
fn extra_description(rule: &Rule) -> Option<&str> {
    rule.description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty() && *d != rule.name)
}

fn help_text(rule: &Rule) -> String {
    let mut text = format!(
        "{} (provider: {}, kind: {}).",
        rule.name,
        rule.provider,
        kind_noun(rule.kind)
    );
    if let Some(description) = extra_description(rule) {
        let _ = write!(text, " {description}");
    }
    let _ = write!(
        text,
        "\n\nAnyone who can read the repository, its history or a copy of it can use this \
         credential. Revoke it and issue a new one ({url}), store the new one in a secret manager \
         and load it at run time, then remove it from the code: removing it alone is not enough, \
         it stays in the history. Rotate credentials of this kind at least every {days} days.",
        url = rule.rotation.url,
        days = rule.rotation.max_age_days,
    );
    text
}

fn help_markdown(rule: &Rule, nhi: &[(&str, &str)]) -> String {
    let mut md = format!(
        "**{}** (provider: {}, kind: {}).\n\n",
        rule.name,
        rule.provider,
        kind_noun(rule.kind)
    );
    if let Some(description) = extra_description(rule) {
        let _ = write!(md, "{description}\n\n");
    }
    let _ = write!(
        md,
        "Anyone who can read the repository, its history or a copy of it can use this credential.\n\n\
         ### How to remediate\n\n\
         1. Revoke the credential and issue a new one: [{provider} rotation guide]({url}).\n\
         2. Store the new credential in a secret manager or the CI's secret store and load it at run time.\n\
         3. Remove the credential from the code. This alone does not make it safe: it stays in the \
         git history, so revoke it first.\n\
         4. Rotate credentials of this kind at least every **{days} days**.\n\n\
         ### OWASP Non-Human Identities Top 10\n\n",
        provider = rule.provider,
        url = rule.rotation.url,
        days = rule.rotation.max_age_days,
    );
    for (id, name) in nhi {
        let _ = writeln!(md, "- **{id}** {name}");
    }
    md.push_str(
        "\nEach result lists the risks that hold for it, which may include more (NHI6 deployment \
         configuration, NHI8 environment isolation, NHI9 reuse, NHI10 human use).\n",
    );
    md
}

/// The result of one occurrence.
fn result(
    report: &Report<'_>,
    finding: &Finding,
    rule: &Rule,
    rule_index: usize,
    occurrence: &Occurrence,
    rank_in_path: usize,
) -> std::result::Result<Result, ReportError> {
    let shown = if report.show_secrets {
        finding.secret.clone()
    } else {
        redact(&finding.secret)
    };
    let ids: Vec<&str> = finding.nhi.iter().map(|n| n.id).collect();
    let mut message = format!("{} exposed: {shown}", finding.rule_name);
    if let Some(note) = occurrence.decoded_note() {
        let _ = write!(message, " ({note})");
    }
    if !ids.is_empty() {
        let _ = write!(message, ". OWASP NHI: {}", ids.join(", "));
    }
    message.push('.');

    let region = Region::builder()
        .start_line(int(occurrence.line.max(1)))
        .start_column(int(occurrence.column.max(1)))
        .end_line(int(occurrence.end_line.max(occurrence.line).max(1)))
        .end_column(int(occurrence.end_column.max(1)))
        .build();
    let artifact = artifact_location(&rebase(&report.sarif, &occurrence.path));
    let location_fingerprint = format!(
        "{}#{rank_in_path}",
        artifact.uri.as_deref().unwrap_or_default()
    );
    let location = Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(artifact)
                .region(region)
                .build(),
        )
        .build();
    let mut bag = BTreeMap::from([
        (
            "nhi".to_string(),
            serde_json::to_value(&finding.nhi).map_err(ReportError::Serialize)?,
        ),
        (
            "fingerprint".to_string(),
            Value::from(finding.fingerprint.as_str()),
        ),
    ]);
    if let Some(commit) = &occurrence.commit {
        // History scans: the commit that put the secret at this path, for triage.
        bag.insert(
            "commit".to_string(),
            serde_json::to_value(commit).map_err(ReportError::Serialize)?,
        );
    }
    bag.insert(
        "lifecycle".to_string(),
        serde_json::to_value(&finding.lifecycle).map_err(ReportError::Serialize)?,
    );
    bag.insert(
        "owner".to_string(),
        serde_json::to_value(&finding.owner).map_err(ReportError::Serialize)?,
    );
    let properties = PropertyBag::builder().additional_properties(bag).build();
    Ok(Result::builder()
        .rule_id(rule.id.as_str())
        .rule_index(int(rule_index))
        .level(level(rule.severity))
        .message(text_message(message))
        .locations(vec![location])
        .partial_fingerprints(BTreeMap::from([
            (FINGERPRINT_KEY.to_string(), finding.fingerprint.clone()),
            (LOCATION_KEY.to_string(), location_fingerprint),
        ]))
        .properties(properties)
        .build())
}

/// `path` (as the scanner reports it) made relative to `run.src_root` when both roots are
/// known: a path under the source root becomes relative to it, one outside it absolute.
fn rebase<'p>(run: &SarifRun, path: &'p str) -> Cow<'p, str> {
    let (Some(root), Some(base)) = (&run.src_root, &run.base_dir) else {
        return Cow::Borrowed(path);
    };
    if path == "-" {
        return Cow::Borrowed(path);
    }
    let absolute = normalize(&base.join(path));
    match absolute.strip_prefix(normalize(root)) {
        Ok(relative) => {
            let parts: Vec<_> = relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect();
            Cow::Owned(parts.join("/"))
        }
        Err(_) => Cow::Owned(absolute.to_string_lossy().into_owned()),
    }
}

/// `path` with `.` and `..` resolved lexically (no file system access: history paths need not
/// exist on disk).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The `file://` URI of an absolute path.
fn file_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    if path.starts_with('/') {
        format!("file://{}", percent_encode(&path))
    } else {
        format!("file:///{}", percent_encode(&path).replacen("%3A", ":", 1))
    }
}

/// The artifact location of a path as the scanner reports it: relative paths become
/// percent-encoded `/`-separated URIs under `%SRCROOT%`, absolute ones `file://` URIs, and
/// stdin (`-`) the bare `stdin`.
pub(crate) fn artifact_location(path: &str) -> ArtifactLocation {
    if path == "-" {
        return ArtifactLocation::builder().uri("stdin").build();
    }
    let mut path = if cfg!(windows) {
        path.replace('\\', "/")
    } else {
        path.to_string()
    };
    while let Some(rest) = path.strip_prefix("./") {
        path = rest.trim_start_matches('/').to_string();
    }
    let bytes = path.as_bytes();
    let drive =
        bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' && bytes[2] == b'/';
    if drive {
        let uri = format!("file:///{}:{}", &path[..1], percent_encode(&path[2..]));
        ArtifactLocation::builder().uri(uri).build()
    } else if path.starts_with('/') {
        let uri = format!("file://{}", percent_encode(&path));
        ArtifactLocation::builder().uri(uri).build()
    } else {
        ArtifactLocation::builder()
            .uri(percent_encode(&path))
            .uri_base_id(SRCROOT)
            .build()
    }
}

/// Percent-encodes everything but RFC 3986 path characters: unreserved, sub-delims, `@`, `/`.
/// `:` is encoded too, so a relative path's first segment cannot read as a scheme.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path.as_bytes() {
        let keep = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@/".contains(&b);
        if keep {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uri(path: &str) -> (Option<String>, Option<String>) {
        let location = artifact_location(path);
        (location.uri, location.uri_base_id)
    }

    #[test]
    fn relative_paths_are_encoded_under_srcroot() {
        let srcroot = Some(SRCROOT.to_string());
        assert_eq!(
            uri("src/main.rs"),
            (Some("src/main.rs".into()), srcroot.clone())
        );
        assert_eq!(
            uri("./docs/set up.md"),
            (Some("docs/set%20up.md".into()), srcroot.clone())
        );
        assert_eq!(
            uri("a/100%#?.txt"),
            (Some("a/100%25%23%3F.txt".into()), srcroot.clone())
        );
        assert_eq!(uri("c:x"), (Some("c%3Ax".into()), srcroot.clone()));
        assert_eq!(
            uri("ünï/€.env"),
            (Some("%C3%BCn%C3%AF/%E2%82%AC.env".into()), srcroot)
        );
    }

    #[test]
    fn paths_are_rebased_on_the_source_root() {
        let run = SarifRun {
            src_root: Some("/work/repo".into()),
            base_dir: Some("/work/repo/sub".into()),
            ..SarifRun::default()
        };
        assert_eq!(rebase(&run, "a/b.env"), "sub/a/b.env");
        assert_eq!(rebase(&run, "./a/../c.env"), "sub/c.env");
        assert_eq!(rebase(&run, "../top.env"), "top.env");
        assert_eq!(rebase(&run, "../../elsewhere/x"), "/work/elsewhere/x");
        assert_eq!(rebase(&run, "/work/repo/abs.env"), "abs.env");
        assert_eq!(rebase(&run, "-"), "-");
        assert_eq!(rebase(&SarifRun::default(), "../x"), "../x");
        assert_eq!(file_uri("/work/a b"), "file:///work/a%20b");
    }

    #[test]
    fn absolute_paths_and_stdin() {
        assert_eq!(
            uri("/home/a b/x.env"),
            (Some("file:///home/a%20b/x.env".into()), None)
        );
        assert_eq!(
            uri("C:/repo/x.env"),
            (Some("file:///C:/repo/x.env".into()), None)
        );
        assert_eq!(uri("-"), (Some("stdin".into()), None));
    }
}
