//! Integration tests of the engine with the built-in rules.

mod common;

use base64::Engine as _;
use common::{builtin_engine, github_token, random_string, scan};
use keyhound_engine::{Decoding, Engine, EngineOptions, Match};
use keyhound_rules::RuleSet;

#[test]
fn every_builtin_rule_compiles_and_its_examples_hold() {
    let engine = builtin_engine();
    assert!(
        engine.rule_count() >= 300,
        "only {} rules",
        engine.rule_count()
    );
    let compile_errors = engine.compile_all();
    assert!(compile_errors.is_empty(), "{compile_errors:#?}");
    let failures = engine.check_examples();
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Checksum vectors computed outside the crate (`testdata/validator-vectors.py`: Python's zlib
/// CRC32 and a Bech32 written from BIP-173, plus vectors typed in from BIP-173 and age's test
/// kit), so a mistake the crate's encoder and checker share cannot pass.
#[test]
fn validator_vectors_built_outside_the_crate_hold() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/validator-vectors.json"
    );
    let text = std::fs::read_to_string(path).expect("testdata/validator-vectors.json");
    let vectors: Vec<serde_json::Value> = serde_json::from_str(&text).expect("vectors are JSON");
    let mut counts = std::collections::HashMap::new();
    for v in &vectors {
        let name = v["validator"].as_str().expect("validator");
        let value = v["value"].as_str().expect("value");
        let valid = v["valid"].as_bool().expect("valid");
        let validator = match name {
            "crc32-base62" => keyhound_rules::Validator::Crc32Base62,
            "bech32" => keyhound_rules::Validator::Bech32,
            other => panic!("unknown validator {other}"),
        };
        assert_eq!(
            keyhound_engine::validate::passes(validator, value.as_bytes()),
            valid,
            "{name} {value}: {}",
            v["note"]
        );
        *counts.entry((name, valid)).or_insert(0) += 1;
    }
    for key in [
        ("crc32-base62", true),
        ("crc32-base62", false),
        ("bech32", true),
        ("bech32", false),
    ] {
        assert!(
            counts.get(&key).copied().unwrap_or(0) >= 5,
            "{key:?}: {counts:?}"
        );
    }
    // End to end: the rules find the valid tokens and keys, and only those.
    let engine = builtin_engine();
    for v in &vectors {
        let value = v["value"].as_str().expect("value");
        let rule = if value.starts_with("ghp_") {
            "github.pat.classic"
        } else if value.starts_with("npm_") {
            "npm.access-token"
        } else if value.starts_with("AGE-SECRET-KEY-1") {
            "age.secret-key"
        } else if value.starts_with("nsec1") {
            "nostr.private-key"
        } else {
            continue;
        };
        let (matches, _) = scan(&engine, &format!("value = \"{value}\"\n"));
        let found = matches
            .iter()
            .any(|(id, m)| id == rule && m.secret == value.as_bytes());
        assert_eq!(found, v["valid"].as_bool() == Some(true), "{rule} {value}");
    }
}

#[test]
fn input_without_keywords_runs_no_regex_and_compiles_nothing() {
    let engine = builtin_engine();
    let text =
        "fn main() {\n    let total = items.iter().map(|i| i.price).sum::<u64>();\n}\n".repeat(500);
    let (matches, stats) = scan(&engine, &text);
    assert!(matches.is_empty());
    assert_eq!(stats.keyword_hits, 0);
    assert_eq!(stats.regex_runs, engine.unkeyed_rules() as u64);
    assert_eq!(engine.compiled_rules(), engine.unkeyed_rules());
}

#[test]
fn a_keyword_compiles_only_its_rules() {
    let engine = builtin_engine();
    let token = github_token("ghp_", 7);
    let (matches, stats) = scan(&engine, &format!("token = \"{token}\"\n"));
    assert!(
        matches
            .iter()
            .any(|(id, m)| id == "github.pat.classic" && m.secret == token.as_bytes()),
        "{matches:?}"
    );
    assert!(stats.regex_runs >= 1);
    assert!(
        engine.compiled_rules() < engine.rule_count() / 4,
        "{} compiled",
        engine.compiled_rules()
    );
}

