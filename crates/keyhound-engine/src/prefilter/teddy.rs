//! The SIMD prefilter's plan: keyword fingerprints, their buckets and the exact check.
//!
//! Each keyword is represented by a *fingerprint*: its rarest window of [`MASKS`] bytes in
//! source code (scored with [`RARITY`], and word boundaries inside the window; see
//! [`fingerprint_offset`]), ASCII-lowercased so case variants share one. Keyword prefixes make
//! poor fingerprints: `ref` (`refresh_token`), `int` (`intercom`) and `git` (`github_pat_`)
//! start thousands of code words per megabyte.
//!
//! The fingerprints are spread over buckets of a Teddy filter (a table per bucket group and
//! byte position; see `kernel.rs`), greedily, each into the bucket whose chance of passing a
//! random position of code grows least under the kernel's [`Model`]. Each position let through
//! is checked exactly: the lowercased bytes there are looked up among the fingerprints (a
//! bitmap first, then a sorted index), and the keywords behind a fingerprint found are compared
//! byte for byte (keywords are case-sensitive).

use super::Hit;

/// Bytes per fingerprint, and mask positions of the filter (keywords shorter than this are
/// their own fingerprint; their missing positions pass every byte).
pub(super) const MASKS: usize = 5;
/// Buckets per group (bits of a byte).
const BUCKETS: usize = 8;
/// Groups of buckets for fingerprints of [`MASKS`] bytes, and for shorter ones, per model
/// (most long groups, most short groups). Short fingerprints get buckets of their own: in a
/// bucket of long ones, the positions they leave open would let far more through. Each group
/// costs as much per input byte as the last, and the exact check of a position let through
/// costs about as much as 30 input bytes, so these are what measured fastest on the built-in
/// rules (about 500 fingerprints, 70 of them short), prefilter alone over Rust and C sources:
/// - [`Model::Nibbles`]: 4 and 2 (about 2.7-3.8 % of positions let through: nibble cross
///   products fill the buckets);
/// - [`Model::Bytes`]: 8 and 3 (0.33-0.5 % let through, against 1.2-1.4 % with 4 and 2).
const fn max_groups(model: Model) -> (usize, usize) {
    match model {
        Model::Nibbles => (4, 2),
        Model::Bytes => (8, 3),
    }
}
/// Most groups in all, under either model.
pub(super) const MAX_GROUPS: usize = 11;
const _: () = {
    let (long, short) = max_groups(Model::Bytes);
    assert!(long + short <= MAX_GROUPS);
    let (long, short) = max_groups(Model::Nibbles);
    assert!(long + short <= MAX_GROUPS);
};

/// How rare each byte value is in source code: `-log2` of its frequency over git's C, shell and
/// text sources and the Rust sources of a cargo registry (30 for bytes never seen).
#[rustfmt::skip]
const RARITY: [u8; 256] = [
    21, 30, 30, 30, 30, 30, 30, 30, 30,  7,  5, 30, 22, 12, 30, 30,
    30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 22, 30, 30, 30, 30,
     2,  9,  7,  8, 10, 12,  8,  8,  6,  6,  9, 11,  6,  8,  7,  6,
     7,  8,  7,  8,  9,  9,  9,  9,  9,  9,  6,  7,  9,  7,  8, 11,
    13,  7,  9,  8,  8,  7,  8, 10, 10,  8, 13, 10,  8,  9,  8,  8,
     8, 12,  8,  7,  7,  9,  9, 11, 10, 10, 12,  8, 10,  8, 13,  5,
     9,  5,  6,  6,  6,  4,  6,  7,  7,  5, 11,  8,  6,  6,  5,  5,
     6, 10,  5,  5,  4,  6,  8,  8,  7,  7,  9,  8, 10,  8, 15, 30,
    13, 14, 14, 14, 12, 12, 12, 14, 14, 15, 15, 15, 15, 15, 15, 15,
    14, 13, 15, 15, 14, 14, 13, 15, 15, 15, 14, 15, 15, 14, 14, 14,
    14, 15, 15, 15, 15, 15, 15, 15, 14, 14, 15, 14, 14, 14, 13, 14,
    14, 14, 14, 14, 14, 14, 15, 14, 14, 14, 14, 14, 14, 14, 14, 14,
    25, 25, 17, 15, 17, 17, 18, 17, 17, 18, 19, 19, 13, 15, 15, 16,
    18, 18, 17, 17, 18, 19, 14, 18, 16, 16, 20, 18, 19, 20, 22, 19,
    14, 11, 13, 14, 18, 17, 17, 17, 17, 17, 14, 13, 13, 14, 27, 14,
    12, 30, 30, 21, 30, 30, 30, 30, 24, 30, 27, 30, 30, 30, 30, 27,
];

