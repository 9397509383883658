//! keyhound's finding model.
//!
//! A [`Finding`] is one secret value found by one rule, with every place it occurs. Its identity
//! is a keyed hash of (rule id, secret), never a line number, so it survives edits and moves and
//! serves as SARIF `partialFingerprints`, baseline key and dedup key. Each finding lists the
//! OWASP Non-Human Identities Top 10 (2025) risks that hold for it, each with its reason.

mod codeowners;
mod lifecycle;
mod nhi;
mod redact;

use std::collections::HashMap;

use keyhound_rules::Rule;
use serde::Serialize;

pub use codeowners::{CODEOWNERS_LOCATIONS, CodeOwners, IgnoredLine};
pub use lifecycle::{Lifecycle, Owner, Status};
pub use nhi::{Environment, NhiContext, NhiRisk, environment_of, map_nhi};
pub use redact::redact;

/// The key of the fingerprint hash: fixed, so fingerprints are stable across runs and machines,
/// and keyed, so a fingerprint is no plain hash of a secret.
const FINGERPRINT_KEY: [u8; 32] = *b"keyhound.fingerprint.v1.00000000";

/// The version of the fingerprint scheme: the hash (keyed BLAKE3), its key, its input
/// (rule id, a NUL byte, the secret) and its length (32 hex digits). Fingerprints are a contract:
/// baselines record this version, and any change to the scheme must change it, so a baseline
/// made under another scheme is detected and explained instead of every finding turning new.
pub const FINGERPRINT_SCHEME: &str = "keyhound.fingerprint.v1";

/// The stable identity of a (rule, secret) pair: 32 hex digits.
pub fn fingerprint(rule_id: &str, secret: &[u8]) -> String {
    let mut hasher = blake3::Hasher::new_keyed(&FINGERPRINT_KEY);
    hasher.update(rule_id.as_bytes());
    hasher.update(&[0]);
    hasher.update(secret);
    let hash = hasher.finalize();
    hash.to_hex()[..32].to_string()
}

/// The text around a secret on its line, split so that reporters can redact the middle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snippet {
    /// Text before the secret on its first line.
    pub before: String,
    /// The matched text as it stands in the input (the encoded run for decoded secrets).
    pub matched: String,
    /// Text after the secret on its last line.
    pub after: String,
}

/// How much of a line around the secret a snippet keeps, each side.
const SNIPPET_REACH: usize = 80;

impl Snippet {
    /// Cuts the snippet of `span` out of `haystack`: the rest of its lines, at most
    /// [`SNIPPET_REACH`] bytes each side, lossily decoded as UTF-8.
    pub fn from_haystack(haystack: &[u8], span: std::ops::Range<usize>) -> Self {
        let line_start = haystack[..span.start]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
            .max(span.start.saturating_sub(SNIPPET_REACH));
        let line_end = haystack[span.end..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .map_or(haystack.len(), |p| span.end + p)
            .min(span.end + SNIPPET_REACH);
        let text = |r: std::ops::Range<usize>| String::from_utf8_lossy(&haystack[r]).into_owned();
        Snippet {
            before: text(line_start..span.start),
            matched: text(span.clone()),
            after: text(span.end..line_end),
        }
    }
}

/// A commit of git history that a finding refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    /// The commit id (hex).
    pub id: String,
    /// Its author, `Name <email>`.
    pub author: String,
    /// Its committer date, seconds since the Unix epoch.
    pub date: i64,
    /// The first line of its message.
    pub summary: String,
}

/// One place a secret occurs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    /// Path relative to the scan root as given (`-` for stdin).
    pub path: String,
    /// 1-based line of the secret's first character.
    pub line: usize,
    /// 1-based column of the secret's first character (in characters).
    pub column: usize,
    /// 1-based line of the secret's last character.
    pub end_line: usize,
    /// 1-based column just after the secret's last character, as in SARIF regions.
    pub end_column: usize,
    /// Byte offset of the secret's first byte.
    pub offset: usize,
    /// How the text the secret was found in was decoded (`base64`, `percent`, `escape`, `hex`),
    /// if it was: the location is then that of the encoded bytes (of the whole run for
    /// base64). Serialized as `false` when not decoded, else as the name.
    #[serde(serialize_with = "serialize_decoded")]
    pub decoded: Option<&'static str>,
    /// The line around the secret.
    #[serde(skip)]
    pub snippet: Snippet,
    /// For git history: the commit that first put the secret at this path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<Commit>,
    /// For git history: HEAD holds the secret here (at this path, in this very place).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub at_head: bool,
}

