//! The `.keyhound.toml` configuration file: where it is found, what it may say, and its checks.
//!
//! Every key is optional; unknown keys are an error naming the key and the file. Relative
//! paths in it (`rules`, `baseline`) are relative to the file's directory; globs (`exclude`,
//! `nhi.environments`) are matched against paths relative to the scanned root, like `--exclude`.

use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use keyhound_findings::Environment;
use keyhound_rules::Severity;
use serde::Deserialize;

/// The file name looked for at the scanned root and the repository root.
pub const FILE_NAME: &str = ".keyhound.toml";

/// The default offboarding window of NHI1, in days.
pub const DEFAULT_OFFBOARDING_DAYS: u32 = 180;

/// The file as written; checked and resolved into [`Config`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    disable_rules: Vec<String>,
    #[serde(default)]
    rules: Vec<PathBuf>,
    #[serde(default)]
    allow: Vec<RawAllow>,
    #[serde(default)]
    rule_paths: Vec<RawRulePaths>,
    fail_on: Option<Severity>,
    baseline: Option<PathBuf>,
    #[serde(default)]
    nhi: RawNhi,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAllow {
    fingerprint: Option<String>,
    value: Option<String>,
    path: Option<String>,
    rule: Option<String>,
    reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRulePaths {
    rule: String,
    path: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNhi {
    offboarding_days: Option<u32>,
    #[serde(default)]
    environments: RawEnvironments,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvironments {
    #[serde(default)]
    production: Vec<String>,
    #[serde(default)]
    staging: Vec<String>,
    #[serde(default)]
    development: Vec<String>,
    #[serde(default)]
    test: Vec<String>,
}

/// A problem with a configuration file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config {}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not valid TOML, has an unknown key or a value of the wrong type.
    #[error("config {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, naming the key, with line and column.
        message: String,
    },
    /// A value breaks a constraint.
    #[error("config {}: `{key}`: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
}

/// An allowlist entry: findings it matches are kept out of the report, with its reason.
#[derive(Debug, Clone)]
pub enum AllowEntry {
    /// One finding, by fingerprint.
    Fingerprint {
        /// The fingerprint (32 hex digits).
        fingerprint: String,
        /// Why it is allowed.
        reason: String,
    },
    /// Secrets a regex matches (searched in the secret) and/or occurrences in paths a regex
    /// matches (searched in the path relative to the scanned root), of one rule or of any;
    /// every criterion given must hold.
    Matching {
        /// Searched in the secret.
        value: Option<regex::Regex>,
        /// Searched in the occurrence's path.
        path: Option<regex::Regex>,
        /// Only findings of this rule, if set.
        rule: Option<String>,
        /// Why they are allowed.
        reason: String,
    },
}

/// A rule that counts only in some paths (gitleaks' rule `path`).
#[derive(Debug, Clone)]
pub struct RulePaths {
    /// The rule id.
    pub rule: String,
    /// Searched in the path relative to the scanned root.
    pub path: regex::Regex,
}

/// The paths that name one environment, for NHI8.
#[derive(Debug, Clone)]
pub struct EnvironmentPatterns {
    /// The environment.
    pub environment: Environment,
    /// The globs as written.
    pub globs: Vec<String>,
    /// The globs compiled.
    pub matcher: GlobSet,
}

/// The OWASP NHI mapping's settings.
#[derive(Debug, Clone)]
pub struct NhiConfig {
    /// NHI8: paths that belong to each environment, checked before the built-in path words.
    pub environments: Vec<EnvironmentPatterns>,
    /// NHI1: how many days without a commit make an introducing author count as gone.
    pub offboarding_days: u32,
}

impl Default for NhiConfig {
    fn default() -> Self {
        Self {
            environments: Vec::new(),
            offboarding_days: DEFAULT_OFFBOARDING_DAYS,
        }
    }
}

impl NhiConfig {
    /// The environment the configured patterns give `path` (relative to the scanned root),
    /// if any; callers fall back to [`keyhound_findings::environment_of`].
    pub fn environment_of(&self, path: &str) -> Option<Environment> {
        let path = path.trim_start_matches("./");
        self.environments
            .iter()
            .find(|e| e.matcher.is_match(path))
            .map(|e| e.environment)
    }
}

/// A checked configuration, paths resolved.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it came from (`None`: no file, all defaults).
    pub path: Option<PathBuf>,
    /// Paths to skip (gitignore-style globs, as `--exclude`).
    pub exclude: Vec<String>,
    /// Rule ids not to scan with.
    pub disable_rules: Vec<String>,
    /// Extra rule files, resolved against the file's directory.
    pub rules: Vec<PathBuf>,
    /// Findings to keep out of the report, with reasons.
    pub allow: Vec<AllowEntry>,
    /// Rules whose findings count only in some paths.
    pub rule_paths: Vec<RulePaths>,
    /// Exit 1 only for findings of this severity or above.
    pub fail_on: Option<Severity>,
    /// The baseline to use, resolved against the file's directory.
    pub baseline: Option<PathBuf>,
    /// The NHI mapping's settings.
    pub nhi: NhiConfig,
}

