//! Where scanning threads put what they find: matches into a phase's [`Matches`], errors and
//! counts into the scan-wide [`Sink`].

use std::cell::RefCell;
use std::io::Read;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use keyhound_engine::{Engine, Match, ScanStats, Scratch};
use keyhound_findings::{Occurrence, Snippet};
use keyhound_report::{SkipCounts, SkipReason};
use keyhound_sources::archive::{self, Format};
use keyhound_sources::git::ObjectId;
use keyhound_sources::pack::PackError;
use keyhound_sources::{BINARY_PROBE, Content, Excludes, SourceError};

use super::progress::Progress;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A match on its way to the findings. `blob` is set for git history, whose occurrences get
/// their paths and commits from the lifecycle walk.
pub(crate) struct Pending {
    pub rule: usize,
    pub secret: Vec<u8>,
    pub occurrence: Occurrence,
    pub blob: Option<ObjectId>,
}

/// The matches of one phase of a scan, collected from its threads and handed on as a value.
#[derive(Default)]
pub(crate) struct Matches(Mutex<Vec<Pending>>);

impl Matches {
    fn push(&self, found: Vec<Pending>) {
        if found.is_empty() {
            return;
        }
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(found);
    }

    /// The matches collected.
    pub(crate) fn into_vec(self) -> Vec<Pending> {
        self.0.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// Scan-wide errors and counts.
pub(crate) struct Sink {
    errors: Mutex<Vec<String>>,
    stats: Mutex<ScanStats>,
    files_scanned: AtomicU64,
    skipped: Mutex<SkipCounts>,
    /// With `--verbose`: each input skipped (as shown) and why.
    skipped_inputs: Option<Mutex<Vec<(String, String)>>>,
    pub progress: Progress,
}

/// What the sink holds once the scan is over.
pub(crate) struct Tally {
    /// Sorted, so that reports do not depend on which thread met which error first.
    pub errors: Vec<String>,
    pub stats: ScanStats,
    pub files_scanned: u64,
    pub skipped: SkipCounts,
}

impl Sink {
    /// A sink; with `verbose`, it names every input skipped (see [`Sink::list_skipped`]).
    pub(crate) fn new(progress: Progress, verbose: bool) -> Self {
        Self {
            errors: Mutex::new(Vec::new()),
            stats: Mutex::new(ScanStats::default()),
            files_scanned: AtomicU64::new(0),
            skipped: Mutex::new(SkipCounts::default()),
            skipped_inputs: verbose.then(|| Mutex::new(Vec::new())),
            progress,
        }
    }

    /// Reports an error on stderr at once and keeps it for the report's summary.
    pub(crate) fn error(&self, message: String) {
        self.progress
            .suspend(|| eprintln!("keyhound: error: {message}"));
        self.errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(message);
    }

    /// Reports a warning on stderr at once: something the user should fix that costs no
    /// finding and is no error of the scan.
    pub(crate) fn warning(&self, message: String) {
        self.progress
            .suspend(|| eprintln!("keyhound: warning: {message}"));
    }

    /// Reports the input `what` (a path) as unreadable: an error, and a skip.
    pub(crate) fn unreadable(&self, what: &str, message: String) {
        self.error(message);
        self.skip(SkipReason::Unreadable, what, "unreadable (see the error)");
    }

    /// Reports an error of the object database pass; an object that could not be read (a
    /// pack entry, a loose object) is counted as an unreadable input too.
    pub(crate) fn odb_error(&self, error: &SourceError) {
        let object = match error {
            SourceError::Pack { error, .. } => match error.as_ref() {
                PackError::Object { id, .. } => Some(id.to_string()),
                _ => None,
            },
            SourceError::Loose { error, .. } => Some(error.id.to_string()),
            _ => None,
        };
        match object {
            Some(id) => self.unreadable(&format!("object {id}"), error.to_string()),
            None => self.error(error.to_string()),
        }
    }

    /// Counts the input `what` (a path, or a blob) as left out for `reason`; `detail` says
    /// why in words, for `--verbose`.
    pub(crate) fn skip(&self, reason: SkipReason, what: &str, detail: impl std::fmt::Display) {
        self.skipped
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(reason, 1);
        if let Some(inputs) = &self.skipped_inputs {
            inputs
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((what.to_string(), detail.to_string()));
        }
    }

    /// With `--verbose`, lists on stderr every input skipped, sorted by name.
    pub(crate) fn list_skipped(&self) {
        let Some(inputs) = &self.skipped_inputs else {
            return;
        };
        let mut inputs = std::mem::take(&mut *inputs.lock().unwrap_or_else(|p| p.into_inner()));
        inputs.sort();
        for (what, detail) in &inputs {
            eprintln!("keyhound: skipped {what}: {detail}");
        }
    }

    fn scanned(&self, stats: &ScanStats) {
        self.files_scanned.fetch_add(1, Ordering::Relaxed);
        self.add_stats(stats);
    }

    /// Counts the input `what`, whose scan stopped at the time budget, as skipped and names
    /// it on stderr at once (its findings so far are kept by the caller).
    fn cut_short(&self, what: &str, stats: &ScanStats) {
        self.add_stats(stats);
        self.skip(
            SkipReason::TimeBudget,
            what,
            "cut short by the time budget (--input-time-budget)",
        );
        self.progress.suspend(|| {
            eprintln!(
                "keyhound: {what}: scan stopped at the time budget (--input-time-budget); \
                 findings before the cut are reported, the rest of it was not scanned"
            );
        });
    }

    fn add_stats(&self, stats: &ScanStats) {
        self.progress.advance(stats.bytes);
        self.stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(stats);
    }

    pub(crate) fn into_tally(self) -> Tally {
        let mut errors = self.errors.into_inner().unwrap_or_else(|p| p.into_inner());
        errors.sort();
        Tally {
            errors,
            stats: self.stats.into_inner().unwrap_or_else(|p| p.into_inner()),
            files_scanned: self.files_scanned.into_inner(),
            skipped: self.skipped.into_inner().unwrap_or_else(|p| p.into_inner()),
        }
    }
}

/// Scans inputs with one engine, counting into a sink.
pub(crate) struct Scanner<'a> {
    pub engine: &'a Engine,
    pub sink: &'a Sink,
    /// `--skip-binary`: leave out (and count) inputs that look binary.
    pub skip_binary: bool,
    /// Threads one large streamed input may be split across.
    pub threads: usize,
    /// Open archives and scan their members, within these limits (`None`: `--no-archives`).
    pub archives: Option<archive::Limits>,
    /// `--exclude`: archive members it matches are skipped as excluded.
    pub excludes: &'a Excludes,
}

impl Scanner<'_> {
    /// Scans one input held in memory into `matches`. UTF-16 and UTF-32 text is scanned as
    /// the UTF-8 it decodes to: lines and columns (in characters) are the original's, and
    /// offsets point into the original bytes. An archive's members are scanned instead, each
    /// under its nested name (`path!member`).
    pub(crate) fn bytes(
        &self,
        path: &str,
        blob: Option<ObjectId>,
        bytes: &[u8],
        matches: &Matches,
    ) {
        if let Some(limits) = &self.archives
            && let Some(format) = Format::detect(path, bytes)
        {
            let stats = archive::scan_bytes(
                path,
                format,
                bytes,
                limits,
                self.excludes,
                &mut |name, member| {
                    self.file(name, blob, member, matches);
                },
            );
            // A history blob is scanned before its paths are known: name it by its id.
            let label = match blob {
                Some(id) if path.is_empty() => format!("blob {id}"),
                _ => String::new(),
            };
            return self.archive_stats(&label, stats);
        }
        self.file(path, blob, bytes, matches);
    }

