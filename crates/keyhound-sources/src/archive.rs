//! Archives: zip-based files (`.zip`, `.jar`, `.war`, `.ear`, `.apk`, `.whl`, `.nupkg`, and any
//! file that starts like a zip), `.tar`, `.tar.gz`/`.tgz`, `.gz` and `.bz2`, opened and their
//! members handed one at a time to a callback, each with its nested name
//! (`app.zip!lib/inner.jar!config.properties`).
//!
//! Limits keep a hostile archive harmless: nesting depth, bytes held per member, bytes
//! decompressed per archive, members per archive, and the compression ratio of each member or
//! stream (a decompression bomb is skipped and reported, not followed). Memory holds one member
//! per nesting level, never a whole decompressed archive. Whatever cannot be read (a corrupt
//! archive, a bad checksum) is reported by name while the readable members are still handed on.
//!
//! `--exclude` globs apply to members as they apply to files ([`Excludes::matches_member`]): a
//! member they match is skipped ([`SkipReason::Excluded`]) before it is decompressed, and a
//! nested archive they match is not opened.

use std::cell::Cell;
use std::io::{self, Cursor, Read};

use zip::result::ZipError;

use crate::Excludes;

/// Archives nested deeper than this are not opened (the outermost archive is depth 1).
pub const DEFAULT_MAX_DEPTH: u32 = 3;
/// Members larger than this (decompressed) are skipped, so memory stays bounded.
pub const DEFAULT_MAX_MEMBER_SIZE: u64 = 64 << 20;
/// Bytes decompressed from one archive (nested ones included) before the rest is skipped.
pub const DEFAULT_MAX_TOTAL_SIZE: u64 = 1 << 30;
/// File members of one archive (nested ones included) before the rest is skipped.
pub const DEFAULT_MAX_MEMBERS: u64 = 100_000;
/// Decompressed bytes per compressed byte beyond which a member or stream is a bomb.
pub const DEFAULT_MAX_RATIO: u64 = 100;
/// The compression ratio is judged only once a member or stream has decompressed to more than
/// this many bytes: small, very repetitive files are harmless.
pub const RATIO_GRACE: u64 = 1 << 20;

/// Bytes of a tar header block.
const TAR_BLOCK: usize = 512;

/// What a scan of an archive may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Archives nested deeper than this are skipped (the outermost archive is depth 1).
    pub max_depth: u32,
    /// Members that decompress to more bytes than this are skipped.
    pub max_member_size: u64,
    /// Bytes decompressed from one outermost archive, its nested archives included.
    pub max_total_size: u64,
    /// File members of one outermost archive, its nested archives' included.
    pub max_members: u64,
    /// Decompressed bytes per compressed byte (judged beyond [`RATIO_GRACE`]).
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_member_size: DEFAULT_MAX_MEMBER_SIZE,
            max_total_size: DEFAULT_MAX_TOTAL_SIZE,
            max_members: DEFAULT_MAX_MEMBERS,
            max_ratio: DEFAULT_MAX_RATIO,
        }
    }
}

/// The archive formats opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A zip (jar, war, ear, apk, whl, nupkg, office documents ...).
    Zip,
    /// A tar.
    Tar,
    /// A gzip stream (a `.tar.gz` when it holds a tar).
    Gzip,
    /// A bzip2 stream (a `.tar.bz2` when it holds a tar).
    Bzip2,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Zip => "zip",
            Self::Tar => "tar",
            Self::Gzip => "gzip",
            Self::Bzip2 => "bzip2",
        })
    }
}