#[test]
fn github_token_with_wrong_checksum_is_rejected() {
    let engine = builtin_engine();
    let token = github_token("ghp_", 11);
    let mut broken = token.clone().into_bytes();
    broken[8] = if broken[8] == b'A' { b'B' } else { b'A' };
    let broken = String::from_utf8(broken).unwrap();
    let (matches, _) = scan(&engine, &format!("GH_TOKEN={broken}\n"));
    assert!(
        !matches.iter().any(|(id, _)| id.starts_with("github.")),
        "{matches:?}"
    );
}

#[test]
fn documentation_examples_and_placeholders_are_not_findings() {
    let engine = builtin_engine();
    let text = "\
aws_access_key_id = AKIAIOSFODNN7EXAMPLE
aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY
SLACK_BOT_TOKEN=xoxb-your-token-here
token: ${{ secrets.GITHUB_TOKEN }}
api_key = \"<your-key>\"
password = \"changeme\"
";
    let (matches, _) = scan(&engine, text);
    assert!(matches.is_empty(), "{matches:?}");
}

#[test]
fn positions_are_one_based_lines_and_columns() {
    let engine = builtin_engine();
    let token = github_token("ghp_", 3);
    let text = format!("line one\n  export GITHUB_TOKEN={token}\n");
    let (matches, _) = scan(&engine, &text);
    let (_, m) = matches
        .iter()
        .find(|(id, _)| id == "github.pat.classic")
        .expect("found");
    assert_eq!((m.location.start.line, m.location.start.column), (2, 23));
    assert_eq!(
        (m.location.end.line, m.location.end.column),
        (2, 23 + token.len())
    );
    assert_eq!(&text[m.span.clone()], token);
}

#[test]
fn secrets_far_into_a_large_input_and_at_its_edges_are_found() {
    let engine = builtin_engine();
    let first = github_token("ghp_", 100);
    let last = github_token("gho_", 101);
    let filler = "let value = compute(input, options); // ordinary code\n".repeat(40_000);
    let text = format!("{first}\n{filler}{last}");
    let (matches, _) = scan(&engine, &text);
    let secrets: Vec<&[u8]> = matches.iter().map(|(_, m)| m.secret.as_slice()).collect();
    assert!(
        secrets.contains(&first.as_bytes()) && secrets.contains(&last.as_bytes()),
        "{matches:?}"
    );
}

#[test]
fn base64_encoded_secrets_are_found_at_the_encoded_span() {
    let engine = builtin_engine();
    let token = github_token("ghp_", 21);
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(format!("GITHUB_TOKEN={token}\n"));
    let text = format!("data:\n  config: {encoded}\n");
    let (matches, stats) = scan(&engine, &text);
    assert!(stats.decoded_runs >= 1);
    let (_, m) = matches
        .iter()
        .find(|(id, _)| id == "github.pat.classic")
        .expect("decoded token found");
    assert_eq!(m.decoded, Some(Decoding::Base64));
    assert_eq!(m.secret, token.as_bytes());
    assert_eq!(&text[m.span.clone()], encoded);
}

