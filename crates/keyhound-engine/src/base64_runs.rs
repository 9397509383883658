//! Finding and decoding long base64 runs, for the one-level decode-and-rescan stage.

use std::ops::Range;

use crate::decoders::{self, Decoding};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

/// Whether `b` belongs to the standard or URL-safe base64 alphabet. Written as comparisons, not a
/// table lookup, so the block test below vectorises.
#[inline(always)]
fn is_base64_byte(b: u8) -> bool {
    ((b | 0x20).wrapping_sub(b'a') < 26)
        | (b.wrapping_sub(b'0') < 10)
        | (b == b'+')
        | (b == b'/')
        | (b == b'-')
        | (b == b'_')
}

/// Whether every byte of `block` is a base64 byte: no branch per byte, so it compiles to a few
/// vector comparisons. Blocks of text nearly always hold a space, newline, quote or bracket,
/// bytes below `+`, the smallest base64 byte: two word-wide tests reject those first.
#[inline(always)]
fn all_base64(block: &[u8; BLOCK]) -> bool {
    let word = |k: usize| u64::from_le_bytes(std::array::from_fn(|j| block[k + j]));
    if below_plus(word(0)) != 0 || below_plus(word(8)) != 0 {
        return false;
    }
    block.iter().fold(true, |all, &b| all & is_base64_byte(b))
}

/// Non-zero when some byte of `w` is below `+` (exact as a whole-word answer for limits up to
/// 128).
#[inline(always)]
fn below_plus(w: u64) -> u64 {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES * 0x80;
    w.wrapping_sub(ONES * u64::from(b'+')) & !w & HIGH
}

/// Blocks the skip test looks at together.
const GROUP: usize = 4;

/// Whether none of the [`GROUP`] blocks of `group` can be all base64, because each holds a byte
/// below `+`: one branch for 64 bytes of text instead of one or two per block.
#[inline(always)]
fn no_block_possible(group: &[u8; GROUP * BLOCK]) -> bool {
    let word = |k: usize| u64::from_le_bytes(std::array::from_fn(|j| group[8 * k + j]));
    (0..GROUP).fold(true, |none, b| {
        none & (below_plus(word(2 * b)) | below_plus(word(2 * b + 1)) != 0)
    })
}

/// The first aligned block at or after `from` (a multiple of [`BLOCK`]) that is all base64 and
/// that `sample_ok` accepts.
fn first_block(haystack: &[u8], from: usize, sample_ok: &impl Fn(&[u8]) -> bool) -> Option<usize> {
    let mut accept = |p: usize| sample_ok(&haystack[p..p + BLOCK]);
    let at = match crate::prefilter::base64_blocks(haystack, from, &mut accept) {
        Some(Ok(found)) => return Some(found),
        Some(Err(rest)) => rest,
        None => from,
    };
    first_block_scalar(haystack, at, sample_ok)
}

/// [`first_block`] one block at a time, without vector instructions: for CPUs without the
/// vector test, the tail it leaves, and as its reference.
fn first_block_scalar(
    haystack: &[u8],
    from: usize,
    sample_ok: &impl Fn(&[u8]) -> bool,
) -> Option<usize> {
    let mut at = from;
    while let Some(block) = haystack.get(at..at + BLOCK) {
        let group = haystack.get(at..at + GROUP * BLOCK);
        if group
            .and_then(|g| <&[u8; GROUP * BLOCK]>::try_from(g).ok())
            .is_some_and(no_block_possible)
        {
            at += GROUP * BLOCK;
            continue;
        }
        if <&[u8; BLOCK]>::try_from(block).is_ok_and(all_base64) && sample_ok(block) {
            return Some(at);
        }
        at += BLOCK;
    }
    None
}

/// Block size of the fast scan: any run of at least `2 * BLOCK - 1` bytes covers an aligned block.
const BLOCK: usize = 16;

/// Whether `bytes` holds both upper- and lower-case letters.
fn mixes_case(bytes: &[u8]) -> bool {
    bytes.iter().any(u8::is_ascii_uppercase) && bytes.iter().any(u8::is_ascii_lowercase)
}

/// Whether a run mixes upper case, lower case and digits, as encoded text always does over
/// 32 or more characters. Identifiers (`snake_case_names`, `SCREAMING_CASE`), hex digests and
/// path-like words fail this, and are never decoded.
fn looks_encoded(run: &[u8]) -> bool {
    let (mut upper, mut lower, mut digit) = (false, false, false);
    for &b in run {
        upper |= b.is_ascii_uppercase();
        lower |= b.is_ascii_lowercase();
        digit |= b.is_ascii_digit();
    }
    upper && lower && digit
}