impl Format {
    /// The format of an input named `name` whose first bytes are `head` (at least the first
    /// 512 bytes when there are that many), by its magic bytes; by its name's extension only
    /// when `head` is binary (a text file named `.zip`, such as a Git LFS pointer, is text).
    pub fn detect(name: &str, head: &[u8]) -> Option<Self> {
        if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
            return Some(Self::Zip);
        }
        if head.starts_with(&[0x1f, 0x8b, 0x08]) {
            return Some(Self::Gzip);
        }
        if head.len() >= 10
            && head.starts_with(b"BZh")
            && (b'1'..=b'9').contains(&head[3])
            && head[4..10] == [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]
        {
            return Some(Self::Bzip2);
        }
        if is_tar_header(head) {
            return Some(Self::Tar);
        }
        Self::by_extension(name).filter(|_| crate::looks_binary(head))
    }

    /// The format a file name's extension claims.
    fn by_extension(name: &str) -> Option<Self> {
        let (_, extension) = base_name(name).rsplit_once('.')?;
        let is = |list: &[&str]| list.iter().any(|e| extension.eq_ignore_ascii_case(e));
        if is(&["zip", "jar", "war", "ear", "apk", "aar", "whl", "nupkg"]) {
            Some(Self::Zip)
        } else if is(&["tar"]) {
            Some(Self::Tar)
        } else if is(&["gz", "tgz"]) {
            Some(Self::Gzip)
        } else if is(&["bz2", "tbz", "tbz2"]) {
            Some(Self::Bzip2)
        } else {
            None
        }
    }
}

/// Why a member (or the rest of an archive) was not scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkipReason {
    /// The member decompresses to more than [`Limits::max_member_size`].
    MemberTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The member or stream decompresses beyond [`Limits::max_ratio`] times its compressed
    /// size: a decompression bomb.
    CompressionRatio {
        /// The ratio limit.
        limit: u64,
    },
    /// The outermost archive decompressed to [`Limits::max_total_size`] bytes; the rest of it
    /// is not scanned.
    TotalSizeLimit {
        /// The limit in bytes.
        limit: u64,
    },
    /// The outermost archive held [`Limits::max_members`] members; the rest are not scanned.
    MemberCountLimit {
        /// The limit.
        limit: u64,
    },
    /// An archive nested deeper than [`Limits::max_depth`].
    TooDeep {
        /// The depth limit.
        limit: u32,
    },
    /// The member is encrypted.
    Encrypted,
    /// The member's compression method is not supported (only stored and deflate are).
    UnsupportedCompression {
        /// The method, as the zip names it.
        method: String,
    },
    /// A zip read as a stream (stdin, or a file too large to read whole) that is larger than
    /// [`Limits::max_member_size`]: its directory sits at its end, so it is opened only from
    /// memory.
    ZipNotInMemory {
        /// The limit in bytes.
        limit: u64,
    },
    /// An `--exclude` glob matches the member (a nested archive: none of it was opened).
    Excluded,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::MemberTooLarge { limit } => {
                write!(
                    f,
                    "decompresses to more than {limit} bytes (member size limit)"
                )
            }
            Self::CompressionRatio { limit } => write!(
                f,
                "compression ratio over {limit}:1, a decompression bomb: not followed"
            ),
            Self::TotalSizeLimit { limit } => write!(
                f,
                "archive decompresses to more than {limit} bytes: the rest is not scanned"
            ),
            Self::MemberCountLimit { limit } => write!(
                f,
                "archive holds more than {limit} members: the rest are not scanned"
            ),
            Self::TooDeep { limit } => write!(f, "archive nested more than {limit} deep"),
            Self::Encrypted => f.write_str("encrypted member"),
            Self::UnsupportedCompression { method } => {
                write!(f, "unsupported compression method {method}")
            }
            Self::ZipNotInMemory { limit } => write!(
                f,
                "zip archive read as a stream and larger than {limit} bytes: not opened \
                 (its directory is at its end)"
            ),
            Self::Excluded => f.write_str("excluded"),
        }
    }
}

/// A member, or the rest of an archive, left out, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The member's (or archive's) nested name.
    pub name: String,
    /// Why.
    pub reason: SkipReason,
}

