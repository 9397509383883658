//! Git history: every blob of a repository, each read and handed out once, and where a blob
//! came from.
//!
//! Reading goes through gix, never the git binary. A full-history scan reads the object
//! database directly: each pack's delta forest is walked once (every delta base decoded once,
//! in parallel, see the `pack` module), then the loose objects. Provenance — the commit that introduced a blob,
//! its path there, and whether HEAD still holds it — is computed afterwards, only for the blobs
//! that had findings, by comparing each commit's tree with its first parent's by object id;
//! a blob no ref reaches has none. `--since-commit` and `--staged` list their few blobs from
//! commit and index diffs, each with the blobs it replaced at its path, and read them one by one.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use gix::bstr::ByteSlice;

/// A git object id.
pub use gix::ObjectId;

use crate::SourceError;
use crate::loose::Loose;
use crate::pack::{PackCursor, Packs};

/// Object cache per provenance thread, for commits (each is read as itself and as its child's
/// parent); trees go through the pack cursors, which keep their own cache.
const PROVENANCE_OBJECT_CACHE: usize = 4 << 20;

/// Missing blobs named one by one before the rest are counted.
const MISSING_SHOWN: usize = 10;

/// An opened repository, shareable across threads.
pub struct GitRepository {
    repo: gix::ThreadSafeRepository,
    display: String,
    /// The packs, opened for positioned reads on first use.
    packs: std::sync::OnceLock<Packs>,
}

/// A unique blob of the history.
#[derive(Debug, Clone)]
pub struct HistoryBlob {
    /// The blob's object id.
    pub id: ObjectId,
    /// A path the blob had (the first one the walk met).
    pub path: String,
    /// The blobs it replaced at that path (in the parent commits, or at HEAD for a staged
    /// file): a secret they already held is not new. Empty for a new file, and whenever the
    /// blob was met as a new file anywhere.
    pub replaced: Vec<ObjectId>,
}

/// A blob that a tree holds and its parent tree does not hold at the same path.
struct TreeChange {
    blob: ObjectId,
    path: String,
    /// The blob the parent held at that path, if it held one.
    before: Option<ObjectId>,
}

/// What a pass over the whole object database did besides visiting blobs.
#[derive(Debug, Default)]
pub struct OdbPass {
    /// Every blob the object database holds (visited, too large, or unreadable).
    pub present: HashSet<ObjectId>,
    /// Blobs over the size limit, never read.
    pub too_large: u64,
    /// Objects that could not be read.
    pub errors: Vec<SourceError>,
}

/// What the history walk found: blobs to scan, and objects it could not read.
#[derive(Debug, Default)]
pub struct History {
    /// Every unique blob reachable from the walked refs.
    pub blobs: Vec<HistoryBlob>,
    /// Commits walked.
    pub commits: usize,
    /// Unreadable or corrupt objects; the walk went on without them.
    pub errors: Vec<SourceError>,
}

/// Where a blob entered the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// The introducing commit's id (hex).
    pub commit: String,
    /// Its author, `Name <email>`.
    pub author: String,
    /// Its committer date, seconds since the Unix epoch.
    pub date: i64,
    /// The first line of its message.
    pub summary: String,
    /// The blob's path in that commit.
    pub path: String,
    /// Whether HEAD's tree still holds the blob.
    pub present_at_head: bool,
    /// The refs (full names) whose tip still holds the blob.
    pub refs: Vec<String>,
}

impl GitRepository {
    /// Opens `path` if it is the root of a git repository (a working tree with `.git`, or a
    /// bare repository); `None` when it is not one.
    pub fn open(path: &Path) -> Option<Self> {
        let looks_like_repo = path.join(".git").exists()
            || (path.join("HEAD").is_file()
                && path.join("objects").is_dir()
                && path.join("refs").is_dir());
        if !looks_like_repo {
            return None;
        }
        let repo = gix::open(path).ok()?;
        Some(Self {
            repo: repo.into_sync(),
            display: path.display().to_string(),
            packs: std::sync::OnceLock::new(),
        })
    }