/// Maximal runs of base64 bytes, at least `min_len` long, around aligned 16-byte blocks wholly
/// of such bytes that `sample_ok` accepts (a long enough run covers one, so only those blocks
/// are expanded). Shorter minimums than the block allows fall back to testing every position,
/// without `sample_ok`.
fn runs(
    haystack: &[u8],
    min_len: usize,
    sample_ok: impl Fn(&[u8]) -> bool + 'static,
) -> impl Iterator<Item = Range<usize>> + '_ {
    let is_member = is_base64_byte;
    let block = if min_len >= 2 * BLOCK - 1 { BLOCK } else { 1 };
    let mut next = 0;
    let mut floor = 0;
    std::iter::from_fn(move || {
        while next + block <= haystack.len() {
            let p = if block == BLOCK {
                first_block(haystack, next, &sample_ok)?
            } else if is_member(haystack[next]) {
                next
            } else {
                next += 1;
                continue;
            };
            let mut end = p + block;
            while end < haystack.len() && is_member(haystack[end]) {
                end += 1;
            }
            let mut start = p;
            while start > floor && is_member(haystack[start - 1]) {
                start -= 1;
            }
            floor = end;
            next = (end + 1).next_multiple_of(block);
            if end - start >= min_len {
                return Some(start..end);
            }
        }
        None
    })
}

/// Encoded runs, in one pass over aligned blocks: runs of base64 characters (standard or
/// URL-safe, with trailing `=` padding) of at least `base64_min` bytes that look like encoded
/// data, and runs of at least `hex_min` hex digits that could be the hex of text.
pub(crate) fn encoded_runs(
    haystack: &[u8],
    base64_min: usize,
    hex_min: usize,
) -> impl Iterator<Item = (Decoding, Range<usize>)> + '_ {
    // Encoded text mixes cases within any 16 bytes; identifiers do not. Hex is base64's
    // alphabet too: its blocks pass when they could be the hex of text.
    let sample_ok = |sample: &[u8]| mixes_case(sample) || decoders::hex_text_sample(sample);
    runs(haystack, base64_min.min(hex_min), sample_ok).flat_map(move |run| {
        let base64 =
            (run.len() >= base64_min && looks_encoded(&haystack[run.clone()])).then(|| {
                let mut padded = run.end;
                while padded < haystack.len() && padded - run.end < 2 && haystack[padded] == b'=' {
                    padded += 1;
                }
                (Decoding::Base64, run.start..padded)
            });
        let hex = decoders::hex_pieces(haystack, run, hex_min).map(|r| (Decoding::Hex, r));
        base64.into_iter().chain(hex)
    })
}

