//! Walking trees, skipping, excluding, and reading files.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on broken fixtures"
)]

mod archives;
mod common;
mod fuzz_seeds;
mod integrity;

use std::path::PathBuf;
use std::sync::Mutex;

use common::{blobs_by_git, blobs_by_keyhound, git, git_dated, pack_index, packed_history, write};

use keyhound_sources::git::{GitRepository, ObjectId};
use keyhound_sources::pack::Packs;
use keyhound_sources::{Content, FileEvent, SkipReason, SourceError, WalkOptions, open_file, walk};

#[derive(Default, Debug)]
struct Seen {
    files: Vec<String>,
    skipped: Vec<(String, SkipReason)>,
    errors: Vec<String>,
}

impl Seen {
    /// Notes what the walker met.
    fn record(&mut self, event: FileEvent) {
        match event {
            FileEvent::File(input) => self.files.push(input.display_path),
            FileEvent::Skipped {
                display_path,
                reason,
            } => self.skipped.push((display_path, reason)),
            FileEvent::Error(e) => self.errors.push(e.to_string()),
        }
    }
}

fn collect(roots: &[PathBuf], options: &WalkOptions) -> Seen {
    let seen = Mutex::new(Seen::default());
    walk(roots, options, |event| seen.lock().unwrap().record(event)).unwrap();
    let mut seen = seen.into_inner().unwrap();
    seen.files.sort();
    seen
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "app/config.yml", b"a: 1\n");
    write(dir.path(), ".env", b"TOKEN=1\n");
    write(dir.path(), ".git/config", b"[core]\n");
    write(dir.path(), ".git/objects/ab/cdef", b"blob");
    write(dir.path(), "node_modules/pkg/index.js", b"x\n");
    write(dir.path(), "docs/guide/intro.md", b"# hi\n");
    write(dir.path(), "dist/app.min.js", b"x\n");
    write(dir.path(), "ignored.log", b"x\n");
    write(dir.path(), ".gitignore", b"*.log\n");
    dir
}

#[test]
fn walks_hidden_files_but_never_git_internals() {
    let dir = tree();
    let seen = collect(&[dir.path().to_path_buf()], &WalkOptions::default());
    let root = dir.path().to_string_lossy().to_string();
    let relative: Vec<_> = seen
        .files
        .iter()
        .map(|f| f.strip_prefix(&format!("{root}/")).unwrap().to_string())
        .collect();
    assert_eq!(
        relative,
        [
            ".env",
            ".gitignore",
            "app/config.yml",
            "dist/app.min.js",
            "docs/guide/intro.md",
            "ignored.log",
            "node_modules/pkg/index.js"
        ]
    );
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
}

#[test]
fn display_paths_are_relative_to_the_root_as_given() {
    let dir = tree();
    let cwd = std::env::current_dir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let dotted = collect(&[PathBuf::from(".")], &WalkOptions::default());
    let named = collect(&[PathBuf::from("app")], &WalkOptions::default());
    std::env::set_current_dir(cwd).unwrap();
    assert!(
        dotted.files.contains(&"app/config.yml".to_string()),
        "{:?}",
        dotted.files
    );
    assert!(dotted.files.iter().all(|f| !f.starts_with("./")));
    assert_eq!(named.files, ["app/config.yml"]);
}

#[test]
fn excludes_match_names_anywhere_and_relative_paths() {
    let dir = tree();
    let options = WalkOptions {
        excludes: vec![
            "node_modules".into(),
            "*.min.js".into(),
            "docs/**/*.md".into(),
        ],
        ..WalkOptions::default()
    };
    let seen = collect(&[dir.path().to_path_buf()], &options);
    assert!(
        seen.files.iter().all(|f| !f.contains("node_modules")),
        "{:?}",
        seen.files
    );
    assert!(seen.files.iter().all(|f| !f.ends_with(".min.js")));
    assert!(seen.files.iter().all(|f| !f.ends_with("intro.md")));
    assert!(seen.files.iter().any(|f| f.ends_with("app/config.yml")));
}

#[cfg(unix)]
#[test]
fn excluded_entries_links_not_followed_and_special_files_are_reported_as_skipped() {
    let dir = tree();
    std::os::unix::fs::symlink("/etc/hostname", dir.path().join("outside")).unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let options = WalkOptions {
        excludes: vec!["node_modules".into(), "*.min.js".into()],
        ..WalkOptions::default()
    };
    let mut seen = collect(&[dir.path().to_path_buf()], &options);
    let root = format!("{}/", dir.path().display());
    seen.skipped.sort_by(|a, b| a.0.cmp(&b.0));
    let skipped: Vec<(&str, &SkipReason)> = seen
        .skipped
        .iter()
        .map(|(path, reason)| (path.strip_prefix(&root).unwrap(), reason))
        .collect();
    // An excluded directory counts once; the FIFO is never opened (it would block).
    assert_eq!(
        skipped,
        [
            ("dist/app.min.js", &SkipReason::Excluded),
            ("node_modules", &SkipReason::Excluded),
            ("outside", &SkipReason::Symlink),
            ("pipe", &SkipReason::Special),
        ]
    );
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
}

