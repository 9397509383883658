//! Rule schema, loading and static validation for keyhound.
//!
//! A rule is data: an id that never changes, the literals that must occur in any true match
//! (`keywords`), a regular expression with an optional `secret` capture group, offline validators,
//! and the metadata that enrichment and the OWASP NHI mapping need (kind, privilege, lifetime,
//! rotation). Every rule carries examples that must match and negative examples that must not;
//! this crate checks what can be checked without a matcher, and `keyhound-engine` runs the
//! examples through the real engine.
//!
//! The built-in rules live in the workspace's `rules/` directory, one TOML file per provider
//! family, and are embedded in the binary at build time.

pub mod pattern;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What sort of credential a rule finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A static API key.
    ApiKey,
    /// A bearer or access token.
    ApiToken,
    /// Private key material (PEM, OpenSSH, PGP, PuTTY, service-account JSON).
    PrivateKey,
    /// A password for a service account, database or registry.
    Password,
    /// A webhook URL that embeds its own secret.
    Webhook,
    /// A connection string or URL with credentials.
    ConnectionString,
    /// An OAuth client secret.
    OauthSecret,
    /// A JSON Web Token.
    Jwt,
}

impl Kind {
    /// The kebab-case name used in rule files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ApiKey => "api-key",
            Kind::ApiToken => "api-token",
            Kind::PrivateKey => "private-key",
            Kind::Password => "password",
            Kind::Webhook => "webhook",
            Kind::ConnectionString => "connection-string",
            Kind::OauthSecret => "oauth-secret",
            Kind::Jwt => "jwt",
        }
    }
}

/// How sure a match of the rule is to be a real secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Generic shapes; expect some false positives.
    Low,
    /// Provider-specific shape without a checksum or distinctive prefix.
    Medium,
    /// Distinctive prefix, checksum or structure.
    High,
}

/// How bad an exposure of this credential is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Little direct impact.
    Low,
    /// Limited access.
    Medium,
    /// Access to data or infrastructure.
    High,
    /// Account-wide or production access.
    Critical,
}

impl Severity {
    /// The lowercase name used in rule files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How much a credential of this kind can do (feeds OWASP NHI5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Privilege {
    /// Account-wide keys, classic PATs, admin keys.
    Broad,
    /// Keys limited to a resource or scope.
    Scoped,
    /// Depends on how it was issued.
    Unknown,
}

/// How long a credential of this kind lives (feeds OWASP NHI7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lifetime {
    /// Valid until someone revokes it.
    Static,
    /// Has an expiry set at issue time.
    Expiring,
    /// Minutes to hours.
    Ephemeral,
}

/// Offline checks a candidate secret must pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validator {
    /// The last 36 characters are 30 base62 characters followed by their CRC32 in 6 base62
    /// digits (GitHub `gh?_` tokens, npm `npm_` tokens).
    Crc32Base62,
    /// Three base64url parts whose header decodes to a JSON object with `alg`, and whose payload
    /// decodes to a JSON object.
    Jwt,
    /// The secret is valid standard base64 (padding allowed).
    Base64,
    /// The secret decodes as base64 to a JSON object with `"type": "service_account"` and a
    /// `private_key` (Google service-account key files embedded as base64).
    GcpServiceAccountBase64,
    /// The secret holds an ASCII digit (generic tokens: words and identifiers have none).
    HasDigit,
    /// The secret holds a digit or one of `!#%&*+=?@^~$` (generic passwords).
    HasDigitOrSymbol,
    /// The secret is a Bech32 string (BIP-173) whose checksum holds: age identities
    /// (`AGE-SECRET-KEY-1...`), Nostr `nsec1...` keys.
    Bech32,
}

impl Validator {
    /// The kebab-case name used in rule files.
    pub fn as_str(self) -> &'static str {
        match self {
            Validator::Crc32Base62 => "crc32-base62",
            Validator::Jwt => "jwt",
            Validator::Base64 => "base64",
            Validator::GcpServiceAccountBase64 => "gcp-service-account-base64",
            Validator::HasDigit => "has-digit",
            Validator::HasDigitOrSymbol => "has-digit-or-symbol",
            Validator::Bech32 => "bech32",
        }
    }
}

