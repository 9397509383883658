//! The scalar prefilter: a case-folded Aho-Corasick DFA over keyword prefixes, walked over four
//! lanes in lockstep. It runs on every target and is the reference the SIMD searcher is checked
//! against.
//!
//! A byte-at-a-time DFA is bound by the latency of its dependent table loads, and by cache
//! misses once the table outgrows L1: the full Aho-Corasick DFA of 300 mixed-case keywords has
//! over 2,000 states and 100 byte classes, a megabyte of transitions. So this prefilter runs a
//! much smaller automaton and confirms its hits:
//!
//! 1. Each keyword is cut to its first [`PREFIX_LEN`] bytes and ASCII-lowercased; `aho-corasick`
//!    builds the distinct prefixes' automaton (a contiguous NFA), and its transitions over
//!    case-folded byte classes are laid out as one flat, premultiplied DFA table of `u16` ids
//!    with match states last. For the built-in rules that is about 960 states and 52 classes
//!    (100 KB); the shallow states, where the walk spends most of its time, stay in L1.
//! 2. [`LANES`] independent slices of the input are walked in lockstep, so the CPU overlaps the
//!    lanes' loads. Each lane starts `PREFIX_LEN - 1` bytes before its slice and reports only
//!    prefixes that end inside it, so the lanes agree exactly with one pass.
//! 3. At each prefix hit, every keyword with that prefix is compared byte for byte (keywords are
//!    case-sensitive) with the input at the hit.

use aho_corasick::automaton::Automaton;
use aho_corasick::{Anchored, MatchKind};

use super::{Hit, PrefilterError};

/// Input slices walked in lockstep.
const LANES: usize = 4;
/// Inputs shorter than this are walked in one lane.
const MIN_LANE_INPUT: usize = 4096;
/// Bytes of each keyword the automaton matches; the rest is compared at each hit.
const PREFIX_LEN: usize = 4;

/// Entries of the narrow table: every `u16` index is in bounds, so lookups need no bounds check.
const NARROW_LEN: usize = 1 << 16;
/// In the narrow table, match states start here, the top bit of a `u16` id: whether any of the
/// lanes' states is a match state is then one OR of the states and one comparison.
const NARROW_MATCH_MIN: usize = NARROW_LEN / 2;

/// The transition table: `table[state + class[byte]]`, states premultiplied by the stride.
enum Table {
    /// Up to 64 Ki transitions, padded to exactly that many so any `u16` index is valid.
    Narrow(Box<[u16; NARROW_LEN]>),
    Wide(Vec<u32>),
}

/// The scalar keyword searcher.
pub(super) struct Dfa {
    table: Table,
    classes: [u8; 256],
    stride: usize,
    /// States at or above this (premultiplied) id are match states.
    match_min: usize,
    /// Prefixes that end in each match state, indexed by `(state - match_min) / stride`.
    matches: Vec<Vec<u32>>,
    /// Keywords that start with each prefix.
    prefix_keywords: Vec<Vec<u32>>,
    /// Each prefix's length.
    prefix_lens: Vec<usize>,
    keywords: Vec<Box<[u8]>>,
}

