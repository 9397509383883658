//! Tests of keyhound's report writers.

mod common;

use std::io;
use std::time::Duration;

use common::*;
use keyhound_findings::{Finding, redact};
use keyhound_report::{Format, Report, ReportError, SarifRun, ScanSummary, SkipCounts, SkipReason};
use serde_json::Value;

const ALL_FORMATS: [Format; 4] = Format::ALL;

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// The OASIS SARIF 2.1.0 schema, from the `shared/` folder that sits beside the checkout.
fn sarif_validator() -> jsonschema::Validator {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/sarif/sarif-schema-2.1.0.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!(
            "cannot read the SARIF schema at {path}: {e}\n\
             The project's shared/ folder must sit beside the checkout (../shared/sarif/)."
        )
    });
    let schema: Value = serde_json::from_str(&text).expect("the SARIF schema is JSON");
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the SARIF schema compiles")
}

fn assert_valid_sarif(text: &str) {
    let instance = parse(text);
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(&instance)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF is invalid:\n{}\n{text}",
        errors.join("\n")
    );
}

#[test]
fn human_snapshot() {
    let fixture = fixture();
    insta::assert_snapshot!("human", render(&fixture, Format::Human, false, false));
}

#[test]
fn json_snapshot() {
    let fixture = fixture();
    insta::assert_snapshot!("json", render(&fixture, Format::Json, false, false));
}

#[test]
fn jsonl_snapshot() {
    let fixture = fixture();
    insta::assert_snapshot!("jsonl", render(&fixture, Format::Jsonl, false, false));
}

#[test]
fn sarif_snapshot() {
    let fixture = fixture();
    insta::assert_snapshot!("sarif", render(&fixture, Format::Sarif, false, false));
}

#[test]
fn sarif_validates_against_the_schema() {
    let fixture = fixture();
    assert_valid_sarif(&render(&fixture, Format::Sarif, false, false));
    assert_valid_sarif(&render(&fixture, Format::Sarif, true, false));
    let clean = ScanSummary::default();
    assert_valid_sarif(&render_findings(
        &fixture.rules,
        &[],
        &clean,
        Format::Sarif,
        false,
        false,
    ));
}

#[test]
fn the_schema_check_catches_invalid_sarif() {
    let fixture = fixture();
    let mut sarif = parse(&render(&fixture, Format::Sarif, false, false));
    sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Value::from(0);
    assert!(!sarif_validator().is_valid(&sarif));
}

#[test]
fn no_format_shows_a_secret_unless_asked() {
    let fixture = fixture();
    for format in ALL_FORMATS {
        for color in [false, true] {
            let text = render(&fixture, format, false, color);
            for secret in &fixture.secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "{format} leaks {secret}:\n{text}"
                );
            }
        }
    }
}

#[test]
fn every_format_shows_secrets_when_asked() {
    let fixture = fixture();
    for format in ALL_FORMATS {
        for color in [false, true] {
            let text = render(&fixture, format, true, color);
            // JSON escapes nothing in these secrets, so the raw text is there too.
            for secret in &fixture.secrets {
                assert!(
                    text.contains(secret.as_str()),
                    "{format} hides {secret}:\n{text}"
                );
            }
        }
    }
    let json = parse(&render(&fixture, Format::Json, true, false));
    let shown: Vec<&str> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["secret"].as_str().expect("secret shown"))
        .collect();
    for secret in &fixture.secrets {
        assert!(
            shown.contains(&secret.as_str()),
            "{secret} not in {shown:?}"
        );
    }
}

#[test]
fn human_output_redacts_the_matched_text() {
    let fixture = fixture();
    let text = render(&fixture, Format::Human, false, false);
    let token = &fixture.secrets[0];
    assert!(
        text.contains(&format!("ACME_TOKEN={}\n", redact(token))),
        "{text}"
    );
    assert!(text.contains("config/app.env:2:12"), "{text}");
    assert!(text.contains("<stdin>:2:14"), "{text}");
    assert!(
        text.contains("4 findings (7 occurrences) in 12 files, 1.2 MB scanned in 8 ms, 2 files skipped (too large: 1, binary: 1), 1 error\n"),
        "{text}"
    );
}

