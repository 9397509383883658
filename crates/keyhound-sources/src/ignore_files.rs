//! `--gitignore`: the rules of `.gitignore`, `.ignore` and `.git/info/exclude` files, read here
//! rather than by the `ignore` crate's walker. That walker opens every ignore file it finds and
//! reads it to its end: a FIFO named `.gitignore` held a scan for ever (opening it waits for a
//! writer), a link to a character device could feed it without end, and a file it could not
//! read was dropped in silence. Here an ignore file is opened only when it is a regular file
//! (checked before the open, and again on the open file, which is opened without waiting), read
//! up to [`MAX_IGNORE_FILE`], and every one that cannot be used is reported by name.
//!
//! The rules are those the `ignore` crate's walker applied (with `parents`, without
//! `require_git`): each directory's `.ignore`, `.gitignore` and `.git/info/exclude` (in the
//! common directory of a worktree's repository); a directory's files win over those of the
//! directories above it, and `.ignore` wins over `.gitignore`, which wins over `exclude`,
//! whatever their depth; the directories above a scan root count too.

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::{SourceError, display_path};

/// Ignore files larger than this are not read: an error names them.
const MAX_IGNORE_FILE: u64 = 16 << 20;

/// The ignore files of a directory, in order of precedence (`info/exclude` is found through
/// `.git`).
const NAMES: [&str; 2] = [".ignore", ".gitignore"];

/// The rules of a directory that has any, linked to those of the nearest directory above it
/// that has any.
struct Node {
    /// `.ignore`, `.gitignore` and `info/exclude`, each rooted at the directory's absolute
    /// path (an empty one matches nothing).
    matchers: [Gitignore; 3],
    parent: Option<Arc<Node>>,
}

/// What the walk knows of a directory it descends into.
struct DirState {
    /// The directory as an absolute path: every matcher is rooted at one, so that paths below
    /// a scan root and rules from above it compare.
    absolute: PathBuf,
    /// The rules in force in it (`None`: none at all).
    rules: Option<Arc<Node>>,
    /// Names of its ignore files that could not be used: reported as errors already, so not
    /// walked (and counted) as inputs too.
    unusable: Vec<OsString>,
}

/// Tells walks apart in the per-thread cache.
static WALKS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// The directory whose entries this thread filters (the walker filters all entries of a
    /// directory in a row, on one thread): its walk, its path and what is known of it.
    static CURRENT: RefCell<Option<(u64, PathBuf, Arc<DirState>)>> = const { RefCell::new(None) };
}

/// The ignore rules of one walk.
pub(crate) struct IgnoreRules {
    walk: u64,
    /// Each scan root that is a directory (never evicted: a root given twice is walked twice).
    roots: HashMap<PathBuf, Arc<DirState>>,
    /// Directories the walk will descend into, until their first entry is filtered.
    entered: Mutex<HashMap<PathBuf, Arc<DirState>>>,
    /// Ignore files that could not be used, and bad lines, not yet reported.
    problems: Mutex<Vec<SourceError>>,
}

impl IgnoreRules {
    /// Reads the ignore files of `roots` that are directories and of every directory above them.
    pub(crate) fn new(roots: &[PathBuf]) -> Self {
        let mut rules = Self {
            walk: WALKS.fetch_add(1, Ordering::Relaxed),
            roots: HashMap::new(),
            entered: Mutex::new(HashMap::new()),
            problems: Mutex::new(Vec::new()),
        };
        // By absolute path: each directory's files are read (and their problems reported)
        // once, whether it is a root, above one, or both.
        let mut read: HashMap<PathBuf, Arc<DirState>> = HashMap::new();
        for root in roots {
            if !root.is_dir() || rules.roots.contains_key(root) {
                continue;
            }
            let absolute = root
                .canonicalize()
                .or_else(|_| std::path::absolute(root))
                .unwrap_or_else(|_| root.clone());
            let mut inherited = None;
            let mut ancestors: Vec<&Path> = absolute.ancestors().collect();
            ancestors.reverse();
            for dir in ancestors {
                let state = match read.get(dir) {
                    Some(known) => Arc::clone(known),
                    None => {
                        let state = if dir == absolute {
                            let shown = |name: &str| display_path(&root.join(name));
                            rules.load(root, absolute.clone(), &shown, inherited)
                        } else {
                            let shown = |name: &str| dir.join(name).display().to_string();
                            rules.load(dir, dir.to_path_buf(), &shown, inherited)
                        };
                        let state = Arc::new(state);
                        read.insert(dir.to_path_buf(), Arc::clone(&state));
                        state
                    }
                };
                inherited = state.rules.clone();
                if dir == absolute {
                    rules.roots.insert(root.clone(), state);
                }
            }
        }
        rules
    }