#[test]
fn a_file_that_vanishes_between_the_walk_and_the_read_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "stays.txt", b"here\n");
    write(dir.path(), "goes.txt", b"gone soon\n");
    let results = Mutex::new(Vec::new());
    walk(
        &[dir.path().to_path_buf()],
        &WalkOptions::default(),
        |event| {
            if let FileEvent::File(input) = event {
                if input.display_path.ends_with("goes.txt") {
                    std::fs::remove_file(&input.path).unwrap();
                }
                let read = open_file(&input).map(|_| ()).map_err(|e| e.to_string());
                results.lock().unwrap().push((input.display_path, read));
            }
        },
    )
    .unwrap();
    let mut results = results.into_inner().unwrap();
    results.sort();
    let root = format!("{}/", dir.path().display());
    assert_eq!(results.len(), 2);
    assert_eq!(results[1], (format!("{root}stays.txt"), Ok(())));
    let (path, read) = &results[0];
    assert_eq!(path, &format!("{root}goes.txt"));
    let message = read.as_ref().unwrap_err();
    assert!(
        message.starts_with(&format!("{root}goes.txt: ")) && message.contains("No such file"),
        "{message}"
    );
}

#[test]
fn a_bad_glob_is_an_error_naming_it() {
    let options = WalkOptions {
        excludes: vec!["src/[".into()],
        ..WalkOptions::default()
    };
    let err = walk(&[PathBuf::from(".")], &options, |_| {}).unwrap_err();
    assert!(matches!(err, SourceError::InvalidGlob { .. }));
    assert!(err.to_string().contains("src/["), "{err}");
}

#[test]
fn gitignore_is_honoured_only_when_asked() {
    let dir = tree();
    let root = [dir.path().to_path_buf()];
    let default = collect(&root, &WalkOptions::default());
    assert!(default.files.iter().any(|f| f.ends_with("ignored.log")));
    let honoured = collect(
        &root,
        &WalkOptions {
            respect_gitignore: true,
            ..WalkOptions::default()
        },
    );
    assert!(
        honoured.files.iter().all(|f| !f.ends_with("ignored.log")),
        "{:?}",
        honoured.files
    );
    assert!(honoured.files.iter().any(|f| f.ends_with(".env")));
}

/// Files under `root` (display paths relative to it) that a `--gitignore` walk of `root` keeps.
fn kept_with_gitignore(root: &std::path::Path) -> Seen {
    let mut seen = collect(
        &[root.to_path_buf()],
        &WalkOptions {
            respect_gitignore: true,
            ..WalkOptions::default()
        },
    );
    let prefix = format!("{}/", root.display());
    for file in &mut seen.files {
        *file = file.strip_prefix(&prefix).unwrap().to_string();
    }
    seen
}

#[test]
fn gitignore_rules_nest_negate_and_come_from_every_source() {
    let outer = tempfile::tempdir().unwrap();
    // Above the scanned root: its rules apply too.
    write(outer.path(), ".gitignore", b"from-parent.txt\n");
    let root = outer.path().join("root");
    let files: &[(&str, &[u8])] = &[
        (
            ".gitignore",
            b"\xef\xbb\xbf*.log\n!keep.log\n/anchored.txt\nbuild/\n# a comment\n",
        ),
        // `.ignore` wins over `.gitignore`.
        (".ignore", b"!important.log\n"),
        (".git/info/exclude", b"local-only.txt\n"),
        ("a.log", b"x"),
        ("keep.log", b"x"),
        ("important.log", b"x"),
        ("anchored.txt", b"x"),
        ("from-parent.txt", b"x"),
        ("local-only.txt", b"x"),
        ("build/out.txt", b"x"),
        // A deeper file wins over a shallower one.
        ("sub/.gitignore", b"!a.log\n"),
        ("sub/a.log", b"x"),
        ("sub/b.log", b"x"),
        ("sub/anchored.txt", b"x"),
        // `build/` names directories only.
        ("sub/build", b"x"),
    ];
    for (path, contents) in files {
        write(&root, path, contents);
    }
    let seen = kept_with_gitignore(&root);
    assert_eq!(
        seen.files,
        [
            ".gitignore",
            ".ignore",
            "important.log",
            "keep.log",
            "sub/.gitignore",
            "sub/a.log",
            "sub/anchored.txt",
            "sub/build",
        ]
    );
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    assert!(seen.skipped.is_empty(), "{:?}", seen.skipped);
}

