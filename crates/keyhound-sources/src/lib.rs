//! What keyhound scans: directory trees walked in parallel, single files, stdin, and the history
//! of git repositories ([`git`]).
//!
//! The walker never enters `.git` directories, honours `--exclude` globs, and reports every
//! entry it leaves out with the reason ([`SkipReason`]: over the size limit, excluded, a
//! symbolic link not followed, not a regular file) and every unreadable entry as an event,
//! instead of stopping.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

mod alternates;
pub mod archive;
pub mod encoding;
#[doc(hidden)]
pub mod fuzzing;
pub mod git;
mod ignore_files;
mod loose;
pub mod odb;
pub mod pack;
mod support_files;

pub use alternates::AlternatesError;
pub use loose::{LooseError, LooseProblem};
pub use support_files::read_support_file;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::{WalkBuilder, WalkState};

/// Files larger than this are streamed in chunks instead of read whole, so memory stays bounded.
pub const STREAM_THRESHOLD: u64 = 64 * 1024 * 1024;

/// How much a file listed with no size limit may grow before it is read: a read takes at most
/// its size when listed plus this (see [`FileInput::read_bound`]).
pub const GROWTH_MARGIN: u64 = 1 << 20;

/// Bytes probed at the start of a file to decide whether it is binary.
pub const BINARY_PROBE: usize = 8192;

/// How to walk the scan roots.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Globs of paths to leave out. A glob without `/` matches any file or directory name
    /// (`*.min.js`, `node_modules`); a glob with `/` matches the path relative to its root
    /// (`docs/**/*.md`). An excluded directory is not entered.
    pub excludes: Vec<String>,
    /// Files larger than this many bytes are skipped; `None` scans every size.
    pub max_file_size: Option<u64>,
    /// Follow symbolic links (loops are detected and reported).
    pub follow_symlinks: bool,
    /// Honour `.gitignore`, `.git/info/exclude` and `.ignore` files, of the directories walked
    /// and of those above each root. An ignore file that is not a regular file (a FIFO, a
    /// device) is never opened: it is an error naming it, and the walk goes on without it.
    pub respect_gitignore: bool,
    /// Walker threads; 0 picks one per core.
    pub threads: usize,
}

/// A regular file found by the walker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInput {
    /// Where to open it.
    pub path: PathBuf,
    /// How to show it: relative to the scan root as the user gave it, without a leading `./`.
    pub display_path: String,
    /// Size in bytes when it was listed.
    pub size: u64,
    /// The size limit it was listed under ([`WalkOptions::max_file_size`]).
    pub limit: Option<u64>,
}

impl FileInput {
    /// The most bytes a read of it takes: the size limit it was listed under, else its size
    /// when listed plus [`GROWTH_MARGIN`]. A file that holds more when read grew during the
    /// scan: it is left out ([`SkipReason::Grew`]), as one over the limit when listed is.
    pub fn read_bound(&self) -> u64 {
        self.limit
            .unwrap_or_else(|| self.size.saturating_add(GROWTH_MARGIN))
    }

    /// The error for this file found holding `size` bytes, past its read bound, when read.
    fn grew(&self, size: u64) -> SourceError {
        SourceError::Changed {
            path: self.display_path.clone(),
            reason: SkipReason::Grew {
                size,
                bound: self.read_bound(),
            },
        }
    }
}

/// Why a file was not scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// Larger than `--max-file-size`.
    TooLarge {
        /// The file's size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// An `--exclude` glob matches it (a directory: none of its content was walked).
    Excluded,
    /// A symbolic link, not followed (see [`WalkOptions::follow_symlinks`]).
    Symlink,
    /// Neither a regular file nor a directory: a FIFO, a socket, a device. Never opened, so a
    /// FIFO cannot block the scan.
    Special,
    /// Grew during the scan past what its read may take ([`FileInput::read_bound`]).
    Grew {
        /// Its size when read (at least `bound + 1`).
        size: u64,
        /// The bound.
        bound: u64,
    },
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TooLarge { size, limit } => {
                write!(f, "too large ({size} bytes, the limit is {limit})")
            }
            Self::Excluded => f.write_str("excluded"),
            Self::Symlink => f.write_str("symbolic link not followed"),
            Self::Special => f.write_str("not a regular file"),
            Self::Grew { size, bound } => write!(
                f,
                "grew during the scan to {size} bytes, past the {bound} its read may take"
            ),
        }
    }
}

