//! The keyword prefilter: every occurrence of every keyword, in one pass.
//!
//! Two implementations find exactly the same occurrences:
//! - the SIMD filter: a Teddy-style filter over one short *fingerprint* per keyword, the rarest
//!   few bytes of it in source code rather than its prefix (see `teddy.rs`), run by a vector
//!   kernel picked at run time on x86-64 (`kernel.rs`: AVX-512 VBMI, 64 positions a step, exact
//!   byte classes; or AVX2, 32 positions a step, nibble tables), with an exact check of every
//!   position it lets through.
//! - [`PrefilterKind::Scalar`]: a case-folded DFA over keyword prefixes (see `dfa.rs`), for
//!   CPUs without the kernel and as the reference the SIMD path is tested against.
//!
//! `aho-corasick`'s own packed Teddy searcher was tried first: it takes at most 128 patterns
//! and, bucketing the built-in rules' fingerprints by prefix nibbles, let so many positions
//! through that it ran ten times slower than the DFA.

mod dfa;
#[cfg(target_arch = "x86_64")]
mod kernel;
#[cfg(target_arch = "x86_64")]
mod teddy;

/// The vector test of the base64 run finder, where the CPU runs one: from `from` (a multiple of
/// 16) on, the first 16-byte block at a multiple of 16 whose bytes are all base64 bytes and
/// that `accept` accepts (`Ok`), or the first offset it did not look at (`Err`; fewer than 64
/// bytes before the end). `None`: no vector test on this CPU, the caller tests every block.
pub(crate) fn base64_blocks<F: FnMut(usize) -> bool>(
    haystack: &[u8],
    from: usize,
    accept: &mut F,
) -> Option<Result<usize, usize>> {
    #[cfg(target_arch = "x86_64")]
    return kernel::base64_blocks(haystack, from, accept);
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (haystack, from, accept);
        None
    }
}

/// Every keyword occurrence: (keyword index, end offset).
pub type Hit = (u32, usize);

/// Keyword sets the prefilter cannot be built for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefilterError {
    /// A keyword is empty: it would match everywhere.
    #[error("keyword {0} is empty")]
    EmptyKeyword(usize),
    /// The keywords use every byte value, leaving no byte class for the rest.
    #[error("the keywords use every byte value")]
    EveryByteValue,
    /// The automaton could not be built (too many states).
    #[error("cannot build the keyword automaton: {0}")]
    Automaton(String),
    /// [`PrefilterKind::Simd`] was asked for where no SIMD searcher is available.
    #[error("no SIMD keyword searcher is available on this CPU")]
    NoSimd,
}

/// Which search a [`Prefilter`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PrefilterKind {
    /// The fastest as measured on the built-in rules: the AVX-512 VBMI kernel where the CPU
    /// has it, else the scalar DFA. On an AMD EPYC (Zen 4) core, CPU time, fastest of five
    /// passes over Rust and C sources (shared machine), the VBMI kernel ran 3.1-3.3 and 3.0-3.1
    /// GB/s, the DFA 1.6-1.7 and 1.8-1.9, the AVX2 kernel 1.2 and 1.1: it is bound by its 60
    /// byte shuffles per 32 positions, and its nibble tables let 3-4 % of positions through to
    /// the exact check. On an AMD EPYC without AVX-512 (Zen 3), the same files: DFA 0.98-0.99
    /// GB/s, AVX2 kernel 0.60-0.67.
    #[default]
    Auto,
    /// The scalar DFA.
    Scalar,
    /// The fastest SIMD searcher this CPU runs (AVX-512 VBMI, else AVX2), or an error where it
    /// has none.
    Simd,
    /// The AVX2 searcher, or an error where the CPU has no AVX2 (for comparisons and tests).
    Avx2,
}

/// A vector kernel, with the bucket model its plan was built for.
#[cfg(target_arch = "x86_64")]
enum Kernel {
    Vbmi(kernel::Vbmi),
    Avx2(kernel::Avx2),
}

/// The SIMD prefilter: the plan and its kernel.
#[cfg(target_arch = "x86_64")]
struct Simd {
    plan: teddy::Plan,
    kernel: Kernel,
}

#[cfg(target_arch = "x86_64")]
impl Simd {
    /// The AVX-512 VBMI kernel where the CPU has it, else the AVX2 one if `avx2_fallback`.
    fn new(keywords: &[&[u8]], avx2_fallback: bool) -> Option<Self> {
        if kernel::Vbmi::available() {
            let plan = teddy::Plan::new(keywords, teddy::Model::Bytes);
            if let teddy::Groups::Bytes(groups) = &plan.groups {
                let kernel = Kernel::Vbmi(kernel::Vbmi::new(groups)?);
                return Some(Self { plan, kernel });
            }
        }
        if avx2_fallback {
            Self::avx2(keywords)
        } else {
            None
        }
    }

