//! Every blob of one pack file, each decoded once, read with positioned reads instead of a
//! memory map, and every read checked.
//!
//! A mapped pack stays resident as it is read: scanning a 5 GB pack through a map costs 5 GB of
//! resident memory by the end, however little the scanner keeps. This reader asks the index for
//! every entry's offset, reads each entry's header (a few bytes) to learn which delta base it
//! has, then walks the delta forest depth-first from each base blob: a base is inflated once, each
//! delta is inflated and applied to its base's bytes, and only the chain from the root to the
//! current object is held. Commits, trees and tags are never inflated: git deltas an object only
//! against one of its own kind. Threads take roots in offset order, so reads stay close together.
//!
//! Every entry read is checked: its packed bytes against the CRC32 that the index (version 2)
//! records, its inflated size against its header, a delta's result against the size it declares,
//! and no size is believed beyond what the bytes on disk can hold. An object that cannot be read
//! is handed to a fallback (gix's object lookup, which may find it in another pack or loose), and
//! reported as a [`PackError`] naming the pack, the object and its offset only when that fails too;
//! the walk goes on with every other object.
//!
//! [`Packs`] reads single objects the same way, for provenance's tree lookups: trees sit among
//! the blobs of a clone's pack, so looking them up through a map would fault in pages across it.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use gix::ObjectId;

/// Roots a thread takes at a time.
const ROOTS_PER_TAKE: usize = 32;
/// Bytes read to parse an entry header: type and size varint, then an offset varint or an id.
const HEADER_PROBE: usize = 64;
/// The most bytes deflate can produce from one byte of its stream (its best case, long runs of
/// one byte, is 258 bytes per two bits). An entry whose header claims more than its compressed
/// bytes times this is corrupt, and is refused before anything is allocated for it.
const MAX_INFLATE_RATIO: u64 = 1032;
/// A copy instruction of a delta builds at most this many bytes (three size bytes).
const MAX_DELTA_COPY: usize = 0xff_ffff;

/// No base: the entry is an object, or its base could not be found.
const NO_BASE: u32 = u32::MAX;

/// Why a pack, or an object in it, could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The pack or its index could not be opened, or is not a pack: none of its objects is read.
    #[error("{}: cannot be read: {message}", path.display())]
    Open {
        /// The pack or index file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// An object of the pack could not be read, nor found by the fallback lookup. Each object
    /// built on it (as a delta) that the fallback could not find either is reported too, with
    /// [`EntryError::BaseLost`].
    #[error(
        "{}: object {id} at offset {offset}: {error}{}{}",
        pack.display(),
        fallback_note(.fallback.as_deref()),
        lost_note(*.lost)
    )]
    Object {
        /// The pack file.
        pack: PathBuf,
        /// The object's id.
        id: ObjectId,
        /// Where its entry starts in the pack.
        offset: u64,
        /// What is wrong with it.
        #[source]
        error: Box<EntryError>,
        /// Why the fallback lookup failed too, when it was tried.
        fallback: Option<String>,
        /// How many objects built on it (as deltas) could not be read for want of it.
        lost: usize,
    },
    /// A pack's (or its index's) trailing checksum does not match its content.
    #[error("{}: {detail}", path.display())]
    Checksum {
        /// The pack or index file.
        path: PathBuf,
        /// Which checksum, and what was found.
        detail: String,
    },
}

pub(crate) fn fallback_note(fallback: Option<&str>) -> String {
    fallback.map_or_else(String::new, |e| format!("; gix cannot read it either: {e}"))
}

fn lost_note(lost: usize) -> String {
    match lost {
        0 => String::new(),
        1 => " (1 object built on it is lost with it)".to_string(),
        n => format!(" ({n} objects built on it are lost with it)"),
    }
}

/// What is wrong with one pack entry.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    /// The entry could not be read from the file.
    #[error("cannot read it: {0}")]
    Read(#[source] std::io::Error),
    /// The entry starts at or past the end of the pack's data (a truncated pack).
    #[error("the pack's data ends at {end}, before the entry")]
    PastEnd {
        /// Where the pack's data ends (its trailing checksum starts).
        end: u64,
    },
    /// The entry's bytes differ from those the index recorded the CRC32 of.
    #[error(
        "its packed bytes do not match the CRC32 in the index (recorded {expected:08x}, read {actual:08x})"
    )]
    Crc {
        /// The CRC32 the index records.
        expected: u32,
        /// The CRC32 of the bytes read.
        actual: u32,
    },
    /// The entry's header does not parse.
    #[error("malformed entry header: {0}")]
    Header(&'static str),
    /// The header claims more bytes than the entry's compressed bytes can inflate to.
    #[error(
        "its header claims {claimed} bytes, more than its {compressed} compressed bytes can hold"
    )]
    ImplausibleSize {
        /// The size the header claims.
        claimed: u64,
        /// The compressed bytes there are.
        compressed: u64,
    },
    /// Memory for the object could not be had.
    #[error("{0} bytes do not fit in memory")]
    NoMemory(u64),
    /// The compressed data does not inflate.
    #[error("corrupt compressed data: {0}")]
    Corrupt(String),
    /// The compressed data inflates to another size than the header declares.
    #[error("its compressed data does not inflate to the {size} bytes its header declares")]
    WrongSize {
        /// The size the header declares.
        size: u64,
    },
    /// The entry is a delta that does not apply to its base.
    #[error("bad delta: {0}")]
    Delta(#[from] DeltaError),
    /// The entry is a delta whose base the pack does not hold.
    #[error("its delta base {0} is not in the pack")]
    MissingBase(String),
    /// The entry is a delta whose chain of bases never reaches an object (a cycle).
    #[error("its chain of delta bases never reaches an object")]
    NoChainEnd,
    /// The entry is a delta built on an object that could not be read.
    #[error("its delta base {0} could not be read")]
    BaseLost(ObjectId),
    /// The object decoded, but its content does not hash to its id.
    #[error("its content hashes to {0}")]
    HashMismatch(ObjectId),
}

/// Why a delta does not apply to its base.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeltaError {
    /// A size in the delta's header is cut short.
    #[error("its header is truncated")]
    HeaderTruncated,
    /// A size in the delta's header does not fit in a machine word.
    #[error("a size in its header overflows")]
    SizeOverflow,
    /// The delta is for a base of another size.
    #[error("it expects a base of {expected} bytes, the base has {actual}")]
    BaseSize {
        /// The base size the delta declares.
        expected: usize,
        /// The base's size.
        actual: usize,
    },
    /// The delta declares a result larger than its instructions can build.
    #[error("it declares {declared} bytes, more than its instructions can build")]
    ImplausibleSize {
        /// The declared result size.
        declared: usize,
    },
    /// Memory for the result could not be had.
    #[error("a result of {0} bytes does not fit in memory")]
    NoMemory(usize),
    /// A copy instruction is cut short.
    #[error("a copy instruction is truncated")]
    CopyTruncated,
    /// A copy instruction reaches past the end of the base.
    #[error("it copies past the end of its base")]
    CopyOutOfBounds,
    /// An insert instruction names more bytes than the delta has left.
    #[error("an insert instruction is truncated")]
    InsertTruncated,
    /// The reserved instruction 0.
    #[error("it uses the reserved instruction 0")]
    Reserved,
    /// The instructions build another size than the header declares.
    #[error("it builds {built} bytes, its header declares {declared}")]
    ResultSize {
        /// Bytes the instructions build (up to the first past the declared size).
        built: usize,
        /// The declared result size.
        declared: usize,
    },
}

