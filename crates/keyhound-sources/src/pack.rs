//! Every blob of one pack file, each decoded once, read with positioned reads instead of a
//! memory map.
//!
//! A mapped pack stays resident as it is read: scanning a 5 GB pack through a map costs 5 GB of
//! resident memory by the end, however little the scanner keeps. This reader asks the index for
//! every entry's offset, reads each entry's header (a few bytes) to learn which delta base it
//! has, then walks the delta forest depth-first from each base blob: a base is inflated once, each
//! delta is inflated and applied to its base's bytes, and only the chain from the root to the
//! current object is held. Commits, trees and tags are never inflated: git deltas an object only
//! against one of its own kind. Threads take roots in offset order, so reads stay close together.
//!
//! [`Packs`] reads single objects the same way, for provenance's tree lookups: trees sit among
//! the blobs of a clone's pack, so looking them up through a map would fault in pages across it.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use gix::ObjectId;
use gix::odb::pack::data::entry::Header;

/// Roots a thread takes at a time.
const ROOTS_PER_TAKE: usize = 32;
/// Bytes read to parse an entry header: type and size varint, then an offset varint or an id.
const HEADER_PROBE: usize = 64;

/// No base: the entry is an object, or its base could not be found.
const NO_BASE: u32 = u32::MAX;

/// One pack entry: where it is, and the delta base it names. Kept small: a large repository's
/// pack holds millions of entries, all listed before the walk.
struct Entry {
    oid: ObjectId,
    offset: u64,
    /// The inflated size: the object's, or the delta's.
    inflated_size: u64,
    /// The index (in offset order) of the entry this one is a delta against, or [`NO_BASE`].
    base: u32,
    /// Bytes of the entry's header: its compressed data starts after them.
    header_len: u8,
    is_blob: bool,
    is_delta: bool,
}

impl Entry {
    fn base(&self) -> Option<usize> {
        (self.base != NO_BASE).then_some(self.base as usize)
    }
}

/// Calls `visit` with the id and content of every blob in the pack at `pack_path` (with its
/// index at `index_path`), from `threads` threads. A blob larger than `max_size` that no delta
/// is built on is never read: `too_large` gets its id. Returns what could not be read, each
/// naming the pack and the object; the other blobs are still visited.
pub(crate) fn for_each_blob_in_pack(
    index_path: &Path,
    pack_path: &Path,
    object_hash: gix::hash::Kind,
    threads: usize,
    max_size: Option<u64>,
    visit: &(dyn Fn(ObjectId, &[u8]) + Sync),
    too_large: &(dyn Fn(ObjectId) + Sync),
) -> Vec<String> {
    let display = pack_path.display();
    let index = match gix::odb::pack::index::File::at(index_path, object_hash) {
        Ok(index) => index,
        Err(e) => return vec![format!("{}: {e}", index_path.display())],
    };
    let file = match File::open(pack_path) {
        Ok(file) => file,
        Err(e) => return vec![format!("{display}: {e}")],
    };
    let entries_end = match file.metadata() {
        Ok(meta) => meta.len().saturating_sub(object_hash.len_in_bytes() as u64),
        Err(e) => return vec![format!("{display}: {e}")],
    };
    if index.num_objects() == NO_BASE {
        return vec![format!("{display}: too many objects in one pack")];
    }
    let mut located: Vec<(u64, ObjectId)> = index.iter().map(|e| (e.pack_offset, e.oid)).collect();
    drop(index);
    located.sort_unstable_by_key(|&(offset, _)| offset);

    // Entry headers, in offset order; an offset delta's base is an earlier entry, found as the
    // list grows. Bases named by id are linked once all entries are known.
    let mut errors = Vec::new();
    let mut entries: Vec<Entry> = Vec::with_capacity(located.len());
    let mut by_id_bases: Vec<(usize, ObjectId)> = Vec::new();
    let mut window = HeaderWindow {
        file: &file,
        entries_end,
        start: 0,
        bytes: Vec::new(),
    };
    for (i, &(offset, oid)) in located.iter().enumerate() {
        let end = located.get(i + 1).map_or(entries_end, |&(next, _)| next);
        let header = match window.header(offset, end, object_hash) {
            Ok(header) => header,
            Err(e) => {
                errors.push(format!("{display}: object {oid} at offset {offset}: {e}"));
                continue;
            }
        };
        let base = match header.header {
            Header::OfsDelta { base_distance } => offset
                .checked_sub(base_distance)
                .and_then(|at| entries.binary_search_by_key(&at, |e| e.offset).ok()),
            Header::RefDelta { base_id } => {
                by_id_bases.push((entries.len(), base_id));
                None
            }
            _ => None,
        };
        entries.push(Entry {
            oid,
            offset,
            inflated_size: header.decompressed_size,
            base: base.map_or(NO_BASE, |b| b as u32),
            header_len: (header.data_offset - offset) as u8,
            is_blob: matches!(header.header, Header::Blob),
            is_delta: header.header.is_delta(),
        });
    }
    drop(located);
    if !by_id_bases.is_empty() {
        let by_id: HashMap<ObjectId, usize> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.oid, i))
            .collect();
        for (i, base_id) in by_id_bases {
            if let Some(&base) = by_id.get(&base_id) {
                entries[i].base = base as u32;
            }
        }
    }
    let forest = Forest::new(&entries);
    for entry in &entries {
        if entry.is_delta && entry.base().is_none() {
            errors.push(format!(
                "{display}: object {} at offset {}: its delta base is not in the pack",
                entry.oid, entry.offset
            ));
        }
    }

    let next_root = AtomicUsize::new(0);
    let failed = Mutex::new(errors);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                let mut walker = Walker {
                    file: &file,
                    entries_end,
                    entries: &entries,
                    forest: &forest,
                    inflater: Inflater::default(),
                };
                loop {
                    let first = next_root.fetch_add(ROOTS_PER_TAKE, Ordering::Relaxed);
                    let Some(roots) = forest.roots.get(first..) else {
                        break;
                    };
                    let mut errors = Vec::new();
                    for &root in roots.iter().take(ROOTS_PER_TAKE) {
                        let entry = &entries[root];
                        if max_size.is_some_and(|max| entry.inflated_size > max)
                            && forest.children(root).is_empty()
                        {
                            too_large(entry.oid);
                            continue;
                        }
                        walker.walk(root, visit, &mut errors);
                    }
                    if !errors.is_empty() {
                        failed
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .extend(errors.into_iter().map(|e| format!("{display}: {e}")));
                    }
                }
            });
        }
    });
    failed.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// The delta forest of a pack: each entry's children, and the blob roots.
