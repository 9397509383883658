//! Git history: every blob of a repository, each read and handed out once, and where each
//! secret lived.
//!
//! Reading goes through gix, never the git binary. By job:
//! - [`refs`](self): the refs and their tips, and HEAD;
//! - `odb`: the object-database pass of a full-history scan (each pack's delta forest walked
//!   once, see the `pack` module, then the loose objects);
//! - `changes`: the change sets of `--staged` and `--since-commit`;
//! - `lifecycle`: one walk over the commits and every unique tree, tracing each secret's paths,
//!   first and last commit, removal and the ref tips that still hold it;
//! - `objects`: single-object readers.

mod changes;
mod lifecycle;
mod objects;
mod odb;
mod refs;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A git object id.
pub use gix::ObjectId;
use rayon::prelude::*;

pub use crate::odb::{OdbOptions, OdbPass};
pub use changes::{ChangeSet, ChangedBlob};
pub use lifecycle::{CommitInfo, HistoryTrace, PathIntroduction, SecretTrace, TraceRequest};
pub use objects::BlobReader;

use crate::SourceError;
use crate::pack::Packs;
use objects::ObjectReader;

/// An opened repository, shareable across threads.
pub struct GitRepository {
    repo: gix::ThreadSafeRepository,
    display: String,
    /// The packs, opened for positioned reads on first use.
    packs: OnceLock<Packs>,
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
        Some(Self::new(repo, path.display().to_string()))
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
        Ok(Self::new(repo, display))
    }

    fn new(repo: gix::Repository, display: String) -> Self {
        Self {
            repo: repo.into_sync(),
            display,
            packs: OnceLock::new(),
        }
    }

    fn error(&self, message: impl std::fmt::Display) -> SourceError {
        SourceError::Git {
            repo: self.display.clone(),
            message: message.to_string(),
        }
    }

    /// Whether the repository is a partial clone (`extensions.partialClone`, or a remote with
    /// `promisor = true`, which is all that git 2.47's `clone --filter` writes): objects the
    /// history needs may be missing by design, so the missing-blob check should run.
    pub fn is_partial_clone(&self) -> bool {
        let repo = self.repo.to_thread_local();
        let config = repo.config_snapshot();
        let promisor = |section: gix::config::file::SectionRef<'_>| {
            section.value("promisor").is_some_and(|value| {
                gix::config::Boolean::try_from(gix::bstr::BStr::new(&value)).is_ok_and(|b| b.0)
            })
        };
        config.string("extensions.partialClone").is_some()
            || config
                .plumbing()
                .sections_by_name("remote")
                .is_some_and(|mut sections| sections.any(promisor))
    }

    /// The repository's packs, opened for positioned reads once.
    fn packs(&self) -> &Packs {
        self.packs
            .get_or_init(|| Packs::open(self.repo.objects.path(), self.repo.objects.object_hash()))
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

    /// Calls `visit` with the content of each of `blobs` (a few: staged files, the blobs of a
    /// pushed range), read one by one on the current rayon pool. Returns the objects that could
    /// not be read.
    pub fn for_each_blob(
        &self,
        blobs: &[ChangedBlob],
        visit: &(dyn Fn(&ChangedBlob, &[u8]) + Sync),
    ) -> Vec<SourceError> {
        blobs
            .par_iter()
            .map_init(
                || self.reader(),
                |reader, blob| match reader.read(blob.id, &blob.path) {
                    Ok(data) => {
                        visit(blob, &data);
                        None
                    }
                    Err(e) => Some(e),
                },
            )
            .flatten()
            .collect()
    }

    /// The content of the file at `path` in the tree of `commit` (HEAD's when `None`);
    /// `None` when the commit has no such file.
    pub fn file_at(
        &self,
        commit: Option<ObjectId>,
        path: &str,
    ) -> Result<Option<Vec<u8>>, SourceError> {
        let repo = self.repo.to_thread_local();
        let commit = match commit {
            Some(id) => id,
            None => match repo.head_id() {
                Ok(id) => id.detach(),
                Err(_) => return Ok(None),
            },
        };
        let tree = repo
            .find_commit(commit)
            .and_then(|c| c.tree())
            .map_err(|e| self.error(format!("commit {commit}: {e}")))?;
        let entry = tree
            .lookup_entry_by_path(path)
            .map_err(|e| self.error(format!("{path} in {commit}: {e}")))?;
        match entry {
            Some(entry) if entry.mode().is_blob() => {
                let blob = entry
                    .object()
                    .map_err(|e| self.error(format!("{path} in {commit}: {e}")))?;
                Ok(Some(blob.detach().data))
            }
            _ => Ok(None),
        }
    }

    /// A reader for blobs, one per thread.
    pub fn reader(&self) -> BlobReader<'_> {
        BlobReader {
            repo: self.repo.to_thread_local(),
            objects: ObjectReader::new(self.packs()),
            display: self.display.clone(),
        }
    }
}