/// Decodes `run` into `out` and reports whether the result is mostly printable text worth
/// scanning.
pub(crate) fn decode_text(run: &[u8], out: &mut Vec<u8>) -> bool {
    let body = run
        .strip_suffix(b"==")
        .or_else(|| run.strip_suffix(b"="))
        .unwrap_or(run);
    let usable = body.len() - body.len() % 4
        + if body.len() % 4 >= 2 {
            body.len() % 4
        } else {
            0
        };
    let body = &body[..usable];
    out.clear();
    let url_safe = body.iter().any(|&b| b == b'-' || b == b'_');
    let standard = body.iter().any(|&b| b == b'+' || b == b'/');
    if url_safe && standard {
        return false;
    }
    let engine = if url_safe {
        &URL_SAFE_NO_PAD
    } else {
        &STANDARD_NO_PAD
    };
    if engine.decode_vec(body, out).is_err() || out.len() < 12 {
        return false;
    }
    crate::decoders::mostly_printable(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The base64 runs of `haystack` (what the fuzz target checks too).
    fn find(haystack: &[u8], min_len: usize) -> impl Iterator<Item = Range<usize>> {
        crate::fuzzing::base64_runs(haystack, min_len).into_iter()
    }
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn finds_runs_over_the_threshold_only() {
        let enc = STANDARD.encode("token: the quick brown fox jumps over");
        let text = format!("short abc123 then {enc} end; anotherLongIdentifierButShort");
        let runs: Vec<_> = find(text.as_bytes(), 40).collect();
        assert_eq!(runs.len(), 1);
        assert_eq!(&text[runs[0].clone()], enc);
    }

    #[test]
    fn finds_a_run_at_the_very_start_and_end() {
        let enc = STANDARD.encode("secret value that is long enough to count");
        for text in [enc.clone(), format!("{enc}\n"), format!("x={enc}")] {
            let runs: Vec<_> = find(text.as_bytes(), 32).collect();
            assert_eq!(runs.len(), 1, "{text}");
            assert_eq!(&text[runs[0].clone()], enc);
        }
    }

    #[test]
    fn identifiers_digests_and_paths_are_not_runs() {
        let text = "fn benchmark_string_to_screaming_snake_case() {}\n\
                    const SCREAMING_SNAKE_CASE_CONSTANT_NAME: u8 = 1;\n\
                    sha = 9aa1ba20f05ed582eda04ea625d5658c92195a57\n\
                    see org/nightly/cargo/reference/unstable/features\n";
        assert_eq!(find(text.as_bytes(), 32).count(), 0);
    }

    #[test]
    fn runs_are_found_at_every_alignment_and_length() {
        let enc = STANDARD.encode("user: deploy, password: Tr0ub4dor&3 and more");
        for pad in 0..40 {
            for len in [32, 33, 47, 48, enc.len()] {
                let run = &enc[..len];
                let text = format!("{}\"{run}\" x", " ".repeat(pad));
                let runs: Vec<_> = find(text.as_bytes(), 32).collect();
                assert_eq!(runs.len(), 1, "pad {pad} len {len}");
                assert_eq!(runs[0], pad + 1..pad + 1 + len, "pad {pad} len {len}");
            }
            let short = format!("{}\"{}\" x", " ".repeat(pad), &enc[..31]);
            assert_eq!(find(short.as_bytes(), 32).count(), 0);
        }
    }

    #[test]
    fn the_block_test_agrees_with_the_byte_test() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"+/-_".contains(&b);
            assert_eq!(is_base64_byte(b), expected, "{b}");
        }
        for seed in 0..2000u64 {
            // Mostly base64 bytes, with one byte of any value somewhere.
            let mut block: [u8; BLOCK] = crate::fake::fake_string(seed, b"aZ09+/-_", BLOCK)
                .into_bytes()
                .try_into()
                .expect("16 bytes");
            block[(seed % 16) as usize] = (seed / 16 % 256) as u8;
            assert_eq!(
                all_base64(&block),
                block.iter().all(|&b| is_base64_byte(b)),
                "{block:?}"
            );
        }
    }

    /// The vector block test (where the CPU has one) finds the same blocks as the scalar one,
    /// over every byte value, block position and tail length, with an `accept` that refuses
    /// some blocks.
    #[test]
    fn the_vector_block_finder_agrees_with_the_scalar_one() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..400 {
            let len = (next() % 700) as usize;
            // Mostly base64 bytes, with some bytes of any value, so that whole blocks occur.
            let text: Vec<u8> = (0..len)
                .map(|_| match next() % (8 + round % 64) {
                    0 => (next() % 256) as u8,
                    _ => b"aZ09+/-_qQ"[(next() % 10) as usize],
                })
                .collect();
            let refuse = (next() % 256) as u8;
            let accept = |block: &[u8]| block[3] != refuse;
            let mut from = 0;
            loop {
                let vector = first_block(&text, from, &accept);
                assert_eq!(vector, first_block_scalar(&text, from, &accept), "{text:?}");
                match vector {
                    Some(p) => from = p + BLOCK,
                    None => break,
                }
            }
        }
        let base64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_";
        for b in 0..=255u8 {
            let mut text = base64.repeat(2);
            text[5] = b;
            let expected = first_block_scalar(&text, 0, &|_| true);
            assert_eq!(first_block(&text, 0, &|_| true), expected, "byte {b}");
            assert_eq!(expected == Some(0), is_base64_byte(b), "byte {b}");
        }
    }

    #[test]
    fn decodes_text_and_rejects_binary() {
        let mut out = Vec::new();
        let enc = STANDARD.encode("password=hunter2hunter2");
        assert!(decode_text(enc.as_bytes(), &mut out));
        assert_eq!(out, b"password=hunter2hunter2");
        let binary = STANDARD.encode([0u8, 159, 146, 150, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        assert!(!decode_text(binary.as_bytes(), &mut out));
        let url = URL_SAFE_NO_PAD.encode("some?text>>with~url-safe chars");
        assert!(decode_text(url.as_bytes(), &mut out));
    }
}
