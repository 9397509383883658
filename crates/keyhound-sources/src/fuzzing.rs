//! Entry points for the fuzz targets in `fuzz/`: the readers of untrusted bytes, reachable
//! without files. Not part of the API (hidden from the docs); they may change at any time.

use crate::loose::{LooseProblem, loose_content, loose_header};
use crate::pack::{DeltaError, EntryError, decode_entry};

/// Decodes `bytes` as one whole pack entry (header and compressed data) lying at offset 2^40
/// of a pack, so offset deltas may point back: the size its header declares, and the data it
/// inflates to, which has exactly that size.
pub fn pack_entry(bytes: &[u8]) -> Result<(u64, Vec<u8>), EntryError> {
    let mut inflate = gix::zlib::Inflate::default();
    let (header, data) = decode_entry(&mut inflate, bytes, 1 << 40, gix::hash::Kind::Sha1)?;
    Ok((header.size, data))
}

/// Applies git delta `delta` to `base`: the result has exactly the size the delta declares.
pub fn apply_delta(base: &[u8], delta: &[u8]) -> Result<Vec<u8>, DeltaError> {
    crate::pack::apply_delta(base, delta)
}

/// Reads `bytes` as a loose object file (zlib of `kind size\0content`): its kind, the size its
/// header declares, and its content, which has exactly that size.
pub fn loose_object(bytes: &[u8]) -> Result<(gix::object::Kind, u64, Vec<u8>), LooseProblem> {
    let mut inflate = gix::zlib::Inflate::default();
    let (kind, size, header_len) = loose_header(&mut inflate, bytes)?;
    let content = loose_content(&mut inflate, bytes, size, header_len)?;
    Ok((kind, size, content))
}
