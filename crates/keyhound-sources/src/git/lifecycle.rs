//! Lifecycle: where each traced secret lived in the history, from one walk in which every
//! unique tree is read once.
//!
//! The caller names the blobs that hold secrets (the blob pass found them) and which secrets
//! each holds. Every walked commit is then classified by its root tree: for each tree id the
//! walk remembers which traced blobs it holds and under which relative paths (most trees hold
//! none, and share one empty summary), so a commit whose root tree was met before costs a hash
//! lookup, and a new root tree costs reading that tree and only its subtrees not met before.
//! Names stay bytes; paths are built only for traced blobs. From the classified commits follow,
//! per secret: every path it appeared under with the commit that first put it there, first and
//! last seen, the commit that removed it, whether HEAD and which ref tips hold it, and whether
//! a different secret of the same rule later took its place. With the set of blobs the object
//! database holds, the same walk names the blobs the history needs but the database lacks.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};
use gix::hashtable::{HashMap as IdMap, HashSet as IdSet};
use gix::objs::tree::EntryKind;
use rayon::prelude::*;

use super::GitRepository;
use super::changes::MAX_TREE_DEPTH;
use super::objects::ObjectReader;
use crate::SourceError;

/// Slices of the commit order per thread in the lifecycle walk (see [`GitRepository::trace`]).
const WALK_SLICES_PER_THREAD: usize = 8;

/// Missing blobs named one by one before the rest are counted.
const MISSING_SHOWN: usize = 10;

/// What to trace, and over which part of the history.
#[derive(Debug, Clone, Copy)]
pub struct TraceRequest<'a> {
    /// The blobs that hold secrets, each with the keys (`0..rule_of_secret.len()`) of the
    /// secrets it holds.
    pub blobs: &'a HashMap<ObjectId, Vec<u32>>,
    /// The rule of each secret key: a secret whose path later holds another secret of the
    /// same rule was `replaced`.
    pub rule_of_secret: &'a [u32],
    /// Walk only the history of this ref (all refs and HEAD when `None`).
    pub branch: Option<&'a str>,
    /// Walk only the commits after this revision.
    pub since: Option<&'a str>,
    /// Every blob the object database holds: blobs that walked trees name and this set lacks
    /// are reported missing. `None` skips the check.
    pub present: Option<&'a IdSet<ObjectId>>,
    /// The line (1-based) each secret stands on in each blob that holds it, by (blob, secret
    /// key): for finding the commit that last touched that line at HEAD.
    pub lines: &'a HashMap<(ObjectId, u32), u32>,
}

/// A commit that a traced secret refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The commit id.
    pub id: ObjectId,
    /// Its author, `Name <email>`.
    pub author: String,
    /// Its author's email alone.
    pub author_email: String,
    /// Its committer date, seconds since the Unix epoch.
    pub date: i64,
    /// The first line of its message.
    pub summary: String,
}

/// A path a secret appeared under, and the commit that first put it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathIntroduction {
    /// The path in the repository.
    pub path: String,
    /// The blob that held the secret there in that commit.
    pub blob: ObjectId,
    /// Index into [`HistoryTrace::commits`].
    pub commit: usize,
}

/// The life of one traced secret in the walked history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretTrace {
    /// Every path it appeared under, sorted by path; empty when no walked commit holds it
    /// (its blobs are in the object database but unreachable from the walked refs).
    pub paths: Vec<PathIntroduction>,
    /// The earliest commit (by committer date) whose tree holds it: index into
    /// [`HistoryTrace::commits`].
    pub first_seen: Option<usize>,
    /// The newest commit (by committer date) whose tree holds it.
    pub last_seen: Option<usize>,
    /// The first commit whose tree no longer holds it: on the default branch (HEAD's first-parent
    /// line) when it was there, else the first child that dropped it. `None` while HEAD or no
    /// child drops it.
    pub removed_in: Option<usize>,
    /// Whether HEAD's tree holds it.
    pub present_at_head: bool,
    /// Where HEAD's tree holds it: each path with the blob there, sorted by path.
    pub at_head: Vec<(String, ObjectId)>,
    /// For a secret at HEAD: the commit that last touched its line there (the line's text
    /// appeared in it, and every later version of the file down to HEAD keeps that text).
    pub line_last_touched: Option<usize>,
    /// The refs (full names) whose tip's tree holds it.
    pub refs: Vec<String>,
    /// Removed, and a path of it later holds a different secret of the same rule.
    pub replaced: bool,
}

/// What the lifecycle walk found.
#[derive(Debug, Default)]
pub struct HistoryTrace {
    /// The commits that [`SecretTrace`]s refer to.
    pub commits: Vec<CommitInfo>,
    /// One per secret key.
    pub secrets: Vec<SecretTrace>,
    /// The newest committer date among the walked commits.
    pub newest_date: i64,
    /// For the authors of [`Self::commits`] (by email): the date of their newest commit in the
    /// walked history.
    pub last_commit_by_author: HashMap<String, i64>,
    /// Commits walked.
    pub commits_walked: usize,
    /// Unreadable objects, and blobs the history needs that the object database lacks.
    pub errors: Vec<SourceError>,
}

/// One walked commit: its place in the graph and what it is dated.
struct Node {
    id: ObjectId,
    tree: Option<ObjectId>,
    /// Indices of the parents that were walked, first parent first.
    parents: Vec<usize>,
    date: i64,
    author_email: BString,
}