/// One thing the walker met.
#[derive(Debug)]
pub enum FileEvent {
    /// A file to scan.
    File(FileInput),
    /// A file left out on purpose.
    Skipped {
        /// The file, as [`FileInput::display_path`].
        display_path: String,
        /// Why.
        reason: SkipReason,
    },
    /// An entry that could not be read; the walk goes on.
    Error(SourceError),
}

/// Problems reading inputs.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Opening or reading a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file, as displayed.
        path: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The walker could not list or enter an entry (permissions, symlink loop, ...).
    #[error("{path}: {message}")]
    Walk {
        /// The entry, as displayed (or the root when the walker did not say).
        path: String,
        /// What went wrong.
        message: String,
    },
    /// An `--exclude` glob does not parse.
    #[error("invalid --exclude glob {glob:?}: {message}")]
    InvalidGlob {
        /// The glob as given.
        glob: String,
        /// What is wrong with it.
        message: String,
    },
    /// A git repository could not be read (a missing or corrupt object, a bad ref).
    #[error("{repo}: {message}")]
    Git {
        /// The repository, as given.
        repo: String,
        /// What went wrong.
        message: String,
    },
    /// A pack, or an object in it, could not be read (a truncated or corrupt pack, a bad
    /// delta, a missing base, a checksum that does not match).
    #[error("{repo}: {error}")]
    Pack {
        /// The repository, as given.
        repo: String,
        /// What could not be read, naming the pack and the object.
        #[source]
        error: Box<pack::PackError>,
    },
    /// A loose object could not be read.
    #[error("{repo}: {error}")]
    Loose {
        /// The repository, as given.
        repo: String,
        /// What could not be read, naming the object's file.
        #[source]
        error: Box<LooseError>,
    },
    /// An alternate object directory (`objects/info/alternates`) could not be used.
    #[error("{repo}: {error}")]
    Alternates {
        /// The repository, as given.
        repo: String,
        /// Which alternate, and why.
        #[source]
        error: AlternatesError,
    },
    /// A file changed between its listing and its read so that it is left out, as it would
    /// have been when listed (see [`FileInput::read_bound`]).
    #[error("{path}: {reason}")]
    Changed {
        /// The file, as displayed.
        path: String,
        /// Why it is left out.
        reason: SkipReason,
    },
    /// A line of an ignore file (`--gitignore`) that does not parse: the file's other lines
    /// still apply.
    #[error("{path}:{line}: {message}; the line is left out")]
    IgnoreRule {
        /// The ignore file, as displayed.
        path: String,
        /// The line, from 1 (0: the file as a whole).
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A scan root does not exist.
    #[error("{path}: no such file or directory")]
    RootNotFound {
        /// The root as given.
        path: String,
    },
}

/// What a file holds, ready to scan.
pub enum Content {
    /// The whole file, read into memory.
    Bytes(Vec<u8>),
    /// A reader for inputs too large (or too unbounded, like stdin) to hold at once.
    Stream(Box<dyn Read + Send>),
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Bytes(bytes) => f.debug_tuple("Bytes").field(&bytes.len()).finish(),
            Self::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// `--exclude` globs, split by what they match against. The walker applies them to the files it
/// walks; [`Excludes::matches_relative`] applies them to paths inside a repository's history.
pub struct Excludes {
    /// Globs without `/`: matched against each entry's file name.
    names: GlobSet,
    /// Globs with `/`: matched against the path relative to the scan root.
    paths: GlobSet,
}

impl Excludes {
    /// Compiles `globs` (gitignore-like: a glob without `/` matches a file or directory name at
    /// any depth, one with `/` a path from the root).
    pub fn new(globs: &[String]) -> Result<Self, SourceError> {
        let mut names = GlobSetBuilder::new();
        let mut paths = GlobSetBuilder::new();
        for glob in globs {
            let invalid = |e: globset::Error| SourceError::InvalidGlob {
                glob: glob.clone(),
                message: e.kind().to_string(),
            };
            let trimmed = glob.trim_end_matches('/');
            if trimmed.contains('/') {
                let relative = trimmed.trim_start_matches("./").trim_start_matches('/');
                let compiled = GlobBuilder::new(relative)
                    .literal_separator(true)
                    .build()
                    .map_err(invalid)?;
                paths.add(compiled);
            } else {
                names.add(Glob::new(trimmed).map_err(invalid)?);
            }
        }
        let build = |builder: GlobSetBuilder| {
            builder.build().map_err(|e| SourceError::InvalidGlob {
                glob: globs.join(", "),
                message: e.kind().to_string(),
            })
        };
        Ok(Self {
            names: build(names)?,
            paths: build(paths)?,
        })
    }

