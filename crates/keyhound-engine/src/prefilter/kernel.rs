//! The one module of the engine with `unsafe` code: the vector kernels of the SIMD prefilter.
//!
//! Both compute, for a block of input positions at a time, whether the next [`MASKS`] bytes
//! could start a fingerprint of some bucket (the Teddy test, over several groups of eight
//! buckets, a bit per bucket), and call back with every position that passes in any group:
//! - [`Vbmi`] (AVX-512 with VBMI, 64 positions a step): one `vpermb` per group and mask
//!   position looks each byte's class up in a table of 64 entries (its low five bits and bit 6:
//!   ASCII case folded), so a bucket passes hardly more than its own bytes
//!   ([`Model::Bytes`](super::teddy::Model::Bytes)).
//! - [`Avx2`] (32 positions a step): two `vpshufb` per group and mask position look up the low
//!   and the high nibble (`lo[j][b & 15] & hi[j][b >> 4]`), so a bucket passes every cross
//!   product of its bytes' nibbles too ([`Model::Nibbles`](super::teddy::Model::Nibbles)).
//!
//! The same module holds the vector test of the decode stage's base64 run finder
//! ([`base64_blocks`]): which aligned 16-byte blocks are wholly base64 bytes, 64 bytes a step.
//!
//! Callers confirm each position exactly; a kernel only has to never miss one, which the
//! differential tests and the `prefilter_differential` fuzz target check against the scalar
//! DFA.
//!
//! Safety rests on two facts, each checked where it is used: a kernel's `target_feature`
//! functions run only after `is_x86_feature_detected!` said yes for every feature they enable
//! (`new` returns `None` otherwise), and every load reads a block from an offset whose block +
//! [`MASKS`] - 1 following bytes lie inside the slice (the loop bound guarantees it; the short
//! tail is copied into a padded buffer).

#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m256i, __m512i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256,
    _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8, _mm256_setr_epi8,
    _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi16, _mm512_and_si512,
    _mm512_loadu_si512, _mm512_or_si512, _mm512_permutexvar_epi8, _mm512_set1_epi8,
    _mm512_setzero_si512, _mm512_srli_epi16, _mm512_ternarylogic_epi32, _mm512_test_epi8_mask,
};

use super::teddy::{BucketMasks, ByteMasks, MASKS, MAX_GROUPS};

/// Calls `candidate` with every position of `haystack` whose bit `step` sets, `STEP` positions
/// at a time: `step(p)` is the candidate mask of the `STEP` positions from `p`, and reads
/// `STEP + MASKS - 1` bytes there, which are always readable.
#[inline(always)]
fn drive<const STEP: usize, F: FnMut(usize)>(
    haystack: &[u8],
    candidate: &mut F,
    step: impl Fn(*const u8) -> u64,
) {
    let reach = STEP + MASKS - 1;
    let mut at = 0;
    while at + reach <= haystack.len() {
        // at + reach <= len: the block and the bytes after it are inside `haystack`.
        report(step(haystack[at..].as_ptr()), at, candidate);
        at += STEP;
    }
    // The tail: copy the rest into a zero-padded buffer (the caller's exact check never accepts
    // a fingerprint that runs past the haystack).
    if at < haystack.len() {
        let mut padded = [0u8; 2 * 64 + MASKS];
        let rest = &haystack[at..];
        padded[..rest.len()].copy_from_slice(rest);
        let mut from = 0;
        while from < rest.len() {
            // from < rest.len() <= reach - 1, and the buffer holds from + reach bytes.
            let mut mask = step(padded[from..].as_ptr());
            let live = rest.len() - from;
            if live < STEP {
                mask &= (1u64 << live) - 1;
            }
            report(mask, at + from, candidate);
            from += STEP;
        }
    }
}

/// Runs `$kernel.scan::<G>` for the kernel's number of groups `G` (1 to [`MAX_GROUPS`]).
macro_rules! dispatch {
    ($kernel:ident, $haystack:ident, $candidate:ident) => {
        match $kernel.groups {
            1 => $kernel.scan::<1, F>($haystack, $candidate),
            2 => $kernel.scan::<2, F>($haystack, $candidate),
            3 => $kernel.scan::<3, F>($haystack, $candidate),
            4 => $kernel.scan::<4, F>($haystack, $candidate),
            5 => $kernel.scan::<5, F>($haystack, $candidate),
            6 => $kernel.scan::<6, F>($haystack, $candidate),
            7 => $kernel.scan::<7, F>($haystack, $candidate),
            8 => $kernel.scan::<8, F>($haystack, $candidate),
            9 => $kernel.scan::<9, F>($haystack, $candidate),
            10 => $kernel.scan::<10, F>($haystack, $candidate),
            _ => $kernel.scan::<MAX_GROUPS, F>($haystack, $candidate),
        }
    };
}