#[test]
fn info_exclude_is_found_through_a_worktrees_and_a_submodules_git_file() {
    let outer = tempfile::tempdir().unwrap();
    let repo = outer.path().join("repo");
    write(&repo, "a.txt", b"x");
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "a.txt"]);
    git(&repo, &["commit", "-q", "-m", "First"]);
    write(&repo, ".git/info/exclude", b"local.txt\n");
    // A worktree: `.git` is a file naming the worktree's git directory, whose `commondir`
    // names the repository's.
    git(&repo, &["worktree", "add", "-q", "../wt"]);
    let wt = outer.path().join("wt");
    write(&wt, "local.txt", b"x");
    // A submodule's checkout: `gitdir:` relative to it, and no `commondir`.
    write(&repo, "sub/.git", b"gitdir: ../.git/modules/sub\n");
    write(&repo, ".git/modules/sub/info/exclude", b"sub-local.txt\n");
    write(&repo, "sub/sub-local.txt", b"x");
    write(&repo, "sub/kept.txt", b"x");
    let seen = kept_with_gitignore(&wt);
    assert_eq!(seen.files, ["a.txt"]);
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
    let seen = kept_with_gitignore(&repo);
    assert_eq!(seen.files, ["a.txt", "sub/kept.txt"]);
    assert!(seen.errors.is_empty(), "{:?}", seen.errors);
}

/// Runs `job` on a thread and returns its result, failing the test if it takes over a minute
/// (a hang: the thread is left behind, the test process ends with the failure).
fn within_a_minute<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || send.send(job()));
    receive
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("finished within a minute, not hung")
}

/// Makes a FIFO at `path`.
#[cfg(unix)]
fn mkfifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

#[cfg(unix)]
#[test]
fn ignore_files_that_are_not_regular_files_are_errors_naming_them_and_never_block() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    write(&root, ".gitignore", b"*.log\n");
    write(&root, "top.env", b"x");
    write(&root, "top.log", b"x");
    write(&root, "d/inner.env", b"x");
    write(&root, "d/sub/.gitignore", b"*.tmp\n");
    write(&root, "d/sub/deep.env", b"x");
    write(&root, "d/sub/deep.tmp", b"x");
    write(&root, "d/sub/deep.log", b"x");
    write(&root, "e/.git/info/README", b"x");
    write(&root, "e/e.env", b"x");
    // A directory of that name is no ignore file: walked like any other.
    write(&root, "e/.gitignore/kept.env", b"x");
    // Opening a FIFO for reading waits for a writer: the walk used to hang here for ever.
    mkfifo(&root.join("d/.gitignore"));
    mkfifo(&root.join("d/sub/.ignore"));
    mkfifo(&root.join("e/.git/info/exclude"));
    let seen = within_a_minute(move || kept_with_gitignore(&root));
    // Every other rule still holds, and everything else is walked.
    assert_eq!(
        seen.files,
        [
            ".gitignore",
            "d/inner.env",
            "d/sub/.gitignore",
            "d/sub/deep.env",
            "e/.gitignore/kept.env",
            "e/e.env",
            "top.env"
        ]
    );
    let mut errors = seen.errors.clone();
    errors.sort();
    let root = dir.path().display().to_string();
    assert_eq!(errors.len(), 3, "{errors:?}");
    for (error, file) in errors
        .iter()
        .zip(["d/.gitignore", "d/sub/.ignore", "e/.git/info/exclude"])
    {
        assert!(
            error.starts_with(&format!("{root}/{file}: "))
                && error.contains("not a regular file (a FIFO)"),
            "{error}"
        );
    }
    // Reported once, as an error: not walked (and counted) as a special file too.
    assert!(seen.skipped.is_empty(), "{:?}", seen.skipped);

    // A directory that is a root and above another root has its files read once.
    let roots = [dir.path().join("d/sub"), dir.path().join("d")];
    let seen = within_a_minute(move || {
        collect(
            &roots,
            &WalkOptions {
                respect_gitignore: true,
                ..WalkOptions::default()
            },
        )
    });
    // (d/sub is walked twice, once from each root, and so is its .ignore reported.)
    let about_d = |error: &&String| error.starts_with(&format!("{root}/d/.gitignore: "));
    assert_eq!(
        seen.errors.iter().filter(about_d).count(),
        1,
        "{:?}",
        seen.errors
    );
}

/// What a walk of one thread made of each file: read (its bytes), skipped (why) or an error.
#[derive(Debug, PartialEq)]
enum Outcome {
    Read(Vec<u8>),
    Skipped(SkipReason),
    Error(String),
}

