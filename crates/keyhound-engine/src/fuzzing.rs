//! Entry points for the fuzz targets in `fuzz/`: the base64 stage's run finder and decoder,
//! reachable without an engine. Not part of the API (hidden from the docs); they may change at
//! any time.

use std::ops::Range;

/// The base64 runs of at least `min_len` bytes (with their `=` padding) that the engine
/// decodes and rescans, in order.
pub fn base64_runs(haystack: &[u8], min_len: usize) -> Vec<Range<usize>> {
    crate::base64_runs::encoded_runs(haystack, min_len, usize::MAX)
        .filter(|(how, _)| *how == crate::Decoding::Base64)
        .map(|(_, run)| run)
        .collect()
}

/// Decodes one run into `out`; whether the result is text worth rescanning.
pub fn decode_base64_run(run: &[u8], out: &mut Vec<u8>) -> bool {
    crate::base64_runs::decode_text(run, out)
}
