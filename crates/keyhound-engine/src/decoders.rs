//! The one-level decoders besides base64: percent-encoding (URLs, form bodies), JSON and YAML
//! string escapes, and hex runs. Each finds the spans of an input worth decoding behind a cheap
//! pre-check (a `%` and two hex digits; `\/`, `\uHHHH`, `\xHH` or `\UHHHHHHHH`; an aligned
//! block of hex digits), decodes them into text and remembers where each decoded byte came from,
//! so a secret found in the decoded text is reported at its encoded bytes.

use std::ops::Range;

/// How a secret was decoded before it was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decoding {
    /// A run of base64 (standard or URL-safe); the location is the whole run's.
    Base64,
    /// Percent-encoding (`%2B`, `%3D`) in a URL or form body.
    Percent,
    /// JSON or YAML string escapes (`\"`, `\/`, `\n`, `\u0041`, surrogate pairs, `\x41`).
    Escape,
    /// A run of hex digits that decodes to text.
    Hex,
}

impl Decoding {
    /// The name used in reports: `base64`, `percent`, `escape` or `hex`.
    pub fn name(self) -> &'static str {
        match self {
            Decoding::Base64 => "base64",
            Decoding::Percent => "percent",
            Decoding::Escape => "escape",
            Decoding::Hex => "hex",
        }
    }
}

/// The shortest span of percent-encoded or escaped text that is decoded: no secret is shorter.
pub(crate) const MIN_SEGMENT: usize = 16;

/// Where the bytes of a decoded text came from in the input.
#[derive(Debug)]
pub(crate) enum Origin {
    /// Every decoded byte came from the whole run (base64: a secret is located at the run).
    Whole(Range<usize>),
    /// Two hex digits per decoded byte, from this offset on.
    Hex(usize),
    /// The input offset of each decoded byte, and one more entry: the end of the span decoded.
    Map(Vec<usize>),
}

impl Origin {
    /// The input bytes that decoded to `decoded` (a range of the decoded text).
    pub(crate) fn original(&self, decoded: Range<usize>) -> Range<usize> {
        match self {
            Origin::Whole(run) => run.clone(),
            Origin::Hex(start) => start + 2 * decoded.start..start + 2 * decoded.end,
            Origin::Map(map) => {
                let start = map[decoded.start];
                let last = map[decoded.end.saturating_sub(1).max(decoded.start)];
                // A multi-byte character decoded from one escape maps each byte to the escape:
                // the span ends where the next escape (or literal byte) starts.
                let end = map[decoded.end..]
                    .iter()
                    .copied()
                    .find(|&o| o > last)
                    .unwrap_or(last + 1);
                start..end
            }
        }
    }

    /// Where the decoded span starts in the input.
    pub(crate) fn start(&self) -> usize {
        match self {
            Origin::Whole(run) => run.start,
            Origin::Hex(start) => *start,
            Origin::Map(map) => map.first().copied().unwrap_or(0),
        }
    }
}

#[inline(always)]
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// The byte that the two hex digits at `at` spell, if they are hex digits.
fn hex_byte(haystack: &[u8], at: usize) -> Option<u8> {
    let hi = hex_value(*haystack.get(at)?)?;
    let lo = hex_value(*haystack.get(at + 1)?)?;
    Some(hi << 4 | lo)
}

/// Whether `bytes` decoded to text worth scanning: at least 95 % printable ASCII or whitespace.
pub(crate) fn mostly_printable(bytes: &[u8]) -> bool {
    let printable = bytes
        .iter()
        .filter(|&&b| (0x20..0x7f).contains(&b) || b == b'\n' || b == b'\r' || b == b'\t')
        .count();
    printable * 100 >= bytes.len() * 95
}

/// Whether `b` may stand in a URL or form body as written (no space, quote or bracket).
fn is_url_byte(b: u8) -> bool {
    b > b' ' && b < 0x7f && !matches!(b, b'"' | b'\'' | b'`' | b'<' | b'>' | b'(' | b')' | b'\\')
}