/// What a pack entry is, from its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    /// A whole object of this kind.
    Object(gix::object::Kind),
    /// A delta against the entry this many bytes earlier.
    OfsDelta(u64),
    /// A delta against the object with this id.
    RefDelta(ObjectId),
}

/// A parsed pack entry header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct EntryHeader {
    pub(crate) kind: EntryKind,
    /// The inflated size: the object's, or the delta's.
    pub(crate) size: u64,
    /// Bytes of the header: the compressed data follows.
    pub(crate) len: usize,
}

/// Parses the header at the start of `bytes` (an entry at pack offset `offset`).
pub(crate) fn parse_header(
    bytes: &[u8],
    offset: u64,
    object_hash: gix::hash::Kind,
) -> Result<EntryHeader, EntryError> {
    let mut at = 0;
    let mut next = || {
        let byte = bytes.get(at).copied();
        at += 1;
        byte.ok_or(EntryError::Header("it is truncated"))
    };
    let mut byte = next()?;
    let type_id = (byte >> 4) & 0b111;
    let mut size = u64::from(byte & 0b1111);
    let mut shift = 4u32;
    while byte & 0x80 != 0 {
        byte = next()?;
        let bits = u64::from(byte & 0x7f);
        if shift >= u64::BITS || (bits << shift) >> shift != bits {
            return Err(EntryError::Header("its size overflows"));
        }
        size |= bits << shift;
        shift += 7;
    }
    let kind = match type_id {
        1 => EntryKind::Object(gix::object::Kind::Commit),
        2 => EntryKind::Object(gix::object::Kind::Tree),
        3 => EntryKind::Object(gix::object::Kind::Blob),
        4 => EntryKind::Object(gix::object::Kind::Tag),
        6 => {
            // Git's offset encoding: each continuation adds one before shifting, so no value
            // has two encodings.
            let mut byte = next()?;
            let mut distance = u64::from(byte & 0x7f);
            while byte & 0x80 != 0 {
                byte = next()?;
                distance = distance
                    .checked_add(1)
                    .and_then(|d| d.checked_mul(128))
                    .map(|d| d | u64::from(byte & 0x7f))
                    .ok_or(EntryError::Header("its base distance overflows"))?;
            }
            if distance == 0 || distance > offset {
                return Err(EntryError::Header("its base lies outside the pack"));
            }
            EntryKind::OfsDelta(distance)
        }
        7 => {
            let len = object_hash.len_in_bytes();
            let id = bytes
                .get(at..at + len)
                .and_then(|id| ObjectId::try_from(id).ok())
                .ok_or(EntryError::Header("its base id is truncated"))?;
            at += len;
            EntryKind::RefDelta(id)
        }
        _ => return Err(EntryError::Header("its object type is not one git writes")),
    };
    Ok(EntryHeader {
        kind,
        size,
        len: at,
    })
}

/// Decodes a whole pack entry, `bytes` (header and compressed data, nothing after): its header
/// and its inflated data (the object, or the delta to apply to its base).
pub(crate) fn decode_entry(
    inflate: &mut gix::zlib::Inflate,
    bytes: &[u8],
    offset: u64,
    object_hash: gix::hash::Kind,
) -> Result<(EntryHeader, Vec<u8>), EntryError> {
    let probe = &bytes[..bytes.len().min(HEADER_PROBE)];
    let header = parse_header(probe, offset, object_hash)?;
    let data = inflate_exact(inflate, &bytes[header.len..], header.size)?;
    Ok((header, data))
}

/// One pack entry: where it is, and the delta base it names. Kept small: a large repository's
/// pack holds millions of entries, all listed before the walk.
struct Entry {
    oid: ObjectId,
    offset: u64,
    /// Where the entry ends: the next entry's offset, or the end of the pack's data.
    end: u64,
    /// The inflated size: the object's, or the delta's.
    inflated_size: u64,
    /// The index (in offset order) of the entry this one is a delta against, or [`NO_BASE`].
    base: u32,
    /// The CRC32 the index records of the entry's bytes (index version 2).
    crc32: Option<u32>,
    /// Bytes of the entry's header: its compressed data starts after them.
    header_len: u8,
    /// Whether the entry is an object (not a delta) of kind blob.
    is_blob: bool,
    is_delta: bool,
}

impl Entry {
    fn base(&self) -> Option<usize> {
        (self.base != NO_BASE).then_some(self.base as usize)
    }
}

/// What a walk over the blobs of a pack does with what it finds.
pub(crate) struct BlobWalk<'a> {
    /// Threads to walk with.
    pub(crate) threads: usize,
    /// Blobs larger than this that no delta is built on are never read.
    pub(crate) max_size: Option<u64>,
    /// Hash every object built against its id.
    pub(crate) verify_objects: bool,
    /// Gets the id and content of every blob read.
    pub(crate) visit: &'a (dyn Fn(ObjectId, &[u8]) + Sync),
    /// Gets the id and size of every blob over `max_size`, not read.
    pub(crate) too_large: &'a (dyn Fn(ObjectId, u64) + Sync),
    /// Looks up an object that this reader could not build (gix's lookup): its kind and content,
    /// already checked against its id, or why it cannot be found.
    pub(crate) fallback:
        &'a (dyn Fn(ObjectId) -> Result<(gix::object::Kind, Vec<u8>), String> + Sync),
}

