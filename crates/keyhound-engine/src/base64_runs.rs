//! Finding and decoding long base64 runs, for the one-level decode-and-rescan stage.

use std::ops::Range;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};

const fn alphabet() -> [bool; 256] {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'+' || c == b'/' || c == b'-' || c == b'_';
        b += 1;
    }
    table
}

static BASE64_BYTE: [bool; 256] = alphabet();

/// Runs of base64 characters (standard or URL-safe, with trailing `=` padding) of at least
/// `min_len` bytes. Samples every `min_len`-th byte, since any such run covers a sample, and
/// expands around samples that hit the alphabet.
pub(crate) fn find(haystack: &[u8], min_len: usize) -> impl Iterator<Item = Range<usize>> + '_ {
    let step = min_len.max(1);
    let mut next = 0;
    let mut floor = 0;
    // A run of `min_len` bytes around a sample holds at least four consecutive probes spaced
    // `min_len / 4` apart, one of them the sample: checking those first rejects ordinary words
    // without walking them.
    let probe = (min_len / 4).max(1);
    let is_b64 = move |i: usize| BASE64_BYTE[haystack[i] as usize];
    std::iter::from_fn(move || {
        while next < haystack.len() {
            let p = next;
            next += step;
            if !is_b64(p) {
                continue;
            }
            let mut chain = 1;
            let mut q = p;
            while chain < 4 && q >= probe + floor && is_b64(q - probe) {
                q -= probe;
                chain += 1;
            }
            let mut q = p;
            while chain < 4 && q + probe < haystack.len() && is_b64(q + probe) {
                q += probe;
                chain += 1;
            }
            if chain < 4 {
                continue;
            }
            let mut end = p + 1;
            while end < haystack.len() && is_b64(end) {
                end += 1;
            }
            let mut start = p;
            while start > floor && is_b64(start - 1) {
                start -= 1;
            }
            floor = end;
            next = next.max(end + 1);
            if end - start >= min_len {
                let mut padded = end;
                while padded < haystack.len() && padded - end < 2 && haystack[padded] == b'=' {
                    padded += 1;
                }
                return Some(start..padded);
            }
        }
        None
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
    let printable = out
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' || b == b'\t')
        .count();
    printable * 100 >= out.len() * 95
}

#[cfg(test)]
mod tests {
    use super::*;
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