#[test]
fn a_base64_encoded_key_file_is_one_finding_of_its_provider() {
    // A fake service account key file, base64-encoded as Kubernetes secrets hold it: a rule
    // matches the encoded file, and another the key file once decoded. One finding of the
    // provider, the encoded file's, with or without decoding (the same fingerprint).
    let key_id = random_string(31, b"0123456789abcdef", 40);
    let body = random_string(
        32,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        1600,
    );
    let pem: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let file = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"fake-proj-1\",\n  \
         \"private_key_id\": \"{key_id}\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\",\n  \
         \"client_email\": \"ci@fake-proj-1.iam.gserviceaccount.com\"\n}}\n",
        pem.join("\\n")
    );
    let encoded = base64::engine::general_purpose::STANDARD.encode(&file);
    let text = format!("data:\n  key.json: {encoded}\n");
    let gcp = |matches: &[(String, Match)]| -> Vec<String> {
        matches
            .iter()
            .filter(|(id, _)| id.starts_with("gcp."))
            .map(|(id, _)| id.clone())
            .collect()
    };
    let engine = builtin_engine();
    let (matches, _) = scan(&engine, &text);
    assert_eq!(
        gcp(&matches),
        ["gcp.service-account-key.base64"],
        "{matches:?}"
    );
    let found = only(&matches, "gcp.service-account-key.base64");
    assert_eq!(found.secret, encoded.as_bytes());
    // The file as written is the other rule's, which names its key ID.
    let (matches, _) = scan(&engine, &file);
    assert_eq!(
        only(&matches, "gcp.service-account-key").secret,
        key_id.as_bytes()
    );
    let rules = RuleSet::builtin().expect("built-in rules load");
    let plain = Engine::new(
        &rules,
        EngineOptions {
            decode: false,
            ..EngineOptions::default()
        },
    )
    .expect("engine builds");
    let (matches, _) = scan(&plain, &text);
    assert_eq!(
        gcp(&matches),
        ["gcp.service-account-key.base64"],
        "{matches:?}"
    );
}

/// A fake AWS secret access key holding both `/` and `+` (which URLs and JSON encode).
fn aws_secret_key(seed: u64) -> String {
    let body = random_string(
        seed,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        38,
    );
    format!("{}/{}+{}", &body[..10], &body[10..30], &body[30..])
}

/// `text` as lower-case hex digits.
fn hex(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The one match of `rule` in `matches`.
fn only<'a>(matches: &'a [(String, Match)], rule: &str) -> &'a Match {
    let found: Vec<&Match> = matches
        .iter()
        .filter(|(id, _)| id == rule)
        .map(|(_, m)| m)
        .collect();
    assert_eq!(found.len(), 1, "{rule}: {matches:?}");
    found[0]
}

#[test]
fn percent_encoded_secrets_are_found_at_their_encoded_bytes() {
    let engine = builtin_engine();
    let key = aws_secret_key(31);
    let encoded = key.replace('/', "%2F").replace('+', "%2B");
    let text = format!(
        "POST /session HTTP/1.1\n\nregion=eu-west-1&aws_secret_access_key={encoded}&expires=3600\n"
    );
    let (matches, stats) = scan(&engine, &text);
    assert!(stats.decoded_runs >= 1);
    let m = only(&matches, "aws.secret-access-key");
    assert_eq!(m.decoded, Some(Decoding::Percent));
    assert_eq!(m.secret, key.as_bytes());
    assert_eq!(&text[m.span.clone()], encoded);
    let column = text
        .lines()
        .nth(2)
        .and_then(|l| l.find(&encoded))
        .expect("on line 3");
    assert_eq!(
        (m.location.start.line, m.location.start.column),
        (3, column + 1)
    );
    assert_eq!(m.location.end.column, column + 1 + encoded.len());
}

#[test]
fn a_url_with_percent_escapes_and_no_secret_yields_nothing() {
    let engine = builtin_engine();
    let text = "see https://docs.example.invalid/search?q=rotate%20keys%20safely&lang=en%2DGB\n\
                printf(\"%02x%2d\", a, b);\n";
    let (matches, stats) = scan(&engine, text);
    assert!(matches.is_empty(), "{matches:?}");
    assert_eq!(stats.decoded_runs, 1, "only the URL is decoded");
    // A secret that stands as written in a URL with escapes is one finding, as written.
    let token = github_token("ghp_", 41);
    let text = format!("https://x.invalid/cb?next=%2Fhome&token={token}\n");
    let (matches, _) = scan(&engine, &text);
    let m = only(&matches, "github.pat.classic");
    assert_eq!(m.decoded, None);
    assert_eq!(&text[m.span.clone()], token);
}