/// Calls `walk.visit` with the id and content of every blob in the pack at `pack_path` (with its
/// index at `index_path`). A blob larger than `max_size` that no delta is built on is never read:
/// `too_large` gets its id and size. Objects that cannot be built are looked up through `fallback`;
/// returns those it could not find either, each naming the pack and the object. Every other
/// blob is still visited.
pub(crate) fn for_each_blob_in_pack(
    index_path: &Path,
    pack_path: &Path,
    object_hash: gix::hash::Kind,
    walk: &BlobWalk<'_>,
) -> Vec<PackError> {
    let opened = match open_pack(index_path, pack_path, object_hash) {
        Ok(opened) => opened,
        Err(e) => return vec![e],
    };
    let IndexedPack {
        index,
        file,
        entries_end,
        ..
    } = opened;
    if index.num_objects() == NO_BASE {
        return vec![PackError::Open {
            path: pack_path.to_path_buf(),
            message: "too many objects in one pack".to_string(),
        }];
    }
    let mut located: Vec<(u64, ObjectId, Option<u32>)> = index
        .iter()
        .map(|e| (e.pack_offset, e.oid, e.crc32))
        .collect();
    drop(index);
    located.sort_unstable_by_key(|&(offset, _, _)| offset);

    // Entry headers, in offset order; an offset delta's base is an earlier entry, found as the
    // list grows. Bases named by id are linked once all entries are known. Entries whose header
    // cannot be read are left for the fallback.
    let mut broken: Vec<(ObjectId, u64, EntryError)> = Vec::new();
    let mut entries: Vec<Entry> = Vec::with_capacity(located.len());
    let mut by_id_bases: Vec<(usize, ObjectId)> = Vec::new();
    // Deltas whose base is not an entry: what they name, for the report.
    let mut unresolved: HashMap<usize, String> = HashMap::new();
    let mut window = HeaderWindow {
        file: &file,
        entries_end,
        start: 0,
        bytes: Vec::new(),
    };
    for (i, &(offset, oid, crc32)) in located.iter().enumerate() {
        let end = located
            .get(i + 1)
            .map_or(entries_end, |&(next, _, _)| next)
            .min(entries_end);
        let header = match window.header(offset, end, object_hash) {
            Ok(header) => header,
            Err(e) => {
                broken.push((oid, offset, e));
                continue;
            }
        };
        let base = match header.kind {
            EntryKind::OfsDelta(distance) => {
                let at = offset - distance;
                let found = entries.binary_search_by_key(&at, |e| e.offset).ok();
                if found.is_none() {
                    unresolved.insert(entries.len(), format!("at offset {at}"));
                }
                found
            }
            EntryKind::RefDelta(base_id) => {
                by_id_bases.push((entries.len(), base_id));
                None
            }
            EntryKind::Object(_) => None,
        };
        entries.push(Entry {
            oid,
            offset,
            end,
            inflated_size: header.size,
            base: base.map_or(NO_BASE, |b| b as u32),
            crc32,
            // At most HEADER_PROBE bytes were parsed.
            header_len: header.len as u8,
            is_blob: header.kind == EntryKind::Object(gix::object::Kind::Blob),
            is_delta: !matches!(header.kind, EntryKind::Object(_)),
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
            match by_id.get(&base_id) {
                Some(&base) if base != i => entries[i].base = base as u32,
                _ => {
                    unresolved.insert(i, base_id.to_string());
                }
            }
        }
    }
    let forest = Forest::new(&entries);

    let failed = Mutex::new(Vec::new());
    let report = |errors: Vec<PackError>| {
        if !errors.is_empty() {
            failed
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .extend(errors);
        }
    };
    let next_root = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..walk.threads.max(1) {
            scope.spawn(|| {
                let mut walker = Walker {
                    pack: pack_path,
                    file: &file,
                    object_hash,
                    entries: &entries,
                    forest: &forest,
                    walk,
                    inflate: gix::zlib::Inflate::default(),
                    buffer: Vec::new(),
                    errors: Vec::new(),
                };
                loop {
                    let first = next_root.fetch_add(ROOTS_PER_TAKE, Ordering::Relaxed);
                    let Some(roots) = forest.roots.get(first..) else {
                        break;
                    };
                    for &root in roots.iter().take(ROOTS_PER_TAKE) {
                        let entry = &entries[root];
                        if walk.max_size.is_some_and(|max| entry.inflated_size > max)
                            && forest.children(root).is_empty()
                        {
                            (walk.too_large)(entry.oid, entry.inflated_size);
                            continue;
                        }
                        walker.walk(root);
                    }
                    report(std::mem::take(&mut walker.errors));
                }
            });
        }
    });

    // What the walk from the roots never reached: deltas whose chain ends at no entry (a missing
    // base, a cycle), and entries whose header is unreadable. Each is looked up through the
    // fallback; only those it cannot find are reported.
    let mut errors = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if !entry.is_delta || forest.reached_object[i] {
            continue;
        }
        let error = match unresolved.remove(&i) {
            Some(base) => EntryError::MissingBase(base),
            None => EntryError::NoChainEnd,
        };
        if let Some(e) = recover(walk, pack_path, entry.oid, entry.offset, error) {
            errors.push(e);
        }
    }
    for (oid, offset, error) in broken {
        if let Some(e) = recover(walk, pack_path, oid, offset, error) {
            errors.push(e);
        }
    }
    let mut failed = failed.into_inner().unwrap_or_else(|p| p.into_inner());
    failed.extend(errors);
    failed
}

/// Looks `id` up through the fallback, visiting it if it is a blob; the error to report when
/// the fallback cannot find it either.
fn recover(
    walk: &BlobWalk<'_>,
    pack: &Path,
    id: ObjectId,
    offset: u64,
    error: EntryError,
) -> Option<PackError> {
    match fallback(walk, id, &error) {
        Ok((kind, data)) => {
            if kind == gix::object::Kind::Blob {
                (walk.visit)(id, &data);
            }
            None
        }
        Err(fallback) => Some(PackError::Object {
            pack: pack.to_path_buf(),
            id,
            offset,
            error: Box::new(error),
            fallback,
            lost: 0,
        }),
    }
}

/// The fallback's answer for `id`, which could not be built for `error`; `Err(None)` when it is
/// not asked: a header that claims an impossible size would make gix allocate it.
fn fallback(
    walk: &BlobWalk<'_>,
    id: ObjectId,
    error: &EntryError,
) -> Result<(gix::object::Kind, Vec<u8>), Option<String>> {
    if matches!(error, EntryError::ImplausibleSize { .. }) {
        return Err(None);
    }
    (walk.fallback)(id).map_err(Some)
}

/// The delta forest of a pack: each entry's children, and the blob roots.
struct Forest {
    /// Children of entry `i`: `children[child_start[i]..child_start[i + 1]]`.
    child_start: Vec<usize>,
    children: Vec<u32>,
    /// Base blobs (not deltas), in offset order.
    roots: Vec<usize>,
    /// Whether each entry's chain of bases ends at an object (not a delta) of the pack.
    reached_object: Vec<bool>,
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
        let mut forest = Self {
            child_start,
            children,
            roots,
            reached_object: Vec::new(),
        };
        let mut reached = vec![false; entries.len()];
        let mut pending: Vec<usize> = (0..entries.len())
            .filter(|&i| !entries[i].is_delta)
            .collect();
        while let Some(node) = pending.pop() {
            reached[node] = true;
            pending.extend(forest.children(node).iter().map(|&c| c as usize));
        }
        forest.reached_object = reached;
        forest
    }

    fn children(&self, i: usize) -> &[u32] {
        &self.children[self.child_start[i]..self.child_start[i + 1]]
    }
}