impl GitRepository {
    /// Traces the secrets of `request` through the history: one walk over the commits (each
    /// read once), one read of every unique tree, and nothing at all when there is nothing to
    /// trace and no missing-blob check is asked for.
    pub fn trace(&self, request: &TraceRequest<'_>) -> Result<HistoryTrace, SourceError> {
        let mut trace = HistoryTrace {
            secrets: vec![SecretTrace::default(); request.rule_of_secret.len()],
            ..HistoryTrace::default()
        };
        if request.blobs.is_empty() && request.present.is_none() {
            return Ok(trace);
        }
        let repo = self.repo.to_thread_local();
        let mut tips = self.tips(&repo, request.branch)?;
        trace.errors.append(&mut tips.errors);
        let hidden = match request.since {
            Some(rev) => vec![self.rev_parse(&repo, rev)?],
            None => Vec::new(),
        };
        let (nodes, errors) =
            self.commit_graph(&repo, &tips.commits(request.branch.is_none()), hidden)?;
        trace.errors.extend(errors);
        trace.commits_walked = nodes.len();
        trace.newest_date = nodes.iter().map(|n| n.date).max().unwrap_or(0);

        // Blobs to find in trees: traced ones, by a dense index.
        let traced: Vec<ObjectId> = {
            let mut ids: Vec<ObjectId> = request.blobs.keys().copied().collect();
            ids.sort_unstable();
            ids
        };
        let wanted: IdMap<ObjectId, u32> = traced
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, i as u32))
            .collect();

        // Classify every commit by its root tree, in contiguous slices of the parents-first
        // order (neighbours share most subtrees). Eight slices a thread: later history has
        // larger trees, so equal halves leave one thread idle (on git/git, lifecycle and owners
        // took 4.1 s with two slices, 3.0 s with sixteen), and each slice's memo is dropped when it is done.
        let order = parents_first(&nodes);
        let slice = order
            .len()
            .div_ceil(rayon::current_num_threads() * WALK_SLICES_PER_THREAD)
            .max(1);
        let parts: Vec<WalkedPart> = order
            .par_chunks(slice)
            .map(|part| {
                let mut walk = TreeWalk {
                    repo: self.repo.to_thread_local(),
                    objects: ObjectReader::new(self.packs()),
                    wanted: &wanted,
                    present: request.present,
                    memo: IdMap::default(),
                    recent: Default::default(),
                    last_by_name: FastMap::default(),
                    paths: PathTable::default(),
                    missing: Vec::new(),
                    errors: Vec::new(),
                    pairs: FastMap::default(),
                    pair_list: Vec::new(),
                    last_root: None,
                };
                let mut holdings = Vec::with_capacity(part.len());
                let mut previous: Arc<[u32]> = Arc::from([]);
                for &n in part {
                    let parents: Vec<ObjectId> = nodes[n]
                        .parents
                        .iter()
                        .filter_map(|&p| nodes[p].tree)
                        .collect();
                    let held = match nodes[n].tree {
                        Some(tree) => walk.root(tree, &parents),
                        None => Vec::new(),
                    };
                    if *held != *previous {
                        previous = held.into();
                    }
                    holdings.push((n, Arc::clone(&previous)));
                }
                WalkedPart {
                    holdings,
                    pairs: walk
                        .pair_list
                        .iter()
                        .map(|&(blob, path)| (blob, walk.paths.bytes(path)))
                        .collect(),
                    missing: walk.missing,
                    errors: walk.errors,
                }
            })
            .collect();

        // Merge the workers' (blob, path) pairs into one numbering.
        let mut pair_ids: HashMap<(u32, BString), u32> = HashMap::new();
        let mut pairs: Vec<(u32, BString)> = Vec::new();
        let mut held_by: Vec<Arc<[u32]>> = vec![Arc::from([]); nodes.len()];
        let mut missing_blobs: Vec<ObjectId> = Vec::new();
        for part in parts {
            trace
                .errors
                .extend(part.errors.into_iter().map(|e| self.error(e)));
            let local_missing_base = missing_blobs.len() as u32;
            missing_blobs.extend(part.missing);
            let remap: Vec<u32> = part
                .pairs
                .into_iter()
                .map(|(blob, path)| {
                    let blob = if blob >= MISSING_BASE {
                        blob + local_missing_base
                    } else {
                        blob
                    };
                    *pair_ids.entry((blob, path.clone())).or_insert_with(|| {
                        pairs.push((blob, path));
                        pairs.len() as u32 - 1
                    })
                })
                .collect();
            let mut last: Option<(Holding, Holding)> = None;
            for (n, held) in part.holdings {
                let global = match &last {
                    Some((local, global)) if Arc::ptr_eq(local, &held) => Arc::clone(global),
                    _ => {
                        let mut global: Vec<u32> =
                            held.iter().map(|&p| remap[p as usize]).collect();
                        global.sort_unstable();
                        let global: Arc<[u32]> = global.into();
                        last = Some((held, Arc::clone(&global)));
                        global
                    }
                };
                held_by[n] = global;
            }
        }

        self.report_missing(&nodes, &order, &held_by, &pairs, &missing_blobs, &mut trace);
        let secrets_of_pair = |pair: u32| -> &[u32] {
            let blob = pairs[pair as usize].0;
            if blob >= MISSING_BASE {
                return &[];
            }
            request
                .blobs
                .get(&traced[blob as usize])
                .map_or(&[], Vec::as_slice)
        };

        // HEAD's first-parent line, oldest first: the default branch.
        let index_of: HashMap<ObjectId, usize> =
            nodes.iter().enumerate().map(|(i, n)| (n.id, i)).collect();
        let head = tips.head.and_then(|h| index_of.get(&h).copied());
        let mut mainline = Vec::new();
        let mut at = head;
        while let Some(n) = at {
            mainline.push(n);
            at = nodes[n].parents.first().copied();
        }
        mainline.reverse();
        let tips_walked: Vec<(&str, usize)> = tips
            .named
            .iter()
            .filter_map(|(name, id)| index_of.get(id).map(|&n| (name.as_str(), n)))
            .collect();

        // Per secret: holders, and per path the first commit there.
        let position: Vec<usize> = {
            let mut position = vec![0; nodes.len()];
            for (i, &n) in order.iter().enumerate() {
                position[n] = i;
            }
            position
        };
        let earlier =
            |a: usize, b: usize| (nodes[a].date, position[a]) < (nodes[b].date, position[b]);
        let mut first: Vec<Option<usize>> = vec![None; trace.secrets.len()];
        let mut last: Vec<Option<usize>> = vec![None; trace.secrets.len()];
        let mut by_path: HashMap<(u32, u32), (usize, u32)> = HashMap::new(); // (secret, path pair) -> (commit, pair)
        for &n in &order {
            for &pair in held_by[n].iter() {
                for &secret in secrets_of_pair(pair) {
                    let s = secret as usize;
                    if first[s].is_none_or(|f| earlier(n, f)) {
                        first[s] = Some(n);
                    }
                    if last[s].is_none_or(|l| earlier(l, n)) {
                        last[s] = Some(n);
                    }
                    by_path
                        .entry((secret, pair))
                        .and_modify(|at| {
                            if earlier(n, at.0) {
                                *at = (n, pair);
                            }
                        })
                        .or_insert((n, pair));
                }
            }
        }
        // The secrets commit `n`'s tree holds, sorted.
        let secrets_held = |n: usize| -> Vec<u32> {
            let mut held: Vec<u32> = held_by[n]
                .iter()
                .flat_map(|&pair| secrets_of_pair(pair).iter().copied())
                .collect();
            held.sort_unstable();
            held.dedup();
            held
        };
        // Each fact below comes from one pass over the commits, not one per secret.
        let mut on_mainline: Vec<Option<usize>> = vec![None; nodes.len()];
        for (i, &n) in mainline.iter().enumerate() {
            on_mainline[n] = Some(i);
        }
        // Per secret: the last position on the default branch whose tree holds it.
        let mut last_on_mainline: Vec<Option<usize>> = vec![None; trace.secrets.len()];
        let mut current: Vec<u32> = Vec::new();
        for (i, &n) in mainline.iter().enumerate() {
            // The same holdings as the commit before (shared): the same secrets.
            if i == 0 || !Arc::ptr_eq(&held_by[n], &held_by[mainline[i - 1]]) {
                current = secrets_held(n);
            }
            for &secret in &current {
                last_on_mainline[secret as usize] = Some(i);
            }
        }
        // Per secret off the default branch: the first commit (parents first) that dropped it
        // from its first parent's tree.
        let mut dropped_in: Vec<Option<usize>> = vec![None; trace.secrets.len()];
        for &n in &order {
            let Some(&p) = nodes[n].parents.first() else {
                continue;
            };
            if Arc::ptr_eq(&held_by[n], &held_by[p]) || held_by[p].is_empty() {
                continue;
            }
            let now = secrets_held(n);
            for secret in secrets_held(p) {
                if now.binary_search(&secret).is_err() {
                    dropped_in[secret as usize].get_or_insert(n);
                }
            }
        }
        let at_head: Vec<u32> = head.map(secrets_held).unwrap_or_default();
        let mut refs_of: Vec<Vec<String>> = vec![Vec::new(); trace.secrets.len()];
        for &(name, n) in &tips_walked {
            for secret in secrets_held(n) {
                refs_of[secret as usize].push(name.to_string());
            }
        }

        let mut referenced = Referenced::default();
        let mut paths_of: Vec<Vec<(u32, usize)>> = vec![Vec::new(); trace.secrets.len()];
        let mut by_path: Vec<((u32, u32), (usize, u32))> = by_path.into_iter().collect();
        by_path.sort_unstable_by_key(|&((secret, pair), _)| (secret, pair));
        for ((secret, _), (n, pair)) in by_path {
            paths_of[secret as usize].push((pair, n));
        }
        for (s, secret) in trace.secrets.iter_mut().enumerate() {
            let key = s as u32;
            let Some(first_seen) = first[s] else {
                continue;
            };
            secret.first_seen = Some(referenced.index(first_seen));
            secret.last_seen = last[s].map(|n| referenced.index(n));
            secret.present_at_head = at_head.binary_search(&key).is_ok();
            if let Some(h) = head {
                secret.at_head = held_by[h]
                    .iter()
                    .filter(|&&pair| secrets_of_pair(pair).contains(&key))
                    .map(|&pair| {
                        let (blob, path) = &pairs[pair as usize];
                        (path.to_str_lossy().into_owned(), traced[*blob as usize])
                    })
                    .collect();
                secret.at_head.sort();
            }
            secret.refs = std::mem::take(&mut refs_of[s]);
            secret.refs.sort();
            secret.refs.dedup();
            // One entry per path: the earliest commit that put the secret there.
            let mut paths: Vec<(u32, usize)> = paths_of[s].clone();
            paths.sort_by(|&(pa, a), &(pb, b)| {
                pairs[pa as usize]
                    .1
                    .cmp(&pairs[pb as usize].1)
                    .then_with(|| (nodes[a].date, position[a]).cmp(&(nodes[b].date, position[b])))
            });
            paths.dedup_by(|later, earlier| {
                pairs[later.0 as usize].1 == pairs[earlier.0 as usize].1
            });
            secret.paths = paths
                .into_iter()
                .map(|(pair, n)| PathIntroduction {
                    path: pairs[pair as usize].1.to_str_lossy().into_owned(),
                    blob: traced[pairs[pair as usize].0 as usize],
                    commit: referenced.index(n),
                })
                .collect();
            if secret.present_at_head {
                if let (Some(h), Some((path, blob))) = (head, secret.at_head.first()) {
                    let touched = self.line_last_touched(
                        &repo,
                        request,
                        key,
                        (path.as_bytes(), *blob),
                        &nodes,
                        h,
                        &held_by,
                        &pairs,
                        &traced,
                    );
                    secret.line_last_touched = touched.map(|n| referenced.index(n));
                }
                continue;
            }
            // Removed: on the default branch after its last commit there that held it; else the
            // first commit (parents first) that dropped it from its first parent.
            let removal = match last_on_mainline[s] {
                Some(i) => mainline.get(i + 1).copied(),
                None => dropped_in[s],
            };
            let Some(removal) = removal else {
                continue;
            };
            secret.removed_in = Some(referenced.index(removal));
            // Replaced: from the removal on (along the default branch when it was there), a
            // path of it holds a different secret of the same rule.
            let rule = request.rule_of_secret[s];
            let its_paths: HashSet<&[u8]> =
                secret.paths.iter().map(|p| p.path.as_bytes()).collect();
            let later: &[usize] = match on_mainline[removal] {
                Some(i) => &mainline[i..],
                None => std::slice::from_ref(&removal),
            };
            // Consecutive commits with the same holdings share them: look at each once.
            let mut distinct: Vec<usize> = later.to_vec();
            distinct.dedup_by(|next, kept| Arc::ptr_eq(&held_by[*next], &held_by[*kept]));
            secret.replaced = distinct.iter().any(|&n| {
                held_by[n].iter().any(|&pair| {
                    its_paths.contains(pairs[pair as usize].1.as_slice())
                        && secrets_of_pair(pair).iter().any(|&other| {
                            other != key && request.rule_of_secret[other as usize] == rule
                        })
                })
            });
        }

        // The commits referred to, with their authors and summaries.
        let mut authors: HashSet<BString> = HashSet::new();
        for &n in &referenced.nodes {
            let info = self.commit_info(&repo, nodes[n].id);
            match info {
                Ok(info) => trace.commits.push(info),
                Err(e) => {
                    trace.errors.push(self.error(e));
                    trace.commits.push(CommitInfo {
                        id: nodes[n].id,
                        author: String::new(),
                        author_email: String::new(),
                        date: nodes[n].date,
                        summary: String::new(),
                    });
                }
            }
            authors.insert(nodes[n].author_email.clone());
        }
        for node in &nodes {
            if authors.contains(&node.author_email) {
                let newest = trace
                    .last_commit_by_author
                    .entry(node.author_email.to_str_lossy().into_owned())
                    .or_insert(node.date);
                *newest = (*newest).max(node.date);
            }
        }
        Ok(trace)
    }

    /// The commit that last touched the line holding secret `key` at `head` (path and blob at
    /// HEAD): walking back from HEAD through parents whose file at that path still has the
    /// line's text (the first parent when it has it), the commit none of whose parents has it.
    /// Only versions that
    /// hold the secret can hold the line, and those are traced, so this reads a few blobs of
    /// one file instead of blaming it through the whole history.
    #[allow(clippy::too_many_arguments)]
    fn line_last_touched(
        &self,
        repo: &gix::Repository,
        request: &TraceRequest<'_>,
        key: u32,
        head: (&[u8], ObjectId),
        nodes: &[Node],
        head_commit: usize,
        held_by: &[Holding],
        pairs: &[(u32, BString)],
        traced: &[ObjectId],
    ) -> Option<usize> {
        let (path, head_blob) = head;
        let mut objects = ObjectReader::new(self.packs());
        let mut read_lines = |blob: ObjectId| -> Option<Vec<Vec<u8>>> {
            let data = objects.read(repo, blob, gix::object::Kind::Blob).ok()?;
            Some(
                data.split(|&b| b == b'\n')
                    .map(|line| line.strip_suffix(b"\r").unwrap_or(line).to_vec())
                    .collect(),
            )
        };
        let line = *request.lines.get(&(head_blob, key))? as usize;
        let text = read_lines(head_blob)?.get(line.checked_sub(1)?)?.clone();
        // The blob holding the secret at `path` in commit `n`, if any.
        let blob_at = |n: usize| {
            held_by[n].iter().find_map(|&pair| {
                let (blob, held_path) = &pairs[pair as usize];
                (*blob < MISSING_BASE
                    && held_path.as_slice() == path
                    && request
                        .blobs
                        .get(&traced[*blob as usize])
                        .is_some_and(|keys| keys.contains(&key)))
                .then(|| traced[*blob as usize])
            })
        };
        // From HEAD back through the parents that still have the line (the first parent when it
        // does, else the one that brought it, as for a merged branch).
        let mut at = head_commit;
        if blob_at(at) != Some(head_blob) {
            return None;
        }
        let mut current = head_blob;
        let mut checked: HashMap<ObjectId, bool> = HashMap::from([(head_blob, true)]);
        'walk: loop {
            for &parent in &nodes[at].parents {
                let Some(blob) = blob_at(parent) else {
                    continue;
                };
                let has_line = match checked.get(&blob) {
                    Some(&known) => known,
                    None => {
                        let known = blob == current || read_lines(blob)?.contains(&text);
                        checked.insert(blob, known);
                        known
                    }
                };
                if has_line {
                    current = blob;
                    at = parent;
                    continue 'walk;
                }
            }
            break;
        }
        let touched = at;
        Some(touched)
    }

    /// `rev` resolved to an object id.
    pub(crate) fn rev_parse(
        &self,
        repo: &gix::Repository,
        rev: &str,
    ) -> Result<ObjectId, SourceError> {
        repo.rev_parse_single(rev)
            .map(|id| id.detach())
            .map_err(|e| self.error(format!("--since-commit {rev}: {e}")))
    }

    /// Every commit reachable from `tips` and not from `hidden`, each read once (in parallel
    /// after the walk lists them), with its walked parents.
    fn commit_graph(
        &self,
        repo: &gix::Repository,
        tips: &[ObjectId],
        hidden: Vec<ObjectId>,
    ) -> Result<(Vec<Node>, Vec<SourceError>), SourceError> {
        let mut errors = Vec::new();
        if hidden.is_empty() {
            return Ok(self.whole_commit_graph(repo, tips));
        }
        let mut listed: Vec<(ObjectId, Vec<ObjectId>)> = Vec::new();
        for info in repo
            .rev_walk(tips.iter().copied())
            .with_hidden(hidden)
            .all()
            .map_err(|e| self.error(e))?
        {
            match info {
                Ok(info) => listed.push((info.id, info.parent_ids.iter().copied().collect())),
                Err(e) => errors.push(self.error(format!("commit walk: {e}"))),
            }
        }
        let index_of: IdMap<ObjectId, usize> = listed
            .iter()
            .enumerate()
            .map(|(i, (id, _))| (*id, i))
            .collect();
        let read: Vec<Result<Node, String>> = listed
            .par_iter()
            .map_init(
                || (self.repo.to_thread_local(), ObjectReader::new(self.packs())),
                |(repo, objects), (id, parents)| {
                    let (node, _) = read_commit(repo, objects, *id, false)
                        .map_err(|e| format!("commit {id}: {e}"))?;
                    Ok(Node {
                        parents: parents
                            .iter()
                            .filter_map(|p| index_of.get(p).copied())
                            .collect(),
                        ..node
                    })
                },
            )
            .collect();
        let nodes = read
            .into_iter()
            .zip(&listed)
            .map(|(node, (id, parents))| {
                node.unwrap_or_else(|e| {
                    // An unreadable commit keeps its place in the graph (its children still
                    // have a parent), but holds nothing.
                    errors.push(self.error(e));
                    Node {
                        id: *id,
                        tree: None,
                        parents: parents
                            .iter()
                            .filter_map(|p| index_of.get(p).copied())
                            .collect(),
                        date: 0,
                        author_email: BString::default(),
                    }
                })
            })
            .collect();
        Ok((nodes, errors))
    }

    /// Every commit reachable from `tips`, each read once. Parents beyond a shallow clone's
    /// boundary are not followed; a commit that cannot be read is reported and kept in the
    /// graph, holding nothing. The commits are read in parallel (each read names the next ones
    /// to read), then numbered in breadth-first order from the tips, as one thread would.
    fn whole_commit_graph(
        &self,
        repo: &gix::Repository,
        tips: &[ObjectId],
    ) -> (Vec<Node>, Vec<SourceError>) {
        let shallow: IdSet<ObjectId> = repo
            .shallow_commits()
            .ok()
            .flatten()
            .map(|ids| ids.iter().copied().collect())
            .unwrap_or_default();
        let mut read = self.read_reachable_commits(tips, &shallow);
        let mut errors = Vec::new();
        let mut index_of: IdMap<ObjectId, usize> = IdMap::default();
        // Each commit with its parents' ids, before those are numbered.
        let mut listed: Vec<(Node, Vec<ObjectId>)> = Vec::new();
        let mut queue: std::collections::VecDeque<ObjectId> = tips.iter().copied().collect();
        while let Some(id) = queue.pop_front() {
            if index_of.contains_key(&id) {
                continue;
            }
            index_of.insert(id, listed.len());
            let (node, parents) = match read.remove(&id) {
                Some(Ok(parsed)) => parsed,
                failed => {
                    let e = match failed {
                        Some(Err(e)) => e,
                        _ => "not read".to_string(),
                    };
                    errors.push(self.error(format!("commit {id}: {e}")));
                    (
                        Node {
                            id,
                            tree: None,
                            parents: Vec::new(),
                            date: 0,
                            author_email: BString::default(),
                        },
                        Vec::new(),
                    )
                }
            };
            queue.extend(parents.iter().copied());
            listed.push((node, parents));
        }
        let nodes = listed
            .into_iter()
            .map(|(mut node, parents)| {
                node.parents = parents
                    .iter()
                    .filter_map(|p| index_of.get(p).copied())
                    .collect();
                node
            })
            .collect();
        (nodes, errors)
    }

    /// Reads every commit reachable from `tips` (not beyond `shallow` ones), on every thread of
    /// the pool: each worker takes a commit to read from a shared queue and queues its parents
    /// not met before. On git/git's 82k commits one thread took a fifth of the lifecycle.
    fn read_reachable_commits(
        &self,
        tips: &[ObjectId],
        shallow: &IdSet<ObjectId>,
    ) -> IdMap<ObjectId, ReadCommit> {
        /// What is left to read, and how many workers are reading.
        struct Frontier {
            queue: Vec<ObjectId>,
            seen: IdSet<ObjectId>,
            busy: usize,
            /// Workers waiting for the queue to fill: only they are woken (a wake-up per commit
            /// cost more than reading it).
            waiting: usize,
        }
        let frontier = Mutex::new(Frontier {
            queue: tips.to_vec(),
            seen: tips.iter().copied().collect(),
            busy: 0,
            waiting: 0,
        });
        let changed = Condvar::new();
        let read: Mutex<IdMap<ObjectId, ReadCommit>> = Mutex::new(IdMap::default());
        rayon::scope(|scope| {
            for _ in 0..rayon::current_num_threads() {
                scope.spawn(|_| {
                    let repo = self.repo.to_thread_local();
                    let mut objects = ObjectReader::new(self.packs());
                    let mut done: Vec<(ObjectId, ReadCommit)> = Vec::new();
                    loop {
                        let id = {
                            let mut state = frontier.lock().unwrap_or_else(PoisonError::into_inner);
                            loop {
                                if let Some(id) = state.queue.pop() {
                                    state.busy += 1;
                                    break Some(id);
                                }
                                if state.busy == 0 {
                                    break None;
                                }
                                state.waiting += 1;
                                state = changed.wait(state).unwrap_or_else(PoisonError::into_inner);
                                state.waiting -= 1;
                            }
                        };
                        let Some(id) = id else {
                            changed.notify_all();
                            break;
                        };
                        let parsed = read_commit(&repo, &mut objects, id, shallow.contains(&id));
                        let mut state = frontier.lock().unwrap_or_else(PoisonError::into_inner);
                        if let Ok((_, parents)) = &parsed {
                            for &parent in parents {
                                if state.seen.insert(parent) {
                                    state.queue.push(parent);
                                }
                            }
                        }
                        state.busy -= 1;
                        let finished = state.queue.is_empty() && state.busy == 0;
                        let wake = state.waiting > 0 && (finished || !state.queue.is_empty());
                        drop(state);
                        if wake {
                            changed.notify_all();
                        }
                        done.push((id, parsed));
                    }
                    read.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .extend(done);
                });
            }
        });
        read.into_inner().unwrap_or_else(PoisonError::into_inner)
    }

    /// The author and summary of commit `id`.
    fn commit_info(&self, repo: &gix::Repository, id: ObjectId) -> Result<CommitInfo, String> {
        let commit = repo
            .find_commit(id)
            .map_err(|e| format!("commit {id}: {e}"))?;
        let author = commit.author().map_err(|e| format!("commit {id}: {e}"))?;
        let date = commit
            .committer()
            .map(|s| s.seconds())
            .map_err(|e| format!("commit {id}: {e}"))?;
        let summary = commit
            .message()
            .map(|m| m.summary().to_str_lossy().into_owned())
            .unwrap_or_default();
        Ok(CommitInfo {
            id,
            author: format!(
                "{} <{}>",
                author.name.trim().as_bstr(),
                author.email.trim().as_bstr()
            ),
            author_email: author.email.trim().to_str_lossy().into_owned(),
            date,
            summary,
        })
    }

    /// Reports the blobs walked trees name that the object database lacks, each with a path
    /// and the first commit (parents first) that needs it.
    fn report_missing(
        &self,
        nodes: &[Node],
        order: &[usize],
        held_by: &[Arc<[u32]>],
        pairs: &[(u32, BString)],
        missing_blobs: &[ObjectId],
        trace: &mut HistoryTrace,
    ) {
        if missing_blobs.is_empty() {
            return;
        }
        let mut reported: IdSet<ObjectId> = IdSet::default();
        let mut missing = Vec::new();
        for &n in order {
            for &pair in held_by[n].iter() {
                let (blob, path) = &pairs[pair as usize];
                if *blob >= MISSING_BASE {
                    let id = missing_blobs[(*blob - MISSING_BASE) as usize];
                    if reported.insert(id) {
                        missing.push((id, path, nodes[n].id));
                    }
                }
            }
        }
        for (blob, path, commit) in missing.iter().take(MISSING_SHOWN) {
            trace.errors.push(self.error(format!(
                "blob {blob} ({path}, added in {commit}) is missing from the object database"
            )));
        }
        if missing.len() > MISSING_SHOWN {
            trace.errors.push(self.error(format!(
                "{} more blobs of the history are missing (a partial or damaged clone?)",
                missing.len() - MISSING_SHOWN
            )));
        }
    }
}