#[cfg(unix)]
#[test]
fn files_that_vanish_or_change_between_the_listing_and_the_read_are_named_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["a.env", "b.env", "c.env", "d.env", "e.env", "f.env"];
    for name in names {
        write(dir.path(), name, format!("T={name}\n").as_bytes());
    }
    // With one thread, the walker lists the whole directory, then visits its files one by one:
    // the first file it visits changes all the others, listed but not visited yet. Which file
    // comes first depends on the file system's order: the others get their parts by name.
    let parts: Mutex<Vec<(&str, &str)>> = Mutex::new(Vec::new());
    let outcomes = Mutex::new(std::collections::BTreeMap::new());
    let root = dir.path().to_path_buf();
    walk(
        std::slice::from_ref(&root),
        &WalkOptions {
            max_file_size: Some(1024),
            threads: 1,
            ..WalkOptions::default()
        },
        |event| {
            let (shown, outcome) = match event {
                FileEvent::File(input) => {
                    let mut parts = parts.lock().unwrap();
                    if parts.is_empty() {
                        let first = input.path.file_name().unwrap();
                        let first = names.iter().find(|n| **n == first).unwrap();
                        let others = names.iter().filter(|n| *n != first);
                        let roles = ["unchanged", "gone", "cut", "grown", "over", "fifo"];
                        parts.push((first, "first"));
                        parts.extend(others.copied().zip(roles));
                        for (name, role) in parts.iter() {
                            let path = root.join(name);
                            match *role {
                                "gone" => std::fs::remove_file(&path).unwrap(),
                                "cut" => std::fs::File::options()
                                    .write(true)
                                    .open(&path)
                                    .unwrap()
                                    .set_len(2)
                                    .unwrap(),
                                "grown" => std::fs::write(&path, b"T=grown\nU=more\n").unwrap(),
                                "over" => std::fs::write(&path, vec![b'x'; 2000]).unwrap(),
                                "fifo" => {
                                    std::fs::remove_file(&path).unwrap();
                                    mkfifo(&path);
                                }
                                _ => {}
                            }
                        }
                    }
                    let read = match open_file(&input) {
                        Ok(Content::Bytes(bytes)) => Outcome::Read(bytes),
                        Ok(Content::Stream(_)) => panic!("a small file streamed"),
                        Err(e) => Outcome::Error(e.to_string()),
                    };
                    (input.display_path, read)
                }
                FileEvent::Skipped {
                    display_path,
                    reason,
                } => (display_path, Outcome::Skipped(reason)),
                FileEvent::Error(e) => {
                    let SourceError::Io { path, .. } = &e else {
                        panic!("{e}")
                    };
                    (path.clone(), Outcome::Error(e.to_string()))
                }
            };
            outcomes.lock().unwrap().insert(shown, outcome);
        },
    )
    .unwrap();
    let outcomes = outcomes.into_inner().unwrap();
    let prefix = format!("{}/", dir.path().display());
    for (name, role) in parts.into_inner().unwrap() {
        let shown = format!("{prefix}{name}");
        let outcome = &outcomes[&shown];
        match role {
            "first" | "unchanged" => {
                assert_eq!(outcome, &Outcome::Read(format!("T={name}\n").into()))
            }
            // Gone between the listing and the visit: an error naming it.
            "gone" => assert!(
                matches!(outcome, Outcome::Error(e) if e.starts_with(&shown) && e.contains("No such file")),
                "{outcome:?}"
            ),
            // Read as they are when read.
            "cut" => assert_eq!(outcome, &Outcome::Read(b"T=".to_vec())),
            "grown" => assert_eq!(outcome, &Outcome::Read(b"T=grown\nU=more\n".to_vec())),
            "over" => assert_eq!(
                outcome,
                &Outcome::Skipped(SkipReason::TooLarge {
                    size: 2000,
                    limit: 1024
                })
            ),
            // Never opened: it would wait for a writer.
            "fifo" => assert_eq!(outcome, &Outcome::Skipped(SkipReason::Special)),
            _ => unreachable!(),
        }
    }
    assert_eq!(outcomes.len(), names.len());
}

#[test]
fn a_directory_that_vanishes_before_it_is_walked_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["a", "b", "c"] {
        write(dir.path(), &format!("{name}/file.txt"), b"x\n");
    }
    // One walker thread walks a directory whole before the next: when the first file is
    // visited, the other two directories are listed in their parent but not read yet.
    let first: Mutex<Option<String>> = Mutex::new(None);
    let seen = Mutex::new(Seen::default());
    let root = dir.path().to_path_buf();
    walk(
        std::slice::from_ref(&root),
        &WalkOptions {
            threads: 1,
            ..WalkOptions::default()
        },
        |event| {
            let mut first = first.lock().unwrap();
            if let (FileEvent::File(input), None) = (&event, first.as_ref()) {
                let parent = input.path.parent().unwrap().to_path_buf();
                for name in ["a", "b", "c"] {
                    if root.join(name) != parent {
                        std::fs::remove_dir_all(root.join(name)).unwrap();
                    }
                }
                *first = Some(parent.file_name().unwrap().to_string_lossy().into());
            }
            seen.lock().unwrap().record(event);
        },
    )
    .unwrap();
    let seen = seen.into_inner().unwrap();
    let first = first.into_inner().unwrap().unwrap();
    assert_eq!(seen.files, [format!("{}/{first}/file.txt", root.display())]);
    let mut errors = seen.errors;
    errors.sort();
    let gone: Vec<String> = ["a", "b", "c"]
        .iter()
        .filter(|name| **name != first)
        .map(|name| format!("{}/{name}: ", root.display()))
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    for (error, gone) in errors.iter().zip(&gone) {
        assert!(
            error.starts_with(gone) && error.contains("No such file"),
            "{error}"
        );
    }
    assert!(seen.skipped.is_empty(), "{:?}", seen.skipped);
}

