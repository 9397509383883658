//! `keyhound scan`: walk the inputs, scan each in parallel, aggregate findings, write the report.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use keyhound_engine::{Engine, EngineOptions, Match, ScanStats, Scratch};
use keyhound_findings::Commit;
use keyhound_findings::{FindingSet, Occurrence, Snippet};
use keyhound_report::{Format, Report, ScanSummary};
use keyhound_sources::git::{GitRepository, HistoryBlob, ObjectId};
use keyhound_sources::{BINARY_PROBE, Content, Excludes, FileEvent, FileInput, WalkOptions};

use crate::cli::{ColorChoice, FormatArg, ScanArgs};

/// Scans shorter than this never show a progress bar.
const PROGRESS_DELAY: Duration = Duration::from_millis(300);

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// A match waiting to join the findings; `blob` is set for git history, whose occurrences get
/// their path and commit once provenance is known.
struct Pending {
    rule: usize,
    secret: Vec<u8>,
    occurrence: Occurrence,
    blob: Option<ObjectId>,
}

/// What the scan threads hand back.
struct Sink {
    matches: Mutex<Vec<Pending>>,
    errors: Mutex<Vec<String>>,
    stats: Mutex<ScanStats>,
    files_scanned: AtomicU64,
    files_skipped: AtomicU64,
    progress: Progress,
}

impl Sink {
    fn error(&self, message: String) {
        self.progress
            .suspend(|| eprintln!("keyhound: error: {message}"));
        if let Ok(mut errors) = self.errors.lock() {
            errors.push(message);
        }
    }

    /// How many matches are waiting so far.
    fn pending(&self) -> usize {
        self.matches.lock().map_or(0, |m| m.len())
    }

    fn record(
        &self,
        path: &str,
        blob: Option<ObjectId>,
        found: Vec<(Match, Snippet)>,
        stats: &ScanStats,
    ) {
        self.files_scanned.fetch_add(1, Ordering::Relaxed);
        self.progress.advance(stats.bytes);
        if let Ok(mut total) = self.stats.lock() {
            total.add(stats);
        }
        if found.is_empty() {
            return;
        }
        let mut matches = match self.matches.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        };
        for (m, snippet) in found {
            // `keyhound:allow` comments are applied to the findings (crate::triage).
            let occurrence = Occurrence {
                path: path.to_string(),
                line: m.location.start.line,
                column: m.location.start.column,
                end_line: m.location.end.line,
                end_column: m.location.end.column,
                offset: m.span.start,
                decoded: m.decoded,
                snippet,
                commit: None,
            };
            matches.push(Pending {
                rule: m.rule,
                secret: m.secret,
                occurrence,
                blob,
            });
        }
    }
}