/// A commit as read: its node (parents not yet numbered) and its parents' ids (none beyond a
/// shallow clone's boundary), or why it could not be read.
type ReadCommit = Result<(Node, Vec<ObjectId>), String>;

/// Reads and parses commit `id`; a `shallow` one is given no parents. Only the header is
/// parsed, up to the committer (`CommitRefIter`): the message and signature are never needed
/// here, and parsing whole commits was a seventh of the commit graph's cost on git/git.
fn read_commit(
    repo: &gix::Repository,
    objects: &mut ObjectReader<'_>,
    id: ObjectId,
    shallow: bool,
) -> ReadCommit {
    use gix::objs::commit::ref_iter::Token;
    let data = objects.read(repo, id, gix::object::Kind::Commit)?;
    let mut node = Node {
        id,
        tree: None,
        parents: Vec::new(),
        date: 0,
        author_email: BString::default(),
    };
    let mut parents = Vec::new();
    for token in gix::objs::CommitRefIter::from_bytes(&data, repo.object_hash()) {
        match token.map_err(|e| e.to_string())? {
            Token::Tree { id } => node.tree = Some(id),
            Token::Parent { id } if !shallow => parents.push(id),
            Token::Author { signature } => {
                node.author_email = signature.email.trim().into();
            }
            Token::Committer { signature } => {
                node.date = signature.seconds();
                break;
            }
            _ => {}
        }
    }
    if node.tree.is_none() {
        return Err("no tree".to_string());
    }
    Ok((node, parents))
}