/// One thread's reader of a pack's delta forest.
struct Walker<'a> {
    pack: &'a Path,
    file: &'a File,
    object_hash: gix::hash::Kind,
    entries: &'a [Entry],
    forest: &'a Forest,
    walk: &'a BlobWalk<'a>,
    inflate: gix::zlib::Inflate,
    /// The packed bytes of the entry being read.
    buffer: Vec<u8>,
    /// What could not be read, to report.
    errors: Vec<PackError>,
}

impl Walker<'_> {
    /// Visits root blob `root` and every delta built on it, depth first. An object that cannot
    /// be built is looked up through the fallback; the objects built on it are then built on
    /// what the fallback found, or looked up through it one by one.
    fn walk(&mut self, root: usize) {
        // (entry, its bytes, next child to visit)
        let mut stack: Vec<(usize, Vec<u8>, usize)> = Vec::new();
        match self
            .inflated(root)
            .and_then(|data| self.checked(root, data))
        {
            Ok(data) => {
                (self.walk.visit)(self.entries[root].oid, &data);
                stack.push((root, data, 0));
            }
            Err(e) => self.recover(root, e, &mut stack),
        }
        while let Some((node, data, next)) = stack.last_mut() {
            let Some(child) = self.forest.children(*node).get(*next).map(|&c| c as usize) else {
                stack.pop();
                continue;
            };
            *next += 1;
            let built = self
                .inflated(child)
                .and_then(|delta| Ok(apply_delta(data, &delta)?))
                .and_then(|object| self.checked(child, object));
            match built {
                Ok(object) => {
                    (self.walk.visit)(self.entries[child].oid, &object);
                    stack.push((child, object, 0));
                }
                Err(e) => self.recover(child, e, &mut stack),
            }
        }
    }

    /// Entry `i` could not be built for `error`: looks it up through the fallback, then pushes
    /// it onto `stack` (so what is built on it is built on the fallback's bytes). When the
    /// fallback cannot find it, its descendants are looked up one by one: those found go onto
    /// the stack, the others are reported as lost with it.
    fn recover(&mut self, i: usize, error: EntryError, stack: &mut Vec<(usize, Vec<u8>, usize)>) {
        let id = self.entries[i].oid;
        let failed = match fallback(self.walk, id, &error) {
            Ok((kind, data)) => {
                // A delta has its base's kind: only blobs are visited, and built on.
                if kind == gix::object::Kind::Blob {
                    (self.walk.visit)(id, &data);
                    stack.push((i, data, 0));
                }
                return;
            }
            Err(fallback) => fallback,
        };
        let mut lost = Vec::new();
        let mut pending: Vec<(usize, ObjectId)> = self
            .forest
            .children(i)
            .iter()
            .map(|&c| (c as usize, id))
            .collect();
        while let Some((node, base)) = pending.pop() {
            let child = &self.entries[node];
            let lost_base = EntryError::BaseLost(base);
            match fallback(self.walk, child.oid, &lost_base) {
                Ok((gix::object::Kind::Blob, data)) => {
                    (self.walk.visit)(child.oid, &data);
                    stack.push((node, data, 0));
                }
                Ok(_) => {}
                Err(fallback) => {
                    lost.push((node, lost_base, fallback));
                    pending.extend(
                        self.forest
                            .children(node)
                            .iter()
                            .map(|&c| (c as usize, child.oid)),
                    );
                }
            }
        }
        let entry = &self.entries[i];
        self.errors.push(PackError::Object {
            pack: self.pack.to_path_buf(),
            id,
            offset: entry.offset,
            error: Box::new(error),
            fallback: failed,
            lost: lost.len(),
        });
        for (node, error, fallback) in lost {
            let entry = &self.entries[node];
            self.errors.push(PackError::Object {
                pack: self.pack.to_path_buf(),
                id: entry.oid,
                offset: entry.offset,
                error: Box::new(error),
                fallback,
                lost: 0,
            });
        }
    }

    /// `data`, the content built for entry `i`, once it hashes to the entry's id (when asked).
    fn checked(&self, i: usize, data: Vec<u8>) -> Result<Vec<u8>, EntryError> {
        if self.walk.verify_objects {
            let expected = self.entries[i].oid;
            let actual = hash_object(self.object_hash, gix::object::Kind::Blob, &data)?;
            if actual != expected {
                return Err(EntryError::HashMismatch(actual));
            }
        }
        Ok(data)
    }

    /// The inflated data of entry `i`: the object itself, or the delta to apply to its base;
    /// its packed bytes checked against the index's CRC32 first.
    fn inflated(&mut self, i: usize) -> Result<Vec<u8>, EntryError> {
        let entry = &self.entries[i];
        read_entry_bytes(self.file, entry.offset, entry.end, &mut self.buffer)?;
        check_crc(&self.buffer, entry.crc32)?;
        let data = self
            .buffer
            .get(usize::from(entry.header_len)..)
            .unwrap_or_default();
        inflate_exact(&mut self.inflate, data, entry.inflated_size)
    }
}

/// The id of an object of `kind` with content `data`.
pub(crate) fn hash_object(
    object_hash: gix::hash::Kind,
    kind: gix::object::Kind,
    data: &[u8],
) -> Result<ObjectId, EntryError> {
    gix::objs::compute_hash(object_hash, kind, data)
        .map_err(|e| EntryError::Corrupt(format!("its content cannot be hashed: {e}")))
}

/// Reads the packed bytes `offset..end` of `file` into `buffer`, allocating no more than the
/// file holds.
fn read_entry_bytes(
    file: &File,
    offset: u64,
    end: u64,
    buffer: &mut Vec<u8>,
) -> Result<(), EntryError> {
    let len = end
        .checked_sub(offset)
        .filter(|&len| len > 0)
        .ok_or(EntryError::Header("the entry has no bytes"))?;
    let len = usize::try_from(len).map_err(|_| EntryError::NoMemory(len))?;
    buffer.clear();
    buffer
        .try_reserve_exact(len)
        .map_err(|_| EntryError::NoMemory(len as u64))?;
    buffer.resize(len, 0);
    read_at(file, buffer, offset).map_err(EntryError::Read)
}

/// Checks an entry's packed bytes against the CRC32 its index records, when it records one.
fn check_crc(bytes: &[u8], expected: Option<u32>) -> Result<(), EntryError> {
    match expected {
        Some(expected) => {
            let actual = crc32fast::hash(bytes);
            if actual == expected {
                Ok(())
            } else {
                Err(EntryError::Crc { expected, actual })
            }
        }
        None => Ok(()),
    }
}

