//! End-to-end tests of the `keyhound` binary.

mod common;

use common::*;

#[test]
fn finds_a_token_and_redacts_it_in_human_output() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_pat(1);
    write_tree(
        dir.path(),
        &[("config/app.env", &format!("# app\nGITHUB_TOKEN={token}\n"))],
    );
    let out = run_in(dir.path(), &["scan", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("config/app.env:2:14"), "{text}");
    assert!(
        text.contains(&format!("{}…{}", &token[..7], &token[token.len() - 4..])),
        "{text}"
    );
    assert!(!text.contains(&token), "secret leaked: {text}");
    assert!(!stderr(&out).contains(&token));
}

#[test]
fn clean_tree_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("src/main.rs", "fn main() { println!(\"hello\"); }\n")],
    );
    let out = run_in(dir.path(), &["scan", "."]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn json_report_has_the_documented_fields_and_no_secret_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_pat(2);
    write_tree(
        dir.path(),
        &[
            ("a.yml", &format!("token: {token}\n")),
            ("b/c.txt", &format!("x {token}")),
        ],
    );
    let out = run_in(dir.path(), &["scan", ".", "--format", "json"]);
    assert_eq!(code(&out), 1);
    let report = json(&out);
    let findings = report["findings"].as_array().expect("findings array");
    assert_eq!(findings.len(), 1, "one secret, two occurrences: {report:#}");
    let f = &findings[0];
    for key in [
        "rule_id",
        "rule_name",
        "path",
        "line",
        "column",
        "end_line",
        "end_column",
        "fingerprint",
    ] {
        assert!(!f[key].is_null(), "missing {key}: {f:#}");
    }
    assert_eq!(f["rule_id"], "github.pat.classic");
    assert_eq!(f["path"], "a.yml");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(1), Some(8))
    );
    assert_eq!(f["end_column"].as_u64(), Some(8 + token.len() as u64));
    assert_eq!(f["occurrences"].as_array().unwrap().len(), 2);
    assert!(f.get("secret").is_none());
    assert!(!stdout(&out).contains(&token));
    let ids: Vec<&str> = f["nhi"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"NHI2") && ids.contains(&"NHI9"), "{ids:?}");

    let shown = run_in(
        dir.path(),
        &["scan", ".", "--format", "json", "--show-secrets"],
    );
    assert_eq!(json(&shown)["findings"][0]["secret"], token.as_str());
}

#[test]
fn jsonl_is_one_finding_per_line_and_output_file_works() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("one.txt", &github_pat(3)),
            ("two.txt", &github_pat(4)),
            ("three.txt", &github_pat(5)),
        ],
    );
    let report = dir.path().join("out.jsonl");
    let out = run_in(
        dir.path(),
        &[
            "scan",
            "one.txt",
            "two.txt",
            "three.txt",
            "-f",
            "jsonl",
            "-o",
            report.to_str().unwrap(),
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    let text = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["rule_id"] == "github.pat.classic"));
}

#[test]
fn stdin_is_scanned_with_dash() {
    use std::io::Write;
    let token = github_pat(6);
    let mut child = keyhound()
        .args(["scan", "-", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("log line\nusing {token} now\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(code(&out), 1);
    let report = json(&out);
    assert_eq!(report["findings"][0]["path"], "-");
    assert_eq!(report["findings"][0]["line"], 2);
}

#[test]
fn missing_path_is_an_error_naming_it_but_other_paths_are_scanned() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("real.txt", &github_pat(7))]);
    let out = run_in(dir.path(), &["scan", "nope/missing.txt", "real.txt"]);
    assert!(
        stderr(&out).contains("nope/missing.txt"),
        "{}",
        stderr(&out)
    );
    assert_eq!(code(&out), 1, "findings still reported");
    let only_missing = run_in(dir.path(), &["scan", "nope/missing.txt"]);
    assert_eq!(code(&only_missing), 2);
}

#[test]
fn malformed_rules_file_exits_two_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[("bad.toml", "[[rule]]\nid = \"x\"\nthis is not toml\n")],
    );
    let out = run_in(dir.path(), &["scan", ".", "--rules", "bad.toml"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("bad.toml"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"));
}

#[test]
fn custom_rules_are_used() {
    let dir = tempfile::tempdir().unwrap();
    let rule = r#"
[[rule]]
id = "acme.internal-key"
name = "Acme internal key"
provider = "Acme"
kind = "api-key"
keywords = ["acmeik_"]
pattern = '''\b(?P<secret>acmeik_[a-z0-9]{20})\b'''
confidence = "high"
severity = "high"
privilege = "scoped"
lifetime = "static"
rotation = { url = "https://acme.invalid/keys", max_age_days = 30 }
examples = ["k = acmeik_q1w2e3r4t5y6u7i8o9p0"]
negative_examples = ["k = acmeik_short"]
"#;
    write_tree(
        dir.path(),
        &[
            ("acme.toml", rule),
            ("src/k.txt", "key: acmeik_z9x8c7v6b5n4m3l2k1j0\n"),
        ],
    );
    let out = run_in(
        dir.path(),
        &["scan", "src", "--rules", "acme.toml", "-f", "json"],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(json(&out)["findings"][0]["rule_id"], "acme.internal-key");
    let check = run_in(dir.path(), &["rules", "check", "acme.toml"]);
    assert_eq!(code(&check), 0, "{}", stderr(&check));
}

#[test]
fn rules_check_reports_a_failing_negative_example() {
    let dir = tempfile::tempdir().unwrap();
    let rule = r#"
[[rule]]
id = "acme.loose"
name = "Acme loose"
provider = "Acme"
kind = "api-key"
keywords = ["acme"]
pattern = '''acme[a-z0-9]{8,}'''
confidence = "high"
severity = "high"
privilege = "scoped"
lifetime = "static"
rotation = { url = "https://acme.invalid/keys", max_age_days = 30 }
examples = ["acmeq1w2e3r4"]
negative_examples = ["acmez9x8c7v6"]
"#;
    write_tree(dir.path(), &[("loose.toml", rule)]);
    let out = run_in(dir.path(), &["rules", "check", "loose.toml"]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.contains("loose.toml")
            && err.contains("acme.loose")
            && err.contains("negative example"),
        "{err}"
    );
}

#[test]
fn builtin_rules_check_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let check = run_in(dir.path(), &["rules", "check"]);
    assert_eq!(code(&check), 0, "{}", stderr(&check));
    let list = run_in(dir.path(), &["rules", "list"]);
    assert_eq!(code(&list), 0);
    let text = stdout(&list);
    assert!(text.contains("github.pat.classic"));
    let count: usize = text
        .lines()
        .last()
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(count >= 150, "{count} rules");
}

#[test]
fn binary_files_are_scanned_unless_skipped_and_every_skip_is_counted_by_reason() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_pat(8);
    write_tree(
        dir.path(),
        &[
            (".git/config", &format!("url = {token}\n")),
            ("vendor/lib.txt", &format!("{token}\n")),
            ("big.txt", &format!("{}\n{token}\n", "a".repeat(4096))),
        ],
    );
    // A compiled file: NULs all around the key.
    std::fs::write(
        dir.path().join("blob.bin"),
        [b"\0\0\0".as_slice(), token.as_bytes(), b"\0\x01\x02"].concat(),
    )
    .unwrap();
    let limited = [
        "scan",
        ".",
        "--exclude",
        "vendor/**",
        "--max-file-size",
        "1K",
    ];
    let out = run_in(dir.path(), &[&limited[..], &["-f", "json"]].concat());
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let paths = |report: &serde_json::Value| -> Vec<String> {
        report["findings"][0]["occurrences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["path"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(paths(&report), ["blob.bin"], "binary scanned by default");
    let summary = &report["summary"];
    assert_eq!(summary["files_skipped"], 2, "{summary}");
    assert_eq!(summary["skipped"]["too_large"], 1, "{summary}");
    assert_eq!(summary["skipped"]["excluded"], 1, "{summary}");
    assert_eq!(summary["skipped"]["binary"], 0, "{summary}");

    // --skip-binary restores the old behaviour, and says so: human, JSON, SARIF, --verbose.
    let out = run_in(
        dir.path(),
        &[&limited[..], &["--skip-binary", "-v"]].concat(),
    );
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out).contains("3 files skipped (too large: 1, binary: 1, excluded: 1)"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        stderr(&out),
        "keyhound: skipped big.txt: too large (4138 bytes, the limit is 1024)\n\
         keyhound: skipped blob.bin: binary (--skip-binary)\n\
         keyhound: skipped vendor/lib.txt: excluded\n"
    );
    let out = run_in(
        dir.path(),
        &[&limited[..], &["--skip-binary", "-f", "sarif"]].concat(),
    );
    let properties = &json(&out)["runs"][0]["properties"];
    assert_eq!(properties["filesSkipped"], 3, "{properties}");
    assert_eq!(properties["skipped"]["binary"], 1, "{properties}");
    assert!(stderr(&out).is_empty(), "no listing without -v");

    let out = run_in(
        dir.path(),
        &["scan", ".", "--exclude", "vendor/**", "-f", "json"],
    );
    assert_eq!(paths(&json(&out)), ["big.txt", "blob.bin"]);
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_reported_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("loop/a/secret.txt", &github_pat(9))]);
    std::os::unix::fs::symlink("..", dir.path().join("loop/a/back")).unwrap();
    let out = run_in(
        dir.path(),
        &["scan", ".", "--follow-symlinks", "-f", "json"],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(json(&out)["findings"][0]["path"], "loop/a/secret.txt");
    assert!(
        stderr(&out).to_lowercase().contains("loop"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn large_single_line_file_is_streamed_and_positions_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_pat(10);
    let filler = "x=1;".repeat(20 << 20); // 80 MiB on one line, above the streaming threshold
    let path = dir.path().join("huge.min.js");
    std::fs::write(&path, format!("{filler}{token};")).unwrap();
    let out = run_in(
        dir.path(),
        &["scan", "huge.min.js", "--max-file-size", "0", "-f", "json"],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let f = &json(&out)["findings"][0];
    assert_eq!(f["line"], 1);
    assert_eq!(f["column"].as_u64(), Some(filler.len() as u64 + 1));
}

#[test]
fn invalid_utf8_and_empty_files_are_fine() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_pat(11);
    std::fs::write(dir.path().join("empty"), b"").unwrap();
    std::fs::write(
        dir.path().join("latin1.txt"),
        [b"caf\xe9 \xff ".as_slice(), token.as_bytes()].concat(),
    )
    .unwrap();
    let out = run_in(dir.path(), &["scan", ".", "-f", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(json(&out)["findings"][0]["column"], 8);
}

#[test]
fn sarif_output_is_produced() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_pat(12);
    write_tree(
        dir.path(),
        &[(
            ".github/workflows/ci.yml",
            &format!("env:\n  TOKEN: {token}\n"),
        )],
    );
    let out = run_in(dir.path(), &["scan", ".", "-f", "sarif"]);
    assert_eq!(code(&out), 1);
    let sarif = json(&out);
    assert_eq!(sarif["version"], "2.1.0");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "github.pat.classic");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        ".github/workflows/ci.yml"
    );
    assert!(!stdout(&out).contains(&token));
}

#[test]
fn human_output_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_pat(13);
    write_tree(
        dir.path(),
        &[
            ("deploy/prod.env", &format!("GITHUB_TOKEN={token}\n")),
            ("deploy/dev.env", &format!("GITHUB_TOKEN={token}\n")),
        ],
    );
    let out = run_in(dir.path(), &["scan", "deploy", "--color", "never"]);
    assert_eq!(code(&out), 1);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"in \d+(\.\d+)? ?[mµn]?s", "in [TIME]");
    settings.add_filter(r"[0-9a-f]{32}", "[FINGERPRINT]");
    settings.bind(|| insta::assert_snapshot!(stdout(&out)));
}