    /// Scans one file (or archive member) held in memory into `matches`.
    fn file(&self, path: &str, blob: Option<ObjectId>, bytes: &[u8], matches: &Matches) {
        if let Some(decoded) = keyhound_sources::encoding::decode_text(bytes) {
            let text = decoded.text.as_bytes();
            let mut stats = ScanStats::default();
            let found = SCRATCH.with(|scratch| {
                self.engine
                    .scan(text, &mut scratch.borrow_mut(), &mut stats)
                    .into_iter()
                    .map(|mut m| {
                        let snippet = Snippet::from_haystack(text, m.span.clone());
                        m.span = decoded.original_offset(m.span.start)
                            ..decoded.original_offset(m.span.end);
                        (m, snippet)
                    })
                    .collect()
            });
            return self.record(path, blob, found, &stats, matches);
        }
        if self.skip_binary && keyhound_sources::looks_binary(bytes) {
            self.sink.skip(
                SkipReason::Binary,
                &input_name(path, blob),
                "binary (--skip-binary)",
            );
            return;
        }
        let mut stats = ScanStats::default();
        let found = SCRATCH.with(|scratch| {
            self.engine
                .scan(bytes, &mut scratch.borrow_mut(), &mut stats)
                .into_iter()
                .map(|m| {
                    let snippet = Snippet::from_haystack(bytes, m.span.clone());
                    (m, snippet)
                })
                .collect()
        });
        self.record(path, blob, found, &stats, matches);
    }

