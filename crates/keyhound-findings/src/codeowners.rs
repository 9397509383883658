//! CODEOWNERS: who owns a path, as GitHub and GitLab read the file.
//!
//! Each line is a gitignore-style pattern followed by owners (`@user`, `@org/team`, emails).
//! The last matching line wins. GitLab groups lines into sections (`[Section]`, optional
//! `^[Section]`, with an approval count `[Section][2]` and default owners after the header);
//! each section is judged on its own and the owners of every section's last match apply.
//! Patterns are matched with the `ignore` crate's gitignore matcher, so `/docs/` is anchored,
//! `docs/` matches a directory anywhere, `*.rs` any file name, and a directory pattern owns
//! everything under it.

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// Where GitHub and GitLab look for the file, in the order they look.
pub const CODEOWNERS_LOCATIONS: [&str; 4] = [
    ".github/CODEOWNERS",
    "CODEOWNERS",
    "docs/CODEOWNERS",
    ".gitlab/CODEOWNERS",
];

/// One rule: a pattern and its owners.
struct Entry {
    matcher: Gitignore,
    owners: Vec<String>,
}

/// A parsed CODEOWNERS file.
#[derive(Default)]
pub struct CodeOwners {
    /// Sections in file order; lines before any header form the first.
    sections: Vec<Vec<Entry>>,
}

impl std::fmt::Debug for CodeOwners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeOwners")
            .field("rules", &self.sections.iter().map(Vec::len).sum::<usize>())
            .finish()
    }
}

impl CodeOwners {
    /// Parses the file's text. Lines whose pattern does not parse are left out (GitHub does
    /// the same and flags them in its UI).
    pub fn parse(text: &str) -> Self {
        let mut sections: Vec<Vec<Entry>> = vec![Vec::new()];
        let mut section_owners: Vec<String> = Vec::new();
        for raw in text.lines() {
            let line = strip_comment(raw).trim();
            if line.is_empty() {
                continue;
            }
            if let Some(header) = section_header(line) {
                sections.push(Vec::new());
                section_owners = header;
                continue;
            }
            let mut words = split_words(line).into_iter();
            let Some(pattern) = words.next() else {
                continue;
            };
            let mut owners: Vec<String> = words.collect();
            if owners.is_empty() {
                owners.clone_from(&section_owners);
            }
            let mut builder = GitignoreBuilder::new("");
            if builder.add_line(None, &pattern).is_err() {
                continue;
            }
            let Ok(matcher) = builder.build() else {
                continue;
            };
            if let Some(section) = sections.last_mut() {
                section.push(Entry { matcher, owners });
            }
        }
        Self { sections }
    }

    /// The owners of `path` (relative to the repository root, `/`-separated): in each section,
    /// those of the last matching line; in file order, each once.
    pub fn owners_of(&self, path: &str) -> Vec<String> {
        // Without empty and `.` components: the matcher strips one more `./` itself and panics
        // on what is left if it starts with `/` (`/.//x`).
        let components: Vec<&str> = path
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        let path = components.join("/");
        let path = path.as_str();
        let mut owners: Vec<String> = Vec::new();
        for section in &self.sections {
            let last = section.iter().rev().find(|entry| {
                entry
                    .matcher
                    .matched_path_or_any_parents(path, false)
                    .is_ignore()
            });
            for owner in last.map(|e| e.owners.as_slice()).unwrap_or_default() {
                if !owners.contains(owner) {
                    owners.push(owner.clone());
                }
            }
        }
        owners
    }
}

/// The line without its comment: `#` starts one unless escaped as `\#`.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1] != b'\\') {
            return &line[..i];
        }
    }
    line
}

/// A GitLab section header's default owners, if `line` is one: `[Name]`, `^[Name]`,
/// `[Name][2]`, each optionally followed by owners.
fn section_header(line: &str) -> Option<Vec<String>> {
    let rest = line.strip_prefix('^').unwrap_or(line);
    let rest = rest.strip_prefix('[')?;
    let close = rest.find(']')?;
    if rest[..close].trim().is_empty() {
        return None;
    }
    let mut rest = &rest[close + 1..];
    if let Some(count) = rest.strip_prefix('[') {
        let close = count.find(']')?;
        if !count[..close].chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        rest = &count[close + 1..];
    }
    Some(split_words(rest))
}

/// Splits on unescaped white space (`\ ` keeps a space in a pattern; other escapes are
/// left for the gitignore matcher).
fn split_words(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(next) = chars.next() {
                    if next != ' ' {
                        word.push('\\');
                    }
                    word.push(next);
                }
            }
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_matching_line_wins() {
        let owners = CodeOwners::parse(
            "# default\n* @org/everyone\n*.tf @org/infra\n/deploy/ @org/sre ops@example.org\n\
             deploy/prod/secrets.env @alice\n",
        );
        assert_eq!(owners.owners_of("README.md"), ["@org/everyone"]);
        assert_eq!(owners.owners_of("modules/net/main.tf"), ["@org/infra"]);
        assert_eq!(
            owners.owners_of("deploy/k8s/app.yaml"),
            ["@org/sre", "ops@example.org"]
        );
        assert_eq!(owners.owners_of("deploy/prod/secrets.env"), ["@alice"]);
        // Anchored: `/deploy/` is not `src/deploy/`.
        assert_eq!(owners.owners_of("src/deploy/x.rs"), ["@org/everyone"]);
    }

    /// Found by the `codeowners` fuzz target: a path whose `./` came after its leading `/`
    /// reached the matcher as `/x` after it stripped the `./`, and the matcher panicked.
    #[test]
    fn empty_and_dot_components_are_dropped() {
        let owners = CodeOwners::parse("* @everyone\n/deploy/ @sre\n");
        for path in [
            "/.//x",
            "///.////x",
            "./deploy//app.yaml",
            "deploy/./app.yaml",
        ] {
            let expected: &[&str] = if path.contains("deploy") {
                &["@sre"]
            } else {
                &["@everyone"]
            };
            assert_eq!(owners.owners_of(path), expected, "{path}");
        }
    }

    #[test]
    fn unanchored_directories_match_anywhere_and_comments_are_dropped() {
        let owners = CodeOwners::parse("docs/ @writers # the docs team\n\\#odd @hash\n");
        assert_eq!(owners.owners_of("a/b/docs/guide.md"), ["@writers"]);
        assert_eq!(owners.owners_of("#odd"), ["@hash"]);
        assert!(owners.owners_of("src/main.rs").is_empty());
    }

    #[test]
    fn gitlab_sections_each_contribute_their_last_match() {
        let owners = CodeOwners::parse(
            "* @everyone\n\n[Backend][2] @backend-leads\napp/ \napp/billing/ @billing\n\n\
             ^[Security] @security\nconfig/ \n",
        );
        assert_eq!(
            owners.owners_of("app/billing/keys.rb"),
            ["@everyone", "@billing"]
        );
        assert_eq!(
            owners.owners_of("app/models/user.rb"),
            ["@everyone", "@backend-leads"]
        );
        assert_eq!(
            owners.owners_of("config/secrets.yml"),
            ["@everyone", "@security"]
        );
    }

    #[test]
    fn a_line_without_owners_unowns_outside_sections() {
        let owners = CodeOwners::parse("* @everyone\nvendor/\n");
        assert!(owners.owners_of("vendor/lib.js").is_empty());
        assert_eq!(owners.owners_of("lib.js"), ["@everyone"]);
    }
}
