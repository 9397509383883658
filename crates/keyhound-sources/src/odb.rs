//! One pass over a whole object database: every blob of every pack and every loose object, of
//! the repository and of the alternates it borrows from, each visited once.
//!
//! Each pack's delta forest is walked once (see the `pack` module), then the loose objects are
//! read. Whatever the own readers cannot decode is looked up through gix (which may find it
//! elsewhere, or read it where ours gave up), its content checked against its id; only what gix
//! cannot read either is reported, by name. Optionally each pack's trailing checksum
//! ([`OdbOptions::verify_pack`]) and each decoded blob's id ([`OdbOptions::verify_objects`]) are
//! checked too.

use std::sync::Mutex;

use gix::ObjectId;
use rayon::prelude::*;

use crate::SourceError;
use crate::loose::{Loose, LooseError};
use crate::pack::{BlobWalk, PackError};

/// What a pass over the whole object database did besides visiting blobs.
#[derive(Debug, Default)]
pub struct OdbPass {
    /// Every blob the object database holds (visited, too large, or unreadable).
    pub present: gix::hashtable::HashSet<ObjectId>,
    /// Blobs over the size limit, never read: each id with its size, sorted by id.
    pub too_large: Vec<(ObjectId, u64)>,
    /// Objects that could not be read.
    pub errors: Vec<SourceError>,
}

/// How a pass over an object database reads, and what it checks beyond what it always checks
/// (every pack entry's CRC32 and sizes, every delta's bounds and result size).
#[derive(Debug, Clone, Copy, Default)]
pub struct OdbOptions {
    /// Threads to read packs with (0: the current rayon pool's); loose objects are read on
    /// the current rayon pool.
    pub threads: usize,
    /// Blobs larger than this many bytes are counted, and read only when a delta is built on
    /// them; `None` reads every size.
    pub max_size: Option<u64>,
    /// Check each pack's trailing checksum (and its index's) against its content: a second
    /// sequential read of every pack.
    pub verify_pack: bool,
    /// Hash every decoded blob and check it against its id.
    pub verify_objects: bool,
}