impl Dfa {
    /// Builds the automaton over `keywords` (none empty).
    pub(super) fn new(keywords: &[&[u8]]) -> Result<Self, PrefilterError> {
        // Start-up cost matters here (every scan builds this where the CPU has no VBMI): the
        // prefixes are deduplicated through a map and the bytes they use found in one pass (a
        // linear search of the prefixes for each keyword and each byte value took a fifth of a
        // tiny scan's CPU time), and the table is filled from `aho-corasick`'s NFA, each
        // transition asked once: building its DFA first, then asking each transition twice
        // through hashed state ids, took 4.3-4.9 ms for the built-in rules in a fresh process,
        // this 2.0-2.6 ms.
        let mut prefixes: Vec<Vec<u8>> = Vec::new();
        let mut prefix_keywords: Vec<Vec<u32>> = Vec::new();
        let mut prefix_index: std::collections::HashMap<Vec<u8>, usize> =
            std::collections::HashMap::with_capacity(keywords.len());
        for (k, keyword) in keywords.iter().enumerate() {
            let bytes: &[u8] = keyword;
            let prefix = bytes[..bytes.len().min(PREFIX_LEN)].to_ascii_lowercase();
            let i = match prefix_index.get(&prefix) {
                Some(&i) => i,
                None => {
                    prefix_index.insert(prefix.clone(), prefixes.len());
                    prefixes.push(prefix);
                    prefix_keywords.push(Vec::new());
                    prefixes.len() - 1
                }
            };
            prefix_keywords[i].push(k as u32);
        }
        let dfa = aho_corasick::nfa::contiguous::NFA::builder()
            .match_kind(MatchKind::Standard)
            .build(&prefixes)
            .map_err(|e| PrefilterError::Automaton(e.to_string()))?;
        // Byte classes, folding ASCII case: every (lowercased) byte that occurs in a prefix is its
        // own class; all others share class 0, whose representative occurs in no prefix.
        let mut used = [false; 256];
        for &b in prefixes.iter().flatten() {
            used[usize::from(b)] = true;
        }
        let in_prefix = |b: u8| used[usize::from(b)];
        let other = (0..=255u8)
            .find(|&b| !in_prefix(b) && !in_prefix(b.to_ascii_lowercase()))
            .ok_or(PrefilterError::EveryByteValue)?;
        let mut classes = [0u8; 256];
        let mut representatives = vec![other];
        for b in 0..=255u8 {
            let folded = b.to_ascii_lowercase();
            if !in_prefix(folded) {
                continue;
            }
            if folded != b {
                continue;
            }
            classes[b as usize] =
                u8::try_from(representatives.len()).map_err(|_| PrefilterError::EveryByteValue)?;
            representatives.push(b);
        }
        for b in b'A'..=b'Z' {
            classes[b as usize] = classes[b.to_ascii_lowercase() as usize];
        }
        let stride = representatives.len();

        let start = dfa
            .start_state(Anchored::No)
            .map_err(|e| PrefilterError::Automaton(e.to_string()))?;
        // Discover states breadth-first from the start state, numbering them in the order met and
        // keeping each one's transitions by those numbers: `seen` maps a state id to its number
        // (ids index it directly, grown as they are met; hashing them took a tenth of the build).
        const UNSEEN: u32 = u32::MAX;
        let mut order = vec![start];
        let mut seen: Vec<u32> = vec![UNSEEN; start.as_usize() + 1];
        seen[start.as_usize()] = 0;
        let mut next_of: Vec<u32> = Vec::new();
        let mut i = 0;
        while i < order.len() {
            let sid = order[i];
            for &b in &representatives {
                let next_sid = dfa.next_state(Anchored::No, sid, b);
                let next = next_sid.as_usize();
                if next >= seen.len() {
                    seen.resize(next + 1, UNSEEN);
                }
                if seen[next] == UNSEEN {
                    seen[next] = order.len() as u32;
                    order.push(next_sid);
                }
                next_of.push(seen[next]);
            }
            i += 1;
        }
        // Renumber: the start state first, other non-match states next (in BFS order, so hot
        // shallow states are close), then match states.
        let (plain, matching): (Vec<usize>, Vec<usize>) =
            (0..order.len()).partition(|&n| !dfa.is_match(order[n]));
        // Match states go to the narrow table's top half when both halves fit.
        let narrow = plain.len() * stride <= NARROW_MATCH_MIN
            && (matching.len() + 1) * stride <= NARROW_LEN - NARROW_MATCH_MIN;
        let match_min = if narrow {
            NARROW_MATCH_MIN
        } else {
            plain.len() * stride
        };
        // Each state's new (premultiplied) id, by its BFS number.
        let mut new_id = vec![0u32; order.len()];
        for (n, &state) in plain.iter().enumerate() {
            new_id[state] = (n * stride) as u32;
        }
        for (n, &state) in matching.iter().enumerate() {
            new_id[state] = (match_min + n * stride) as u32;
        }
        let mut wide = vec![0u32; match_min + matching.len() * stride];
        for &state in plain.iter().chain(&matching) {
            let base = new_id[state] as usize;
            let row = &next_of[state * stride..(state + 1) * stride];
            for (slot, &next) in wide[base..base + stride].iter_mut().zip(row) {
                *slot = new_id[next as usize];
            }
        }
        // The prefixes of each match state, in the order of their new ids.
        let matches: Vec<Vec<u32>> = matching
            .iter()
            .map(|&state| {
                let sid = order[state];
                (0..dfa.match_len(sid))
                    .map(|m| dfa.match_pattern(sid, m).as_u32())
                    .collect()
            })
            .collect();
        let table = if narrow {
            let mut narrow = Box::new([0u16; NARROW_LEN]);
            for (slot, &s) in narrow.iter_mut().zip(&wide) {
                *slot = s as u16;
            }
            Table::Narrow(narrow)
        } else {
            Table::Wide(wide)
        };
        Ok(Self {
            table,
            classes,
            stride,
            match_min,
            matches,
            prefix_lens: prefixes.iter().map(Vec::len).collect(),
            prefix_keywords,
            keywords: keywords.iter().map(|&k| k.into()).collect(),
        })
    }

