//! Mapping findings to the OWASP Non-Human Identities Top 10 (2025).

use std::collections::BTreeSet;

use keyhound_rules::{Kind, Lifetime, Privilege, Rule};
use serde::Serialize;

use crate::{Finding, Status};

/// A user's mapping of paths to environments: `None` where it says nothing.
pub type EnvironmentPatterns<'p> = dyn Fn(&str) -> Option<Environment> + Sync + 'p;

/// What NHI mapping needs beyond the finding itself.
#[derive(Clone, Copy)]
pub struct NhiContext<'a> {
    /// "Now" for the history: the newest commit date of the scanned refs, or `--as-of`
    /// (seconds since the epoch); `None` without history.
    pub as_of: Option<i64>,
    /// NHI1: an author with no commit in this many days before `as_of` has left.
    pub offboarding_days: u32,
    /// The user's own environment path patterns (NHI8), asked before [`environment_of`].
    pub environments: Option<&'a EnvironmentPatterns<'a>>,
}

impl Default for NhiContext<'_> {
    fn default() -> Self {
        Self {
            as_of: None,
            offboarding_days: 180,
            environments: None,
        }
    }
}

impl std::fmt::Debug for NhiContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NhiContext")
            .field("as_of", &self.as_of)
            .field("offboarding_days", &self.offboarding_days)
            .field("environments", &self.environments.is_some())
            .finish()
    }
}

impl NhiContext<'_> {
    /// The environment of `path`: by the user's patterns, else by its words.
    pub fn environment(&self, path: &str) -> Option<Environment> {
        self.environments
            .and_then(|patterns| patterns(path))
            .or_else(|| environment_of(path))
    }
}

/// One OWASP NHI Top 10 risk that holds for a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NhiRisk {
    /// The risk id, `NHI1` to `NHI10`.
    pub id: &'static str,
    /// The risk's title.
    pub name: &'static str,
    /// Why it holds for this finding.
    pub reason: String,
}

fn risk(id: &'static str, name: &'static str, reason: String) -> NhiRisk {
    NhiRisk { id, name, reason }
}

/// The deployment environment a path belongs to, judged by its components and file name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Environment {
    /// Production.
    Production,
    /// Staging, pre-production, UAT.
    Staging,
    /// Development and local setups.
    Development,
    /// Tests, fixtures, QA.
    Test,
}

impl Environment {
    fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Staging => "staging",
            Environment::Development => "development",
            Environment::Test => "test",
        }
    }
}

/// The environment named by `path`'s words (split on `/`, `.`, `_`, `-`), if any.
pub fn environment_of(path: &str) -> Option<Environment> {
    path.split(['/', '\\', '.', '_', '-'])
        .filter(|w| !w.is_empty())
        .find_map(|word| match word.to_ascii_lowercase().as_str() {
            "prod" | "production" | "prd" | "live" => Some(Environment::Production),
            "staging" | "stage" | "stg" | "preprod" | "uat" => Some(Environment::Staging),
            "dev" | "development" | "local" | "sandbox" => Some(Environment::Development),
            "test" | "tests" | "testing" | "spec" | "specs" | "qa" | "fixtures" | "fixture"
            | "testdata" | "__tests__" => Some(Environment::Test),
            _ => None,
        })
}

/// Whether `path` is CI/CD or deployment configuration.
fn is_deployment_config(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    lower.contains(".github/workflows/")
        || lower.starts_with(".circleci/")
        || lower.contains("/.circleci/")
        || name == ".gitlab-ci.yml"
        || name == "jenkinsfile"
        || name == "azure-pipelines.yml"
        || name == "bitbucket-pipelines.yml"
        || name == ".travis.yml"
        || name.ends_with(".tf")
        || name.ends_with(".tfvars")
        || name == "dockerfile"
        || name.starts_with("docker-compose")
        || lower.contains("k8s/")
        || lower.contains("kubernetes/")
        || lower.contains("helm/")
        || name == "values.yaml"
        || name == "kustomization.yaml"
}

/// Whether `path` is a personal credential store, shell history or notebook.
fn is_personal_store(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        ".bash_history"
            | ".zsh_history"
            | ".sh_history"
            | ".history"
            | ".netrc"
            | "_netrc"
            | ".git-credentials"
            | ".pgpass"
            | ".my.cnf"
    ) || name.ends_with(".ipynb")
}