#[test]
fn files_over_the_size_limit_are_reported_as_skipped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.txt", b"tiny\n");
    write(dir.path(), "big.txt", &vec![b'a'; 2048]);
    let options = WalkOptions {
        max_file_size: Some(1024),
        ..WalkOptions::default()
    };
    let seen = collect(&[dir.path().to_path_buf()], &options);
    assert_eq!(seen.files.len(), 1);
    assert!(seen.files[0].ends_with("small.txt"));
    assert_eq!(seen.skipped.len(), 1);
    assert!(seen.skipped[0].0.ends_with("big.txt"));
    assert_eq!(
        seen.skipped[0].1,
        SkipReason::TooLarge {
            size: 2048,
            limit: 1024
        }
    );
}

#[test]
fn a_missing_root_is_reported_and_the_others_walked() {
    let dir = tree();
    let missing = dir.path().join("nope");
    let seen = collect(&[missing, dir.path().join("app")], &WalkOptions::default());
    assert_eq!(seen.files.len(), 1);
    assert_eq!(seen.errors.len(), 1);
    assert!(
        seen.errors[0].contains("nope") && seen.errors[0].contains("no such file"),
        "{:?}",
        seen.errors
    );
}

/// `scan dir dir/sub dir`: each file once, and a FIFO in the nested root skipped once (both
/// were met once by each walk that reached them).
#[test]
fn roots_inside_other_roots_and_repeated_roots_are_walked_once() {
    let dir = tree();
    #[cfg(unix)]
    mkfifo(&dir.path().join("app/pipe"));
    let root = dir.path().to_path_buf();
    let all = collect(std::slice::from_ref(&root), &WalkOptions::default());
    let spelled_again = root.join("app/../.");
    let seen = collect(
        &[
            root.clone(),
            root.join("app"),
            spelled_again,
            root.join("app/"),
        ],
        &WalkOptions::default(),
    );
    assert_eq!(seen.files, all.files);
    let mut unique = seen.files.clone();
    unique.dedup();
    assert_eq!(unique, seen.files, "a file visited twice");
    assert_eq!(seen.skipped, all.skipped);
    #[cfg(unix)]
    assert_eq!(
        seen.skipped
            .iter()
            .filter(|(_, reason)| *reason == SkipReason::Special)
            .count(),
        1,
        "{:?}",
        seen.skipped
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_reported_not_followed_forever() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/file.txt", b"x\n");
    std::os::unix::fs::symlink(dir.path().join("a"), dir.path().join("a/loop")).unwrap();
    let followed = collect(
        &[dir.path().to_path_buf()],
        &WalkOptions {
            follow_symlinks: true,
            ..WalkOptions::default()
        },
    );
    assert_eq!(followed.files.len(), 1, "{:?}", followed.files);
    assert!(
        followed.errors.iter().any(|e| e.contains("loop")),
        "{:?}",
        followed.errors
    );
    let unfollowed = collect(&[dir.path().to_path_buf()], &WalkOptions::default());
    assert_eq!(unfollowed.files.len(), 1);
    assert!(unfollowed.errors.is_empty());
}

#[test]
fn small_files_are_read_whole_and_binary_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "text.txt", b"hello\n");
    write(dir.path(), "blob.bin", b"\x7fELF\x00\x01");
    let seen = Mutex::new(Vec::new());
    walk(
        &[dir.path().to_path_buf()],
        &WalkOptions::default(),
        |event| {
            if let FileEvent::File(input) = event {
                seen.lock().unwrap().push(input);
            }
        },
    )
    .unwrap();
    for input in seen.into_inner().unwrap() {
        let Content::Bytes(bytes) = open_file(&input).unwrap() else {
            panic!("small file streamed");
        };
        assert_eq!(bytes.len() as u64, input.size);
        assert_eq!(
            keyhound_sources::looks_binary(&bytes),
            input.display_path.ends_with(".bin")
        );
    }
}

#[test]
fn an_unopenable_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = keyhound_sources::FileInput {
        path: dir.path().join("gone.txt"),
        display_path: "gone.txt".into(),
        size: 3,
        limit: None,
    };
    let err = open_file(&input).unwrap_err();
    assert!(err.to_string().starts_with("gone.txt: "), "{err}");
}

/// The reason `open_file` gives for leaving out a file that changed since its listing.
fn changed(read: Result<Content, SourceError>) -> SkipReason {
    match read {
        Err(SourceError::Changed { reason, .. }) => reason,
        Err(e) => panic!("another error: {e}"),
        Ok(Content::Bytes(bytes)) => panic!("read {} bytes", bytes.len()),
        Ok(Content::Stream(_)) => panic!("streamed"),
    }
}

