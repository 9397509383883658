//! The human format: one block per finding, then a summary line.

use std::fmt::Display;
use std::io::{self, Write};

use anstyle::{AnsiColor, Style};
use keyhound_findings::{Finding, Occurrence, Status, redact};
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
    write_lifecycle(finding, out, p)?;
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
    let decoded = occurrence
        .decoded_note()
        .map_or(String::new(), |note| format!(" ({note})"));
    writeln!(out, "  {}{decoded}", p.paint(LOCATION, location))?;
    if let Some(commit) = &occurrence.commit {
        writeln!(
            out,
            "    added here in {} by {} ({}): {}",
            short_id(&commit.id),
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

/// The first 12 digits of a commit id.
fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// The status, age and owner lines of a finding.
fn write_lifecycle(finding: &Finding, out: &mut dyn Write, p: Painter) -> io::Result<()> {
    let life = &finding.lifecycle;
    let mut status = life.status.as_str().to_string();
    match life.status {
        Status::Active if life.present_at_head && life.first_seen.is_some() => {
            status.push_str(", still at HEAD");
        }
        Status::Active if !life.refs.is_empty() => {
            // A secret in an old release is held by every later tag: name a few.
            const SHOWN: usize = 3;
            let mut refs = life
                .refs
                .iter()
                .take(SHOWN)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if life.refs.len() > SHOWN {
                refs.push_str(&format!(" and {} more", life.refs.len() - SHOWN));
            }
            status.push_str(&format!(", not at HEAD but in {}", escape_controls(&refs)));
        }
        Status::Removed | Status::Replaced => {
            if let Some(removed) = &life.removed_in {
                status.push_str(&format!(
                    " in {} ({})",
                    short_id(&removed.id),
                    crate::text::utc_date(removed.date)
                ));
            }
        }
        _ => {}
    }
    if let Some(days) = life.exposure_days {
        status.push_str(&format!(
            "; exposed {}",
            count(days.max(0) as u64, "day", "days")
        ));
        if let Some(first) = &life.first_seen {
            status.push_str(&format!(" since {}", crate::text::utc_date(first.date)));
        }
        if life.overdue {
            status.push_str(", overdue for rotation");
        }
    }
    let style = match life.status {
        Status::Active | Status::Unreachable => severity_style(Severity::High),
        Status::Removed | Status::Replaced => DIM,
    };
    writeln!(
        out,
        "  {}       {}",
        p.paint(DIM, "status"),
        p.paint(style, status)
    )?;
    let owner = &finding.owner;
    let mut parts = Vec::new();
    if !owner.codeowners.is_empty() {
        parts.push(escape_controls(&owner.codeowners.join(" ")));
    }
    if let Some(by) = &owner.introduced_by {
        parts.push(format!("introduced by {}", escape_controls(by)));
    }
    if let Some(by) = &owner.last_touched_by {
        parts.push(format!("line last touched by {}", escape_controls(by)));
    }
    if !parts.is_empty() {
        writeln!(
            out,
            "  {}        {}",
            p.paint(DIM, "owner"),
            parts.join("; ")
        )?;
    }
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
    let skipped = summary.skipped.total();
    if skipped > 0 {
        let reasons: Vec<String> = summary
            .skipped
            .iter()
            .filter(|&(_, n)| n > 0)
            .map(|(reason, n)| format!("{reason}: {n}"))
            .collect();
        line.push_str(&format!(
            ", {} skipped ({})",
            count(skipped, "file", "files"),
            reasons.join(", ")
        ));
    }
    if !summary.errors.is_empty() {
        let errors = count(summary.errors.len() as u64, "error", "errors");
        line.push_str(&format!(
            ", {}",
            p.paint(severity_style(Severity::High), errors)
        ));
    }
    writeln!(out, "{line}")?;
    write_counts(report, out, p)
}

/// Counts of findings by NHI risk and by owner, when there are findings.
fn write_counts(report: &Report<'_>, out: &mut dyn Write, p: Painter) -> io::Result<()> {
    if report.findings.is_empty() {
        return Ok(());
    }
    let mut by_risk: std::collections::BTreeMap<(u8, &str, &str), u64> = Default::default();
    let mut by_owner: std::collections::BTreeMap<&str, u64> = Default::default();
    for finding in report.findings {
        for risk in &finding.nhi {
            let number = risk.id[3..].parse::<u8>().unwrap_or(u8::MAX);
            *by_risk.entry((number, risk.id, risk.name)).or_default() += 1;
        }
        *by_owner
            .entry(finding.owner.primary().unwrap_or("(no owner)"))
            .or_default() += 1;
    }
    let risks: Vec<String> = by_risk
        .iter()
        .map(|(&(_, id, name), n)| format!("{} {name} {n}", p.paint(BOLD, id)))
        .collect();
    writeln!(
        out,
        "{}  {}",
        p.paint(DIM, "by NHI risk"),
        risks.join(" · ")
    )?;
    let mut owners: Vec<(&str, u64)> = by_owner.into_iter().collect();
    owners.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let owners: Vec<String> = owners
        .iter()
        .map(|(owner, n)| format!("{} {n}", escape_controls(owner)))
        .collect();
    writeln!(
        out,
        "{}     {}",
        p.paint(DIM, "by owner"),
        owners.join(" · ")
    )
}