    /// Appends every keyword occurrence in `haystack` to `hits`, in no particular order.
    pub(super) fn find_all(&self, haystack: &[u8], hits: &mut Vec<Hit>) {
        match &self.table {
            Table::Narrow(table) => self.find_all_in(
                // Every id is below `2 * NARROW_MATCH_MIN`: the top bit tells a match state.
                |states| states.iter().fold(0, |all, &s| all | s) >= NARROW_MATCH_MIN,
                |state, byte| {
                    usize::from(
                        table[usize::from(
                            (state + usize::from(self.classes[usize::from(byte)])) as u16,
                        )],
                    )
                },
                haystack,
                hits,
            ),
            Table::Wide(table) => self.find_all_in(
                |states| states.iter().copied().max().unwrap_or(0) >= self.match_min,
                |state, byte| table[state + usize::from(self.classes[usize::from(byte)])] as usize,
                haystack,
                hits,
            ),
        }
    }

    /// Confirms the keywords of the prefixes that end in match state `state` at `end`.
    #[inline(never)]
    fn emit(&self, haystack: &[u8], state: usize, end: usize, hits: &mut Vec<Hit>) {
        let slot = (state - self.match_min) / self.stride;
        for &prefix in &self.matches[slot] {
            let start = end - self.prefix_lens[prefix as usize];
            for &k in &self.prefix_keywords[prefix as usize] {
                let keyword = &self.keywords[k as usize];
                if haystack[start..].starts_with(keyword) {
                    hits.push((k, start + keyword.len()));
                }
            }
        }
    }

    #[inline(always)]
    fn find_all_in(
        &self,
        any_match: impl Fn([usize; LANES]) -> bool,
        step: impl Fn(usize, u8) -> usize,
        haystack: &[u8],
        hits: &mut Vec<Hit>,
    ) {
        if haystack.len() < MIN_LANE_INPUT {
            let mut s = 0;
            for (offset, &b) in haystack.iter().enumerate() {
                s = step(s, b);
                if s >= self.match_min {
                    self.emit(haystack, s, offset + 1, hits);
                }
            }
            return;
        }
        let slice = haystack.len() / LANES;
        let mut bounds = [0usize; LANES + 1];
        for (k, b) in bounds.iter_mut().enumerate() {
            *b = (k * slice).min(haystack.len());
        }
        bounds[LANES] = haystack.len();
        let warm = PREFIX_LEN - 1;
        let pos: [usize; LANES] = std::array::from_fn(|k| bounds[k].saturating_sub(warm));
        let steps = (0..LANES)
            .map(|k| bounds[k + 1] - pos[k])
            .min()
            .unwrap_or(0);
        // Lane k reads haystack[pos[k] + step]. The lanes advance together through one zipped
        // iterator (no index arithmetic or bounds checks to keep in registers), and one test of
        // the four states tells whether any lane reached a match state.
        let [a, b, c, d]: [&[u8]; LANES] =
            std::array::from_fn(|k| &haystack[pos[k]..pos[k] + steps]);
        let (mut s0, mut s1, mut s2, mut s3) = (0usize, 0usize, 0usize, 0usize);
        let match_min = self.match_min;
        for (i, (((&b0, &b1), &b2), &b3)) in a.iter().zip(b).zip(c).zip(d).enumerate() {
            s0 = step(s0, b0);
            s1 = step(s1, b1);
            s2 = step(s2, b2);
            s3 = step(s3, b3);
            if any_match([s0, s1, s2, s3]) {
                for (k, s) in [s0, s1, s2, s3].into_iter().enumerate() {
                    let end = pos[k] + i + 1;
                    if s >= match_min && end > bounds[k] {
                        self.emit(haystack, s, end, hits);
                    }
                }
            }
        }
        let state = [s0, s1, s2, s3];
        for k in 0..LANES {
            let from = pos[k] + steps;
            let mut s = state[k];
            for (offset, &b) in haystack[from..bounds[k + 1]].iter().enumerate() {
                s = step(s, b);
                let end = from + offset + 1;
                if s >= self.match_min && end > bounds[k] {
                    self.emit(haystack, s, end, hits);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_keywords_use_the_wide_table_and_find_them_all() {
        let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789-_.";
        let owned: Vec<String> = (0..3000)
            .map(|i| crate::fake::fake_string(i, alphabet, 6))
            .collect();
        let keywords: Vec<&[u8]> = owned.iter().map(|k| k.as_bytes()).collect();
        let dfa = Dfa::new(&keywords).unwrap();
        assert!(matches!(dfa.table, Table::Wide(_)));
        let text: String = owned
            .iter()
            .step_by(7)
            .map(|k| format!("{k} "))
            .collect::<String>()
            .repeat(3);
        let mut hits = Vec::new();
        dfa.find_all(text.as_bytes(), &mut hits);
        hits.sort_unstable();
        assert_eq!(
            hits,
            super::super::tests::oracle(&keywords, text.as_bytes())
        );
    }
}