/// Calls `candidate` with `base` plus each set bit of `mask`.
#[inline(always)]
fn report<F: FnMut(usize)>(mut mask: u64, base: usize, candidate: &mut F) {
    while mask != 0 {
        candidate(base + mask.trailing_zeros() as usize);
        mask &= mask - 1;
    }
}

/// The AVX-512 VBMI kernel over one set of byte tables.
pub(super) struct Vbmi {
    /// Per group, per mask position: the table of 64 entries. Groups past `groups` are unused.
    tables: [[__m512i; MASKS]; MAX_GROUPS],
    groups: usize,
}

impl Vbmi {
    /// Whether this CPU runs the kernel.
    pub(super) fn available() -> bool {
        std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("avx512vbmi")
    }

    /// The kernel for `groups`, or `None` when this CPU cannot run it.
    pub(super) fn new(groups: &[ByteMasks]) -> Option<Self> {
        if !Self::available() || groups.is_empty() || groups.len() > MAX_GROUPS {
            return None;
        }
        let tables = std::array::from_fn(|g| {
            let g = &groups[g.min(groups.len() - 1)];
            std::array::from_fn(|j| {
                // SAFETY: the table is 64 readable bytes; an unaligned load needs no more.
                unsafe { _mm512_loadu_si512(g.table[j].as_ptr().cast()) }
            })
        });
        Some(Self {
            tables,
            groups: groups.len(),
        })
    }

    /// Calls `candidate` with every position of `haystack`, in increasing order, where some
    /// bucket's tables pass. Positions whose masks reach past the end see zero bytes there.
    pub(super) fn for_each_candidate<F: FnMut(usize)>(&self, haystack: &[u8], candidate: &mut F) {
        // SAFETY: `new` returned this kernel only after detecting its features.
        unsafe { dispatch!(self, haystack, candidate) }
    }

    /// The vector loop over the first `G` groups.
    #[target_feature(enable = "avx512f,avx512bw,avx512vbmi")]
    fn scan<const G: usize, F: FnMut(usize)>(&self, haystack: &[u8], candidate: &mut F) {
        // SAFETY: this function runs with the features `step` needs; `drive` gives it readable
        // blocks.
        drive::<64, F>(haystack, candidate, |p| unsafe { self.step::<G>(p) })
    }

    /// The candidate bitmask of the 64 positions starting at `p`.
    ///
    /// # Safety
    /// AVX-512 F, BW and VBMI are available and `p .. p + 64 + MASKS - 1` is readable.
    #[inline(always)]
    unsafe fn step<const G: usize>(&self, p: *const u8) -> u64 {
        // SAFETY: the caller guarantees the features and the readable bytes at p.
        unsafe {
            // Each byte's `fold6` class: its low five bits, and bit 6 shifted to bit 5 (bits 6
            // and 7 of an index are ignored by `vpermb`, so what lands there does not matter).
            let low5 = _mm512_set1_epi8(0x1f);
            let classes: [__m512i; MASKS] = std::array::from_fn(|j| {
                let input = _mm512_loadu_si512(p.add(j).cast());
                // Bitwise select: bits in `low5` from `input`, the rest from `input >> 1`.
                _mm512_ternarylogic_epi32::<0xca>(low5, input, _mm512_srli_epi16::<1>(input))
            });
            let mut any = _mm512_setzero_si512();
            for group in &self.tables[..G] {
                let mut pass = _mm512_permutexvar_epi8(classes[0], group[0]);
                for j in 1..MASKS {
                    let byte = _mm512_permutexvar_epi8(classes[j], group[j]);
                    pass = _mm512_and_si512(pass, byte);
                }
                any = _mm512_or_si512(any, pass);
            }
            _mm512_test_epi8_mask(any, any)
        }
    }
}