    /// Whether there are no globs.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty() && self.paths.is_empty()
    }

    /// Whether `relative` (a `/`-separated path from a repository's root) is excluded, itself
    /// or through an excluded directory, as the walker would have skipped it.
    pub fn matches_relative(&self, relative: &str) -> bool {
        let mut prefix_end = 0;
        for component in relative.split('/') {
            prefix_end += component.len();
            let prefix = &relative[..prefix_end];
            if self.names.is_match(component)
                || (!self.paths.is_empty() && self.paths.is_match(prefix))
            {
                return true;
            }
            prefix_end += 1;
        }
        false
    }

    /// Whether an archive member, named `outer!path/in/archive` (nested: `a.zip!b.jar!c.txt`),
    /// is excluded: as a file at its path inside its own archive (a glob without `/` matches
    /// any of its names, one with `/` its path from the archive's root), or by its whole name
    /// (`dist/app.zip!docs/*`).
    pub fn matches_member(&self, name: &str) -> bool {
        let inner = name.rsplit_once('!').map_or(name, |(_, inner)| inner);
        let inner = inner.trim_start_matches("./").trim_start_matches('/');
        self.matches_relative(inner) || (!self.paths.is_empty() && self.paths.is_match(name))
    }

    fn excludes(&self, path: &Path, roots: &[PathBuf]) -> bool {
        if path
            .file_name()
            .is_some_and(|name| self.names.is_match(name))
        {
            return true;
        }
        !self.paths.is_empty()
            && roots
                .iter()
                .filter_map(|root| path.strip_prefix(root).ok())
                .any(|relative| self.paths.is_match(relative))
    }
}

/// The path to show for `path`: as the walker built it from the root given, minus a leading `./`.
fn display_path(path: &Path) -> String {
    let shown = path.to_string_lossy();
    match shown.strip_prefix("./") {
        Some(rest) if !rest.is_empty() => rest.trim_start_matches('/').to_string(),
        _ => shown.into_owned(),
    }
}

/// The roots without repeats (the same file or directory named twice, however spelled), and
/// where each root inside another one shows up in that one's walk (its path under the outer
/// root as given), so that the outer walk leaves it to its own walk and each file is visited,
/// counted and reported once. Roots that cannot be resolved are kept as given.
fn nested_roots(roots: Vec<PathBuf>) -> (Vec<PathBuf>, std::collections::HashSet<PathBuf>) {
    let resolved: Vec<Option<PathBuf>> = roots.iter().map(|r| r.canonicalize().ok()).collect();
    let mut kept = Vec::with_capacity(roots.len());
    let mut kept_resolved: Vec<&Option<PathBuf>> = Vec::with_capacity(roots.len());
    for (root, real) in roots.iter().zip(&resolved) {
        if real.is_none() || !kept_resolved.contains(&real) {
            kept.push(root.clone());
            kept_resolved.push(real);
        }
    }
    let mut nested = std::collections::HashSet::new();
    for (outer, outer_real) in kept.iter().zip(&kept_resolved) {
        let Some(outer_real) = outer_real else {
            continue;
        };
        for inner_real in kept_resolved.iter().copied().flatten() {
            if let Ok(relative) = inner_real.strip_prefix(outer_real)
                && !relative.as_os_str().is_empty()
            {
                nested.insert(outer.join(relative));
            }
        }
    }
    (kept, nested)
}