struct Forest {
    /// Children of entry `i`: `children[child_start[i]..child_start[i + 1]]`.
    child_start: Vec<usize>,
    children: Vec<u32>,
    /// Base blobs (not deltas), in offset order.
    roots: Vec<usize>,
}

impl Forest {
    fn new(entries: &[Entry]) -> Self {
        let mut counts = vec![0usize; entries.len() + 1];
        for entry in entries {
            if let Some(base) = entry.base() {
                counts[base] += 1;
            }
        }
        let mut child_start = Vec::with_capacity(counts.len());
        let mut total = 0;
        for count in &counts {
            child_start.push(total);
            total += count;
        }
        let mut fill = child_start.clone();
        let mut children = vec![0u32; total];
        for (i, entry) in entries.iter().enumerate() {
            if let Some(base) = entry.base() {
                children[fill[base]] = i as u32;
                fill[base] += 1;
            }
        }
        let roots = entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.is_blob)
            .map(|(i, _)| i)
            .collect();
        Self {
            child_start,
            children,
            roots,
        }
    }

    fn children(&self, i: usize) -> &[u32] {
        &self.children[self.child_start[i]..self.child_start[i + 1]]
    }
}

/// One thread's reader of a pack's delta forest.
struct Walker<'a> {
    file: &'a File,
    /// Where the trailing checksum starts.
    entries_end: u64,
    entries: &'a [Entry],
    forest: &'a Forest,
    inflater: Inflater,
}

