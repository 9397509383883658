//! Small text helpers shared by the writers.

use std::fmt::Write as _;
use std::time::Duration;

use keyhound_rules::{Kind, Lifetime, Privilege, Rule};

/// `text` with control characters (except tab) and bidirectional overrides escaped as
/// `\u{…}`, so that scanned content cannot move the cursor, recolour or reorder the terminal.
pub(crate) fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
        if (c.is_control() && c != '\t') || bidi {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    out
}

/// `n` followed by the singular or plural noun.
/// The UTC calendar date (`YYYY-MM-DD`) of `seconds` since the Unix epoch.
pub(crate) fn utc_date(seconds: i64) -> String {
    // Days to civil date, after Howard Hinnant's `civil_from_days`.
    let z = seconds.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

pub(crate) fn count(n: u64, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// A byte count in decimal units with one decimal: `512 B`, `1.2 MB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A duration for people: `350 µs`, `8 ms`, `1.2 s`.
pub(crate) fn duration(d: Duration) -> String {
    if d < Duration::from_millis(1) {
        format!("{} µs", d.as_micros())
    } else if d < Duration::from_secs(1) {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The OWASP NHI risks (id, name) that the rule alone implies, NHI2 included since every
/// finding carries it: the same conditions `keyhound_findings::map_nhi` applies to rule metadata,
/// in id order.
pub(crate) fn rule_nhi(rule: &Rule) -> Vec<(&'static str, &'static str)> {
    let mut risks = vec![("NHI2", "Secret Leakage")];
    if matches!(rule.kind, Kind::Webhook | Kind::OauthSecret) {
        risks.push(("NHI3", "Vulnerable Third-Party NHI"));
    }
    let unencrypted_key = rule.kind == Kind::PrivateKey && !rule.id.contains("encrypted");
    if rule.kind == Kind::ConnectionString || unencrypted_key || rule.deprecated {
        risks.push(("NHI4", "Insecure Authentication"));
    }
    if rule.privilege == Privilege::Broad {
        risks.push(("NHI5", "Overprivileged NHI"));
    }
    if rule.lifetime == Lifetime::Static {
        risks.push(("NHI7", "Long-Lived Secrets"));
    }
    risks
}

/// What a credential of `kind` is called in prose: `API key`.
pub(crate) fn kind_noun(kind: Kind) -> &'static str {
    match kind {
        Kind::ApiKey => "API key",
        Kind::ApiToken => "API token",
        Kind::PrivateKey => "private key",
        Kind::Password => "password",
        Kind::Webhook => "webhook URL",
        Kind::ConnectionString => "connection string with credentials",
        Kind::OauthSecret => "OAuth client secret",
        Kind::Jwt => "JSON Web Token",
    }
}

/// Words of `name` joined in PascalCase: `GitHub personal access token (classic)` becomes
/// `GitHubPersonalAccessTokenClassic`.
pub(crate) fn pascal_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for word in name
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_overrides_are_escaped() {
        assert_eq!(escape_controls("a\tb"), "a\tb");
        assert_eq!(escape_controls("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(escape_controls("x\u{202E}y\r"), "x\\u{202e}y\\u{d}");
        assert_eq!(escape_controls("pässwörd"), "pässwörd");
    }

    #[test]
    fn sizes_and_durations() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_234), "1.2 KB");
        assert_eq!(bytes(1_200_000), "1.2 MB");
        assert_eq!(bytes(999_999), "1.0 MB");
        assert_eq!(bytes(5_500_000_000), "5.5 GB");
        assert_eq!(duration(Duration::from_micros(350)), "350 µs");
        assert_eq!(duration(Duration::from_millis(8)), "8 ms");
        assert_eq!(duration(Duration::from_millis(1_234)), "1.2 s");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(1_795_521_553), "2026-11-24");
        assert_eq!(utc_date(-86_400), "1969-12-31");
    }

    #[test]
    fn pascal_case_of_rule_names() {
        assert_eq!(
            pascal_case("GitHub personal access token (classic)"),
            "GitHubPersonalAccessTokenClassic"
        );
        assert_eq!(pascal_case("AWS access key-id"), "AWSAccessKeyId");
        assert_eq!(pascal_case("  "), "");
    }

    #[test]
    fn plural_nouns() {
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(0, "file", "files"), "0 files");
    }
}

#[cfg(test)]
mod nhi_agreement {
    use keyhound_findings::{Finding, Occurrence, Snippet, map_nhi};
    use keyhound_rules::RuleSet;

    use super::rule_nhi;

    fn rule(
        id: &str,
        kind: &str,
        privilege: &str,
        lifetime: &str,
        deprecated: bool,
    ) -> keyhound_rules::Rule {
        let text = format!(
            r#"[[rule]]
id = "{id}"
name = "Acme key"
provider = "Acme"
kind = "{kind}"
keywords = ["acme_"]
pattern = 'acme_[a-z]{{8}}'
confidence = "high"
severity = "high"
privilege = "{privilege}"
lifetime = "{lifetime}"
deprecated = {deprecated}
rotation = {{ url = "https://acme.invalid", max_age_days = 30 }}
examples = ["acme_qwertyui"]
negative_examples = ["acme_"]
"#
        );
        let mut set = RuleSet::new();
        set.add_toml("t.toml", &text).expect("valid rule");
        set.rules()[0].rule.clone()
    }

    /// For a finding at one neutral path, the findings crate's mapping is the rule's alone.
    #[test]
    fn rule_implied_ids_agree_with_map_nhi() {
        let kinds = [
            "api-key",
            "api-token",
            "private-key",
            "password",
            "webhook",
            "connection-string",
            "oauth-secret",
            "jwt",
        ];
        for id in ["acme.key", "acme.key.encrypted"] {
            for kind in kinds {
                for privilege in ["broad", "scoped", "unknown"] {
                    for lifetime in ["static", "expiring", "ephemeral"] {
                        for deprecated in [false, true] {
                            let r = rule(id, kind, privilege, lifetime, deprecated);
                            let finding = Finding {
                                rule_id: r.id.clone(),
                                rule_name: r.name.clone(),
                                rule_index: 0,
                                fingerprint: String::new(),
                                secret: "acme_qwertyui".into(),
                                occurrences: vec![Occurrence {
                                    path: "src/app.txt".into(),
                                    line: 1,
                                    column: 1,
                                    end_line: 1,
                                    end_column: 14,
                                    offset: 0,
                                    decoded: None,
                                    snippet: Snippet {
                                        before: String::new(),
                                        matched: "acme_qwertyui".into(),
                                        after: String::new(),
                                    },
                                    commit: None,
                                    at_head: false,
                                }],
                                nhi: Vec::new(),
                                lifecycle: Default::default(),
                                owner: Default::default(),
                            };
                            let expected: Vec<(&str, &str)> =
                                map_nhi(&r, &finding, &Default::default())
                                    .iter()
                                    .map(|n| (n.id, n.name))
                                    .collect();
                            assert_eq!(
                                rule_nhi(&r),
                                expected,
                                "{id} {kind} {privilege} {lifetime} deprecated={deprecated}"
                            );
                        }
                    }
                }
            }
        }
    }
}