/// Walks `roots` in parallel, calling `visit` (from several threads) for every regular file,
/// skipped file and unreadable entry. Returns an error only for options that make the walk
/// impossible (a bad glob, no root at all that exists).
pub fn walk(
    roots: &[PathBuf],
    options: &WalkOptions,
    visit: impl Fn(FileEvent) + Sync,
) -> Result<(), SourceError> {
    let excludes = Excludes::new(&options.excludes)?;
    let mut existing = Vec::with_capacity(roots.len());
    for root in roots {
        if std::fs::symlink_metadata(root).is_ok() {
            existing.push(root.clone());
        } else {
            visit(FileEvent::Error(SourceError::RootNotFound {
                path: display_path(root),
            }));
        }
    }
    let (existing, nested) = nested_roots(existing);
    let Some((first, rest)) = existing.split_first() else {
        return Ok(());
    };
    let mut builder = WalkBuilder::new(first);
    for root in rest {
        builder.add(root);
    }
    // The walker reads no ignore file itself: it would open a FIFO and wait for ever
    // (`ignore_files`).
    builder
        .standard_filters(false)
        .hidden(false)
        .follow_links(options.follow_symlinks)
        .threads(options.threads);
    let ignore_rules = options
        .respect_gitignore
        .then(|| std::sync::Arc::new(ignore_files::IgnoreRules::new(&existing)));
    let report_ignore_problems = || {
        for problem in ignore_rules.iter().flat_map(|rules| rules.take_problems()) {
            visit(FileEvent::Error(problem));
        }
    };
    report_ignore_problems();
    let rules_for_filter = ignore_rules.clone();
    let roots_for_filter = existing.clone();
    // The filter cannot call `visit` (it must be 'static): excluded entries are collected and
    // reported once the walk is over.
    let excluded = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let excluded_in_filter = std::sync::Arc::clone(&excluded);
    builder.filter_entry(move |entry| {
        if entry.depth() > 0 && entry.file_name() == ".git" {
            return false;
        }
        // A root inside another is walked as its own root only.
        if entry.depth() > 0 && !nested.is_empty() && nested.contains(entry.path()) {
            return false;
        }
        // Left out by an ignore file: not counted, as git would not list it.
        if let Some(rules) = &rules_for_filter
            && entry.depth() > 0
            && rules.ignores(entry)
        {
            return false;
        }
        let keep = excludes.is_empty()
            || entry.depth() == 0
            || !excludes.excludes(entry.path(), &roots_for_filter);
        if !keep {
            excluded_in_filter
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(display_path(entry.path()));
        } else if let Some(rules) = &rules_for_filter {
            rules.enter(entry);
        }
        keep
    });

    let visit = &visit;
    let max_file_size = options.max_file_size;
    builder.build_parallel().run(|| {
        Box::new(move |result| {
            match result {
                Ok(entry) => match entry.file_type() {
                    Some(t) if t.is_file() => visit_file(entry.path(), max_file_size, visit),
                    Some(t) if t.is_dir() => {}
                    Some(t) => visit(FileEvent::Skipped {
                        display_path: display_path(entry.path()),
                        reason: if t.is_symlink() {
                            SkipReason::Symlink
                        } else {
                            SkipReason::Special
                        },
                    }),
                    // Only stdin has no file type, and the walker is never given it.
                    None => {}
                },
                Err(err) => visit(FileEvent::Error(walk_error(&err))),
            }
            WalkState::Continue
        })
    });
    report_ignore_problems();
    let excluded = std::mem::take(&mut *excluded.lock().unwrap_or_else(|p| p.into_inner()));
    for display_path in excluded {
        visit(FileEvent::Skipped {
            display_path,
            reason: SkipReason::Excluded,
        });
    }
    Ok(())
}