    /// The AVX2 kernel, where the CPU has AVX2.
    fn avx2(keywords: &[&[u8]]) -> Option<Self> {
        let plan = teddy::Plan::new(keywords, teddy::Model::Nibbles);
        let teddy::Groups::Nibbles(groups) = &plan.groups else {
            return None;
        };
        let kernel = Kernel::Avx2(kernel::Avx2::new(groups)?);
        Some(Self { plan, kernel })
    }

    fn kind(&self) -> PrefilterKind {
        match self.kernel {
            Kernel::Vbmi(_) => PrefilterKind::Simd,
            Kernel::Avx2(_) => PrefilterKind::Avx2,
        }
    }

    fn find_all(&self, haystack: &[u8], hits: &mut Vec<Hit>) {
        let mut verify = |start| self.plan.verify(haystack, start, hits);
        match &self.kernel {
            Kernel::Vbmi(kernel) => kernel.for_each_candidate(haystack, &mut verify),
            Kernel::Avx2(kernel) => kernel.for_each_candidate(haystack, &mut verify),
        }
    }
}

/// No SIMD prefilter on other targets.
#[cfg(not(target_arch = "x86_64"))]
enum Simd {}

#[cfg(not(target_arch = "x86_64"))]
impl Simd {
    fn new(_: &[&[u8]], _: bool) -> Option<Self> {
        None
    }

    fn avx2(_: &[&[u8]]) -> Option<Self> {
        None
    }

    fn kind(&self) -> PrefilterKind {
        match *self {}
    }

    fn find_all(&self, _: &[u8], _: &mut Vec<Hit>) {
        match *self {}
    }
}

enum Imp {
    Scalar(Box<dfa::Dfa>),
    Simd(Box<Simd>),
}

/// Finds every occurrence of every keyword (case-sensitive, overlapping) in a haystack.
pub struct Prefilter {
    imp: Imp,
}

impl Prefilter {
    /// Builds a prefilter over `keywords`, indexed as given in [`Hit`]s.
    pub fn new<K: AsRef<[u8]>>(
        keywords: &[K],
        kind: PrefilterKind,
    ) -> Result<Self, PrefilterError> {
        let keywords: Vec<&[u8]> = keywords.iter().map(AsRef::as_ref).collect();
        if let Some(empty) = keywords.iter().position(|k| k.is_empty()) {
            return Err(PrefilterError::EmptyKeyword(empty));
        }
        let simd = match kind {
            PrefilterKind::Scalar => None,
            PrefilterKind::Simd => Some(Simd::new(&keywords, true).ok_or(PrefilterError::NoSimd)?),
            PrefilterKind::Avx2 => Some(Simd::avx2(&keywords).ok_or(PrefilterError::NoSimd)?),
            PrefilterKind::Auto => Simd::new(&keywords, false),
        };
        let imp = match simd {
            Some(simd) => Imp::Simd(Box::new(simd)),
            None => Imp::Scalar(Box::new(dfa::Dfa::new(&keywords)?)),
        };
        Ok(Self { imp })
    }

    /// The search this prefilter runs: [`PrefilterKind::Simd`] or [`PrefilterKind::Scalar`].
    pub fn kind(&self) -> PrefilterKind {
        match &self.imp {
            Imp::Scalar(_) => PrefilterKind::Scalar,
            Imp::Simd(simd) => simd.kind(),
        }
    }

