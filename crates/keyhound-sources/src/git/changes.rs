//! Change sets: the blobs `--staged` and `--since-commit` scan, each with the blobs it replaced
//! at its path (a secret those already held is not new).

use std::collections::HashMap;

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice, ByteVec};
use gix::objs::tree::EntryKind;

use super::GitRepository;
use super::objects::ObjectReader;
use crate::SourceError;

/// Trees nested deeper than this are reported, not followed (no real repository comes close).
pub(crate) const MAX_TREE_DEPTH: usize = 512;

/// A blob that a change brings, under one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedBlob {
    /// The blob's object id.
    pub id: ObjectId,
    /// Its path (the first the walk met, for a blob a range brings under several).
    pub path: String,
    /// The blobs it replaced at that path (in the parent commits, or at HEAD for a staged
    /// file): a secret they already held is not new. Empty for a new file, and whenever the
    /// blob was met as a new file anywhere.
    pub replaced: Vec<ObjectId>,
}

/// The blobs a range of commits brings.
#[derive(Debug, Default)]
pub struct ChangeSet {
    /// Every unique blob the range added or changed, in walk order.
    pub blobs: Vec<ChangedBlob>,
    /// Commits walked.
    pub commits: usize,
    /// Unreadable or corrupt objects; the walk went on without them.
    pub errors: Vec<SourceError>,
}

/// A blob that a tree holds and its parent tree does not hold at the same path.
struct TreeChange {
    blob: ObjectId,
    path: BString,
    /// The blob the parent held at that path, if it held one.
    before: Option<ObjectId>,
}