#[test]
fn a_file_grown_past_its_read_bound_before_the_read_is_left_out_as_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.txt");
    let listed = |limit| keyhound_sources::FileInput {
        path: path.clone(),
        display_path: "log.txt".into(),
        size: 10,
        limit,
    };
    // Within the limit it was listed under: read whole, as it is now.
    write(dir.path(), "log.txt", &[b'a'; 1024]);
    let Content::Bytes(bytes) = open_file(&listed(Some(1024))).unwrap() else {
        panic!("streamed")
    };
    assert_eq!(bytes.len(), 1024);
    write(dir.path(), "log.txt", &[b'a'; 1025]);
    let err = open_file(&listed(Some(1024))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "log.txt: grew during the scan to 1025 bytes, past the 1024 its read may take"
    );
    // No limit: its size when listed, plus the margin.
    let bound = 10 + keyhound_sources::GROWTH_MARGIN;
    write(dir.path(), "log.txt", &vec![b'a'; bound as usize]);
    assert!(open_file(&listed(None)).is_ok());
    write(dir.path(), "log.txt", &vec![b'a'; bound as usize + 1]);
    assert_eq!(
        changed(open_file(&listed(None))),
        SkipReason::Grew {
            size: bound + 1,
            bound
        }
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_that_grows_while_it_is_read_is_read_no_further_than_its_bound() {
    // A file that holds more when read than its size said when opened, as one appended to
    // during the read does: a /proc file says 0 bytes and holds a page (deterministic, where
    // a writer racing the read is not). The read used to take all of it, whatever its size.
    let input = keyhound_sources::FileInput {
        path: "/proc/self/status".into(),
        display_path: "status".into(),
        size: 0,
        limit: Some(100),
    };
    assert_eq!(std::fs::metadata(&input.path).unwrap().len(), 0);
    assert_eq!(
        changed(open_file(&input)),
        SkipReason::Grew {
            size: 101,
            bound: 100
        },
        "what was read: the bound and one byte"
    );
}

#[test]
fn a_streamed_file_that_grows_while_it_is_read_ends_at_its_bound_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let size = keyhound_sources::STREAM_THRESHOLD + 1;
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(size).unwrap();
    let input = keyhound_sources::FileInput {
        path,
        display_path: "big.log".into(),
        size,
        limit: None,
    };
    let Content::Stream(mut stream) = open_file(&input).unwrap() else {
        panic!("read whole")
    };
    // Grows past its bound after the open, while it is streamed.
    file.set_len(input.read_bound() + 4096).unwrap();
    let mut counted = 0u64;
    let mut buf = vec![0; 1 << 20];
    let err = loop {
        match std::io::Read::read(&mut stream, &mut buf) {
            Ok(0) => panic!("ended at {counted} bytes without an error"),
            Ok(n) => counted += n as u64,
            Err(e) => break e,
        }
    };
    assert_eq!(counted, input.read_bound());
    assert!(
        err.to_string()
            .starts_with("big.log: grew during the scan to "),
        "{err}"
    );
    // Not grown: streamed to its end.
    file.set_len(size).unwrap();
    let Content::Stream(stream) = open_file(&input).unwrap() else {
        panic!("read whole")
    };
    let copied = std::io::copy(&mut { stream }, &mut std::io::sink()).unwrap();
    assert_eq!(copied, size);
}