    fn error(&self, message: impl std::fmt::Display) -> SourceError {
        SourceError::Git {
            repo: self.display.clone(),
            message: message.to_string(),
        }
    }

    /// The tips to walk: every ref, or only `branch` when given.
    fn tips(
        &self,
        repo: &gix::Repository,
        branch: Option<&str>,
    ) -> Result<Vec<ObjectId>, SourceError> {
        let mut tips = Vec::new();
        for (_, id) in self.named_tips(repo, branch)? {
            if !tips.contains(&id) {
                tips.push(id);
            }
        }
        if branch.is_none()
            && let Ok(head) = repo.head_id()
        {
            let id = head.detach();
            if !tips.contains(&id) {
                tips.push(id);
            }
        }
        Ok(tips)
    }

    /// Every ref that points (once peeled) at a commit, with its full name; only `branch` when
    /// given.
    fn named_tips(
        &self,
        repo: &gix::Repository,
        branch: Option<&str>,
    ) -> Result<Vec<(String, ObjectId)>, SourceError> {
        if let Some(name) = branch {
            let mut reference = repo
                .find_reference(name)
                .map_err(|e| self.error(format!("{name}: {e}")))?;
            let id = reference
                .peel_to_id()
                .map_err(|e| self.error(format!("{name}: {e}")))?;
            return Ok(vec![(reference.name().as_bstr().to_string(), id.detach())]);
        }
        let mut tips = Vec::new();
        let platform = repo.references().map_err(|e| self.error(e))?;
        for reference in platform.all().map_err(|e| self.error(e))? {
            let Ok(mut reference) = reference else {
                continue;
            };
            // Refs that point at trees or blobs (rare) are not commits to walk.
            if let Ok(id) = reference.peel_to_id() {
                let id = id.detach();
                if repo.find_commit(id).is_ok() {
                    tips.push((reference.name().as_bstr().to_string(), id));
                }
            }
        }
        Ok(tips)
    }

    /// Lists the unique blobs that the commits after `since` introduced: those reachable from
    /// every ref (or from `branch`) but not from `since`, each compared with its parents, so
    /// only files those commits added or changed are listed (the CI check of a push or pull
    /// request). `since` is anything `git rev-parse` would take: an id, a short id, a ref.
    pub fn since(&self, since: &str, branch: Option<&str>) -> Result<History, SourceError> {
        let repo = self.repo.to_thread_local();
        let mut trees = Trees::new(&repo, self.packs());
        let base = repo
            .rev_parse_single(since)
            .map_err(|e| self.error(format!("--since-commit {since}: {e}")))?
            .detach();
        let tips = self.tips(&repo, branch)?;
        let mut history = History::default();
        let walk = repo
            .rev_walk(tips)
            .with_hidden([base])
            .all()
            .map_err(|e| self.error(e))?;
        let mut seen_blobs: HashMap<ObjectId, usize> = HashMap::new();
        for info in walk {
            let info = match info {
                Ok(info) => info,
                Err(e) => {
                    history.errors.push(self.error(format!("commit walk: {e}")));
                    continue;
                }
            };
            history.commits += 1;
            let Some(tree) = commit_tree(&repo, info.id) else {
                history
                    .errors
                    .push(self.error(format!("commit {}: unreadable tree", info.id)));
                continue;
            };
            // A merge introduces what none of its parents had; a root commit everything.
            let parent_trees: Vec<Option<ObjectId>> = if info.parent_ids.is_empty() {
                vec![None]
            } else {
                info.parent_ids
                    .iter()
                    .map(|&p| commit_tree(&repo, p))
                    .collect()
            };
            // In tree order: each blob and path, with the blobs the parents held at that path.
            let mut introduced: Option<Vec<HistoryBlob>> = None;
            for parent in parent_trees {
                let mut changed = Vec::new();
                diff_trees(
                    &mut trees,
                    tree,
                    parent,
                    String::new(),
                    &|_| true,
                    &mut changed,
                );
                introduced = Some(match introduced {
                    None => changed
                        .into_iter()
                        .map(|c| HistoryBlob {
                            id: c.blob,
                            path: c.path,
                            replaced: c.before.into_iter().collect(),
                        })
                        .collect(),
                    Some(mut previous) => {
                        let changed: HashMap<_, _> = changed
                            .into_iter()
                            .map(|c| ((c.blob, c.path), c.before))
                            .collect();
                        previous.retain_mut(|blob| {
                            match changed.get(&(blob.id, blob.path.clone())) {
                                Some(before) => {
                                    blob.replaced.extend(before);
                                    true
                                }
                                None => false,
                            }
                        });
                        previous
                    }
                });
            }
            for blob in introduced.unwrap_or_default() {
                match seen_blobs.get(&blob.id) {
                    None => {
                        seen_blobs.insert(blob.id, history.blobs.len());
                        history.blobs.push(blob);
                    }
                    Some(&at) => {
                        let first = &mut history.blobs[at];
                        // Met as a new file anywhere: everything in it is new.
                        if blob.replaced.is_empty() {
                            first.replaced.clear();
                        } else if !first.replaced.is_empty() {
                            first.replaced.extend(blob.replaced);
                        }
                    }
                }
            }
        }
        for blob in &mut history.blobs {
            blob.replaced.sort();
            blob.replaced.dedup();
        }
        Ok(history)
    }