impl Walker<'_> {
    /// Visits root blob `root` and every delta built on it, depth first. An object that cannot
    /// be built is reported with the number of objects built on it, which go unvisited.
    fn walk(
        &mut self,
        root: usize,
        visit: &(dyn Fn(ObjectId, &[u8]) + Sync),
        errors: &mut Vec<String>,
    ) {
        let data = match self.inflated(root) {
            Ok(data) => data,
            Err(e) => {
                errors.push(self.lost(root, &e));
                return;
            }
        };
        visit(self.entries[root].oid, &data);
        // (entry, its bytes, next child to visit)
        let mut stack = vec![(root, data, 0usize)];
        while let Some((node, data, next)) = stack.last_mut() {
            let Some(child) = self.forest.children(*node).get(*next).map(|&c| c as usize) else {
                stack.pop();
                continue;
            };
            *next += 1;
            match self
                .inflated(child)
                .and_then(|delta| apply_delta(data, &delta))
            {
                Ok(object) => {
                    visit(self.entries[child].oid, &object);
                    stack.push((child, object, 0));
                }
                Err(e) => errors.push(self.lost(child, &e)),
            }
        }
    }

    /// Describes why entry `i` could not be built, and what is lost with it.
    fn lost(&self, i: usize, error: &str) -> String {
        let entry = &self.entries[i];
        let mut below = 0;
        let mut pending = vec![i];
        while let Some(node) = pending.pop() {
            let children = self.forest.children(node);
            below += children.len();
            pending.extend(children.iter().map(|&c| c as usize));
        }
        let lost = if below > 0 {
            format!(" ({below} objects built on it are skipped)")
        } else {
            String::new()
        };
        format!(
            "object {} at offset {}: {error}{lost}",
            entry.oid, entry.offset
        )
    }

    /// The inflated data of entry `i`: the object itself, or the delta to apply to its base.
    fn inflated(&mut self, i: usize) -> Result<Vec<u8>, String> {
        let entry = &self.entries[i];
        // An entry ends where the next one begins.
        let end = self
            .entries
            .get(i + 1)
            .map_or(self.entries_end, |next| next.offset);
        let data_offset = entry.offset + u64::from(entry.header_len);
        self.inflater
            .inflate(self.file, data_offset, end, entry.inflated_size)
    }
}

/// A reused zlib state and read buffer.
#[derive(Default)]
struct Inflater {
    inflate: gix::zlib::Inflate,
    compressed: Vec<u8>,
}

impl Inflater {
    /// Bytes read at once for an entry whose end is unknown: most trees and deltas fit, header
    /// and data, in one read.
    const SMALL_ENTRY: u64 = 4096;

    /// Reads the compressed bytes `data_offset..end` of `file` and inflates them to exactly
    /// `size` bytes.
    fn inflate(
        &mut self,
        file: &File,
        data_offset: u64,
        end: u64,
        size: u64,
    ) -> Result<Vec<u8>, String> {
        let compressed_len = end
            .checked_sub(data_offset)
            .ok_or("the entry overlaps the next one")?;
        let compressed_len = usize::try_from(compressed_len).map_err(|_| "entry too large")?;
        self.compressed.clear();
        self.compressed
            .try_reserve(compressed_len)
            .map_err(|_| format!("an entry of {compressed_len} bytes does not fit in memory"))?;
        self.compressed.resize(compressed_len, 0);
        read_at(file, &mut self.compressed, data_offset).map_err(|e| e.to_string())?;
        let size = usize::try_from(size).map_err(|_| "object too large")?;
        inflate_exact(&mut self.inflate, &self.compressed, size)
    }

    /// The header and inflated data of the entry at `at` (which ends by `limit`), with a single
    /// read when the entry is small. Without the next entry's offset, the data's end is bounded
    /// by zlib's worst case for its size.
    fn read_entry(
        &mut self,
        file: &File,
        at: u64,
        limit: u64,
        object_hash: gix::hash::Kind,
    ) -> Result<(gix::odb::pack::data::Entry, Vec<u8>), String> {
        let got = limit.saturating_sub(at).min(Self::SMALL_ENTRY);
        self.compressed.clear();
        self.compressed.resize(got as usize, 0);
        read_at(file, &mut self.compressed, at).map_err(|e| e.to_string())?;
        let head = &self.compressed[..self.compressed.len().min(HEADER_PROBE)];
        let entry = gix::odb::pack::data::Entry::from_bytes(head, at, object_hash)
            .map_err(|e| e.to_string())?;
        let end = limit.min(entry.data_offset + deflate_bound(entry.decompressed_size));
        if end > at + got {
            let data = self.inflate(file, entry.data_offset, end, entry.decompressed_size)?;
            return Ok((entry, data));
        }
        let size = usize::try_from(entry.decompressed_size).map_err(|_| "object too large")?;
        let from = (entry.data_offset - at) as usize;
        let data = inflate_exact(&mut self.inflate, &self.compressed[from..], size)?;
        Ok((entry, data))
    }
}