/// The AVX2 kernel over one set of bucket masks.
pub(super) struct Avx2 {
    /// Per group, per mask position: the low- and high-nibble tables, each broadcast to both
    /// 128-bit lanes (`vpshufb` looks up within a lane). Groups past `groups` are unused.
    tables: [[[__m256i; 2]; MASKS]; MAX_GROUPS],
    groups: usize,
}

impl Avx2 {
    /// The kernel for `groups`, or `None` when this CPU has no AVX2.
    pub(super) fn new(groups: &[BucketMasks]) -> Option<Self> {
        if !std::is_x86_feature_detected!("avx2") {
            return None;
        }
        if groups.is_empty() || groups.len() > MAX_GROUPS {
            return None;
        }
        let tables = std::array::from_fn(|g| {
            let g = &groups[g.min(groups.len() - 1)];
            std::array::from_fn(|j| {
                let widen = |t: &[u8; 16]| {
                    let mut wide = [0u8; 32];
                    wide[..16].copy_from_slice(t);
                    wide[16..].copy_from_slice(t);
                    // SAFETY: `wide` is 32 readable bytes; an unaligned load needs no more.
                    unsafe { _mm256_loadu_si256(wide.as_ptr().cast()) }
                };
                [widen(&g.lo[j]), widen(&g.hi[j])]
            })
        });
        Some(Self {
            tables,
            groups: groups.len(),
        })
    }

    /// Calls `candidate` with every position of `haystack`, in increasing order, where some
    /// bucket's masks pass. Positions whose masks reach past the end see zero bytes there.
    pub(super) fn for_each_candidate<F: FnMut(usize)>(&self, haystack: &[u8], candidate: &mut F) {
        // SAFETY: `new` returned this kernel only after detecting AVX2.
        unsafe { dispatch!(self, haystack, candidate) }
    }

    /// The vector loop over the first `G` groups.
    #[target_feature(enable = "avx2")]
    fn scan<const G: usize, F: FnMut(usize)>(&self, haystack: &[u8], candidate: &mut F) {
        // SAFETY: this function runs with AVX2; `drive` gives `step` readable blocks.
        drive::<32, F>(haystack, candidate, |p| unsafe {
            u64::from(self.step::<G>(p))
        })
    }

    /// The candidate bitmask of the 32 positions starting at `p`.
    ///
    /// Not itself marked `avx2` so that it can be forced inline into [`Avx2::scan`], which is.
    ///
    /// # Safety
    /// AVX2 is available and `p .. p + 32 + MASKS - 1` is readable.
    #[inline(always)]
    unsafe fn step<const G: usize>(&self, p: *const u8) -> u32 {
        // SAFETY (the intrinsics): the caller guarantees AVX2.
        unsafe {
            let nibble = _mm256_set1_epi8(0x0f);
            // SAFETY (all loads): the caller guarantees 32 + MASKS - 1 readable bytes at p.
            let inputs: [__m256i; MASKS] =
                std::array::from_fn(|j| _mm256_loadu_si256(p.add(j).cast()));
            let lows: [__m256i; MASKS] =
                std::array::from_fn(|j| _mm256_and_si256(inputs[j], nibble));
            let highs: [__m256i; MASKS] = std::array::from_fn(|j| {
                _mm256_and_si256(_mm256_srli_epi16::<4>(inputs[j]), nibble)
            });
            let mut any = _mm256_setzero_si256();
            for group in &self.tables[..G] {
                let mut pass = _mm256_set1_epi8(-1);
                for j in 0..MASKS {
                    let lo = _mm256_shuffle_epi8(group[j][0], lows[j]);
                    let hi = _mm256_shuffle_epi8(group[j][1], highs[j]);
                    pass = _mm256_and_si256(pass, _mm256_and_si256(lo, hi));
                }
                any = _mm256_or_si256(any, pass);
            }
            let none = _mm256_cmpeq_epi8(any, _mm256_setzero_si256());
            !(_mm256_movemask_epi8(none) as u32)
        }
    }
}

/// Whether this CPU runs [`base64_blocks`].
pub(crate) fn base64_blocks_available() -> bool {
    std::is_x86_feature_detected!("avx2")
}