/// A fake credential of `kind` (a marker of `testdata/planted`) and the rule that must find it.
fn planted_value(kind: &str, seed: u64) -> (String, &'static str) {
    use base64::Engine as _;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const DIGITS: &[u8] = b"0123456789";
    const URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const HEX: &[u8] = b"0123456789abcdef";
    let r = |salt: u64, alphabet: &[u8], len: usize| random_string(seed * 31 + salt, alphabet, len);
    match kind {
        "stripe_live" => (
            format!("sk_live_{}", r(1, ALNUM, 99)),
            "stripe.secret-key.live",
        ),
        "sendgrid" => (
            format!("SG.{}.{}", r(2, URL, 22), r(3, URL, 43)),
            "sendgrid.api-key",
        ),
        "postgres_url" => (
            format!(
                "postgres://billing:{}@db.internal:5432/billing",
                r(4, ALNUM, 20)
            ),
            "postgres.connection-uri",
        ),
        "password" => (
            format!("{}!{}", r(5, ALNUM, 9), r(6, ALNUM, 6)),
            "generic.password",
        ),
        "slack_bot" => (
            format!(
                "xoxb-{}-{}-{}",
                r(7, DIGITS, 12),
                r(8, DIGITS, 13),
                r(9, ALNUM, 24)
            ),
            "slack.bot-token",
        ),
        "slack_webhook" => (
            format!(
                "https://hooks.slack.com/services/T{}/B{}/{}",
                r(10, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
                r(11, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 10),
                r(12, ALNUM, 24)
            ),
            "slack.webhook",
        ),
        "anthropic" => (
            format!("sk-ant-api03-{}AA", r(13, URL, 93)),
            "anthropic.api-key",
        ),
        "github_pat" => (github_pat(seed * 31 + 14), "github.pat.classic"),
        "jwt" => {
            let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
            let claims = format!(
                r#"{{"sub":"svc-export-{}","iat":1718031114}}"#,
                r(15, DIGITS, 6)
            );
            let payload = URL_SAFE_NO_PAD.encode(claims);
            (
                format!("{header}.{payload}.{}", r(16, URL, 43)),
                "jwt.token",
            )
        }
        "rsa_private_key" => {
            let body: Vec<u8> = r(17, ALNUM, 900).into_bytes();
            let encoded = STANDARD.encode(body);
            let lines: Vec<&str> = encoded
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
                .collect();
            (
                format!(
                    "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
                    lines.join("\n")
                ),
                "private-key.rsa",
            )
        }
        "aws_key_id" => (
            format!("AKIA{}", r(18, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
            "aws.access-key-id",
        ),
        "aws_secret" => (
            r(
                19,
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                40,
            ),
            "aws.secret-access-key",
        ),
        "gcp_api_key" => (format!("AIza{}", r(20, URL, 35)), "gcp.api-key"),
        "azure_storage_cs" => (
            format!(
                "DefaultEndpointsProtocol=https;AccountName=ledgerprod;AccountKey={}==;EndpointSuffix=core.windows.net",
                r(
                    21,
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                    86
                )
            ),
            "azure.storage.connection-string",
        ),
        "entra_secret" => (
            format!("{}8Q~{}", r(22, ALNUM, 3), r(23, URL, 34)),
            "azure.entra.client-secret",
        ),
        "k8s_b64_password" => (STANDARD.encode(r(24, ALNUM, 18)), "kubernetes.secret.data"),
        "npm_token" => (
            keyhound_engine::validate::crc32_base62_token("npm_", &r(25, ALNUM, 30)),
            "npm.access-token",
        ),
        "docker_auth" => (
            STANDARD.encode(format!("ledgerci:{}", r(26, ALNUM, 20))),
            "docker.config.auth",
        ),
        // What `kubectl create secret docker-registry` stores under `.dockerconfigjson`.
        "dockerconfigjson" => {
            let password = r(71, ALNUM, 24);
            let auth = STANDARD.encode(format!("payments-ci:{password}"));
            (
                format!(
                    r#"{{"auths":{{"ghcr.io":{{"username":"payments-ci","password":"{password}","auth":"{auth}"}}}}}}"#
                ),
                "docker.config.auth",
            )
        }
        "openai_project" => (
            format!("sk-proj-{}T3BlbkFJ{}", r(27, URL, 64), r(28, URL, 64)),
            "openai.project-key",
        ),
        "hf_token" => (
            format!("hf_{}", r(29, &ALNUM[..52], 34)),
            "huggingface.access-token",
        ),
        "gitlab_pat" => (format!("glpat-{}", r(30, URL, 20)), "gitlab.pat"),
        "twilio_api_key" => (format!("SK{}", r(31, HEX, 32)), "twilio.api-key"),
        "mailgun" => (
            format!("key-{}", r(32, b"abcdefghijklmnopqrstuvwxyz0123456789", 32)),
            "mailgun.api-key.legacy",
        ),
        "shopify" => (format!("shpat_{}", r(33, HEX, 32)), "shopify.admin-token"),
        "datadog_api" => (r(34, HEX, 32), "datadog.api-key"),
        "digitalocean" => (format!("dop_v1_{}", r(35, HEX, 64)), "digitalocean.pat"),
        "doppler" => (format!("dp.st.{}", r(36, ALNUM, 43)), "doppler.token"),
        "terraform_cloud" => (
            format!("{}.atlasv1.{}", r(37, ALNUM, 14), r(38, URL, 67)),
            "terraform-cloud.api-token",
        ),
        "vault" => (format!("hvs.{}", r(39, URL, 90)), "vault.service-token"),
        "pypi" => (
            format!("pypi-AgEIcHlwaS5vcmc{}", r(40, URL, 120)),
            "pypi.upload-token",
        ),
        "discord_webhook" => (
            format!(
                "https://discord.com/api/webhooks/{}/{}",
                r(41, DIGITS, 19),
                r(42, URL, 68)
            ),
            "discord.webhook",
        ),
        "telegram" => (
            format!("{}:AA{}", r(43, DIGITS, 10), r(44, URL, 33)),
            "telegram.bot-token",
        ),
        "okta" => (format!("00{}", r(45, URL, 40)), "okta.api-token"),
        "sentry_dsn" => (
            format!(
                "https://{}@o{}.ingest.sentry.io/{}",
                r(46, HEX, 32),
                r(47, DIGITS, 6),
                r(48, DIGITS, 7)
            ),
            "sentry.dsn",
        ),
        "grafana" => (
            format!("glsa_{}_{}", r(49, ALNUM, 32), r(50, HEX, 8)),
            "grafana.service-account-token",
        ),
        "cloudflare" => (r(51, URL, 40), "cloudflare.api-token"),
        "linear" => (format!("lin_api_{}", r(52, ALNUM, 40)), "linear.api-key"),
        "notion" => (
            format!("ntn_{}{}", r(53, DIGITS, 11), r(54, ALNUM, 35)),
            "notion.integration-token",
        ),
        "databricks" => (format!("dapi{}", r(55, HEX, 32)), "databricks.pat"),
        "heroku" => (format!("HRKU-{}", r(56, URL, 60)), "heroku.api-key"),
        "square" => (format!("EAAA{}", r(57, URL, 60)), "square.access-token"),
        "planetscale" => (
            format!("pscale_pw_{}", r(58, URL, 43)),
            "planetscale.password",
        ),
        "mongodb_atlas" => (
            format!(
                "mongodb+srv://api-prod:{}@cluster0.x7k2p.mongodb.net/shop?retryWrites=true",
                r(59, ALNUM, 20)
            ),
            "mongodb.atlas.connection-uri",
        ),
        "mysql_url" => (
            format!(
                "mysql://shop:{}@mysql-primary.prod:3306/shop",
                r(60, ALNUM, 18)
            ),
            "mysql.connection-uri",
        ),
        "basic_auth_url" => (
            format!(
                "https://ci-reader:{}@artifacts.corp.internal/simple",
                r(61, ALNUM, 18)
            ),
            "url.basic-auth.http",
        ),
        "gcp_oauth_secret" => (
            format!("GOCSPX-{}", r(62, URL, 28)),
            "gcp.oauth-client-secret",
        ),
        "rubygems" => (format!("rubygems_{}", r(63, HEX, 48)), "rubygems.api-key"),
        "dockerhub" => (
            format!("dckr_pat_{}", r(64, URL, 27)),
            "dockerhub.access-token",
        ),
        "newrelic" => (
            format!("NRAK-{}", r(65, &ALNUM[..26], 27)),
            "newrelic.user-key",
        ),
        "supabase" => (format!("sbp_{}", r(66, HEX, 40)), "supabase.pat"),
        "netrc_password" => (r(67, ALNUM, 22), "netrc.password"),
        "pypirc_password" => (
            format!("{}-{}", r(68, ALNUM, 10), r(69, ALNUM, 10)),
            "pypi.pypirc.password",
        ),
        "openssh_private_key" => {
            let mut body =
                b"openssh-key-v1\0\0\0\0\x04none\0\0\0\x04none\0\0\0\0\0\0\0\x01".to_vec();
            body.extend(r(70, ALNUM, 360).into_bytes());
            let encoded = STANDARD.encode(body);
            let lines: Vec<&str> = encoded
                .as_bytes()
                .chunks(70)
                .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
                .collect();
            (
                format!(
                    "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----",
                    lines.join("\n")
                ),
                "private-key.openssh",
            )
        }
        other => planted_from_table(other, seed),
    }
}

/// `value` written as `encoding` (the part of a marker after `|`, `@@kind|base64@@`) spells it:
/// `base64`; `percent` (every byte but `A-Za-z0-9-._~` as `%XX`, as a URL's query parameter
/// carries it); `json` (a JSON string's escapes, as a serializer writes them: a PEM's newlines
/// become `\n`); `json-slash` (also `/` as `\/`, as PHP's `json_encode` writes it);
/// `json-html` (also `+`, `&`, `<`, `>` and `'` as `\u002B`..., as .NET's `System.Text.Json` and
/// Go's `encoding/json` write them); `hex` (lowercase, as `xxd -p` writes it).
fn planted_encoding(value: &str, encoding: &str) -> String {
    use base64::Engine as _;
    let json = || {
        let quoted = serde_json::to_string(value).expect("a string serializes");
        quoted[1..quoted.len() - 1].to_string()
    };
    match encoding {
        "base64" => base64::engine::general_purpose::STANDARD.encode(value),
        "percent" => value
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect(),
        "json" => json(),
        "json-slash" => json().replace('/', "\\/"),
        "json-html" => json()
            .chars()
            .map(|c| match c {
                '+' | '&' | '<' | '>' | '\'' => format!("\\u{:04X}", u32::from(c)),
                c => c.to_string(),
            })
            .collect(),
        "hex" => value.bytes().map(|b| format!("{b:02x}")).collect(),
        other => panic!("unknown marker encoding {other}"),
    }
}

/// A marker kind listed in `testdata/planted/kinds.tsv` (kind, rule, template): the template's
/// `{X:n}` pieces become `n` random characters of alphabet `X`, `{uuid}` a random UUID, and
/// `{age}` / `{nsec}` a Bech32 age identity / Nostr key with a valid checksum.
fn planted_from_table(kind: &str, seed: u64) -> (String, &'static str) {
    static TABLE: std::sync::OnceLock<Vec<(String, &'static str, String)>> =
        std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let text =
            std::fs::read_to_string(testdata().join("planted/kinds.tsv")).expect("kinds.tsv");
        text.lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let mut parts = l.splitn(3, '\t');
                let (Some(k), Some(rule), Some(template)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    panic!("kinds.tsv: want kind, rule, template: {l:?}")
                };
                let rule: &'static str = Box::leak(rule.to_string().into_boxed_str());
                (k.to_string(), rule, template.to_string())
            })
            .collect()
    });
    let (_, rule, template) = table
        .iter()
        .find(|(k, _, _)| k == kind)
        .unwrap_or_else(|| panic!("unknown marker kind {kind}"));
    let mut out = String::new();
    let mut rest = template.as_str();
    let mut salt = 0;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = open + rest[open..].find('}').expect("closing brace");
        let piece = &rest[open + 1..close];
        salt += 1;
        let r = |alphabet: &[u8], len: usize| random_string(seed * 131 + salt, alphabet, len);
        let value = match piece {
            "uuid" => {
                let h = r(b"0123456789abcdef", 32);
                format!(
                    "{}-{}-{}-{}-{}",
                    &h[..8],
                    &h[8..12],
                    &h[12..16],
                    &h[16..20],
                    &h[20..]
                )
            }
            "age" | "nsec" => {
                let bytes = r(b"0123456789abcdef", 64);
                let data: Vec<u8> = (0..32)
                    .map(|i| u8::from_str_radix(&bytes[2 * i..2 * i + 2], 16).expect("hex"))
                    .collect();
                if piece == "age" {
                    keyhound_engine::validate::bech32_encode("age-secret-key-", &data)
                        .to_ascii_uppercase()
                } else {
                    keyhound_engine::validate::bech32_encode("nsec", &data)
                }
            }
            _ => {
                let (alphabet, len) = piece.split_once(':').expect("{X:n}");
                let alphabet: &[u8] = match alphabet {
                    "A" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                    "H" => b"0123456789abcdef",
                    "D" => b"0123456789",
                    "U" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                    "B" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                    "L" => b"abcdefghijklmnopqrstuvwxyz0123456789",
                    "C" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
                    "Z" => b"abcdefghijklmnopqrstuvwxyz234567",
                    "P" => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*._~-",
                    other => panic!("unknown alphabet {other}"),
                };
                r(alphabet, len.parse().expect("length"))
            }
        };
        out.push_str(&value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    (out, rule)
}

#[test]
fn planted_corpus_precision_and_recall() {
    let dir = tempfile::tempdir().expect("tempdir");
    let planted = testdata().join("planted");
    // (path, first line, last line, rule id) of every planted secret, and how it is encoded.
    let mut expected = Vec::new();
    let mut encodings = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&planted)
        .expect("testdata/planted")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "tmpl"))
        .collect();
    entries.sort();
    for (n, template) in entries.iter().enumerate() {
        // `dot-npmrc.tmpl` becomes `.npmrc`.
        let stem = template
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let name = stem
            .strip_prefix("dot-")
            .map_or(stem.clone(), |rest| format!(".{rest}"));
        let text = std::fs::read_to_string(template).expect("template");
        let mut out = String::new();
        let mut line = 1;
        for (i, piece) in text.split("@@").enumerate() {
            if i % 2 == 1 {
                let (kind, encoding) = piece
                    .split_once('|')
                    .map_or((piece, None), |(kind, e)| (kind, Some(e)));
                let (value, rule) = planted_value(kind, (n * 100 + i) as u64);
                let value = encoding.map_or(value.clone(), |e| planted_encoding(&value, e));
                let last = line + value.matches('\n').count();
                expected.push((name.clone(), line, last, rule));
                encodings.push(encoding.map(str::to_string));
                line = last;
                out.push_str(&value);
            } else {
                line += piece.matches('\n').count();
                out.push_str(piece);
            }
        }
        std::fs::write(dir.path().join(&name), out).expect("write");
    }
    let kinds: std::collections::HashSet<_> = expected.iter().map(|e| e.3).collect();
    assert!(
        expected.len() >= 150 && kinds.len() >= 100,
        "{} secrets of {} kinds",
        expected.len(),
        kinds.len()
    );
    let encoded: std::collections::HashSet<_> = encodings.iter().flatten().collect();
    assert!(
        encoded.len() >= 6 && encodings.iter().flatten().count() >= 20,
        "encoded secrets: {encodings:?}"
    );
    // `benches/compare-detection.py` runs other scanners over the same files: it asks for a copy.
    if let Some(out) = std::env::var_os("KEYHOUND_PLANTED_OUT") {
        let out = std::path::PathBuf::from(out);
        std::fs::create_dir_all(out.join("files")).expect("create KEYHOUND_PLANTED_OUT");
        for entry in std::fs::read_dir(dir.path()).expect("corpus") {
            let path = entry.expect("entry").path();
            std::fs::copy(
                &path,
                out.join("files").join(path.file_name().expect("name")),
            )
            .expect("copy");
        }
        let listing: Vec<_> = expected
            .iter()
            .zip(&encodings)
            .map(|((path, first, last, rule), encoding)| serde_json::json!({"path": path, "first_line": first, "last_line": last, "rule": rule, "encoding": encoding}))
            .collect();
        std::fs::write(
            out.join("expected.json"),
            serde_json::to_string_pretty(&listing).expect("json"),
        )
        .expect("write expected.json");
    }
    let clean = testdata().join("clean");
    let output = run_in(
        dir.path(),
        &[
            "scan",
            "-q",
            "--format",
            "json",
            ".",
            clean.to_str().expect("utf-8 path"),
        ],
    );
    let report = json(&output);
    let mut found = Vec::new();
    for finding in report["findings"].as_array().expect("findings") {
        for occurrence in finding["occurrences"].as_array().expect("occurrences") {
            found.push((
                occurrence["path"].as_str().expect("path").to_string(),
                occurrence["line"].as_u64().expect("line") as usize,
                finding["rule_id"].as_str().expect("rule").to_string(),
            ));
        }
    }
    let hits = |(path, line, rule): &(String, usize, String),
                (p, first, last, r): &(String, usize, usize, &str)| {
        p == path && (first..=last).contains(&line) && r == rule
    };
    let true_positives = found
        .iter()
        .filter(|f| expected.iter().any(|e| hits(f, e)))
        .count();
    let missed: Vec<_> = expected
        .iter()
        .filter(|e| !found.iter().any(|f| hits(f, e)))
        .collect();
    let false_alarms: Vec<_> = found
        .iter()
        .filter(|f| !expected.iter().any(|e| hits(f, e)))
        .collect();
    let precision = true_positives as f64 / found.len().max(1) as f64;
    let recall = (expected.len() - missed.len()) as f64 / expected.len() as f64;
    assert!(
        precision >= 0.98 && recall >= 0.98,
        "precision {precision:.3}, recall {recall:.3}\nmissed: {missed:?}\nfalse alarms: {false_alarms:?}"
    );
    assert_eq!(code(&output), 1);
}

