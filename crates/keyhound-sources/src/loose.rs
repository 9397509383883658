//! Loose objects read with plain reads, every read checked.
//!
//! gix maps each loose file it reads; tearing down tens of thousands of small maps (each one a
//! cross-CPU TLB shootdown) cost the kernel more than the reading did. Here a file's first
//! kilobytes are read and inflated just far enough to learn the object's kind and size, so
//! objects of other kinds, and blobs over the size limit, are never inflated whole. A header
//! that does not parse, a size the file cannot hold, or data that inflates to another size is a
//! [`LooseError`] naming the object's file.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::pack::{EntryError, inflate_exact};

/// Bytes read first: enough for the header of any object, and the whole of most small ones.
const HEAD: usize = 4096;
/// The longest loose header: `commit 18446744073709551615\0`.
const MAX_HEADER: usize = 32;

/// A loose object that could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "loose object {id} ({}): {problem}{}",
    path.display(),
    crate::pack::fallback_note(.fallback.as_deref())
)]
pub struct LooseError {
    /// The object's id.
    pub id: gix::ObjectId,
    /// The object's file.
    pub path: PathBuf,
    /// What is wrong with it.
    #[source]
    pub problem: LooseProblem,
    /// Why the fallback lookup (gix's) failed too, when it was tried.
    pub fallback: Option<String>,
}

/// What is wrong with a loose object.
#[derive(Debug, thiserror::Error)]
pub enum LooseProblem {
    /// The file could not be opened or read.
    #[error("cannot read it: {0}")]
    Read(#[source] std::io::Error),
    /// The object's header does not parse.
    #[error("malformed object header: {0}")]
    Header(&'static str),
    /// The data does not inflate to the size the header declares (or could not be inflated).
    #[error(transparent)]
    Data(#[from] EntryError),
}

/// What a loose object turned out to be.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Loose {
    /// An object of the kind asked for, within the size limit, with its content.
    Wanted(Vec<u8>),
    /// An object of the kind asked for, over the size limit, not inflated: its size.
    TooLarge(u64),
    /// An object of another kind, not inflated.
    Other,
}

/// The path of loose object `id` in the object database at `objects`.
pub(crate) fn loose_path(objects: &Path, id: &gix::oid) -> PathBuf {
    let hex = id.to_hex().to_string();
    objects.join(&hex[..2]).join(&hex[2..])
}

/// Reads loose object `id` of the object database at `objects`, inflating its content only
/// when it is of kind `want` and at most `max_size` bytes. `inflate` is reused across calls.
pub(crate) fn read_loose(
    objects: &Path,
    id: &gix::oid,
    want: gix::object::Kind,
    max_size: Option<u64>,
    inflate: &mut gix::zlib::Inflate,
) -> Result<Loose, LooseError> {
    let path = loose_path(objects, id);
    read_loose_file(&path, want, max_size, inflate).map_err(|problem| LooseError {
        id: id.to_owned(),
        path,
        problem,
        fallback: None,
    })
}

fn read_loose_file(
    path: &Path,
    want: gix::object::Kind,
    max_size: Option<u64>,
    inflate: &mut gix::zlib::Inflate,
) -> Result<Loose, LooseProblem> {
    let mut file = File::open(path).map_err(LooseProblem::Read)?;
    let mut compressed = Vec::with_capacity(HEAD);
    (&mut file)
        .take(HEAD as u64)
        .read_to_end(&mut compressed)
        .map_err(LooseProblem::Read)?;
    let (kind, size, header_len) = loose_header(inflate, &compressed)?;
    if kind != want {
        return Ok(Loose::Other);
    }
    if max_size.is_some_and(|max| size > max) {
        return Ok(Loose::TooLarge(size));
    }
    file.read_to_end(&mut compressed)
        .map_err(LooseProblem::Read)?;
    Ok(Loose::Wanted(loose_content(
        inflate,
        &compressed,
        size,
        header_len,
    )?))
}

/// The kind and size a loose object's header declares, and the header's length, from the
/// start of its compressed bytes.
pub(crate) fn loose_header(
    inflate: &mut gix::zlib::Inflate,
    compressed: &[u8],
) -> Result<(gix::object::Kind, u64, usize), LooseProblem> {
    let mut header = [0u8; MAX_HEADER];
    inflate.reset();
    let (_, _, written) = inflate
        .prefix(compressed, &mut header)
        .map_err(|e| LooseProblem::Data(EntryError::Corrupt(e.to_string())))?;
    let header = &header[..written];
    let end = header
        .iter()
        .position(|&b| b == 0)
        .ok_or(LooseProblem::Header("it does not end"))?;
    let header = &header[..end];
    let space = header
        .iter()
        .position(|&b| b == b' ')
        .ok_or(LooseProblem::Header("it has no size"))?;
    let (kind, size) = (&header[..space], &header[space + 1..]);
    let kind = gix::object::Kind::from_bytes(kind)
        .map_err(|_| LooseProblem::Header("its object type is not one git writes"))?;
    let size = std::str::from_utf8(size)
        .ok()
        .filter(|s| s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or(LooseProblem::Header("its size is not a number"))?;
    Ok((kind, size, end + 1))
}

/// The content of a loose object whose compressed bytes are `compressed` (the whole file) and
/// whose header of `header_len` bytes declared `size` bytes of content.
pub(crate) fn loose_content(
    inflate: &mut gix::zlib::Inflate,
    compressed: &[u8],
    size: u64,
    header_len: usize,
) -> Result<Vec<u8>, LooseProblem> {
    let total = size
        .checked_add(header_len as u64)
        .ok_or(LooseProblem::Header("its size overflows"))?;
    let mut out = inflate_exact(inflate, compressed, total)?;
    out.drain(..header_len);
    Ok(out)
}