/// Where and how often to rotate a credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// The provider's documentation for revoking and re-issuing this credential.
    pub url: String,
    /// The longest a credential of this kind should live before rotation.
    pub max_age_days: u32,
}

/// One detection rule, as written in a rules file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable identifier (`provider.kind[.variant]`, lowercase); fingerprints and baselines use it.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// The provider that issues the credential.
    pub provider: String,
    /// A longer description; reports fall back to the name.
    #[serde(default)]
    pub description: Option<String>,
    /// What sort of credential it is.
    pub kind: Kind,
    /// Case-sensitive literals of which at least one occurs in every true match.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Why the rule has no keyword (the regex then runs over whole inputs).
    #[serde(default)]
    pub no_keyword_reason: Option<String>,
    /// The regular expression; a `secret` named group, if present, delimits the secret.
    pub pattern: String,
    /// Offline validators the secret must pass.
    #[serde(default)]
    pub validate: Vec<Validator>,
    /// Minimum Shannon entropy of the secret, in bits per byte.
    #[serde(default)]
    pub min_entropy: Option<f64>,
    /// Extra case-insensitive words that mark a secret as a placeholder.
    #[serde(default)]
    pub stopwords: Vec<String>,
    /// A regex for what, on the secret's line, may not come right before it: names that hold no
    /// credential (`NextToken`, `csrf_token`), checked only for matches, so it costs nothing
    /// per byte scanned.
    #[serde(default)]
    pub not_after: Option<String>,
    /// Whether the shared placeholder filter applies (`EXAMPLE`, `xxxx`, `${...}`, `<your-key>`).
    #[serde(default = "default_true")]
    pub filter_placeholders: bool,
    /// How sure a match is.
    pub confidence: Confidence,
    /// How bad an exposure is.
    pub severity: Severity,
    /// How much the credential can do.
    pub privilege: Privilege,
    /// How long the credential lives.
    pub lifetime: Lifetime,
    /// A deprecated token format (feeds NHI4).
    #[serde(default)]
    pub deprecated: bool,
    /// Rotation runbook and maximum age.
    pub rotation: Rotation,
    /// Inputs that must produce a finding of this rule.
    #[serde(default)]
    pub examples: Vec<String>,
    /// Inputs that must not produce a finding of this rule.
    #[serde(default)]
    pub negative_examples: Vec<String>,
}

fn default_true() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

/// A problem with a rules file or a rule in it.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The file could not be read.
    #[error("{path}: cannot read rules file: {source}")]
    Read {
        /// The file.
        path: String,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not follow the rule schema.
    #[error("{path}: invalid rules file: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A rule breaks a schema constraint.
    #[error("{path}: rule `{rule_id}`: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The rule.
        rule_id: String,
        /// What is wrong.
        message: String,
    },
}

/// A rule together with the file it came from.
#[derive(Debug, Clone)]
pub struct LoadedRule {
    /// The rule.
    pub rule: Rule,
    /// Where it was defined (`builtin:aws.toml` for embedded rules).
    pub origin: String,
}

/// An ordered collection of rules with unique ids.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<LoadedRule>,
}

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));
}

/// Parses a rules file's TOML text named `origin`.
fn parse_toml(origin: &str, text: &str) -> Result<RuleFile, Vec<RuleError>> {
    toml::from_str(text).map_err(|e| {
        vec![RuleError::Parse {
            path: origin.to_string(),
            message: e.to_string().trim_end().to_string(),
        }]
    })
}

/// Parses a built-in rules file from `json`, its TOML text converted at build time (see
/// build.rs): JSON loads in about a third of the time. Where the rules break the schema, the
/// TOML text is parsed instead, so that the error names its line, not a place in the JSON.
fn parse_converted(origin: &str, toml_text: &str, json: &str) -> Result<RuleFile, Vec<RuleError>> {
    serde_json::from_str(json).or_else(|json_error| {
        parse_toml(origin, toml_text)?;
        // The TOML parses where its JSON does not: a bug of the conversion, not of the file.
        Err(vec![RuleError::Parse {
            path: origin.to_string(),
            message: format!("its conversion to JSON does not load: {json_error}"),
        }])
    })
}