/// The commits secrets refer to, numbered in the order first referred to.
#[derive(Default)]
struct Referenced {
    nodes: Vec<usize>,
    index: HashMap<usize, usize>,
}

impl Referenced {
    /// The number of graph node `n` among the referenced commits.
    fn index(&mut self, n: usize) -> usize {
        *self.index.entry(n).or_insert_with(|| {
            self.nodes.push(n);
            self.nodes.len() - 1
        })
    }
}

/// The (blob, path) pairs one commit's tree holds, sorted; shared by neighbouring commits
/// that hold the same.
type Holding = Arc<[u32]>;

/// Blob indices from here on name missing blobs (a worker's own list), not traced ones.
const MISSING_BASE: u32 = 1 << 31;

/// What one worker found for its slice of commits.
struct WalkedPart {
    /// Per commit (graph index): the worker's pair ids its tree holds.
    holdings: Vec<(usize, Arc<[u32]>)>,
    /// The worker's pairs: (blob index, path).
    pairs: Vec<(u32, BString)>,
    /// The worker's missing blobs, by `blob index - MISSING_BASE`.
    missing: Vec<ObjectId>,
    errors: Vec<String>,
}

/// A hash map with a fast, fixed hasher, for the walk's small keys (interned ids, entry
/// names): SipHash on these was a tenth of the walk's time on git/git.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// The traced blobs a tree holds, as (blob index, interned relative path).
type Held = Rc<[(u32, u32)]>;