#[test]
fn history_finds_a_deleted_secret_with_the_commit_that_introduced_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    commit(repo, &[("README.md", "# billing\n")], "Initial commit");
    let token = github_pat(41);
    let introduced = commit(
        repo,
        &[(
            "deploy/release.sh",
            &format!("#!/bin/sh\nexport GITHUB_TOKEN={token}\n"),
        )],
        "Add release script",
    );
    // The same content again elsewhere, then both removed: one blob, scanned once.
    commit(
        repo,
        &[(
            "deploy/copy.sh",
            &format!("#!/bin/sh\nexport GITHUB_TOKEN={token}\n"),
        )],
        "Copy the script",
    );
    git(repo, &["rm", "-q", "deploy/release.sh", "deploy/copy.sh"]);
    git(repo, &["commit", "-q", "-m", "Remove scripts"]);
    // Packed objects (the common case) are read by traversing the pack once.
    git(repo, &["gc", "-q"]);
    // A blob that no commit holds (dangling) is still in the object database: reported as
    // unreachable, never dropped.
    let dangling = dir.path().join("dangling.txt");
    let orphan = github_pat(42);
    std::fs::write(&dangling, format!("GITHUB_TOKEN={orphan}\n")).expect("write");
    let orphan_blob = git(
        repo,
        &["hash-object", "-w", dangling.to_str().expect("utf-8")],
    );
    std::fs::remove_file(&dangling).expect("remove");

    let out = run_in(
        repo,
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 2, "{report}");
    let unreachable = finding(&report, &orphan);
    assert_eq!(unreachable["lifecycle"]["status"], "unreachable");
    assert_eq!(
        unreachable["path"],
        format!("(unreachable blob {})", orphan_blob.trim())
    );

    let found = finding(&report, &token);
    // Every path the secret appeared under, each with the commit that first put it there.
    let occurrences = found["occurrences"].as_array().expect("occurrences");
    assert_eq!(occurrences.len(), 2, "{report}");
    let occurrence = &occurrences[1];
    assert_eq!(occurrence["path"], "deploy/release.sh");
    assert_eq!(occurrence["line"], 2);
    assert_eq!(occurrence["column"], 21);
    let commit = &occurrence["commit"];
    assert_eq!(commit["id"], introduced.as_str());
    assert_eq!(commit["author"], "Dana Deploy <dana@ledger.invalid>");
    assert_eq!(commit["summary"], "Add release script");
    assert_eq!(commit["date"], 1_709_632_800);
    assert_eq!(occurrences[0]["path"], "deploy/copy.sh");
    assert_eq!(occurrences[0]["commit"]["summary"], "Copy the script");
    let lifecycle = &found["lifecycle"];
    assert_eq!(lifecycle["status"], "removed");
    assert_eq!(lifecycle["present_at_head"], false);
    assert_eq!(lifecycle["refs"], serde_json::json!([]));
    assert_eq!(lifecycle["first_seen"]["id"], introduced.as_str());
    assert_eq!(lifecycle["removed_in"]["summary"], "Remove scripts");
    assert_eq!(
        found["owner"]["introduced_by"],
        "Dana Deploy <dana@ledger.invalid>"
    );
    let nhi: Vec<&str> = found["nhi"]
        .as_array()
        .expect("nhi")
        .iter()
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert!(nhi.contains(&"NHI9"), "two paths: {nhi:?}");

    // The working tree alone no longer holds it.
    let tree_only = run_in(repo, &["scan", "-q", "--no-history", "."]);
    assert_eq!(code(&tree_only), 0, "{}", stdout(&tree_only));
}