#[test]
fn json_and_yaml_escaped_secrets_are_found_at_their_escapes() {
    let engine = builtin_engine();
    // JSON inside a JSON string, with JSON's escaped slashes.
    let key = aws_secret_key(32);
    let escaped = key.replace('/', "\\/");
    let text = format!(
        "{{\n  \"settings\": \"{{\\\"aws_secret_access_key\\\": \\\"{escaped}\\\"}}\"\n}}\n"
    );
    let (matches, _) = scan(&engine, &text);
    let m = only(&matches, "aws.secret-access-key");
    assert_eq!(m.decoded, Some(Decoding::Escape));
    assert_eq!(m.secret, key.as_bytes());
    assert_eq!(&text[m.span.clone()], escaped);
    assert_eq!(m.location.start.line, 2);

    // A token whose prefix is written as `\u` escapes, in a YAML double-quoted string.
    let token = github_token("ghp_", 42);
    let escaped = format!("\\u0067\\u0068\\u0070\\u005F{}", &token[4..]);
    let text = format!("env:\n  GH_TOKEN: \"{escaped}\"\n");
    let (matches, _) = scan(&engine, &text);
    let m = only(&matches, "github.pat.classic");
    assert_eq!(m.decoded, Some(Decoding::Escape));
    assert_eq!(m.secret, token.as_bytes());
    assert_eq!(&text[m.span.clone()], escaped);
    assert_eq!(
        (m.location.start.line, m.location.start.column),
        (2, "  GH_TOKEN: \"".len() + 1)
    );
}

#[test]
fn hex_encoded_secrets_are_found_and_hex_of_random_bytes_is_not_decoded() {
    let engine = builtin_engine();
    let token = github_token("ghp_", 43);
    let encoded = hex(&format!("GITHUB_TOKEN={token}\n"));
    let text = format!("blob: 0x{encoded}\n");
    let (matches, _) = scan(&engine, &text);
    let m = only(&matches, "github.pat.classic");
    assert_eq!(m.decoded, Some(Decoding::Hex));
    assert_eq!(m.secret, token.as_bytes());
    assert_eq!(&text[m.span.clone()], hex(&token));

    // Digests and random bytes in hex are runs too, but do not decode to text.
    let mut noise = String::new();
    for seed in 0..200u64 {
        let bytes: Vec<u8> = random_string(seed, &(0..=255u8).collect::<Vec<_>>(), 32)
            .chars()
            .map(|c| c as u32 as u8)
            .collect();
        let digits: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        noise.push_str(&format!("sha256-{digits}\n"));
    }
    let (matches, stats) = scan(&engine, &noise);
    assert!(matches.is_empty(), "{matches:?}");
    assert_eq!(stats.decoded_runs, 0);
}

#[test]
fn a_provider_rule_wins_over_a_generic_rule_on_the_same_secret() {
    let engine = builtin_engine();
    let token = github_token("ghp_", 5);
    let (matches, _) = scan(&engine, &format!("api_token = \"{token}\"\n"));
    let ids: Vec<&str> = matches.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["github.pat.classic"]);
}

#[test]
fn of_two_rules_claiming_the_same_secret_the_more_confident_names_it() {
    let engine = builtin_engine();
    // A PlanetScale password (high confidence, by its prefix) in a database password variable
    // (medium, by context): one finding, the PlanetScale one.
    let password = format!(
        "pscale_pw_{}",
        random_string(
            21,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
            43
        )
    );
    let (matches, _) = scan(&engine, &format!("DB_PASSWORD={password}\n"));
    let ids: Vec<&str> = matches.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["planetscale.password"]);
    // Another value in the same variable is still the context rule's.
    let (other, _) = scan(&engine, "DB_PASSWORD=Vq8#rT2m!Lp4zX\n");
    let ids: Vec<&str> = other.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["dotenv.database-password"]);
}