    /// The repository's packs, opened for positioned reads once.
    fn packs(&self) -> &Packs {
        self.packs
            .get_or_init(|| Packs::open(self.repo.objects.path(), self.repo.objects.object_hash()))
    }

    /// Finds the repository that holds `path` (it or a parent directory), for `--staged`.
    pub fn discover(path: &Path) -> Result<Self, SourceError> {
        let repo = gix::discover(path).map_err(|e| SourceError::Git {
            repo: path.display().to_string(),
            message: format!("not in a git repository: {e}"),
        })?;
        let display = repo
            .workdir()
            .unwrap_or_else(|| repo.git_dir())
            .display()
            .to_string();
        Ok(Self {
            repo: repo.into_sync(),
            display,
            packs: std::sync::OnceLock::new(),
        })
    }

    /// Where git runs this repository's hooks from: `core.hooksPath` (relative paths from the
    /// working tree's root, `~/` expanded), else the `hooks` directory of the common git
    /// directory (shared by every linked worktree).
    pub fn hooks_dir(&self) -> Result<PathBuf, SourceError> {
        let repo = self.repo.to_thread_local();
        let configured = repo
            .config_snapshot()
            .trusted_path("core.hooksPath")
            .map_err(|e| self.error(format!("core.hooksPath: {e}")))?;
        Ok(match configured {
            Some(path) if path.is_absolute() => path,
            Some(path) => repo.workdir().unwrap_or_else(|| repo.git_dir()).join(path),
            None => repo.common_dir().join("hooks"),
        })
    }