/// What a tree holds; `None` when it holds no traced blob (most trees).
type Summary = Option<Held>;

/// A path that marks an entry name standing alone (a path of one component).
const LEAF: u32 = u32::MAX;

/// Entry names and relative paths, interned, so that what a tree holds is a list of numbers
/// and a path is built only once a secret needs it: a path is an entry name, or a directory's
/// name joined with a path below it.
#[derive(Default)]
struct PathTable {
    names: Vec<BString>,
    name_ids: FastMap<BString, u32>,
    /// Per path: its first component (a name id) and the path below it (or [`LEAF`]).
    paths: Vec<(u32, u32)>,
    path_ids: FastMap<(u32, u32), u32>,
}

impl PathTable {
    /// The id of entry name `name`.
    fn name(&mut self, name: &[u8]) -> u32 {
        if let Some(&id) = self.name_ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.into());
        self.name_ids.insert(name.into(), id);
        id
    }

    /// The id of the path made of name `top` and the path `rest` below it ([`LEAF`] for none).
    fn path(&mut self, top: u32, rest: u32) -> u32 {
        let next = self.paths.len() as u32;
        let id = *self.path_ids.entry((top, rest)).or_insert(next);
        if id == next {
            self.paths.push((top, rest));
        }
        id
    }

    /// The first component of path `path`.
    fn top(&self, path: u32) -> &[u8] {
        &self.names[self.paths[path as usize].0 as usize]
    }

    /// The bytes of path `path`.
    fn bytes(&self, mut path: u32) -> BString {
        let mut bytes = BString::default();
        while path != LEAF {
            let (top, rest) = self.paths[path as usize];
            if !bytes.is_empty() {
                bytes.push(b'/');
            }
            bytes.extend_from_slice(&self.names[top as usize]);
            path = rest;
        }
        bytes
    }
}