#[test]
fn history_reports_presence_at_head_and_narrows_to_a_branch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let at_head = github_pat(43);
    commit(
        repo,
        &[(".env", &format!("GITHUB_TOKEN={at_head}\n"))],
        "Add env",
    );
    git(repo, &["checkout", "-q", "-b", "feature"]);
    let on_branch = github_pat(44);
    commit(
        repo,
        &[("feature.env", &format!("GITHUB_TOKEN={on_branch}\n"))],
        "Feature env",
    );
    git(repo, &["checkout", "-q", "main"]);

    let all = json(&run_in(
        repo,
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    ));
    let secrets: Vec<&str> = all["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["secret"].as_str().expect("secret shown"))
        .collect();
    assert_eq!(secrets.len(), 2, "{all}");
    assert!(secrets.contains(&at_head.as_str()) && secrets.contains(&on_branch.as_str()));
    let head_flag = |secret: &str| finding(&all, secret)["lifecycle"]["present_at_head"].clone();
    assert_eq!(head_flag(&at_head), serde_json::Value::Bool(true));
    assert_eq!(head_flag(&on_branch), serde_json::Value::Bool(false));
    let refs_of = |secret: &str| finding(&all, secret)["lifecycle"]["refs"].clone();
    assert_eq!(
        refs_of(&at_head),
        serde_json::json!(["refs/heads/feature", "refs/heads/main"])
    );
    assert_eq!(
        refs_of(&on_branch),
        serde_json::json!(["refs/heads/feature"])
    );
    let human = stdout(&run_in(repo, &["scan", "-q", "--color", "never", "."]));
    assert!(
        human.contains("active, not at HEAD but in refs/heads/feature"),
        "{human}"
    );

    let main_only = json(&run_in(
        repo,
        &[
            "scan",
            "-q",
            "--format",
            "json",
            "--show-secrets",
            "--branch",
            "main",
            ".",
        ],
    ));
    let findings = main_only["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{main_only}");
    assert_eq!(findings[0]["secret"], at_head.as_str());
}

#[test]
fn bare_and_empty_repositories() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    git_init(&work);
    commit(
        &work,
        &[("config.yml", &format!("token: {}\n", github_pat(45)))],
        "Add config",
    );
    git(dir.path(), &["clone", "-q", "--bare", "work", "bare.git"]);
    let bare = run_in(dir.path(), &["scan", "-q", "--format", "json", "bare.git"]);
    assert_eq!(code(&bare), 1, "{}", stderr(&bare));
    assert_eq!(json(&bare)["findings"][0]["path"], "bare.git/config.yml");

    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    git_init(&empty);
    let out = run_in(&empty, &["scan", "-q", "."]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn a_corrupt_object_is_reported_and_other_findings_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let kept = github_pat(46);
    commit(
        repo,
        &[("a.env", &format!("GITHUB_TOKEN={kept}\n"))],
        "Add a",
    );
    commit(
        repo,
        &[("b.env", &format!("GITHUB_TOKEN={}\n", github_pat(47)))],
        "Add b",
    );
    // Overwrite b.env's loose blob with bytes that do not inflate.
    let blob = git(repo, &["rev-parse", "HEAD:b.env"]);
    let object = repo.join(".git/objects").join(&blob[..2]).join(&blob[2..]);
    let mut permissions = std::fs::metadata(&object).expect("object").permissions();
    #[allow(
        clippy::permissions_set_readonly_false,
        reason = "git makes objects read-only"
    )]
    permissions.set_readonly(false);
    std::fs::set_permissions(&object, permissions).expect("writable");
    std::fs::write(&object, b"not a zlib stream").expect("corrupt blob");

    let out = run_in(
        repo,
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&blob),
        "names the object: {}{}",
        stderr(&out),
        stdout(&out)
    );
    let report = json(&out);
    assert_eq!(report["findings"].as_array().expect("findings").len(), 1);
    assert_eq!(report["findings"][0]["secret"], kept.as_str());
    assert_eq!(
        report["summary"]["errors"]
            .as_array()
            .expect("errors")
            .len(),
        1
    );
    assert_eq!(report["summary"]["skipped"]["unreadable"], 1);
}

#[test]
fn staged_scans_only_what_the_next_commit_adds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let committed = github_pat(51);
    commit(
        repo,
        &[("old.env", &format!("GITHUB_TOKEN={committed}\n"))],
        "Old secret",
    );
    let staged = github_pat(52);
    write_tree(
        repo,
        &[
            (
                "app/config.py",
                &format!("# settings\nDEBUG = False\nTOKEN = \"{staged}\"\n"),
            ),
            (
                "unstaged.env",
                &format!("GITHUB_TOKEN={}\n", github_pat(53)),
            ),
            (
                "allowed.py",
                &format!("FIXTURE = \"{}\"  # keyhound:allow\n", github_pat(54)),
            ),
        ],
    );
    // A staged edit of a committed file: only the secret it adds is new.
    let added = github_pat(56);
    write_tree(
        repo,
        &[(
            "old.env",
            &format!("GITHUB_TOKEN={committed}\nDEPLOY_TOKEN={added}\n"),
        )],
    );
    git(repo, &["add", "app/config.py", "allowed.py", "old.env"]);

    let out = run_in(
        repo,
        &[
            "scan",
            "--staged",
            "-q",
            "--format",
            "json",
            "--show-secrets",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 2, "{report}");
    let config = finding(&report, &staged);
    assert_eq!(config["path"], "app/config.py");
    assert_eq!(config["line"], 3);
    let edited = finding(&report, &added);
    assert_eq!(edited["path"], "old.env");
    assert_eq!(edited["line"], 2);
    assert!(stderr(&out).contains("commit blocked"), "{}", stderr(&out));
    assert!(stderr(&out).contains("keyhound:allow"), "{}", stderr(&out));

    // From a subdirectory the same repository is found.
    let sub = run_in(&repo.join("app"), &["scan", "--staged", "-q"]);
    assert_eq!(code(&sub), 1);

    git(repo, &["commit", "-q", "-m", "Add config"]);
    let clean = run_in(repo, &["scan", "--staged", "-q"]);
    assert_eq!(code(&clean), 0, "{}", stdout(&clean));
}

#[test]
fn hook_install_writes_a_hook_that_blocks_a_secret_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let out = run_in(repo, &["hook", "install"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let hook = repo.join(".git/hooks/pre-commit");
    let script = std::fs::read_to_string(&hook).expect("hook written");
    assert!(script.contains("keyhound scan --staged"), "{script}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&hook).expect("hook").permissions().mode();
        assert_eq!(mode & 0o111, 0o111, "executable");
    }
    let again = run_in(repo, &["hook", "install"]);
    assert_eq!(code(&again), 2);
    assert!(stderr(&again).contains("--force"), "{}", stderr(&again));
    assert_eq!(code(&run_in(repo, &["hook", "install", "--force"])), 0);

    // The hook really blocks: run it with this keyhound first on PATH.
    write_tree(
        repo,
        &[(
            "deploy.sh",
            &format!("export GITHUB_TOKEN={}\n", github_pat(55)),
        )],
    );
    git(repo, &["add", "deploy.sh"]);
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_keyhound"))
        .parent()
        .expect("bin dir");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let blocked = std::process::Command::new(&hook)
        .current_dir(repo)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .output()
        .expect("hook runs");
    assert_eq!(blocked.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&blocked.stdout).contains("deploy.sh:1:"));
}