#[cfg(unix)]
#[test]
fn a_file_swapped_for_a_fifo_after_the_walker_checked_it_is_skipped_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.env");
    // Listed (and checked) as a regular file; a FIFO that nobody writes when it is opened.
    mkfifo(&path);
    let input = keyhound_sources::FileInput {
        path,
        display_path: "app.env".into(),
        size: 12,
        limit: Some(1024),
    };
    let read = within_a_minute(move || open_file(&input).map(|_| ()));
    match read {
        Err(SourceError::Changed { path, reason }) => {
            assert_eq!(path, "app.env");
            assert_eq!(reason, SkipReason::Special);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn every_packed_blob_is_read_once_with_its_exact_content() {
    let dir = packed_history();
    let repo = dir.path();
    // Offset deltas (what git writes), then deltas that name their base by id.
    for (layout, use_offsets) in [("offset deltas", "true"), ("id deltas", "false")] {
        let config = format!("repack.useDeltaBaseOffset={use_offsets}");
        git(repo, &["-c", &config, "repack", "-adfq", "--depth=50"]);
        let verify = git(
            repo,
            &["verify-pack", "-v", &pack_index(repo).to_string_lossy()],
        );
        assert!(
            verify
                .lines()
                .any(|l| l.contains(" blob ") && l.split_whitespace().count() == 7),
            "{layout}: the fixture has blob deltas:\n{verify}"
        );
        let expected = blobs_by_git(repo);
        let (found, errors) = blobs_by_keyhound(repo);
        assert!(errors.is_empty(), "{layout}: {errors:?}");
        assert_eq!(
            found.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{layout}"
        );
        for (id, content) in &expected {
            let (read, visits) = &found[id];
            assert_eq!(*visits, 1, "{layout}: {id} visited once");
            assert!(
                read == content,
                "{layout}: {id}: content differs from git's"
            );
        }
    }
}

#[test]
fn single_object_reads_match_git_for_every_object_of_a_packed_history() {
    let dir = packed_history();
    let repo = dir.path();
    // Every object with its kind and content, as `git cat-file --batch` prints them.
    let ids = git(
        repo,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectname)",
        ],
    );
    let mut batch = std::process::Command::new("git")
        .current_dir(repo)
        .args(["cat-file", "--batch"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut batch.stdin.take().unwrap(), ids.as_bytes()).unwrap();
    let printed = batch.wait_with_output().unwrap().stdout;

    let packs = Packs::open(&repo.join(".git/objects"), gix::hash::Kind::Sha1);
    let mut cursor = packs.cursor();
    let mut rest = &printed[..];
    let mut kinds = std::collections::BTreeSet::new();
    while let Some(newline) = rest.iter().position(|&b| b == b'\n') {
        let header = String::from_utf8(rest[..newline].to_vec()).unwrap();
        let [id, kind, size] = header.split(' ').collect::<Vec<_>>()[..] else {
            panic!("unexpected batch header {header}");
        };
        let size: usize = size.parse().unwrap();
        let content = &rest[newline + 1..newline + 1 + size];
        rest = &rest[newline + 1 + size + 1..];
        let (read_kind, data) = cursor
            .find(&gix::ObjectId::from_hex(id.as_bytes()).unwrap())
            .unwrap_or_else(|| panic!("the packs read {id}"));
        assert_eq!(read_kind.to_string(), kind, "{id}");
        assert!(
            data.as_slice() == content,
            "{id}: content differs from git's"
        );
        kinds.insert(kind.to_string());
    }
    assert_eq!(kinds.len(), 3, "commits, trees and blobs: {kinds:?}");
    assert!(
        cursor
            .find(&gix::ObjectId::null(gix::hash::Kind::Sha1))
            .is_none()
    );
}

#[test]
fn excludes_match_repository_paths_as_the_walker_would() {
    let globs: Vec<String> = ["node_modules", "docs/**/*.md", "vendor/lib", "*.min.js"]
        .iter()
        .map(ToString::to_string)
        .collect();
    let excludes = keyhound_sources::Excludes::new(&globs).unwrap();
    for excluded in [
        "node_modules/pkg/index.js",
        "web/node_modules/pkg/index.js",
        "docs/guide/intro.md",
        "vendor/lib/a/b.py",
        "dist/app.min.js",
    ] {
        assert!(excludes.matches_relative(excluded), "{excluded}");
    }
    for kept in [
        "src/node_modules.rs",
        "docs/guide/intro.txt",
        "web/docs/guide/intro.md",
        "vendor/library/a.py",
        "app.js",
    ] {
        assert!(!excludes.matches_relative(kept), "{kept}");
    }
}

#[test]
fn blobs_over_the_size_limit_are_counted_not_read_loose_or_packed() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    // 3 MB of incompressible text, and a small file.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let big: Vec<u8> = (0..3_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            b"abcdefghijklmnopqrstuvwxyz0123456789\n"[(state % 37) as usize]
        })
        .collect();
    write(repo, "data/big.txt", &big);
    write(repo, "README.md", b"# small\n");
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "Add data"]);
    let big_id = git(repo, &["rev-parse", "HEAD:data/big.txt"])
        .trim()
        .to_string();

    for layout in ["loose", "packed"] {
        if layout == "packed" {
            git(repo, &["repack", "-adq"]);
        }
        let opened = GitRepository::open(repo).unwrap();
        let visited = Mutex::new(Vec::new());
        let options = keyhound_sources::odb::OdbOptions {
            max_size: Some(1 << 20),
            ..Default::default()
        };
        let pass = opened.for_each_blob_in_odb(&options, &|id, data| {
            visited.lock().unwrap().push((id.to_string(), data.len()));
        });
        let visited = visited.into_inner().unwrap();
        assert!(pass.errors.is_empty(), "{layout}: {:?}", pass.errors);
        let too_large: Vec<(String, u64)> = pass
            .too_large
            .iter()
            .map(|(id, size)| (id.to_string(), *size))
            .collect();
        assert_eq!(too_large, [(big_id.clone(), 3_000_000)], "{layout}");
        assert_eq!(
            visited,
            [(
                git(repo, &["rev-parse", "HEAD:README.md"])
                    .trim()
                    .to_string(),
                8
            )],
            "{layout}"
        );
        assert_eq!(
            pass.present.len(),
            2,
            "{layout}: the big blob is present, not missing"
        );
        assert!(
            pass.present
                .contains(&gix::ObjectId::from_hex(big_id.as_bytes()).unwrap())
        );
    }
}

