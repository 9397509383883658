//! The human format: one block per finding, then a summary line.

use std::fmt::Display;
use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use keyhound_findings::{Finding, Occurrence, redact};
use keyhound_rules::Severity;

use crate::Report;
use crate::text::{bytes, count, duration, escape_controls};

const BOLD: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const LOCATION: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Cyan)));
const REDACTED: Style = Style::new().fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)));
const SHOWN: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Yellow)))
    .underline();
const CLEAN: Style = Style::new()
    .bold()
    .fg_color(Some(anstyle::Color::Ansi(AnsiColor::Green)));

/// The style of a severity label.
fn severity_style(severity: Severity) -> Style {
    let color = match severity {
        Severity::Critical => AnsiColor::BrightRed,
        Severity::High => AnsiColor::Red,
        Severity::Medium => AnsiColor::Yellow,
        Severity::Low => AnsiColor::Blue,
    };
    Style::new()
        .bold()
        .fg_color(Some(anstyle::Color::Ansi(color)))
}

/// Applies styles only when colour is on.
#[derive(Clone, Copy)]
struct Painter {
    color: bool,
}

impl Painter {
    fn paint(self, style: Style, text: impl Display) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
}

/// Writes the human report.
pub(crate) fn write(report: &Report<'_>, out: &mut dyn Write, color: bool) -> io::Result<()> {
    let p = Painter { color };
    for finding in report.findings {
        write_finding(report, finding, out, p)?;
        writeln!(out)?;
    }
    write_summary(report, out, p)
}

fn write_finding(
    report: &Report<'_>,
    finding: &Finding,
    out: &mut dyn Write,
    p: Painter,
) -> io::Result<()> {
    let rule = report.rule_of(finding);
    writeln!(
        out,
        "{} {} {}",
        p.paint(
            severity_style(rule.severity),
            rule.severity.as_str().to_ascii_uppercase()
        ),
        p.paint(BOLD, escape_controls(&finding.rule_name)),
        p.paint(DIM, format!("[{}]", escape_controls(&finding.rule_id))),
    )?;
    for occurrence in &finding.occurrences {
        write_occurrence(occurrence, report.show_secrets, out, p)?;
    }
    // A decoded occurrence shows its encoded text: with --show-secrets, show the secret itself too.
    if report.show_secrets
        && finding
            .occurrences
            .iter()
            .any(|o| o.snippet.matched != finding.secret)
    {
        writeln!(
            out,
            "  {}       {}",
            p.paint(DIM, "secret"),
            shown_secret(&finding.secret, p, "               ")
        )?;
    }
    writeln!(
        out,
        "  {}  {}",
        p.paint(DIM, "fingerprint"),
        finding.fingerprint
    )?;
    let nhi: Vec<String> = finding
        .nhi
        .iter()
        .map(|risk| format!("{} {}", p.paint(BOLD, risk.id), risk.name))
        .collect();
    writeln!(
        out,
        "  {}          {}",
        p.paint(DIM, "nhi"),
        nhi.join(" · ")
    )?;
    writeln!(
        out,
        "  {}       {} (at least every {})",
        p.paint(DIM, "rotate"),
        escape_controls(&rule.rotation.url),
        count(u64::from(rule.rotation.max_age_days), "day", "days"),
    )?;
    Ok(())
}

fn write_occurrence(
    occurrence: &Occurrence,
    show_secrets: bool,
    out: &mut dyn Write,
    p: Painter,
) -> io::Result<()> {
    let path = if occurrence.path == "-" {
        "<stdin>".to_string()
    } else {
        escape_controls(&occurrence.path)
    };
    let location = format!("{path}:{}:{}", occurrence.line, occurrence.column);
    let decoded = if occurrence.decoded {
        " (inside base64-encoded text)"
    } else {
        ""
    };
    writeln!(out, "  {}{decoded}", p.paint(LOCATION, location))?;
    if let Some(commit) = &occurrence.commit {
        let short = commit.id.get(..12).unwrap_or(&commit.id);
        let head = match (commit.present_at_head, commit.refs.len()) {
            (true, _) => "still at HEAD".to_string(),
            (false, 0) => "in no ref's tip: history only".to_string(),
            (false, 1) => format!("not at HEAD, still in {}", escape_controls(&commit.refs[0])),
            (false, n) => format!("not at HEAD, still in {n} refs"),
        };
        writeln!(
            out,
            "    introduced in {short} by {} ({}): {}; {head}",
            escape_controls(&commit.author),
            crate::text::utc_date(commit.date),
            escape_controls(&commit.summary),
        )?;
    }

    let snippet = &occurrence.snippet;
    let matched = if show_secrets {
        shown_secret(&snippet.matched, p, "    ")
    } else {
        p.paint(REDACTED, escape_controls(&redact(&snippet.matched)))
    };
    writeln!(
        out,
        "    {}{matched}{}",
        escape_controls(snippet.before.trim_start()),
        escape_controls(snippet.after.trim_end()),
    )?;
    Ok(())
}

/// A secret shown in full, highlighted, its later lines (private keys) indented by `indent`.
fn shown_secret(secret: &str, p: Painter, indent: &str) -> String {
    secret
        .split('\n')
        .map(|line| p.paint(SHOWN, escape_controls(line.trim_end_matches('\r'))))
        .collect::<Vec<_>>()
        .join(&format!("\n{indent}"))
}

fn write_summary(report: &Report<'_>, out: &mut dyn Write, p: Painter) -> io::Result<()> {
    let summary = report.summary;
    let findings = report.findings.len() as u64;
    let occurrences: u64 = report
        .findings
        .iter()
        .map(|f| f.occurrences.len() as u64)
        .sum();
    let headline = if findings == 0 {
        p.paint(CLEAN, "no findings")
    } else {
        let style = report
            .findings
            .iter()
            .map(|f| report.rule_of(f).severity)
            .max()
            .map_or(BOLD, severity_style);
        p.paint(
            style,
            format!(
                "{} ({})",
                count(findings, "finding", "findings"),
                count(occurrences, "occurrence", "occurrences")
            ),
        )
    };
    let mut line = format!(
        "{headline} in {}, {} scanned in {}",
        count(summary.files_scanned, "file", "files"),
        bytes(summary.bytes_scanned),
        duration(summary.duration),
    );
    if summary.files_skipped > 0 {
        line.push_str(&format!(
            ", {} skipped",
            count(summary.files_skipped, "file", "files")
        ));
    }
    if !summary.errors.is_empty() {
        let errors = count(summary.errors.len() as u64, "error", "errors");
        line.push_str(&format!(
            ", {}",
            p.paint(severity_style(Severity::High), errors)
        ));
    }
    writeln!(out, "{line}")
}
