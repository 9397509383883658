//! The SIMD prefilter's plan: keyword fingerprints, their buckets and the exact check.
//!
//! Each keyword is represented by a *fingerprint*: its rarest window of [`MASKS`] bytes in
//! source code (scored with [`RARITY`]), ASCII-lowercased so case variants share one. Keyword
//! prefixes make poor fingerprints: `ref` (`refresh_token`), `int` (`intercom`) and `git`
//! (`github_pat_`) start thousands of code words per megabyte.
//!
//! The fingerprints are spread over buckets of a Teddy filter (nibble masks per bucket and byte
//! position; see `avx2.rs`), greedily, each into the bucket whose chance of passing a random
//! byte of code grows least. With the built-in rules' 260 fingerprints, four groups of eight
//! buckets let about 3 % of positions of code through (measured on git's and cargo's sources);
//! each passing position is checked exactly: the lowercased bytes there are looked up among the
//! fingerprints (a bitmap first, then a sorted index), and the keywords behind a fingerprint
//! found are compared byte for byte (keywords are case-sensitive).

use super::Hit;

/// Bytes per fingerprint, and mask positions of the filter (keywords shorter than this are
/// their own fingerprint; their missing positions pass every byte).
pub(super) const MASKS: usize = 5;
/// Buckets per group (bits of a byte).
const BUCKETS: usize = 8;
/// Groups of buckets for fingerprints of [`MASKS`] bytes, and for shorter ones. Short
/// fingerprints get buckets of their own: in a bucket of long ones, the positions they leave
/// open would let far more through. Each group costs as much per input byte as the last, while
/// the share of positions let through falls more slowly past these (built-in rules: 229 long
/// fingerprints in 32 buckets let 0.8 % of code positions through, 56 short ones in 16 buckets
/// 0.3 %; one pool of 4-byte fingerprints in 32 buckets let 3-4 % through).
const MAX_LONG_GROUPS: usize = 4;
const MAX_SHORT_GROUPS: usize = 2;
/// Most groups in all.
pub(super) const MAX_GROUPS: usize = MAX_LONG_GROUPS + MAX_SHORT_GROUPS;

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

/// The offset in `folded` (a lowercased keyword) of its rarest window of [`MASKS`] bytes (the
/// first of equally rare ones), or 0 when the keyword is no longer than that.
fn fingerprint_offset(folded: &[u8]) -> usize {
    if folded.len() <= MASKS {
        return 0;
    }
    let score = |w: &[u8]| {
        w.iter()
            .map(|&b| u32::from(RARITY[usize::from(b)]))
            .sum::<u32>()
    };
    let mut best = (0, 0);
    for (offset, window) in folded.windows(MASKS).enumerate() {
        let s = score(window);
        if s > best.1 {
            best = (offset, s);
        }
    }
    best.0
}

/// The nibble masks of one group of eight buckets: bit `b` of `lo[j][n]` says bucket `b` has a
/// fingerprint whose byte `j` has low nibble `n` (likewise `hi`).
pub(super) struct BucketMasks {
    pub(super) lo: [[u8; 16]; MASKS],
    pub(super) hi: [[u8; 16]; MASKS],
}

/// The byte values a fingerprint byte stands for: itself and, for a letter, its upper case.
fn cases(b: u8) -> impl Iterator<Item = u8> {
    std::iter::once(b).chain(b.is_ascii_lowercase().then(|| b.to_ascii_uppercase()))
}

/// Per mask position, the nibble sets a bucket accepts, as 16-bit sets.
#[derive(Clone, Copy, Default)]
struct NibbleSets {
    lo: [u16; MASKS],
    hi: [u16; MASKS],
}

impl NibbleSets {
    fn with(mut self, fingerprint: &[u8]) -> Self {
        for j in 0..MASKS {
            match fingerprint.get(j) {
                Some(&b) => {
                    for v in cases(b) {
                        self.lo[j] |= 1 << (v & 15);
                        self.hi[j] |= 1 << (v >> 4);
                    }
                }
                None => {
                    self.lo[j] = u16::MAX;
                    self.hi[j] = u16::MAX;
                }
            }
        }
        self
    }

    /// The chance that a random byte of code passes all positions, from [`RARITY`].
    fn pass_chance(&self, freq: &[f64; 256]) -> f64 {
        (0..MASKS)
            .map(|j| {
                let mut p = 0.0;
                for h in 0..16 {
                    if self.hi[j] & (1 << h) == 0 {
                        continue;
                    }
                    for l in 0..16 {
                        if self.lo[j] & (1 << l) != 0 {
                            p += freq[h * 16 + l];
                        }
                    }
                }
                p
            })
            .product()
    }
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
    pub(super) groups: Vec<BucketMasks>,
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
    /// Fingerprints and buckets for `keywords` (none empty).
    pub(super) fn new(keywords: &[&[u8]]) -> Self {
        let mut fingerprints: Vec<Vec<u8>> = Vec::new();
        let mut owners: Vec<Vec<Owner>> = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for (k, keyword) in keywords.iter().enumerate() {
            let folded = keyword.to_ascii_lowercase();
            let offset = fingerprint_offset(&folded);
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
        let mut freq = [0f64; 256];
        for (f, &r) in freq.iter_mut().zip(&RARITY) {
            *f = (-f64::from(r)).exp2();
        }
        let (mut long, mut short): (Vec<usize>, Vec<usize>) =
            (0..fingerprints.len()).partition(|&f| fingerprints[f].len() == MASKS);
        let groups_for = |n: usize, max: usize| n.div_ceil(BUCKETS).min(max);
        let env = |n: &str, d: usize| {
            std::env::var(n)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(d)
        };
        let long_buckets = BUCKETS * groups_for(long.len(), env("KH_LONG", MAX_LONG_GROUPS));
        let short_buckets = BUCKETS * groups_for(short.len(), env("KH_SHORT", MAX_SHORT_GROUPS));
        let mut sets = vec![NibbleSets::default(); long_buckets + short_buckets];
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
                let mut best: Option<(f64, usize, NibbleSets, f64)> = None;
                for b in range.clone() {
                    let grown = sets[b].with(&fingerprints[f]);
                    let p = grown.pass_chance(&freq);
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
        let groups = sets
            .chunks(BUCKETS)
            .map(|group| {
                let mut masks = BucketMasks {
                    lo: [[0; 16]; MASKS],
                    hi: [[0; 16]; MASKS],
                };
                for (bit, set) in group.iter().enumerate() {
                    for j in 0..MASKS {
                        for n in 0..16 {
                            if set.lo[j] & (1 << n) != 0 {
                                masks.lo[j][n] |= 1 << bit;
                            }
                            if set.hi[j] & (1 << n) != 0 {
                                masks.hi[j][n] |= 1 << bit;
                            }
                        }
                    }
                }
                masks
            })
            .collect();

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
        let plan = Plan::new(&[b"token", b"Token", b"TOKEN", b"secret_key"]);
        assert_eq!(plan.owners.len(), 2);
        assert_eq!(plan.groups.len(), 1);
    }
}
