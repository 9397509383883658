//! Bytes that every match of a pattern holds, checked over a window before its regex runs.
//!
//! Generic rules fire on common words (`password`, `token`, `secret`) and their patterns need
//! more than the word: an assignment (`=`, `:`) and often a quote. A window with no byte of
//! such a set cannot hold a match, and skipping it saves a regex run (about a third of the
//! generic rules' windows on C and Rust sources). The sets come from the pattern's syntax:
//! exact, never a guess, so findings do not change.

use regex_syntax::hir::{Class, Hir, HirKind};

/// A set of byte values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ByteSet([u64; 4]);

impl ByteSet {
    const EMPTY: Self = Self([0; 4]);

    fn insert_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.0[usize::from(b >> 6)] |= 1 << (b & 63);
        }
    }

    fn contains(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    fn union(self, other: Self) -> Self {
        Self(std::array::from_fn(|i| self.0[i] | other.0[i]))
    }

    /// How often a byte of the set turns up in text, roughly: letters and digits weigh
    /// more than punctuation.
    fn weight(&self) -> u32 {
        (0..=255u8)
            .filter(|&b| self.contains(b))
            .map(|b| if b.is_ascii_alphanumeric() { 4 } else { 1 })
            .sum()
    }
}

/// The most [`Required`] sets kept per pattern.
const MAX_SETS: usize = 3;

/// Byte sets of which every match holds at least one byte each.
#[derive(Debug, Clone, Default)]
pub(crate) struct Required {
    /// Bit `i` of `table[b]`: byte `b` is in set `i`.
    table: Option<Box<[u8; 256]>>,
    /// All bits of the sets.
    all: u8,
}

impl Required {
    /// The sets of `hir` that a window could miss: a set that a byte of every one of
    /// `keywords` meets is met in every window, and not kept; a rule without keywords (its
    /// window is the whole input) gets none.
    pub(crate) fn of(hir: &Hir, keywords: &[String]) -> Self {
        let mut sets: Vec<ByteSet> = match hir.kind() {
            HirKind::Concat(parts) => parts.iter().filter_map(need).collect(),
            _ => need(hir).into_iter().collect(),
        };
        sets.retain(|set| {
            !keywords.is_empty() && !keywords.iter().all(|k| k.bytes().any(|b| set.contains(b)))
        });
        sets.sort_by_key(ByteSet::weight);
        sets.dedup();
        sets.truncate(MAX_SETS);
        if sets.is_empty() {
            return Self::default();
        }
        let mut table = Box::new([0u8; 256]);
        for (i, set) in sets.iter().enumerate() {
            for b in 0..=255u8 {
                if set.contains(b) {
                    table[usize::from(b)] |= 1 << i;
                }
            }
        }
        Self {
            table: Some(table),
            all: ((1u16 << sets.len()) - 1) as u8,
        }
    }

    /// Whether `window` holds a byte of every set (so a match may lie in it).
    pub(crate) fn admits(&self, window: &[u8]) -> bool {
        let Some(table) = &self.table else {
            return true;
        };
        let mut seen = 0;
        for chunk in window.chunks(64) {
            seen |= chunk.iter().fold(0, |s, &b| s | table[usize::from(b)]);
            if seen == self.all {
                return true;
            }
        }
        false
    }
}

/// One set of which every match of `hir` holds a byte, if the syntax shows one: the lightest
/// of a concatenation's, the union of an alternation's branches'.
fn need(hir: &Hir) -> Option<ByteSet> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(literal) => {
            let lightest = literal
                .0
                .iter()
                .min_by_key(|b| u32::from(b.is_ascii_alphanumeric()))?;
            let mut set = ByteSet::EMPTY;
            set.insert_range(*lightest, *lightest);
            Some(set)
        }
        HirKind::Class(Class::Bytes(class)) => {
            let mut set = ByteSet::EMPTY;
            for r in class.ranges() {
                set.insert_range(r.start(), r.end());
            }
            Some(set)
        }
        HirKind::Class(Class::Unicode(class)) => {
            // Only ASCII classes: a wider character's bytes are left alone.
            let mut set = ByteSet::EMPTY;
            for r in class.ranges() {
                let (lo, hi) = (u8::try_from(r.start()).ok()?, u8::try_from(r.end()).ok()?);
                if hi > 0x7f {
                    return None;
                }
                set.insert_range(lo, hi);
            }
            Some(set)
        }
        HirKind::Repetition(repetition) if repetition.min > 0 => need(&repetition.sub),
        HirKind::Repetition(_) => None,
        HirKind::Capture(capture) => need(&capture.sub),
        HirKind::Concat(parts) => parts.iter().filter_map(need).min_by_key(ByteSet::weight),
        HirKind::Alternation(branches) => branches
            .iter()
            .map(need)
            .try_fold(ByteSet::EMPTY, |all, set| Some(all.union(set?))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn required(pattern: &str, keywords: &[&str]) -> Required {
        let config = keyhound_rules::pattern::syntax_config();
        let hir = regex_automata::util::syntax::parse_with(pattern, &config).expect("parses");
        let keywords: Vec<String> = keywords.iter().map(|k| k.to_string()).collect();
        Required::of(&hir, &keywords)
    }

    #[test]
    fn an_assignment_and_a_quote_are_required_of_a_quoted_password() {
        let r = required(
            r#"(?i)(?:password|pwd)[\w.-]{0,30}\\?["']?[ \t]{0,5}(?::=|=>|=|:)[ \t]{0,5}\\?["'](?P<secret>[^\s"']{8,64})["']"#,
            &["password", "pwd"],
        );
        assert!(r.admits(br#"let password = "hunter2hunter2";"#));
        assert!(r.admits(b"pwd: 'hunter2hunter2'"));
        assert!(!r.admits(b"char *password;"), "no assignment, no quote");
        assert!(!r.admits(b"password = hunter2hunter2"), "no quote");
        assert!(!r.admits(br#"fill_password("x")"#), "no assignment");
    }

    #[test]
    fn sets_every_keyword_meets_and_optional_parts_require_nothing() {
        // `_` is in the keyword: every window has it.
        let r = required(r"\b(?P<secret>ghp_[A-Za-z0-9]{36})\b", &["ghp_"]);
        assert!(r.table.is_none());
        // Optional parts and empty alternatives require nothing.
        let r = required(r"key(?:=x)?(?P<secret>[a-z]{0,4}|)", &["key"]);
        assert!(r.table.is_none());
        assert!(r.admits(b"key"));
        // A branch without a requirement makes the alternation require nothing.
        let r = required(r"key(?:=|:|[a-z]*)", &["key"]);
        assert!(r.table.is_none());
    }

    /// The check never refuses a window the regex matches in: every built-in rule's examples
    /// (each the window of its own keyword) are admitted.
    #[test]
    fn every_builtin_example_is_admitted() {
        let rules = keyhound_rules::RuleSet::builtin().expect("built-in rules");
        let config = keyhound_rules::pattern::syntax_config();
        let mut checked = 0;
        for loaded in rules.rules() {
            let rule = &loaded.rule;
            let hir = regex_automata::util::syntax::parse_with(&rule.pattern, &config)
                .expect("pattern parses");
            let r = Required::of(&hir, &rule.keywords);
            checked += usize::from(r.table.is_some());
            for example in &rule.examples {
                assert!(r.admits(example.as_bytes()), "{}: {example}", rule.id);
            }
        }
        assert!(checked > 0);
    }
}
