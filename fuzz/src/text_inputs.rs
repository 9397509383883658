//! Text files users write: CODEOWNERS and `.keyhound.toml`.

use std::path::Path;

use keyhound::config::{AllowEntry, Config};
use keyhound_findings::CodeOwners;

/// A CODEOWNERS file and paths to look up, from arbitrary bytes (as lossy UTF-8): the file up
/// to the first NUL, then one path a line. Owners are non-empty, each listed once, the same for
/// `path` and `./path`, and the same from a second parse. Each line left out names a line of
/// the file, with its (non-empty) pattern and a reason, in file order.
pub fn codeowners(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (file, paths) = text
        .split_once('\0')
        .unwrap_or((&text, "a/b.txt\nREADME.md"));
    let owners = CodeOwners::parse(file);
    let again = CodeOwners::parse(file);
    let lines: Vec<&str> = file.lines().collect();
    let ignored = owners.ignored_lines();
    for (i, left_out) in ignored.iter().enumerate() {
        assert!(
            lines.get(left_out.line.wrapping_sub(1)).is_some() && !left_out.pattern.is_empty(),
            "{left_out:?} names no line of the file"
        );
        assert!(!left_out.reason.is_empty(), "{left_out:?} has no reason");
        assert!(
            i == 0 || ignored[i - 1].line <= left_out.line,
            "{left_out:?} out of order"
        );
    }
    assert_eq!(ignored, again.ignored_lines(), "a second parse differs");
    for path in paths.split('\n').take(16) {
        let found = owners.owners_of(path);
        for (i, owner) in found.iter().enumerate() {
            assert!(!owner.is_empty(), "an empty owner for {path:?}");
            assert!(!found[..i].contains(owner), "{owner:?} twice for {path:?}");
        }
        assert_eq!(found, owners.owners_of(&format!("./{path}")), "{path:?}");
        assert_eq!(
            found,
            again.owners_of(path),
            "{path:?}: a second parse differs"
        );
    }
}

/// Arbitrary text as `.keyhound.toml`: an error naming the file, or a configuration whose
/// relative paths are resolved against the file's directory and whose values hold their
/// constraints.
pub fn config(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("fuzz-dir/.keyhound.toml");
    let config = match Config::parse(path, &text) {
        Ok(config) => config,
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.starts_with("config fuzz-dir/.keyhound.toml: "),
                "{message}"
            );
            return;
        }
    };
    assert_eq!(config.path.as_deref(), Some(path));
    for rules in config.rules.iter().chain(&config.baseline) {
        assert!(
            rules.is_absolute() || rules.starts_with("fuzz-dir"),
            "{rules:?} not resolved against the file's directory"
        );
    }
    assert!(config.nhi.offboarding_days >= 1);
    assert!(config.disable_rules.iter().all(|id| !id.trim().is_empty()));
    for entry in &config.allow {
        let reason = match entry {
            AllowEntry::Fingerprint { reason, .. } | AllowEntry::Matching { reason, .. } => reason,
        };
        assert!(!reason.trim().is_empty(), "an allow entry without a reason");
    }
    keyhound_sources::Excludes::new(&config.exclude).expect("checked excludes build");
    for path in ["prod/app.env", "./staging/x.yml", "", "a/../b"] {
        if let Some(environment) = config.nhi.environment_of(path) {
            let patterns = config
                .nhi
                .environments
                .iter()
                .find(|e| e.environment == environment)
                .expect("an environment the file names");
            assert!(!patterns.globs.is_empty());
        }
    }
}