/// Serializes [`Occurrence::decoded`]: `false` for an occurrence found as written, else the
/// name of its decoding.
pub fn serialize_decoded<S: serde::Serializer>(
    decoded: &Option<&'static str>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match decoded {
        Some(name) => serializer.serialize_str(name),
        None => serializer.serialize_bool(false),
    }
}

impl Occurrence {
    /// For a decoded occurrence, what it was found inside, for messages: `inside base64-encoded
    /// text`, `inside percent-encoded text`, `inside escaped text`, `inside hex-encoded text`.
    pub fn decoded_note(&self) -> Option<String> {
        self.decoded.map(|name| match name {
            "escape" => "inside escaped text".to_string(),
            name => format!("inside {name}-encoded text"),
        })
    }
}

/// One secret value found by one rule, with all its occurrences.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The rule's stable id.
    pub rule_id: String,
    /// The rule's name.
    pub rule_name: String,
    /// Index of the rule in the engine, for reporters that need the full rule.
    #[serde(skip)]
    pub rule_index: usize,
    /// Keyed hash of (rule id, secret).
    pub fingerprint: String,
    /// The secret (lossy UTF-8); reporters print it only when asked.
    #[serde(skip)]
    pub secret: String,
    /// Every occurrence, sorted by path and position.
    pub occurrences: Vec<Occurrence>,
    /// OWASP NHI Top 10 risks that hold, with reasons.
    pub nhi: Vec<NhiRisk>,
    /// Where the secret stands: active, removed, replaced; for history, when it came and went.
    pub lifecycle: Lifecycle,
    /// Who owns it: CODEOWNERS of its paths, who introduced it, who last touched its line.
    pub owner: Owner,
}

impl Finding {
    /// The first occurrence (findings always have one).
    pub fn primary(&self) -> &Occurrence {
        &self.occurrences[0]
    }
}

/// Accumulates matches into findings keyed by fingerprint.
#[derive(Debug, Default)]
pub struct FindingSet {
    by_fingerprint: HashMap<String, Finding>,
}

