//! Loose objects read with plain reads.
//!
//! gix maps each loose file it reads; tearing down tens of thousands of small maps (each one a
//! cross-CPU TLB shootdown) cost the kernel more than the reading did. Here a file's first
//! kilobytes are read and inflated just far enough to learn the object's kind and size, so
//! objects of other kinds, and blobs over the size limit, are never inflated whole.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Bytes read first: enough for the header of any object, and the whole of most small ones.
const HEAD: usize = 4096;
/// The longest loose header: `blob 18446744073709551615\0`.
const MAX_HEADER: usize = 32;

/// What a loose object turned out to be.
pub(crate) enum Loose {
    /// An object of the kind asked for, within the size limit, with its content.
    Wanted(Vec<u8>),
    /// An object of the kind asked for, over the size limit, not inflated.
    TooLarge,
    /// An object of another kind, not inflated.
    Other,
}

/// Reads loose object `id` of the object database at `objects`, inflating its content only
/// when it is of kind `want` and at most `max_size` bytes. `inflate` is reused across calls.
pub(crate) fn read_loose(
    objects: &Path,
    id: &gix::oid,
    want: gix::object::Kind,
    max_size: Option<u64>,
    inflate: &mut gix::zlib::Inflate,
) -> Result<Loose, String> {
    let hex = id.to_hex().to_string();
    let path = objects.join(&hex[..2]).join(&hex[2..]);
    let mut file = File::open(&path).map_err(|e| e.to_string())?;
    let mut compressed = Vec::with_capacity(HEAD);
    (&mut file)
        .take(HEAD as u64)
        .read_to_end(&mut compressed)
        .map_err(|e| e.to_string())?;

    let mut header = [0u8; MAX_HEADER];
    inflate.reset();
    let (_, _, written) = inflate
        .prefix(&compressed, &mut header)
        .map_err(|e| format!("corrupt compressed data: {e}"))?;
    let header = &header[..written];
    let end = header
        .iter()
        .position(|&b| b == 0)
        .ok_or("no object header")?;
    let (kind, size) = std::str::from_utf8(&header[..end])
        .ok()
        .and_then(|h| h.split_once(' '))
        .ok_or("malformed object header")?;
    if kind.as_bytes() != want.as_bytes() {
        return Ok(Loose::Other);
    }
    let size: u64 = size.parse().map_err(|_| "malformed object size")?;
    if max_size.is_some_and(|max| size > max) {
        return Ok(Loose::TooLarge);
    }
    file.read_to_end(&mut compressed)
        .map_err(|e| e.to_string())?;
    let total = usize::try_from(size)
        .ok()
        .and_then(|s| s.checked_add(end + 1))
        .ok_or("object too large")?;
    let mut out = crate::pack::inflate_exact(inflate, &compressed, total)?;
    out.drain(..=end);
    Ok(Loose::Wanted(out))
}