/// Calls `segment` with each span around a `needle` byte that `is_trigger` accepts (given the
/// input and the needle's offset): the bytes either side up to one `is_boundary` accepts, at
/// most `max_len` in all, if at least [`MIN_SEGMENT`]. Segments do not overlap.
fn segments(
    haystack: &[u8],
    max_len: usize,
    needle: u8,
    is_trigger: impl Fn(&[u8], usize) -> bool,
    is_boundary: impl Fn(u8) -> bool,
    segment: &mut dyn FnMut(Range<usize>),
) {
    let mut floor = 0;
    for p in memchr::memchr_iter(needle, haystack) {
        if p < floor || !is_trigger(haystack, p) {
            continue;
        }
        let lo = p.saturating_sub(max_len / 2).max(floor);
        let start = haystack[lo..p]
            .iter()
            .rposition(|&b| is_boundary(b))
            .map_or(lo, |q| lo + q + 1);
        let hi = (start + max_len).min(haystack.len());
        let end = haystack[p..hi]
            .iter()
            .position(|&b| is_boundary(b))
            .map_or(hi, |q| p + q);
        floor = end;
        if end - start >= MIN_SEGMENT {
            segment(start..end);
        }
    }
}

/// Calls `segment` with each span of URL-like text (at most `max_len` bytes) that holds a
/// percent-encoded byte (`%` and two hex digits) and is at least [`MIN_SEGMENT`] bytes long.
pub(crate) fn percent_segments(
    haystack: &[u8],
    max_len: usize,
    segment: &mut dyn FnMut(Range<usize>),
) {
    let is_trigger = |h: &[u8], p: usize| hex_byte(h, p + 1).is_some();
    segments(
        haystack,
        max_len,
        b'%',
        is_trigger,
        |b| !is_url_byte(b),
        segment,
    );
}

/// Decodes `segment` of `haystack` into `out`, each decoded byte's input offset into `map`
/// (and, last, the segment's end). `escape(haystack, at, end, piece)` decodes the escape at
/// `at`, if one starts there ([`percent_escape`], [`string_escape`]): it fills `piece` and
/// returns the input bytes it took; other bytes stay as written.
pub(crate) fn decode_segment(
    haystack: &[u8],
    segment: Range<usize>,
    out: &mut Vec<u8>,
    map: &mut Vec<usize>,
    escape: fn(&[u8], usize, usize, &mut Vec<u8>) -> Option<usize>,
) {
    out.clear();
    map.clear();
    let mut piece = Vec::with_capacity(4);
    let mut i = segment.start;
    while i < segment.end {
        piece.clear();
        let taken = escape(haystack, i, segment.end, &mut piece).unwrap_or_else(|| {
            piece.push(haystack[i]);
            1
        });
        out.extend_from_slice(&piece);
        map.extend(std::iter::repeat_n(i, piece.len()));
        i += taken;
    }
    map.push(segment.end);
}

/// A percent-encoded byte at `i`, before `to` (see [`decode_segment`]). `+` stays as written:
/// in a secret it is more often itself than a space.
pub(crate) fn percent_escape(text: &[u8], i: usize, to: usize, out: &mut Vec<u8>) -> Option<usize> {
    let byte = (text[i] == b'%' && i + 3 <= to)
        .then(|| hex_byte(text, i + 1))
        .flatten()?;
    out.push(byte);
    Some(3)
}

/// Whether the backslash at `at` starts an escape that can hide a secret: `\/` (JSON's escaped
/// slash, in a key's `/`), `\uHHHH`, `\xHH` and `\UHHHHHHHH` of printable ASCII. `\"` alone
/// does not start a decode: the rules' own patterns take escaped quotes around values, and
/// source code is full of them.
fn is_escape_trigger(haystack: &[u8], at: usize) -> bool {
    let digits = match haystack.get(at + 1) {
        Some(b'/') => return true,
        Some(b'x') => 2,
        Some(b'u') => 4,
        Some(b'U') => 8,
        _ => return false,
    };
    // A character of a secret is printable; escaped control bytes (`\x1b`, `\x00` in byte
    // strings, which fill code) hide none.
    code_unit(haystack, at + 2, digits, haystack.len()).is_some_and(|c| (0x21..0x7f).contains(&c))
}

/// Calls `segment` with each part of a line (at most `max_len` bytes around its first escape)
/// that holds an escape [`is_escape_trigger`] accepts and is at least [`MIN_SEGMENT`] bytes long.
pub(crate) fn escape_segments(
    haystack: &[u8],
    max_len: usize,
    segment: &mut dyn FnMut(Range<usize>),
) {
    segments(
        haystack,
        max_len,
        b'\\',
        is_escape_trigger,
        |b| b == b'\n',
        segment,
    );
}