/// Objects up to this size are inflated in one call by libdeflate, into a buffer of the declared
/// size (zeroed: at most this much memory is touched for a size a corrupt header claims);
/// larger ones, and any that libdeflate cannot inflate to their declared size (whose error then
/// comes from zlib), stream through zlib. On git's objects libdeflate took about half zlib-rs's time
/// (29.5k trees, commits and blobs of git/git, 643 MB: 1.0-1.5 s against 2.4-2.8 s, on a
/// loaded machine).
const ONE_SHOT_MAX: usize = 4 << 20;

thread_local! {
    /// Each thread's libdeflate state, for [`inflate_exact`].
    static ONE_SHOT: std::cell::RefCell<libdeflater::Decompressor> =
        std::cell::RefCell::new(libdeflater::Decompressor::new());
}

/// Output bytes first made ready for an inflate: more are made ready (doubling) only as the
/// stream fills them, so a header that lies about its size costs what the stream produces.
const FIRST_OUTPUT: usize = 64 << 10;

/// Inflates the zlib stream at the start of `compressed` into exactly `size` bytes, or says
/// why it cannot (a size its compressed bytes cannot hold, no memory for it, corrupt data, a
/// stream of another length). Nothing is allocated for a size the data cannot hold, and the
/// memory touched grows with what the stream actually produces, not with what it claims.
pub(crate) fn inflate_exact(
    inflate: &mut gix::zlib::Inflate,
    compressed: &[u8],
    size: u64,
) -> Result<Vec<u8>, EntryError> {
    let compressed_len = compressed.len() as u64;
    if size > compressed_len.saturating_mul(MAX_INFLATE_RATIO) {
        return Err(EntryError::ImplausibleSize {
            claimed: size,
            compressed: compressed_len,
        });
    }
    let len = usize::try_from(size).map_err(|_| EntryError::NoMemory(size))?;
    if len <= ONE_SHOT_MAX {
        let mut out = Vec::new();
        out.try_reserve_exact(len)
            .map_err(|_| EntryError::NoMemory(size))?;
        out.resize(len, 0);
        let one_shot =
            ONE_SHOT.with_borrow_mut(|one_shot| one_shot.zlib_decompress(compressed, &mut out));
        if one_shot.is_ok_and(|written| written == len) {
            return Ok(out);
        }
        // Corrupt, or not of its declared size: zlib below says which, as it always has.
    }
    let mut out = Vec::new();
    // Reserved, not touched: the capacity is only made ready as the stream fills it.
    out.try_reserve_exact(len)
        .map_err(|_| EntryError::NoMemory(size))?;
    out.resize(len.min(FIRST_OUTPUT), 0);
    inflate.reset();
    let (mut read, mut written) = (0, 0);
    loop {
        // The zlib state keeps its own window, so the stream continues into a fresh slice.
        let (status, more_in, more_out) = inflate
            .once(&compressed[read..], &mut out[written..])
            .map_err(|e| EntryError::Corrupt(e.to_string()))?;
        read += more_in;
        written += more_out;
        if status == gix::zlib::Status::StreamEnd {
            break;
        }
        if written == out.len() && out.len() < len {
            out.resize(len.min(out.len().saturating_mul(2)), 0);
        } else if more_in == 0 && more_out == 0 {
            // No progress: the input ran out, or the stream wants more room than declared.
            return Err(EntryError::WrongSize { size });
        }
    }
    if written != len {
        return Err(EntryError::WrongSize { size });
    }
    Ok(out)
}

/// The packs of an object database (and of its alternates), open for positioned reads of single
/// objects: lookups that would otherwise fault pages in across a memory-mapped pack.
pub struct Packs {
    packs: Vec<IndexedPack>,
    object_hash: gix::hash::Kind,
    /// The object database's directory (its loose objects sit beside the packs).
    objects: PathBuf,
    /// Packs that could not be opened, and alternates that could not be read.
    errors: Vec<PackError>,
}

/// One pack with its index.
struct IndexedPack {
    index: gix::odb::pack::index::File,
    file: File,
    /// Where the trailing checksum starts: no entry reaches past it.
    entries_end: u64,
    /// Every entry's offset with its position in the index, in offset order: where each entry
    /// ends, and its CRC32. Listed on the first lookup.
    by_offset: OnceLock<Vec<(u64, u32)>>,
}

impl IndexedPack {
    /// Where the entry at `offset` ends, and the CRC32 of its bytes; `None` if no entry starts
    /// there.
    fn entry_at(&self, offset: u64) -> Option<(u64, Option<u32>)> {
        let by_offset = self.by_offset.get_or_init(|| {
            let mut listed: Vec<(u64, u32)> = (0..self.index.num_objects())
                .map(|i| (self.index.pack_offset_at_index(i), i))
                .collect();
            listed.sort_unstable();
            listed
        });
        let at = by_offset.binary_search_by_key(&offset, |&(o, _)| o).ok()?;
        let end = by_offset
            .get(at + 1)
            .map_or(self.entries_end, |&(next, _)| next)
            .min(self.entries_end);
        Some((end, self.index.crc32_at_index(by_offset[at].1)))
    }
}

/// Opens the pack at `pack_path` with its index at `index_path`.
fn open_pack(
    index_path: &Path,
    pack_path: &Path,
    object_hash: gix::hash::Kind,
) -> Result<IndexedPack, PackError> {
    let index =
        gix::odb::pack::index::File::at(index_path, object_hash).map_err(|e| PackError::Open {
            path: index_path.to_path_buf(),
            message: e.to_string(),
        })?;
    let open_error = |e: std::io::Error| PackError::Open {
        path: pack_path.to_path_buf(),
        message: e.to_string(),
    };
    let file = File::open(pack_path).map_err(open_error)?;
    let len = file.metadata().map_err(open_error)?.len();
    // A 12-byte header, then the entries, then the trailing checksum.
    let entries_end = len
        .checked_sub(object_hash.len_in_bytes() as u64)
        .filter(|&end| end >= 12)
        .ok_or_else(|| PackError::Open {
            path: pack_path.to_path_buf(),
            message: format!("{len} bytes are too few for a pack"),
        })?;
    Ok(IndexedPack {
        index,
        file,
        entries_end,
        by_offset: OnceLock::new(),
    })
}

impl Packs {
    /// Opens every pack of the object database at `objects` and of its alternates (cheaply: the
    /// indices are mapped, nothing is read ahead). Packs that cannot be opened are left out
    /// (lookups then find nothing there, and callers fall back to gix) and listed in
    /// [`Self::errors`].
    pub fn open(objects: &Path, object_hash: gix::hash::Kind) -> Self {
        let (dirs, alternates) = crate::alternates::object_dirs(objects);
        let mut errors: Vec<PackError> = alternates
            .into_iter()
            .map(|e| PackError::Open {
                path: e.path().to_path_buf(),
                message: e.to_string(),
            })
            .collect();
        let mut packs = Vec::new();
        for dir in &dirs {
            for index_path in pack_indices(dir) {
                match open_pack(&index_path, &index_path.with_extension("pack"), object_hash) {
                    Ok(pack) => packs.push(pack),
                    Err(e) => errors.push(e),
                }
            }
        }
        Self {
            packs,
            object_hash,
            objects: objects.to_path_buf(),
            errors,
        }
    }

