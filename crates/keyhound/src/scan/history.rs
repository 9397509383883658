//! Full-history and `--since-commit` scans: the blobs first, then one lifecycle walk that
//! gives every secret its paths, commits, status and owners.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use keyhound_findings::{CODEOWNERS_LOCATIONS, CodeOwners, Commit, Lifecycle, Owner, Status};
use keyhound_report::SkipReason;
use keyhound_sources::Excludes;
use keyhound_sources::git::{
    CommitInfo, GitRepository, HistoryTrace, ObjectId, OdbOptions, SecretTrace, TraceRequest,
};

use super::changes::scan_changes;
use super::progress::{PhaseClock, PhaseTime};
use super::sink::{Matches, Pending, Scanner};
use crate::cli::ScanArgs;

/// What a history scan hands on: occurrences placed at their paths, and the lifecycle and
/// owner of each (rule, secret).
pub(crate) struct HistoryScan {
    pub matches: Vec<Pending>,
    pub annotations: Vec<Annotation>,
    /// The newest commit date of the walked history, if any commit was walked.
    pub newest_date: Option<i64>,
    /// How long reading and scanning the blobs took, and then the lifecycle walk.
    pub timings: [PhaseTime; 2],
}

/// The lifecycle and owner of the finding of (`rule`, `secret`).
pub(crate) struct Annotation {
    pub rule: usize,
    pub secret: Vec<u8>,
    pub lifecycle: Lifecycle,
    pub owner: Owner,
}