/// The code unit of `digits` hex digits at `at`, if they are all hex digits.
fn code_unit(haystack: &[u8], at: usize, digits: usize, end: usize) -> Option<u32> {
    if at + digits > end {
        return None;
    }
    haystack[at..at + digits]
        .iter()
        .try_fold(0u32, |n, &b| Some(n << 4 | u32::from(hex_value(b)?)))
}

/// A JSON or YAML double-quoted string escape at `i`, before `to` (see [`decode_segment`]):
/// `\"`, `\\`, `\/`, `\n`, `\r`, `\t`, `\b`, `\f`, `\0`, `\xHH`, `\uHHHH` (with UTF-16
/// surrogate pairs) and `\UHHHHHHHH`; unknown escapes stay as written.
pub(crate) fn string_escape(text: &[u8], i: usize, to: usize, out: &mut Vec<u8>) -> Option<usize> {
    if text[i] != b'\\' || i + 1 >= to {
        return None;
    }
    let simple = match text[i + 1] {
        b'"' => Some(b'"'),
        b'\\' => Some(b'\\'),
        b'/' => Some(b'/'),
        b'\'' => Some(b'\''),
        b'n' => Some(b'\n'),
        b'r' => Some(b'\r'),
        b't' => Some(b'\t'),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        b'0' => Some(0),
        _ => None,
    };
    if let Some(c) = simple {
        out.push(c);
        return Some(2);
    }
    let (n, len) = match text[i + 1] {
        b'x' => (code_unit(text, i + 2, 2, to)?, 4),
        b'U' => (code_unit(text, i + 2, 8, to)?, 10),
        b'u' => match code_unit(text, i + 2, 4, to)? {
            high @ 0xD800..=0xDBFF => {
                let low = (text.get(i + 6..i + 8) == Some(b"\\u"))
                    .then(|| code_unit(text, i + 8, 4, to))
                    .flatten()
                    .filter(|low| (0xDC00..=0xDFFF).contains(low))?;
                (0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00), 12)
            }
            n => (n, 6),
        },
        _ => return None,
    };
    let mut utf8 = [0u8; 4];
    out.extend_from_slice(char::from_u32(n)?.encode_utf8(&mut utf8).as_bytes());
    Some(len)
}

/// Whether a 16-byte block could be hex of text: all hex digits, and of two neighbouring digits
/// one is the high nibble of printable ASCII, `2` to `7`.
pub(crate) fn hex_text_sample(sample: &[u8]) -> bool {
    let high = |b: &u8| (b'2'..=b'7').contains(b);
    sample.iter().all(u8::is_ascii_hexdigit)
        && (sample.iter().step_by(2).all(high) || sample.iter().skip(1).step_by(2).all(high))
}

/// The stretches of hex digits of at least `min_len` in `run` (a run of base64 characters).
/// Hex digests pass too, and are rejected when they do not decode to text.
pub(crate) fn hex_pieces(
    haystack: &[u8],
    run: Range<usize>,
    min_len: usize,
) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut at = run.start;
    std::iter::from_fn(move || {
        while at < run.end {
            let start = at
                + haystack[at..run.end]
                    .iter()
                    .position(u8::is_ascii_hexdigit)?;
            let end = haystack[start..run.end]
                .iter()
                .position(|b| !b.is_ascii_hexdigit())
                .map_or(run.end, |p| start + p);
            at = end;
            if end - start >= min_len {
                return Some(start..end);
            }
        }
        None
    })
}