#[test]
fn a_secret_inside_a_larger_secret_is_reported_once_by_the_enclosing_rule() {
    let engine = builtin_engine();
    let key = random_string(
        12,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        86,
    );
    let text = format!(
        "Storage=DefaultEndpointsProtocol=https;AccountName=ledgerprod;AccountKey={key}==;EndpointSuffix=core.windows.net\n"
    );
    let (matches, _) = scan(&engine, &text);
    let ids: Vec<&str> = matches.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["azure.storage.connection-string"]);
    // A connection string reports its key, not the whole string.
    assert_eq!(matches[0].1.secret, format!("{key}==").into_bytes());
    // A Google Chat webhook URL holds a Google API key: one finding, the whole URL.
    let api_key = format!(
        "AIza{}",
        random_string(
            13,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            35
        )
    );
    let url = format!(
        "https://chat.googleapis.com/v1/spaces/AAAAqL0wXk3/messages?key={api_key}&token={}%3D",
        random_string(
            14,
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            43
        )
    );
    let (matches, _) = scan(&engine, &format!("CHAT_WEBHOOK={url}\n"));
    let ids: Vec<&str> = matches.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["google-chat.webhook"]);
    assert_eq!(matches[0].1.secret, url.into_bytes());
    let (alone, _) = scan(&engine, &format!("GOOGLE_API_KEY={api_key}\n"));
    let ids: Vec<&str> = alone.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["gcp.api-key"]);
    // Alone, the key is still found by its own rule.
    let (alone, _) = scan(&engine, &format!("AccountKey={key}==\n"));
    let ids: Vec<&str> = alone.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, ["azure.storage.account-key"]);
}

#[test]
fn random_text_of_token_alphabets_yields_nothing() {
    let engine = builtin_engine();
    let noise = random_string(
        9,
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 \n",
        200_000,
    );
    let (matches, _) = scan(&engine, &noise);
    assert!(matches.is_empty(), "{:?}", &matches[..matches.len().min(5)]);
}

/// A one-rule set: an `api_token = "..."` rule with the given `not_after` line.
fn rule_with_not_after(not_after: &str) -> Result<Engine, Vec<keyhound_rules::RuleError>> {
    let mut rules = keyhound_rules::RuleSet::new();
    rules.add_toml(
        "not-after.toml",
        &format!(
            r#"
[[rule]]
id = "test.api-token"
name = "Test API token"
provider = "Test"
kind = "api-token"
keywords = ["token", "Token"]
pattern = '''(?i:token)["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9]{{20}})'''
{not_after}
confidence = "low"
severity = "high"
privilege = "unknown"
lifetime = "static"
rotation = {{ url = "https://example.invalid/rotate", max_age_days = 90 }}
examples = ['token = "Qm7Lp2Xv9Rt4Kc8Nw3Zb"']
negative_examples = ['nextPageToken = "Qm7Lp2Xv9Rt4Kc8Nw3Zb"']
"#
        ),
    )?;
    Ok(Engine::new(&rules, EngineOptions::default()).expect("engine builds"))
}