/// Inflates the zlib stream at the start of `compressed` into exactly `size` bytes, or says
/// why it cannot (no memory for `size`, corrupt data, a stream of another length).
pub(crate) fn inflate_exact(
    inflate: &mut gix::zlib::Inflate,
    compressed: &[u8],
    size: usize,
) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    out.try_reserve_exact(size)
        .map_err(|_| format!("an object of {size} bytes does not fit in memory"))?;
    out.resize(size, 0);
    inflate.reset();
    let (status, _, written) = inflate
        .once(compressed, &mut out)
        .map_err(|e| format!("corrupt compressed data: {e}"))?;
    if status != gix::zlib::Status::StreamEnd || written != size {
        return Err(format!(
            "compressed data ends after {written} of {size} bytes"
        ));
    }
    Ok(out)
}

/// The packs of an object database, open for positioned reads of single objects: lookups
/// that would otherwise fault pages in across a memory-mapped pack.
pub struct Packs {
    packs: Vec<IndexedPack>,
    object_hash: gix::hash::Kind,
    /// The object database's directory (its loose objects sit beside the packs).
    objects: PathBuf,
}

/// One pack with its index.
struct IndexedPack {
    index: gix::odb::pack::index::File,
    file: File,
    /// Where the trailing checksum starts: no entry reaches past it.
    entries_end: u64,
}

impl Packs {
    /// Opens every pack of the object database at `objects` (cheaply: the indices are mapped,
    /// nothing is read ahead); packs that cannot be opened are left out (lookups then find
    /// nothing there, and callers fall back to gix).
    pub fn open(objects: &Path, object_hash: gix::hash::Kind) -> Self {
        let packs = pack_indices(objects)
            .into_iter()
            .filter_map(|index_path| {
                let index = gix::odb::pack::index::File::at(&index_path, object_hash).ok()?;
                let file = File::open(index_path.with_extension("pack")).ok()?;
                let entries_end = file
                    .metadata()
                    .ok()?
                    .len()
                    .checked_sub(object_hash.len_in_bytes() as u64)?;
                Some(IndexedPack {
                    index,
                    file,
                    entries_end,
                })
            })
            .collect();
        Self {
            packs,
            object_hash,
            objects: objects.to_path_buf(),
        }
    }

    /// The object database's directory.
    pub(crate) fn objects(&self) -> &Path {
        &self.objects
    }

    /// A reader for one thread.
    pub fn cursor(&self) -> PackCursor<'_> {
        PackCursor {
            packs: self,
            inflater: Inflater::default(),
            cache: HashMap::new(),
            cached_bytes: 0,
        }
    }
}

/// The most bytes zlib can take to store `size` bytes (its `compressBound`: about one byte in
/// 3,277 of block headers, plus the stream's header and checksum), with room to spare. Reading
/// this much of an entry's data is sure to cover it without knowing where the next entry starts.
fn deflate_bound(size: u64) -> u64 {
    size + size.div_ceil(16_383) * 5 + 64
}

/// An object's kind and content, shared between the cache and its readers.
pub type Decoded = (gix::object::Kind, Rc<[u8]>);

/// Delta bases named by id followed before a lookup gives up.
const MAX_REF_DELTA_DEPTH: usize = 64;

/// Decoded objects a cursor keeps, by (pack, offset): delta bases shared by many lookups.
const CURSOR_CACHE_BYTES: usize = 16 << 20;

/// One thread's reader of single objects from [`Packs`], with a small cache of decoded objects
/// so a delta chain's bases are not inflated again for each object built on them.
pub struct PackCursor<'a> {
    packs: &'a Packs,
    inflater: Inflater,
    cache: HashMap<(usize, u64), Decoded>,
    cached_bytes: usize,
}

