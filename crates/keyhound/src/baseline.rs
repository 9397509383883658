//! Baselines: the findings a team has already seen, so that CI fails only on new ones.
//!
//! A baseline file is JSON: the format version, the fingerprint scheme its fingerprints were
//! made with, and one entry per finding with its fingerprint, rule id and first path (never
//! the secret, never a line number, so the file does not change when lines move or files are
//! reformatted). Entries are sorted by fingerprint, so the file diffs well in review.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use keyhound_findings::{FINGERPRINT_SCHEME, Finding};
use serde::{Deserialize, Serialize};

/// The version of the baseline file format this keyhound reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// A baseline file as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BaselineFile {
    /// [`FORMAT_VERSION`].
    keyhound_baseline: u32,
    /// [`FINGERPRINT_SCHEME`] when the baseline was made.
    fingerprint_scheme: String,
    /// The known findings.
    findings: Vec<Entry>,
}

/// One known finding.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// The finding's fingerprint (keyed hash of rule id and secret).
    fingerprint: String,
    /// The rule that found it, for readers of the file.
    rule_id: String,
    /// Where it was first seen, for readers of the file.
    path: String,
}

/// Why a baseline cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The file could not be read.
    #[error("baseline {}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not a baseline.
    #[error("baseline {}: malformed: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong, with line and column where the parser knows them.
        message: String,
    },
    /// The file was made under another fingerprint scheme: its fingerprints cannot be compared.
    #[error(
        "baseline {}: made with fingerprint scheme `{found}`, but this keyhound uses \
         `{FINGERPRINT_SCHEME}`, so none of its fingerprints can be compared (every finding \
         would look new). Review the current findings and make a new baseline with \
         `keyhound baseline create -o {}`",
        path.display(), path.display()
    )]
    Scheme {
        /// The file.
        path: PathBuf,
        /// The scheme it names.
        found: String,
    },
    /// The file could not be written.
    #[error("baseline {}: cannot write: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
}

/// The fingerprints of a loaded baseline.
#[derive(Debug)]
pub struct Baseline {
    path: PathBuf,
    fingerprints: HashSet<String>,
}

impl Baseline {
    /// Reads and checks the baseline at `path`.
    pub fn load(path: &Path) -> Result<Self, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|source| BaselineError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// Parses baseline `text` read from `path`.
    fn parse(path: &Path, text: &str) -> Result<Self, BaselineError> {
        let malformed = |message: String| BaselineError::Malformed {
            path: path.to_path_buf(),
            message,
        };
        // The scheme is checked before the rest, so a file of a later format names its scheme.
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| malformed(format!("not JSON: {e}")))?;
        if let Some(found) = value.get("fingerprint_scheme").and_then(|v| v.as_str())
            && found != FINGERPRINT_SCHEME
        {
            return Err(BaselineError::Scheme {
                path: path.to_path_buf(),
                found: found.to_string(),
            });
        }
        let file: BaselineFile =
            serde_json::from_value(value).map_err(|e| malformed(e.to_string()))?;
        if file.keyhound_baseline != FORMAT_VERSION {
            return Err(malformed(format!(
                "format version {} is not supported (this keyhound reads version {FORMAT_VERSION})",
                file.keyhound_baseline
            )));
        }
        let mut fingerprints = HashSet::with_capacity(file.findings.len());
        for (i, entry) in file.findings.into_iter().enumerate() {
            if !is_fingerprint(&entry.fingerprint) {
                return Err(malformed(format!(
                    "finding {}: fingerprint `{}` is not 32 lowercase hex digits",
                    i + 1,
                    entry.fingerprint
                )));
            }
            fingerprints.insert(entry.fingerprint);
        }
        Ok(Self {
            path: path.to_path_buf(),
            fingerprints,
        })
    }

    /// Whether the baseline knows the finding.
    pub fn contains(&self, finding: &Finding) -> bool {
        self.fingerprints.contains(&finding.fingerprint)
    }

    /// The file it was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Whether `text` looks like a fingerprint: 32 lowercase hex digits.
pub fn is_fingerprint(text: &str) -> bool {
    text.len() == 32
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The baseline file's text for `findings`.
pub fn render(findings: &[Finding]) -> String {
    let mut entries: Vec<Entry> = findings
        .iter()
        .map(|f| Entry {
            fingerprint: f.fingerprint.clone(),
            rule_id: f.rule_id.clone(),
            path: f.primary().path.clone(),
        })
        .collect();
    entries.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    let file = BaselineFile {
        keyhound_baseline: FORMAT_VERSION,
        fingerprint_scheme: FINGERPRINT_SCHEME.to_string(),
        findings: entries,
    };
    // Serializing plain strings and numbers cannot fail.
    let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes the baseline of `findings` to `path`.
pub fn write(path: &Path, findings: &[Finding]) -> Result<(), BaselineError> {
    let text = render(findings);
    crate::scan::output::write_file(path, |out| out.write_all(text.as_bytes())).map_err(|source| {
        BaselineError::Write {
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Baseline, BaselineError> {
        Baseline::parse(Path::new("b.json"), text)
    }

    #[test]
    fn a_rendered_baseline_reads_back() {
        let text = format!(
            r#"{{"keyhound_baseline":1,"fingerprint_scheme":"{FINGERPRINT_SCHEME}","findings":[{{"fingerprint":"{}","rule_id":"a.b","path":"x"}}]}}"#,
            "0123456789abcdef0123456789abcdef"
        );
        let baseline = parse(&text).expect("valid");
        assert_eq!(baseline.fingerprints.len(), 1);
        assert!(render(&[]).contains(FINGERPRINT_SCHEME));
        assert_eq!(parse(&render(&[])).expect("empty").fingerprints.len(), 0);
    }

    #[test]
    fn problems_are_named() {
        let err = |text: &str| parse(text).expect_err("invalid").to_string();
        assert!(err("{").contains("not JSON"), "{}", err("{"));
        let other_scheme = r#"{"keyhound_baseline":1,"fingerprint_scheme":"keyhound.fingerprint.v0","findings":[]}"#;
        let message = err(other_scheme);
        assert!(
            message.contains("keyhound.fingerprint.v0") && message.contains("baseline create"),
            "{message}"
        );
        let bad_fp = format!(
            r#"{{"keyhound_baseline":1,"fingerprint_scheme":"{FINGERPRINT_SCHEME}","findings":[{{"fingerprint":"xyz","rule_id":"a.b","path":"x"}}]}}"#
        );
        assert!(
            err(&bad_fp).contains("finding 1: fingerprint `xyz`"),
            "{}",
            err(&bad_fp)
        );
        let version = format!(
            r#"{{"keyhound_baseline":7,"fingerprint_scheme":"{FINGERPRINT_SCHEME}","findings":[]}}"#
        );
        assert!(
            err(&version).contains("format version 7"),
            "{}",
            err(&version)
        );
        let unknown = format!(
            r#"{{"keyhound_baseline":1,"fingerprint_scheme":"{FINGERPRINT_SCHEME}","findings":[],"extra":1}}"#
        );
        assert!(err(&unknown).contains("extra"), "{}", err(&unknown));
    }
}