    /// The files staged in the index whose content differs from HEAD's (all of them before
    /// the first commit), each with its path relative to the working tree: what the next
    /// commit would add. Unmerged entries, submodules and symbolic links are left out.
    pub fn staged(&self) -> Result<Vec<HistoryBlob>, SourceError> {
        let repo = self.repo.to_thread_local();
        let index = repo
            .index_or_empty()
            .map_err(|e| self.error(format!("index: {e}")))?;
        let mut at_head = HashMap::new();
        if let Ok(head) = repo.head_id()
            && let Ok(commit) = repo.find_commit(head.detach())
            && let Ok(tree) = commit.tree_id()
        {
            let mut stack = vec![(tree.detach(), String::new())];
            while let Some((id, prefix)) = stack.pop() {
                let tree = repo
                    .find_tree(id)
                    .map_err(|e| self.error(format!("tree {id}: {e}")))?;
                let decoded = tree
                    .decode()
                    .map_err(|e| self.error(format!("tree {id}: {e}")))?;
                for entry in &decoded.entries {
                    let path = join(&prefix, entry.filename.to_str_lossy().as_ref());
                    if entry.mode.is_tree() {
                        stack.push((entry.oid.to_owned(), path));
                    } else if entry.mode.is_blob() {
                        at_head.insert(path, entry.oid.to_owned());
                    }
                }
            }
        }
        let mut staged = Vec::new();
        for entry in index.entries() {
            let file = entry.mode == gix::index::entry::Mode::FILE
                || entry.mode == gix::index::entry::Mode::FILE_EXECUTABLE;
            if !file || entry.stage_raw() != 0 {
                continue;
            }
            let path = entry.path(&index).to_str_lossy().into_owned();
            let before = at_head.get(&path).copied();
            if before != Some(entry.id) {
                staged.push(HistoryBlob {
                    id: entry.id,
                    path,
                    replaced: before.into_iter().collect(),
                });
            }
        }
        Ok(staged)
    }

    /// Calls `visit` with every blob of the object database, once each, from `threads`
    /// threads: each pack's delta forest is walked once from its base blobs, reading the pack
    /// by positioned reads (no memory map stays resident), so every delta base is inflated once;
    /// then the loose objects are read. Blobs that no ref reaches are visited too (see
    /// [`Self::provenance`] to tell them apart). Blobs larger than `max_size` are counted, and
    /// read only when a delta is built on them, so a history of huge files scans in bounded
    /// memory.
    pub fn for_each_blob_in_odb(
        &self,
        threads: usize,
        max_size: Option<u64>,
        visit: &(dyn Fn(&HistoryBlob, &[u8]) + Sync),
    ) -> OdbPass {
        let options = crate::odb::OdbOptions {
            threads,
            max_size,
            ..crate::odb::OdbOptions::default()
        };
        crate::odb::for_each_blob(&self.repo, &self.display, &options, visit)
    }

    /// Calls `visit` with the content of each of `blobs` (a few: staged files, the blobs of a
    /// pushed range), reading them one by one from `threads` threads. Returns the objects that
    /// could not be read.
    pub fn for_each_blob(
        &self,
        blobs: &[HistoryBlob],
        threads: usize,
        visit: &(dyn Fn(&HistoryBlob, &[u8]) + Sync),
    ) -> Vec<SourceError> {
        let failed = std::sync::Mutex::new(Vec::new());
        in_parts(blobs, threads, |part| {
            let mut reader = self.reader();
            for blob in part {
                match reader.read(blob) {
                    Ok(data) => visit(blob, &data),
                    Err(e) => failed.lock().unwrap_or_else(|p| p.into_inner()).push(e),
                }
            }
        });
        failed.into_inner().unwrap_or_else(|p| p.into_inner())
    }