/// Calls `accept` with the offset of each 16-byte block, at `from` (a multiple of 16) plus a
/// multiple of 16, whose bytes are all base64 bytes (standard or URL-safe alphabet), in
/// increasing order, until it returns `true`: `Ok` with that offset. Looks at whole 64-byte
/// steps only: `Err` with the first offset not looked at (fewer than 64 bytes from the end)
/// when no block was accepted. `None` when the CPU has no AVX2.
pub(crate) fn base64_blocks<F: FnMut(usize) -> bool>(
    haystack: &[u8],
    from: usize,
    accept: &mut F,
) -> Option<Result<usize, usize>> {
    if !base64_blocks_available() {
        return None;
    }
    // SAFETY: AVX2 was detected just above.
    Some(unsafe { base64_blocks_avx2(haystack, from, accept) })
}

/// The vector loop of [`base64_blocks`].
#[target_feature(enable = "avx2")]
fn base64_blocks_avx2<F: FnMut(usize) -> bool>(
    haystack: &[u8],
    from: usize,
    accept: &mut F,
) -> Result<usize, usize> {
    // Base64 bytes by high nibble (rows) and low nibble: row 2 holds `+`, `-` and `/`; row 3
    // the digits; rows 4 and 6 the letters from low nibble 1; rows 5 and 7 the letters to
    // low nibble 10, and row 5 `_` at 15. A byte is one when the bits of its two nibbles meet.
    const ROW2: i8 = 1;
    const ROW3: i8 = 2;
    const ROW46: i8 = 4;
    const ROW5: i8 = 8;
    const ROW7: i8 = 16;
    const LOW: [i8; 16] = {
        let mut t = [0i8; 16];
        let mut l = 0;
        while l < 16 {
            let mut bits = 0;
            if l == 0xb || l == 0xd || l == 0xf {
                bits |= ROW2;
            }
            if l <= 9 {
                bits |= ROW3;
            }
            if l >= 1 {
                bits |= ROW46;
            }
            if l <= 0xa || l == 0xf {
                bits |= ROW5;
            }
            if l <= 0xa {
                bits |= ROW7;
            }
            t[l] = bits;
            l += 1;
        }
        t
    };
    let l = &LOW;
    let low_table = _mm256_setr_epi8(
        l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7], l[8], l[9], l[10], l[11], l[12], l[13],
        l[14], l[15], l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7], l[8], l[9], l[10], l[11],
        l[12], l[13], l[14], l[15],
    );
    // Rows 0, 1 and 8 to 15 (bytes of 0x80 and more) hold no base64 byte.
    let high_table = _mm256_setr_epi8(
        0, 0, ROW2, ROW3, ROW46, ROW5, ROW46, ROW7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ROW2, ROW3,
        ROW46, ROW5, ROW46, ROW7, 0, 0, 0, 0, 0, 0, 0, 0,
    );
    let nibble = _mm256_set1_epi8(0x0f);
    let members = |p: *const u8| {
        // SAFETY: AVX2 is enabled here; the caller passes 32 readable bytes at p.
        unsafe {
            let input = _mm256_loadu_si256(p.cast());
            let low = _mm256_shuffle_epi8(low_table, _mm256_and_si256(input, nibble));
            let high = _mm256_shuffle_epi8(
                high_table,
                _mm256_and_si256(_mm256_srli_epi16::<4>(input), nibble),
            );
            let none = _mm256_cmpeq_epi8(_mm256_and_si256(low, high), _mm256_setzero_si256());
            u64::from(!(_mm256_movemask_epi8(none) as u32))
        }
    };
    let mut at = from;
    while at + 64 <= haystack.len() {
        // at + 64 <= len: both 32-byte halves are inside `haystack`.
        let p = haystack[at..].as_ptr();
        // SAFETY: p + 32 .. p + 64 is inside `haystack` too.
        let mask = members(p) | members(unsafe { p.add(32) }) << 32;
        // Bit i of `full`: bits i to i + 15 of `mask` are all set.
        let mut full = mask & mask >> 8;
        full &= full >> 4;
        full &= full >> 2;
        full &= full >> 1;
        let mut blocks = full & 0x0001_0001_0001_0001;
        while blocks != 0 {
            let block = at + blocks.trailing_zeros() as usize;
            if accept(block) {
                return Ok(block);
            }
            blocks &= blocks - 1;
        }
        at += 64;
    }
    Err(at)
}
