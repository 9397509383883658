//! The one module of the engine with `unsafe` code: the AVX2 kernel of the SIMD prefilter.
//!
//! It computes, for 32 input positions at a time, whether the next [`MASKS`] bytes could start
//! a fingerprint of some bucket (the Teddy test: a byte `b` passes a bucket's mask at position
//! `j` when `lo[j][b & 15] & hi[j][b >> 4]` has the bucket's bit), over several groups of eight
//! buckets, and calls back with every position that passes in any group. Callers confirm each
//! position exactly; the kernel only has to never miss one, which the differential tests and
//! the `prefilter_differential` fuzz target check against the scalar DFA.
//!
//! Safety rests on two facts, each checked where it is used: the `avx2` functions run only after
//! `is_x86_feature_detected!("avx2")` said yes ([`Kernel::new`] returns `None` otherwise), and
//! every load reads 32 bytes from an offset whose 32 + [`MASKS`] - 1 following bytes lie inside
//! the slice (the loop bound guarantees it; the short tail is copied into a padded buffer).

#![allow(unsafe_code)]

use std::arch::x86_64::{
    __m256i, _mm256_and_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8,
    _mm256_or_si256, _mm256_set1_epi8, _mm256_setzero_si256, _mm256_shuffle_epi8,
    _mm256_srli_epi16,
};

use super::teddy::{BucketMasks, MASKS, MAX_GROUPS};

/// Input positions tested per step.
const STEP: usize = 32;

/// The AVX2 kernel over one set of bucket masks.
pub(super) struct Kernel {
    /// Per group, per mask position: the low- and high-nibble tables, each broadcast to both
    /// 128-bit lanes (`vpshufb` looks up within a lane). Groups past `groups` are unused.
    tables: [[[__m256i; 2]; MASKS]; MAX_GROUPS],
    groups: usize,
}

impl Kernel {
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
        unsafe {
            match self.groups {
                1 => self.scan::<1, F>(haystack, candidate),
                2 => self.scan::<2, F>(haystack, candidate),
                3 => self.scan::<3, F>(haystack, candidate),
                4 => self.scan::<4, F>(haystack, candidate),
                5 => self.scan::<5, F>(haystack, candidate),
                _ => self.scan::<MAX_GROUPS, F>(haystack, candidate),
            }
        }
    }

    /// The vector loop over the first `G` groups.
    #[target_feature(enable = "avx2")]
    fn scan<const G: usize, F: FnMut(usize)>(&self, haystack: &[u8], candidate: &mut F) {
        let reach = STEP + MASKS - 1;
        let mut at = 0;
        while at + reach <= haystack.len() {
            // SAFETY: at + reach <= len, so every load below reads inside `haystack`.
            let mask = unsafe { self.step::<G>(haystack.as_ptr().add(at)) };
            report(mask, at, candidate);
            at += STEP;
        }
        // The tail: copy the rest into a zero-padded buffer (the caller's exact check never
        // accepts a fingerprint that runs past the haystack).
        if at < haystack.len() {
            let mut padded = [0u8; 2 * STEP + MASKS];
            let rest = &haystack[at..];
            padded[..rest.len()].copy_from_slice(rest);
            let mut from = 0;
            while from < rest.len() {
                // SAFETY: from < rest.len() <= reach - 1, and the buffer holds from + reach bytes.
                let mut mask = unsafe { self.step::<G>(padded.as_ptr().add(from)) };
                let live = rest.len() - from;
                if live < STEP {
                    mask &= (1u32 << live) - 1;
                }
                report(mask, at + from, candidate);
                from += STEP;
            }
        }
    }

    /// The candidate bitmask of the 32 positions starting at `p`.
    ///
    /// Not itself marked `avx2` so that it can be forced inline into [`Kernel::scan`], which is.
    ///
    /// # Safety
    /// AVX2 is available and `p .. p + STEP + MASKS - 1` is readable.
    #[inline(always)]
    unsafe fn step<const G: usize>(&self, p: *const u8) -> u32 {
        // SAFETY (the intrinsics): the caller guarantees AVX2.
        unsafe {
            let nibble = _mm256_set1_epi8(0x0f);
            // SAFETY (all loads): the caller guarantees STEP + MASKS - 1 readable bytes at p.
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

/// Calls `candidate` with `base` plus each set bit of `mask`.
#[inline(always)]
fn report<F: FnMut(usize)>(mut mask: u32, base: usize, candidate: &mut F) {
    while mask != 0 {
        candidate(base + mask.trailing_zeros() as usize);
        mask &= mask - 1;
    }
}