/// Scans the history of `repo` (found at `root`): every blob of its object database once (or,
/// with `--since-commit`, the blobs the later commits brought), then traces the secrets found.
pub(crate) fn scan_history(
    scanner: &Scanner<'_>,
    root: &Path,
    repo: &GitRepository,
    args: &ScanArgs,
    excludes: &Excludes,
) -> anyhow::Result<HistoryScan> {
    let limit = (args.max_file_size > 0).then_some(args.max_file_size);
    let started = PhaseClock::start();
    let (matches, present, damaged) = match &args.since_commit {
        Some(rev) => {
            let mut changes = repo.since(rev, args.branch.as_deref())?;
            super::changes::drop_excluded(&mut changes.blobs, excludes, scanner.sink);
            for error in &changes.errors {
                scanner.sink.error(error.to_string());
            }
            let mut matches = scan_changes(scanner, repo, &changes.blobs, limit);
            // Placed below at the paths the lifecycle walk finds, as in the full pass: of
            // each path, keep only an archive member's name (`!path/in/archive`).
            let paths: HashMap<ObjectId, &str> = changes
                .blobs
                .iter()
                .map(|blob| (blob.id, blob.path.as_str()))
                .collect();
            for pending in &mut matches {
                if let Some(blob_path) = pending.blob.and_then(|blob| paths.get(&blob)) {
                    let path = &mut pending.occurrence.path;
                    *path = path.strip_prefix(blob_path).unwrap_or_default().to_string();
                }
            }
            (matches, None, false)
        }
        None => {
            let matches = Matches::default();
            let options = OdbOptions {
                threads: 0,
                max_size: limit,
                verify_pack: args.verify_pack,
                verify_objects: args.verify_objects,
            };
            let pass = repo.for_each_blob_in_odb(&options, &|id, bytes| {
                scanner.bytes("", Some(id), bytes, &matches);
            });
            if let Some(limit) = limit {
                for &(id, size) in &pass.too_large {
                    let reason = keyhound_sources::SkipReason::TooLarge { size, limit };
                    scanner
                        .sink
                        .skip(SkipReason::TooLarge, &format!("blob {id}"), reason);
                }
            }
            for error in &pass.errors {
                scanner.sink.odb_error(error);
            }
            let damaged = !pass.errors.is_empty();
            (matches.into_vec(), Some(pass.present), damaged)
        }
    };

    // One key per (rule, secret); each blob with the keys it holds.
    let mut keys: HashMap<(usize, &[u8]), u32> = HashMap::new();
    let mut secrets: Vec<(usize, &[u8])> = Vec::new();
    let mut blobs: HashMap<ObjectId, Vec<u32>> = HashMap::new();
    for pending in &matches {
        let key = *keys
            .entry((pending.rule, pending.secret.as_slice()))
            .or_insert_with(|| {
                secrets.push((pending.rule, pending.secret.as_slice()));
                secrets.len() as u32 - 1
            });
        if let Some(blob) = pending.blob {
            let held = blobs.entry(blob).or_default();
            if !held.contains(&key) {
                held.push(key);
            }
        }
    }
    // The line each secret stands on in each blob, for the last commit to touch it at HEAD.
    let mut lines: HashMap<(ObjectId, u32), u32> = HashMap::new();
    for pending in &matches {
        // An archive member's line is not a line of the blob (its path is the member's name).
        if let Some(blob) = pending.blob.filter(|_| pending.occurrence.path.is_empty()) {
            let key = keys[&(pending.rule, pending.secret.as_slice())];
            let line = u32::try_from(pending.occurrence.line).unwrap_or(u32::MAX);
            lines.entry((blob, key)).or_insert(line);
        }
    }
    let rule_of_secret: Vec<u32> = secrets.iter().map(|&(rule, _)| rule as u32).collect();
    let blob_pass = started.elapsed();
    let lifecycle_started = PhaseClock::start();
    scanner.sink.progress.stage("· tracing commits");
    let trace = repo.trace(&TraceRequest {
        blobs: &blobs,
        rule_of_secret: &rule_of_secret,
        branch: args.branch.as_deref(),
        since: args.since_commit.as_deref(),
        // The missing-blob check rides on the lifecycle walk: it runs when the walk does (some
        // blob has a finding), and on its own only where objects may well be missing: the
        // object database could not all be read, or the repository is a partial clone.
        present: present
            .as_ref()
            .filter(|_| !blobs.is_empty() || damaged || repo.is_partial_clone()),
        lines: &lines,
    })?;
    for error in &trace.errors {
        scanner.sink.error(error.to_string());
    }

    let prefix = (root != Path::new(".")).then(|| root.display().to_string());
    // A blob's occurrences have no path until placed; an archive member's have the member's
    // name (`!path/in/archive`), which follows the blob's path.
    let placed = |path: &str, member: &str| match &prefix {
        Some(prefix) => format!("{}/{path}{member}", prefix.trim_end_matches('/')),
        None => format!("{path}{member}"),
    };
    // Blobs that no walked ref reaches are part of the history asked for only when every ref
    // was walked: then they are reported as unreachable, never dropped.
    let whole_history = args.branch.is_none() && args.since_commit.is_none();
    let mut reported = vec![false; secrets.len()];
    let mut placed_matches = Vec::new();
    for pending in &matches {
        let key = keys[&(pending.rule, pending.secret.as_slice())] as usize;
        let Some(blob) = pending.blob else {
            continue;
        };
        let secret = &trace.secrets[key];
        if secret.paths.is_empty() {
            if whole_history {
                let mut occurrence = pending.occurrence.clone();
                occurrence.path = format!("(unreachable blob {blob}){}", occurrence.path);
                placed_matches.push(Pending {
                    occurrence,
                    secret: pending.secret.clone(),
                    ..*pending
                });
                reported[key] = true;
            }
            continue;
        }
        for introduction in secret.paths.iter().filter(|p| p.blob == blob) {
            // --exclude applies to the paths the secret had in the history.
            if excludes.matches_relative(&introduction.path) {
                continue;
            }
            let mut occurrence = pending.occurrence.clone();
            occurrence.path = placed(&introduction.path, &pending.occurrence.path);
            occurrence.commit = Some(commit(&trace.commits[introduction.commit]));
            occurrence.at_head = secret
                .at_head
                .iter()
                .any(|(path, held)| *held == blob && *path == introduction.path);
            placed_matches.push(Pending {
                occurrence,
                secret: pending.secret.clone(),
                ..*pending
            });
            reported[key] = true;
        }
        // Where HEAD holds it in another version of the file: its place there too.
        for (path, _) in secret.at_head.iter().filter(|(path, held)| {
            *held == blob
                && !secret
                    .paths
                    .iter()
                    .any(|p| p.blob == blob && p.path == *path)
        }) {
            if excludes.matches_relative(path) {
                continue;
            }
            let Some(introduction) = secret.paths.iter().find(|p| p.path == *path) else {
                continue;
            };
            let mut occurrence = pending.occurrence.clone();
            occurrence.path = placed(path, &pending.occurrence.path);
            occurrence.commit = Some(commit(&trace.commits[introduction.commit]));
            occurrence.at_head = true;
            placed_matches.push(Pending {
                occurrence,
                secret: pending.secret.clone(),
                ..*pending
            });
            reported[key] = true;
        }
    }

    let mut owners = CodeOwnersAt::new(repo);
    let annotations = secrets
        .iter()
        .enumerate()
        .filter(|&(key, _)| reported[key])
        .map(|(key, &(rule, secret))| {
            let traced = &trace.secrets[key];
            let mut owner = owner(&trace, traced, &mut owners, scanner, excludes);
            owner.last_touched_by = traced
                .line_last_touched
                .map(|i| trace.commits[i].author.clone());
            Annotation {
                rule,
                secret: secret.to_vec(),
                lifecycle: lifecycle(&trace, traced),
                owner,
            }
        })
        .collect();
    Ok(HistoryScan {
        matches: placed_matches,
        annotations,
        newest_date: (trace.commits_walked > 0).then_some(trace.newest_date),
        timings: [blob_pass, lifecycle_started.elapsed()],
    })
}

