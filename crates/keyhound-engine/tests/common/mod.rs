//! Shared helpers for the engine's integration tests: fake credentials and small rule sets.

use keyhound_engine::{Engine, EngineOptions, Match, ScanStats, Scratch};
use keyhound_rules::RuleSet;

pub use keyhound_engine::fake::fake_string as random_string;

/// Base62 alphabet in GitHub's checksum order.
pub const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A fake GitHub-style token with a valid CRC32/base62 checksum.
pub fn github_token(prefix: &str, seed: u64) -> String {
    keyhound_engine::validate::crc32_base62_token(prefix, &random_string(seed, BASE62, 30))
}

/// The engine over the built-in rules.
pub fn builtin_engine() -> Engine {
    let rules = RuleSet::builtin().expect("built-in rules load");
    Engine::new(&rules, EngineOptions::default()).expect("engine builds")
}

/// Scans `text` and returns the matches with the ids of their rules.
pub fn scan(engine: &Engine, text: &str) -> (Vec<(String, Match)>, ScanStats) {
    let mut scratch = Scratch::default();
    let mut stats = ScanStats::default();
    let matches = engine
        .scan(text.as_bytes(), &mut scratch, &mut stats)
        .into_iter()
        .map(|m| (engine.rule(m.rule).id.clone(), m))
        .collect();
    (matches, stats)
}