    /// Scans one input, read whole or streamed, into `matches`.
    pub(crate) fn content(&self, path: &str, content: Content, matches: &Matches) {
        let mut reader = match content {
            Content::Bytes(bytes) => return self.bytes(path, None, &bytes, matches),
            Content::Stream(reader) => reader,
        };
        let mut head = Vec::with_capacity(BINARY_PROBE);
        if self.skip_binary || self.archives.is_some() {
            if let Err(e) = (&mut reader)
                .take(BINARY_PROBE as u64)
                .read_to_end(&mut head)
            {
                self.sink
                    .unreadable(path, format!("{path}: cannot read: {e}"));
                return;
            }
            if let Some(limits) = &self.archives
                && let Some(format) = Format::detect(path, &head)
            {
                let mut chained = std::io::Cursor::new(head).chain(reader);
                let stats = archive::scan_reader(
                    path,
                    format,
                    &mut chained,
                    limits,
                    self.excludes,
                    &mut |name, m| {
                        self.file(name, None, m, matches);
                    },
                );
                return self.archive_stats("", stats);
            }
            if self.skip_binary && keyhound_sources::looks_binary(&head) {
                self.sink
                    .skip(SkipReason::Binary, path, "binary (--skip-binary)");
                return;
            }
        }
        let mut chained = std::io::Cursor::new(head).chain(reader);
        let mut found = Vec::new();
        let mut stats = ScanStats::default();
        let result = SCRATCH.with(|scratch| {
            self.engine.scan_stream_parallel(
                &mut chained,
                self.threads,
                &mut scratch.borrow_mut(),
                &mut stats,
                &mut |m, chunk, base| {
                    let snippet =
                        Snippet::from_haystack(chunk, m.span.start - base..m.span.end - base);
                    found.push((m, snippet));
                },
            )
        });
        if let Err(e) = result {
            self.sink
                .error(format!("{path}: read failed part-way: {e}"));
        }
        self.record(path, None, found, &stats, matches);
    }

    /// The secrets the engine finds in `bytes` (in an archive's members), by rule: for
    /// comparing with a pre-image.
    pub(crate) fn secrets(&self, bytes: &[u8]) -> Vec<(usize, Vec<u8>)> {
        let scan = |bytes: &[u8]| {
            SCRATCH.with(|scratch| {
                self.engine
                    .scan(bytes, &mut scratch.borrow_mut(), &mut ScanStats::default())
                    .into_iter()
                    .map(|m| (m.rule, m.secret))
            })
        };
        if let Some(limits) = &self.archives
            && let Some(format) = Format::detect("", bytes)
        {
            // What cannot be read in a pre-image is not this change's problem: only its
            // secrets count.
            let mut found = Vec::new();
            archive::scan_bytes(
                "",
                format,
                bytes,
                limits,
                self.excludes,
                &mut |_, member| {
                    found.extend(scan(member));
                },
            );
            return found;
        }
        scan(bytes).collect()
    }

    /// Counts what an archive scan left out (each by name, with its reason; the first few
    /// named on stderr at once, since a bomb deserves a word) and reports what it could not
    /// read. `label` goes before each name (a history blob's id: its names start at `!`).
    fn archive_stats(&self, label: &str, stats: archive::Stats) {
        // A hostile archive may hold thousands: `--verbose` lists them all.
        const NAMED: usize = 10;
        for skipped in &stats.skipped {
            let reason = match skipped.reason {
                archive::SkipReason::Excluded => SkipReason::Excluded,
                _ => SkipReason::Archive,
            };
            self.sink
                .skip(reason, &format!("{label}{}", skipped.name), &skipped.reason);
        }
        // Members left out on purpose (`--exclude`) are counted, not announced.
        let announced = || {
            stats
                .skipped
                .iter()
                .filter(|s| s.reason != archive::SkipReason::Excluded)
        };
        self.sink.progress.suspend(|| {
            for skipped in announced().take(NAMED) {
                eprintln!(
                    "keyhound: skipped {label}{}: {}",
                    skipped.name, skipped.reason
                );
            }
            if let Some(more) = announced().count().checked_sub(NAMED).filter(|&n| n > 0) {
                eprintln!("keyhound: skipped {more} more in the same archive");
            }
        });
        for error in stats.errors {
            self.sink.error(format!("{label}{error}"));
        }
    }

    fn record(
        &self,
        path: &str,
        blob: Option<ObjectId>,
        found: Vec<(Match, Snippet)>,
        stats: &ScanStats,
        matches: &Matches,
    ) {
        if stats.timed_out > 0 {
            self.sink.cut_short(&input_name(path, blob), stats);
        } else {
            self.sink.scanned(stats);
        }
        // `keyhound:allow` comments are applied to the findings (crate::triage).
        let found = found
            .into_iter()
            .map(|(m, snippet)| Pending {
                rule: m.rule,
                secret: m.secret,
                occurrence: Occurrence {
                    path: path.to_string(),
                    line: m.location.start.line,
                    column: m.location.start.column,
                    end_line: m.location.end.line,
                    end_column: m.location.end.column,
                    offset: m.span.start,
                    decoded: m.decoded.map(keyhound_engine::Decoding::name),
                    snippet,
                    commit: None,
                    at_head: false,
                },
                blob,
            })
            .collect();
        matches.push(found);
    }
}

/// How an input is named in messages: its path, or `blob ID` for a history blob scanned
/// before its paths are known.
fn input_name(path: &str, blob: Option<ObjectId>) -> String {
    match blob {
        Some(id) if path.is_empty() => format!("blob {id}"),
        _ => path.to_string(),
    }
}