/// Whether `path` is an IDE or plugin configuration.
fn is_ide_config(path: &str) -> bool {
    path.starts_with(".vscode/")
        || path.starts_with(".idea/")
        || path.contains("/.vscode/")
        || path.contains("/.idea/")
}

/// The OWASP NHI risks that hold for `finding` of `rule`, in id order.
pub fn map_nhi(rule: &Rule, finding: &Finding, context: &NhiContext) -> Vec<NhiRisk> {
    let paths: BTreeSet<&str> = finding
        .occurrences
        .iter()
        .map(|o| o.path.as_str())
        .collect();
    let mut risks = Vec::new();

    risks.push(risk(
        "NHI2",
        "Secret Leakage",
        format!(
            "{} credential exposed in {} location(s)",
            rule.provider,
            finding.occurrences.len()
        ),
    ));

    if rule.kind == Kind::ConnectionString {
        risks.push(risk(
            "NHI4",
            "Insecure Authentication",
            "password embedded in a connection string or URL".to_string(),
        ));
    } else if rule.kind == Kind::PrivateKey && !rule.id.contains("encrypted") {
        risks.push(risk(
            "NHI4",
            "Insecure Authentication",
            "private key stored unencrypted".to_string(),
        ));
    } else if rule.deprecated {
        risks.push(risk(
            "NHI4",
            "Insecure Authentication",
            "deprecated credential format".to_string(),
        ));
    }

    if rule.privilege == Privilege::Broad {
        risks.push(risk(
            "NHI5",
            "Overprivileged NHI",
            format!("{} grants broad, account-wide access", rule.name),
        ));
    }

    if let Some(path) = paths.iter().find(|p| is_deployment_config(p)) {
        risks.push(risk(
            "NHI6",
            "Insecure Cloud Deployment Configurations",
            format!("hard-coded in CI/CD or deployment configuration `{path}`"),
        ));
    }

    let lifecycle = &finding.lifecycle;
    if lifecycle.overdue {
        risks.push(risk(
            "NHI7",
            "Long-Lived Secrets",
            format!(
                "exposed for {} days, beyond the {}-day rotation period",
                lifecycle.exposure_days.unwrap_or_default(),
                rule.rotation.max_age_days
            ),
        ));
    } else if rule.lifetime == Lifetime::Static {
        risks.push(risk(
            "NHI7",
            "Long-Lived Secrets",
            "static credential with no built-in expiry".to_string(),
        ));
    }

    if lifecycle.status == Status::Active
        && let (Some(as_of), Some(last), Some(author)) = (
            context.as_of,
            finding.owner.introducer_last_commit,
            &finding.owner.introduced_by,
        )
    {
        let idle_days = crate::lifecycle::days_between(last, as_of);
        if idle_days > i64::from(context.offboarding_days) {
            risks.push(risk(
                "NHI1",
                "Improper Offboarding",
                format!(
                    "still active, while {author} (who introduced it) has made no commit in \
                     {idle_days} days"
                ),
            ));
        }
    }

    let environments: BTreeSet<Environment> = paths
        .iter()
        .filter_map(|p| context.environment(p))
        .collect();
    let live_in_test = finding.secret.contains("_live_")
        && paths.iter().any(|p| {
            matches!(
                context.environment(p),
                Some(Environment::Test | Environment::Development)
            )
        });
    if environments.len() >= 2 {
        let names: Vec<&str> = environments.iter().map(|e| e.as_str()).collect();
        risks.push(risk(
            "NHI8",
            "Environment Isolation",
            format!("the same credential is used in {}", names.join(", ")),
        ));
    } else if live_in_test {
        risks.push(risk(
            "NHI8",
            "Environment Isolation",
            "a live-mode key in a test or development path".to_string(),
        ));
    }

    if paths.len() >= 2 {
        risks.push(risk(
            "NHI9",
            "NHI Reuse",
            format!(
                "the same credential appears in {} distinct paths",
                paths.len()
            ),
        ));
    }

    if let Some(path) = paths.iter().find(|p| is_personal_store(p)) {
        risks.push(risk(
            "NHI10",
            "Human Use of NHI",
            format!("found in a personal credential store or history `{path}`"),
        ));
    }

    if let Some(path) = paths.iter().find(|p| is_ide_config(p)) {
        risks.push(risk(
            "NHI3",
            "Vulnerable Third-Party NHI",
            format!("third-party credential in IDE or plugin configuration `{path}`"),
        ));
    } else if matches!(rule.kind, Kind::Webhook | Kind::OauthSecret) {
        risks.push(risk(
            "NHI3",
            "Vulnerable Third-Party NHI",
            "credential of a third-party integration (webhook or OAuth app)".to_string(),
        ));
    }

    risks.sort_by_key(|r| r.id[3..].parse::<u8>().unwrap_or(u8::MAX));
    risks
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Occurrence, Snippet};
    use keyhound_rules::RuleSet;

    pub(crate) fn rule(kind: &str, privilege: &str, lifetime: &str) -> Rule {
        let text = format!(
            r#"[[rule]]
id = "acme.key"
name = "Acme key"
provider = "Acme"
kind = "{kind}"
keywords = ["acme_"]
pattern = 'acme_[a-z]{{8}}'
confidence = "high"
severity = "high"
privilege = "{privilege}"
lifetime = "{lifetime}"
rotation = {{ url = "https://acme.invalid", max_age_days = 30 }}
examples = ["acme_qwertyui"]
negative_examples = ["acme_"]
"#
        );
        let mut set = RuleSet::new();
        set.add_toml("t.toml", &text).unwrap();
        set.rules()[0].rule.clone()
    }

    pub(crate) fn finding(secret: &str, paths: &[&str]) -> Finding {
        Finding {
            rule_id: "acme.key".into(),
            rule_name: "Acme key".into(),
            rule_index: 0,
            fingerprint: String::new(),
            secret: secret.into(),
            occurrences: paths
                .iter()
                .map(|p| Occurrence {
                    path: p.to_string(),
                    line: 1,
                    column: 1,
                    end_line: 1,
                    end_column: 2,
                    offset: 0,
                    decoded: None,
                    snippet: Snippet {
                        before: String::new(),
                        matched: String::new(),
                        after: String::new(),
                    },
                    commit: None,
                    at_head: false,
                })
                .collect(),
            nhi: Vec::new(),
            lifecycle: crate::Lifecycle::default(),
            owner: crate::Owner::default(),
        }
    }

    fn ids(risks: &[NhiRisk]) -> Vec<&str> {
        risks.iter().map(|r| r.id).collect()
    }

    #[test]
    fn scoped_expiring_key_in_one_source_file_is_only_leakage() {
        let r = rule("api-key", "scoped", "expiring");
        assert_eq!(
            ids(&map_nhi(
                &r,
                &finding("acme_x", &["src/app.py"]),
                &NhiContext::default()
            )),
            ["NHI2"]
        );
    }

    #[test]
    fn broad_static_key_in_ci_and_prod_and_dev_maps_to_many_risks() {
        let r = rule("api-key", "broad", "static");
        let f = finding(
            "acme_x",
            &[
                ".github/workflows/deploy.yml",
                "config/prod.env",
                "config/dev.env",
            ],
        );
        assert_eq!(
            ids(&map_nhi(&r, &f, &NhiContext::default())),
            ["NHI2", "NHI5", "NHI6", "NHI7", "NHI8", "NHI9"]
        );
    }

    #[test]
    fn live_key_in_test_path_breaks_isolation() {
        let r = rule("api-key", "scoped", "expiring");
        let risks = map_nhi(
            &r,
            &finding("sk_live_abc", &["tests/payments_test.py"]),
            &NhiContext::default(),
        );
        assert!(ids(&risks).contains(&"NHI8"), "{risks:?}");
        let risks = map_nhi(
            &r,
            &finding("sk_test_abc", &["tests/payments_test.py"]),
            &NhiContext::default(),
        );
        assert!(!ids(&risks).contains(&"NHI8"));
    }

    #[test]
    fn connection_strings_personal_stores_and_ide_configs() {
        let conn = rule("connection-string", "scoped", "expiring");
        let risks = map_nhi(
            &conn,
            &finding("pw", &["home/.netrc"]),
            &NhiContext::default(),
        );
        assert_eq!(ids(&risks), ["NHI2", "NHI4", "NHI10"]);
        let hook = rule("webhook", "scoped", "expiring");
        assert_eq!(
            ids(&map_nhi(
                &hook,
                &finding("u", &["a.txt"]),
                &NhiContext::default()
            )),
            ["NHI2", "NHI3"]
        );
        let key = rule("api-key", "scoped", "expiring");
        assert_eq!(
            ids(&map_nhi(
                &key,
                &finding("u", &[".vscode/settings.json"]),
                &NhiContext::default()
            )),
            ["NHI2", "NHI3"]
        );
    }

    #[test]
    fn environments_from_path_words() {
        assert_eq!(
            environment_of("deploy/prod/app.yaml"),
            Some(Environment::Production)
        );
        assert_eq!(environment_of(".env.staging"), Some(Environment::Staging));
        assert_eq!(
            environment_of("src/__tests__/x.js"),
            Some(Environment::Test)
        );
        assert_eq!(environment_of("src/product.rs"), None);
    }

    #[test]
    fn nhi1_holds_while_active_and_the_introducer_has_gone_quiet() {
        let r = rule("api-key", "scoped", "expiring");
        let day = 86_400;
        let context = NhiContext {
            as_of: Some(1_000 * day),
            offboarding_days: 180,
            environments: None,
        };
        let mut f = finding("acme_x", &["src/app.py"]);
        f.owner.introduced_by = Some("Ann <ann@example.org>".into());
        f.owner.introducer_last_commit = Some(1_000 * day - 181 * day);
        assert!(ids(&map_nhi(&r, &f, &context)).contains(&"NHI1"));
        // Active within the window: not offboarded.
        f.owner.introducer_last_commit = Some(1_000 * day - 179 * day);
        assert!(!ids(&map_nhi(&r, &f, &context)).contains(&"NHI1"));
        // Removed: nothing left to offboard.
        f.owner.introducer_last_commit = Some(0);
        f.lifecycle.status = crate::Status::Removed;
        assert!(!ids(&map_nhi(&r, &f, &context)).contains(&"NHI1"));
        // The window is configurable.
        f.lifecycle.status = crate::Status::Active;
        let patient = NhiContext {
            offboarding_days: 2_000,
            ..context
        };
        assert!(!ids(&map_nhi(&r, &f, &patient)).contains(&"NHI1"));
    }

    /// A commit may claim any date: the idle time of an introducer whose last commit claims
    /// the earliest date there is saturates instead of overflowing.
    #[test]
    fn nhi1_idle_days_saturate_at_extreme_commit_dates() {
        let r = rule("api-key", "scoped", "expiring");
        let context = NhiContext {
            as_of: Some(i64::MAX),
            offboarding_days: 180,
            environments: None,
        };
        let mut f = finding("acme_x", &["src/app.py"]);
        f.owner.introduced_by = Some("Ann <ann@example.org>".into());
        f.owner.introducer_last_commit = Some(i64::MIN);
        let risks = map_nhi(&r, &f, &context);
        let nhi1 = risks.iter().find(|r| r.id == "NHI1").expect("NHI1");
        let days = (i64::MAX / 86_400).to_string();
        assert!(nhi1.reason.contains(&days), "{}", nhi1.reason);
    }

    #[test]
    fn nhi7_names_an_overdue_exposure_even_for_expiring_credentials() {
        let r = rule("api-key", "scoped", "expiring");
        let mut f = finding("acme_x", &["src/app.py"]);
        assert!(!ids(&map_nhi(&r, &f, &NhiContext::default())).contains(&"NHI7"));
        f.lifecycle.overdue = true;
        f.lifecycle.exposure_days = Some(45);
        let risks = map_nhi(&r, &f, &NhiContext::default());
        let nhi7 = risks.iter().find(|r| r.id == "NHI7").expect("NHI7");
        assert!(nhi7.reason.contains("45 days"), "{}", nhi7.reason);
    }

    #[test]
    fn user_environment_patterns_come_before_path_words() {
        let r = rule("api-key", "scoped", "expiring");
        let f = finding("acme_x", &["ops/blue/app.env", "ops/green/app.env"]);
        assert!(!ids(&map_nhi(&r, &f, &NhiContext::default())).contains(&"NHI8"));
        let patterns = |path: &str| match path.split('/').nth(1) {
            Some("blue") => Some(Environment::Production),
            Some("green") => Some(Environment::Staging),
            _ => None,
        };
        let context = NhiContext {
            environments: Some(&patterns),
            ..NhiContext::default()
        };
        let risks = map_nhi(&r, &f, &context);
        let nhi8 = risks.iter().find(|r| r.id == "NHI8").expect("NHI8");
        assert!(
            nhi8.reason.contains("production, staging"),
            "{}",
            nhi8.reason
        );
    }
}