/// Decodes the hex run `run` of `haystack` into `out` (from the alignment whose high nibbles are
/// text's) and returns where the decoded bytes start, if they are text worth scanning.
pub(crate) fn hex_decode(haystack: &[u8], run: Range<usize>, out: &mut Vec<u8>) -> Option<usize> {
    let text = &haystack[run.clone()];
    let high = |b: u8| (b'2'..=b'7').contains(&b);
    let skip = usize::from(!text.first().is_some_and(|&b| high(b)));
    out.clear();
    let from = run.start + skip;
    let mut i = from;
    while i + 2 <= run.end {
        out.push(hex_byte(haystack, i)?);
        i += 2;
    }
    (out.len() >= MIN_SEGMENT / 2 && mostly_printable(out)).then_some(from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unescaped(text: &str) -> (String, Vec<usize>) {
        let (mut out, mut map) = (Vec::new(), Vec::new());
        decode_segment(
            text.as_bytes(),
            0..text.len(),
            &mut out,
            &mut map,
            string_escape,
        );
        (String::from_utf8(out).expect("utf-8"), map)
    }

    #[test]
    fn json_and_yaml_escapes_decode() {
        let (text, map) = unescaped(r#"{\"k\": \"a\/b\u0041\n\t\x42\U0001F600\ud83d\ude00\q\"}"#);
        assert_eq!(text, "{\"k\": \"a/bA\n\tB\u{1F600}\u{1F600}\\q\"}");
        assert_eq!(map.len(), text.len() + 1);
        // `A` came from the `\u0041` escape.
        let a = text.find('A').expect("A");
        assert_eq!(map[a], r#"{\"k\": \"a\/b"#.len());
    }

    #[test]
    fn lone_surrogates_and_short_escapes_stay_as_written() {
        let (text, _) = unescaped(r"x\ud83d y \u12 z\x4");
        assert_eq!(text, r"x\ud83d y \u12 z\x4");
    }

    #[test]
    fn a_decoded_range_maps_back_to_its_escapes() {
        let input = r#"pre \"tok\u0041en\" post"#;
        let (text, map) = unescaped(input);
        let origin = Origin::Map(map);
        let at = text.find("tokAen").expect("decoded");
        let span = origin.original(at..at + "tokAen".len());
        assert_eq!(&input[span], r"tok\u0041en");
        // A range ending in a multi-byte character ends after its escape.
        let (text, map) = unescaped(r"ab\u00e9 c");
        let origin = Origin::Map(map);
        assert_eq!(origin.original(0..text.find(' ').expect("space")), 0..8);
    }

    #[test]
    fn percent_segments_are_url_text_around_an_escape() {
        let text = b"see \"https://x.invalid/cb?token=abc%2Bdef%3D&x=1\" and 100%ok and %20 s";
        let mut found = Vec::new();
        percent_segments(text, 4096, &mut |s| found.push(s));
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            &text[found[0].clone()],
            b"https://x.invalid/cb?token=abc%2Bdef%3D&x=1"
        );
        let (mut out, mut map) = (Vec::new(), Vec::new());
        decode_segment(text, found[0].clone(), &mut out, &mut map, percent_escape);
        assert_eq!(out, b"https://x.invalid/cb?token=abc+def=&x=1");
        assert_eq!(map.len(), out.len() + 1);
    }

    #[test]
    fn segments_are_bounded() {
        let text = format!("{}%41{}", "a".repeat(10_000), "b".repeat(10_000));
        let mut found = Vec::new();
        percent_segments(text.as_bytes(), 4096, &mut |s| found.push(s));
        assert_eq!(found.len(), 1);
        assert!(found[0].len() <= 4096 && found[0].contains(&10_000));
        let text = format!("{}\\u0041{}", "a".repeat(10_000), "b".repeat(10_000));
        found.clear();
        escape_segments(text.as_bytes(), 4096, &mut |s| found.push(s));
        assert_eq!(found.len(), 1);
        assert!(found[0].len() <= 4096 && found[0].contains(&10_000));
    }

    #[test]
    fn hex_runs_of_text_decode_and_digests_do_not() {
        let hex: String = b"token=some secret text"
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let hex_runs = |text: &str| -> Vec<Range<usize>> {
            crate::base64_runs::encoded_runs(text.as_bytes(), usize::MAX, 32)
                .map(|(how, run)| {
                    assert_eq!(how, Decoding::Hex);
                    run
                })
                .collect()
        };
        for pad in 0..20 {
            let text = format!("{}x {hex} y", " ".repeat(pad));
            let runs = hex_runs(&text);
            assert_eq!(runs, vec![pad + 2..pad + 2 + hex.len()], "pad {pad}");
            let mut out = Vec::new();
            assert_eq!(
                hex_decode(text.as_bytes(), runs[0].clone(), &mut out),
                Some(pad + 2)
            );
            assert_eq!(out, b"token=some secret text");
        }
        let digest = "sha256 = 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let mut out = Vec::new();
        for run in hex_runs(digest) {
            assert_eq!(hex_decode(digest.as_bytes(), run, &mut out), None);
        }
    }
}