/// Recently read trees kept to diff their next versions against, per generation: when one
/// generation fills up, it becomes the old one and the older is dropped.
const RECENT_TREES: usize = 256;

/// A tree read recently: its bytes, where each entry starts (and, last, the length), and
/// what it holds.
struct Recent {
    data: Rc<Vec<u8>>,
    starts: Rc<Vec<u32>>,
    summary: Summary,
}

/// One entry of a tree, borrowed from its bytes.
struct Entry<'d> {
    name: &'d gix::bstr::BStr,
    oid: ObjectId,
    kind: EntryKind,
}

/// One worker's memoized tree reader.
struct TreeWalk<'a> {
    repo: gix::Repository,
    objects: ObjectReader<'a>,
    wanted: &'a IdMap<ObjectId, u32>,
    present: Option<&'a IdSet<ObjectId>>,
    /// Every tree read so far, with what it holds.
    memo: IdMap<ObjectId, Summary>,
    /// Trees read lately, by id, in two generations: a new version of a tree is compared with
    /// its previous version byte by byte, and only the entries between their common prefix and
    /// suffix are looked at.
    recent: [IdMap<ObjectId, Recent>; 2],
    /// The last tree read under each entry name (by name id; roots under [`LEAF`]): the base
    /// to compare with when a tree's previous version is not at hand (a merge's parents, a
    /// side branch).
    last_by_name: FastMap<u32, ObjectId>,
    paths: PathTable,
    missing: Vec<ObjectId>,
    errors: Vec<String>,
    /// (blob, path) pairs that root trees hold, numbered in the order met.
    pairs: FastMap<(u32, u32), u32>,
    pair_list: Vec<(u32, u32)>,
    /// The last root's summary and its pair ids: neighbouring commits mostly hold the same.
    last_root: Option<(Held, Vec<u32>)>,
}