/// What a word boundary inside a fingerprint window adds to its score: rarity alone picks the
/// window of rare letters inside a common word (`earch` of `meilisearch`, `entry` of `sentry`,
/// `sourc` of `datasource:`, `ring.` of `spring.redis.password`), which code is full of.
/// Windows that span a change between letters and other bytes are far rarer than their bytes
/// say.
const BOUNDARY_SCORE: u32 = 12;
/// What starting the keyword adds to a window's score: a keyword usually starts a word in the
/// text (`sentr` of `sentry` rather than `entry`), but that word may be a common one.
const START_SCORE: u32 = 4;

/// The offset in `keyword` of its rarest window of [`MASKS`] bytes (the first of equally rare
/// ones), or 0 when the keyword is no longer than that: the sum of its lowercased bytes'
/// [`RARITY`], plus [`BOUNDARY_SCORE`] for each word boundary inside it and [`START_SCORE`] when
/// it starts the keyword.
fn fingerprint_offset(keyword: &[u8]) -> usize {
    if keyword.len() <= MASKS {
        return 0;
    }
    let boundary = |a: u8, b: u8| a.is_ascii_alphabetic() != b.is_ascii_alphabetic();
    let score = |offset: usize| {
        let window = &keyword[offset..offset + MASKS];
        let rarity: u32 = window
            .iter()
            .map(|&b| u32::from(RARITY[usize::from(b.to_ascii_lowercase())]))
            .sum();
        let inside = window.windows(2).filter(|p| boundary(p[0], p[1])).count() as u32;
        rarity + BOUNDARY_SCORE * inside + START_SCORE * u32::from(offset == 0)
    };
    let mut best = (0, 0);
    for offset in 0..=keyword.len() - MASKS {
        let s = score(offset);
        if s > best.1 {
            best = (offset, s);
        }
    }
    best.0
}

/// How the kernel tests a byte against a bucket, which decides how buckets are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Model {
    /// The Teddy test (AVX2 `vpshufb`): a byte passes when its low nibble and its high nibble
    /// are each among those of the bucket's bytes at that position, so a bucket also passes
    /// every cross product of its bytes' nibbles.
    Nibbles,
    /// A table of 64 entries (AVX-512 VBMI `vpermb`) indexed by the byte's [`fold6`] class: a
    /// byte passes when its class is that of one of the bucket's bytes there. The classes fold
    /// ASCII case and little else, so a bucket passes hardly more than its own bytes.
    Bytes,
}

/// The nibble masks of one group of eight buckets: bit `b` of `lo[j][n]` says bucket `b` has a
/// fingerprint whose byte `j` has low nibble `n` (likewise `hi`).
pub(super) struct BucketMasks {
    pub(super) lo: [[u8; 16]; MASKS],
    pub(super) hi: [[u8; 16]; MASKS],
}

/// The byte tables of one group of eight buckets: bit `b` of `table[j][c]` says bucket `b` has
/// a fingerprint whose byte `j` is of [`fold6`] class `c`.
pub(super) struct ByteMasks {
    pub(super) table: [[u8; 64]; MASKS],
}

/// The bucket masks of a plan, in the form its kernel reads.
pub(super) enum Groups {
    /// For [`Model::Nibbles`].
    Nibbles(Vec<BucketMasks>),
    /// For [`Model::Bytes`].
    Bytes(Vec<ByteMasks>),
}

/// The byte values a fingerprint byte stands for: itself and, for a letter, its upper case.
fn cases(b: u8) -> impl Iterator<Item = u8> {
    std::iter::once(b).chain(b.is_ascii_lowercase().then(|| b.to_ascii_uppercase()))
}

