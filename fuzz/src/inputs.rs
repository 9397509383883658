//! What several targets share: the built-in rules and engine, built once per process.

use std::sync::LazyLock;

use keyhound_engine::{Engine, EngineOptions};
use keyhound_rules::RuleSet;

/// The built-in rules.
pub(crate) static BUILTIN: LazyLock<RuleSet> =
    LazyLock::new(|| RuleSet::builtin().expect("the built-in rules load"));

/// An engine over the built-in rules, default options (base64 runs decoded).
pub(crate) static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    Engine::new(&BUILTIN, EngineOptions::default()).expect("the built-in engine builds")
});

/// Whether `needle` occurs in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}
