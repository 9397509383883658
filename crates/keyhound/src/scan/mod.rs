//! `keyhound scan`: orchestration. Each phase hands its result to the next as a value:
//! inputs are scanned into matches (`sink`), history matches get their paths, commits and
//! lifecycle (`history`), change sets keep only what they bring (`changes`), and the findings
//! are assembled and written here.

mod changes;
mod history;
pub(crate) mod output;
mod progress;
mod sink;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use keyhound_engine::{Engine, EngineOptions};
use keyhound_findings::{CODEOWNERS_LOCATIONS, CodeOwners, FindingSet, NhiContext};
use keyhound_report::{Format, Report, ScanSummary, SkipReason};
use keyhound_sources::git::GitRepository;
use keyhound_sources::{Content, Excludes, FileEvent, SourceError, WalkOptions};

use crate::cli::{ColorChoice, FormatArg, ScanArgs};
use progress::Progress;
use sink::{Matches, Pending, Scanner, Sink};

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
            decode: !args.no_decode,
            time_budget: (!args.input_time_budget.is_zero()).then_some(args.input_time_budget),
            ..EngineOptions::default()
        },
    )?;
    let excludes = Excludes::new(&args.excludes)?;
    let threads = if args.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    let sink = Sink::new(
        Progress::new(!args.quiet && std::io::stderr().is_terminal()),
        args.verbose,
    );
    let scanner = Scanner {
        engine: &engine,
        sink: &sink,
        skip_binary: args.skip_binary,
        threads,
        // Members are held whole: no larger than a file may be.
        archives: (!args.no_archives).then(|| keyhound_sources::archive::Limits {
            max_member_size: match args.max_file_size {
                0 => keyhound_sources::archive::DEFAULT_MAX_MEMBER_SIZE,
                limit => limit.min(keyhound_sources::archive::DEFAULT_MAX_MEMBER_SIZE),
            },
            ..Default::default()
        }),
        excludes: &excludes,
    };

    let paths = if args.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.paths.clone()
    };
    let (stdin, roots): (Vec<PathBuf>, Vec<PathBuf>) =
        paths.into_iter().partition(|p| p.as_os_str() == "-");
    // A pipe or character device named on the command line (`<(command)`, a named pipe) is read
    // as a stream, as stdin is: it was asked for by name. Met by a walk, one is skipped.
    let (streams, roots): (Vec<PathBuf>, Vec<PathBuf>) =
        roots.into_iter().partition(|p| is_stream(p));
    let mut matches: Vec<Pending> = Vec::new();
    let mut annotations = Vec::new();
    let mut newest_date: Option<i64> = None;
    if !stdin.is_empty() {
        // Stdin is always streamed: it may be huge or endless.
        let found = Matches::default();
        scanner.content("-", keyhound_sources::read_stdin(), &found);
        matches.extend(found.into_vec());
    }
    for path in &streams {
        let name = path.display().to_string();
        match std::fs::File::open(path) {
            Ok(file) => {
                let found = Matches::default();
                scanner.content(&name, Content::Stream(Box::new(file)), &found);
                matches.extend(found.into_vec());
            }
            Err(e) => sink.error(format!("{name}: cannot read: {e}")),
        }
    }
    let limit = (args.max_file_size > 0).then_some(args.max_file_size);
    let mut tree_roots = Vec::new();
    if args.staged {
        for root in &roots {
            let repo = GitRepository::discover(root)?;
            let mut staged = repo.staged()?;
            changes::drop_excluded(&mut staged, &excludes, &sink);
            matches.extend(pool.install(|| changes::scan_changes(&scanner, &repo, &staged, limit)));
        }
    } else if args.no_history {
        tree_roots = roots;
    } else {
        for root in roots {
            match GitRepository::open(&root) {
                Some(repo) => {
                    let scan = pool.install(|| {
                        history::scan_history(&scanner, &root, &repo, args, &excludes)
                    })?;
                    if args.stats {
                        let [blobs, lifecycle] = scan.timings;
                        sink.progress.suspend(|| {
                            eprintln!(
                                "keyhound: {}: blob pass {blobs}, lifecycle and owners {lifecycle}",
                                root.display(),
                            );
                        });
                    }
                    matches.extend(scan.matches);
                    annotations.extend(scan.annotations);
                    newest_date = newest_date.max(scan.newest_date);
                }
                None if args.since_commit.is_some() => {
                    anyhow::bail!(
                        "{}: --since-commit needs the root of a git repository",
                        root.display()
                    )
                }
                None => tree_roots.push(root),
            }
        }
    }
    if !tree_roots.is_empty() {
        let options = WalkOptions {
            excludes: args.excludes.clone(),
            max_file_size: limit,
            follow_symlinks: args.follow_symlinks,
            respect_gitignore: args.gitignore,
            threads,
        };
        let found = Matches::default();
        keyhound_sources::walk(&tree_roots, &options, |event| match event {
            FileEvent::File(input) => match keyhound_sources::open_file(&input) {
                Ok(content) => scanner.content(&input.display_path, content, &found),
                // Changed since it was listed: left out as it would have been then.
                Err(SourceError::Changed { path, reason }) => {
                    sink.skip(skip_reason(&reason), &path, reason)
                }
                Err(e) => sink.unreadable(&input.display_path, e.to_string()),
            },
            FileEvent::Skipped {
                display_path,
                reason,
            } => sink.skip(skip_reason(&reason), &display_path, reason),
            FileEvent::Error(e) => match &e {
                SourceError::Io { path, .. } | SourceError::Walk { path, .. } => {
                    sink.unreadable(path, e.to_string())
                }
                // An ignore file's line that does not parse (git may read it, the glob syntax
                // differs) only makes the scan cover more: said, not an error.
                SourceError::IgnoreRule { .. } => {
                    sink.progress.suspend(|| eprintln!("keyhound: {e}"))
                }
                _ => sink.error(e.to_string()),
            },
        })
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        matches.extend(found.into_vec());
    }
    sink.progress.finish();
    sink.list_skipped();

    let mut set = FindingSet::new();
    for pending in matches {
        set.add(
            pending.rule,
            engine.rule(pending.rule),
            &pending.secret,
            pending.occurrence,
        );
    }
    for annotation in annotations {
        set.annotate(
            engine.rule(annotation.rule),
            &annotation.secret,
            annotation.lifecycle,
            annotation.owner,
        );
    }
    for root in &tree_roots {
        if let Some(owners) = working_tree_codeowners(root, &sink) {
            let prefix = working_tree_prefix(root);
            set.assign_codeowners(&|path: &str| match &prefix {
                Some(prefix) => path
                    .strip_prefix(prefix.as_str())
                    .map(|relative| owners.owners_of(relative))
                    .unwrap_or_default(),
                None => owners.owners_of(path),
            });
        }
    }
    let environments = |path: &str| {
        policy
            .config
            .nhi
            .environment_of(policy.relative_to_root(path))
    };
    let context = NhiContext {
        as_of: args.as_of.or(newest_date),
        offboarding_days: args
            .offboarding_days
            .unwrap_or(policy.config.nhi.offboarding_days),
        environments: Some(&environments),
    };
    let findings = set.finish(|i| engine.rule(i), &context);
    // Inline allows, the allowlist, the baseline and fail_on (crate::triage).
    let triage = policy.triage(findings, |i| engine.rule(i), &context);
    let findings = &triage.findings;
    let tally = sink.into_tally();
    let summary = ScanSummary {
        files_scanned: tally.files_scanned,
        bytes_scanned: tally.stats.bytes,
        skipped: tally.skipped,
        errors: tally.errors.clone(),
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
    policy.finish(&triage, &tally.errors)
}