/// What could not be read in an archive.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// The zip's directory, or a member's entry in it, cannot be read.
    #[error("{name}: unreadable zip archive: {source}")]
    Zip {
        /// The archive's or member's nested name.
        name: String,
        /// The cause.
        #[source]
        source: ZipError,
    },
    /// Data could not be read or decompressed: corrupt data, a bad checksum, a truncated
    /// archive.
    #[error("{name}: corrupt {format} data: {source}")]
    Corrupt {
        /// The archive's or member's nested name.
        name: String,
        /// The format being read.
        format: Format,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// What a scan of one archive did.
#[derive(Debug, Default)]
pub struct Stats {
    /// Members handed to the callback.
    pub members: u64,
    /// Members (or rests of archives) left out, by name, with the reason.
    pub skipped: Vec<Skipped>,
    /// What could not be read, by name.
    pub errors: Vec<ArchiveError>,
}

/// Opens the archive `bytes`, named `name`, in `format`, and calls `on_member` with each
/// member's nested name (`name!path/in/archive`) and bytes; nested archives are opened in turn
/// up to [`Limits::max_depth`]. Members that `excludes` matches are skipped.
pub fn scan_bytes(
    name: &str,
    format: Format,
    bytes: &[u8],
    limits: &Limits,
    excludes: &Excludes,
    on_member: &mut dyn FnMut(&str, &[u8]),
) -> Stats {
    Walk::run(limits, excludes, on_member, |walk| {
        walk.bytes(name, format, bytes, 1)
    })
}

/// Like [`scan_bytes`], for an archive read as a stream (stdin, or a file too large to read
/// whole): tar, gzip and bzip2 members are read one at a time; a zip, whose directory is at
/// its end, is read into memory when it is no larger than [`Limits::max_member_size`], and
/// skipped otherwise ([`SkipReason::ZipNotInMemory`]).
pub fn scan_reader(
    name: &str,
    format: Format,
    reader: &mut dyn Read,
    limits: &Limits,
    excludes: &Excludes,
    on_member: &mut dyn FnMut(&str, &[u8]),
) -> Stats {
    Walk::run(limits, excludes, on_member, |walk| {
        walk.stream(name, format, reader, 1)
    })
}

/// A limit a guarded reader hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trip {
    Ratio,
    Total,
}

/// One scan of an outermost archive.
struct Walk<'a> {
    limits: &'a Limits,
    excludes: &'a Excludes,
    /// Bytes decompressed so far, over every level.
    total: &'a Cell<u64>,
    /// Set by a guarded reader when it stops on a limit.
    trip: &'a Cell<Option<Trip>>,
    /// File members met so far, over every level.
    members_seen: u64,
    /// A limit for the whole archive was hit: nothing more is read.
    stopped: bool,
    stats: Stats,
    on_member: &'a mut dyn FnMut(&str, &[u8]),
}

impl<'a> Walk<'a> {
    /// Scans one outermost archive with `start`, and returns what it did.
    fn run(
        limits: &Limits,
        excludes: &Excludes,
        on_member: &mut dyn FnMut(&str, &[u8]),
        start: impl FnOnce(&mut Walk<'_>),
    ) -> Stats {
        let total = Cell::new(0);
        let trip = Cell::new(None);
        let mut walk = Walk {
            limits,
            excludes,
            total: &total,
            trip: &trip,
            members_seen: 0,
            stopped: false,
            stats: Stats::default(),
            on_member,
        };
        start(&mut walk);
        walk.stats
    }

    fn skip(&mut self, name: &str, reason: SkipReason) {
        self.stats.skipped.push(Skipped {
            name: name.to_string(),
            reason,
        });
    }

    fn corrupt(&mut self, name: &str, format: Format, source: io::Error) {
        self.stats.errors.push(ArchiveError::Corrupt {
            name: name.to_string(),
            format,
            source,
        });
    }

    /// A reader of `inner` that counts what it yields against the total and ratio limits;
    /// `compressed` holds the compressed bytes behind it so far.
    fn guard<'g, R: Read>(&self, inner: R, compressed: &'g Cell<u64>) -> Guard<'g, R>
    where
        'a: 'g,
    {
        Guard {
            inner,
            produced: 0,
            compressed,
            max_ratio: self.limits.max_ratio,
            total: self.total,
            max_total: self.limits.max_total_size,
            trip: self.trip,
        }
    }