    /// The object database's directory.
    pub(crate) fn objects(&self) -> &Path {
        &self.objects
    }

    /// The packs that could not be opened (and alternates that could not be read): their
    /// objects are found only through gix, if at all.
    pub fn errors(&self) -> &[PackError] {
        &self.errors
    }

    /// A reader for one thread.
    pub fn cursor(&self) -> PackCursor<'_> {
        PackCursor {
            packs: self,
            inflate: gix::zlib::Inflate::default(),
            buffer: Vec::new(),
            cache: HashMap::new(),
            cached_bytes: 0,
            budget: CURSOR_CACHE_BYTES,
            clock: 0,
        }
    }
}

/// An object's kind and content, shared between the cache and its readers.
pub type Decoded = (gix::object::Kind, Rc<Vec<u8>>);

/// Delta bases named by id followed before a lookup gives up.
const MAX_REF_DELTA_DEPTH: usize = 64;

/// Decoded objects a cursor keeps, by (pack, offset): delta bases shared by many lookups.
const CURSOR_CACHE_BYTES: usize = 16 << 20;

/// One thread's reader of single objects from [`Packs`], with a small cache of decoded objects
/// so a delta chain's bases are not inflated again for each object built on them. Every entry
/// read is checked as the pack walk checks it.
pub struct PackCursor<'a> {
    packs: &'a Packs,
    inflate: gix::zlib::Inflate,
    buffer: Vec<u8>,
    /// Decoded delta bases by (pack, offset), each with the tick it was last used at.
    cache: HashMap<(usize, u64), (Decoded, u64)>,
    cached_bytes: usize,
    /// The most bytes the cache holds ([`CURSOR_CACHE_BYTES`]).
    budget: usize,
    /// Counts cache uses, for evicting the least recently used.
    clock: u64,
}

