//! The SIMD prefilters (the fastest kernel the CPU runs, and the AVX2 one) find exactly what the
//! scalar one finds, and all exactly what an overlapping Aho-Corasick search finds, on arbitrary
//! keyword sets and inputs.

use keyhound_engine::prefilter::{Hit, Prefilter, PrefilterKind};

/// Input layout: the first byte is the number of keywords (1 to 128: enough to fill every
/// bucket group of either kernel); each keyword is a length byte (1 to 16) and its bytes; the
/// rest is the haystack.
pub fn prefilter_differential(data: &[u8]) {
    let Some((&count, mut rest)) = data.split_first() else {
        return;
    };
    let mut keywords: Vec<&[u8]> = Vec::new();
    for _ in 0..(count % 128) + 1 {
        let Some((&len, tail)) = rest.split_first() else {
            return;
        };
        let len = usize::from(len % 16) + 1;
        if tail.len() < len {
            return;
        }
        keywords.push(&tail[..len]);
        rest = &tail[len..];
    }
    let haystack = rest;
    let run = |kind| -> Option<Vec<Hit>> {
        let prefilter = Prefilter::new(&keywords, kind).ok()?;
        let mut hits = Vec::new();
        prefilter.find_all(haystack, &mut hits);
        hits.sort_unstable();
        Some(hits)
    };
    let scalar = run(PrefilterKind::Scalar).expect("keywords are non-empty");
    let ac = aho_corasick::AhoCorasick::new(&keywords).expect("small keyword sets build");
    let mut expected: Vec<Hit> = ac
        .find_overlapping_iter(haystack)
        .map(|m| (m.pattern().as_u32(), m.end()))
        .collect();
    expected.sort_unstable();
    assert_eq!(scalar, expected, "scalar vs aho-corasick");
    // `Auto` runs one of these or the scalar DFA, so it needs no run of its own.
    for kind in [PrefilterKind::Simd, PrefilterKind::Avx2] {
        if let Some(simd) = run(kind) {
            assert_eq!(simd, scalar, "{kind:?} vs scalar");
        }
    }
}
