//! CODEOWNERS: who owns a path, as GitHub and GitLab read the file.
//!
//! Each line is a gitignore-style pattern followed by owners (`@user`, `@org/team`, emails).
//! The last matching line wins. GitLab groups lines into sections (`[Section]`, optional
//! `^[Section]`, with an approval count `[Section][2]` and default owners after the header);
//! each section is judged on its own and the owners of every section's last match apply.
//! Section names are not case-sensitive, and sections of the same name are one section, their
//! lines in file order (as GitLab documents; GitLab's own file has `[Global Search]` twice).
//! Patterns are matched with the `ignore` crate's gitignore matcher, so `/docs/` is anchored,
//! `docs/` matches a directory anywhere, `*.rs` any file name, and a directory pattern owns
//! everything under it.
//!
//! Each section's lines go into one matcher, which tells the last line matching a path (or a
//! parent directory); the line number rides on each pattern as its `from`. With one matcher a
//! line, a generated file of 1,000 lines took 117 ms to parse and a lookup 680 µs (each line
//! compiled and tried on its own); with one a section, 73-87 ms and 9-15 µs
//! (`cargo bench -p keyhound-findings`, 2-core machine under load). GitLab's own
//! `.gitlab/CODEOWNERS` (1,549 lines, 51 sections): parse 13-16 ms, a lookup 28 µs
//! (`KEYHOUND_BENCH_CODEOWNERS=FILE`).

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// Where GitHub and GitLab look for the file, in the order they look.
pub const CODEOWNERS_LOCATIONS: [&str; 4] = [
    ".github/CODEOWNERS",
    "CODEOWNERS",
    "docs/CODEOWNERS",
    ".gitlab/CODEOWNERS",
];

/// One section: its lines' patterns in one matcher, and each line's owners.
struct Section {
    /// Every line's pattern, each with its index in `owners` as its `from`.
    matcher: Gitignore,
    /// The owners of each line, in file order.
    owners: Vec<Vec<String>>,
}

/// One line of the file: its number (1-based), pattern and owners.
struct Line {
    number: usize,
    pattern: String,
    owners: Vec<String>,
}

/// A line whose pattern is left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredLine {
    /// The line's number in the file, 1-based.
    pub line: usize,
    /// Its pattern, as written.
    pub pattern: String,
    /// Why it is left out.
    pub reason: String,
}

impl Section {
    /// The section of `lines`, and the lines left out of it (into `ignored`): those whose
    /// pattern does not parse, or does not build on its own when the whole set does not, and
    /// negated patterns (`!path`): CODEOWNERS has no negation, and in one matcher they would
    /// hide the lines before them.
    fn new(lines: Vec<Line>, ignored: &mut Vec<IgnoredLine>) -> Self {
        let mut ignore = |line: &Line, reason: String| {
            ignored.push(IgnoredLine {
                line: line.number,
                pattern: line.pattern.clone(),
                reason,
            });
        };
        // Each pattern is parsed once, into the section's matcher; one that does not parse
        // adds nothing to it. Its index among the lines kept is its `from`.
        let from = |index: usize| Some(PathBuf::from(index.to_string()));
        let mut builder = GitignoreBuilder::new("");
        let mut kept: Vec<Line> = Vec::with_capacity(lines.len());
        for line in lines {
            if line.pattern.starts_with('!') {
                ignore(&line, "CODEOWNERS has no negated patterns".to_string());
                continue;
            }
            match builder.add_line(from(kept.len()), &line.pattern) {
                Ok(_) => kept.push(line),
                Err(e) => ignore(&line, e.to_string()),
            }
        }
        let matcher = builder.build().unwrap_or_else(|_| {
            // Only a set too large for the regex engine gets here: keep the lines that build
            // on their own.
            let build = |keep: &dyn Fn(usize) -> bool| {
                let mut builder = GitignoreBuilder::new("");
                for (index, line) in kept.iter().enumerate() {
                    if keep(index) {
                        // Every kept pattern parses (it did above).
                        let _ = builder.add_line(from(index), &line.pattern);
                    }
                }
                builder.build()
            };
            let alone: Vec<bool> = (0..kept.len())
                .map(|i| build(&|j| j == i).is_ok())
                .collect();
            for (line, _) in kept.iter().zip(&alone).filter(|(_, ok)| !**ok) {
                ignore(line, "too large to compile".to_string());
            }
            build(&|i| alone[i]).unwrap_or_else(|_| {
                // Each builds alone, not all together: the section has no matcher, and every
                // line of it is said to be left out rather than its owners dropped silently.
                for (line, _) in kept.iter().zip(&alone).filter(|(_, ok)| **ok) {
                    ignore(line, "its section is too large to compile".to_string());
                }
                Gitignore::empty()
            })
        });
        Self {
            matcher,
            owners: kept.into_iter().map(|line| line.owners).collect(),
        }
    }