impl Config {
    /// Reads and checks the configuration at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses configuration `text` read from `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: parse_error_message(text, &e),
        })?;
        let invalid = |key: String, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key,
            message,
        };
        let dir = path.parent().unwrap_or(Path::new(""));
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { dir.join(p) };

        if let Err(e) = keyhound_sources::Excludes::new(&raw.exclude) {
            return Err(invalid("exclude".into(), e.to_string()));
        }
        for (i, id) in raw.disable_rules.iter().enumerate() {
            if id.trim().is_empty() {
                return Err(invalid(
                    format!("disable_rules[{i}]"),
                    "empty rule id".into(),
                ));
            }
        }
        let mut allow = Vec::with_capacity(raw.allow.len());
        for (i, entry) in raw.allow.into_iter().enumerate() {
            let key = |field: &str| format!("allow[{i}].{field}");
            if entry.reason.trim().is_empty() {
                return Err(invalid(key("reason"), "say why it is allowed".into()));
            }
            let regex = |field: &str, text: Option<String>| {
                text.map(|t| regex::Regex::new(&t))
                    .transpose()
                    .map_err(|e| invalid(key(field), format!("bad regex: {e}")))
            };
            match (entry.fingerprint, entry.value, entry.path) {
                (Some(fingerprint), None, None) => {
                    if entry.rule.is_some() {
                        return Err(invalid(
                            key("rule"),
                            "a fingerprint already names its rule; `rule` goes with `value` or `path`"
                                .into(),
                        ));
                    }
                    if !crate::baseline::is_fingerprint(&fingerprint) {
                        return Err(invalid(
                            key("fingerprint"),
                            format!("`{fingerprint}` is not 32 lowercase hex digits"),
                        ));
                    }
                    allow.push(AllowEntry::Fingerprint {
                        fingerprint,
                        reason: entry.reason,
                    });
                }
                (None, value, path) if value.is_some() || path.is_some() => {
                    allow.push(AllowEntry::Matching {
                        value: regex("value", value)?,
                        path: regex("path", path)?,
                        rule: entry.rule,
                        reason: entry.reason,
                    });
                }
                _ => {
                    return Err(invalid(
                        format!("allow[{i}]"),
                        "give a `fingerprint`, or a `value` and/or a `path` regex".into(),
                    ));
                }
            }
        }
        let mut rule_paths = Vec::with_capacity(raw.rule_paths.len());
        for (i, entry) in raw.rule_paths.into_iter().enumerate() {
            let path = regex::Regex::new(&entry.path)
                .map_err(|e| invalid(format!("rule_paths[{i}].path"), format!("bad regex: {e}")))?;
            rule_paths.push(RulePaths {
                rule: entry.rule,
                path,
            });
        }
        let offboarding_days = raw.nhi.offboarding_days.unwrap_or(DEFAULT_OFFBOARDING_DAYS);
        if offboarding_days == 0 {
            return Err(invalid(
                "nhi.offboarding_days".into(),
                "must be at least 1".into(),
            ));
        }
        let envs = raw.nhi.environments;
        let mut environments = Vec::new();
        for (name, environment, globs) in [
            ("production", Environment::Production, envs.production),
            ("staging", Environment::Staging, envs.staging),
            ("development", Environment::Development, envs.development),
            ("test", Environment::Test, envs.test),
        ] {
            if globs.is_empty() {
                continue;
            }
            let mut builder = GlobSetBuilder::new();
            for glob in &globs {
                let glob = glob.trim_start_matches("./");
                builder.add(Glob::new(glob).map_err(|e| {
                    invalid(format!("nhi.environments.{name}"), e.kind().to_string())
                })?);
            }
            let matcher = builder
                .build()
                .map_err(|e| invalid(format!("nhi.environments.{name}"), e.kind().to_string()))?;
            environments.push(EnvironmentPatterns {
                environment,
                globs,
                matcher,
            });
        }
        Ok(Config {
            path: Some(path.to_path_buf()),
            exclude: raw.exclude,
            disable_rules: raw.disable_rules,
            rules: raw.rules.into_iter().map(resolve).collect(),
            allow,
            rule_paths,
            fail_on: raw.fail_on,
            baseline: raw.baseline.map(resolve),
            nhi: NhiConfig {
                environments,
                offboarding_days,
            },
        })
    }

    /// The configuration for a scan of `paths`: `explicit` if given, else the first
    /// `.keyhound.toml` at the first scanned directory or at the root of the repository holding
    /// it; defaults when there is none.
    pub fn discover(explicit: Option<&Path>, paths: &[PathBuf]) -> Result<Self, ConfigError> {
        if let Some(path) = explicit {
            return Self::load(path);
        }
        match find(paths) {
            Some(path) => Self::load(&path),
            None => Ok(Self::default()),
        }
    }
}