    /// After a failed read: records the limit a guarded reader hit (`name` names what it was
    /// reading), or else the error. The total size limit stops the whole scan.
    fn read_failed(&mut self, name: &str, format: Format, error: io::Error) {
        match self.trip.take() {
            Some(Trip::Ratio) => self.skip(
                name,
                SkipReason::CompressionRatio {
                    limit: self.limits.max_ratio,
                },
            ),
            Some(Trip::Total) => {
                self.skip(
                    name,
                    SkipReason::TotalSizeLimit {
                        limit: self.limits.max_total_size,
                    },
                );
                self.stopped = true;
            }
            None => self.corrupt(name, format, error),
        }
    }

    fn bytes(&mut self, name: &str, format: Format, bytes: &[u8], depth: u32) {
        match format {
            Format::Zip => self.zip(name, bytes, depth),
            _ => self.stream(name, format, &mut Cursor::new(bytes), depth),
        }
    }

    fn stream(&mut self, name: &str, format: Format, reader: &mut dyn Read, depth: u32) {
        let compressed = Cell::new(0);
        match format {
            Format::Zip => {
                let limit = self.limits.max_member_size;
                let mut bytes = Vec::new();
                match reader.take(limit.saturating_add(1)).read_to_end(&mut bytes) {
                    Err(e) => self.corrupt(name, format, e),
                    Ok(_) if bytes.len() as u64 > limit => {
                        self.skip(name, SkipReason::ZipNotInMemory { limit });
                    }
                    Ok(_) => self.zip(name, &bytes, depth),
                }
            }
            Format::Tar => {
                if let Err(e) = self.tar(name, reader, depth) {
                    self.corrupt(name, Format::Tar, e);
                }
            }
            Format::Gzip => {
                let input = Counted {
                    inner: reader,
                    count: &compressed,
                };
                let decoder = flate2::read::MultiGzDecoder::new(input);
                let inner = decoder
                    .header()
                    .and_then(|h| h.filename())
                    .map(|f| String::from_utf8_lossy(f).into_owned());
                self.decompressed(name, format, decoder, &compressed, inner, depth);
            }
            Format::Bzip2 => {
                let input = Counted {
                    inner: reader,
                    count: &compressed,
                };
                let decoder = bzip2::read::MultiBzDecoder::new(input);
                self.decompressed(name, format, decoder, &compressed, None, depth);
            }
        }
    }

    /// The content of a gzip or bzip2 stream: a tar's members, or one member.
    fn decompressed(
        &mut self,
        name: &str,
        format: Format,
        decoder: impl Read,
        compressed: &Cell<u64>,
        stored_name: Option<String>,
        depth: u32,
    ) {
        let mut guard = self.guard(decoder, compressed);
        let mut head = Vec::with_capacity(TAR_BLOCK);
        if let Err(e) = (&mut guard).take(TAR_BLOCK as u64).read_to_end(&mut head) {
            return self.read_failed(name, format, e);
        }
        let inner = inner_name(name, stored_name.as_deref());
        let mut rest = Cursor::new(head).chain(guard);
        if is_tar_header(rest.get_ref().0.get_ref()) || inner.to_ascii_lowercase().ends_with(".tar")
        {
            if let Err(e) = self.tar(name, &mut rest, depth) {
                self.read_failed(name, format, e);
            }
            return;
        }
        let member = format!("{name}!{inner}");
        if self.excluded(&member) || !self.admit(name) {
            return;
        }
        if let Err(e) = self.member(&member, &mut rest, None, depth) {
            self.read_failed(&member, format, e);
        }
    }

    /// A tar's members, read in order from `reader`. An error reading the tar (or the stream
    /// under it) is returned; members before it were handed on.
    fn tar(&mut self, name: &str, reader: &mut dyn Read, depth: u32) -> io::Result<()> {
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries()? {
            if self.stopped {
                break;
            }
            let mut entry = entry?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let member = format!("{name}!{}", path.trim_start_matches("./"));
            if self.excluded(&member) || !self.admit(name) {
                continue;
            }
            let declared = entry.size();
            self.member(&member, &mut entry, Some(declared), depth)?;
        }
        Ok(())
    }