#[test]
fn not_after_drops_matches_by_what_precedes_them_on_their_line() {
    let engine =
        rule_with_not_after(r#"not_after = '''(?i)next_?page_?token["']?\s*[:=]\s*["']?'''"#)
            .expect("rules load");
    assert!(
        engine.check_examples().is_empty(),
        "{:?}",
        engine.check_examples()
    );
    // The same value under another name, or on the next line, is still found.
    let (matches, _) = scan(
        &engine,
        "nextPageToken = \"Qm7Lp2Xv9Rt4Kc8Nw3Zb\"\naccess_token = \"Zp4Wq8Ln2Vc6Hx1Tb9Ks\"\n",
    );
    let secrets: Vec<&[u8]> = matches.iter().map(|(_, m)| m.secret.as_slice()).collect();
    assert_eq!(secrets, [&b"Zp4Wq8Ln2Vc6Hx1Tb9Ks"[..]]);

    // Without it the negative example matches, and a broken one is rejected when the rules
    // load, by name.
    let without = rule_with_not_after("").expect("rules load");
    assert_eq!(without.check_examples().len(), 1);
    let Err(errors) = rule_with_not_after("not_after = '(unclosed'") else {
        panic!("a not_after that does not parse loads");
    };
    let message = errors[0].to_string();
    assert!(
        message.starts_with("not-after.toml: rule `test.api-token`: not_after rejected"),
        "{message}"
    );
}

#[test]
fn a_keyword_costs_a_regex_search_of_its_own_line_only() {
    let engine = builtin_engine();
    // `token` keys only `generic.secret`, whose matches never span lines.
    let filler = format!("{}\n", "let value = compute(input, options);".repeat(5));
    let hit_line = "let next = parse(token_stream, options); // no assignment here\n";
    let text = format!("{}{hit_line}{}", filler.repeat(20), filler.repeat(20));
    let (matches, stats) = scan(&engine, &text);
    assert!(matches.is_empty(), "{matches:?}");
    assert_eq!(stats.regex_runs, 1);
    assert!(
        stats.regex_bytes < hit_line.len() as u64,
        "{} bytes searched",
        stats.regex_bytes
    );
}

/// Two rules, in this order: `acme.key` (`acme_` and 24 characters) and `zeta.key` (`zz_` and
/// 24), with `time_budget`.
fn two_rule_engine(time_budget: Option<std::time::Duration>) -> Engine {
    let mut rules = keyhound_rules::RuleSet::new();
    let toml = keyhound_engine::fake::fake_rule_toml("acme.key", "acme_")
        + &keyhound_engine::fake::fake_rule_toml("zeta.key", "zz_");
    rules.add_toml("two.toml", &toml).expect("rules load");
    let options = EngineOptions {
        time_budget,
        ..EngineOptions::default()
    };
    Engine::new(&rules, options).expect("engine builds")
}

#[test]
fn an_input_over_its_time_budget_keeps_what_was_found_and_is_counted() {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let secret = |seed: u64| random_string(seed, alphabet, 24);
    let (first, last, zeta) = (secret(1), secret(2), secret(3));
    // Windows are confirmed as the prefilter's hits come in (a slab of input at a time, rule
    // by rule within it), each once no later hit can extend it: `acme.key`'s first window when
    // its second hit comes, then `zeta.key`'s thousands, whose work passes the first reading
    // of the clock; `acme.key`'s last window waits for the end of the input.
    let mut text = format!("acme_{first}\n");
    for _ in 0..5000 {
        text.push_str("zz_ nothing here\n");
    }
    text.push_str(&format!("zz_{zeta}\nacme_{last}\n"));
    let secrets = |engine: &Engine| {
        let (matches, stats) = scan(engine, &text);
        let found: Vec<String> = matches
            .into_iter()
            .map(|(_, m)| String::from_utf8(m.secret).expect("text"))
            .collect();
        (found, stats)
    };

    let (all, stats) = secrets(&two_rule_engine(None));
    assert_eq!(all, [first.clone(), zeta.clone(), last.clone()]);
    assert_eq!(stats.timed_out, 0);
    assert_eq!(stats.regex_runs, 5003);
    let (all, stats) = secrets(&two_rule_engine(Some(std::time::Duration::from_secs(3600))));
    assert_eq!(all, [first.clone(), zeta, last.clone()]);
    assert_eq!(stats.timed_out, 0);

    // A budget of zero: the clock is first read after BUDGET_CHECK_BYTES of work, and then
    // the time is up. The first finding stands; `zeta.key` stopped part-way, and the last
    // window was never searched.
    let (cut, stats) = secrets(&two_rule_engine(Some(std::time::Duration::ZERO)));
    assert_eq!(cut, [first]);
    assert_eq!(stats.timed_out, 1);
    assert!(
        stats.regex_runs > 100 && stats.regex_runs < 5003,
        "stopped part-way: {stats:?}"
    );
    assert_eq!(stats.bytes, text.len() as u64, "the prefilter saw it all");

    // The decode stage reads the same clock: thousands of base64 runs, each decoded and
    // scanned again, stop part-way too.
    let run = base64::engine::general_purpose::STANDARD.encode("zz_ nothing here, and more text");
    let encoded = format!("{run}\n").repeat(3000);
    let (_, stats) = scan(&two_rule_engine(None), &encoded);
    assert_eq!((stats.decoded_runs, stats.timed_out), (3000, 0));
    let (_, stats) = scan(&two_rule_engine(Some(std::time::Duration::ZERO)), &encoded);
    assert_eq!(stats.timed_out, 1);
    assert!(
        stats.decoded_runs > 100 && stats.decoded_runs < 3000,
        "stopped part-way: {stats:?}"
    );
}
