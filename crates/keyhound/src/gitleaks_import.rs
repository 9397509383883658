//! `keyhound rules import-gitleaks`: a gitleaks configuration's custom rules and allowlists in
//! keyhound's formats.
//!
//! Carried over:
//! - rules: `regex` (the `secretGroup`-th group, or the first group when unset, becomes the
//!   `secret` group), `keywords` (gitleaks matches them in any case: each is written as given,
//!   lower-, upper- and capitalised), `entropy` (`min_entropy`), `description` (name), and the
//!   rule's allowlist `stopwords` (`stopwords`); keyhound's placeholder filter is turned off, as
//!   gitleaks has none. Ids become `gitleaks.<id>`.
//! - rule `path` -> the configuration's `[[rule_paths]]`.
//! - allowlists (global `[allowlist]`/`[[allowlists]]` with `targetRules`, and per rule): `regexes`
//!   on the secret -> `[[allow]] value`, `paths` -> `[[allow]] path` (both in one entry under
//!   `condition = "AND"`), global `stopwords` -> `[[allow]] value = "(?i)word"`.
//!
//! Not carried (each named on stderr): rules with no `regex` (path-only rules), allowlist
//! `commits`, `regexTarget = "match"|"line"`, AND conditions over stopwords, `[extend]` (gitleaks'
//! default rules: keyhound's built-in rules cover those providers), and anything unknown.
//! Every imported rule gets an example made from its regex, checked with the real engine.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use keyhound_engine::{Engine, EngineOptions};
use keyhound_rules::{Confidence, Kind, Lifetime, Privilege, Rotation, Rule, RuleSet, Severity};
use regex_syntax::hir::{Class, Hir, HirKind};
use serde::{Deserialize, Serialize};

/// The runbook every imported rule points to until its owner writes one: OWASP's page on the
/// risk every finding carries (NHI2, secret leakage), which says how to respond.
const ROTATION_URL: &str =
    "https://owasp.org/www-project-non-human-identities-top-10/2025/2-secret-leakage/";

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GitleaksConfig {
    #[serde(default)]
    extend: Option<toml::Value>,
    #[serde(default)]
    rules: Vec<GitleaksRule>,
    #[serde(default)]
    allowlist: Option<Allowlist>,
    #[serde(default)]
    allowlists: Vec<Allowlist>,
    #[serde(flatten)]
    other: toml::Table,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GitleaksRule {
    id: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    regex: Option<String>,
    #[serde(default)]
    secret_group: Option<usize>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    allowlist: Option<Allowlist>,
    #[serde(default)]
    allowlists: Vec<Allowlist>,
    #[serde(flatten)]
    other: toml::Table,
}

/// Keys that only describe, so nothing is lost by leaving them out.
const DESCRIPTIVE_KEYS: [&str; 3] = ["title", "description", "tags"];

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Allowlist {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    regex_target: Option<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    commits: Vec<String>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    target_rules: Vec<String>,
    #[serde(flatten)]
    other: toml::Table,
}

#[derive(Serialize)]
struct RuleFileOut<'a> {
    rule: &'a [Rule],
}

/// What an import produced.
#[derive(Debug, Default)]
struct Imported {
    rules: Vec<Rule>,
    /// `.keyhound.toml` text: `[[allow]]` and `[[rule_paths]]` entries.
    config: String,
    /// Constructs not carried over, one sentence each.
    dropped: Vec<String>,
}