/// A pseudo-random number generator for reproducible test histories.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// The lifecycle walk's answers agree with git's own listing of every commit's tree, on a
/// random history of nested directories where secrets are added, copied, edited around,
/// moved and removed, packed (so trees are deltas) and loose.
#[test]
fn lifecycle_trace_agrees_with_git_on_a_random_history() {
    use keyhound_sources::git::TraceRequest;
    use std::collections::{BTreeMap, BTreeSet, HashMap};

    for packed in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path();
        git(repo, &["init", "-q", "-b", "main"]);
        let paths = [
            "a.env",
            "src/app/config.yml",
            "src/app/keys.txt",
            "src/lib/x.rs",
            "deploy/prod/.env",
            "deploy/staging/.env",
            "docs/notes.md",
            "src/app/deep/er/still.txt",
        ];
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut files: BTreeMap<&str, String> = BTreeMap::new();
        for n in 0..70u64 {
            let path = paths[rng.below(paths.len() as u64) as usize];
            match rng.below(4) {
                0 => {
                    files.remove(path);
                    let _ = std::fs::remove_file(repo.join(path));
                }
                _ => {
                    // Secrets come from a small set, so they recur across paths and versions.
                    let secret = rng.below(6);
                    let body = format!("line {n}\nSECRET-{secret}\nfiller {}\n", rng.below(3));
                    write(repo, path, body.as_bytes());
                    files.insert(path, body);
                }
            }
            // Always a change: a counter file outside the traced paths.
            write(repo, "counter.txt", format!("{n}\n").as_bytes());
            let date = format!("{} +0000", 1_700_000_000 + n * 3_600);
            git(repo, &["add", "-A"]);
            git_dated(
                repo,
                &["commit", "-q", "-m", &format!("change {n}")],
                Some(&date),
            );
        }
        if packed {
            git(repo, &["repack", "-adfq", "--depth=50", "--window=50"]);
        }

        // What git says: each commit's (path, blob) pairs, oldest first (linear history).
        let commits: Vec<String> = git(repo, &["rev-list", "--reverse", "HEAD"])
            .lines()
            .map(str::to_string)
            .collect();
        let mut secret_of_blob: HashMap<String, u32> = HashMap::new();
        let mut held: Vec<BTreeSet<(String, String)>> = Vec::new();
        for commit in &commits {
            let mut pairs = BTreeSet::new();
            for line in git(repo, &["ls-tree", "-r", commit]).lines() {
                let (meta, path) = line.split_once('\t').unwrap();
                let blob = meta.split(' ').nth(2).unwrap().to_string();
                let content = git(repo, &["cat-file", "blob", &blob]);
                if let Some(at) = content.find("SECRET-") {
                    let key: u32 = content[at + 7..at + 8].parse().unwrap();
                    secret_of_blob.insert(blob.clone(), key);
                    pairs.insert((path.to_string(), blob));
                }
            }
            held.push(pairs);
        }
        let mut blobs: HashMap<ObjectId, Vec<u32>> = HashMap::new();
        for (blob, &key) in &secret_of_blob {
            blobs.insert(ObjectId::from_hex(blob.as_bytes()).unwrap(), vec![key]);
        }
        let rule_of_secret = vec![0u32; 6];
        let opened = GitRepository::open(repo).unwrap();
        let trace = opened
            .trace(&TraceRequest {
                blobs: &blobs,
                rule_of_secret: &rule_of_secret,
                branch: None,
                since: None,
                present: None,
                lines: &HashMap::new(),
            })
            .unwrap();
        assert!(trace.errors.is_empty(), "{:?}", trace.errors);
        assert_eq!(trace.commits_walked, commits.len());

        for key in 0..6u32 {
            let holds = |c: usize| {
                held[c]
                    .iter()
                    .any(|(_, blob)| secret_of_blob.get(blob) == Some(&key))
            };
            let holders: Vec<usize> = (0..commits.len()).filter(|&c| holds(c)).collect();
            let traced = &trace.secrets[key as usize];
            let id_of = |index: Option<usize>| index.map(|i| trace.commits[i].id.to_string());
            if holders.is_empty() {
                assert_eq!(traced.first_seen, None, "secret {key}");
                continue;
            }
            assert_eq!(
                id_of(traced.first_seen),
                Some(commits[holders[0]].clone()),
                "first seen of {key} ({})",
                if packed { "packed" } else { "loose" }
            );
            assert_eq!(
                id_of(traced.last_seen),
                Some(commits[*holders.last().unwrap()].clone()),
                "last seen of {key}"
            );
            let at_head = holds(commits.len() - 1);
            assert_eq!(traced.present_at_head, at_head, "secret {key} at HEAD");
            let expected_removal = if at_head {
                None
            } else {
                Some(commits[holders.last().unwrap() + 1].clone())
            };
            assert_eq!(
                id_of(traced.removed_in),
                expected_removal,
                "removal of {key}"
            );
            // Every path, with the first commit that held the secret there.
            let mut expected: BTreeMap<String, (String, String)> = BTreeMap::new();
            for (c, pairs) in held.iter().enumerate() {
                for (path, blob) in pairs {
                    if secret_of_blob.get(blob) == Some(&key) {
                        expected
                            .entry(path.clone())
                            .or_insert((commits[c].clone(), blob.clone()));
                    }
                }
            }
            let actual: BTreeMap<String, (String, String)> = traced
                .paths
                .iter()
                .map(|p| {
                    (
                        p.path.clone(),
                        (trace.commits[p.commit].id.to_string(), p.blob.to_string()),
                    )
                })
                .collect();
            assert_eq!(actual, expected, "paths of secret {key}");
        }
    }
}