    /// The owners of the last line whose pattern matches one of `candidates`: a file and its
    /// parent directories, each with whether it is a directory.
    fn owners_of(&self, candidates: &[(&Path, bool)]) -> Option<&[String]> {
        let last = candidates
            .iter()
            .filter_map(|&(candidate, is_dir)| {
                let ignore::Match::Ignore(glob) = self.matcher.matched(candidate, is_dir) else {
                    return None;
                };
                glob.from()?.to_str()?.parse::<usize>().ok()
            })
            .max()?;
        self.owners.get(last).map(Vec::as_slice)
    }
}

/// A parsed CODEOWNERS file.
#[derive(Default)]
pub struct CodeOwners {
    /// Sections in file order; lines before any header form the first.
    sections: Vec<Section>,
    /// Lines whose pattern is left out, in file order.
    ignored: Vec<IgnoredLine>,
}

impl std::fmt::Debug for CodeOwners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeOwners")
            .field(
                "rules",
                &self
                    .sections
                    .iter()
                    .map(|s| s.matcher.num_ignores())
                    .sum::<u64>(),
            )
            .finish()
    }
}

impl CodeOwners {
    /// Parses the file's text. Lines whose pattern does not parse are left out (GitHub does
    /// the same and flags them in its UI), and listed in [`CodeOwners::ignored_lines`].
    pub fn parse(text: &str) -> Self {
        let mut ignored = Vec::new();
        let sections = sections_of(text)
            .into_iter()
            .map(|lines| Section::new(lines, &mut ignored))
            .collect();
        ignored.sort_by_key(|line| line.line);
        Self { sections, ignored }
    }

    /// The lines whose pattern is left out, in file order, each with why: the owners they
    /// name are never given, so a user should hear of them.
    pub fn ignored_lines(&self) -> &[IgnoredLine] {
        &self.ignored
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
        let path = Path::new(&path);
        // The path and its parents, found once for every section: finding them again in each
        // section took a third of a lookup in GitLab's own file (51 sections).
        let candidates: Vec<(&Path, bool)> = std::iter::successors(path.parent(), |d| d.parent())
            .map(|dir| (dir, true))
            .chain([(path, false)])
            .collect();
        let mut owners: Vec<String> = Vec::new();
        for section in &self.sections {
            for owner in section.owners_of(&candidates).unwrap_or_default() {
                if !owners.contains(owner) {
                    owners.push(owner.clone());
                }
            }
        }
        owners
    }
}

