//! The object-database pass of a full-history scan, as a method of the repository; the pass
//! itself (packs, loose objects, alternates, checks) is the crate's `odb` module.

use gix::ObjectId;

use super::GitRepository;
use crate::odb::{OdbOptions, OdbPass};

impl GitRepository {
    /// Calls `visit` with the id and content of every blob of the object database and its
    /// alternates, once each: each pack's delta forest is walked once from its base blobs,
    /// reading the pack by positioned reads (no memory map stays resident), so every delta base
    /// is inflated once; then the loose objects are read. Blobs that no ref reaches are visited
    /// too ([`Self::trace`] tells them apart). Blobs larger than `options.max_size` are counted,
    /// and read only when a delta is built on them. What cannot be read is returned, named.
    pub fn for_each_blob_in_odb(
        &self,
        options: &OdbOptions,
        visit: &(dyn Fn(ObjectId, &[u8]) + Sync),
    ) -> OdbPass {
        crate::odb::for_each_blob(&self.repo, &self.display, options, visit)
    }
}