    fn zip(&mut self, name: &str, bytes: &[u8], depth: u32) {
        let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
            Ok(archive) => archive,
            Err(source) => {
                self.stats.errors.push(ArchiveError::Zip {
                    name: name.to_string(),
                    source,
                });
                // No readable directory (a truncated download, say): the members whose local
                // headers can be read in order are still scanned.
                return self.zip_stream(name, bytes, depth);
            }
        };
        for index in 0..archive.len() {
            if self.stopped {
                break;
            }
            let member = match archive.name_for_index(index).and_then(Result::ok) {
                Some(path) => format!("{name}!{path}"),
                None => format!("{name}!(member {index})"),
            };
            // A directory entry (`docs/`) is no member to skip.
            if !member.ends_with('/') && self.excluded(&member) {
                continue;
            }
            let mut file = match archive.by_index(index) {
                Ok(file) => file,
                Err(error) => {
                    match error {
                        ZipError::UnsupportedArchive(m) if m == ZipError::PASSWORD_REQUIRED => {
                            self.skip(&member, SkipReason::Encrypted)
                        }
                        ZipError::CompressionMethodNotSupported(method) => self.skip(
                            &member,
                            SkipReason::UnsupportedCompression {
                                method: method.to_string(),
                            },
                        ),
                        source => self.stats.errors.push(ArchiveError::Zip {
                            name: member,
                            source,
                        }),
                    }
                    continue;
                }
            };
            if !file.is_file() || !self.admit(name) {
                continue;
            }
            let declared = file.size();
            let compressed = Cell::new(file.compressed_size());
            if declared > RATIO_GRACE
                && declared > compressed.get().saturating_mul(self.limits.max_ratio)
            {
                self.skip(
                    &member,
                    SkipReason::CompressionRatio {
                        limit: self.limits.max_ratio,
                    },
                );
                continue;
            }
            let mut guard = self.guard(&mut file, &compressed);
            if let Err(e) = self.member(&member, &mut guard, Some(declared), depth) {
                self.read_failed(&member, Format::Zip, e);
            }
        }
    }

    /// A zip whose directory cannot be read: its members in order, by their local headers,
    /// until one cannot be read.
    fn zip_stream(&mut self, name: &str, bytes: &[u8], depth: u32) {
        let mut cursor = Cursor::new(bytes);
        while !self.stopped {
            let mut file = match zip::read::read_zipfile_from_stream(&mut cursor) {
                Ok(Some(file)) => file,
                Ok(None) | Err(_) => break,
            };
            if !file.is_file() {
                continue;
            }
            let member = format!("{name}!{}", String::from_utf8_lossy(file.name_raw()));
            if self.excluded(&member) || !self.admit(name) {
                continue;
            }
            let compressed = Cell::new(file.compressed_size());
            let mut guard = self.guard(&mut file, &compressed);
            if let Err(e) = self.member(&member, &mut guard, None, depth) {
                self.read_failed(&member, Format::Zip, e);
                break;
            }
        }
    }

    /// Whether `--exclude` leaves out `member` (a nested name); if so, it is counted as skipped.
    fn excluded(&mut self, member: &str) -> bool {
        let excluded = self.excludes.matches_member(member);
        if excluded {
            self.skip(member, SkipReason::Excluded);
        }
        excluded
    }

    /// Counts one more file member of `archive`; false (and the scan stops) past the member
    /// count limit.
    fn admit(&mut self, archive: &str) -> bool {
        if self.stopped {
            return false;
        }
        if self.members_seen >= self.limits.max_members {
            self.skip(
                archive,
                SkipReason::MemberCountLimit {
                    limit: self.limits.max_members,
                },
            );
            self.stopped = true;
            return false;
        }
        self.members_seen += 1;
        true
    }

    /// One file member (counted by [`Walk::admit`]): read (up to the member size limit) and
    /// handed on, or opened when it is an archive itself. A read error is returned for the
    /// caller to name.
    fn member(
        &mut self,
        member: &str,
        reader: &mut dyn Read,
        declared: Option<u64>,
        depth: u32,
    ) -> io::Result<()> {
        let limit = self.limits.max_member_size;
        if declared.is_some_and(|size| size > limit) {
            self.skip(member, SkipReason::MemberTooLarge { limit });
            return Ok(());
        }
        let mut bytes = Vec::new();
        reader
            .take(limit.saturating_add(1))
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 > limit {
            self.skip(member, SkipReason::MemberTooLarge { limit });
            return Ok(());
        }
        match Format::detect(member, &bytes) {
            Some(_) if depth >= self.limits.max_depth => self.skip(
                member,
                SkipReason::TooDeep {
                    limit: self.limits.max_depth,
                },
            ),
            Some(format) => self.bytes(member, format, &bytes, depth + 1),
            None => {
                self.stats.members += 1;
                (self.on_member)(member, &bytes);
            }
        }
        Ok(())
    }
}