    /// A reader for blobs, one per thread.
    pub fn reader(&self) -> BlobReader<'_> {
        BlobReader {
            repo: self.repo.to_thread_local(),
            objects: ObjectReader::new(self.packs()),
            display: self.display.clone(),
        }
    }

    /// Where each of `blobs` entered the history (only the commits after `since`, when given):
    /// the first commit, parents before children, whose tree holds the blob while its first
    /// parent's does not, with the path there. With `present` (every blob the object database
    /// holds), the same walk also reports the blobs the history needs but the database lacks
    /// (a damaged repository, a partial clone).
    pub fn provenance(
        &self,
        blobs: &HashSet<ObjectId>,
        branch: Option<&str>,
        since: Option<&str>,
        threads: usize,
        present: Option<&HashSet<ObjectId>>,
    ) -> Result<(HashMap<ObjectId, Provenance>, Vec<SourceError>), SourceError> {
        let mut repo = self.repo.to_thread_local();
        // Each commit is read twice: as a commit, and as its child's parent.
        repo.object_cache_size_if_unset(PROVENANCE_OBJECT_CACHE);
        let packs = self.packs();
        let mut found = HashMap::new();
        let mut missing = Vec::new();
        if blobs.is_empty() && present.is_none() {
            return Ok((found, Vec::new()));
        }
        let tips = self.tips(&repo, branch)?;
        let hidden = match since {
            Some(rev) => vec![
                repo.rev_parse_single(rev)
                    .map_err(|e| self.error(format!("--since-commit {rev}: {e}")))?
                    .detach(),
            ],
            None => Vec::new(),
        };
        let mut parents: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
        for info in repo
            .rev_walk(tips.iter().copied())
            .with_hidden(hidden)
            .all()
            .map_err(|e| self.error(e))?
        {
            let Ok(info) = info else { continue };
            parents.insert(info.id, info.parent_ids.iter().copied().collect());
        }
        // Each commit's diff with its first parent is independent of the others: diff slices of
        // the parents-first order in parallel, then keep, for each blob, the earliest commit.
        let order = parents_first(&tips, &parents);
        let slice = order.len().div_ceil(threads.max(1)).max(1);
        let mut introductions: Vec<(usize, ObjectId, String)> = std::thread::scope(|scope| {
            let workers: Vec<_> = order
                .chunks(slice)
                .enumerate()
                .map(|(n, part)| {
                    let parents = &parents;
                    scope.spawn(move || {
                        let mut repo = self.repo.to_thread_local();
                        repo.object_cache_size_if_unset(PROVENANCE_OBJECT_CACHE);
                        let mut trees = Trees::new(&repo, packs);
                        let mut out = Vec::new();
                        for (i, &id) in part.iter().enumerate() {
                            let Some(tree) = commit_tree(&repo, id) else {
                                continue;
                            };
                            let parent = parents.get(&id).and_then(|p| p.first().copied());
                            let parent_tree = parent.and_then(|p| commit_tree(&repo, p));
                            let mut introduced = Vec::new();
                            let wanted = |oid: ObjectId| {
                                blobs.contains(&oid) || present.is_some_and(|p| !p.contains(&oid))
                            };
                            diff_trees(
                                &mut trees,
                                tree,
                                parent_tree,
                                String::new(),
                                &wanted,
                                &mut introduced,
                            );
                            out.extend(
                                introduced
                                    .into_iter()
                                    .map(|c| (n * slice + i, c.blob, c.path)),
                            );
                        }
                        out
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_default())
                .collect()
        });
        introductions.sort_by_key(|&(position, _, _)| position);
        let mut reported = HashSet::new();
        for (position, blob, path) in introductions {
            let id = order[position];
            if present.is_some_and(|p| !p.contains(&blob)) {
                if reported.insert(blob) {
                    missing.push((blob, path, id));
                }
                continue;
            }
            if found.contains_key(&blob) {
                continue;
            }
            let Ok(commit) = repo.find_commit(id) else {
                continue;
            };
            let author = commit
                .author()
                .map(|s| format!("{} <{}>", s.name, s.email))
                .unwrap_or_default();
            let date = commit
                .committer()
                .ok()
                .and_then(|s| s.time().ok())
                .map_or(0, |t| t.seconds);
            let summary = commit
                .message()
                .map(|m| m.summary().to_str_lossy().into_owned())
                .unwrap_or_default();
            found.insert(
                blob,
                Provenance {
                    commit: id.to_string(),
                    author,
                    date,
                    summary,
                    path,
                    present_at_head: false,
                    refs: Vec::new(),
                },
            );
        }
        // Which refs (and HEAD) still hold each blob: one traversal per distinct tip tree.
        let head_tree = repo
            .head_id()
            .ok()
            .and_then(|head| commit_tree(&repo, head.detach()));
        let mut holding: HashMap<ObjectId, Vec<String>> = HashMap::new();
        if let Some(tree) = head_tree {
            holding.entry(tree).or_default();
        }
        for (name, tip) in self.named_tips(&repo, branch)? {
            if let Some(tree) = commit_tree(&repo, tip) {
                holding.entry(tree).or_default().push(name);
            }
        }
        let mut trees = Trees::new(&repo, packs);
        for (tree, refs) in holding {
            let mut present = Vec::new();
            diff_trees(
                &mut trees,
                tree,
                None,
                String::new(),
                &|oid| found.contains_key(&oid),
                &mut present,
            );
            for change in present {
                if let Some(p) = found.get_mut(&change.blob) {
                    p.present_at_head |= head_tree == Some(tree);
                    p.refs.extend(refs.iter().cloned());
                }
            }
        }
        for p in found.values_mut() {
            p.refs.sort();
            p.refs.dedup();
        }
        let mut errors: Vec<SourceError> = missing
            .iter()
            .take(MISSING_SHOWN)
            .map(|(blob, path, commit)| {
                self.error(format!(
                    "blob {blob} ({path}, added in {commit}) is missing from the object database"
                ))
            })
            .collect();
        if missing.len() > MISSING_SHOWN {
            errors.push(self.error(format!(
                "{} more blobs of the history are missing (a partial or damaged clone?)",
                missing.len() - MISSING_SHOWN
            )));
        }
        Ok((found, errors))
    }
}

/// The root tree of commit `id`, if the commit and its tree can be read.
fn commit_tree(repo: &gix::Repository, id: ObjectId) -> Option<ObjectId> {
    repo.find_commit(id)
        .ok()?
        .tree_id()
        .ok()
        .map(|t| t.detach())
}

/// Every commit of `parents` (commit -> its parents) reachable from `tips`, each after all of its
/// parents, so the first commit that holds a blob is the one that introduced it.
fn parents_first(tips: &[ObjectId], parents: &HashMap<ObjectId, Vec<ObjectId>>) -> Vec<ObjectId> {
    let mut order = Vec::with_capacity(parents.len());
    let mut visited = HashSet::new();
    // (commit, whether its parents are already on the stack)
    let mut stack: Vec<(ObjectId, bool)> = tips.iter().rev().map(|&t| (t, false)).collect();
    while let Some((id, expanded)) = stack.pop() {
        if expanded {
            order.push(id);
            continue;
        }
        if !visited.insert(id) {
            continue;
        }
        stack.push((id, true));
        for &parent in parents.get(&id).into_iter().flatten().rev() {
            if parents.contains_key(&parent) && !visited.contains(&parent) {
                stack.push((parent, false));
            }
        }
    }
    order
}

/// Collects the blobs that `tree` holds and `parent` does not hold at the same path and that
/// `keep` accepts (a blob under two paths twice), comparing subtrees by id so unchanged ones are
/// never decoded.
fn diff_trees(
    trees: &mut Trees<'_>,
    tree: ObjectId,
    parent: Option<ObjectId>,
    prefix: String,
    keep: &dyn Fn(ObjectId) -> bool,
    out: &mut Vec<TreeChange>,
) {
    if Some(tree) == parent {
        return;
    }
    let mut entries = |id: ObjectId| trees.entries(id);
    let before: HashMap<String, (ObjectId, bool)> = parent
        .map(|p| {
            entries(p)
                .into_iter()
                .map(|(name, oid, is_tree, _)| (name, (oid, is_tree)))
                .collect()
        })
        .unwrap_or_default();
    for (name, oid, is_tree, is_blob) in entries(tree) {
        let old = before.get(&name);
        if old.is_some_and(|&(old_oid, _)| old_oid == oid) {
            continue;
        }
        let path = join(&prefix, &name);
        if is_tree {
            let old_tree = old.and_then(|&(old_oid, was_tree)| was_tree.then_some(old_oid));
            diff_trees(trees, oid, old_tree, path, keep, out);
        } else if is_blob && keep(oid) {
            let before = old.and_then(|&(old_oid, was_tree)| (!was_tree).then_some(old_oid));
            out.push(TreeChange {
                blob: oid,
                path,
                before,
            });
        }
    }
}

/// Reads single objects for one thread: from the packs by positioned reads, then as a loose
/// file by plain reads, then through gix (whose error is the one reported).
struct ObjectReader<'a> {
    packs: PackCursor<'a>,
    objects: &'a Path,
    inflate: gix::zlib::Inflate,
}

impl<'a> ObjectReader<'a> {
    fn new(packs: &'a Packs) -> Self {
        Self {
            packs: packs.cursor(),
            objects: packs.objects(),
            inflate: gix::zlib::Inflate::default(),
        }
    }

    /// The content of object `id`, which must be of `kind`.
    fn read(
        &mut self,
        repo: &gix::Repository,
        id: ObjectId,
        kind: gix::object::Kind,
    ) -> Result<Rc<[u8]>, String> {
        if let Some((found, data)) = self.packs.find(&id)
            && found == kind
        {
            return Ok(data);
        }
        if let Ok(Loose::Wanted(data)) =
            crate::loose::read_loose(self.objects, &id, kind, None, &mut self.inflate)
        {
            return Ok(data.into());
        }
        let object = repo.find_object(id).map_err(|e| e.to_string())?;
        if object.kind != kind {
            return Err(format!("a {}, not a {kind}", object.kind));
        }
        Ok(object.detach().data.into())
    }
}

/// Reads trees for tree diffs, one per thread.
struct Trees<'a> {
    repo: &'a gix::Repository,
    objects: ObjectReader<'a>,
}