/// Where [`Config::discover`] finds a file for `paths`, if anywhere.
pub fn find(paths: &[PathBuf]) -> Option<PathBuf> {
    let root = paths
        .iter()
        .find(|p| p.as_os_str() != "-")
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let dir = if root.is_dir() {
        root
    } else {
        root.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    };
    let at_root = dir.join(FILE_NAME);
    if at_root.is_file() {
        return Some(at_root);
    }
    let absolute = std::path::absolute(&dir).ok()?;
    absolute
        .ancestors()
        .find(|d| d.join(".git").exists())
        .map(|repo| repo.join(FILE_NAME))
        .filter(|p| p.is_file())
}

/// The commented starting file `keyhound config init` writes; every key at its default.
pub const TEMPLATE: &str = r#"# keyhound configuration. keyhound reads the .keyhound.toml at the scanned directory, else the
# one at the root of the git repository holding it; `--config FILE` names another, `--no-config`
# uses none. Unknown keys are an error. Relative paths are relative to this file.

# Paths to skip, gitignore-style globs (as --exclude): a glob without `/` matches a name at any
# depth, one with `/` a path from the scanned root. In git history: the path a secret entered under.
exclude = [
    # "vendor/",
    # "**/*.min.js",
]

# Rule ids not to scan with (`keyhound rules list` shows them).
disable_rules = [
    # "generic.password",
]

# Extra rule files (e.g. made by `keyhound rules import-gitleaks`), as --rules.
rules = [
    # "rules/local.toml",
]

# Exit 1 only for findings of this severity or above: "low", "medium", "high" or "critical".
# Every finding is still reported. --fail-on overrides it.
# fail_on = "high"

# Findings made known with `keyhound baseline create -o FILE`: only new findings are reported
# and fail the scan. --baseline overrides it.
# baseline = ".keyhound-baseline.json"

# Allowlist: findings kept out of the report, each with the reason (`scan --report-allowed` lists
# them). One finding by fingerprint (from any report); or by regexes: `value` searched in the
# secret, `path` in the path relative to the scanned root (both must match when both are given),
# optionally for one `rule` only.
# [[allow]]
# fingerprint = "0123456789abcdef0123456789abcdef"
# reason = "revoked on 2026-01-10, kept in a test vector"
#
# [[allow]]
# value = "^AKIA[0-9A-Z]{12}EXAMPLE$"
# rule = "aws.access-key-id"
# reason = "AWS documentation example keys"
#
# [[allow]]
# path = "^docs/examples/"
# reason = "documentation samples, all revoked"

# Rules that count only in some paths (a regex searched in the path relative to the scanned
# root); `rules import-gitleaks` writes these for gitleaks rules with a `path`.
# [[rule_paths]]
# rule = "gitleaks.internal-token"
# path = "\\.properties$"

# The OWASP NHI Top 10 mapping.
[nhi]
# NHI1 Improper Offboarding: a secret still at HEAD whose introducing author has made no commit
# in this many days.
offboarding_days = 180

# NHI8 Environment Isolation: globs naming each environment's paths, checked before the built-in
# path words (prod, staging, dev, test, ...).
[nhi.environments]
production = []
staging = []
development = []
test = []
"#;

