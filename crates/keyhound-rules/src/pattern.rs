//! The regex dialect of rule patterns, and the bound on what one pattern may cost.
//!
//! Patterns match bytes (Unicode classes off, `.` matches any byte), as the engine runs them.
//! A pattern's compiled size is not its length: `(a|b|c){1000}{1000}` is 19 characters and a
//! million copies of its group once compiled. Every pattern of a rules file is compiled when the
//! file loads, under the same NFA size limit the engine builds with, so one that would exhaust
//! memory (or that does not compile at all) is an error naming the rule and the file, not a
//! rule that silently never matches. The built-in rules are held to the same limits by this
//! crate's tests, and are not compiled at start-up.

use regex_automata::nfa::thompson;
use regex_automata::util::syntax;

/// The largest compiled (Thompson NFA) form of one pattern, in bytes. The largest built-in rule
/// compiles to about 2.2 MB; the engine also builds a reverse NFA of about the same size per
/// compiled pattern.
pub const NFA_SIZE_LIMIT: usize = 8 << 20;

/// The largest full DFA the engine may build for a pattern, in bytes (it then uses its lazy DFA,
/// whose cache is bounded separately).
pub const DFA_SIZE_LIMIT: usize = 40 << 10;

/// The syntax rule patterns are written in: bytes, no Unicode classes.
pub fn syntax_config() -> syntax::Config {
    syntax::Config::new().unicode(false).utf8(false)
}

/// A rule's `not_after` context as the engine runs it: anchored to end where the secret starts.
pub fn not_after_pattern(context: &str) -> String {
    format!("(?:{context})\\z")
}

/// Whether `pattern` parses and compiles within [`NFA_SIZE_LIMIT`]; the reason if not.
pub fn check(pattern: &str) -> Result<(), String> {
    let hir = syntax::parse_with(pattern, &syntax_config()).map_err(|e| e.to_string())?;
    thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .utf8(false)
                .shrink(false)
                .nfa_size_limit(Some(NFA_SIZE_LIMIT)),
        )
        .build_from_hir(&hir)
        .map_err(|e| e.to_string())?;
    Ok(())
}