/// How often each byte, and each [`fold6`] class, occurs in code (from [`RARITY`]).
struct Freq {
    byte: [f64; 256],
    class: [f64; 64],
}

impl Freq {
    fn new() -> Self {
        let mut freq = Self {
            byte: [0.0; 256],
            class: [0.0; 64],
        };
        for (b, &r) in (0..=255u8).zip(&RARITY) {
            let f = (-f64::from(r)).exp2();
            freq.byte[usize::from(b)] = f;
            freq.class[usize::from(fold6(b))] += f;
        }
        freq
    }
}

/// Per mask position, the bytes a bucket accepts, under either model: the nibble sets (as 16-bit
/// sets) and the [`fold6`] classes (as a 64-bit set) of its fingerprints' bytes, and the chance
/// that a byte of code passes there under the model the bucket is filled for.
#[derive(Clone, Copy, Default)]
struct BucketSets {
    lo: [u16; MASKS],
    hi: [u16; MASKS],
    bytes: [u64; MASKS],
    chance: [f64; MASKS],
}

impl BucketSets {
    /// The sets with `fingerprint` added, and their chances under `model` brought up to date
    /// (for [`Model::Bytes`] by adding the new classes' frequencies, as this runs for every
    /// fingerprint and bucket at start-up).
    fn with(mut self, fingerprint: &[u8], model: Model, freq: &Freq) -> Self {
        for j in 0..MASKS {
            let (lo, hi, bytes) = (self.lo[j], self.hi[j], self.bytes[j]);
            match fingerprint.get(j) {
                Some(&b) => {
                    for v in cases(b) {
                        self.lo[j] |= 1 << (v & 15);
                        self.hi[j] |= 1 << (v >> 4);
                        self.bytes[j] |= 1 << fold6(v);
                    }
                }
                None => {
                    self.lo[j] = u16::MAX;
                    self.hi[j] = u16::MAX;
                    self.bytes[j] = u64::MAX;
                }
            }
            self.chance[j] = match model {
                Model::Nibbles if (lo, hi) != (self.lo[j], self.hi[j]) => {
                    bits(u128::from(self.hi[j]))
                        .flat_map(|h| bits(u128::from(self.lo[j])).map(move |l| h * 16 + l))
                        .map(|b| freq.byte[b])
                        .sum()
                }
                Model::Bytes if bytes != self.bytes[j] => {
                    self.chance[j]
                        + bits(u128::from(self.bytes[j] & !bytes))
                            .map(|c| freq.class[c])
                            .sum::<f64>()
                }
                _ => self.chance[j],
            };
        }
        self
    }

    /// The chance that a random position of code passes all positions, its bytes drawn
    /// independently.
    fn pass_chance(&self) -> f64 {
        self.chance.iter().product()
    }
}

/// The class of `byte` that [`Model::Bytes`] tables are indexed by: its low five bits and, as
/// bit 5, its bit 6. ASCII letters fall in classes 33-58 whatever their case, digits and
/// punctuation in 0-31 (each sharing it with a control byte), and every byte above 127 in the
/// class of the byte 128 below it.
pub(super) fn fold6(byte: u8) -> u8 {
    (byte & 0x1f) | ((byte >> 1) & 0x20)
}

/// The positions of the set bits of `set`, lowest first.
fn bits(mut set: u128) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let bit = set.trailing_zeros() as usize;
        set &= set.wrapping_sub(1);
        (bit < 128).then_some(bit)
    })
}

/// Keywords behind one fingerprint.
#[derive(Debug, Clone, Copy)]
struct Owner {
    keyword: u32,
    /// Where the fingerprint starts in the keyword.
    offset: usize,
}

/// Bits of the bitmap that screens exact fingerprint look-ups.
const BITMAP_BITS: u32 = 16;