fn visit_file(path: &Path, max_file_size: Option<u64>, visit: &(impl Fn(FileEvent) + Sync)) {
    let shown = display_path(path);
    let size = match std::fs::metadata(path) {
        // Listed as a regular file, something else by now (a FIFO would block the read
        // forever): skipped as such.
        Ok(meta) if !meta.is_file() => {
            return visit(FileEvent::Skipped {
                display_path: shown,
                reason: SkipReason::Special,
            });
        }
        Ok(meta) => meta.len(),
        Err(source) => {
            visit(FileEvent::Error(SourceError::Io {
                path: shown,
                source,
            }));
            return;
        }
    };
    match max_file_size {
        Some(limit) if size > limit => visit(FileEvent::Skipped {
            display_path: shown,
            reason: SkipReason::TooLarge { size, limit },
        }),
        _ => visit(FileEvent::File(FileInput {
            path: path.to_path_buf(),
            display_path: shown,
            size,
            limit: max_file_size,
        })),
    }
}

/// Turns an `ignore` error into one that names the entry.
fn walk_error(err: &ignore::Error) -> SourceError {
    fn find_path(err: &ignore::Error) -> Option<&Path> {
        match err {
            ignore::Error::WithPath { path, .. } => Some(path),
            ignore::Error::Loop { child, .. } => Some(child),
            ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
                find_path(err)
            }
            ignore::Error::Partial(errs) => errs.iter().find_map(find_path),
            _ => None,
        }
    }
    fn describe(err: &ignore::Error) -> String {
        match err {
            ignore::Error::WithPath { err, .. }
            | ignore::Error::WithDepth { err, .. }
            | ignore::Error::WithLineNumber { err, .. } => describe(err),
            ignore::Error::Loop { ancestor, .. } => {
                format!("symbolic link loop back to {}", display_path(ancestor))
            }
            ignore::Error::Io(e) => e.to_string(),
            other => other.to_string(),
        }
    }
    SourceError::Walk {
        path: find_path(err).map_or_else(|| "<walk>".to_string(), display_path),
        message: describe(err),
    }
}

/// Opens a listed file: read whole when small, streamed when over [`STREAM_THRESHOLD`].
pub fn open_file(input: &FileInput) -> Result<Content, SourceError> {
    let io_error = |source| SourceError::Io {
        path: input.display_path.clone(),
        source,
    };
    // Without waiting: a FIFO swapped in since the listing would block the read for ever.
    let mut file = support_files::open_without_waiting(&input.path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    if !meta.is_file() {
        return Err(SourceError::Changed {
            path: input.display_path.clone(),
            reason: SkipReason::Special,
        });
    }
    let size = meta.len();
    // Bounded: a file that grows while it is read would be read without end.
    let bound = input.read_bound();
    if size > bound {
        return Err(input.grew(size));
    }
    if size > STREAM_THRESHOLD {
        return Ok(Content::Stream(Box::new(Bounded {
            file,
            left: bound,
            input: input.clone(),
        })));
    }
    let capacity = usize::try_from(size).unwrap_or(0).saturating_add(1);
    let mut bytes = Vec::with_capacity(capacity);
    (&mut file)
        .take(bound.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_error)?;
    if bytes.len() as u64 > bound {
        let now = file.metadata().map_or(0, |meta| meta.len());
        return Err(input.grew(now.max(bytes.len() as u64)));
    }
    Ok(Content::Bytes(bytes))
}

/// A streamed file's reader that ends at its read bound, and fails there if the file holds
/// more: it grew during the scan.
struct Bounded {
    file: File,
    /// Bytes the bound still allows.
    left: u64,
    input: FileInput,
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            let mut probe = [0; 1];
            return match self.file.read(&mut probe)? {
                0 => Ok(0),
                _ => {
                    let bound = self.input.read_bound();
                    let now = self.file.metadata().map_or(0, |meta| meta.len());
                    Err(io::Error::other(self.input.grew(now.max(bound + 1))))
                }
            };
        }
        let room = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let read = self.file.read(&mut buf[..room])?;
        self.left -= read as u64;
        Ok(read)
    }
}

/// Standard input, always streamed: it may be larger than memory or never end.
pub fn read_stdin() -> Content {
    Content::Stream(Box::new(io::stdin()))
}

/// Whether `prefix` (the first bytes of a file) looks binary: it holds a NUL byte.
pub fn looks_binary(prefix: &[u8]) -> bool {
    prefix[..prefix.len().min(BINARY_PROBE)].contains(&0)
}
