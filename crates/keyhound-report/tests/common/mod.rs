//! Shared builders: rules from TOML, fake secrets, findings placed in fake files, rendering.

use std::time::Duration;

use keyhound_findings::{Finding, FindingSet, Occurrence, Snippet};
use keyhound_report::{Format, Report, SarifRun, ScanSummary, SkipReason};
use keyhound_rules::{Rule, RuleSet};

/// The test rules: one per kind of NHI mapping, and one that never finds anything.
pub const RULES: &str = r#"
[[rule]]
id = "acme.token.classic"
name = "Acme personal token (classic)"
provider = "Acme"
kind = "api-token"
keywords = ["acme_"]
pattern = '''\b(?P<secret>acme_[A-Za-z0-9]{36})\b'''
confidence = "high"
severity = "critical"
privilege = "broad"
lifetime = "static"
rotation = { url = "https://acme.invalid/docs/tokens#rotate", max_age_days = 90 }
examples = ["ACME_TOKEN=acme_000000000000000000000000000000000000"]
negative_examples = ["acme_short"]

[[rule]]
id = "chatco.webhook"
name = "Chatco incoming webhook"
provider = "Chatco"
description = "An incoming-webhook URL: whoever holds it can post to the channel."
kind = "webhook"
keywords = ["hooks.chatco.invalid"]
pattern = '''https://hooks\.chatco\.invalid/services/[A-Za-z0-9]{10}/[A-Za-z0-9]{24}'''
confidence = "high"
severity = "medium"
privilege = "scoped"
lifetime = "static"
rotation = { url = "https://chatco.invalid/help/webhooks", max_age_days = 365 }
examples = ["https://hooks.chatco.invalid/services/0000000000/000000000000000000000000"]
negative_examples = ["https://hooks.chatco.invalid/services/"]

[[rule]]
id = "postgres.connection-string"
name = "PostgreSQL connection string with password"
provider = "PostgreSQL"
kind = "connection-string"
keywords = ["postgres://"]
pattern = '''postgres://[^:\s]+:[^@\s]+@[^\s]+'''
confidence = "medium"
severity = "high"
privilege = "unknown"
lifetime = "static"
rotation = { url = "https://postgres.invalid/docs/alter-role", max_age_days = 180 }
examples = ["postgres://app:pw0123456@db:5432/app"]
negative_examples = ["postgres://localhost/app"]

[[rule]]
id = "generic.password"
name = "Generic password assignment"
provider = "Generic"
kind = "password"
keywords = ["password"]
pattern = '''password\s*=\s*"(?P<secret>[^"]{8,})"'''
confidence = "low"
severity = "low"
privilege = "unknown"
lifetime = "expiring"
rotation = { url = "https://owasp.invalid/password-rotation", max_age_days = 30 }
examples = ['password = "0123456789"']
negative_examples = ['password = ""']

[[rule]]
id = "unused.api-key"
name = "Never matched"
provider = "Nobody"
kind = "api-key"
keywords = ["unused_"]
pattern = '''unused_[a-z]{16}'''
confidence = "high"
severity = "high"
privilege = "broad"
lifetime = "static"
rotation = { url = "https://nobody.invalid", max_age_days = 1 }
examples = ["unused_abcdefghijklmnop"]
negative_examples = ["unused_"]
"#;

/// The test rules, in load order (a finding's rule index points here).
pub fn rules() -> Vec<Rule> {
    let mut set = RuleSet::new();
    set.add_toml("test-rules.toml", RULES)
        .unwrap_or_else(|e| panic!("test rules are invalid: {e:?}"));
    set.rules().iter().map(|r| r.rule.clone()).collect()
}

/// A deterministic stream of base62 characters, so fake secrets are the same on every run and
/// no secret-shaped literal sits in the source.
pub struct Fake(u64);

impl Fake {
    /// A stream seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Fake(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// `n` base62 characters.
    pub fn alnum(&mut self, n: usize) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        (0..n)
            .map(|_| {
                // xorshift64*
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                let x = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D);
                char::from(ALPHABET[(x >> 58) as usize % ALPHABET.len()])
            })
            .collect()
    }
}

/// Standard base64 with padding.
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The occurrence of `needle` (its first occurrence) in the file `path` whose content is `text`.
pub fn occurrence(path: &str, text: &str, needle: &str, decoded: bool) -> Occurrence {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} is not in {path}"));
    let position = |at: usize| {
        let line_start = text[..at].rfind('\n').map_or(0, |p| p + 1);
        let line = text[..at].matches('\n').count() + 1;
        (line, text[line_start..at].chars().count() + 1)
    };
    let (line, column) = position(offset);
    let (end_line, end_column) = position(offset + needle.len());
    Occurrence {
        path: path.to_string(),
        line,
        column,
        end_line,
        end_column,
        offset,
        decoded: decoded.then_some("base64"),
        snippet: Snippet::from_haystack(text.as_bytes(), offset..offset + needle.len()),
        commit: None,
        at_head: false,
    }
}