impl TreeWalk<'_> {
    /// The pair ids root tree `tree` holds; `parents` are the root trees of the commit's
    /// parents, first parent first.
    fn root(&mut self, tree: ObjectId, parents: &[ObjectId]) -> Vec<u32> {
        let base = parents
            .iter()
            .copied()
            .find(|p| self.is_recent(p))
            .or_else(|| self.last_by_name.get(&LEAF).copied());
        let Some(summary) = self.summary(tree, None, base, 0) else {
            return Vec::new();
        };
        if let Some((last, ids)) = &self.last_root
            && (Rc::ptr_eq(last, &summary) || **last == *summary)
        {
            return ids.clone();
        }
        let ids: Vec<u32> = summary
            .iter()
            .map(|&pair| {
                let next = self.pair_list.len() as u32;
                let id = *self.pairs.entry(pair).or_insert(next);
                if id == next {
                    self.pair_list.push(pair);
                }
                id
            })
            .collect();
        self.last_root = Some((summary, ids.clone()));
        ids
    }

    /// What tree `id` (an entry `name`, `None` for a root) holds, read once; `base` is its
    /// previous version (the tree at the same path in the parent), compared with it when still
    /// at hand, else the last tree read under the same name.
    fn summary(
        &mut self,
        id: ObjectId,
        name: Option<&gix::bstr::BStr>,
        base: Option<ObjectId>,
        depth: usize,
    ) -> Summary {
        if let Some(summary) = self.memo.get(&id) {
            return summary.clone();
        }
        let name = name.map_or(LEAF, |name| self.paths.name(name));
        let base = base
            .filter(|b| self.is_recent(b))
            .or_else(|| self.last_by_name.get(&name).copied());
        let summary = self.read_summary(id, base, depth);
        self.memo.insert(id, summary.clone());
        self.last_by_name.insert(name, id);
        summary
    }

    fn is_recent(&self, id: &ObjectId) -> bool {
        self.recent
            .iter()
            .any(|generation| generation.contains_key(id))
    }

    fn read_summary(&mut self, id: ObjectId, base: Option<ObjectId>, depth: usize) -> Summary {
        if depth > MAX_TREE_DEPTH {
            self.errors.push(format!(
                "tree {id}: nested deeper than {MAX_TREE_DEPTH} levels"
            ));
            return None;
        }
        let data = match self.objects.read(&self.repo, id, gix::object::Kind::Tree) {
            Ok(data) => data,
            Err(e) => {
                self.errors.push(format!("tree {id}: {e}"));
                return None;
            }
        };
        let hash = self.repo.object_hash();
        let base = base.and_then(|b| {
            self.recent
                .iter()
                .find_map(|generation| generation.get(&b))
                .map(|r| (Rc::clone(&r.data), Rc::clone(&r.starts), r.summary.clone()))
        });
        let mut held: Vec<(u32, u32)> = Vec::new();
        // Sized up front: growing it entry by entry was a tenth of the walk's allocations.
        let mut starts: Vec<u32> = Vec::with_capacity(
            base.as_ref()
                .map_or(data.len() / 32, |(_, base_starts, _)| base_starts.len())
                + 8,
        );
        match base {
            None => {
                let (entries, ok) = parse_entries(&data, 0, data.len(), hash, &mut starts);
                if !ok {
                    self.errors.push(format!("tree {id}: corrupt entry"));
                }
                for entry in entries {
                    self.visit(&entry, None, depth, &mut held);
                }
            }
            Some((base_data, base_starts, base_summary)) => {
                // Entries before the common prefix's last whole entry are the base's.
                let prefix = common_prefix(&data, &base_data);
                let first_changed = base_starts.partition_point(|&s| s as usize <= prefix) - 1;
                let from = base_starts[first_changed] as usize;
                // Entries from the common suffix's first whole entry on are the base's too,
                // shifted by the difference in length.
                let suffix = common_suffix(&data[from..], &base_data[from..]);
                let shift = data.len() as i64 - base_data.len() as i64;
                let base_entries = base_starts.len() - 1;
                let base_tail = base_starts
                    .partition_point(|&s| (s as usize) < base_data.len() - suffix)
                    .clamp(first_changed, base_entries);
                let tail_start = (i64::from(base_starts[base_tail]) + shift) as usize;
                starts.extend_from_slice(&base_starts[..first_changed]);
                // Between them, walk both lists of entries in step. An entry whose bytes equal
                // the base's next entry is that entry (mode, name and id, up to the id's fixed
                // length): it holds what it held, and only a few bytes were compared. Only
                // the entries that differ are parsed and looked at: on git/git a commit
                // changes a few of its root tree's hundreds of entries, and looking up every
                // entry between the first and the last change was most of the walk's time.
                let mut dropped: Vec<Entry<'_>> = Vec::new();
                let mut changed: Vec<(Entry<'_>, Option<ObjectId>)> = Vec::new();
                let (mut old, mut at) = (first_changed, from);
                loop {
                    if old == base_tail && at == tail_start {
                        starts.extend(
                            base_starts[base_tail..base_entries]
                                .iter()
                                .map(|&s| (i64::from(s) + shift) as u32),
                        );
                        break;
                    }
                    let old_bytes = (old < base_entries).then(|| {
                        &base_data[base_starts[old] as usize..base_starts[old + 1] as usize]
                    });
                    if at >= data.len() {
                        // The rest of the base's entries were removed.
                        dropped.extend(
                            (old..base_entries)
                                .filter_map(|o| entry_at(&base_data, base_starts[o] as usize, hash))
                                .map(|(entry, _)| entry),
                        );
                        break;
                    }
                    if let Some(bytes) = old_bytes
                        && data[at..].starts_with(bytes)
                    {
                        starts.push(at as u32);
                        at += bytes.len();
                        old += 1;
                        continue;
                    }
                    let Some((entry, len)) = entry_at(&data, at, hash) else {
                        self.errors.push(format!("tree {id}: corrupt entry"));
                        break;
                    };
                    let base_entry = old_bytes
                        .and_then(|_| entry_at(&base_data, base_starts[old] as usize, hash));
                    match base_entry
                        .map(|(base_entry, _)| (tree_order(&base_entry, &entry), base_entry))
                    {
                        // The base's entry is gone.
                        Some((std::cmp::Ordering::Less, base_entry)) => {
                            dropped.push(base_entry);
                            old += 1;
                        }
                        // Changed in place: the base's subtree is its previous version.
                        Some((std::cmp::Ordering::Equal, base_entry)) => {
                            let previous =
                                (base_entry.kind == EntryKind::Tree).then_some(base_entry.oid);
                            dropped.push(base_entry);
                            changed.push((entry, previous));
                            starts.push(at as u32);
                            at += len;
                            old += 1;
                        }
                        // A new entry.
                        _ => {
                            changed.push((entry, None));
                            starts.push(at as u32);
                            at += len;
                        }
                    }
                }
                // What the base held outside the entries that changed still holds.
                if let Some(base_summary) = &base_summary {
                    held.extend(base_summary.iter().copied().filter(|&(_, path)| {
                        let top = self.paths.top(path);
                        !dropped.iter().any(|e| e.name.as_bytes() == top)
                    }));
                }
                for (entry, previous) in changed {
                    self.visit(&entry, previous, depth, &mut held);
                }
            }
        }
        if starts.last().is_none_or(|&s| s as usize != data.len()) {
            starts.push(data.len() as u32);
        }
        let summary: Summary = (!held.is_empty()).then(|| held.into());
        if self.recent[0].len() >= RECENT_TREES {
            self.recent[1] = std::mem::take(&mut self.recent[0]);
        }
        self.recent[0].insert(
            id,
            Recent {
                data,
                starts: Rc::new(starts),
                summary: summary.clone(),
            },
        );
        summary
    }

    /// Adds what one entry holds to `held`: a traced blob, a missing blob, or a subtree's
    /// holdings under the entry's name.
    fn visit(
        &mut self,
        entry: &Entry<'_>,
        previous: Option<ObjectId>,
        depth: usize,
        held: &mut Vec<(u32, u32)>,
    ) {
        match entry.kind {
            EntryKind::Tree => {
                if let Some(sub) = self.summary(entry.oid, Some(entry.name), previous, depth + 1) {
                    let name = self.paths.name(entry.name);
                    for &(blob, path) in sub.iter() {
                        held.push((blob, self.paths.path(name, path)));
                    }
                }
            }
            EntryKind::Blob | EntryKind::BlobExecutable | EntryKind::Link => {
                let blob = if let Some(&blob) = self.wanted.get(&entry.oid) {
                    blob
                } else if self.present.is_some_and(|p| !p.contains(&entry.oid)) {
                    self.missing.push(entry.oid);
                    MISSING_BASE + self.missing.len() as u32 - 1
                } else {
                    return;
                };
                let name = self.paths.name(entry.name);
                held.push((blob, self.paths.path(name, LEAF)));
            }
            EntryKind::Commit => {}
        }
    }
}

