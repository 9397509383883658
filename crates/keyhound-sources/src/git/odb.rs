//! The object-database pass of a full-history scan: every blob once, packs first, then the
//! loose objects.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use gix::ObjectId;
use rayon::prelude::*;

use super::GitRepository;
use crate::SourceError;
use crate::loose::Loose;

/// What a pass over the whole object database did besides visiting blobs.
#[derive(Debug, Default)]
pub struct OdbPass {
    /// Every blob the object database holds (visited, too large, or unreadable).
    pub present: gix::hashtable::HashSet<ObjectId>,
    /// Blobs over the size limit, never read.
    pub too_large: u64,
    /// Objects that could not be read.
    pub errors: Vec<SourceError>,
}

impl GitRepository {
    /// Calls `visit` with the id and content of every blob of the object database, once each,
    /// from the current rayon pool's threads: each pack's delta forest is walked once from its
    /// base blobs, reading the pack by positioned reads (no memory map stays resident), so every
    /// delta base is inflated once; then the loose objects are read. Blobs that no ref reaches
    /// are visited too ([`Self::trace`] tells them apart). Blobs larger than `max_size` are
    /// counted, and read only when a delta is built on them, so a history of huge files scans
    /// in bounded memory.
    pub fn for_each_blob_in_odb(
        &self,
        max_size: Option<u64>,
        visit: &(dyn Fn(ObjectId, &[u8]) + Sync),
    ) -> OdbPass {
        let threads = rayon::current_num_threads();
        let mut errors = Vec::new();
        let too_large = AtomicU64::new(0);
        let seen = Mutex::new(gix::hashtable::HashSet::default());
        let first_time = |id: ObjectId| seen.lock().unwrap_or_else(|p| p.into_inner()).insert(id);
        let objects = self.repo.objects.path().to_path_buf();
        let blob_once = |id: ObjectId, data: &[u8]| {
            if first_time(id) {
                visit(id, data);
            }
        };
        let skip_once = |id: ObjectId| {
            if first_time(id) {
                too_large.fetch_add(1, Ordering::Relaxed);
            }
        };
        for idx in crate::pack::pack_indices(&objects) {
            let failed = crate::pack::for_each_blob_in_pack(
                &idx,
                &idx.with_extension("pack"),
                self.repo.objects.object_hash(),
                threads,
                max_size,
                &blob_once,
                &skip_once,
            );
            errors.extend(failed.into_iter().map(|e| self.error(e)));
        }
        let loose = gix::odb::loose::Store::at(&objects, self.repo.objects.object_hash());
        let mut ids = Vec::new();
        for id in loose.iter() {
            match id {
                Ok(id) => ids.push(id),
                Err(e) => errors.push(self.error(format!("loose objects: {e}"))),
            }
        }
        let failed: Vec<SourceError> = ids
            .par_iter()
            .map_init(gix::zlib::Inflate::default, |inflate, &id| {
                let kind = gix::object::Kind::Blob;
                match crate::loose::read_loose(&objects, &id, kind, max_size, inflate) {
                    Ok(Loose::Wanted(data)) => blob_once(id, &data),
                    Ok(Loose::TooLarge) => skip_once(id),
                    Ok(Loose::Other) => {}
                    Err(e) => {
                        // Present but unreadable: reported here, not again as missing.
                        first_time(id);
                        return Some(self.error(format!("object {id}: {e}")));
                    }
                }
                None
            })
            .flatten()
            .collect();
        errors.extend(failed);
        OdbPass {
            present: seen.into_inner().unwrap_or_else(|p| p.into_inner()),
            too_large: too_large.into_inner(),
            errors,
        }
    }
}