/// Calls `visit` with every blob of the object database of `repo` (shown as `display` in
/// errors) and of its alternates, once each, from `options.threads` threads. Blobs that no ref
/// reaches are visited too. Returns every blob present (visited, too large, or unreadable), those
/// too large, and what could not be read; every readable blob is still visited.
pub fn for_each_blob(
    repo: &gix::ThreadSafeRepository,
    display: &str,
    options: &OdbOptions,
    visit: &(dyn Fn(ObjectId, &[u8]) + Sync),
) -> OdbPass {
    let object_hash = repo.objects.object_hash();
    let pack_error = |error: PackError| SourceError::Pack {
        repo: display.to_string(),
        error: Box::new(error),
    };
    let too_large = Mutex::new(Vec::new());
    let seen = Mutex::new(gix::hashtable::HashSet::default());
    let first_time = |id: ObjectId| seen.lock().unwrap_or_else(|p| p.into_inner()).insert(id);
    let blob_once = |id: ObjectId, data: &[u8]| {
        if first_time(id) {
            visit(id, data);
        }
    };
    let skip_once = |id: ObjectId, size: u64| {
        if first_time(id) {
            too_large
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((id, size));
        }
    };
    // gix's lookup, for what the own readers cannot decode: its answer is hashed, so a
    // damaged object is never taken for the real one.
    let fallback = |id: ObjectId| -> Result<(gix::object::Kind, Vec<u8>), String> {
        let repo = repo.to_thread_local();
        let object = repo.find_object(id).map_err(|e| e.to_string())?;
        let kind = object.kind;
        let data = object.detach().data;
        let actual =
            crate::pack::hash_object(object_hash, kind, &data).map_err(|e| e.to_string())?;
        if actual != id {
            return Err(format!("its content hashes to {actual}"));
        }
        Ok((kind, data))
    };

    let mut errors = Vec::new();
    let (dirs, unusable) = crate::alternates::object_dirs(repo.objects.path());
    errors.extend(unusable.into_iter().map(|error| SourceError::Alternates {
        repo: display.to_string(),
        error,
    }));
    let walk = BlobWalk {
        threads: match options.threads {
            0 => rayon::current_num_threads(),
            n => n,
        },
        max_size: options.max_size,
        verify_objects: options.verify_objects,
        visit: &blob_once,
        too_large: &skip_once,
        fallback: &fallback,
    };
    for dir in &dirs {
        for index in crate::pack::pack_indices(dir) {
            let pack = index.with_extension("pack");
            if options.verify_pack {
                let failed = crate::pack::verify_checksums(&index, &pack, object_hash);
                errors.extend(failed.into_iter().map(pack_error));
            }
            for error in crate::pack::for_each_blob_in_pack(&index, &pack, object_hash, &walk) {
                // Present but unreadable: reported here, not again as missing.
                if let PackError::Object { id, .. } = &error {
                    first_time(*id);
                }
                errors.push(pack_error(error));
            }
        }
    }

    for dir in &dirs {
        let loose = gix::odb::loose::Store::at(dir, object_hash);
        let mut ids = Vec::new();
        for id in loose.iter() {
            match id {
                Ok(id) => ids.push(id),
                Err(e) => errors.push(SourceError::Git {
                    repo: display.to_string(),
                    message: format!("loose objects in {}: {e}", dir.display()),
                }),
            }
        }
        let failed: Vec<SourceError> = ids
            .par_iter()
            .map_init(gix::zlib::Inflate::default, |inflate, &id| {
                let kind = gix::object::Kind::Blob;
                let read = crate::loose::read_loose(dir, &id, kind, options.max_size, inflate)
                    .and_then(|read| match read {
                        Loose::Wanted(data) if options.verify_objects => {
                            verified_loose(dir, id, object_hash, data)
                        }
                        read => Ok(read),
                    });
                let error = match read {
                    Ok(Loose::Wanted(data)) => {
                        blob_once(id, &data);
                        return None;
                    }
                    Ok(Loose::TooLarge(size)) => {
                        skip_once(id, size);
                        return None;
                    }
                    Ok(Loose::Other) => return None,
                    Err(error) => error,
                };
                match fallback(id) {
                    Ok((gix::object::Kind::Blob, data)) => {
                        blob_once(id, &data);
                        None
                    }
                    Ok(_) => None,
                    Err(gix) => {
                        // Present but unreadable: reported here, not again as missing.
                        first_time(id);
                        Some(SourceError::Loose {
                            repo: display.to_string(),
                            error: Box::new(LooseError {
                                fallback: Some(gix),
                                ..error
                            }),
                        })
                    }
                }
            })
            .flatten()
            .collect();
        errors.extend(failed);
    }
    let mut too_large = too_large.into_inner().unwrap_or_else(|p| p.into_inner());
    // Threads finish in any order: sorted, so reports do not depend on it.
    too_large.sort_unstable();
    OdbPass {
        present: seen.into_inner().unwrap_or_else(|p| p.into_inner()),
        too_large,
        errors,
    }
}

/// `data`, read as loose blob `id` from `dir`, once it hashes to `id`.
fn verified_loose(
    dir: &std::path::Path,
    id: ObjectId,
    object_hash: gix::hash::Kind,
    data: Vec<u8>,
) -> Result<Loose, LooseError> {
    let problem = match crate::pack::hash_object(object_hash, gix::object::Kind::Blob, &data) {
        Ok(actual) if actual == id => return Ok(Loose::Wanted(data)),
        Ok(actual) => crate::pack::EntryError::HashMismatch(actual),
        Err(e) => e,
    };
    Err(LooseError {
        id,
        path: crate::loose::loose_path(dir, &id),
        problem: problem.into(),
        fallback: None,
    })
}
