//! Rules files from arbitrary text, and the engine with every built-in rule over arbitrary
//! bytes.

use std::cell::RefCell;

use keyhound_engine::{Decoding, Engine, EngineOptions, Match, ScanStats, Scratch};
use keyhound_rules::{Rule, RuleSet};
use serde::{Deserialize, Serialize};

use crate::inputs::{ENGINE, contains};

/// A rules file as written back.
#[derive(Serialize)]
struct RuleFile<'a> {
    rule: Vec<&'a Rule>,
}

/// A rules file read back, as the loader reads one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadBack {
    #[serde(default)]
    rule: Vec<Rule>,
}

/// `rules` as a rules file.
pub(crate) fn to_toml(rules: Vec<&Rule>) -> String {
    toml::to_string(&RuleFile { rule: rules }).expect("rules serialize")
}

/// Arbitrary text through the rules loader: a typed error naming the file (and nothing added),
/// or rules whose every pattern compiles in the engine and that read back the same when
/// written out as TOML.
pub fn rule_loader(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut set = RuleSet::new();
    match set.add_toml("fuzz.toml", &text) {
        Err(errors) => {
            assert!(!errors.is_empty(), "an error without a problem");
            assert!(set.is_empty(), "rules added from a file with errors");
            for error in &errors {
                let message = error.to_string();
                assert!(message.starts_with("fuzz.toml: "), "{message}");
            }
        }
        Ok(()) => {
            let engine =
                Engine::new(&set, EngineOptions::default()).expect("loaded rules build an engine");
            let failures = engine.compile_all();
            assert!(
                failures.is_empty(),
                "a loaded rule does not compile: {}",
                failures[0]
            );
            let before: Vec<&Rule> = set.rules().iter().map(|r| &r.rule).collect();
            let written = to_toml(before.clone());
            // Read back as the loader reads a file (`[[rule]]` tables, no unknown field), but
            // without its checks: the rules read back are compared equal to rules that passed
            // them, and the checks are functions of the rule, so loading them again would only
            // compile every pattern a third time.
            let again: ReadBack = toml::from_str(&written)
                .unwrap_or_else(|e| panic!("written rules do not read back: {e}\n{written}"));
            let after: Vec<&Rule> = again.rule.iter().collect();
            assert_eq!(before, after, "rules changed on the way through TOML");
        }
    }
}

/// Every match of `engine` in `data`, scanned whole.
fn scan(engine: &Engine, data: &[u8], scratch: &mut Scratch) -> (Vec<Match>, ScanStats) {
    let mut stats = ScanStats::default();
    let matches = engine.scan(data, scratch, &mut stats);
    (matches, stats)
}

/// The built-in engine over arbitrary bytes: each finding's span lies inside the input and is
/// the secret as written (or, for a secret found in a decoded base64 run, a run whose decoded
/// text holds it), findings come in order with their line, and a second scan finds the same.
pub fn engine_full_ruleset(data: &[u8]) {
    thread_local! {
        /// One scratch for every input, as the CLI keeps one per thread: its regex caches stay
        /// warm (bounded by the engine), where a new one per input made the target several
        /// times slower.
        static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
    }
    let engine = &*ENGINE;
    let (first, first_stats, second, second_stats) = SCRATCH.with_borrow_mut(|scratch| {
        let (first, first_stats) = scan(engine, data, scratch);
        let (second, second_stats) = scan(engine, data, scratch);
        (first, first_stats, second, second_stats)
    });
    assert_eq!(first, second, "a second scan differs");
    assert_eq!(first_stats, second_stats, "a second scan does other work");
    let mut decoded = Vec::new();
    for m in &first {
        assert!(m.rule < engine.rule_count());
        assert!(
            m.span.start < m.span.end && m.span.end <= data.len(),
            "span {:?} outside 0..{}",
            m.span,
            data.len()
        );
        let at_span = &data[m.span.clone()];
        match m.decoded {
            Some(Decoding::Base64) => {
                assert!(
                    keyhound_engine::fuzzing::decode_base64_run(at_span, &mut decoded),
                    "a decoded finding's span is not a decodable run"
                );
                assert!(contains(&decoded, &m.secret), "secret not in its run");
            }
            // Percent-encoded, escaped or hex: the span is the secret's own encoded bytes,
            // which hold at least one byte per decoded byte.
            Some(_) => assert!(
                at_span.len() >= m.secret.len(),
                "span shorter than its secret"
            ),
            None => assert_eq!(
                m.secret, at_span,
                "secret differs from the input at its span"
            ),
        }
        let line = 1 + data[..m.span.start].iter().filter(|&&b| b == b'\n').count();
        assert_eq!(m.location.start.line, line, "{:?}", m.span);
        assert!(m.location.start <= m.location.end);
    }
    assert!(
        first
            .windows(2)
            .all(|w| (w[0].span.start, w[0].span.end) <= (w[1].span.start, w[1].span.end)),
        "findings out of order"
    );
}