/// The finding model's view of a commit.
fn commit(info: &CommitInfo) -> Commit {
    Commit {
        id: info.id.to_string(),
        author: info.author.clone(),
        date: info.date,
        summary: info.summary.clone(),
    }
}

/// The lifecycle of a traced secret (exposure is judged later, as of the whole scan's date).
fn lifecycle(trace: &HistoryTrace, secret: &SecretTrace) -> Lifecycle {
    let at = |index: Option<usize>| index.map(|i| commit(&trace.commits[i]));
    let status = if secret.paths.is_empty() {
        Status::Unreachable
    } else if secret.present_at_head || !secret.refs.is_empty() {
        Status::Active
    } else if secret.replaced {
        Status::Replaced
    } else {
        Status::Removed
    };
    Lifecycle {
        status,
        first_seen: at(secret.first_seen),
        last_seen: at(secret.last_seen),
        removed_in: at(secret.removed_in),
        present_at_head: secret.present_at_head,
        refs: secret.refs.clone(),
        exposure_days: None,
        overdue: false,
    }
}

/// Who owns a traced secret: CODEOWNERS of its paths, and who introduced it.
fn owner(
    trace: &HistoryTrace,
    secret: &SecretTrace,
    owners: &mut CodeOwnersAt<'_>,
    scanner: &Scanner<'_>,
    excludes: &Excludes,
) -> Owner {
    let introducer = secret.first_seen.map(|i| &trace.commits[i]);
    let mut codeowners: Vec<String> = Vec::new();
    for path in secret
        .paths
        .iter()
        .filter(|p| !excludes.matches_relative(&p.path))
    {
        let file = owners.at(None, scanner).or_else(|| {
            let at = introducer.map(|c| c.id)?;
            owners.at(Some(at), scanner)
        });
        for owner in file.map(|f| f.owners_of(&path.path)).unwrap_or_default() {
            if !codeowners.contains(&owner) {
                codeowners.push(owner);
            }
        }
    }
    Owner {
        codeowners,
        introduced_by: introducer.map(|c| c.author.clone()),
        introducer_last_commit: introducer
            .and_then(|c| trace.last_commit_by_author.get(&c.author_email).copied()),
        last_touched_by: None,
    }
}

/// The CODEOWNERS file of HEAD and of other commits, each read once and each distinct text
/// parsed once: where HEAD has none, the file of every commit that introduced a secret is
/// asked for, and those are mostly the same text (a large file takes milliseconds to parse:
/// GitLab's, 1,549 lines, 15 ms).
struct CodeOwnersAt<'a> {
    repo: &'a GitRepository,
    read: HashMap<Option<ObjectId>, Option<Rc<CodeOwners>>>,
    parsed: HashMap<Vec<u8>, Rc<CodeOwners>>,
}

impl<'a> CodeOwnersAt<'a> {
    fn new(repo: &'a GitRepository) -> Self {
        Self {
            repo,
            read: HashMap::new(),
            parsed: HashMap::new(),
        }
    }

    /// The first CODEOWNERS file of [`CODEOWNERS_LOCATIONS`] in `commit`'s tree (HEAD's for
    /// `None`).
    fn at(&mut self, commit: Option<ObjectId>, scanner: &Scanner<'_>) -> Option<Rc<CodeOwners>> {
        let (repo, parsed) = (self.repo, &mut self.parsed);
        self.read
            .entry(commit)
            .or_insert_with(|| {
                CODEOWNERS_LOCATIONS.iter().find_map(|location| {
                    match repo.file_at(commit, location) {
                        Ok(Some(bytes)) => {
                            Some(Rc::clone(parsed.entry(bytes).or_insert_with_key(|bytes| {
                                let at = commit.map_or("HEAD".to_string(), |c| c.to_string());
                                let name = format!("{location} at {at}");
                                Rc::new(super::parse_codeowners(&name, bytes, scanner.sink))
                            })))
                        }
                        Ok(None) => None,
                        Err(e) => {
                            scanner.sink.error(e.to_string());
                            None
                        }
                    }
                })
            })
            .clone()
    }
}
