//! Single-object readers: from the packs by positioned reads, then as loose files by plain
//! reads, then through gix (whose error is the one reported).

use std::path::Path;
use std::rc::Rc;

use gix::ObjectId;

use crate::SourceError;
use crate::loose::Loose;
use crate::pack::{PackCursor, Packs};

/// Reads single objects for one thread.
pub(crate) struct ObjectReader<'a> {
    packs: PackCursor<'a>,
    objects: &'a Path,
    inflate: gix::zlib::Inflate,
}

impl<'a> ObjectReader<'a> {
    pub(crate) fn new(packs: &'a Packs) -> Self {
        Self {
            packs: packs.cursor(),
            objects: packs.objects(),
            inflate: gix::zlib::Inflate::default(),
        }
    }

    /// The content of object `id`, which must be of `kind`.
    pub(crate) fn read(
        &mut self,
        repo: &gix::Repository,
        id: ObjectId,
        kind: gix::object::Kind,
    ) -> Result<Rc<Vec<u8>>, String> {
        if let Some((found, data)) = self.packs.find(&id)
            && found == kind
        {
            return Ok(data);
        }
        if let Ok(Loose::Wanted(data)) =
            crate::loose::read_loose(self.objects, &id, kind, None, &mut self.inflate)
        {
            return Ok(Rc::new(data));
        }
        let object = repo.find_object(id).map_err(|e| e.to_string())?;
        if object.kind != kind {
            return Err(format!("a {}, not a {kind}", object.kind));
        }
        Ok(Rc::new(object.detach().data))
    }
}

/// Reads blobs of one repository; make one per thread with
/// [`GitRepository::reader`](super::GitRepository::reader).
pub struct BlobReader<'a> {
    pub(crate) repo: gix::Repository,
    pub(crate) objects: ObjectReader<'a>,
    pub(crate) display: String,
}

impl BlobReader<'_> {
    /// The bytes of blob `id`; `path` names it in the error.
    pub fn read(&mut self, id: ObjectId, path: &str) -> Result<Rc<Vec<u8>>, SourceError> {
        self.objects
            .read(&self.repo, id, gix::object::Kind::Blob)
            .map_err(|e| SourceError::Git {
                repo: self.display.clone(),
                message: format!("blob {id} ({path}): {e}"),
            })
    }
}