fn bitmap_slot(len: usize, key: u64) -> usize {
    (key.wrapping_add(len as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        >> (64 - BITMAP_BITS)) as usize
}

/// Up to eight bytes, lowercased, as a little-endian integer.
fn folded_key(bytes: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    for (w, b) in word.iter_mut().zip(bytes) {
        *w = b.to_ascii_lowercase();
    }
    u64::from_le_bytes(word)
}

/// The eight bytes of `word` with ASCII upper-case letters lowercased, all at once.
#[inline(always)]
fn lowercase_word(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let low7 = word & LOW7;
    // High bit of each byte: set where the byte's low seven bits are >= b'A', and >= b'['.
    let ge_a = low7.wrapping_add(0x3f3f_3f3f_3f3f_3f3f);
    let ge_bracket = low7.wrapping_add(0x2525_2525_2525_2525);
    let upper = (ge_a ^ ge_bracket) & !word & HIGH;
    word | (upper >> 2)
}

/// The mask that keeps the first `len` bytes of a little-endian word.
fn len_mask(len: usize) -> u64 {
    if len >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * len)) - 1
    }
}

/// Everything but the vector loop: fingerprints, bucket masks, the exact check.
pub(super) struct Plan {
    pub(super) groups: Groups,
    /// Fingerprint lengths in use, longest first, with the mask keeping that many bytes.
    lens: Vec<(usize, u64)>,
    /// Screens (length, key) pairs before the index is searched.
    bitmap: Vec<u64>,
    /// (length, lowercased key, fingerprint) sorted.
    index: Vec<(usize, u64, u32)>,
    owners: Vec<Vec<Owner>>,
    keywords: Vec<Box<[u8]>>,
}

impl Plan {
    /// Fingerprints and buckets for `keywords` (none empty), for a kernel that tests bytes as
    /// `model` says.
    pub(super) fn new(keywords: &[&[u8]], model: Model) -> Self {
        let mut fingerprints: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<Owner>> = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for (k, keyword) in keywords.iter().enumerate() {
            let folded = keyword.to_ascii_lowercase();
            let offset = fingerprint_offset(keyword);
            let fingerprint = folded[offset..(offset + MASKS).min(folded.len())].to_vec();
            let slot = *seen.entry(fingerprint.clone()).or_insert_with(|| {
                fingerprints.push(fingerprint);
                owners.push(Vec::new());
                fingerprints.len() - 1
            });
            owners[slot].push(Owner {
                keyword: k as u32,
                offset,
            });
        }

        // Buckets: each fingerprint goes where the bucket's chance of passing grows least.
        let freq = Freq::new();
        let (mut long, mut short): (Vec<usize>, Vec<usize>) =
            (0..fingerprints.len()).partition(|&f| fingerprints[f].len() == MASKS);
        let groups_for = |n: usize, max: usize| n.div_ceil(BUCKETS).min(max);
        let (max_long, max_short) = max_groups(model);
        let long_buckets = BUCKETS * groups_for(long.len(), max_long);
        let short_buckets = BUCKETS * groups_for(short.len(), max_short);
        let mut sets = vec![BucketSets::default(); long_buckets + short_buckets];
        let mut chance = vec![0f64; sets.len()];
        for (pool, range) in [
            (&mut long, 0..long_buckets),
            (&mut short, long_buckets..sets.len()),
        ] {
            // The longest (most selective) fingerprints first, each where it adds least.
            pool.sort_by(|&a, &b| {
                (fingerprints[b].len(), &fingerprints[a])
                    .cmp(&(fingerprints[a].len(), &fingerprints[b]))
            });
            for &f in pool.iter() {
                let mut best: Option<(f64, usize, BucketSets, f64)> = None;
                for b in range.clone() {
                    let grown = sets[b].with(&fingerprints[f], model, &freq);
                    let p = grown.pass_chance();
                    if best.as_ref().is_none_or(|(d, ..)| p - chance[b] < *d) {
                        best = Some((p - chance[b], b, grown, p));
                    }
                }
                if let Some((_, b, grown, p)) = best {
                    sets[b] = grown;
                    chance[b] = p;
                }
            }
        }
        let groups = match model {
            Model::Nibbles => Groups::Nibbles(
                sets.chunks(BUCKETS)
                    .map(|group| {
                        let mut masks = BucketMasks {
                            lo: [[0; 16]; MASKS],
                            hi: [[0; 16]; MASKS],
                        };
                        for (bit, set) in group.iter().enumerate() {
                            for j in 0..MASKS {
                                for n in bits(u128::from(set.lo[j])) {
                                    masks.lo[j][n] |= 1 << bit;
                                }
                                for n in bits(u128::from(set.hi[j])) {
                                    masks.hi[j][n] |= 1 << bit;
                                }
                            }
                        }
                        masks
                    })
                    .collect(),
            ),
            Model::Bytes => Groups::Bytes(
                sets.chunks(BUCKETS)
                    .map(|group| {
                        let mut masks = ByteMasks {
                            table: [[0; 64]; MASKS],
                        };
                        for (bit, set) in group.iter().enumerate() {
                            for j in 0..MASKS {
                                for v in bits(u128::from(set.bytes[j])) {
                                    masks.table[j][v] |= 1 << bit;
                                }
                            }
                        }
                        masks
                    })
                    .collect(),
            ),
        };

        let mut index: Vec<(usize, u64, u32)> = fingerprints
            .iter()
            .enumerate()
            .map(|(i, f)| (f.len(), folded_key(f), i as u32))
            .collect();
        index.sort_unstable();
        let mut bitmap = vec![0u64; (1 << BITMAP_BITS) / 64];
        for &(len, key, _) in &index {
            let slot = bitmap_slot(len, key);
            bitmap[slot / 64] |= 1 << (slot % 64);
        }
        let mut lens: Vec<usize> = fingerprints.iter().map(Vec::len).collect();
        lens.sort_unstable_by(|a, b| b.cmp(a));
        lens.dedup();
        let lens = lens.into_iter().map(|len| (len, len_mask(len))).collect();
        Self {
            groups,
            lens,
            bitmap,
            index,
            owners,
            keywords: keywords.iter().map(|&k| k.into()).collect(),
        }
    }