/// The parser's message with the line and column it points at. The parser's own rendering
/// quotes the offending line, which may hold a secret (an allowlisted `value`): never shown.
fn parse_error_message(text: &str, error: &toml::de::Error) -> String {
    let message = error.message().trim_end();
    let Some(span) = error.span() else {
        return message.to_string();
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!("line {line}, column {column}: {message}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("conf/.keyhound.toml"), text)
    }

    fn err(text: &str) -> String {
        parse(text).expect_err("invalid").to_string()
    }

    #[test]
    fn the_template_parses_to_the_defaults() {
        let config = parse(TEMPLATE).expect("the template is valid");
        assert!(config.exclude.is_empty() && config.allow.is_empty());
        assert_eq!(config.fail_on, None);
        assert_eq!(config.nhi.offboarding_days, DEFAULT_OFFBOARDING_DAYS);
        assert!(config.nhi.environments.is_empty());
        // Every commented example is valid too, once uncommented.
        let uncommented: String = TEMPLATE
            .lines()
            .map(|l| {
                let t = l.trim_start();
                match t.strip_prefix("# ") {
                    Some(rest)
                        if rest.starts_with('"')
                            || rest.contains(" = ")
                            || rest.starts_with("[[") =>
                    {
                        rest
                    }
                    _ => l,
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let full = parse(&uncommented).expect("uncommented template is valid");
        assert_eq!(full.fail_on, Some(Severity::High));
        assert_eq!(full.allow.len(), 3);
        assert_eq!(full.rule_paths.len(), 1);
        assert!(full.rule_paths[0].path.is_match("conf/app.properties"));
        assert_eq!(full.disable_rules, ["generic.password"]);
        assert_eq!(full.rules, [PathBuf::from("conf/rules/local.toml")]);
        assert_eq!(
            full.baseline,
            Some(PathBuf::from("conf/.keyhound-baseline.json"))
        );
    }

    #[test]
    fn values_are_typed_and_paths_resolved() {
        let config = parse(
            r#"
fail_on = "critical"
rules = ["/abs/r.toml", "rel.toml"]
[nhi]
offboarding_days = 30
[nhi.environments]
production = ["deploy/live/**"]
test = ["qa-env/**"]
"#,
        )
        .expect("valid");
        assert_eq!(config.fail_on, Some(Severity::Critical));
        assert_eq!(
            config.rules,
            [PathBuf::from("/abs/r.toml"), PathBuf::from("conf/rel.toml")]
        );
        assert_eq!(config.nhi.offboarding_days, 30);
        assert_eq!(
            config.nhi.environment_of("deploy/live/app.env"),
            Some(Environment::Production)
        );
        assert_eq!(
            config.nhi.environment_of("./qa-env/x.yml"),
            Some(Environment::Test)
        );
        assert_eq!(config.nhi.environment_of("src/main.rs"), None);
    }

    #[test]
    fn a_syntax_error_gives_its_place_but_never_quotes_the_line() {
        let value = "ghp_0123456789abcdefghijklmnopqrstuvwxyz";
        let message = err(&format!(
            "[[allow]]\nvalue = \"{value}\" oops\nreason = \"x\"\n"
        ));
        assert!(
            message.starts_with("config conf/.keyhound.toml: line 2, column 52: "),
            "{message}"
        );
        assert!(!message.contains(value), "{message}");
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named_with_the_file() {
        let message = err("exclude = []\nfail_onn = \"high\"\n");
        assert!(
            message.contains("conf/.keyhound.toml") && message.contains("fail_onn"),
            "{message}"
        );
        let message = err("[nhi]\nofboarding = 3\n");
        assert!(message.contains("ofboarding"), "{message}");
        assert!(err("fail_on = \"severe\"").contains("severe"));
        assert!(
            err("[[allow]]\nfingerprint = \"abc\"\nreason = \"r\"")
                .contains("allow[0].fingerprint")
        );
        assert!(err("[[allow]]\nvalue = \"(\"\nreason = \"r\"").contains("allow[0].value"));
        assert!(err("[[allow]]\nvalue = \"x\"\nreason = \" \"").contains("allow[0].reason"));
        assert!(err("[[allow]]\nreason = \"r\"").contains("give a `fingerprint`"));
        assert!(err("[[allow]]\npath = \"(\"\nreason = \"r\"").contains("allow[0].path"));
        assert!(err("[[rule_paths]]\nrule = \"a.b\"\npath = \"(\"").contains("rule_paths[0].path"));
        assert!(err("[[allow]]\nvalue = \"x\"\n").contains("reason"));
        assert!(err("exclude = [\"a[\"]").contains("`exclude`"));
        assert!(err("[nhi]\noffboarding_days = 0").contains("nhi.offboarding_days"));
        assert!(err("[nhi.environments]\nstaging = [\"a[\"]").contains("nhi.environments.staging"));
        assert!(err("[nhi.environments]\nqa = []").contains("qa"));
    }
}