    /// Appends every keyword occurrence in `haystack` to `hits`, in no particular order.
    pub fn find_all(&self, haystack: &[u8], hits: &mut Vec<Hit>) {
        match &self.imp {
            Imp::Scalar(dfa) => dfa.find_all(haystack, hits),
            Imp::Simd(simd) => simd.find_all(haystack, hits),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn oracle(keywords: &[&[u8]], haystack: &[u8]) -> Vec<Hit> {
        let ac = aho_corasick::AhoCorasick::new(keywords).unwrap();
        let mut hits: Vec<Hit> = ac
            .find_overlapping_iter(haystack)
            .map(|m| (m.pattern().as_u32(), m.end()))
            .collect();
        hits.sort_unstable();
        hits
    }

    /// Hits of every available kind, each checked against the oracle.
    fn run(keywords: &[&str], haystack: &[u8]) -> Vec<Hit> {
        let keywords: Vec<&[u8]> = keywords.iter().map(|k| k.as_bytes()).collect();
        check(&keywords, haystack)
    }

    fn check(keywords: &[&[u8]], haystack: &[u8]) -> Vec<Hit> {
        let expected = oracle(keywords, haystack);
        let mut kinds = vec![PrefilterKind::Scalar, PrefilterKind::Auto];
        for kind in [PrefilterKind::Simd, PrefilterKind::Avx2] {
            if Prefilter::new(keywords, kind).is_ok() {
                kinds.push(kind);
            }
        }
        for kind in kinds {
            let pf = Prefilter::new(keywords, kind).unwrap();
            if matches!(kind, PrefilterKind::Scalar | PrefilterKind::Avx2) {
                assert_eq!(pf.kind(), kind);
            }
            let mut hits = Vec::new();
            pf.find_all(haystack, &mut hits);
            hits.sort_unstable();
            assert_eq!(hits, expected, "{kind:?}");
        }
        expected
    }

    #[test]
    fn auto_runs_the_vbmi_kernel_where_there_is_one_else_the_dfa() {
        let pf = Prefilter::new(&["ghp_", "token"], PrefilterKind::Auto).unwrap();
        #[cfg(target_arch = "x86_64")]
        {
            let vbmi = kernel::Vbmi::available();
            let expected = if vbmi {
                PrefilterKind::Simd
            } else {
                PrefilterKind::Scalar
            };
            assert_eq!(pf.kind(), expected);
            if std::arch::is_x86_feature_detected!("avx2") {
                let pf = Prefilter::new(&["ghp_", "token"], PrefilterKind::Avx2).unwrap();
                assert_eq!(pf.kind(), PrefilterKind::Avx2);
                let pf = Prefilter::new(&["ghp_", "token"], PrefilterKind::Simd).unwrap();
                let simd = if vbmi {
                    PrefilterKind::Simd
                } else {
                    PrefilterKind::Avx2
                };
                assert_eq!(pf.kind(), simd);
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        assert_eq!(pf.kind(), PrefilterKind::Scalar);
    }

    #[test]
    fn agrees_with_overlapping_aho_corasick_on_small_and_large_inputs() {
        let keywords = [
            "ghp_", "sk_live_", "sk_", "password", "word", "AKIA", "xoxb-", "abcab", "s",
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let alphabet = b"ghp_skliveAKIAxob-passwordabc \n";
        for len in [0, 1, 7, 100, 4095, 4096, 4097, 20_000, 65_537] {
            let text: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            run(&keywords, &text);
        }
    }

    #[test]
    fn keywords_straddling_lane_and_block_boundaries_are_found_once() {
        let keywords = ["boundary-keyword"];
        let mut text = vec![b'.'; 40_000];
        let at = [0, 9_980, 9_996, 10_012, 19_995, 29_993, 39_984];
        for &at in &at {
            text[at..at + 16].copy_from_slice(b"boundary-keyword");
        }
        assert_eq!(run(&keywords, &text).len(), at.len());
    }

    #[test]
    fn keywords_are_case_sensitive() {
        let keywords = ["password", "PASSWORD", "Passwd", "tok", "TOKEN_"];
        let text = b"PassWord password PASSWORD passwd Passwd TOK tok TOKEN_ TOKEN token_";
        // password, PASSWORD, Passwd, TOKEN_, and tok in both `tok` and `token_`.
        assert_eq!(run(&keywords, text).len(), 6);
    }

    #[test]
    fn keywords_sharing_a_fingerprint_and_keywords_inside_keywords() {
        let keywords = [
            "secret_key",
            "SECRET_KEY",
            "secret",
            "_key",
            "et_k",
            "ret_key",
            "y",
            "ke",
        ];
        let text = b"a secret_key, SECRET_KEY; the_key secret-key et_k yy ke";
        assert!(run(&keywords, text).len() > 8);
    }

    #[test]
    fn nul_and_high_bytes_in_keywords_and_text() {
        let keywords = ["a\0b", "zz", "\u{e9}t\u{e9}"];
        let text = "xa\0b\0zz\0\0a\0b \u{e9}t\u{e9}\u{e9}t\u{e9}".as_bytes();
        assert_eq!(run(&keywords, text).len(), 5);
    }

    /// SIMD == scalar == oracle on random keyword sets (1 to 300 keywords of 1 to 12 bytes, with
    /// case variants, NUL and high bytes) over random inputs built from the keywords' bytes, so
    /// that hits, near misses and bucket collisions are common.
    #[test]
    fn simd_and_scalar_agree_on_random_keyword_sets_and_inputs() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let alphabet = b"aAbBkKeEyY_-.:/0129\0\xff\xe9 \n";
        for round in 0..60 {
            let count = 1 + next(if round % 3 == 0 { 300 } else { 20 });
            let mut keywords: Vec<Vec<u8>> = Vec::new();
            while keywords.len() < count {
                let len = 1 + next(12);
                let k: Vec<u8> = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
                if next(4) == 0 {
                    keywords.push(k.to_ascii_uppercase());
                }
                keywords.push(k);
            }
            let mut text = Vec::new();
            let len = next(5000);
            while text.len() < len {
                if next(8) == 0 {
                    text.extend_from_slice(&keywords[next(keywords.len())]);
                } else {
                    text.push(alphabet[next(alphabet.len())]);
                }
            }
            let keywords: Vec<&[u8]> = keywords.iter().map(Vec::as_slice).collect();
            check(&keywords, &text);
        }
    }

    #[test]
    fn empty_keywords_are_refused() {
        assert_eq!(
            Prefilter::new(&["ok", ""], PrefilterKind::Auto).err(),
            Some(PrefilterError::EmptyKeyword(1))
        );
    }
}
