//! Where the history starts: the refs, their tips, and HEAD.

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::GitRepository;
use crate::SourceError;

/// The commits a history walk starts from.
#[derive(Debug, Default)]
pub(crate) struct Tips {
    /// Every ref that peels to a commit (only `--branch` when given), with its full name.
    pub named: Vec<(String, ObjectId)>,
    /// HEAD's commit, if HEAD points at one.
    pub head: Option<ObjectId>,
    /// Refs that could not be read or peeled; the walk goes on without them.
    pub errors: Vec<SourceError>,
}

impl Tips {
    /// The distinct tip commits, refs first, then HEAD (when it is walked: no `--branch`).
    pub fn commits(&self, with_head: bool) -> Vec<ObjectId> {
        let mut tips: Vec<ObjectId> = Vec::with_capacity(self.named.len() + 1);
        for &(_, id) in &self.named {
            if !tips.contains(&id) {
                tips.push(id);
            }
        }
        if with_head
            && let Some(head) = self.head
            && !tips.contains(&head)
        {
            tips.push(head);
        }
        tips
    }
}

impl GitRepository {
    /// The tips to walk: every ref that peels to a commit, or only `branch` when given, and
    /// HEAD. Refs that fail to peel are reported in [`Tips::errors`]; refs that point at trees
    /// or blobs (rare) are not commits to walk and are left out without a word.
    pub(crate) fn tips(
        &self,
        repo: &gix::Repository,
        branch: Option<&str>,
    ) -> Result<Tips, SourceError> {
        let mut tips = Tips {
            head: repo.head_id().ok().map(|id| id.detach()),
            ..Tips::default()
        };
        if let Some(name) = branch {
            let mut reference = repo
                .find_reference(name)
                .map_err(|e| self.error(format!("{name}: {e}")))?;
            let id = reference
                .peel_to_id()
                .map_err(|e| self.error(format!("{name}: {e}")))?;
            tips.named
                .push((reference.name().as_bstr().to_string(), id.detach()));
            return Ok(tips);
        }
        let platform = repo.references().map_err(|e| self.error(e))?;
        for reference in platform.all().map_err(|e| self.error(e))? {
            let mut reference = match reference {
                Ok(reference) => reference,
                Err(e) => {
                    tips.errors.push(self.error(format!("ref: {e}")));
                    continue;
                }
            };
            let name = reference.name().as_bstr().to_str_lossy().into_owned();
            match reference.peel_to_id() {
                Ok(id) => {
                    let id = id.detach();
                    match repo.find_object(id) {
                        Ok(object) if object.kind == gix::object::Kind::Commit => {
                            tips.named.push((name, id));
                        }
                        Ok(_) => {}
                        Err(e) => tips.errors.push(self.error(format!("{name}: {e}"))),
                    }
                }
                Err(e) => tips.errors.push(self.error(format!("{name}: {e}"))),
            }
        }
        Ok(tips)
    }
}