impl PackCursor<'_> {
    /// The kind and content of object `id`, if a pack holds it and it decodes.
    pub fn find(&mut self, id: &gix::oid) -> Option<Decoded> {
        self.find_within(id, MAX_REF_DELTA_DEPTH)
    }

    fn find_within(&mut self, id: &gix::oid, depth: usize) -> Option<Decoded> {
        let packs = self.packs;
        packs.packs.iter().enumerate().find_map(|(n, pack)| {
            let at = pack.index.lookup(id)?;
            self.object_at(n, pack.index.pack_offset_at_index(at), depth)
        })
    }

    /// The object at `offset` of pack `n`: its delta chain is followed down to a cached
    /// object or a base, then rebuilt upwards, caching each step.
    fn object_at(&mut self, n: usize, offset: u64, depth: usize) -> Option<Decoded> {
        let pack = &self.packs.packs[n];
        // Each delta of the chain, inflated on the way down to its base.
        let mut deltas = Vec::new();
        let mut at = offset;
        let (kind, mut data) = loop {
            if let Some(hit) = self.cache.get(&(n, at)) {
                break hit.clone();
            }
            let (entry, inflated) = self
                .inflater
                .read_entry(&pack.file, at, pack.entries_end, self.packs.object_hash)
                .ok()?;
            match entry.header {
                Header::OfsDelta { base_distance } => {
                    deltas.push((at, inflated));
                    // Bases come strictly earlier, so the chain ends.
                    at = at.checked_sub(base_distance.max(1))?;
                }
                Header::RefDelta { base_id } => {
                    // Rare (packs written without offset deltas): the base is looked up by id,
                    // to a bounded depth so a corrupt cycle ends.
                    deltas.push((at, inflated));
                    break self.find_within(&base_id, depth.checked_sub(1)?)?;
                }
                header => {
                    let kind = header.as_kind()?;
                    let data: Rc<[u8]> = inflated.into();
                    self.remember(n, at, kind, &data);
                    break (kind, data);
                }
            }
        };
        while let Some((at, delta)) = deltas.pop() {
            data = apply_delta(&data, &delta).ok()?.into();
            self.remember(n, at, kind, &data);
        }
        Some((kind, data))
    }

    fn remember(&mut self, n: usize, offset: u64, kind: gix::object::Kind, data: &Rc<[u8]>) {
        if data.len() > CURSOR_CACHE_BYTES / 4 {
            return;
        }
        if self.cached_bytes + data.len() > CURSOR_CACHE_BYTES {
            self.cache.clear();
            self.cached_bytes = 0;
        }
        self.cached_bytes += data.len();
        self.cache.insert((n, offset), (kind, Rc::clone(data)));
    }
}

/// The pack index files of the object database at `objects`, sorted by name.
pub(crate) fn pack_indices(objects: &Path) -> Vec<PathBuf> {
    let mut indices: Vec<PathBuf> = std::fs::read_dir(objects.join("pack"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "idx"))
                .collect()
        })
        .unwrap_or_default();
    indices.sort();
    indices
}

/// Builds an object from its base and a git delta: two size varints (base, result), then copy
/// instructions (high bit set: offset and size bytes follow, as flagged by the low seven bits)
/// and insert instructions (the low seven bits count literal bytes that follow).
fn apply_delta(base: &[u8], delta: &[u8]) -> Result<Vec<u8>, String> {
    fn size(delta: &[u8], at: &mut usize) -> Result<usize, String> {
        let mut value = 0usize;
        let mut shift = 0;
        loop {
            let byte = *delta.get(*at).ok_or("delta header is truncated")?;
            *at += 1;
            if shift >= usize::BITS {
                return Err("delta header size overflows".to_string());
            }
            value |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
    }
    let mut at = 0;
    let base_size = size(delta, &mut at)?;
    if base_size != base.len() {
        return Err(format!(
            "delta expects a base of {base_size} bytes, the base has {}",
            base.len()
        ));
    }
    let result_size = size(delta, &mut at)?;
    let mut out = Vec::new();
    out.try_reserve_exact(result_size)
        .map_err(|_| format!("object of {result_size} bytes does not fit in memory"))?;
    while let Some(&op) = delta.get(at) {
        at += 1;
        if op & 0x80 != 0 {
            // Copy: up to four offset bytes and three size bytes, little-endian, each present
            // when its flag bit is set.
            let mut fields = [0usize; 2];
            for (bit, field) in [(0, 0), (1, 0), (2, 0), (3, 0), (4, 1), (5, 1), (6, 1)] {
                if op & (1 << bit) != 0 {
                    let byte = *delta.get(at).ok_or("delta copy is truncated")?;
                    at += 1;
                    let shift = if field == 0 { bit * 8 } else { (bit - 4) * 8 };
                    fields[field] |= usize::from(byte) << shift;
                }
            }
            let [offset, mut len] = fields;
            if len == 0 {
                len = 0x10000;
            }
            let copied = offset
                .checked_add(len)
                .and_then(|end| base.get(offset..end))
                .ok_or("delta copies past the end of its base")?;
            out.extend_from_slice(copied);
        } else if op == 0 {
            return Err("delta uses the reserved instruction 0".to_string());
        } else {
            let literal = delta
                .get(at..at + usize::from(op))
                .ok_or("delta insert is truncated")?;
            out.extend_from_slice(literal);
            at += usize::from(op);
        }
        if out.len() > result_size {
            return Err("delta builds more than its declared size".to_string());
        }
    }
    if out.len() != result_size {
        return Err(format!(
            "delta builds {} bytes, its header declares {result_size}",
            out.len()
        ));
    }
    Ok(out)
}

/// Reads entry headers at ascending offsets through one large buffer: listing a pack's entries
/// costs a read per mebibyte of pack, not a read per entry.
struct HeaderWindow<'a> {
    file: &'a File,
    /// Where the trailing checksum starts: no entry reaches past it.
    entries_end: u64,
    /// The pack offset of `bytes[0]`.
    start: u64,
    bytes: Vec<u8>,
}