/// Runs the import of `file`, writing rules to `output` and the configuration entries to
/// `config_out` (stdout when `None`).
pub fn run(file: &Path, output: &Path, config_out: Option<&Path>) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("{}: cannot read gitleaks config", file.display()))?;
    let imported =
        import(&text).with_context(|| format!("{}: invalid gitleaks config", file.display()))?;
    let origin = output.display().to_string();
    let mut rules_text = format!(
        "# Imported from {} by `keyhound rules import-gitleaks`.\n\
         # Review each rule's kind, severity, rotation runbook and examples.\n\n",
        file.display()
    );
    rules_text.push_str(
        &toml::to_string(&RuleFileOut {
            rule: &imported.rules,
        })
        .context("cannot write the rules as TOML")?,
    );
    // What is written must load and hold: schema, patterns, examples.
    let mut set = RuleSet::new();
    set.add_toml(&origin, &rules_text).map_err(|errors| {
        let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        anyhow::anyhow!("imported rules are invalid:\n  {}", lines.join("\n  "))
    })?;
    let mut review = Vec::new();
    if !set.is_empty() {
        let engine = Engine::new(&set, EngineOptions::default())?;
        for failure in engine.check_examples() {
            review.push(format!(
                "rule `{}`: the example made from its regex does not hold ({}); write \
                 `examples` by hand before `keyhound rules check`",
                failure.rule_id, failure.message
            ));
        }
    }
    std::fs::write(output, &rules_text)
        .with_context(|| format!("{}: cannot write", output.display()))?;
    match config_out {
        Some(path) => std::fs::write(path, &imported.config)
            .with_context(|| format!("{}: cannot write", path.display()))?,
        None if !imported.config.is_empty() => {
            println!("# Add to .keyhound.toml:\n{}", imported.config);
        }
        None => {}
    }
    eprintln!(
        "keyhound: imported {} rule(s) into {}{}",
        imported.rules.len(),
        output.display(),
        config_out.map_or_else(String::new, |p| format!(
            ", allowlists into {}",
            p.display()
        ))
    );
    for message in &imported.dropped {
        eprintln!("keyhound: not carried over: {message}");
    }
    for message in &review {
        eprintln!("keyhound: review: {message}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Converts a gitleaks configuration's text.
fn import(text: &str) -> anyhow::Result<Imported> {
    let config: GitleaksConfig = toml::from_str(text).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out = Imported::default();
    if config.extend.is_some() {
        out.dropped.push(
            "[extend]: gitleaks' default rules are not imported (keyhound's built-in rules \
             cover those providers)"
                .into(),
        );
    }
    for key in config
        .other
        .keys()
        .filter(|k| !DESCRIPTIVE_KEYS.contains(&k.as_str()))
    {
        out.dropped.push(format!("top-level key `{key}`"));
    }
    let global = config.allowlist.into_iter().chain(config.allowlists);
    for (i, list) in global.enumerate() {
        let targets: Vec<Option<String>> = if list.target_rules.is_empty() {
            vec![None]
        } else {
            list.target_rules
                .iter()
                .map(|id| Some(keyhound_id(id)))
                .collect()
        };
        for target in targets {
            allowlist(
                &list,
                &format!("allowlist {}", i + 1),
                target.as_deref(),
                None,
                &mut out,
            );
        }
    }
    for rule in config.rules {
        convert_rule(rule, &mut out);
    }
    Ok(out)
}

/// The keyhound id of a gitleaks rule id.
fn keyhound_id(id: &str) -> String {
    let mut part: String = id
        .chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    while part.contains("--") {
        part = part.replace("--", "-");
    }
    let part = part.trim_matches('-');
    format!("gitleaks.{}", if part.is_empty() { "rule" } else { part })
}

fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// Writes `list` as `[[allow]]` entries (for `rule` when set); rule-level stopwords go to
/// `stopwords` instead when `rule_stopwords` is given.
fn allowlist(
    list: &Allowlist,
    what: &str,
    rule: Option<&str>,
    rule_stopwords: Option<&mut Vec<String>>,
    out: &mut Imported,
) {
    for key in list.other.keys() {
        out.dropped.push(format!("{what}: key `{key}`"));
    }
    if !list.commits.is_empty() {
        out.dropped.push(format!(
            "{what}: `commits` (keyhound allows findings by fingerprint, value or path)"
        ));
    }
    let target = list.regex_target.as_deref().unwrap_or("secret");
    let regexes: &[String] = if target == "secret" {
        &list.regexes
    } else {
        if !list.regexes.is_empty() {
            out.dropped.push(format!(
                "{what}: `regexes` with regexTarget = \"{target}\" (keyhound's `value` is \
                 searched in the secret only)"
            ));
        }
        &[]
    };
    let reason = list
        .description
        .clone()
        .filter(|d| !d.trim().is_empty())
        .unwrap_or_else(|| format!("imported from gitleaks ({what})"));
    let and = list
        .condition
        .as_deref()
        .is_some_and(|c| c.eq_ignore_ascii_case("and"));
    let mut entry = |value: Option<&str>, path: Option<&str>| {
        let _ = writeln!(out.config, "[[allow]]");
        if let Some(value) = value {
            let _ = writeln!(out.config, "value = {}", toml_string(value));
        }
        if let Some(path) = path {
            let _ = writeln!(out.config, "path = {}", toml_string(path));
        }
        if let Some(rule) = rule {
            let _ = writeln!(out.config, "rule = {}", toml_string(rule));
        }
        let _ = writeln!(out.config, "reason = {}\n", toml_string(&reason));
    };
    if and && !regexes.is_empty() && !list.paths.is_empty() {
        for value in regexes {
            for path in &list.paths {
                entry(Some(value), Some(path));
            }
        }
    } else {
        for value in regexes {
            entry(Some(value), None);
        }
        for path in &list.paths {
            entry(None, Some(path));
        }
    }
    if list.stopwords.is_empty() {
        return;
    }
    if and && (!regexes.is_empty() || !list.paths.is_empty()) {
        out.dropped.push(format!(
            "{what}: `stopwords` under condition = \"AND\" with regexes or paths"
        ));
        return;
    }
    match rule_stopwords {
        Some(stopwords) => stopwords.extend(list.stopwords.iter().cloned()),
        None => {
            for word in &list.stopwords {
                entry(Some(&format!("(?i){}", regex::escape(word))), None);
            }
        }
    }
}

fn convert_rule(rule: GitleaksRule, out: &mut Imported) {
    let id = keyhound_id(&rule.id);
    let what = format!("rule `{}`", rule.id);
    for key in rule
        .other
        .keys()
        .filter(|k| !DESCRIPTIVE_KEYS.contains(&k.as_str()))
    {
        out.dropped.push(format!("{what}: key `{key}`"));
    }
    let Some(regex) = rule.regex else {
        out.dropped.push(format!(
            "{what}: no `regex` (a path-only rule reports files by name; keyhound finds secrets \
             in content)"
        ));
        return;
    };
    let pattern = match secret_group(&regex, rule.secret_group) {
        Ok(pattern) => pattern,
        Err(message) => {
            out.dropped.push(format!("{what}: {message}"));
            return;
        }
    };
    if let Some(path) = &rule.path {
        let _ = writeln!(
            out.config,
            "[[rule_paths]]\nrule = {}\npath = {}\n",
            toml_string(&id),
            toml_string(path)
        );
    }
    let mut stopwords = Vec::new();
    let lists = rule.allowlist.iter().chain(&rule.allowlists);
    for (i, list) in lists.enumerate() {
        allowlist(
            list,
            &format!("{what} allowlist {}", i + 1),
            Some(&id),
            Some(&mut stopwords),
            out,
        );
    }
    let mut keywords: Vec<String> = Vec::new();
    for keyword in &rule.keywords {
        if keyword.len() < 3 {
            out.dropped.push(format!(
                "{what}: keyword {keyword:?} (shorter than 3 bytes; the rule runs without it)"
            ));
            continue;
        }
        let mut capitalised = keyword.to_ascii_lowercase();
        if let Some(first) = capitalised.get_mut(..1) {
            first.make_ascii_uppercase();
        }
        for variant in [
            keyword.clone(),
            keyword.to_ascii_lowercase(),
            keyword.to_ascii_uppercase(),
            capitalised,
        ] {
            if !keywords.contains(&variant) {
                keywords.push(variant);
            }
        }
    }
    let keyword_count = keywords.len();
    let (example, negative) = examples(&pattern, keywords.first().map(String::as_str));
    let min_entropy = rule.entropy.filter(|e| *e > 0.0);
    out.rules.push(Rule {
        id,
        name: rule
            .description
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| rule.id.clone()),
        provider: "custom (gitleaks import)".into(),
        description: rule.description,
        kind: Kind::ApiKey,
        keywords,
        no_keyword_reason: (keyword_count == 0)
            .then(|| format!("imported gitleaks rule `{}` has no usable keyword", rule.id)),
        pattern,
        validate: Vec::new(),
        min_entropy,
        stopwords,
        not_after: None,
        filter_placeholders: false,
        confidence: Confidence::Medium,
        severity: Severity::High,
        privilege: Privilege::Unknown,
        lifetime: Lifetime::Static,
        deprecated: false,
        rotation: Rotation {
            url: ROTATION_URL.into(),
            max_age_days: 90,
        },
        examples: vec![example],
        negative_examples: vec![negative],
    });
}

/// `regex` with its secret group named `secret`: group `group` (gitleaks' `secretGroup`), or
/// the first group when unset (or 0) and there is one, as gitleaks does.
fn secret_group(regex: &str, group: Option<usize>) -> Result<String, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(regex)
        .map_err(|e| format!("regex does not compile: {e}"))?;
    let groups = hir.properties().explicit_captures_len();
    let wanted = match group {
        Some(n) if n > 0 => {
            if n > groups {
                return Err(format!(
                    "secretGroup {n}, but the regex has {groups} group(s)"
                ));
            }
            n
        }
        _ if groups == 0 => return Ok(regex.to_string()),
        _ => 1,
    };
    // Find the opening parenthesis of the wanted capture group in the source text.
    let bytes = regex.as_bytes();
    let mut count = 0;
    let mut i = 0;
    let mut in_class = false;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 1,
            b'[' if !in_class => {
                in_class = true;
                // A `]` right after `[` or `[^` is literal.
                if bytes.get(i + 1) == Some(&b'^') {
                    i += 1;
                }
                if bytes.get(i + 1) == Some(&b']') {
                    i += 1;
                }
            }
            b'[' if bytes.get(i + 1) == Some(&b':') => {
                // A POSIX class such as [:alpha:] inside a class.
                if let Some(end) = regex[i..].find(":]") {
                    i += end + 1;
                }
            }
            b']' if in_class => in_class = false,
            b'(' if !in_class => {
                let rest = &regex[i + 1..];
                let named = rest.starts_with("?P<")
                    || (rest.starts_with("?<")
                        && !rest.starts_with("?<=")
                        && !rest.starts_with("?<!"));
                if named || !rest.starts_with('?') {
                    count += 1;
                    if count == wanted {
                        let mut out = regex[..=i].to_string();
                        if named {
                            let close = rest.find('>').ok_or("unterminated group name")?;
                            out.push_str("?P<secret>");
                            out.push_str(&rest[close + 1..]);
                        } else {
                            out.push_str("?P<secret>");
                            out.push_str(rest);
                        }
                        return Ok(out);
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    Err(format!("cannot find group {wanted} in the regex"))
}

/// An input the pattern matches (made from its syntax: varied characters, so entropy
/// thresholds hold) and one it does not.
fn examples(pattern: &str, keyword: Option<&str>) -> (String, String) {
    let generated = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map(|hir| {
            let mut text = Vec::new();
            let mut counter = 0;
            generate(&hir, &mut text, &mut counter);
            String::from_utf8_lossy(&text).into_owned()
        })
        .unwrap_or_default();
    let example = match keyword {
        Some(k)
            if !generated.contains(k)
                && !generated
                    .to_ascii_lowercase()
                    .contains(&k.to_ascii_lowercase()) =>
        {
            format!("{k} = {generated}")
        }
        _ => generated,
    };
    (example, "keyhound import: no secret here".into())
}

/// Appends a string `hir` matches to `out`.
fn generate(hir: &Hir, out: &mut Vec<u8>, counter: &mut usize) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(literal) => out.extend_from_slice(&literal.0),
        HirKind::Class(class) => {
            let mut chars: Vec<u8> = Vec::new();
            match class {
                Class::Bytes(bytes) => {
                    for range in bytes.iter() {
                        chars.extend(range.start()..=range.end());
                    }
                }
                Class::Unicode(unicode) => {
                    for range in unicode.iter() {
                        for c in range.start()..=range.end() {
                            if c.is_ascii() {
                                chars.push(c as u8);
                            }
                        }
                    }
                }
            }
            let alnum: Vec<u8> = chars
                .iter()
                .copied()
                .filter(u8::is_ascii_alphanumeric)
                .collect();
            let printable: Vec<u8> = chars.iter().copied().filter(u8::is_ascii_graphic).collect();
            let pool = if alnum.len() == 2 && alnum[0].eq_ignore_ascii_case(&alnum[1]) {
                // A letter in either case, from `(?i)`: as keywords are written, lower case.
                vec![alnum[0].to_ascii_lowercase()]
            } else if !alnum.is_empty() {
                alnum
            } else if !printable.is_empty() {
                printable
            } else if chars.contains(&b' ') {
                vec![b' ']
            } else {
                chars
            };
            if !pool.is_empty() {
                // Stride through the pool so consecutive picks differ.
                out.push(pool[(*counter * 7 + *counter / pool.len()) % pool.len()]);
                *counter += 1;
            }
        }
        HirKind::Repetition(rep) => {
            // Optional parts are left out; open-ended ones repeat 16 times, enough for
            // entropy thresholds; bounded ones repeat their maximum.
            let times = match (rep.min, rep.max) {
                (0, _) => 0,
                (min, None) => min.max(16),
                (min, Some(max)) => min.max(max.min(64)),
            };
            for _ in 0..times {
                generate(&rep.sub, out, counter);
            }
        }
        HirKind::Capture(capture) => generate(&capture.sub, out, counter),
        HirKind::Concat(parts) => {
            for part in parts {
                generate(part, out, counter);
            }
        }
        HirKind::Alternation(branches) => {
            if let Some(first) = branches.first() {
                generate(first, out, counter);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_groups_are_named() {
        assert_eq!(
            secret_group("a(b)(c)", Some(2)).unwrap(),
            "a(b)(?P<secret>c)"
        );
        assert_eq!(
            secret_group("a(?:x)(b)", None).unwrap(),
            "a(?:x)(?P<secret>b)"
        );
        assert_eq!(
            secret_group(r"\((b)[(](c)", Some(2)).unwrap(),
            r"\((b)[(](?P<secret>c)"
        );
        assert_eq!(
            secret_group("(?i)k(?P<v>b)", Some(1)).unwrap(),
            "(?i)k(?P<secret>b)"
        );
        assert_eq!(secret_group("abc", None).unwrap(), "abc");
        assert!(secret_group("a(b)", Some(3)).is_err());
        assert!(secret_group("a(b", None).is_err());
    }

    #[test]
    fn ids_become_keyhound_ids() {
        assert_eq!(keyhound_id("Acme_API key"), "gitleaks.acme-api-key");
        assert_eq!(keyhound_id("--"), "gitleaks.rule");
    }

    #[test]
    fn what_cannot_be_carried_is_named() {
        let imported = import(
            r#"
title = "t"
[extend]
useDefault = true
[[rules]]
id = "files"
path = '''\.pem$'''
[[rules]]
id = "tok"
regex = '''tok_([a-z0-9]{20})'''
keywords = ["tok_"]
entropy = 3.0
path = '''\.env$'''
[rules.allowlist]
regexTarget = "line"
regexes = ['''example''']
stopwords = ["dummy"]
commits = ["abc"]
[allowlist]
paths = ['''^vendor/''']
stopwords = ["sample"]
"#,
        )
        .expect("valid");
        assert_eq!(imported.rules.len(), 1);
        let rule = &imported.rules[0];
        assert_eq!(rule.id, "gitleaks.tok");
        assert_eq!(rule.pattern, "tok_(?P<secret>[a-z0-9]{20})");
        assert_eq!(rule.min_entropy, Some(3.0));
        assert_eq!(rule.stopwords, ["dummy"]);
        assert!(rule.keywords.contains(&"TOK_".to_string()));
        let dropped = imported.dropped.join("\n");
        for what in [
            "[extend]",
            "rule `files`: no `regex`",
            "regexTarget = \"line\"",
            "`commits`",
        ] {
            assert!(dropped.contains(what), "{what} missing from:\n{dropped}");
        }
        assert!(
            imported
                .config
                .contains("[[rule_paths]]\nrule = \"gitleaks.tok\""),
            "{}",
            imported.config
        );
        assert!(
            imported.config.contains("path = \"^vendor/\""),
            "{}",
            imported.config
        );
        assert!(
            imported.config.contains("value = \"(?i)sample\""),
            "{}",
            imported.config
        );
    }
}