#[test]
fn jsonl_is_one_object_per_finding_and_nothing_else() {
    let fixture = fixture();
    let text = render(&fixture, Format::Jsonl, false, false);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), fixture.findings.len(), "{text}");
    assert!(text.ends_with('\n'));
    for (line, finding) in lines.iter().zip(&fixture.findings) {
        let object = parse(line);
        assert_eq!(object["rule_id"], finding.rule_id.as_str());
        assert_eq!(object["fingerprint"], finding.fingerprint.as_str());
        assert_eq!(
            object["occurrences"].as_array().map(Vec::len),
            Some(finding.occurrences.len())
        );
        assert!(object.get("summary").is_none() && object.get("secret").is_none());
    }
}

#[test]
fn json_has_the_documented_shape() {
    let fixture = fixture();
    let json = parse(&render(&fixture, Format::Json, false, false));
    assert_eq!(json["version"], 1);
    assert_eq!(json["tool"]["name"], "keyhound");
    assert_eq!(json["tool"]["version"], "0.1.0");
    let summary = &json["summary"];
    assert_eq!(summary["files_scanned"], 12);
    assert_eq!(summary["bytes_scanned"], 1_234_567);
    assert_eq!(summary["files_skipped"], 2);
    assert_eq!(
        summary["skipped"],
        serde_json::json!({"too_large": 1, "unreadable": 0, "binary": 1, "excluded": 0,
            "symlink": 0, "special": 0, "archive": 0, "time_budget": 0})
    );
    assert_eq!(summary["duration_ms"], 8);
    assert_eq!(summary["errors"].as_array().map(Vec::len), Some(1));

    let keys =
        |v: &Value| -> Vec<String> { v.as_object().expect("object").keys().cloned().collect() };
    let findings = json["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 4);
    let token = findings
        .iter()
        .find(|f| f["rule_id"] == "acme.token.classic")
        .expect("token finding");
    let mut expected = vec![
        "rule_id",
        "rule_name",
        "provider",
        "kind",
        "severity",
        "confidence",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "fingerprint",
        "decoded",
        "occurrences",
        "nhi",
        "rotation",
        "lifecycle",
        "owner",
    ];
    let mut actual = keys(token);
    expected.sort_unstable();
    actual.sort_unstable();
    assert_eq!(actual, expected);
    assert_eq!(token["kind"], "api-token");
    assert_eq!(token["severity"], "critical");
    assert_eq!(token["confidence"], "high");
    // The first occurrence, by path: `.github/` sorts first.
    assert_eq!(token["path"], ".github/workflows/deploy.yml");
    assert_eq!(
        (token["line"].as_u64(), token["column"].as_u64()),
        (Some(6), Some(19))
    );
    assert_eq!(token["end_column"].as_u64(), Some(19 + 41));
    assert_eq!(token["rotation"]["max_age_days"], 90);
    let nhi: Vec<&str> = token["nhi"]
        .as_array()
        .expect("nhi")
        .iter()
        .map(|n| n["id"].as_str().expect("id"))
        .collect();
    assert_eq!(nhi, ["NHI2", "NHI5", "NHI6", "NHI7", "NHI9"]);
    let mut occurrence_keys = keys(&token["occurrences"][0]);
    occurrence_keys.sort_unstable();
    assert_eq!(
        occurrence_keys,
        [
            "column",
            "decoded",
            "end_column",
            "end_line",
            "line",
            "path"
        ]
    );
    assert_eq!(keys(&token["nhi"][0]), ["id", "name", "reason"]);
    // A working-tree finding: active, no history to date it.
    let mut lifecycle_keys = keys(&token["lifecycle"]);
    lifecycle_keys.sort_unstable();
    assert_eq!(
        lifecycle_keys,
        [
            "exposure_days",
            "first_seen",
            "last_seen",
            "overdue",
            "present_at_head",
            "refs",
            "removed_in",
            "status"
        ]
    );
    assert_eq!(token["lifecycle"]["status"], "active");
    assert_eq!(token["lifecycle"]["exposure_days"], Value::Null);
    assert_eq!(keys(&token["owner"]), ["codeowners"]);
}

#[test]
fn json_keys_keep_the_documented_order() {
    let fixture = fixture();
    let text = render(&fixture, Format::Jsonl, true, false);
    let line = text.lines().next().expect("a finding");
    let order = [
        "rule_id",
        "rule_name",
        "provider",
        "kind",
        "severity",
        "confidence",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "fingerprint",
        "decoded",
        "secret",
        "occurrences",
        "nhi",
        "rotation",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|key| {
            line.find(&format!("\"{key}\":"))
                .unwrap_or_else(|| panic!("no {key}: {line}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
}

#[test]
fn every_format_counts_skipped_inputs_by_reason() {
    let mut fixture = fixture();
    fixture.summary.skipped = [
        (SkipReason::TooLarge, 2),
        (SkipReason::Unreadable, 1),
        (SkipReason::Excluded, 4),
    ]
    .into_iter()
    .collect();
    assert_eq!(fixture.summary.skipped.total(), 7);
    let human = render(&fixture, Format::Human, false, false);
    assert!(
        human.contains(", 7 files skipped (too large: 2, unreadable: 1, excluded: 4), 1 error"),
        "{human}"
    );
    let json = parse(&render(&fixture, Format::Json, false, false));
    assert_eq!(json["summary"]["files_skipped"], 7);
    assert_eq!(json["summary"]["skipped"]["excluded"], 4);
    assert_eq!(json["summary"]["skipped"]["binary"], 0);
    let text = render(&fixture, Format::Sarif, false, false);
    assert_valid_sarif(&text);
    let sarif = parse(&text);
    let run = &sarif["runs"][0];
    assert_eq!(run["properties"]["filesScanned"], 12);
    assert_eq!(run["properties"]["filesSkipped"], 7);
    assert_eq!(run["properties"]["skipped"]["too_large"], 2);
    assert_eq!(run["properties"]["skipped"]["unreadable"], 1);
    let notes: Vec<(&str, &str)> = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .expect("notifications")
        .iter()
        .map(|n| {
            (
                n["level"].as_str().expect("level"),
                n["message"]["text"].as_str().expect("text"),
            )
        })
        .collect();
    assert_eq!(
        notes,
        [
            (
                "error",
                "vendor/blob.bin: cannot read: Permission denied (os error 13)"
            ),
            ("note", "2 inputs skipped: too large"),
            ("note", "1 input skipped: unreadable"),
            ("note", "4 inputs skipped: excluded"),
        ]
    );
    // Nothing skipped: no skip notes, and no human mention.
    fixture.summary.skipped = SkipCounts::default();
    fixture.summary.errors.clear();
    let sarif = parse(&render(&fixture, Format::Sarif, false, false));
    assert!(sarif["runs"][0]["invocations"][0]["toolExecutionNotifications"].is_null());
    assert!(!render(&fixture, Format::Human, false, false).contains("skipped"));
}

#[test]
fn sarif_meets_code_scanning_rules() {
    let fixture = fixture();
    let sarif = parse(&render(&fixture, Format::Sarif, false, false));
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(sarif["runs"].as_array().map(Vec::len), Some(1));
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "keyhound");
    assert_eq!(driver["semanticVersion"], "0.1.0");
    assert!(
        driver["informationUri"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://"))
    );

    // One descriptor per rule with findings: the unused rule is left out.
    let rules = driver["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    assert_eq!(
        ids,
        [
            "acme.token.classic",
            "chatco.webhook",
            "generic.password",
            "postgres.connection-string"
        ]
    );
    for rule in rules {
        for key in ["name", "shortDescription", "fullDescription", "help"] {
            assert!(!rule[key].is_null(), "rule lacks {key}: {rule:#}");
        }
        assert!(
            rule["help"]["markdown"]
                .as_str()
                .is_some_and(|m| m.contains("https://"))
        );
    }
    let token_rule = &rules[0];
    assert_eq!(token_rule["properties"]["security-severity"], "9.5");
    assert_eq!(token_rule["properties"]["precision"], "high");
    assert_eq!(
        token_rule["properties"]["tags"],
        serde_json::json!(["security", "secret", "NHI2", "NHI5", "NHI7"])
    );
    assert_eq!(
        rules[1]["properties"]["tags"],
        serde_json::json!(["security", "secret", "NHI2", "NHI3", "NHI7"])
    );
    assert_eq!(
        rules[1]["fullDescription"]["text"],
        "An incoming-webhook URL: whoever holds it can post to the channel."
    );
    assert_eq!(rules[2]["properties"]["security-severity"], "3.0");
    assert_eq!(
        rules[2]["fullDescription"]["text"],
        "Generic password assignment"
    );
    assert_eq!(rules[3]["properties"]["security-severity"], "8.0");
    assert_eq!(rules[3]["properties"]["precision"], "medium");
    assert_eq!(
        rules[3]["properties"]["tags"],
        serde_json::json!(["security", "secret", "NHI2", "NHI4", "NHI7"])
    );

    // One result per occurrence, each pointing at its rule.
    let results = run["results"].as_array().expect("results");
    let occurrences: usize = fixture.findings.iter().map(|f| f.occurrences.len()).sum();
    assert_eq!(results.len(), occurrences);
    for result in results {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let region = &result["locations"][0]["physicalLocation"]["region"];
        for key in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(
                region[key].as_u64().is_some_and(|n| n >= 1),
                "{key}: {result:#}"
            );
        }
        assert!(
            result["partialFingerprints"]["keyhound/v1"]
                .as_str()
                .is_some_and(|f| f.len() == 32)
        );
        assert_eq!(
            result["partialFingerprints"]["keyhound/v1"],
            result["properties"]["fingerprint"]
        );
        assert!(result["partialFingerprints"]["keyhound/location/v1"].is_string());
        assert!(
            result["properties"]["nhi"]
                .as_array()
                .is_some_and(|n| !n.is_empty())
        );
    }
    // Occurrences of one secret stay apart: no two results share all their partial fingerprints.
    let mut fingerprints: Vec<String> = results
        .iter()
        .map(|r| r["partialFingerprints"].to_string())
        .collect();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), results.len());
    let levels: Vec<(&str, &str)> = results
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap_or(""),
                r["level"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(levels.contains(&("acme.token.classic", "error")));
    assert!(levels.contains(&("postgres.connection-string", "error")));
    assert!(levels.contains(&("chatco.webhook", "warning")));
    assert!(levels.contains(&("generic.password", "note")));

    let locations: Vec<(&str, Option<&str>)> = results
        .iter()
        .map(|r| {
            let artifact = &r["locations"][0]["physicalLocation"]["artifactLocation"];
            (
                artifact["uri"].as_str().unwrap_or(""),
                artifact["uriBaseId"].as_str(),
            )
        })
        .collect();
    assert!(
        locations.contains(&("docs/set%20up.md", Some("%SRCROOT%"))),
        "{locations:?}"
    );
    assert!(locations.contains(&(".github/workflows/deploy.yml", Some("%SRCROOT%"))));
    assert!(locations.contains(&("stdin", None)), "{locations:?}");

    let token_result = results
        .iter()
        .find(|r| r["ruleId"] == "acme.token.classic")
        .expect("token result");
    let message = token_result["message"]["text"].as_str().expect("message");
    assert!(message.contains(&redact(&fixture.secrets[0])), "{message}");
    assert!(
        message.contains("NHI2, NHI5, NHI6, NHI7, NHI9"),
        "{message}"
    );

    let notifications = &run["invocations"][0]["toolExecutionNotifications"];
    assert_eq!(
        notifications[0]["message"]["text"],
        fixture.summary.errors[0].as_str()
    );
}

#[test]
fn colour_codes_only_when_asked_and_only_in_human_output() {
    let fixture = fixture();
    let coloured = render(&fixture, Format::Human, false, true);
    assert!(coloured.contains("\x1b["), "{coloured}");
    assert!(coloured.contains(&redact(&fixture.secrets[0])));
    assert!(!render(&fixture, Format::Human, false, false).contains('\x1b'));
    assert!(!render(&fixture, Format::Human, true, false).contains('\x1b'));
    for format in [Format::Json, Format::Jsonl, Format::Sarif] {
        assert!(
            !render(&fixture, format, false, true).contains('\x1b'),
            "{format}"
        );
    }
}

#[test]
fn scanned_text_cannot_drive_the_terminal() {
    let rules = rules();
    let index = rule_index(&rules, "acme.token.classic");
    let token = format!("acme_{}", Fake::new(99).alnum(36));
    let text = format!("\x1b[2J\u{202e}TOKEN={token}\x07 # \x1b]0;owned\x07\n");
    let mut set = keyhound_findings::FindingSet::new();
    set.add(
        index,
        &rules[index],
        token.as_bytes(),
        occurrence("evil\x1b[31m.env", &text, &token, false),
    );
    let findings = set.finish(|i| &rules[i], &keyhound_findings::NhiContext::default());
    for show in [false, true] {
        let out = render_findings(
            &rules,
            &findings,
            &ScanSummary::default(),
            Format::Human,
            show,
            false,
        );
        assert!(
            !out.contains('\x1b') && !out.contains('\x07') && !out.contains('\u{202e}'),
            "{out}"
        );
        assert!(out.contains("\\u{1b}[2J\\u{202e}TOKEN="), "{out}");
        assert!(out.contains("evil\\u{1b}[31m.env:1:"), "{out}");
    }
}

#[test]
fn multi_line_secrets_stay_redacted_and_indented_when_shown() {
    let rules = rules();
    let index = rule_index(&rules, "generic.password");
    let key = format!(
        "-----BEGIN TEST KEY-----\n{}\n{}\n-----END TEST KEY-----",
        Fake::new(5).alnum(40),
        Fake::new(6).alnum(40)
    );
    let text = format!("key = {key}\nnext\n");
    let mut set = keyhound_findings::FindingSet::new();
    set.add(
        index,
        &rules[index],
        key.as_bytes(),
        occurrence("keys/test.pem", &text, &key, false),
    );
    let findings = set.finish(|i| &rules[i], &keyhound_findings::NhiContext::default());
    let summary = ScanSummary::default();
    let hidden = render_findings(&rules, &findings, &summary, Format::Human, false, false);
    assert!(hidden.contains("key = -----BEGIN TEST …\n"), "{hidden}");
    for line in key.lines().skip(1) {
        assert!(!hidden.contains(line), "{hidden}");
    }
    let shown = render_findings(&rules, &findings, &summary, Format::Human, true, false);
    for line in key.lines().skip(1) {
        assert!(shown.contains(&format!("\n    {line}")), "{shown}");
    }
    for format in [Format::Json, Format::Jsonl, Format::Sarif] {
        let out = render_findings(&rules, &findings, &summary, format, false, false);
        assert!(
            !out.contains(key.lines().nth(1).unwrap_or("?")),
            "{format}: {out}"
        );
    }
}

#[test]
fn empty_reports() {
    let rules = rules();
    let summary = ScanSummary {
        files_scanned: 1,
        bytes_scanned: 999,
        duration: Duration::from_micros(420),
        ..ScanSummary::default()
    };
    let human = render_findings(&rules, &[], &summary, Format::Human, false, false);
    assert_eq!(human, "no findings in 1 file, 999 B scanned in 420 µs\n");
    let json = parse(&render_findings(
        &rules,
        &[],
        &summary,
        Format::Json,
        false,
        false,
    ));
    assert_eq!(json["findings"], serde_json::json!([]));
    assert_eq!(json["summary"]["errors"], serde_json::json!([]));
    assert_eq!(
        render_findings(&rules, &[], &summary, Format::Jsonl, false, false),
        ""
    );
    let sarif = parse(&render_findings(
        &rules,
        &[],
        &summary,
        Format::Sarif,
        false,
        false,
    ));
    assert_eq!(sarif["runs"][0]["results"], serde_json::json!([]));
    assert_eq!(
        sarif["runs"][0]["tool"]["driver"]["rules"],
        serde_json::json!([])
    );
}

#[test]
fn a_finding_without_occurrences_is_an_error_not_a_panic() {
    let fixture = fixture();
    let mut findings: Vec<Finding> = fixture.findings.clone();
    findings[1].occurrences.clear();
    let rule_of = |i: usize| &fixture.rules[i];
    let report = Report {
        findings: &findings,
        rule: &rule_of,
        summary: &fixture.summary,
        show_secrets: false,
        tool_version: "0.1.0",
        baseline_state: None,
        suppressed: &[],
        sarif: SarifRun::default(),
    };
    for format in ALL_FORMATS {
        let mut out = Vec::new();
        let err =
            keyhound_report::write(format, &report, &mut out, false).expect_err("empty finding");
        assert!(matches!(err, ReportError::EmptyFinding { .. }), "{err:?}");
        assert!(err.to_string().contains(&findings[1].rule_id), "{err}");
        assert!(out.is_empty(), "{format} wrote before failing");
    }
}

/// A writer whose reader has gone away.
struct BrokenPipe;

impl io::Write for BrokenPipe {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "reader closed"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_errors_keep_the_io_error_as_source() {
    let fixture = fixture();
    let rule_of = |i: usize| &fixture.rules[i];
    let report = Report {
        findings: &fixture.findings,
        rule: &rule_of,
        summary: &fixture.summary,
        show_secrets: false,
        tool_version: "0.1.0",
        baseline_state: None,
        suppressed: &[],
        sarif: SarifRun::default(),
    };
    for format in ALL_FORMATS {
        let err = keyhound_report::write(format, &report, &mut BrokenPipe, false)
            .expect_err("broken pipe");
        let source = std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<io::Error>())
            .unwrap_or_else(|| panic!("{format}: no io::Error source in {err:?}"));
        assert_eq!(source.kind(), io::ErrorKind::BrokenPipe, "{format}");
    }
}

#[test]
fn format_names() {
    for format in ALL_FORMATS {
        assert_eq!(format.to_string().parse::<Format>(), Ok(format));
    }
    assert_eq!("SARIF".parse::<Format>(), Ok(Format::Sarif));
    assert_eq!(Format::default(), Format::Human);
    let err = "xml".parse::<Format>().expect_err("unknown");
    assert!(
        err.to_string().contains("`xml`") && err.to_string().contains("jsonl"),
        "{err}"
    );
}

#[test]
fn sarif_for_code_scanning_carries_roots_provenance_category_baseline_and_suppressions() {
    use keyhound_report::{BaselineState, Suppressed, SuppressionKind, VersionControl};
    let fixture = fixture();
    let (known, new) = fixture.findings.split_at(1);
    let known_fingerprint = known[0].fingerprint.clone();
    let state = |f: &keyhound_findings::Finding| {
        if f.fingerprint == known_fingerprint {
            BaselineState::Unchanged
        } else {
            BaselineState::New
        }
    };
    let suppressed = [Suppressed {
        finding: new[0].clone(),
        kind: SuppressionKind::InSource,
        justification: "test vector".into(),
    }];
    let rule_of = |i: usize| &fixture.rules[i];
    let report = Report {
        findings: &fixture.findings,
        rule: &rule_of,
        summary: &fixture.summary,
        show_secrets: false,
        tool_version: "0.1.0",
        baseline_state: Some(&state),
        suppressed: &suppressed,
        sarif: SarifRun {
            // The scan ran in a subdirectory of the repository: URIs must still be
            // relative to the repository root.
            src_root: Some("/work/repo".into()),
            base_dir: Some("/work/repo/services".into()),
            version_control: Some(VersionControl {
                repository_uri: "https://git.example.invalid/acme/ledger".into(),
                revision_id: Some("0123456789abcdef0123456789abcdef01234567".into()),
                branch: Some("main".into()),
            }),
            category: Some("secrets/history".into()),
        },
    };
    let mut out = Vec::new();
    keyhound_report::write(Format::Sarif, &report, &mut out, false).expect("written");
    let text = String::from_utf8(out).expect("UTF-8");
    assert_valid_sarif(&text);
    let sarif = parse(&text);
    let run = &sarif["runs"][0];
    assert_eq!(
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
        "file:///work/repo/"
    );
    assert_eq!(run["automationDetails"]["id"], "secrets/history");
    let vcs = &run["versionControlProvenance"][0];
    assert_eq!(
        vcs["repositoryUri"],
        "https://git.example.invalid/acme/ledger"
    );
    assert_eq!(vcs["branch"], "main");
    assert_eq!(vcs["mappedTo"]["uriBaseId"], "%SRCROOT%");
    let results = run["results"].as_array().expect("results");
    let relative: Vec<&Value> = results
        .iter()
        .map(|r| &r["locations"][0]["physicalLocation"]["artifactLocation"])
        .filter(|a| a["uriBaseId"] == "%SRCROOT%")
        .collect();
    assert!(!relative.is_empty());
    assert!(
        relative
            .iter()
            .all(|a| a["uri"].as_str().expect("uri").starts_with("services/")),
        "{relative:?}"
    );
    let states: Vec<&str> = results
        .iter()
        .map(|r| {
            r["baselineState"]
                .as_str()
                .expect("every result has a state")
        })
        .collect();
    assert!(
        states.contains(&"unchanged") && states.contains(&"new"),
        "{states:?}"
    );
    let suppressed: Vec<&Value> = results
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), new[0].occurrences.len());
    assert_eq!(suppressed[0]["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        suppressed[0]["suppressions"][0]["justification"],
        "test vector"
    );
    for secret in &fixture.secrets {
        assert!(!text.contains(secret.as_str()), "SARIF leaks {secret}");
    }
}

#[test]
fn sarif_places_history_results_at_head_or_where_the_secret_entered() {
    use keyhound_findings::Commit;
    let fixture = fixture();
    let mut finding = fixture.findings[0].clone();
    let base = finding.occurrences[0].clone();
    let at = |path: &str, date: i64, present_at_head: bool| {
        let mut o = base.clone();
        o.path = path.to_string();
        o.commit = Some(Commit {
            id: format!("{date:040}"),
            author: "Dana <dana@ledger.invalid>".into(),
            date,
            summary: "change".into(),
        });
        o.at_head = present_at_head;
        o
    };
    let results_of = |finding: &keyhound_findings::Finding| {
        let text = render_findings(
            &fixture.rules,
            std::slice::from_ref(finding),
            &ScanSummary::default(),
            Format::Sarif,
            false,
            false,
        );
        assert_valid_sarif(&text);
        parse(&text)["runs"][0]["results"]
            .as_array()
            .expect("results")
            .iter()
            .map(|r| {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    .as_str()
                    .expect("uri")
                    .to_string()
            })
            .collect::<Vec<_>>()
    };
    // Still at HEAD (in its latest version): only the current location.
    finding.occurrences = vec![
        at("old/name.env", 100, false),
        at("app.env", 200, false),
        at("app.env", 300, true),
    ];
    assert_eq!(results_of(&finding), ["app.env"]);
    // Gone from HEAD: where it was introduced.
    finding.occurrences = vec![at("b.env", 300, false), at("a.env", 100, false)];
    assert_eq!(results_of(&finding), ["a.env"]);
    // Files, not history: every occurrence.
    finding.occurrences = vec![base.clone(), base.clone()];
    finding.occurrences[1].path = "other.env".into();
    assert_eq!(results_of(&finding).len(), 2);
}
