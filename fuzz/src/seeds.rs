//! Seed inputs of every target, built from the built-in rules' examples and negative examples
//! and a few hand-made inputs. The smoke test runs and mutates them; written to a directory
//! (`KEYHOUND_FUZZ_SEEDS=corpus cargo test --no-default-features --test smoke`), they start a
//! libFuzzer corpus. The git object targets' real seeds come from `keyhound-sources`' test.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use crate::inputs::BUILTIN;

/// Every example and negative example of the built-in rules.
fn examples() -> Vec<&'static str> {
    BUILTIN
        .rules()
        .iter()
        .flat_map(|r| r.rule.examples.iter().chain(&r.rule.negative_examples))
        .map(String::as_str)
        .collect()
}

fn utf16(text: &str, big: bool, bom: bool) -> Vec<u8> {
    let mut out: Vec<u8> = match (bom, big) {
        (false, _) => Vec::new(),
        (true, false) => vec![0xff, 0xfe],
        (true, true) => vec![0xfe, 0xff],
    };
    for unit in text.encode_utf16() {
        out.extend(if big {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    out
}

fn utf32(text: &str, bom: bool) -> Vec<u8> {
    let mut out = if bom {
        vec![0xff, 0xfe, 0, 0]
    } else {
        Vec::new()
    };
    for c in text.chars() {
        out.extend(u32::from(c).to_le_bytes());
    }
    out
}

const CODEOWNERS: &str = "# owners\n* @org/everyone\n*.tf @org/infra\n/deploy/ @org/sre ops@example.org\n\
    docs/ @writers # the docs team\n\\#odd @hash\n[Backend][2] @backend-leads\napp/\n\
    ^[Security] @security\nconfig/ \nmy\\ file.txt @spaced\n\0deploy/k8s/app.yaml\n\
    a/b/docs/guide.md\n#odd\napp/billing/keys.rb\n/config/x\n./main.tf";

const CONFIG: &str = r#"exclude = ["vendor/", "**/*.min.js"]
disable_rules = ["generic.password"]
rules = ["rules/local.toml", "/etc/keyhound/rules.toml"]
fail_on = "high"
baseline = ".keyhound-baseline.json"

[[allow]]
fingerprint = "0123456789abcdef0123456789abcdef"
reason = "test fixture"

[[allow]]
value = "^AKIA.*EXAMPLE$"
path = "^tests/"
rule = "aws.access-key-id"
reason = "documented example keys"

[[rule_paths]]
rule = "generic.password"
path = "\\.env$"

[nhi]
offboarding_days = 90

[nhi.environments]
production = ["deploy/prod/**", "*.prod.yaml"]
staging = ["deploy/staging/**"]
development = ["dev/**"]
test = ["tests/**"]
"#;

/// The seeds of `target` (empty for an unknown name).
pub fn for_target(target: &str) -> Vec<Vec<u8>> {
    match target {
        "rule_loader" => BUILTIN
            .rules()
            .iter()
            .map(|r| crate::rules::to_toml(vec![&r.rule]).into_bytes())
            .chain([b"[[rule]]\nid = \"a.b\"\n".to_vec()])
            .collect(),
        "engine_full_ruleset" => {
            let mut seeds: Vec<Vec<u8>> =
                examples().iter().map(|e| e.as_bytes().to_vec()).collect();
            // Several findings in one input, and one inside base64.
            let joined = examples()
                .iter()
                .take(40)
                .copied()
                .collect::<Vec<_>>()
                .join("\n");
            seeds.push(joined.into_bytes());
            seeds.extend(
                examples()
                    .iter()
                    .step_by(8)
                    .map(|e| STANDARD.encode(e).into_bytes()),
            );
            seeds
        }
        "decoders" => examples()
            .iter()
            .enumerate()
            .map(|(i, e)| match i % 6 {
                0 => utf16(e, false, true),
                1 => utf16(e, true, false),
                2 => utf32(e, true),
                3 => utf32(e, false),
                4 => format!("data: {}\n", STANDARD.encode(e)).into_bytes(),
                _ => URL_SAFE_NO_PAD.encode(e).into_bytes(),
            })
            .collect(),
        "codeowners" => vec![
            CODEOWNERS.as_bytes().to_vec(),
            b"* @a\nvendor/\n\0vendor/lib.js\nlib.js".to_vec(),
        ],
        "config" => vec![
            keyhound::config::TEMPLATE.as_bytes().to_vec(),
            CONFIG.as_bytes().to_vec(),
        ],
        "report_writers" => examples()
            .iter()
            .take(64)
            .map(|e| e.as_bytes().repeat(4))
            .collect(),
        "prefilter_differential" => vec![
            b"\x02\x03ghp\x04AKIA ghp_x AKIAAKIA ghpghp".to_vec(),
            b"\x00\x00aaaaaaaaaaaaaaaa".to_vec(),
        ],
        "pack_entry" => vec![vec![
            53, 120, 156, 203, 72, 205, 201, 201, 7, 0, 6, 44, 2, 21,
        ]],
        "delta_apply" => vec![b"\x05\0\0\0hello\x05\x05\x90\x05".to_vec()],
        "loose_object" => vec![vec![
            120, 156, 75, 202, 201, 79, 82, 48, 101, 200, 72, 205, 201, 201, 7, 0, 25, 170, 4, 9,
        ]],
        _ => Vec::new(),
    }
}