impl GitRepository {
    /// Lists the unique blobs that the commits after `since` introduced: those reachable from
    /// every ref (or from `branch`) but not from `since`, each compared with its parents, so
    /// only files those commits added or changed are listed (the CI check of a push or pull
    /// request). `since` is anything `git rev-parse` would take: an id, a short id, a ref.
    pub fn since(&self, since: &str, branch: Option<&str>) -> Result<ChangeSet, SourceError> {
        let repo = self.repo.to_thread_local();
        let mut objects = ObjectReader::new(self.packs());
        let base = self.rev_parse(&repo, since)?;
        let mut tips = self.tips(&repo, branch)?;
        let mut changes = ChangeSet {
            errors: std::mem::take(&mut tips.errors),
            ..ChangeSet::default()
        };
        let walk = repo
            .rev_walk(tips.commits(branch.is_none()))
            .with_hidden([base])
            .all()
            .map_err(|e| self.error(e))?;
        let mut seen_blobs: HashMap<ObjectId, usize> = HashMap::new();
        for info in walk {
            let info = match info {
                Ok(info) => info,
                Err(e) => {
                    changes.errors.push(self.error(format!("commit walk: {e}")));
                    continue;
                }
            };
            changes.commits += 1;
            let tree = match commit_tree(&repo, info.id) {
                Ok(tree) => tree,
                Err(e) => {
                    changes.errors.push(self.error(e));
                    continue;
                }
            };
            // A merge introduces what none of its parents had; a root commit everything.
            let mut parent_trees = Vec::new();
            for &parent in &info.parent_ids {
                match commit_tree(&repo, parent) {
                    Ok(tree) => parent_trees.push(Some(tree)),
                    Err(e) => changes.errors.push(self.error(e)),
                }
            }
            if info.parent_ids.is_empty() {
                parent_trees.push(None);
            }
            // In tree order: each blob and path, with the blobs the parents held at that path.
            let mut introduced: Option<Vec<ChangedBlob>> = None;
            for parent in parent_trees {
                let mut changed = Vec::new();
                let mut path = BString::default();
                if let Err(e) = diff_trees(
                    &repo,
                    &mut objects,
                    tree,
                    parent,
                    &mut path,
                    0,
                    &mut changed,
                ) {
                    changes
                        .errors
                        .push(self.error(format!("commit {}: {e}", info.id)));
                }
                introduced = Some(match introduced {
                    None => changed
                        .into_iter()
                        .map(|c| ChangedBlob {
                            id: c.blob,
                            path: c.path.to_str_lossy().into_owned(),
                            replaced: c.before.into_iter().collect(),
                        })
                        .collect(),
                    Some(mut previous) => {
                        let changed: HashMap<(ObjectId, String), Option<ObjectId>> = changed
                            .into_iter()
                            .map(|c| ((c.blob, c.path.to_str_lossy().into_owned()), c.before))
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
                        seen_blobs.insert(blob.id, changes.blobs.len());
                        changes.blobs.push(blob);
                    }
                    Some(&at) => {
                        let first = &mut changes.blobs[at];
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
        for blob in &mut changes.blobs {
            blob.replaced.sort();
            blob.replaced.dedup();
        }
        Ok(changes)
    }

    /// The files staged in the index whose content differs from HEAD's (all of them before
    /// the first commit), each with its path relative to the working tree: what the next
    /// commit would add. Unmerged entries, submodules and symbolic links are left out.
    pub fn staged(&self) -> Result<Vec<ChangedBlob>, SourceError> {
        let repo = self.repo.to_thread_local();
        let index = repo
            .index_or_empty()
            .map_err(|e| self.error(format!("index: {e}")))?;
        let mut at_head: HashMap<BString, ObjectId> = HashMap::new();
        if let Some(head) = repo.head_id().ok().map(|id| id.detach()) {
            let tree = commit_tree(&repo, head).map_err(|e| self.error(e))?;
            let mut objects = ObjectReader::new(self.packs());
            let mut stack = vec![(tree, BString::default())];
            while let Some((id, prefix)) = stack.pop() {
                let data = objects
                    .read(&repo, id, gix::object::Kind::Tree)
                    .map_err(|e| self.error(format!("tree {id}: {e}")))?;
                for entry in gix::objs::TreeRefIter::from_bytes(&data, repo.object_hash()) {
                    let entry = entry.map_err(|e| self.error(format!("tree {id}: {e}")))?;
                    let path = joined(prefix.as_ref(), entry.filename);
                    match entry.mode.kind() {
                        EntryKind::Tree => stack.push((entry.oid.to_owned(), path)),
                        EntryKind::Blob | EntryKind::BlobExecutable | EntryKind::Link => {
                            at_head.insert(path, entry.oid.to_owned());
                        }
                        EntryKind::Commit => {}
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
            let path = entry.path(&index);
            let before = at_head.get(path).copied();
            if before != Some(entry.id) {
                staged.push(ChangedBlob {
                    id: entry.id,
                    path: path.to_str_lossy().into_owned(),
                    replaced: before.into_iter().collect(),
                });
            }
        }
        Ok(staged)
    }
}

/// The root tree of commit `id`.
pub(crate) fn commit_tree(repo: &gix::Repository, id: ObjectId) -> Result<ObjectId, String> {
    let commit = repo
        .find_commit(id)
        .map_err(|e| format!("commit {id}: {e}"))?;
    commit
        .tree_id()
        .map(|t| t.detach())
        .map_err(|e| format!("commit {id}: {e}"))
}

/// `prefix/name`, or `name` at the root.
pub(crate) fn joined(prefix: &BStr, name: &BStr) -> BString {
    let mut path = BString::from(Vec::with_capacity(prefix.len() + name.len() + 1));
    if !prefix.is_empty() {
        path.push_str(prefix);
        path.push(b'/');
    }
    path.push_str(name);
    path
}

/// Collects the blobs that `tree` holds and `parent` does not hold at the same path (a blob
/// under two paths twice), comparing subtrees by id so unchanged ones are never read. `path` is
/// the tree's own path, restored on return.
fn diff_trees(
    repo: &gix::Repository,
    objects: &mut ObjectReader<'_>,
    tree: ObjectId,
    parent: Option<ObjectId>,
    path: &mut BString,
    depth: usize,
    out: &mut Vec<TreeChange>,
) -> Result<(), String> {
    if Some(tree) == parent {
        return Ok(());
    }
    if depth > MAX_TREE_DEPTH {
        return Err(format!(
            "tree {tree}: nested deeper than {MAX_TREE_DEPTH} levels"
        ));
    }
    let hash = repo.object_hash();
    let read = |objects: &mut ObjectReader<'_>, id| {
        objects
            .read(repo, id, gix::object::Kind::Tree)
            .map_err(|e| format!("tree {id}: {e}"))
    };
    let parent_data = parent.map(|p| read(objects, p)).transpose()?;
    // The parent's entries by name: (id, whether a tree), names borrowed from the tree's bytes.
    let mut before: Vec<(&BStr, ObjectId, bool)> = Vec::new();
    if let Some(data) = &parent_data {
        for entry in gix::objs::TreeRefIter::from_bytes(data, hash) {
            let entry = entry.map_err(|e| format!("tree {}: {e}", parent.unwrap_or(tree)))?;
            before.push((entry.filename, entry.oid.to_owned(), entry.mode.is_tree()));
        }
        before.sort_unstable_by(|a, b| a.0.cmp(b.0));
    }
    let data = read(objects, tree)?;
    for entry in gix::objs::TreeRefIter::from_bytes(&data, hash) {
        let entry = entry.map_err(|e| format!("tree {tree}: {e}"))?;
        let oid = entry.oid.to_owned();
        let old = before
            .binary_search_by(|probe| probe.0.cmp(entry.filename))
            .ok()
            .map(|i| (before[i].1, before[i].2));
        if old.is_some_and(|(old_oid, _)| old_oid == oid) {
            continue;
        }
        let len = path.len();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.push_str(entry.filename);
        if entry.mode.is_tree() {
            let old_tree = old.and_then(|(old_oid, was_tree)| was_tree.then_some(old_oid));
            diff_trees(repo, objects, oid, old_tree, path, depth + 1, out)?;
        } else if entry.mode.is_blob() {
            let before = old.and_then(|(old_oid, was_tree)| (!was_tree).then_some(old_oid));
            out.push(TreeChange {
                blob: oid,
                path: path.clone(),
                before,
            });
        }
        path.truncate(len);
    }
    Ok(())
}