impl HeaderWindow<'_> {
    /// Bytes read at a time.
    const SIZE: u64 = 1 << 20;

    /// The header of the entry at `offset`, which ends before `end`.
    fn header(
        &mut self,
        offset: u64,
        end: u64,
        object_hash: gix::hash::Kind,
    ) -> Result<gix::odb::pack::data::Entry, String> {
        let len = end.saturating_sub(offset).min(HEADER_PROBE as u64);
        let held = self.start..self.start + self.bytes.len() as u64;
        if !(held.contains(&offset) && offset + len <= held.end) {
            let want = self.entries_end.saturating_sub(offset).min(Self::SIZE);
            self.bytes.resize(want as usize, 0);
            read_at(self.file, &mut self.bytes, offset).map_err(|e| e.to_string())?;
            self.start = offset;
        }
        let at = (offset - self.start) as usize;
        gix::odb::pack::data::Entry::from_bytes(
            &self.bytes[at..at + len as usize],
            offset,
            object_hash,
        )
        .map_err(|e| e.to_string())
    }
}

/// Fills `buf` from `file` at `offset`.
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// Fills `buf` from `file` at `offset`.
#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> std::io::Result<()> {
    while !buf.is_empty() {
        match std::os::windows::fs::FileExt::seek_read(file, buf, offset)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::apply_delta;

    /// A delta of `ops` that turns a base of `base_len` bytes into `result_len` bytes.
    fn delta(base_len: u8, result_len: u8, ops: &[u8]) -> Vec<u8> {
        let mut d = vec![base_len, result_len];
        d.extend_from_slice(ops);
        d
    }

    #[test]
    fn applies_copies_and_inserts() {
        let base = b"the quick brown fox";
        // copy "quick " (offset 4, size 6), insert "red ", copy "fox" (offset 16, size 3)
        let ops = [
            0x80 | 0x01 | 0x10,
            4,
            6,
            4,
            b'r',
            b'e',
            b'd',
            b' ',
            0x80 | 0x01 | 0x10,
            16,
            3,
        ];
        let built = apply_delta(base, &delta(19, 13, &ops)).expect("valid delta");
        assert_eq!(built, b"quick red fox");
    }

    #[test]
    fn random_deltas_never_panic() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let base: Vec<u8> = (0..300).map(|_| next() as u8).collect();
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let mut delta: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Often start with the right base size, so the instructions themselves are exercised.
            if next() % 2 == 0 && delta.len() >= 2 {
                delta[0] = 0xac;
                delta[1] = 0x02;
            }
            let _ = apply_delta(&base, &delta);
        }
    }

    #[test]
    fn rejects_corrupt_deltas_without_panicking() {
        let base = b"0123456789";
        // wrong base size
        assert!(apply_delta(base, &delta(9, 1, &[1, b'x'])).is_err());
        // copy beyond the base
        assert!(apply_delta(base, &delta(10, 5, &[0x80 | 0x01 | 0x10, 8, 5])).is_err());
        // insert longer than the data left
        assert!(apply_delta(base, &delta(10, 4, &[4, b'a'])).is_err());
        // result size disagrees with the header
        assert!(apply_delta(base, &delta(10, 3, &[1, b'a'])).is_err());
        // the reserved instruction
        assert!(apply_delta(base, &delta(10, 1, &[0])).is_err());
        // truncated size header
        assert!(apply_delta(base, &[0x80]).is_err());
    }
}