/// A progress bar on stderr that appears only once a scan has taken a moment.
struct Progress {
    bar: Option<ProgressBar>,
    /// Files scanned so far, shown by the bar's `{files}` key.
    files: Arc<AtomicU64>,
    start: Instant,
    shown: AtomicBool,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        let files = Arc::new(AtomicU64::new(0));
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
            let counted = Arc::clone(&files);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} {files} files, {bytes} scanned ({bytes_per_sec}) {elapsed} {msg}",
            ) {
                bar.set_style(style.with_key(
                    "files",
                    move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{}", counted.load(Ordering::Relaxed));
                    },
                ));
            }
            bar
        });
        Self {
            bar,
            files,
            start: Instant::now(),
            shown: AtomicBool::new(false),
        }
    }

    fn advance(&self, bytes: u64) {
        let Some(bar) = &self.bar else { return };
        self.files.fetch_add(1, Ordering::Relaxed);
        bar.inc(bytes);
        if !self.shown.load(Ordering::Relaxed)
            && self.start.elapsed() > PROGRESS_DELAY
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            bar.enable_steady_tick(Duration::from_millis(100));
        }
    }

    /// Names the stage the scan is in, after the counts.
    fn stage(&self, what: &'static str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what);
        }
    }

    fn suspend(&self, f: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Runs `keyhound scan`.
pub fn run(args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let start = Instant::now();
    // The config file, baseline and allowlists (crate::triage); `args` gains the config's
    // excludes and rule files.
    let policy = crate::triage::Policy::load(args)?;
    let args = &policy.args;
    let rules = policy.rules()?;
    let engine = Engine::new(
        &rules,
        EngineOptions {
            decode_base64: !args.no_decode,
            ..EngineOptions::default()
        },
    )?;
    let excludes = Excludes::new(&args.excludes)?;
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.threads
    };

    let sink = Sink {
        matches: Mutex::new(Vec::new()),
        errors: Mutex::new(Vec::new()),
        stats: Mutex::new(ScanStats::default()),
        files_scanned: AtomicU64::new(0),
        files_skipped: AtomicU64::new(0),
        progress: Progress::new(!args.quiet && std::io::stderr().is_terminal()),
    };

    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let (stdin, roots): (Vec<PathBuf>, Vec<PathBuf>) =
        paths.into_iter().partition(|p| p.as_os_str() == "-");
    if !stdin.is_empty() {
        // Stdin is always streamed: it may be huge or endless.
        scan_content(
            &engine,
            "-",
            None,
            keyhound_sources::read_stdin(),
            args.include_binary,
            &sink,
        );
    }
    let (repos, roots): (Vec<(PathBuf, GitRepository)>, Vec<PathBuf>) = if args.staged {
        for root in &roots {
            let repo = GitRepository::discover(root)?;
            let mut staged = repo.staged()?;
            staged.retain(|blob| !excludes.matches_relative(&blob.path));
            let first = sink.pending();
            scan_blobs(&engine, &repo, Some(&staged), args, threads, &sink);
            drop_inherited(&engine, &repo, &staged, first, &sink);
        }
        (Vec::new(), Vec::new())
    } else if args.no_history {
        (Vec::new(), roots)
    } else {
        let mut repos = Vec::new();
        let mut others = Vec::new();
        for root in roots {
            match GitRepository::open(&root) {
                Some(repo) => repos.push((root, repo)),
                None if args.since_commit.is_some() => {
                    anyhow::bail!(
                        "{}: --since-commit needs the root of a git repository",
                        root.display()
                    )
                }
                None => others.push(root),
            }
        }
        (repos, others)
    };
    for (root, repo) in &repos {
        scan_history(&engine, root, repo, args, &excludes, threads, &sink)?;
    }
    if !roots.is_empty() {
        let options = WalkOptions {
            excludes: args.excludes.clone(),
            max_file_size: (args.max_file_size > 0).then_some(args.max_file_size),
            follow_symlinks: args.follow_symlinks,
            respect_gitignore: args.gitignore,
            threads,
        };
        keyhound_sources::walk(&roots, &options, |event| match event {
            FileEvent::File(input) => scan_file(&engine, &input, args.include_binary, &sink),
            FileEvent::Skipped { .. } => {
                sink.files_skipped.fetch_add(1, Ordering::Relaxed);
            }
            FileEvent::Error(e) => sink.error(e.to_string()),
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    sink.progress.finish();

    let Sink {
        matches,
        errors,
        stats,
        files_scanned,
        files_skipped,
        ..
    } = sink;
    let mut set = FindingSet::new();
    for pending in matches.into_inner().unwrap_or_else(|p| p.into_inner()) {
        set.add(
            pending.rule,
            engine.rule(pending.rule),
            &pending.secret,
            pending.occurrence,
        );
    }
    let findings = set.finish(|i| engine.rule(i));
    // Inline allows, the allowlist, the baseline and fail_on (crate::triage).
    let triage = policy.triage(findings, |i| engine.rule(i));
    let findings = &triage.findings;
    let errors = errors.into_inner().unwrap_or_else(|p| p.into_inner());
    let stats = stats.into_inner().unwrap_or_else(|p| p.into_inner());
    let summary = ScanSummary {
        files_scanned: files_scanned.into_inner(),
        bytes_scanned: stats.bytes,
        files_skipped: files_skipped.into_inner(),
        errors: errors.clone(),
        duration: start.elapsed(),
    };
    let rule_of = |i: usize| engine.rule(i);
    let baseline_state = |f: &keyhound_findings::Finding| triage.baseline_state(f);
    let report = Report {
        findings,
        rule: &rule_of,
        summary: &summary,
        show_secrets: args.show_secrets,
        tool_version: env!("CARGO_PKG_VERSION"),
        baseline_state: policy.uses_baseline().then_some(&baseline_state),
        suppressed: policy.reported_suppressions(&triage),
        sarif: policy.sarif_run(),
    };
    let format = match args.format {
        FormatArg::Human => Format::Human,
        FormatArg::Json => Format::Json,
        FormatArg::Jsonl => Format::Jsonl,
        FormatArg::Sarif => Format::Sarif,
    };
    if !args.create_baseline {
        write_report(format, &report, args.output.as_deref(), args.color)?;
    }
    if args.staged && triage.fails() {
        eprintln!(
            "keyhound: commit blocked: {} secret(s) in staged files (listed above).\n\
             Remove them from the files (and rotate any that were real), then `git add` again.\n\
             A false positive: add the comment `keyhound:allow` (or `keyhound:allow:RULE_ID reason`)\n\
             on its line, then `git add` again.",
            findings.len()
        );
    }
    policy.finish(&triage, &errors)
}

fn write_report(
    format: Format,
    report: &Report,
    output: Option<&Path>,
    color: ColorChoice,
) -> anyhow::Result<()> {
    match output {
        Some(path) => {
            let file = std::fs::File::create(path)
                .with_context(|| format!("{}: cannot create report file", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            keyhound_report::write(format, report, &mut out, color == ColorChoice::Always)
                .with_context(|| format!("{}: cannot write report", path.display()))?;
            out.flush()
                .with_context(|| format!("{}: cannot write report", path.display()))
        }
        None => {
            let stdout = std::io::stdout();
            let use_color = match color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => {
                    stdout.is_terminal()
                        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                }
            };
            let mut out = std::io::BufWriter::new(stdout.lock());
            let written = keyhound_report::write(format, report, &mut out, use_color)
                .map_err(anyhow::Error::from)
                .and_then(|()| out.flush().map_err(anyhow::Error::from));
            match written {
                Err(e) if is_broken_pipe(&e) => Ok(()),
                other => other.context("cannot write report to stdout"),
            }
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn scan_file(engine: &Engine, input: &FileInput, include_binary: bool, sink: &Sink) {
    match keyhound_sources::open_file(input) {
        Ok(content) => scan_content(
            engine,
            &input.display_path,
            None,
            content,
            include_binary,
            sink,
        ),
        Err(e) => sink.error(e.to_string()),
    }
}

/// Scans one input held in memory.
fn scan_bytes(
    engine: &Engine,
    path: &str,
    blob: Option<ObjectId>,
    bytes: &[u8],
    include_binary: bool,
    sink: &Sink,
) {
    if !include_binary && keyhound_sources::looks_binary(bytes) {
        sink.files_skipped.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let mut stats = ScanStats::default();
    let found = SCRATCH.with(|scratch| {
        engine
            .scan(bytes, &mut scratch.borrow_mut(), &mut stats)
            .into_iter()
            .map(|m| {
                let snippet = Snippet::from_haystack(bytes, m.span.clone());
                (m, snippet)
            })
            .collect()
    });
    sink.record(path, blob, found, &stats);
}

fn scan_content(
    engine: &Engine,
    path: &str,
    blob: Option<ObjectId>,
    content: Content,
    include_binary: bool,
    sink: &Sink,
) {
    let mut reader = match content {
        Content::Bytes(bytes) => {
            return scan_bytes(engine, path, blob, &bytes, include_binary, sink);
        }
        Content::Stream(reader) => reader,
    };
    let mut head = Vec::with_capacity(BINARY_PROBE);
    if let Err(e) = (&mut reader)
        .take(BINARY_PROBE as u64)
        .read_to_end(&mut head)
    {
        sink.error(format!("{path}: cannot read: {e}"));
        return;
    }
    if !include_binary && keyhound_sources::looks_binary(&head) {
        sink.files_skipped.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let mut chained = std::io::Cursor::new(head).chain(reader);
    let mut found = Vec::new();
    let mut stats = ScanStats::default();
    let result = SCRATCH.with(|scratch| {
        engine.scan_stream(
            &mut chained,
            &mut scratch.borrow_mut(),
            &mut stats,
            &mut |m, chunk, base| {
                let snippet = Snippet::from_haystack(chunk, m.span.start - base..m.span.end - base);
                found.push((m, snippet));
            },
        )
    });
    if let Err(e) = result {
        sink.error(format!("{path}: read failed part-way: {e}"));
    }
    sink.record(path, blob, found, &stats);
}

/// Scans `blobs` of `repo` in parallel, each under its path; all of the repository's blobs when
/// `blobs` is `None`, and then returns their ids.
fn scan_blobs(
    engine: &Engine,
    repo: &GitRepository,
    blobs: Option<&[HistoryBlob]>,
    args: &ScanArgs,
    threads: usize,
    sink: &Sink,
) -> Option<HashSet<ObjectId>> {
    let limit = (args.max_file_size > 0).then_some(args.max_file_size);
    let visit = |blob: &HistoryBlob, bytes: &[u8]| {
        if limit.is_some_and(|l| bytes.len() as u64 > l) {
            sink.files_skipped.fetch_add(1, Ordering::Relaxed);
        } else {
            scan_bytes(
                engine,
                &blob.path,
                Some(blob.id),
                bytes,
                args.include_binary,
                sink,
            );
        }
    };
    let (present, errors) = match blobs {
        Some(blobs) => (None, repo.for_each_blob(blobs, threads, &visit)),
        None => {
            let pass = repo.for_each_blob_in_odb(threads, limit, &visit);
            sink.files_skipped
                .fetch_add(pass.too_large, Ordering::Relaxed);
            (Some(pass.present), pass.errors)
        }
    };
    for error in errors {
        sink.error(error.to_string());
    }
    present
}

/// Drops the matches (from index `first` on) whose secret a blob's pre-image already held:
/// `--since-commit` and `--staged` report the secrets a change brings, not the ones a touched
/// file carried before. Only pre-images of blobs with matches are read.
fn drop_inherited(
    engine: &Engine,
    repo: &GitRepository,
    blobs: &[HistoryBlob],
    first: usize,
    sink: &Sink,
) {
    let mut matches = match sink.matches.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    let with_matches: HashSet<ObjectId> = matches[first..].iter().filter_map(|p| p.blob).collect();
    let mut reader = repo.reader();
    let mut held: HashMap<ObjectId, Vec<PreImage>> = HashMap::new();
    for blob in blobs {
        if blob.replaced.is_empty() || !with_matches.contains(&blob.id) {
            continue;
        }
        let mut images = Vec::new();
        for &id in &blob.replaced {
            let before = HistoryBlob {
                id,
                path: blob.path.clone(),
                replaced: Vec::new(),
            };
            match reader.read(&before) {
                Ok(bytes) => {
                    let mut found: HashMap<usize, HashSet<Vec<u8>>> = HashMap::new();
                    SCRATCH.with(|scratch| {
                        let matches = engine.scan(
                            &bytes,
                            &mut scratch.borrow_mut(),
                            &mut ScanStats::default(),
                        );
                        for m in matches {
                            found.entry(m.rule).or_default().insert(m.secret);
                        }
                    });
                    images.push(PreImage { bytes, found });
                }
                Err(e) => sink.error(e.to_string()),
            }
        }
        held.insert(blob.id, images);
    }
    let scanned = matches.split_off(first);
    matches.extend(scanned.into_iter().filter(|pending| {
        let images = pending.blob.and_then(|b| held.get(&b));
        !images
            .into_iter()
            .flatten()
            .any(|image| image.holds(pending))
    }));
}

/// The content a changed blob replaced, and the secrets the engine finds in it, by rule.
struct PreImage {
    bytes: Rc<[u8]>,
    found: HashMap<usize, HashSet<Vec<u8>>>,
}

impl PreImage {
    /// Whether the pending match's secret was already here: found by the same rule (decoded
    /// ones too), or present as is.
    fn holds(&self, pending: &Pending) -> bool {
        self.found
            .get(&pending.rule)
            .is_some_and(|secrets| secrets.contains(pending.secret.as_slice()))
            || (!pending.secret.is_empty()
                && memchr::memmem::find(&self.bytes, &pending.secret).is_some())
    }
}

/// Scans the history of a repository: every blob of its object database once (or, with
/// `--since-commit`, the blobs the later commits introduced), then gives each occurrence the
/// commit that introduced its blob and its path there. Blobs that no walked ref reaches are
/// dropped.
fn scan_history(
    engine: &Engine,
    root: &Path,
    repo: &GitRepository,
    args: &ScanArgs,
    excludes: &Excludes,
    threads: usize,
    sink: &Sink,
) -> anyhow::Result<()> {
    let first = sink.pending();
    let present = match &args.since_commit {
        Some(rev) => {
            let mut history = repo.since(rev, args.branch.as_deref())?;
            history
                .blobs
                .retain(|blob| !excludes.matches_relative(&blob.path));
            for error in &history.errors {
                sink.error(error.to_string());
            }
            let present = scan_blobs(engine, repo, Some(&history.blobs), args, threads, sink);
            drop_inherited(engine, repo, &history.blobs, first, sink);
            present
        }
        None => scan_blobs(engine, repo, None, args, threads, sink),
    };
    let found: HashSet<ObjectId> = sink
        .matches
        .lock()
        .map(|m| m[first..].iter().filter_map(|p| p.blob).collect())
        .unwrap_or_default();
    sink.progress.stage("· tracing commits");
    let (provenance, missing) = repo.provenance(
        &found,
        args.branch.as_deref(),
        args.since_commit.as_deref(),
        threads,
        present.as_ref(),
    )?;
    for error in missing {
        sink.error(error.to_string());
    }
    let mut matches = match sink.matches.lock() {
        Ok(m) => m,
        Err(poisoned) => poisoned.into_inner(),
    };
    let prefix = (root != Path::new(".")).then(|| root.display().to_string());
    let scanned = matches.split_off(first);
    for mut pending in scanned {
        if let Some(blob) = pending.blob {
            let occurrence = &mut pending.occurrence;
            match provenance.get(&blob) {
                // --exclude applies to the path the secret entered the history under.
                Some(p) if excludes.matches_relative(&p.path) => continue,
                Some(p) => {
                    occurrence.path.clone_from(&p.path);
                    occurrence.commit = Some(Commit {
                        id: p.commit.clone(),
                        author: p.author.clone(),
                        date: p.date,
                        summary: p.summary.clone(),
                        present_at_head: p.present_at_head,
                        refs: p.refs.clone(),
                    });
                }
                // A blob of the object database that no walked ref reaches (dangling, or on
                // another branch than --branch): not part of the history asked for.
                None if occurrence.path.is_empty() => continue,
                None => {}
            }
            if let Some(prefix) = &prefix {
                occurrence.path = format!("{}/{}", prefix.trim_end_matches('/'), occurrence.path);
            }
        }
        matches.push(pending);
    }
    Ok(())
}
