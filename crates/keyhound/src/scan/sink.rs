//! Where scanning threads put what they find: matches into a phase's [`Matches`], errors and
//! counts into the scan-wide [`Sink`].

use std::cell::RefCell;
use std::io::Read;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use keyhound_engine::{Engine, Match, ScanStats, Scratch};
use keyhound_findings::{Occurrence, Snippet};
use keyhound_sources::git::ObjectId;
use keyhound_sources::{BINARY_PROBE, Content};

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
    files_skipped: AtomicU64,
    pub progress: Progress,
}

/// What the sink holds once the scan is over.
pub(crate) struct Tally {
    pub errors: Vec<String>,
    pub stats: ScanStats,
    pub files_scanned: u64,
    pub files_skipped: u64,
}

impl Sink {
    pub(crate) fn new(progress: Progress) -> Self {
        Self {
            errors: Mutex::new(Vec::new()),
            stats: Mutex::new(ScanStats::default()),
            files_scanned: AtomicU64::new(0),
            files_skipped: AtomicU64::new(0),
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

    /// Counts `n` inputs left out on purpose.
    pub(crate) fn skipped(&self, n: u64) {
        self.files_skipped.fetch_add(n, Ordering::Relaxed);
    }

    fn scanned(&self, stats: &ScanStats) {
        self.files_scanned.fetch_add(1, Ordering::Relaxed);
        self.progress.advance(stats.bytes);
        self.stats
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .add(stats);
    }

    pub(crate) fn into_tally(self) -> Tally {
        Tally {
            errors: self.errors.into_inner().unwrap_or_else(|p| p.into_inner()),
            stats: self.stats.into_inner().unwrap_or_else(|p| p.into_inner()),
            files_scanned: self.files_scanned.into_inner(),
            files_skipped: self.files_skipped.into_inner(),
        }
    }
}

/// Scans inputs with one engine, counting into a sink.
pub(crate) struct Scanner<'a> {
    pub engine: &'a Engine,
    pub sink: &'a Sink,
    pub include_binary: bool,
    /// Threads one large streamed input may be split across.
    pub threads: usize,
}

impl Scanner<'_> {
    /// Scans one input held in memory into `matches`. UTF-16 and UTF-32 text is scanned as
    /// the UTF-8 it decodes to: lines and columns (in characters) are the original's, and
    /// offsets point into the original bytes.
    pub(crate) fn bytes(
        &self,
        path: &str,
        blob: Option<ObjectId>,
        bytes: &[u8],
        matches: &Matches,
    ) {
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
        if !self.include_binary && keyhound_sources::looks_binary(bytes) {
            self.sink.skipped(1);
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
        if let Err(e) = (&mut reader)
            .take(BINARY_PROBE as u64)
            .read_to_end(&mut head)
        {
            self.sink.error(format!("{path}: cannot read: {e}"));
            return;
        }
        if !self.include_binary && keyhound_sources::looks_binary(&head) {
            self.sink.skipped(1);
            return;
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

    /// The secrets the engine finds in `bytes`, by rule: for comparing with a pre-image.
    pub(crate) fn secrets(&self, bytes: &[u8]) -> Vec<(usize, Vec<u8>)> {
        SCRATCH.with(|scratch| {
            self.engine
                .scan(bytes, &mut scratch.borrow_mut(), &mut ScanStats::default())
                .into_iter()
                .map(|m| (m.rule, m.secret))
                .collect()
        })
    }

    fn record(
        &self,
        path: &str,
        blob: Option<ObjectId>,
        found: Vec<(Match, Snippet)>,
        stats: &ScanStats,
        matches: &Matches,
    ) {
        self.sink.scanned(stats);
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