/// The file's lines, pattern and owners each, in sections (lines before any header form the
/// first; headers that name a section met before, in any case, continue it). A line without
/// owners takes the default owners of the header above it.
fn sections_of(text: &str) -> Vec<Vec<Line>> {
    let mut sections: Vec<Vec<Line>> = vec![Vec::new()];
    let mut by_name: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut current = 0;
    let mut section_owners: Vec<String> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = strip_comment(raw).trim();
        if line.is_empty() {
            continue;
        }
        if let Some((name, owners)) = section_header(line) {
            current = *by_name.entry(name.to_lowercase()).or_insert_with(|| {
                sections.push(Vec::new());
                sections.len() - 1
            });
            section_owners = owners;
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
        if let Some(section) = sections.get_mut(current) {
            section.push(Line {
                number: index + 1,
                pattern,
                owners,
            });
        }
    }
    sections
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

/// A GitLab section header's name (trimmed) and default owners, if `line` is one: `[Name]`,
/// `^[Name]`, `[Name][2]`, each optionally followed by owners.
fn section_header(line: &str) -> Option<(&str, Vec<String>)> {
    let rest = line.strip_prefix('^').unwrap_or(line);
    let rest = rest.strip_prefix('[')?;
    let close = rest.find(']')?;
    let name = rest[..close].trim();
    if name.is_empty() {
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
    Some((name, split_words(rest)))
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
    fn lines_left_out_are_listed_with_their_number_and_reason() {
        let owners = CodeOwners::parse(
            "# owners\n* @everyone\n!vendor/ @nobody\n\n[Docs]\nsrc/[z-a].rs @broken\ndocs/ @docs\n",
        );
        let ignored: Vec<(usize, &str)> = owners
            .ignored_lines()
            .iter()
            .map(|l| (l.line, l.pattern.as_str()))
            .collect();
        assert_eq!(ignored, [(3, "!vendor/"), (6, "src/[z-a].rs")]);
        assert!(owners.ignored_lines()[0].reason.contains("negated"));
        assert!(owners.ignored_lines()[1].reason.contains("invalid range"));
        // The other lines still apply.
        assert_eq!(owners.owners_of("docs/a.md"), ["@everyone", "@docs"]);
        assert_eq!(owners.owners_of("vendor/x.js"), ["@everyone"]);
        assert!(CodeOwners::parse("* @a\n").ignored_lines().is_empty());
    }

    #[test]
    fn sections_of_the_same_name_in_any_case_are_one_section() {
        let text = "[Search] @search\nlib/search/ \n\n[Docs] @docs\ndoc/ \n\n\
                    ^[search] @migrations\nlib/search/migrate/ \n";
        let owners = CodeOwners::parse(text);
        // One section: its last match wins, so the earlier line's owners are not added.
        assert_eq!(
            owners.owners_of("lib/search/migrate/v2.rb"),
            ["@migrations"]
        );
        assert_eq!(owners.owners_of("lib/search/index.rb"), ["@search"]);
        assert_eq!(owners.owners_of("doc/search.md"), ["@docs"]);
    }

    /// One matcher a line, each asked about the path and its parents, as the file's lines were
    /// matched before they shared one matcher a section: in each section, the owners of the
    /// last line whose pattern matches.
    fn owners_line_by_line(text: &str, path: &str) -> Vec<String> {
        let sections: Vec<Vec<(Gitignore, Vec<String>)>> = sections_of(text)
            .into_iter()
            .map(|lines| {
                lines
                    .into_iter()
                    .filter_map(|line| {
                        let mut builder = GitignoreBuilder::new("");
                        builder.add_line(None, &line.pattern).ok()?;
                        Some((builder.build().ok()?, line.owners))
                    })
                    .collect()
            })
            .collect();
        let mut found: Vec<String> = Vec::new();
        for section in &sections {
            let last = section
                .iter()
                .rev()
                .find(|(matcher, _)| matcher.matched_path_or_any_parents(path, false).is_ignore());
            for owner in last.map(|(_, o)| o.as_slice()).unwrap_or_default() {
                if !found.contains(owner) {
                    found.push(owner.clone());
                }
            }
        }
        found
    }

    /// Every combination of pattern shapes (anchored, unanchored, directory-only, wildcards,
    /// `**`, escapes, negations, duplicates, lines without owners, sections, repeated ones
    /// among them) over paths at several depths: one matcher a section finds exactly the owners
    /// that one matcher a line finds.
    #[test]
    fn one_matcher_a_section_finds_what_one_matcher_a_line_finds() {
        let patterns = [
            "*",
            "*.rs",
            "/src/",
            "src/",
            "src",
            "/src/app/*.rs",
            "app/",
            "**/keys/**",
            "docs/**",
            "/README.md",
            "README.md",
            "!src/",
            "\\!odd",
            "a/**/b",
            "*.env",
            "/deploy/*",
            "deploy/",
            "[ab]*/",
            "?",
            "vendor/",
            "/x/y/z",
        ];
        let paths = [
            "src/main.rs",
            "src/app/keys.rs",
            "a/src/b.rs",
            "src",
            "app/x.env",
            "README.md",
            "docs/README.md",
            "a/x/b/c.txt",
            "deploy/k8s/app.yaml",
            "deploy/prod.env",
            "x/y/z",
            "x/y/z/w",
            "keys/k",
            "q/keys/z/k.pem",
            "b/c",
            "vendor/lib/x.js",
            "!odd",
            "z",
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..100 {
            let mut text = String::new();
            for i in 0..1 + next(12) {
                match next(10) {
                    // Three names, in either case: repeated sections are common.
                    0 => text.push_str(&format!(
                        "[{}{}] @lead{i}\n",
                        ["Section", "SECTION"][next(2)],
                        next(3)
                    )),
                    1 => text.push_str(&format!("{}\n", patterns[next(patterns.len())])),
                    _ => text.push_str(&format!(
                        "{} @owner{i} @team/{}\n",
                        patterns[next(patterns.len())],
                        next(3)
                    )),
                }
            }
            let owners = CodeOwners::parse(&text);
            for path in paths {
                assert_eq!(
                    owners.owners_of(path),
                    owners_line_by_line(&text, path),
                    "{path} in\n{text}"
                );
            }
        }
    }

    #[test]
    fn a_line_without_owners_unowns_outside_sections() {
        let owners = CodeOwners::parse("* @everyone\nvendor/\n");
        assert!(owners.owners_of("vendor/lib.js").is_empty());
        assert_eq!(owners.owners_of("lib.js"), ["@everyone"]);
    }
}