impl RuleSet {
    /// An empty rule set.
    pub fn new() -> Self {
        Self::default()
    }

    /// The rules embedded in the binary.
    pub fn builtin() -> Result<Self, Vec<RuleError>> {
        let mut set = Self::new();
        let mut errors = Vec::new();
        for (name, toml_text, json) in builtin::FILES {
            let origin = format!("builtin:{name}");
            // Their patterns are held to the limits by this crate's tests, and compile lazily.
            let added = parse_converted(&origin, toml_text, json)
                .and_then(|file| set.add_rules(&origin, file, false));
            if let Err(e) = added {
                errors.extend(e);
            }
        }
        if errors.is_empty() {
            Ok(set)
        } else {
            Err(errors)
        }
    }

    /// Parses a rules file and adds its rules; on error nothing is added.
    pub fn add_file(&mut self, path: &Path) -> Result<(), Vec<RuleError>> {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| {
            vec![RuleError::Read {
                path: display.clone(),
                source,
            }]
        })?;
        self.add_toml(&display, &text)
    }

    /// Parses rules from TOML text named `origin` and adds them; on error nothing is added.
    /// Every pattern is compiled, within the limits of [`pattern`].
    pub fn add_toml(&mut self, origin: &str, text: &str) -> Result<(), Vec<RuleError>> {
        let file = parse_toml(origin, text)?;
        self.add_rules(origin, file, true)
    }

    /// Checks the rules of a parsed file named `origin` (their patterns too if
    /// `check_patterns`) and adds them; on error nothing is added.
    fn add_rules(
        &mut self,
        origin: &str,
        file: RuleFile,
        check_patterns: bool,
    ) -> Result<(), Vec<RuleError>> {
        let mut seen: HashMap<&str, &str> = self
            .rules
            .iter()
            .map(|r| (r.rule.id.as_str(), r.origin.as_str()))
            .collect();
        let mut errors = Vec::new();
        for rule in &file.rule {
            let patterns = if check_patterns {
                pattern_problems(rule)
            } else {
                Vec::new()
            };
            for message in schema_problems(rule).into_iter().chain(patterns) {
                errors.push(RuleError::Invalid {
                    path: origin.to_string(),
                    rule_id: rule.id.clone(),
                    message,
                });
            }
            if let Some(first) = seen.insert(&rule.id, origin) {
                errors.push(RuleError::Invalid {
                    path: origin.to_string(),
                    rule_id: rule.id.clone(),
                    message: format!("duplicate id (first defined in {first})"),
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        self.rules
            .extend(file.rule.into_iter().map(|rule| LoadedRule {
                rule,
                origin: origin.to_string(),
            }));
        Ok(())
    }

    /// Keeps only the rules for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&Rule) -> bool) {
        self.rules.retain(|r| keep(&r.rule));
    }

    /// The rules, in load order.
    pub fn rules(&self) -> &[LoadedRule] {
        &self.rules
    }

    /// Every keyword of every rule, sorted, each once.
    pub fn keywords(&self) -> Vec<&str> {
        let mut keywords: Vec<&str> = self
            .rules
            .iter()
            .flat_map(|r| r.rule.keywords.iter().map(String::as_str))
            .collect();
        keywords.sort_unstable();
        keywords.dedup();
        keywords
    }

    /// The number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Schema constraints that need no matcher: id syntax, keywords or a waiver, examples present,
/// sane numbers.
pub fn schema_problems(rule: &Rule) -> Vec<String> {
    let mut problems = Vec::new();
    let id_ok = !rule.id.is_empty()
        && rule.id.split('.').count() >= 2
        && rule.id.split('.').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if !id_ok {
        problems.push(
            "id must be dot-separated lowercase words of [a-z0-9-], at least two (`provider.kind`)"
                .to_string(),
        );
    }
    if rule.name.trim().is_empty() {
        problems.push("name is empty".to_string());
    }
    if rule.provider.trim().is_empty() {
        problems.push("provider is empty".to_string());
    }
    match (rule.keywords.is_empty(), &rule.no_keyword_reason) {
        (true, None) => problems.push(
            "no keywords: give at least one literal every match contains, or an explicit `no_keyword_reason`"
                .to_string(),
        ),
        (false, Some(_)) => {
            problems.push("has both keywords and a `no_keyword_reason`".to_string())
        }
        _ => {}
    }
    for keyword in &rule.keywords {
        if keyword.len() < 3 {
            problems.push(format!(
                "keyword {keyword:?} is shorter than 3 bytes; it would flood the verifier"
            ));
        }
    }
    if rule.examples.is_empty() {
        problems.push("no examples".to_string());
    }
    if rule.negative_examples.is_empty() {
        problems.push("no negative examples".to_string());
    }
    if let Some(e) = rule.min_entropy
        && !(0.0..=8.0).contains(&e)
    {
        problems.push(format!("min_entropy {e} is outside 0..=8 bits per byte"));
    }
    if !rule.rotation.url.starts_with("https://") {
        problems.push("rotation.url must be an https:// URL".to_string());
    }
    if rule.rotation.max_age_days == 0 {
        problems.push("rotation.max_age_days must be at least 1".to_string());
    }
    problems
}

/// The rule's `pattern` and `not_after` that do not compile within the limits of [`pattern`].
pub fn pattern_problems(rule: &Rule) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = pattern::check(&rule.pattern) {
        problems.push(format!("pattern rejected: {e}"));
    }
    if let Some(context) = &rule.not_after
        && let Err(e) = pattern::check(&pattern::not_after_pattern(context))
    {
        problems.push(format!("not_after rejected: {e}"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[rule]]
id = "acme.api-key"
name = "Acme API key"
provider = "Acme"
kind = "api-key"
keywords = ["acme_"]
pattern = '''acme_(?P<secret>[a-z0-9]{32})'''
confidence = "high"
severity = "high"
privilege = "scoped"
lifetime = "static"
rotation = { url = "https://acme.invalid/keys", max_age_days = 90 }
examples = ["acme_0123456789abcdef0123456789abcdef"]
negative_examples = ["acme_short"]
"#;

    #[test]
    fn builtin_rules_load() {
        let set = RuleSet::builtin().unwrap_or_else(|e| panic!("{e:?}"));
        assert!(!set.is_empty());
    }

    /// The JSON that build.rs embeds loads exactly the rules its TOML holds.
    #[test]
    fn builtin_json_holds_the_rules_of_its_toml() {
        for (name, toml_text, json) in builtin::FILES {
            let from_json: RuleFile = serde_json::from_str(json).expect("json loads");
            let from_toml = parse_toml(name, toml_text).expect("toml loads");
            assert!(!from_toml.rule.is_empty(), "{name}");
            assert_eq!(from_json.rule, from_toml.rule, "{name}");
        }
    }

    /// A built-in file that breaks the schema is reported at its TOML line, as build.rs converts
    /// it (TOML table to JSON).
    #[test]
    fn a_schema_error_in_a_converted_file_names_its_toml_line() {
        let broken = GOOD.replace("pattern =", "patern =");
        let table: toml::Table = toml::from_str(&broken).expect("still TOML");
        let json = serde_json::to_string(&table).expect("json");
        let errors = parse_converted("builtin:broken.toml", &broken, &json)
            .err()
            .expect("refused");
        let message = errors[0].to_string();
        assert!(
            message.starts_with("builtin:broken.toml: invalid rules file:"),
            "{message}"
        );
        assert!(
            message.contains("patern") && message.contains("line 8"),
            "{message}"
        );
    }

    #[test]
    fn parses_a_valid_rule() {
        let mut set = RuleSet::new();
        set.add_toml("good.toml", GOOD).expect("valid");
        assert_eq!(set.len(), 1);
        let rule = &set.rules()[0].rule;
        assert_eq!(rule.kind, Kind::ApiKey);
        assert!(rule.filter_placeholders);
        assert_eq!(rule.rotation.max_age_days, 90);
    }

    #[test]
    fn rejects_duplicate_ids_across_files() {
        let mut set = RuleSet::new();
        set.add_toml("a.toml", GOOD).expect("valid");
        let errors = set.add_toml("b.toml", GOOD).expect_err("duplicate");
        let text = errors[0].to_string();
        assert!(
            text.contains("b.toml") && text.contains("duplicate id"),
            "{text}"
        );
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn rejects_unknown_fields_with_file_name() {
        let mut set = RuleSet::new();
        let bad = GOOD.replace("confidence", "confidance");
        let errors = set.add_toml("bad.toml", &bad).expect_err("unknown field");
        let text = errors[0].to_string();
        assert!(text.starts_with("bad.toml: invalid rules file"), "{text}");
    }

    #[test]
    fn requires_keyword_or_waiver() {
        let mut set = RuleSet::new();
        let bad = GOOD.replace(r#"keywords = ["acme_"]"#, "");
        let errors = set.add_toml("k.toml", &bad).expect_err("no keyword");
        assert!(errors[0].to_string().contains("no_keyword_reason"));
        let waived = GOOD.replace(
            r#"keywords = ["acme_"]"#,
            r#"no_keyword_reason = "shape only""#,
        );
        set.add_toml("k.toml", &waived).expect("waiver accepted");
    }

    #[test]
    fn rejects_bad_ids_and_short_keywords() {
        let bad = GOOD
            .replace("acme.api-key", "Acme Key")
            .replace(r#"["acme_"]"#, r#"["ac"]"#);
        let problems = schema_problems(&toml::from_str::<RuleFile>(&bad).unwrap().rule[0]);
        assert!(problems.iter().any(|p| p.starts_with("id must be")));
        assert!(problems.iter().any(|p| p.contains("shorter than 3 bytes")));
    }
    #[test]
    fn builtin_patterns_compile_within_the_limits() {
        let set = RuleSet::builtin().unwrap_or_else(|e| panic!("{e:?}"));
        for loaded in set.rules() {
            assert_eq!(
                pattern_problems(&loaded.rule),
                Vec::<String>::new(),
                "{}: {}",
                loaded.origin,
                loaded.rule.id
            );
        }
    }

    #[test]
    fn patterns_that_would_blow_up_are_rejected_naming_rule_and_file() {
        for blowup in ["(a|b|c){1000}{1000}", "[A-Za-z0-9]{500000}"] {
            let mut set = RuleSet::new();
            let bad = GOOD.replace("acme_(?P<secret>[a-z0-9]{32})", blowup);
            assert!(bad.contains(blowup));
            let start = std::time::Instant::now();
            let errors = set.add_toml("rules/big.toml", &bad).expect_err(blowup);
            let text = errors[0].to_string();
            assert!(
                text.starts_with("rules/big.toml: rule `acme.api-key`: pattern rejected")
                    && text.contains("exceeded"),
                "{text}"
            );
            assert!(set.is_empty());
            // The compiler gives up at the limit instead of building the whole thing.
            assert!(
                start.elapsed() < std::time::Duration::from_secs(5),
                "{blowup}"
            );
        }
    }

    #[test]
    fn patterns_and_contexts_that_do_not_parse_are_rejected() {
        let mut set = RuleSet::new();
        let bad = GOOD.replace("acme_(?P<secret>", "acme_((?P<secret>");
        let errors = set.add_toml("p.toml", &bad).expect_err("unclosed group");
        assert!(
            errors[0]
                .to_string()
                .starts_with("p.toml: rule `acme.api-key`: pattern rejected"),
            "{}",
            errors[0]
        );
        let bad = GOOD.replace("confidence =", "not_after = '''[a-'''\nconfidence =");
        let errors = set.add_toml("n.toml", &bad).expect_err("bad class");
        assert!(
            errors[0].to_string().contains("not_after rejected"),
            "{}",
            errors[0]
        );
        assert!(set.is_empty());
    }
}