/// How the summary counts a file the walker left out.
fn skip_reason(reason: &keyhound_sources::SkipReason) -> SkipReason {
    match reason {
        keyhound_sources::SkipReason::TooLarge { .. }
        | keyhound_sources::SkipReason::Grew { .. } => SkipReason::TooLarge,
        keyhound_sources::SkipReason::Excluded => SkipReason::Excluded,
        keyhound_sources::SkipReason::Symlink => SkipReason::Symlink,
        keyhound_sources::SkipReason::Special => SkipReason::Special,
    }
}

/// The CODEOWNERS file of a scanned directory: the first of [`CODEOWNERS_LOCATIONS`] there.
/// One that exists but cannot be read (or is no regular file: a FIFO would hold the scan for
/// ever) is reported, not taken for none.
fn working_tree_codeowners(root: &Path, sink: &Sink) -> Option<CodeOwners> {
    // GitHub reads 3 MB of it at most.
    const MAX_CODEOWNERS: u64 = 16 << 20;
    let base = if root.is_dir() { root } else { root.parent()? };
    CODEOWNERS_LOCATIONS.iter().find_map(|location| {
        let path = base.join(location);
        match keyhound_sources::read_support_file(&path, MAX_CODEOWNERS) {
            Ok(Some(bytes)) => Some(parse_codeowners(&path.display().to_string(), &bytes, sink)),
            Ok(None) => None,
            Err(e) => {
                sink.error(format!("{}: cannot read: {e}", path.display()));
                None
            }
        }
    })
}

/// Parses the CODEOWNERS file `name`, with a warning for each line whose pattern is left out
/// (its owners would otherwise be missing without a word).
pub(crate) fn parse_codeowners(name: &str, bytes: &[u8], sink: &Sink) -> CodeOwners {
    let owners = CodeOwners::parse(&String::from_utf8_lossy(bytes));
    for line in owners.ignored_lines() {
        sink.warning(format!(
            "{name}:{}: pattern `{}` left out: {}",
            line.line, line.pattern, line.reason
        ));
    }
    owners
}

/// What the walker puts before the paths under `root`: `root/`, or nothing for `.`.
fn working_tree_prefix(root: &Path) -> Option<String> {
    let shown = root.display().to_string();
    let shown = shown.trim_start_matches("./").trim_end_matches('/');
    (!shown.is_empty() && shown != "." && root.is_dir()).then(|| format!("{shown}/"))
}

fn write_report(
    format: Format,
    report: &Report,
    output: Option<&Path>,
    color: ColorChoice,
) -> anyhow::Result<()> {
    match output {
        Some(path) => output::write_file(path, |out| {
            keyhound_report::write(format, report, out, color == ColorChoice::Always)
                .map_err(anyhow::Error::from)
        })
        .with_context(|| format!("{}: cannot write report", path.display())),
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

/// Whether `path` is a pipe or a character device (following links: `<(command)` names a link
/// to a pipe), to be read as a stream.
fn is_stream(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata(path).is_ok_and(|m| {
            let kind = m.file_type();
            kind.is_fifo() || kind.is_char_device()
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}