/// Counts the bytes read through it.
struct Counted<'c, R> {
    inner: R,
    count: &'c Cell<u64>,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Stops a decompressing reader when the archive's total or the stream's ratio limit is hit,
/// recording which in `trip`.
struct Guard<'a, R> {
    inner: R,
    /// Bytes this reader has yielded.
    produced: u64,
    /// Compressed bytes behind what it yielded.
    compressed: &'a Cell<u64>,
    max_ratio: u64,
    total: &'a Cell<u64>,
    max_total: u64,
    trip: &'a Cell<Option<Trip>>,
}

impl<R: Read> Read for Guard<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.produced += n as u64;
        let total = self.total.get() + n as u64;
        self.total.set(total);
        let tripped = if total > self.max_total {
            Some(Trip::Total)
        } else if self.produced > RATIO_GRACE
            && self.produced > self.compressed.get().saturating_mul(self.max_ratio)
        {
            Some(Trip::Ratio)
        } else {
            None
        };
        match tripped {
            Some(trip) => {
                self.trip.set(Some(trip));
                Err(io::Error::other("archive limit reached"))
            }
            None => Ok(n),
        }
    }
}

/// Whether `head` starts with a tar header block: its checksum holds.
fn is_tar_header(head: &[u8]) -> bool {
    let Some(block) = head.get(..TAR_BLOCK) else {
        return false;
    };
    // The checksum field: octal digits, maybe after spaces, ended by NUL or space.
    let mut digits = block[148..156]
        .iter()
        .skip_while(|&&b| b == b' ')
        .peekable();
    if digits.peek().is_none_or(|&&b| !(b'0'..=b'7').contains(&b)) {
        return false;
    }
    let mut stored = 0u64;
    for &b in digits.take_while(|&&b| b != 0 && b != b' ') {
        if !(b'0'..=b'7').contains(&b) {
            return false;
        }
        stored = stored * 8 + u64::from(b - b'0');
    }
    let sum: u64 = block
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(b)
            }
        })
        .sum();
    // An all-zero block (the end of a tar) sums to 256 with its checksum field as spaces.
    sum == stored && block[0] != 0
}

/// The last path component of a (possibly nested) name.
fn base_name(name: &str) -> &str {
    name.rsplit(['/', '!']).next().unwrap_or(name)
}

/// The name of what a gzip or bzip2 stream named `name` holds: its name without the
/// compression suffix (`.tgz` and `.tbz2` hold a `.tar`), else the name the gzip header
/// stored, else `(decompressed)`.
fn inner_name(name: &str, stored: Option<&str>) -> String {
    let base = base_name(name);
    let lower = base.to_ascii_lowercase();
    for (suffix, replacement) in [
        (".gz", ""),
        (".bz2", ""),
        (".tgz", ".tar"),
        (".tbz2", ".tar"),
        (".tbz", ".tar"),
    ] {
        if lower.len() > suffix.len() && lower.ends_with(suffix) {
            return format!("{}{replacement}", &base[..base.len() - suffix.len()]);
        }
    }
    match stored {
        Some(stored) if !stored.is_empty() => base_name(stored).to_string(),
        _ => "(decompressed)".to_string(),
    }
}