impl PackCursor<'_> {
    /// The kind and content of object `id`, if a pack holds it and it decodes.
    pub fn find(&mut self, id: &gix::oid) -> Option<Decoded> {
        self.find_within(id, MAX_REF_DELTA_DEPTH, false)
    }

    /// [`Self::find`], following at most `depth` bases named by id; `is_base`: the object is
    /// a delta base (named by a ref delta), to be cached like every other base.
    fn find_within(&mut self, id: &gix::oid, depth: usize, is_base: bool) -> Option<Decoded> {
        let packs = self.packs;
        packs.packs.iter().enumerate().find_map(|(n, pack)| {
            let at = pack.index.lookup(id)?;
            self.object_at(n, pack.index.pack_offset_at_index(at), depth, is_base)
                .ok()
        })
    }

    /// The object at `offset` of pack `n`: its delta chain is followed down to a cached
    /// object or a base, then rebuilt upwards, caching each base on the way (and the object
    /// itself when `is_base`).
    fn object_at(
        &mut self,
        n: usize,
        offset: u64,
        depth: usize,
        is_base: bool,
    ) -> Result<Decoded, EntryError> {
        let pack = &self.packs.packs[n];
        // Each delta of the chain, inflated on the way down to its base.
        let mut deltas = Vec::new();
        let mut at = offset;
        let (kind, mut data) = loop {
            if let Some((hit, used)) = self.cache.get_mut(&(n, at)) {
                self.clock += 1;
                *used = self.clock;
                break hit.clone();
            }
            if at >= pack.entries_end {
                return Err(EntryError::PastEnd {
                    end: pack.entries_end,
                });
            }
            let (end, crc32) = pack
                .entry_at(at)
                .ok_or_else(|| EntryError::MissingBase(format!("at offset {at}")))?;
            read_entry_bytes(&pack.file, at, end, &mut self.buffer)?;
            check_crc(&self.buffer, crc32)?;
            let (header, inflated) =
                decode_entry(&mut self.inflate, &self.buffer, at, self.packs.object_hash)?;
            match header.kind {
                EntryKind::OfsDelta(distance) => {
                    deltas.push((at, inflated));
                    // Bases come strictly earlier (the header parser checks), so the chain ends.
                    at -= distance;
                }
                EntryKind::RefDelta(base_id) => {
                    // Rare (packs written without offset deltas): the base is looked up by id,
                    // to a bounded depth so a corrupt cycle ends.
                    deltas.push((at, inflated));
                    let depth = depth.checked_sub(1).ok_or(EntryError::NoChainEnd)?;
                    break self
                        .find_within(&base_id, depth, true)
                        .ok_or_else(|| EntryError::MissingBase(base_id.to_string()))?;
                }
                EntryKind::Object(kind) => {
                    // Shared as built: turning the buffer into an `Rc<[u8]>` would copy it.
                    let data = Rc::new(inflated);
                    // The object asked for is kept only when it is a base of another one
                    // asked for later (then it is met again on a chain's way down): most are
                    // asked for once, and caching them pushed out the bases still needed.
                    if is_base || at != offset {
                        self.remember(n, at, kind, &data);
                    }
                    break (kind, data);
                }
            }
        };
        while let Some((at, delta)) = deltas.pop() {
            data = Rc::new(apply_delta(&data, &delta)?);
            if is_base || at != offset {
                self.remember(n, at, kind, &data);
            }
        }
        Ok((kind, data))
    }

    /// Keeps a decoded delta base for the lookups built on it next. When the budget is spent,
    /// the half of the entries used least recently goes: clearing the whole cache, as before,
    /// threw away the bases of delta chains in the middle of being read (on git/git's trees,
    /// 244k entries inflated for 173k lookups; 208k now).
    fn remember(&mut self, n: usize, offset: u64, kind: gix::object::Kind, data: &Rc<Vec<u8>>) {
        if data.len() > self.budget / 4 {
            return;
        }
        while self.cached_bytes + data.len() > self.budget && !self.cache.is_empty() {
            let mut stamps: Vec<u64> = self.cache.values().map(|&(_, used)| used).collect();
            let middle = stamps.len() / 2;
            let (_, &mut cut, _) = stamps.select_nth_unstable(middle);
            let mut freed = 0;
            self.cache.retain(|_, ((_, cached), used)| {
                let keep = *used > cut;
                if !keep {
                    freed += cached.len();
                }
                keep
            });
            self.cached_bytes -= freed;
        }
        self.clock += 1;
        self.cached_bytes += data.len();
        if let Some(((_, replaced), _)) = self
            .cache
            .insert((n, offset), ((kind, Rc::clone(data)), self.clock))
        {
            self.cached_bytes -= replaced.len();
        }
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

/// Checks the trailing checksums of the pack at `pack_path` and of its index at `index_path`:
/// each file's SHA-1 (or SHA-256) of all its other bytes, and that the index names the pack's.
/// Reads both files whole, in one pass each.
pub(crate) fn verify_checksums(
    index_path: &Path,
    pack_path: &Path,
    object_hash: gix::hash::Kind,
) -> Vec<PackError> {
    let mut errors = Vec::new();
    let mut checked = Vec::new();
    for path in [pack_path, index_path] {
        match file_checksum(path, object_hash) {
            Ok(sums) => {
                if sums.trailer != sums.actual {
                    errors.push(PackError::Checksum {
                        path: path.to_path_buf(),
                        detail: format!(
                            "its trailing checksum {} does not match its content ({})",
                            hex(&sums.trailer),
                            hex(&sums.actual)
                        ),
                    });
                }
                checked.push(sums);
            }
            Err(e) => errors.push(e),
        }
    }
    // An index ends with its pack's checksum, then its own.
    if let [pack, index] = &checked[..]
        && pack.trailer != index.before_trailer
    {
        errors.push(PackError::Checksum {
            path: index_path.to_path_buf(),
            detail: format!(
                "it is the index of pack {}, not of this pack ({})",
                hex(&index.before_trailer),
                hex(&pack.trailer)
            ),
        });
    }
    errors
}

/// A file's trailing checksum, what it hashes to, and the checksum-sized bytes before it.
struct Checksums {
    trailer: Vec<u8>,
    actual: Vec<u8>,
    before_trailer: Vec<u8>,
}

/// Hashes all of `path` but its trailing checksum, in one sequential read.
fn file_checksum(path: &Path, object_hash: gix::hash::Kind) -> Result<Checksums, PackError> {
    use std::io::Read;
    let hash_len = object_hash.len_in_bytes();
    let failed = |e: std::io::Error| PackError::Open {
        path: path.to_path_buf(),
        message: e.to_string(),
    };
    let mut file = File::open(path).map_err(failed)?;
    let len = file.metadata().map_err(failed)?.len();
    let hashed = len
        .checked_sub(hash_len as u64)
        .ok_or_else(|| PackError::Checksum {
            path: path.to_path_buf(),
            detail: format!("{len} bytes cannot hold a trailing checksum"),
        })?;
    let mut hasher = gix::hash::hasher(object_hash);
    let mut buffer = vec![0u8; 1 << 20];
    let mut left = hashed;
    let mut before_trailer: Vec<u8> = Vec::new();
    while left > 0 {
        let want = buffer
            .len()
            .min(usize::try_from(left).unwrap_or(usize::MAX));
        file.read_exact(&mut buffer[..want]).map_err(failed)?;
        hasher.update(&buffer[..want]);
        before_trailer.extend_from_slice(&buffer[want.saturating_sub(hash_len)..want]);
        let keep = before_trailer.len().saturating_sub(hash_len);
        before_trailer.drain(..keep);
        left -= want as u64;
    }
    let mut trailer = vec![0u8; hash_len];
    file.read_exact(&mut trailer).map_err(failed)?;
    let actual = hasher.try_finalize().map_err(|e| PackError::Checksum {
        path: path.to_path_buf(),
        detail: e.to_string(),
    })?;
    Ok(Checksums {
        trailer,
        actual: actual.as_slice().to_vec(),
        before_trailer,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds an object from its base and a git delta: two size varints (base, result), then copy
/// instructions (high bit set: offset and size bytes follow, as flagged by the low seven bits)
/// and insert instructions (the low seven bits count literal bytes that follow). The result has
/// exactly the size the delta declares, or it is an error.
pub(crate) fn apply_delta(base: &[u8], delta: &[u8]) -> Result<Vec<u8>, DeltaError> {
    fn size(delta: &[u8], at: &mut usize) -> Result<usize, DeltaError> {
        let mut value = 0usize;
        let mut shift = 0;
        loop {
            let byte = *delta.get(*at).ok_or(DeltaError::HeaderTruncated)?;
            *at += 1;
            let bits = usize::from(byte & 0x7f);
            if shift >= usize::BITS || (bits << shift) >> shift != bits {
                return Err(DeltaError::SizeOverflow);
            }
            value |= bits << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
    }
    let mut at = 0;
    let base_size = size(delta, &mut at)?;
    if base_size != base.len() {
        return Err(DeltaError::BaseSize {
            expected: base_size,
            actual: base.len(),
        });
    }
    let result_size = size(delta, &mut at)?;
    // Each instruction byte left builds at most one copy (of at most the base, or of
    // MAX_DELTA_COPY bytes) or one inserted byte: a larger declared size is a lie, and nothing
    // is allocated for it.
    let left = delta.len() - at;
    let most = left.saturating_mul(base.len().clamp(1, MAX_DELTA_COPY));
    if result_size > most {
        return Err(DeltaError::ImplausibleSize {
            declared: result_size,
        });
    }
    let mut out = Vec::new();
    out.try_reserve_exact(result_size)
        .map_err(|_| DeltaError::NoMemory(result_size))?;
    while let Some(&op) = delta.get(at) {
        at += 1;
        if op & 0x80 != 0 {
            // Copy: up to four offset bytes and three size bytes, little-endian, each present
            // when its flag bit is set.
            let mut fields = [0usize; 2];
            for (bit, field) in [(0, 0), (1, 0), (2, 0), (3, 0), (4, 1), (5, 1), (6, 1)] {
                if op & (1 << bit) != 0 {
                    let byte = *delta.get(at).ok_or(DeltaError::CopyTruncated)?;
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
                .ok_or(DeltaError::CopyOutOfBounds)?;
            if out.len() + copied.len() > result_size {
                return Err(DeltaError::ResultSize {
                    built: out.len() + copied.len(),
                    declared: result_size,
                });
            }
            out.extend_from_slice(copied);
        } else if op == 0 {
            return Err(DeltaError::Reserved);
        } else {
            let literal = delta
                .get(at..at + usize::from(op))
                .ok_or(DeltaError::InsertTruncated)?;
            if out.len() + literal.len() > result_size {
                return Err(DeltaError::ResultSize {
                    built: out.len() + literal.len(),
                    declared: result_size,
                });
            }
            out.extend_from_slice(literal);
            at += usize::from(op);
        }
    }
    if out.len() != result_size {
        return Err(DeltaError::ResultSize {
            built: out.len(),
            declared: result_size,
        });
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

    /// The header of the entry at `offset`, which ends by `end` (at most `entries_end`).
    fn header(
        &mut self,
        offset: u64,
        end: u64,
        object_hash: gix::hash::Kind,
    ) -> Result<EntryHeader, EntryError> {
        if offset >= self.entries_end {
            return Err(EntryError::PastEnd {
                end: self.entries_end,
            });
        }
        let len = end.saturating_sub(offset).min(HEADER_PROBE as u64);
        let held = self.start..self.start + self.bytes.len() as u64;
        if !(held.contains(&offset) && offset + len <= held.end) {
            // Past the check above, at least one byte is there to read, and `len` bytes fit.
            let want = (self.entries_end - offset).min(Self::SIZE);
            self.bytes.resize(want as usize, 0);
            self.start = offset;
            if let Err(e) = read_at(self.file, &mut self.bytes, offset) {
                self.bytes.clear();
                return Err(EntryError::Read(e));
            }
        }
        let at = (offset - self.start) as usize;
        let bytes = self
            .bytes
            .get(at..at + len as usize)
            .ok_or(EntryError::Header("it is truncated"))?;
        parse_header(bytes, offset, object_hash)
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
    use super::{DeltaError, EntryError, Packs, apply_delta, inflate_exact, parse_header};

    /// A cursor whose cache holds a few objects at a time reads every object of a pack of
    /// long delta chains exactly as git does: eviction keeps its byte count and loses nothing.
    #[test]
    fn cursor_with_a_tiny_cache_reads_every_object_as_git_does() {
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = std::process::Command::new("git")
                .current_dir(dir.path())
                .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "git {args:?}: {out:?}");
            out.stdout
        };
        git(&["init", "-q"]);
        // Two files of many versions each: their chains interleave in the cursor's cache.
        // Files of about 1.5 KB whose every version changes one line: long chains of small
        // bases, more of them than the cache below has room for.
        let mut lines: Vec<String> = (0..30)
            .map(|n| format!("line {n} of a file whose lines change one at a time\n"))
            .collect();
        for version in 0..60 {
            lines[version % 30] = format!("line {} rewritten in version {version}\n", version % 30);
            let text = lines.concat();
            std::fs::write(dir.path().join("a.txt"), &text).unwrap();
            std::fs::write(dir.path().join("b.txt"), text.to_uppercase()).unwrap();
            git(&["add", "."]);
            git(&["commit", "-q", "-m", &format!("v{version}")]);
        }
        git(&["repack", "-adq", "--depth=50", "--window=250"]);
        let listed = String::from_utf8(git(&["rev-list", "--objects", "--all"])).unwrap();
        let packs = Packs::open(&dir.path().join(".git/objects"), gix::hash::Kind::Sha1);
        let mut cursor = packs.cursor();
        cursor.budget = 8 << 10;
        let (mut most_cached, mut evicted, mut cached_before) = (0, false, 0);
        for line in listed.lines() {
            let hex = line.split(' ').next().unwrap();
            let id = gix::ObjectId::from_hex(hex.as_bytes()).unwrap();
            let (_, data) = cursor.find(&id).unwrap_or_else(|| panic!("{hex} not read"));
            let kind = String::from_utf8(git(&["cat-file", "-t", hex])).unwrap();
            assert_eq!(*data, git(&["cat-file", kind.trim(), hex]), "{hex}");
            assert!(cursor.cached_bytes <= cursor.budget);
            let held: usize = cursor.cache.values().map(|((_, d), _)| d.len()).sum();
            assert_eq!(held, cursor.cached_bytes);
            most_cached = most_cached.max(cursor.cache.len());
            evicted |= cursor.cache.len() < cached_before;
            cached_before = cursor.cache.len();
        }
        assert!(most_cached > 1, "the cache never held two bases");
        assert!(
            evicted,
            "the cache never ran out of room: nothing was evicted"
        );
    }

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
    fn random_deltas_never_panic_and_build_their_declared_size() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let base: Vec<u8> = (0..300).map(|_| next() as u8).collect();
        let mut built = 0;
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            let mut delta: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Often start with the right base size, so the instructions themselves are exercised.
            if next() % 2 == 0 && delta.len() >= 3 {
                delta[0] = 0xac;
                delta[1] = 0x02;
                delta[2] &= 0x7f;
            }
            if let Ok(out) = apply_delta(&base, &delta) {
                assert_eq!(out.len(), usize::from(delta[2]), "{delta:?}");
                built += 1;
            }
        }
        assert!(built > 0, "some random deltas apply");
    }

    #[test]
    fn rejects_corrupt_deltas_without_panicking() {
        let base = b"0123456789";
        let cases: [(Vec<u8>, DeltaError); 7] = [
            (
                delta(9, 1, &[1, b'x']),
                DeltaError::BaseSize {
                    expected: 9,
                    actual: 10,
                },
            ),
            (
                delta(10, 5, &[0x80 | 0x01 | 0x10, 8, 5]),
                DeltaError::CopyOutOfBounds,
            ),
            (delta(10, 4, &[4, b'a']), DeltaError::InsertTruncated),
            (
                delta(10, 3, &[1, b'a']),
                DeltaError::ResultSize {
                    built: 1,
                    declared: 3,
                },
            ),
            (delta(10, 1, &[0]), DeltaError::Reserved),
            (vec![0x80], DeltaError::HeaderTruncated),
            // A tiny delta declaring a huge result: refused before allocating it.
            (
                vec![10, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, b'a'],
                DeltaError::ImplausibleSize {
                    declared: 0xffff_ffff,
                },
            ),
        ];
        for (d, expected) in cases {
            assert_eq!(apply_delta(base, &d), Err(expected), "{d:?}");
        }
    }

    #[test]
    fn entry_headers_that_lie_are_errors_not_panics() {
        let sha1 = gix::hash::Kind::Sha1;
        // A blob of 3 bytes.
        let header = parse_header(&[0x33], 12, sha1).expect("valid header");
        assert_eq!((header.size, header.len), (3, 1));
        // Continuation bytes that run out, or overflow the size.
        assert!(matches!(
            parse_header(&[0xb3], 12, sha1),
            Err(EntryError::Header(_))
        ));
        let overflow = [
            0xb3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
        ];
        assert!(matches!(
            parse_header(&overflow, 12, sha1),
            Err(EntryError::Header(_))
        ));
        // An offset delta whose base would lie before the pack.
        assert!(matches!(
            parse_header(&[0x63, 0x20], 12, sha1),
            Err(EntryError::Header(_))
        ));
        // An id delta cut short.
        assert!(matches!(
            parse_header(&[0x73, 1, 2], 12, sha1),
            Err(EntryError::Header(_))
        ));
        // Types 0 and 5 are not written.
        assert!(matches!(
            parse_header(&[0x53], 12, sha1),
            Err(EntryError::Header(_))
        ));
    }

    #[test]
    fn a_size_the_compressed_bytes_cannot_hold_allocates_nothing() {
        let mut inflate = gix::zlib::Inflate::default();
        let err = inflate_exact(&mut inflate, &[0x78, 0x9c, 3, 0], 1 << 40).unwrap_err();
        assert!(
            matches!(err, EntryError::ImplausibleSize { claimed, compressed: 4 } if claimed == 1 << 40),
            "{err}"
        );
    }
}