/// Git's order of tree entries: by name, a tree's name compared as if it ended in `/`.
fn tree_order(a: &Entry<'_>, b: &Entry<'_>) -> std::cmp::Ordering {
    fn key<'e>(e: &Entry<'e>) -> impl Iterator<Item = &'e u8> {
        let slash: &'static [u8] = if e.kind == EntryKind::Tree { b"/" } else { b"" };
        e.name.as_bytes().iter().chain(slash)
    }
    key(a).cmp(key(b))
}

/// Parses the entries of `data[from..to]` (at least up to `to`: an entry that starts before
/// `to` is parsed whole), pushing each entry's start to `starts`. The flag is false when an
/// entry was corrupt (parsing stopped there).
fn parse_entries<'d>(
    data: &'d [u8],
    from: usize,
    to: usize,
    hash: gix::hash::Kind,
    starts: &mut Vec<u32>,
) -> (Vec<Entry<'d>>, bool) {
    let mut entries = Vec::new();
    let Some(rest) = data.get(from..) else {
        return (entries, false);
    };
    let mut iter = gix::objs::TreeRefIter::from_bytes(rest, hash);
    let mut at = from;
    while at < to {
        match iter.next() {
            Some(Ok(entry)) => {
                starts.push(at as u32);
                entries.push(Entry {
                    name: entry.filename,
                    oid: entry.oid.to_owned(),
                    kind: entry.mode.kind(),
                });
                at = from + iter.offset_to_next_entry(rest);
            }
            Some(Err(_)) => return (entries, false),
            None => break,
        }
    }
    (entries, true)
}

/// The entry of tree `data` that starts at `at`, and its length in bytes; `None` when it is
/// corrupt or there is none.
fn entry_at(data: &[u8], at: usize, hash: gix::hash::Kind) -> Option<(Entry<'_>, usize)> {
    let rest = data.get(at..)?;
    let mut iter = gix::objs::TreeRefIter::from_bytes(rest, hash);
    let entry = iter.next()?.ok()?;
    Some((
        Entry {
            name: entry.filename,
            oid: entry.oid.to_owned(),
            kind: entry.mode.kind(),
        },
        iter.offset_to_next_entry(rest),
    ))
}

/// The length of the longest common prefix of `a` and `b`.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let mut at = 0;
    // Compare in blocks, which the compiler turns into wide compares, then byte by byte.
    while at + 32 <= len && a[at..at + 32] == b[at..at + 32] {
        at += 32;
    }
    while at < len && a[at] == b[at] {
        at += 1;
    }
    at
}

/// The length of the longest common suffix of `a` and `b`.
fn common_suffix(a: &[u8], b: &[u8]) -> usize {
    let len = a.len().min(b.len());
    let (a, b) = (&a[a.len() - len..], &b[b.len() - len..]);
    let mut matched = 0;
    while matched + 32 <= len
        && a[len - matched - 32..len - matched] == b[len - matched - 32..len - matched]
    {
        matched += 32;
    }
    while matched < len && a[len - matched - 1] == b[len - matched - 1] {
        matched += 1;
    }
    matched
}

/// The walked commits, each after all of its walked parents, so the first commit (in this
/// order) that holds a blob is one that introduced it. Deterministic: commits are taken in the
/// walk's order.
fn parents_first(nodes: &[Node]) -> Vec<usize> {
    let mut order = Vec::with_capacity(nodes.len());
    let mut visited = vec![false; nodes.len()];
    // (commit, whether its parents are already on the stack)
    let mut stack: Vec<(usize, bool)> = Vec::new();
    for start in 0..nodes.len() {
        stack.push((start, false));
        while let Some((n, expanded)) = stack.pop() {
            if expanded {
                order.push(n);
                continue;
            }
            if visited[n] {
                continue;
            }
            visited[n] = true;
            stack.push((n, true));
            for &parent in nodes[n].parents.iter().rev() {
                if !visited[parent] {
                    stack.push((parent, false));
                }
            }
        }
    }
    order
}