/// A tree entry: name, object id, whether it is a tree, whether it is a blob.
type TreeEntry = (String, ObjectId, bool, bool);

impl<'a> Trees<'a> {
    fn new(repo: &'a gix::Repository, packs: &'a Packs) -> Self {
        Self {
            repo,
            objects: ObjectReader::new(packs),
        }
    }

    /// The entries of tree `id`; none if it cannot be read.
    fn entries(&mut self, id: ObjectId) -> Vec<TreeEntry> {
        let Ok(data) = self.objects.read(self.repo, id, gix::object::Kind::Tree) else {
            return Vec::new();
        };
        let Ok(tree) = gix::objs::TreeRef::from_bytes(&data, self.repo.object_hash()) else {
            return Vec::new();
        };
        tree.entries
            .iter()
            .map(|e| {
                (
                    e.filename.to_str_lossy().into_owned(),
                    e.oid.to_owned(),
                    e.mode.is_tree(),
                    e.mode.is_blob(),
                )
            })
            .collect()
    }
}

/// Reads blobs of one repository; make one per thread with [`GitRepository::reader`].
pub struct BlobReader<'a> {
    repo: gix::Repository,
    objects: ObjectReader<'a>,
    display: String,
}

impl BlobReader<'_> {
    /// The blob's bytes.
    pub fn read(&mut self, blob: &HistoryBlob) -> Result<Rc<[u8]>, SourceError> {
        self.objects
            .read(&self.repo, blob.id, gix::object::Kind::Blob)
            .map_err(|e| SourceError::Git {
                repo: self.display.clone(),
                message: format!("blob {} ({}): {e}", blob.id, blob.path),
            })
    }
}

/// Runs `work` on up to `threads` contiguous parts of `items`, one thread each.
fn in_parts<T: Sync>(items: &[T], threads: usize, work: impl Fn(&[T]) + Sync) {
    std::thread::scope(|scope| {
        for part in items.chunks(items.len().div_ceil(threads.max(1)).max(1)) {
            let work = &work;
            scope.spawn(move || work(part));
        }
    });
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}/{name}")
    }
}