/// A fixed set of findings over fake files, with their secrets.
pub struct Fixture {
    /// The rules (`rules()`).
    pub rules: Vec<Rule>,
    /// The findings, as `FindingSet::finish` orders them.
    pub findings: Vec<Finding>,
    /// Every secret of the findings.
    pub secrets: Vec<String>,
    /// A summary with a fixed duration.
    pub summary: ScanSummary,
}

/// The rule index of `id`.
pub fn rule_index(rules: &[Rule], id: &str) -> usize {
    rules
        .iter()
        .position(|r| r.id == id)
        .unwrap_or_else(|| panic!("no rule {id}"))
}

/// Findings of four rules: a broad static token in three files (one a CI workflow, one a path
/// with a space), a webhook, a connection string once base64-encoded in a Kubernetes manifest
/// and once on stdin, and a short password in a test fixture.
pub fn fixture() -> Fixture {
    let rules = rules();
    let mut fake = Fake::new(7);
    let token = format!("acme_{}", fake.alnum(36));
    let webhook = format!(
        "https://hooks.chatco.invalid/services/{}/{}",
        fake.alnum(10),
        fake.alnum(24)
    );
    let connection = format!("postgres://app:{}@db.internal:5432/app", fake.alnum(16));
    let password = fake.alnum(10);

    let mut set = FindingSet::new();
    let mut add = |rule: &str, secret: &str, occurrence: Occurrence| {
        let index = rule_index(&rules, rule);
        set.add(index, &rules[index], secret.as_bytes(), occurrence);
    };

    let app_env = format!("# app settings\nACME_TOKEN={token}\nLOG_LEVEL=info\n");
    add(
        "acme.token.classic",
        &token,
        occurrence("config/app.env", &app_env, &token, false),
    );
    let workflow = format!(
        "name: deploy\non: push\njobs:\n  deploy:\n    env:\n      ACME_TOKEN: {token} # TODO move to secrets\n"
    );
    add(
        "acme.token.classic",
        &token,
        occurrence(".github/workflows/deploy.yml", &workflow, &token, false),
    );
    let setup = format!("Set `ACME_TOKEN` to `{token}` before running.\n");
    add(
        "acme.token.classic",
        &token,
        occurrence("docs/set up.md", &setup, &token, false),
    );

    let notify = format!(
        "import requests\n\n\tURL = \"{webhook}\"\n\ndef notify(text):\n    requests.post(URL, json={{\"text\": text}})\n"
    );
    add(
        "chatco.webhook",
        &webhook,
        occurrence("src/notify.py", &notify, &webhook, false),
    );

    let encoded = base64(connection.as_bytes());
    let manifest =
        format!("apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  url: {encoded}\n");
    add(
        "postgres.connection-string",
        &connection,
        occurrence("k8s/secret.yaml", &manifest, &encoded, true),
    );
    let stdin = format!("starting app\nDATABASE_URL={connection}\n");
    add(
        "postgres.connection-string",
        &connection,
        occurrence("-", &stdin, &connection, false),
    );

    let ini = format!("[db]\npassword = \"{password}\"\n");
    add(
        "generic.password",
        &password,
        occurrence("tests/fixtures/app.ini", &ini, &password, false),
    );

    let findings = set.finish(|i| &rules[i], &keyhound_findings::NhiContext::default());
    Fixture {
        rules,
        findings,
        secrets: vec![token, webhook, connection, password],
        summary: ScanSummary {
            files_scanned: 12,
            bytes_scanned: 1_234_567,
            skipped: [(SkipReason::TooLarge, 1), (SkipReason::Binary, 1)]
                .into_iter()
                .collect(),
            errors: vec![
                "vendor/blob.bin: cannot read: Permission denied (os error 13)".to_string(),
            ],
            duration: Duration::from_millis(8),
        },
    }
}

/// Renders `findings` of `rules` in `format`, returning the output as text.
pub fn render_findings(
    rules: &[Rule],
    findings: &[Finding],
    summary: &ScanSummary,
    format: Format,
    show_secrets: bool,
    color: bool,
) -> String {
    let rule_of = |i: usize| &rules[i];
    let report = Report {
        findings,
        rule: &rule_of,
        summary,
        show_secrets,
        tool_version: "0.1.0",
        baseline_state: None,
        suppressed: &[],
        sarif: SarifRun::default(),
    };
    let mut out = Vec::new();
    keyhound_report::write(format, &report, &mut out, color)
        .unwrap_or_else(|e| panic!("writing {format} failed: {e}"));
    String::from_utf8(out).unwrap_or_else(|e| panic!("{format} output is not UTF-8: {e}"))
}

/// Renders the fixture in `format`.
pub fn render(fixture: &Fixture, format: Format, show_secrets: bool, color: bool) -> String {
    render_findings(
        &fixture.rules,
        &fixture.findings,
        &fixture.summary,
        format,
        show_secrets,
        color,
    )
}