    /// Whether the rules leave out `entry` (below a root), or it is an ignore file already
    /// reported as unusable.
    pub(crate) fn ignores(&self, entry: &ignore::DirEntry) -> bool {
        let (Some(parent), Some(name)) = (entry.path().parent(), entry.path().file_name()) else {
            return false;
        };
        let state = self.state_of(parent);
        state.unusable.iter().any(|bad| bad == name)
            || ignored(
                state.rules.as_deref(),
                &state.absolute.join(name),
                is_dir(entry),
            )
    }

    /// Reads the ignore files of `entry`, a directory the walk descends into (nothing for
    /// anything else).
    pub(crate) fn enter(&self, entry: &ignore::DirEntry) {
        let path = entry.path();
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return;
        };
        if !is_dir(entry) {
            return;
        }
        let above = self.state_of(parent);
        let shown = |file: &str| display_path(&path.join(file));
        let state = self.load(path, above.absolute.join(name), &shown, above.rules.clone());
        self.entered
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(path.to_path_buf(), Arc::new(state));
    }

    /// The ignore files that could not be used and the lines that could not be parsed, since
    /// the last call.
    pub(crate) fn take_problems(&self) -> Vec<SourceError> {
        std::mem::take(&mut *self.problems.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// What is known of `dir`, a directory the walk descends into.
    fn state_of(&self, dir: &Path) -> Arc<DirState> {
        CURRENT.with(|current| {
            if let Some((walk, path, state)) = &*current.borrow()
                && *walk == self.walk
                && path == dir
            {
                return Arc::clone(state);
            }
            let entered = self
                .entered
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(dir);
            // Every directory the walker descends into is a root or was entered: reading its
            // rules afresh, as a root's, is only a fallback.
            let state = entered
                .or_else(|| self.roots.get(dir).cloned())
                .unwrap_or_else(|| self.afresh(dir));
            *current.borrow_mut() = Some((self.walk, dir.to_path_buf(), Arc::clone(&state)));
            state
        })
    }

    /// The state of `dir` read as a root's.
    fn afresh(&self, dir: &Path) -> Arc<DirState> {
        let fresh = Self::new(&[dir.to_path_buf()]);
        for problem in fresh.take_problems() {
            self.report(problem);
        }
        fresh.roots.get(dir).cloned().unwrap_or_else(|| {
            Arc::new(DirState {
                absolute: dir.to_path_buf(),
                rules: None,
                unusable: Vec::new(),
            })
        })
    }

    /// Reads the ignore files of the directory `dir` (whose absolute path is `absolute`;
    /// `shown` names a file in it for messages) below the rules `inherited`.
    fn load(
        &self,
        dir: &Path,
        absolute: PathBuf,
        shown: &dyn Fn(&str) -> String,
        inherited: Option<Arc<Node>>,
    ) -> DirState {
        let mut unusable = Vec::new();
        let [ignore, gitignore] = NAMES.map(|name| {
            self.matcher(&absolute, &dir.join(name), shown(name))
                .unwrap_or_else(|| {
                    unusable.push(OsString::from(name));
                    Gitignore::empty()
                })
        });
        let exclude = match self.git_common_dir(dir, shown) {
            Some((common, exclude_shown)) => self
                .matcher(&absolute, &common.join("info/exclude"), exclude_shown)
                .unwrap_or_else(Gitignore::empty),
            None => Gitignore::empty(),
        };
        let matchers = [ignore, gitignore, exclude];
        let rules = if matchers.iter().all(Gitignore::is_empty) {
            inherited
        } else {
            Some(Arc::new(Node {
                matchers,
                parent: inherited,
            }))
        };
        DirState {
            absolute,
            rules,
            unusable,
        }
    }

    /// The rules of the ignore file `file`, rooted at `root`; `None` when it exists but cannot
    /// be used (reported). Lines that do not parse are reported and left out.
    fn matcher(&self, root: &Path, file: &Path, shown: String) -> Option<Gitignore> {
        let bytes = match read_ignore_file(file) {
            Ok(None) => return Some(Gitignore::empty()),
            Ok(Some(bytes)) => bytes,
            // In a directory that cannot be read, whose own error the walk reports.
            Err(source)
                if source.kind() == io::ErrorKind::PermissionDenied
                    && file
                        .parent()
                        .is_some_and(|dir| std::fs::read_dir(dir).is_err()) =>
            {
                return Some(Gitignore::empty());
            }
            Err(source) => {
                self.report(SourceError::Io {
                    path: shown,
                    source,
                });
                return None;
            }
        };
        let text = String::from_utf8_lossy(&bytes);
        let mut builder = GitignoreBuilder::new(root);
        for (i, line) in text.lines().enumerate() {
            // As git does, a byte order mark at the start is not part of the first pattern.
            let line = if i == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            if let Err(e) = builder.add_line(Some(file.to_path_buf()), line) {
                self.report(SourceError::IgnoreRule {
                    path: shown.clone(),
                    line: i + 1,
                    message: e.to_string(),
                });
            }
        }
        match builder.build() {
            Ok(matcher) => Some(matcher),
            Err(e) => {
                self.report(SourceError::IgnoreRule {
                    path: shown,
                    line: 0,
                    message: e.to_string(),
                });
                Some(Gitignore::empty())
            }
        }
    }

    /// The directory holding `info/exclude` for `dir`, if `dir` has a `.git`: `.git` itself,
    /// or the common directory of the repository a `.git` file (a worktree's) points to; with
    /// how to name that `exclude` file.
    fn git_common_dir(
        &self,
        dir: &Path,
        shown: &dyn Fn(&str) -> String,
    ) -> Option<(PathBuf, String)> {
        let dot_git = dir.join(".git");
        let kind = std::fs::metadata(&dot_git).ok()?.file_type();
        if kind.is_dir() {
            return Some((dot_git, shown(".git/info/exclude")));
        }
        if !kind.is_file() {
            return None;
        }
        // `gitdir: PATH` on its first line (relative to `dir`); the repository is that
        // directory, or the one its `commondir` names (a worktree's, relative to it).
        let first_line = |file: &Path, shown: String| -> Option<Option<String>> {
            match crate::support_files::read_support_file(file, MAX_IGNORE_FILE) {
                Ok(bytes) => Some(bytes.map(|bytes| {
                    let text = String::from_utf8_lossy(&bytes);
                    text.lines().next().unwrap_or_default().to_string()
                })),
                Err(source) => {
                    self.report(SourceError::Io {
                        path: shown,
                        source,
                    });
                    None
                }
            }
        };
        let line = first_line(&dot_git, shown(".git"))??;
        let git_dir = dir.join(line.strip_prefix("gitdir: ")?);
        let commondir = git_dir.join("commondir");
        let common = match first_line(&commondir, commondir.display().to_string())? {
            Some(common) => git_dir.join(common),
            None => git_dir,
        };
        let exclude_shown = common.join("info/exclude").display().to_string();
        Some((common, exclude_shown))
    }

    fn report(&self, problem: SourceError) {
        self.problems
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(problem);
    }
}

/// Whether `entry` is a directory (the target's type when links are followed).
fn is_dir(entry: &ignore::DirEntry) -> bool {
    entry.file_type().is_some_and(|t| t.is_dir())
}

/// Whether the rules from `rules` up leave out `path` (absolute): for each kind of file, the
/// deepest one with a matching pattern decides; `.ignore` before `.gitignore` before `exclude`.
fn ignored(rules: Option<&Node>, path: &Path, is_dir: bool) -> bool {
    let mut decided: [Option<bool>; 3] = [None; 3];
    let mut node = rules;
    while let Some(current) = node {
        for (decision, matcher) in decided.iter_mut().zip(&current.matchers) {
            if decision.is_none() {
                *decision = match matcher.matched(path, is_dir) {
                    Match::None => None,
                    Match::Ignore(_) => Some(true),
                    Match::Whitelist(_) => Some(false),
                };
            }
        }
        if decided.iter().all(Option::is_some) {
            break;
        }
        node = current.parent.as_deref();
    }
    decided.into_iter().flatten().next().unwrap_or(false)
}

/// The bytes of the ignore file `path`; `None` when there is none, or a directory of that name
/// (no ignore file, as for git: it is walked like any directory). One that is not a regular
/// file, or larger than [`MAX_IGNORE_FILE`], is an error saying its rules are not applied.
fn read_ignore_file(path: &Path) -> io::Result<Option<Vec<u8>>> {
    if path.is_dir() {
        return Ok(None);
    }
    crate::support_files::read_support_file(path, MAX_IGNORE_FILE).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("{e}, so its ignore rules are not applied"),
        )
    })
}