    /// Reports every keyword whose fingerprint starts at `start`.
    #[inline(always)]
    pub(super) fn verify(&self, haystack: &[u8], start: usize, hits: &mut Vec<Hit>) {
        let word = match haystack.get(start..start + 8) {
            Some(w) => lowercase_word(u64::from_le_bytes([
                w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7],
            ])),
            None => folded_key(&haystack[start.min(haystack.len())..]),
        };
        let available = haystack.len().saturating_sub(start);
        for &(len, mask) in &self.lens {
            if len > available {
                continue;
            }
            let key = word & mask;
            let slot = bitmap_slot(len, key);
            if self.bitmap[slot / 64] & (1 << (slot % 64)) != 0 {
                self.report(haystack, start, len, key, hits);
            }
        }
    }

    #[inline(never)]
    fn report(&self, haystack: &[u8], start: usize, len: usize, key: u64, hits: &mut Vec<Hit>) {
        let at = self.index.partition_point(|&(l, k, _)| (l, k) < (len, key));
        let Some(&(l, k, fingerprint)) = self.index.get(at) else {
            return;
        };
        if (l, k) != (len, key) {
            return;
        }
        for owner in &self.owners[fingerprint as usize] {
            let Some(keyword_start) = start.checked_sub(owner.offset) else {
                continue;
            };
            let keyword = &self.keywords[owner.keyword as usize];
            if haystack[keyword_start..].starts_with(keyword) {
                hits.push((owner.keyword, keyword_start + keyword.len()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_avoid_common_prefixes() {
        assert_eq!(fingerprint_offset(b"ghp_"), 0);
        let window = |k: &[u8]| {
            let o = fingerprint_offset(k);
            k[o..o + MASKS].to_vec()
        };
        // Not `refr` nor `gith`, whose letters start many code words.
        assert!(window(b"refresh_token").contains(&b'_'));
        assert!(window(b"github_pat_").contains(&b'_'));
    }

    #[test]
    fn case_variants_share_a_fingerprint() {
        for model in [Model::Nibbles, Model::Bytes] {
            let plan = Plan::new(&[b"token", b"Token", b"TOKEN", b"secret_key"], model);
            assert_eq!(plan.owners.len(), 2);
            let groups = match &plan.groups {
                Groups::Nibbles(groups) => groups.len(),
                Groups::Bytes(groups) => groups.len(),
            };
            assert_eq!(groups, 1);
        }
    }
}