#[test]
fn since_commit_scans_only_what_later_commits_introduced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let old = github_pat(61);
    let base = commit(
        repo,
        &[("old.env", &format!("GITHUB_TOKEN={old}\n"))],
        "Old secret",
    );
    let new = github_pat(62);
    let added = github_pat(63);
    let pushed = commit(
        repo,
        &[
            ("ci/deploy.yml", &format!("env:\n  GITHUB_TOKEN: {new}\n")),
            (
                "old.env",
                &format!("GITHUB_TOKEN={old}\n# touched\nDEPLOY_TOKEN={added}\n"),
            ),
        ],
        "Add deploy workflow",
    );
    let out = run_in(
        repo,
        &[
            "scan",
            "-q",
            "--format",
            "json",
            "--show-secrets",
            "--since-commit",
            &base[..10],
            ".",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let findings = report["findings"].as_array().expect("findings");
    // old.env changed after the base, but the secret it already held is not new: only the
    // line the push added is reported there.
    let mut secrets: Vec<&str> = findings
        .iter()
        .map(|f| f["secret"].as_str().expect("secret"))
        .collect();
    secrets.sort_unstable();
    let mut expected = vec![new.as_str(), added.as_str()];
    expected.sort_unstable();
    assert_eq!(secrets, expected, "{report}");
    let touched = finding(&report, &added);
    assert_eq!(touched["path"], "old.env");
    assert_eq!(touched["line"], 3);
    let deploy = finding(&report, &new);
    assert_eq!(deploy["path"], "ci/deploy.yml");
    assert_eq!(deploy["line"], 2);
    assert_eq!(deploy["occurrences"][0]["commit"]["id"], pushed.as_str());

    // The CI form: SARIF for code scanning, each result naming its commit.
    let sarif = json(&run_in(
        repo,
        &[
            "scan",
            "-q",
            "--format",
            "sarif",
            "--since-commit",
            &base,
            ".",
        ],
    ));
    let results = sarif["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{sarif}");
    assert!(
        results
            .iter()
            .all(|r| r["properties"]["commit"]["id"] == pushed.as_str()),
        "{sarif}"
    );
    assert!(!sarif.to_string().contains(&new), "no secret in SARIF");

    let nothing_new = run_in(repo, &["scan", "-q", "--since-commit", "HEAD", "."]);
    assert_eq!(code(&nothing_new), 0, "{}", stdout(&nothing_new));

    let bad = run_in(repo, &["scan", "-q", "--since-commit", "no-such-rev", "."]);
    assert_eq!(code(&bad), 2);
    assert!(stderr(&bad).contains("no-such-rev"), "{}", stderr(&bad));

    let not_repo = run_in(repo, &["scan", "-q", "--since-commit", "HEAD", "ci"]);
    assert_eq!(code(&not_repo), 2);
    assert!(
        stderr(&not_repo).contains("git repository"),
        "{}",
        stderr(&not_repo)
    );
}

#[test]
fn shallow_clones_submodules_and_detached_heads_are_scanned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let upstream = dir.path().join("upstream");
    std::fs::create_dir(&upstream).expect("mkdir");
    git_init(&upstream);
    let old = github_pat(71);
    commit(
        &upstream,
        &[("old.env", &format!("GITHUB_TOKEN={old}\n"))],
        "Old",
    );
    let recent = github_pat(72);
    commit(
        &upstream,
        &[("new.env", &format!("GITHUB_TOKEN={recent}\n"))],
        "New",
    );
    let url = format!("file://{}", upstream.display());

    // A shallow clone holds only the last commit: its secrets are found, nothing fails.
    git(
        dir.path(),
        &["clone", "-q", "--depth", "1", &url, "shallow"],
    );
    let out = run_in(
        &dir.path().join("shallow"),
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let secrets: Vec<String> = json(&out)["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["secret"].as_str().expect("secret").to_string())
        .collect();
    assert!(
        secrets.contains(&recent) && secrets.contains(&old),
        "{secrets:?}"
    );

    // A superproject with a submodule and a detached HEAD.
    let superproject = dir.path().join("super");
    std::fs::create_dir(&superproject).expect("mkdir");
    git_init(&superproject);
    commit(&superproject, &[("README.md", "# super\n")], "Init");
    git(
        &superproject,
        &[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "-q",
            "add",
            &url,
            "vendor/upstream",
        ],
    );
    git(&superproject, &["commit", "-q", "-m", "Add submodule"]);
    let own = github_pat(73);
    commit(
        &superproject,
        &[("app.env", &format!("GITHUB_TOKEN={own}\n"))],
        "App env",
    );
    git(&superproject, &["checkout", "-q", "--detach", "HEAD~1"]);
    let out = run_in(
        &superproject,
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(
        findings.len(),
        1,
        "the submodule's own history is its own repository: {report}"
    );
    assert_eq!(findings[0]["secret"], own.as_str());
    assert_eq!(findings[0]["lifecycle"]["present_at_head"], false);
    assert!(
        report["summary"]["errors"]
            .as_array()
            .expect("errors")
            .is_empty(),
        "{report}"
    );
}

#[test]
fn a_missing_blob_of_the_history_is_reported_and_other_findings_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let kept = github_pat(81);
    commit(
        repo,
        &[("a.env", &format!("GITHUB_TOKEN={kept}\n"))],
        "Add a",
    );
    commit(repo, &[("notes/b.txt", "nothing secret here\n")], "Add b");
    let blob = git(repo, &["rev-parse", "HEAD:notes/b.txt"]);
    std::fs::remove_file(repo.join(".git/objects").join(&blob[..2]).join(&blob[2..]))
        .expect("remove blob");

    let out = run_in(
        repo,
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&blob) && err.contains("notes/b.txt") && err.contains("missing"),
        "{err}"
    );
    let report = json(&out);
    assert_eq!(report["findings"][0]["secret"], kept.as_str());
    assert_eq!(
        report["summary"]["errors"]
            .as_array()
            .expect("errors")
            .len(),
        1
    );

    // A clean partial clone with a missing blob: an error, exit 2. (Without findings the
    // history walk runs only where objects may be missing: a partial clone, or an object
    // database that could not all be read.)
    let clean = dir.path().join("clean");
    std::fs::create_dir(&clean).expect("mkdir");
    git_init(&clean);
    git(&clean, &["config", "extensions.partialClone", "origin"]);
    commit(&clean, &[("readme.txt", "hello\n")], "Init");
    let blob = git(&clean, &["rev-parse", "HEAD:readme.txt"]);
    std::fs::remove_file(clean.join(".git/objects").join(&blob[..2]).join(&blob[2..]))
        .expect("remove");
    let out = run_in(&clean, &["scan", "-q", "."]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn exclude_globs_apply_to_history_staged_and_pushed_paths() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let kept = github_pat(81);
    let base = commit(
        repo,
        &[
            ("app/deploy.sh", &format!("export GITHUB_TOKEN={kept}\n")),
            (
                "fixtures/tokens.env",
                &format!("GITHUB_TOKEN={}\n", github_pat(82)),
            ),
        ],
        "Add deploy script and fixtures",
    );
    commit(
        repo,
        &[
            (
                "vendor/lib/config.py",
                &format!("TOKEN = \"{}\"\n", github_pat(83)),
            ),
            (
                "app/test_data.json",
                &format!("{{\"token\": \"{}\"}}\n", github_pat(84)),
            ),
        ],
        "Vendor a library",
    );
    let secrets = |out: &std::process::Output| -> Vec<String> {
        let mut found: Vec<String> = json(out)["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| f["secret"].as_str().expect("secret").to_string())
            .collect();
        found.sort();
        found
    };
    let excluding = [
        "--exclude",
        "fixtures",
        "--exclude",
        "vendor/lib",
        "--exclude",
        "*.json",
    ];
    let mut args = vec!["scan", "-q", "--format", "json", "--show-secrets"];
    args.extend(excluding);

    // Full history: a directory name, a directory path and a file glob.
    let mut history = args.clone();
    history.push(".");
    assert_eq!(secrets(&run_in(repo, &history)), [kept]);
    // Without them, all four.
    let all = run_in(
        repo,
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(secrets(&all).len(), 4);

    // What a push adds: the two files of the second commit, both excluded.
    let mut pushed = args.clone();
    pushed.extend(["--since-commit", base.as_str(), "."]);
    let out = run_in(repo, &pushed);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(
        json(&out)["summary"]["skipped"]["excluded"],
        2,
        "counted, not silent"
    );

    // What is staged.
    write_tree(
        repo,
        &[(
            "fixtures/more.env",
            &format!("GITHUB_TOKEN={}\n", github_pat(85)),
        )],
    );
    git(repo, &["add", "fixtures/more.env"]);
    let mut staged = args.clone();
    staged.push("--staged");
    let out = run_in(repo, &staged);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert_eq!(json(&out)["summary"]["skipped"]["excluded"], 1);
    let unexcluded = run_in(repo, &["scan", "-q", "--staged"]);
    assert_eq!(code(&unexcluded), 1);
}

#[test]
fn hook_install_follows_core_hooks_path_and_linked_worktrees() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path().join("main");
    std::fs::create_dir(&repo).expect("mkdir");
    git_init(&repo);
    commit(&repo, &[("README.md", "# app\n")], "Initial commit");

    // A linked worktree shares the main repository's hooks.
    let linked = dir.path().join("linked");
    git(
        &repo,
        &[
            "worktree",
            "add",
            "-q",
            "-b",
            "feature",
            linked.to_str().expect("utf-8"),
        ],
    );
    let out = run_in(&linked, &["hook", "install"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(repo.join(".git/hooks/pre-commit").is_file());

    // core.hooksPath (as husky and others set it), relative to the working tree.
    git(&repo, &["config", "core.hooksPath", ".githooks"]);
    let out = run_in(&repo, &["hook", "install"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let hook = repo.join(".githooks/pre-commit");
    let script = std::fs::read_to_string(&hook).expect("hook written under core.hooksPath");
    assert!(script.contains("keyhound scan --staged"), "{script}");
}

/// Baselines, the configuration file, inline allows, code-scanning SARIF, gitleaks import and
/// the CI recipes.
mod battery;
mod ci;

#[test]
fn history_findings_carry_their_lifecycle_owners_and_history_nhi_risks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let alice = ("Alice Admin", "alice@ledger.invalid");
    let bob = ("Bob Builder", "bob@ledger.invalid");
    let carol = ("Carol Contractor", "carol@ledger.invalid");
    let (rotated, current, dropped, side) = (
        github_pat(91),
        github_pat(92),
        github_pat(93),
        github_pat(94),
    );
    let env = |token: &str| format!("APP=ledger\nGITHUB_TOKEN={token}\n");
    commit_as(
        repo,
        &[
            (
                ".github/CODEOWNERS",
                Some("* @org/everyone\n/deploy/ @org/sre\n"),
            ),
            ("README.md", Some("# ledger\n")),
        ],
        "Initial commit",
        alice,
        "2023-01-01T10:00:00Z",
    );
    let introduced = commit_as(
        repo,
        &[("deploy/prod/app.env", Some(&env(&rotated)))],
        "Production settings",
        alice,
        "2023-01-10T10:00:00Z",
    );
    let copied = commit_as(
        repo,
        &[("deploy/staging/app.env", Some(&env(&rotated)))],
        "Staging settings",
        bob,
        "2023-02-01T10:00:00Z",
    );
    // Rotation: the production file gets a new token, staging loses it.
    let rotation = commit_as(
        repo,
        &[
            ("deploy/prod/app.env", Some(&env(&current))),
            ("deploy/staging/app.env", None),
        ],
        "Rotate the token",
        alice,
        "2023-03-01T10:00:00Z",
    );
    commit_as(
        repo,
        &[("notes/old.txt", Some(&format!("token {dropped}\n")))],
        "Notes",
        bob,
        "2023-04-01T10:00:00Z",
    );
    let removal = commit_as(
        repo,
        &[("notes/old.txt", None)],
        "Drop the notes",
        bob,
        "2023-05-01T10:00:00Z",
    );
    // A secret on a side branch only.
    git(repo, &["checkout", "-q", "-b", "feature"]);
    commit_as(
        repo,
        &[("feature.env", Some(&format!("GITHUB_TOKEN={side}\n")))],
        "Feature",
        carol,
        "2023-05-02T10:00:00Z",
    );
    git(repo, &["checkout", "-q", "main"]);
    // The newest commit: Bob, over a year later, touches the token's line (a comment) and
    // moves it down a line; Alice has been quiet since the rotation.
    commit_as(
        repo,
        &[
            ("README.md", Some("# ledger\n\nnow with docs\n")),
            (
                "deploy/prod/app.env",
                Some(&format!(
                    "# production\nAPP=ledger\nGITHUB_TOKEN={current} # rotated in March\n"
                )),
            ),
        ],
        "Docs",
        bob,
        "2024-06-01T10:00:00Z",
    );

    let out = run_in(
        repo,
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["findings"].as_array().expect("findings").len(), 4);
    let day = 86_400;
    let date_of = |rev: &str| -> i64 {
        git(repo, &["show", "-s", "--format=%ct", rev])
            .parse()
            .expect("date")
    };
    let newest = date_of("main");

    // Rotated: replaced, removed in the rotation commit, in two environments.
    let f = finding(&report, &rotated);
    let life = &f["lifecycle"];
    assert_eq!(life["status"], "replaced", "{f}");
    assert_eq!(life["first_seen"]["id"], introduced.as_str());
    assert_eq!(
        life["first_seen"]["author"],
        "Alice Admin <alice@ledger.invalid>"
    );
    assert_eq!(life["last_seen"]["id"], copied.as_str());
    assert_eq!(life["removed_in"]["id"], rotation.as_str());
    assert_eq!(life["present_at_head"], false);
    assert_eq!(life["refs"], serde_json::json!([]));
    assert_eq!(
        life["exposure_days"],
        (date_of(&rotation) - date_of(&introduced)) / day
    );
    let paths: Vec<(&str, &str)> = f["occurrences"]
        .as_array()
        .expect("occurrences")
        .iter()
        .map(|o| {
            (
                o["path"].as_str().expect("path"),
                o["commit"]["id"].as_str().expect("commit"),
            )
        })
        .collect();
    assert_eq!(
        paths,
        [
            ("deploy/prod/app.env", introduced.as_str()),
            ("deploy/staging/app.env", copied.as_str())
        ]
    );
    assert_eq!(f["owner"]["codeowners"], serde_json::json!(["@org/sre"]));
    assert_eq!(
        f["owner"]["introduced_by"],
        "Alice Admin <alice@ledger.invalid>"
    );
    let ids = |f: &serde_json::Value| -> Vec<String> {
        f["nhi"]
            .as_array()
            .expect("nhi")
            .iter()
            .map(|r| r["id"].as_str().expect("id").to_string())
            .collect()
    };
    assert!(ids(f).contains(&"NHI8".to_string()), "{}", f["nhi"]);
    assert!(ids(f).contains(&"NHI9".to_string()), "{}", f["nhi"]);
    assert!(
        !ids(f).contains(&"NHI1".to_string()),
        "removed: {}",
        f["nhi"]
    );

    // Current: active at HEAD, overdue, its introducer gone quiet (NHI1), its line blamed.
    let f = finding(&report, &current);
    let life = &f["lifecycle"];
    assert_eq!(life["status"], "active");
    assert_eq!(life["present_at_head"], true);
    assert_eq!(
        life["refs"],
        serde_json::json!(["refs/heads/feature", "refs/heads/main"])
    );
    assert_eq!(life["removed_in"], serde_json::Value::Null);
    assert_eq!(life["exposure_days"], (newest - date_of(&rotation)) / day);
    assert_eq!(life["overdue"], true);
    assert_eq!(
        f["owner"]["introduced_by"],
        "Alice Admin <alice@ledger.invalid>"
    );
    assert_eq!(
        f["owner"]["last_touched_by"],
        "Bob Builder <bob@ledger.invalid>"
    );
    // Where it entered (line 2, by the rotation) and where HEAD has it now (line 3).
    let places: Vec<(u64, bool)> = f["occurrences"]
        .as_array()
        .expect("occurrences")
        .iter()
        .map(|o| {
            (
                o["line"].as_u64().expect("line"),
                o["at_head"].as_bool().unwrap_or(false),
            )
        })
        .collect();
    assert_eq!(places, [(2, false), (3, true)], "{f}");
    let nhi1 = f["nhi"]
        .as_array()
        .expect("nhi")
        .iter()
        .find(|r| r["id"] == "NHI1")
        .unwrap_or_else(|| panic!("NHI1: {}", f["nhi"]));
    assert!(
        nhi1["reason"]
            .as_str()
            .expect("reason")
            .contains("Alice Admin"),
        "{nhi1}"
    );

    // Dropped: removed, not replaced, 30 days exposed.
    let f = finding(&report, &dropped);
    assert_eq!(f["lifecycle"]["status"], "removed");
    assert_eq!(f["lifecycle"]["removed_in"]["id"], removal.as_str());
    assert_eq!(f["lifecycle"]["exposure_days"], 30);
    assert_eq!(
        f["owner"]["codeowners"],
        serde_json::json!(["@org/everyone"])
    );

    // Side branch only: active through the branch, not at HEAD.
    let f = finding(&report, &side);
    assert_eq!(f["lifecycle"]["status"], "active");
    assert_eq!(f["lifecycle"]["present_at_head"], false);
    assert_eq!(
        f["lifecycle"]["refs"],
        serde_json::json!(["refs/heads/feature"])
    );
    assert_eq!(
        f["owner"]["introduced_by"],
        "Carol Contractor <carol@ledger.invalid>"
    );

    // --as-of moves "now": a month after the rotation, nothing is overdue or offboarded yet.
    let early = json(&run_in(
        repo,
        &[
            "scan",
            "-q",
            "--format",
            "json",
            "--show-secrets",
            "--as-of",
            "2023-03-31",
            ".",
        ],
    ));
    let f = finding(&early, &current);
    assert_eq!(f["lifecycle"]["exposure_days"], 30);
    assert_eq!(f["lifecycle"]["overdue"], false);
    assert!(!ids(f).contains(&"NHI1".to_string()), "{}", f["nhi"]);

    // The human report: status, age and owner per finding, then counts by risk and owner.
    let human = stdout(&run_in(repo, &["scan", "-q", "--color", "never", "."]));
    assert!(
        human.contains("replaced in ") && human.contains("overdue for rotation"),
        "{human}"
    );
    assert!(human.contains("owner        @org/sre"), "{human}");
    assert!(
        human.contains("by NHI risk") && human.contains("by owner"),
        "{human}"
    );

    // A working-tree scan: the same CODEOWNERS, status active.
    let tree = json(&run_in(
        repo,
        &[
            "scan",
            "-q",
            "--format",
            "json",
            "--show-secrets",
            "--no-history",
            ".",
        ],
    ));
    let f = finding(&tree, &current);
    assert_eq!(f["lifecycle"]["status"], "active");
    assert_eq!(f["owner"]["codeowners"], serde_json::json!(["@org/sre"]));
}

#[test]
fn without_codeowners_at_head_owners_come_from_each_introducing_commits_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let dev = ("Dana Dev", "dana@ledger.invalid");
    let (first, second, third) = (github_pat(71), github_pat(72), github_pat(73));
    let env = |token: &str| format!("GITHUB_TOKEN={token}\n");
    commit_as(
        repo,
        &[("CODEOWNERS", Some("* @org/everyone\n/svc/ @org/svc-v1\n"))],
        "Owners",
        dev,
        "2023-01-01T10:00:00Z",
    );
    // Two secrets under the same CODEOWNERS text, one after it changed.
    for (i, (path, token)) in [("svc/a.env", &first), ("svc/b.env", &second)]
        .into_iter()
        .enumerate()
    {
        commit_as(
            repo,
            &[(path, Some(&env(token)))],
            "Settings",
            dev,
            &format!("2023-02-0{}T10:00:00Z", i + 1),
        );
    }
    commit_as(
        repo,
        &[("CODEOWNERS", Some("* @org/everyone\n/svc/ @org/svc-v2\n"))],
        "New owners",
        dev,
        "2023-03-01T10:00:00Z",
    );
    commit_as(
        repo,
        &[("svc/c.env", Some(&env(&third)))],
        "More settings",
        dev,
        "2023-03-02T10:00:00Z",
    );
    commit_as(
        repo,
        &[("CODEOWNERS", None)],
        "No more owners",
        dev,
        "2023-04-01T10:00:00Z",
    );

    let out = run_in(
        repo,
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    for (token, team) in [
        (&first, "@org/svc-v1"),
        (&second, "@org/svc-v1"),
        (&third, "@org/svc-v2"),
    ] {
        let f = finding(&report, token);
        assert_eq!(f["owner"]["codeowners"], serde_json::json!([team]), "{f}");
    }
}

#[test]
fn utf16_and_utf32_files_are_decoded_and_scanned_with_their_own_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = github_pat(101);
    let text = format!("# settings\r\nGITHUB_TOKEN={token}\r\n");
    let utf16le: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let utf16be: Vec<u8> = [0xFE, 0xFF]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    let utf32le: Vec<u8> = [0xFF, 0xFE, 0x00, 0x00]
        .into_iter()
        .chain(text.chars().flat_map(|c| u32::from(c).to_le_bytes()))
        .collect();
    for (name, bytes) in [
        ("le.env", &utf16le),
        ("be.env", &utf16be),
        ("wide.env", &utf32le),
    ] {
        std::fs::write(dir.path().join(name), bytes).expect("write");
    }
    let out = run_in(
        dir.path(),
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let found = finding(&report, &token);
    let places: Vec<(&str, u64, u64)> = found["occurrences"]
        .as_array()
        .expect("occurrences")
        .iter()
        .map(|o| {
            (
                o["path"].as_str().expect("path"),
                o["line"].as_u64().expect("line"),
                o["column"].as_u64().expect("column"),
            )
        })
        .collect();
    assert_eq!(
        places,
        [("be.env", 2, 14), ("le.env", 2, 14), ("wide.env", 2, 14)],
        "{report}"
    );
}

#[test]
fn a_staged_utf16_file_reports_only_the_secrets_its_change_brings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let utf16 = |text: &str| -> Vec<u8> {
        [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect()
    };
    let (old, new) = (github_pat(111), github_pat(112));
    std::fs::write(repo.join("app.env"), utf16(&format!("TOKEN={old}\r\n"))).expect("write");
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "settings"]);
    // An edit that keeps the old secret: nothing new.
    std::fs::write(
        repo.join("app.env"),
        utf16(&format!("# edited\r\nTOKEN={old}\r\n")),
    )
    .expect("write");
    git(repo, &["add", "-A"]);
    let out = run_in(repo, &["scan", "--staged", "-q"]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    // An edit that adds a secret: that one only.
    std::fs::write(
        repo.join("app.env"),
        utf16(&format!("TOKEN={old}\r\nOTHER={new}\r\n")),
    )
    .expect("write");
    git(repo, &["add", "-A"]);
    let out = run_in(
        repo,
        &[
            "scan",
            "--staged",
            "-q",
            "--format",
            "json",
            "--show-secrets",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let secrets: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["secret"].as_str().expect("secret"))
        .collect();
    assert_eq!(secrets, [new.as_str()], "{report}");
}

#[test]
fn a_secret_added_and_removed_on_a_side_branch_is_removed_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let who = ("Dana Deploy", "dana@ledger.invalid");
    commit_as(
        repo,
        &[("README.md", Some("# ledger\n"))],
        "Initial commit",
        who,
        "2024-01-01T10:00:00Z",
    );
    git(repo, &["checkout", "-q", "-b", "topic"]);
    let token = github_pat(121);
    commit_as(
        repo,
        &[("topic.env", Some(&format!("GITHUB_TOKEN={token}\n")))],
        "Try the token",
        who,
        "2024-01-02T10:00:00Z",
    );
    let removal = commit_as(
        repo,
        &[("topic.env", None)],
        "Take it out again",
        who,
        "2024-01-05T10:00:00Z",
    );
    git(repo, &["checkout", "-q", "main"]);

    let out = run_in(
        repo,
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    let life = &finding(&report, &token)["lifecycle"];
    assert_eq!(life["status"], "removed", "{life}");
    assert_eq!(life["removed_in"]["id"], removal.as_str());
    assert_eq!(life["refs"], serde_json::json!([]));
    assert_eq!(life["exposure_days"], 3);
}

/// A zip of `files` (name, contents), deflated.
fn zipped(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, contents) in files {
        writer
            .start_file(*name, zip::write::SimpleFileOptions::default())
            .expect("zip entry");
        writer.write_all(contents).expect("zip write");
    }
    writer.finish().expect("zip").into_inner()
}

/// A gzip-compressed tar of `files` (name, contents).
fn tar_gz(files: &[(&str, &[u8])]) -> Vec<u8> {
    let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for (name, contents) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, *contents)
            .expect("tar entry");
    }
    builder
        .into_inner()
        .and_then(|encoder| encoder.finish())
        .expect("tar.gz")
}

/// Each occurrence's (path, line, column) in a JSON report.
fn places(report: &serde_json::Value) -> Vec<(String, u64, u64)> {
    let mut places: Vec<(String, u64, u64)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .flat_map(|f| f["occurrences"].as_array().expect("occurrences"))
        .map(|o| {
            (
                o["path"].as_str().expect("path").to_string(),
                o["line"].as_u64().expect("line"),
                o["column"].as_u64().expect("column"),
            )
        })
        .collect();
    places.sort();
    places
}

/// Runs keyhound with `args`, `input` piped to its standard input.
fn run_with_stdin(args: &[&str], input: &[u8]) -> std::process::Output {
    use std::io::Write;
    let mut child = keyhound()
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("pipe");
    child.wait_with_output().expect("wait")
}

/// Writes into `dir` the archives of the archive tests: `dist/a.zip`, holding `conf/app.env`
/// (`app_env`) and `lib/b.jar`, whose `c/d.properties` holds `properties`; and `tgz_name`, a
/// tar.gz whose `pkg/.env` holds `dot_env`. Returns the tar.gz.
fn write_archives(
    dir: &std::path::Path,
    app_env: &str,
    properties: &str,
    tgz_name: &str,
    dot_env: &str,
) -> Vec<u8> {
    let jar = zipped(&[("c/d.properties", properties.as_bytes())]);
    let zip = zipped(&[("conf/app.env", app_env.as_bytes()), ("lib/b.jar", &jar)]);
    std::fs::create_dir(dir.join("dist")).expect("mkdir");
    std::fs::write(dir.join("dist/a.zip"), &zip).expect("write");
    let tgz = tar_gz(&[("pkg/.env", dot_env.as_bytes())]);
    std::fs::write(dir.join(tgz_name), &tgz).expect("write");
    tgz
}

#[test]
fn archive_members_are_scanned_under_nested_names_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (in_zip, in_jar, in_tgz) = (github_pat(111), github_pat(112), github_pat(113));
    // The tar.gz is named like text, found by its magic bytes.
    let tgz = write_archives(
        dir.path(),
        &format!("A=1\nGITHUB_TOKEN={in_zip}\n"),
        &format!("# db\n\ngithub.token = {in_jar}\n"),
        "release.bin",
        &format!("T={in_tgz}\n"),
    );

    let out = run_in(dir.path(), &["scan", "-q", "--format", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(
        places(&report),
        [
            ("dist/a.zip!conf/app.env".to_string(), 2, 14),
            ("dist/a.zip!lib/b.jar!c/d.properties".to_string(), 3, 16),
            ("release.bin!pkg/.env".to_string(), 1, 3),
        ],
        "{report:#}"
    );

    let out = run_in(dir.path(), &["scan", "-q", "--format", "sarif", "."]);
    let sarif = json(&out);
    let mut regions: Vec<(&str, u64, u64)> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            let at = &r["locations"][0]["physicalLocation"];
            let region = &at["region"];
            (
                at["artifactLocation"]["uri"].as_str().expect("uri"),
                region["startLine"].as_u64().expect("line"),
                region["startColumn"].as_u64().expect("column"),
            )
        })
        .collect();
    regions.sort_unstable();
    assert_eq!(
        regions,
        [
            ("dist/a.zip!conf/app.env", 2, 14),
            ("dist/a.zip!lib/b.jar!c/d.properties", 3, 16),
            ("release.bin!pkg/.env", 1, 3),
        ]
    );

    // One archive given on the command line; human output names the member, not the secret.
    let out = run_in(dir.path(), &["scan", "dist/a.zip"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("dist/a.zip!conf/app.env:2:14"), "{text}");
    assert!(
        text.contains("dist/a.zip!lib/b.jar!c/d.properties:3:16"),
        "{text}"
    );
    assert!(!text.contains(&in_zip) && !text.contains(&in_jar), "{text}");

    // Piped in: a stream, its members named after `-`.
    let out = run_with_stdin(&["scan", "-q", "-", "--format", "json"], &tgz);
    assert_eq!(code(&out), 1);
    assert_eq!(places(&json(&out)), [("-!pkg/.env".to_string(), 1, 3)]);

    // --no-archives: archives are binary files again, scanned as they are (their compressed
    // members show nothing), or skipped with --skip-binary.
    let out = run_in(
        dir.path(),
        &["scan", "-q", "--format", "json", "--no-archives", "."],
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["summary"]["files_skipped"], 0);
    let out = run_in(
        dir.path(),
        &[
            "scan",
            "-q",
            "--format",
            "json",
            "--no-archives",
            "--skip-binary",
            ".",
        ],
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert_eq!(json(&out)["summary"]["skipped"]["binary"], 2);
}

#[test]
fn exclude_globs_skip_archive_members_and_count_them_as_excluded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (in_zip, in_jar, in_tgz) = (github_pat(121), github_pat(122), github_pat(123));
    let tgz = write_archives(
        dir.path(),
        &format!("GITHUB_TOKEN={in_zip}\n"),
        &format!("github.token = {in_jar}\n"),
        "release.tgz",
        &format!("T={in_tgz}\n"),
    );

    // A name glob matches members at any depth, nested archives' included; a path glob
    // matches a member's path in its archive, or its whole name from the scan root.
    for (globs, left) in [
        (
            &["*.properties"][..],
            ["dist/a.zip!conf/app.env", "release.tgz!pkg/.env"],
        ),
        (
            &["pkg/**"][..],
            [
                "dist/a.zip!conf/app.env",
                "dist/a.zip!lib/b.jar!c/d.properties",
            ],
        ),
        (
            &["dist/a.zip!conf/*"][..],
            [
                "dist/a.zip!lib/b.jar!c/d.properties",
                "release.tgz!pkg/.env",
            ],
        ),
    ] {
        let mut args = vec!["scan", "-q", "--format", "json", "-v"];
        for glob in globs {
            args.extend(["--exclude", glob]);
        }
        args.push(".");
        let out = run_in(dir.path(), &args);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        let report = json(&out);
        let paths: Vec<String> = places(&report).into_iter().map(|p| p.0).collect();
        assert_eq!(paths, left, "{globs:?}");
        assert_eq!(report["summary"]["skipped"]["excluded"], 1, "{report:#}");
        assert_eq!(report["summary"]["skipped"]["archive"], 0, "{report:#}");
        assert!(
            stderr(&out).contains(": excluded"),
            "--verbose names it: {}",
            stderr(&out)
        );
    }
    // Without --verbose an excluded member is counted, not announced.
    let out = run_in(dir.path(), &["scan", "--exclude", "*.properties", "."]);
    assert!(!stderr(&out).contains("excluded"), "{}", stderr(&out));

    // A stream's members too.
    let out = run_with_stdin(
        &["scan", "-q", "-", "--format", "json", "--exclude", ".env"],
        &tgz,
    );
    assert_eq!(code(&out), 0);
    assert_eq!(json(&out)["summary"]["skipped"]["excluded"], 1);
}

#[test]
fn a_zip_bomb_is_reported_and_skipped_and_a_corrupt_archive_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let token = github_pat(114);
    let bomb = zipped(&[("zeros.bin", &vec![0u8; 8 << 20]), ("ok.txt", b"hello\n")]);
    std::fs::write(dir.path().join("bomb.zip"), &bomb).expect("write");
    let out = run_in(dir.path(), &["scan", "--format", "json", "."]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("bomb.zip!zeros.bin") && err.contains("compression ratio over 100:1"),
        "{err}"
    );
    let summary = &json(&out)["summary"];
    assert_eq!(
        (
            summary["files_scanned"].as_u64(),
            summary["files_skipped"].as_u64()
        ),
        (Some(1), Some(1)),
        "{summary}"
    );

    // Thousands of skips (a nested bomb) are all counted, and the first ten named.
    let deep = zipped(&[("l2.zip", &zipped(&[("l3.zip", &zipped(&[("x", b"x")]))]))]);
    let copies: Vec<(String, &[u8])> = (0..12)
        .map(|i| (format!("l1-{i}.zip"), &deep[..]))
        .collect();
    let copies: Vec<(&str, &[u8])> = copies.iter().map(|(n, b)| (n.as_str(), *b)).collect();
    let nested = tempfile::tempdir().expect("tempdir");
    std::fs::write(nested.path().join("nested.zip"), zipped(&copies)).expect("write");
    let out = run_in(nested.path(), &["scan", "--format", "json", "."]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(json(&out)["summary"]["files_skipped"], 12);
    let err = stderr(&out);
    let named = err.matches("keyhound: skipped nested.zip!l1-").count();
    assert_eq!(named, 10, "{err}");
    assert!(err.contains("nested more than 3 deep"), "{err}");
    assert!(err.contains("skipped 2 more in the same archive"), "{err}");

    // A corrupt archive beside a good file: named, and the good file's finding reported.
    std::fs::write(
        dir.path().join("good.env"),
        format!("GITHUB_TOKEN={token}\n"),
    )
    .expect("write");
    let mut broken = zipped(&[("a.txt", b"alpha\n")]);
    broken.truncate(20);
    std::fs::write(dir.path().join("broken.jar"), &broken).expect("write");
    let out = run_in(dir.path(), &["scan", "--format", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("error: broken.jar: unreadable zip archive"),
        "{err}"
    );
    let report = json(&out);
    assert_eq!(places(&report), [("good.env".to_string(), 1, 14)]);
    assert_eq!(
        report["summary"]["errors"].as_array().map(Vec::len),
        Some(1)
    );
    // Alone, it makes the exit code 2.
    std::fs::remove_file(dir.path().join("good.env")).expect("remove");
    let out = run_in(dir.path(), &["scan", "-q", "."]);
    assert_eq!(code(&out), 2, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn archives_in_git_history_are_opened_and_their_members_placed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let token = github_pat(115);
    let init = commit(repo, &[("README.md", "# app\n")], "Init");
    let bundle = zipped(&[(
        "WEB-INF/classes/app.properties",
        format!("name=app\ngithub.token={token}\n").as_bytes(),
    )]);
    std::fs::create_dir(repo.join("deploy")).expect("mkdir");
    std::fs::write(repo.join("deploy/app.war"), &bundle).expect("write");
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "Add the war"]);
    let added = git(repo, &["rev-parse", "HEAD"]);
    git(repo, &["rm", "-q", "deploy/app.war"]);
    git(repo, &["commit", "-q", "-m", "Remove the war"]);

    let out = run_in(repo, &["scan", "-q", "--format", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(
        places(&report),
        [(
            "deploy/app.war!WEB-INF/classes/app.properties".to_string(),
            2,
            14
        )],
        "{report:#}"
    );
    let found = &report["findings"][0];
    assert_eq!(
        found["occurrences"][0]["commit"]["id"],
        added.as_str(),
        "{found:#}"
    );
    assert_eq!(found["lifecycle"]["status"], "removed", "{found:#}");

    // The CI check of a range, and the pre-commit check of a staged archive.
    let out = run_in(
        repo,
        &[
            "scan",
            "-q",
            "--format",
            "json",
            "--since-commit",
            &init,
            ".",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        places(&json(&out)),
        [(
            "deploy/app.war!WEB-INF/classes/app.properties".to_string(),
            2,
            14
        )]
    );
    std::fs::write(repo.join("staged.zip"), &bundle).expect("write");
    git(repo, &["add", "staged.zip"]);
    let out = run_in(repo, &["scan", "-q", "--format", "json", "--staged"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        places(&json(&out)),
        [(
            "staged.zip!WEB-INF/classes/app.properties".to_string(),
            2,
            14
        )]
    );
    // A changed archive: only the secret its new version brings, not the one it held.
    git(repo, &["commit", "-q", "-m", "Add staged.zip"]);
    let added = github_pat(116);
    let changed = zipped(&[
        (
            "WEB-INF/classes/app.properties",
            format!("name=app\ngithub.token={token}\n").as_bytes(),
        ),
        ("extra.env", format!("TOKEN={added}\n").as_bytes()),
    ]);
    std::fs::write(repo.join("staged.zip"), &changed).expect("write");
    git(repo, &["add", "staged.zip"]);
    let out = run_in(repo, &["scan", "-q", "--format", "json", "--staged"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(
        places(&json(&out)),
        [("staged.zip!extra.env".to_string(), 1, 7)]
    );

    let out = run_in(repo, &["scan", "-q", "--no-archives", "."]);
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn a_corrupt_archive_in_history_is_named_by_its_blob_and_other_findings_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let repo = dir.path();
    git_init(repo);
    let token = github_pat(117);
    // A gzip header, then bytes that are no deflate stream.
    let mut broken = vec![0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff];
    broken.extend(std::iter::repeat_n(0xffu8, 64));
    std::fs::write(repo.join("backup.tgz"), &broken).expect("write");
    commit(
        repo,
        &[("app.env", &format!("GITHUB_TOKEN={token}\n"))],
        "Add the app and a backup",
    );
    let blob = git(repo, &["rev-parse", "HEAD:backup.tgz"]);

    let out = run_in(repo, &["scan", "-q", "--format", "json", "."]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    assert_eq!(places(&report), [("app.env".to_string(), 1, 14)]);
    let errors = report["summary"]["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 1, "{report:#}");
    let error = errors[0].as_str().expect("message");
    assert!(
        error.starts_with(&format!("blob {blob}")) && error.contains("corrupt"),
        "{error}"
    );
}

#[test]
fn an_image_pull_secret_is_reported_only_when_its_docker_config_holds_a_credential() {
    use base64::Engine as _;
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let password = random_string(
        360,
        b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789",
        24,
    );
    let auth = b64(&format!("deploy-bot:{password}"));
    let with_auth = b64(&format!(
        r#"{{"auths":{{"registry.example.invalid":{{"username":"deploy-bot","password":"{password}","auth":"{auth}"}}}}}}"#
    ));
    let store_only = b64(r#"{"auths":{"https://index.docker.io/v1/":{}},"credsStore":"desktop"}"#);
    let helpers =
        b64(r#"{"credHelpers":{"123456789012.dkr.ecr.us-east-1.amazonaws.com":"ecr-login"}}"#);
    let manifest = |value: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n\
             type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: {value}\n"
        )
    };
    let dir = tempfile::tempdir().expect("tempdir");
    write_tree(
        dir.path(),
        &[
            ("k8s/regcred.yaml", &manifest(&with_auth)),
            ("k8s/store.yaml", &manifest(&store_only)),
            ("k8s/helpers.yaml", &manifest(&helpers)),
        ],
    );
    let out = run_in(
        dir.path(),
        &[&SCAN_JSON[..], &["--no-history", "."]].concat(),
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let report = json(&out);
    // No rule reports the configs that only name a credential store or helpers (it was a
    // kubernetes.secret.data finding, on `.dockerconfigjson` by its name alone).
    for finding in report["findings"].as_array().expect("findings") {
        assert_eq!(finding["path"], "k8s/regcred.yaml", "{finding:#}");
    }
    let pull_secret = finding(&report, &with_auth);
    assert_eq!(pull_secret["rule_id"], "kubernetes.secret.dockerconfigjson");
    assert_eq!(pull_secret["line"], 7);
}

#[test]
fn codeowners_lines_left_out_are_warned_about_and_the_rest_still_apply() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let token = github_pat(81);
    let codeowners =
        "* @org/everyone\n/deploy/[z-a]/ @org/broken\n!vendor/ @org/nobody\n/deploy/ @org/sre\n";
    write_tree(
        root,
        &[
            ("CODEOWNERS", codeowners),
            ("deploy/app.env", &format!("GITHUB_TOKEN={token}\n")),
        ],
    );
    let out = run_in(
        root,
        &["scan", "-q", "--format", "json", "--show-secrets", "."],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("warning: ")
            && err.contains("CODEOWNERS:2: pattern `/deploy/[z-a]/` left out"),
        "{err}"
    );
    assert!(
        err.contains("CODEOWNERS:3: pattern `!vendor/` left out"),
        "{err}"
    );
    assert_eq!(err.matches("warning: ").count(), 2, "{err}");
    let report = json(&out);
    let f = finding(&report, &token);
    assert_eq!(
        f["owner"]["codeowners"],
        serde_json::json!(["@org/sre"]),
        "{f}"
    );

    // In a repository, the file at HEAD is named so.
    git_init(root);
    commit_as(
        root,
        &[("CODEOWNERS", Some(codeowners))],
        "Owners",
        ("Dana Dev", "dana@ledger.invalid"),
        "2023-01-01T10:00:00Z",
    );
    let out = run_in(root, &["scan", "-q", "--format", "json", "."]);
    let err = stderr(&out);
    assert!(
        err.contains("CODEOWNERS at HEAD:2: pattern `/deploy/[z-a]/` left out"),
        "{err}"
    );
    // Each line once, though the file served both the working tree's and the history's
    // findings.
    assert_eq!(err.matches("warning: ").count(), 2, "{err}");
}
