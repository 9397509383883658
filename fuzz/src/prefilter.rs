//! The SIMD prefilters (the fastest kernel the CPU runs, and the AVX2 one) find exactly what the
//! scalar one finds, and all exactly what an overlapping Aho-Corasick search finds, on arbitrary
//! keyword sets and inputs.

use std::cell::RefCell;

use keyhound_engine::prefilter::{Hit, Prefilter, PrefilterKind};

/// The searchers built for one keyword set: the scalar DFA, Aho-Corasick (the oracle) and every
/// SIMD searcher this CPU runs, each once (where the fastest SIMD kernel is the AVX2 one, it is
/// not built twice).
struct Searchers {
    keywords: Vec<Vec<u8>>,
    scalar: Prefilter,
    oracle: aho_corasick::AhoCorasick,
    simd: Vec<Prefilter>,
}

impl Searchers {
    fn new(keywords: &[&[u8]]) -> Self {
        let scalar =
            Prefilter::new(keywords, PrefilterKind::Scalar).expect("keywords are non-empty");
        let oracle = aho_corasick::AhoCorasick::new(keywords).expect("small keyword sets build");
        let mut simd: Vec<Prefilter> = Vec::new();
        // `Auto` runs one of these or the scalar DFA, so it needs no search of its own.
        for kind in [PrefilterKind::Simd, PrefilterKind::Avx2] {
            if let Ok(prefilter) = Prefilter::new(keywords, kind)
                && simd.iter().all(|built| built.kind() != prefilter.kind())
            {
                simd.push(prefilter);
            }
        }
        Self {
            keywords: keywords.iter().map(|k| k.to_vec()).collect(),
            scalar,
            oracle,
            simd,
        }
    }
}

thread_local! {
    /// The last keyword set's searchers. Building them costs far more than a search of a few
    /// kilobytes, and most of libFuzzer's mutations change the haystack and keep the keywords,
    /// so reusing them multiplies the searches a second; a searcher is a pure function of its
    /// keywords, so a reused one finds what a new one would.
    static LAST: RefCell<Option<Searchers>> = const { RefCell::new(None) };
}

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
    LAST.with_borrow_mut(|last| {
        if last.as_ref().is_none_or(|s| s.keywords != keywords) {
            *last = Some(Searchers::new(&keywords));
        }
        let searchers = last.as_ref().expect("built above");
        let run = |prefilter: &Prefilter| -> Vec<Hit> {
            let mut hits = Vec::new();
            prefilter.find_all(haystack, &mut hits);
            hits.sort_unstable();
            hits
        };
        let scalar = run(&searchers.scalar);
        let mut expected: Vec<Hit> = searchers
            .oracle
            .find_overlapping_iter(haystack)
            .map(|m| (m.pattern().as_u32(), m.end()))
            .collect();
        expected.sort_unstable();
        assert_eq!(scalar, expected, "scalar vs aho-corasick");
        for simd in &searchers.simd {
            assert_eq!(run(simd), scalar, "{:?} vs scalar", simd.kind());
        }
    });
}