impl FindingSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `rule` found `secret` at `occurrence`.
    pub fn add(&mut self, rule_index: usize, rule: &Rule, secret: &[u8], occurrence: Occurrence) {
        let fingerprint = fingerprint(&rule.id, secret);
        let finding = self
            .by_fingerprint
            .entry(fingerprint.clone())
            .or_insert_with(|| Finding {
                rule_id: rule.id.clone(),
                rule_name: rule.name.clone(),
                rule_index,
                fingerprint,
                secret: String::from_utf8_lossy(secret).into_owned(),
                occurrences: Vec::new(),
                nhi: Vec::new(),
                lifecycle: Lifecycle::default(),
                owner: Owner::default(),
            });
        finding.occurrences.push(occurrence);
    }

    /// Sets the lifecycle and owner of the finding of `rule` and `secret`, if it was added.
    pub fn annotate(&mut self, rule: &Rule, secret: &[u8], lifecycle: Lifecycle, owner: Owner) {
        if let Some(finding) = self.by_fingerprint.get_mut(&fingerprint(&rule.id, secret)) {
            finding.lifecycle = lifecycle;
            finding.owner = owner;
        }
    }

    /// Gives every finding that has none yet the owners `owners_of` names for its
    /// occurrences' paths (CODEOWNERS owners, in order of first mention).
    pub fn assign_codeowners(&mut self, owners_of: &dyn Fn(&str) -> Vec<String>) {
        for finding in self.by_fingerprint.values_mut() {
            if !finding.owner.codeowners.is_empty() {
                continue;
            }
            for occurrence in &finding.occurrences {
                for owner in owners_of(&occurrence.path) {
                    if !finding.owner.codeowners.contains(&owner) {
                        finding.owner.codeowners.push(owner);
                    }
                }
            }
        }
    }

    /// Sorts and dedups occurrences, judges each lifecycle (exposure, overdue) as of
    /// `context.as_of`, maps NHI risks, and returns findings ordered by their first occurrence.
    /// `rule_of` gives the rule for a finding's rule index.
    pub fn finish<'r>(
        self,
        rule_of: impl Fn(usize) -> &'r Rule,
        context: &NhiContext,
    ) -> Vec<Finding> {
        let mut findings: Vec<Finding> = self
            .by_fingerprint
            .into_values()
            .map(|mut f| {
                f.occurrences.sort_by(|a, b| {
                    (&a.path, a.line, a.column, a.offset)
                        .cmp(&(&b.path, b.line, b.column, b.offset))
                });
                // The same place twice (history: where a secret entered a path, and where HEAD
                // holds it, when both are one spot) is one occurrence, at HEAD if either is.
                f.occurrences.dedup_by(|later, kept| {
                    let same = later.path == kept.path && later.offset == kept.offset;
                    if same {
                        kept.at_head |= later.at_head;
                    }
                    same
                });
                let rule = rule_of(f.rule_index);
                f.lifecycle
                    .assess(context.as_of, rule.rotation.max_age_days);
                f.nhi = map_nhi(rule, &f, context);
                f
            })
            .collect();
        // The fingerprint breaks ties: in history, one rule can find different secrets at the
        // same place (a key replaced in place), and the map's order differs from run to run.
        findings.sort_by(|a, b| {
            let (pa, pb) = (a.primary(), b.primary());
            (&pa.path, pa.line, pa.column, &a.rule_id, &a.fingerprint).cmp(&(
                &pb.path,
                pb.line,
                pb.column,
                &b.rule_id,
                &b.fingerprint,
            ))
        });
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_rule_and_secret_only() {
        let a = fingerprint("github.pat.classic", b"ghp_a");
        assert_eq!(a.len(), 32);
        assert_eq!(a, fingerprint("github.pat.classic", b"ghp_a"));
        assert_ne!(a, fingerprint("github.pat.classic", b"ghp_b"));
        assert_ne!(a, fingerprint("github.oauth", b"ghp_a"));
        // The separator keeps (id, secret) pairs from colliding by concatenation.
        assert_ne!(fingerprint("ab", b"c"), fingerprint("a", b"bc"));
    }

    /// Fingerprints are a contract with every baseline and code-scanning alert in use: these
    /// values may only change together with [`FINGERPRINT_SCHEME`].
    #[test]
    fn fingerprint_values_are_pinned() {
        assert_eq!(FINGERPRINT_SCHEME, "keyhound.fingerprint.v1");
        assert_eq!(
            fingerprint(
                "github.pat.classic",
                b"ghp_000000000000000000000000000000000000"
            ),
            "2b96810f0b436677f5eb93cf1c1269c6"
        );
        assert_eq!(
            fingerprint("aws.access-key-id", b"AKIA0000000000000000"),
            "de0278ba2ce13ade9a4063fcd4e08b21"
        );
        assert_eq!(fingerprint("x.y", b""), "f21bdd5cb77b61a23e70c439a1765fcb");
    }

    /// Found by the `report_writers` fuzz target: two secrets of one rule at the same place
    /// (in history, a key replaced in place) came out in the map's order, which differs from
    /// one set to the next, so reports differed from run to run.
    #[test]
    fn findings_at_the_same_place_come_in_fingerprint_order() {
        let rule = crate::nhi::tests::rule("api-key", "scoped", "static");
        let occurrence = crate::nhi::tests::finding("", &["config.py"]).occurrences[0].clone();
        let secrets: Vec<String> = (0..8).map(|i| format!("acme_secret{i}")).collect();
        for _ in 0..16 {
            let mut set = FindingSet::new();
            for secret in &secrets {
                set.add(0, &rule, secret.as_bytes(), occurrence.clone());
            }
            let findings = set.finish(|_| &rule, &NhiContext::default());
            let fingerprints: Vec<&str> = findings.iter().map(|f| f.fingerprint.as_str()).collect();
            let mut sorted = fingerprints.clone();
            sorted.sort_unstable();
            assert_eq!(fingerprints, sorted);
        }
    }

    #[test]
    fn snippet_keeps_the_line_around_the_secret() {
        let text = b"first\nkey = SECRET1 # note\nlast";
        let start = 12;
        let snippet = Snippet::from_haystack(text, start..start + 7);
        assert_eq!(snippet.before, "key = ");
        assert_eq!(snippet.matched, "SECRET1");
        assert_eq!(snippet.after, " # note");
    }
}
