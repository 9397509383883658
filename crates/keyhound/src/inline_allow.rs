//! Inline allow comments: `keyhound:allow` on a secret's line keeps it out of the report.
//!
//! Forms: `keyhound:allow` (any rule), `keyhound:allow:RULE_ID` (only that rule's finding on
//! the line), each optionally followed by a reason: `# keyhound:allow:aws.access-key-id
//! documentation example`. Comment closers after the reason (`*/`, `-->`) are left out of it.

use keyhound_findings::Snippet;

/// The marker.
pub const MARKER: &str = "keyhound:allow";

/// An allow comment found on a secret's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InlineAllow {
    /// The reason written after the marker, if any.
    pub reason: Option<String>,
}

/// The allow comment on `snippet`'s line that covers a secret found by `rule_id`, if any.
pub fn check(snippet: &Snippet, rule_id: &str) -> Option<InlineAllow> {
    [&snippet.after, &snippet.before]
        .into_iter()
        .find_map(|text| parse_line(text, rule_id))
}

/// The first marker in `text` that covers `rule_id`.
fn parse_line(text: &str, rule_id: &str) -> Option<InlineAllow> {
    let mut rest = text;
    while let Some(at) = rest.find(MARKER) {
        let after = &rest[at + MARKER.len()..];
        rest = after;
        let (rule, tail) = match after.strip_prefix(':') {
            Some(scoped) => {
                let end = scoped
                    .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
                    .unwrap_or(scoped.len());
                (Some(&scoped[..end]), &scoped[end..])
            }
            None => (None, after),
        };
        // `keyhound:allowed` and the like are other words, not the marker.
        if rule.is_none() && tail.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        if rule.is_some_and(|r| r != rule_id) {
            continue;
        }
        let reason = tail
            .trim()
            .trim_end_matches("*/")
            .trim_end_matches("-->")
            .trim()
            .trim_start_matches(['-', ':', '—'])
            .trim();
        return Some(InlineAllow {
            reason: (!reason.is_empty()).then(|| reason.to_string()),
        });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snippet(before: &str, after: &str) -> Snippet {
        Snippet {
            before: before.into(),
            matched: "SECRET".into(),
            after: after.into(),
        }
    }

    #[test]
    fn forms_of_the_marker() {
        let allow = |after: &str, rule: &str| check(&snippet("key = ", after), rule);
        assert_eq!(
            allow(" # keyhound:allow", "a.b"),
            Some(InlineAllow { reason: None })
        );
        assert_eq!(
            allow(" // keyhound:allow test vector */", "a.b"),
            Some(InlineAllow {
                reason: Some("test vector".into())
            })
        );
        assert_eq!(
            allow(" # keyhound:allow:a.b - docs example", "a.b"),
            Some(InlineAllow {
                reason: Some("docs example".into())
            })
        );
        assert_eq!(allow(" # keyhound:allow:other.rule docs", "a.b"), None);
        assert_eq!(allow(" # keyhound:allowed", "a.b"), None);
        assert_eq!(allow(" # nothing here", "a.b"), None);
        // A second marker for the right rule still counts.
        assert!(allow(" # keyhound:allow:x.y keyhound:allow:a.b", "a.b").is_some());
        // Before the secret (a comment opening the line) counts as well.
        assert!(check(&snippet("/* keyhound:allow */ k = ", ""), "a.b").is_some());
    }
}
