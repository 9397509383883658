//! Text in UTF-16 and UTF-32, decoded to UTF-8 so it can be scanned, with a way back to where
//! each decoded byte was in the original.
//!
//! Windows tools write UTF-16 (PowerShell's `>` redirection, `.reg` exports, some `.config` and
//! resource files); a key in such a file has a NUL byte between every two characters and no
//! pattern written for UTF-8 matches it. [`decode_text`] recognises UTF-16 and UTF-32 of either
//! byte order, by its byte order mark or, without one, by the NUL bytes that ASCII characters
//! leave in the code units, and decodes it. Every line feed of the original decodes to exactly
//! one line feed, so line numbers are the same in both; [`DecodedText::location`] gives a
//! decoded offset's line and column (counted in characters), and
//! [`DecodedText::original_offset`] its byte offset in the original.

/// A Unicode encoding other than UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-16, little-endian.
    Utf16Le,
    /// UTF-16, big-endian.
    Utf16Be,
    /// UTF-32, little-endian.
    Utf32Le,
    /// UTF-32, big-endian.
    Utf32Be,
}

impl TextEncoding {
    /// The encoding's name as commonly written (`UTF-16LE`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Utf16Le => "UTF-16LE",
            Self::Utf16Be => "UTF-16BE",
            Self::Utf32Le => "UTF-32LE",
            Self::Utf32Be => "UTF-32BE",
        }
    }

    /// Bytes in one code unit.
    fn unit(self) -> usize {
        match self {
            Self::Utf16Le | Self::Utf16Be => 2,
            Self::Utf32Le | Self::Utf32Be => 4,
        }
    }

    /// The original bytes that decoded to `c` (a character of the decoded text).
    fn width(self, c: char) -> usize {
        match self {
            Self::Utf16Le | Self::Utf16Be => c.len_utf16() * 2,
            Self::Utf32Le | Self::Utf32Be => 4,
        }
    }
}

/// Text decoded from UTF-16 or UTF-32.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedText {
    /// The encoding it was in.
    pub encoding: TextEncoding,
    /// Bytes of byte order mark before the text (0 when it had none).
    pub bom_len: usize,
    /// The text, in UTF-8. Code units that are not text (a lone surrogate, a value past
    /// U+10FFFF, a cut-off last unit) decode to U+FFFD, one for each unit.
    pub text: String,
    /// Bytes of a cut-off last unit (0 when the original ends on a whole unit): its U+FFFD
    /// stands for this many original bytes, not a whole unit's.
    cut: usize,
}

/// A position in decoded text, as in the original file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLocation {
    /// The line, from 1: the same in the original as in the decoded text.
    pub line: usize,
    /// The column, from 1, counted in characters (as an editor shows it).
    pub column: usize,
    /// The byte offset in the original file.
    pub original_offset: usize,
}

impl DecodedText {
    /// The byte offset in the original of byte `offset` of [`Self::text`] (clamped to the text;
    /// within a character, its start).
    pub fn original_offset(&self, offset: usize) -> usize {
        let mut original = self.bom_len;
        for (at, c) in self.text.char_indices() {
            if at >= offset {
                break;
            }
            original += if self.cut > 0 && at + c.len_utf8() == self.text.len() {
                self.cut
            } else {
                self.encoding.width(c)
            };
        }
        original
    }

    /// The line, column and original offset of byte `offset` of [`Self::text`].
    pub fn location(&self, offset: usize) -> TextLocation {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(&self.text);
        let line_start = before.rfind('\n').map_or(0, |at| at + 1);
        TextLocation {
            line: before.bytes().filter(|&b| b == b'\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
            original_offset: self.original_offset(offset),
        }
    }
}

/// Code units sampled to recognise an encoding without a byte order mark.
const SAMPLE_UNITS: usize = 2048;
/// Share of sampled units, in percent, that must look like an ASCII character in the encoding.
const ASCII_SHARE: usize = 70;

/// Decodes `bytes` if they are UTF-16 or UTF-32 text: with a byte order mark, or without one
/// when most code units hold an ASCII character (its NUL bytes where the encoding puts them)
/// and every unit decodes. `None` for anything else (UTF-8, other binary data).
pub fn decode_text(bytes: &[u8]) -> Option<DecodedText> {
    let (encoding, bom_len) = match bytes {
        [0xff, 0xfe, 0, 0, ..] if bytes.len().is_multiple_of(4) => (TextEncoding::Utf32Le, 4),
        [0, 0, 0xfe, 0xff, ..] => (TextEncoding::Utf32Be, 4),
        [0xff, 0xfe, ..] => (TextEncoding::Utf16Le, 2),
        [0xfe, 0xff, ..] => (TextEncoding::Utf16Be, 2),
        _ => {
            let encoding = sniff(bytes)?;
            let decoded = decode(bytes, encoding, 0);
            // Without a mark, anything that is not text means it was not this encoding.
            if decoded.text.contains('\u{fffd}') {
                return None;
            }
            return Some(decoded);
        }
    };
    Some(decode(bytes, encoding, bom_len))
}

/// The encoding whose ASCII pattern most sampled units follow, if one does clearly.
fn sniff(bytes: &[u8]) -> Option<TextEncoding> {
    // Every encoding sniffed for puts NUL bytes beside ASCII characters: a sample without a
    // NUL (all UTF-8 and ASCII text, which is nearly every input) is none of them. One search
    // for a byte instead of four passes over the sample: this runs on every file and blob.
    let sample = &bytes[..bytes.len().min(SAMPLE_UNITS * 4)];
    if !sample.contains(&0) {
        return None;
    }
    let ascii = |unit: &[u8], encoding: TextEncoding| -> bool {
        let (c, rest) = match encoding {
            TextEncoding::Utf16Le => (unit[0], &unit[1..]),
            TextEncoding::Utf16Be => (unit[1], &unit[..1]),
            TextEncoding::Utf32Le => (unit[0], &unit[1..]),
            TextEncoding::Utf32Be => (unit[3], &unit[..3]),
        };
        c != 0 && c.is_ascii() && rest.iter().all(|&b| b == 0)
    };
    [
        TextEncoding::Utf32Le,
        TextEncoding::Utf32Be,
        TextEncoding::Utf16Le,
        TextEncoding::Utf16Be,
    ]
    .into_iter()
    .find(|&encoding| {
        let unit = encoding.unit();
        if bytes.len() < 2 * unit || !bytes.len().is_multiple_of(unit) {
            return false;
        }
        let sampled = bytes.chunks_exact(unit).take(SAMPLE_UNITS);
        let total = sampled.len();
        let matching = sampled.filter(|u| ascii(u, encoding)).count();
        matching * 100 >= total * ASCII_SHARE
    })
}

/// Decodes `bytes` after its first `bom_len` bytes as `encoding`.
fn decode(bytes: &[u8], encoding: TextEncoding, bom_len: usize) -> DecodedText {
    let body = &bytes[bom_len.min(bytes.len())..];
    let unit = encoding.unit();
    let units = body.chunks_exact(unit);
    let cut = units.remainder().len();
    let mut text = String::with_capacity(body.len() / unit + 4);
    match encoding {
        TextEncoding::Utf16Le | TextEncoding::Utf16Be => {
            let big = encoding == TextEncoding::Utf16Be;
            let code_units = units.map(|u| {
                let pair = [u[0], u[1]];
                if big {
                    u16::from_be_bytes(pair)
                } else {
                    u16::from_le_bytes(pair)
                }
            });
            text.extend(
                char::decode_utf16(code_units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)),
            );
        }
        TextEncoding::Utf32Le | TextEncoding::Utf32Be => {
            let big = encoding == TextEncoding::Utf32Be;
            text.extend(units.map(|u| {
                let quad = [u[0], u[1], u[2], u[3]];
                let value = if big {
                    u32::from_be_bytes(quad)
                } else {
                    u32::from_le_bytes(quad)
                };
                char::from_u32(value).unwrap_or(char::REPLACEMENT_CHARACTER)
            }));
        }
    }
    if cut > 0 {
        text.push(char::REPLACEMENT_CHARACTER);
    }
    DecodedText {
        encoding,
        bom_len: bom_len.min(bytes.len()),
        text,
        cut,
    }
}

#[cfg(test)]
mod tests {
    use super::{TextEncoding, TextLocation, decode_text};

    fn utf16(text: &str, big: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big { &[0xfe, 0xff] } else { &[0xff, 0xfe] });
        }
        for unit in text.encode_utf16() {
            out.extend_from_slice(&if big {
                unit.to_be_bytes()
            } else {
                unit.to_le_bytes()
            });
        }
        out
    }

    fn utf32(text: &str, big: bool, bom: bool) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(if big {
                &[0, 0, 0xfe, 0xff]
            } else {
                &[0xff, 0xfe, 0, 0]
            });
        }
        for c in text.chars() {
            let value = u32::from(c);
            out.extend_from_slice(&if big {
                value.to_be_bytes()
            } else {
                value.to_le_bytes()
            });
        }
        out
    }

    const TEXT: &str = "[settings]\r\nname = café ☕\nkey = \"demo-value-𝄞-42\"\n";

    #[test]
    fn every_encoding_decodes_with_or_without_a_mark() {
        let cases = [
            (TextEncoding::Utf16Le, utf16(TEXT, false, true), 2),
            (TextEncoding::Utf16Be, utf16(TEXT, true, true), 2),
            (TextEncoding::Utf32Le, utf32(TEXT, false, true), 4),
            (TextEncoding::Utf32Be, utf32(TEXT, true, true), 4),
            (TextEncoding::Utf16Le, utf16(TEXT, false, false), 0),
            (TextEncoding::Utf16Be, utf16(TEXT, true, false), 0),
            (TextEncoding::Utf32Le, utf32(TEXT, false, false), 0),
            (TextEncoding::Utf32Be, utf32(TEXT, true, false), 0),
        ];
        for (encoding, bytes, bom_len) in cases {
            let decoded = decode_text(&bytes).unwrap_or_else(|| panic!("{encoding:?} decodes"));
            assert_eq!(decoded.encoding, encoding);
            assert_eq!(decoded.bom_len, bom_len, "{encoding:?}");
            assert_eq!(decoded.text, TEXT, "{encoding:?}");
        }
    }

    #[test]
    fn locations_map_back_to_the_original_lines_columns_and_bytes() {
        for (bytes, unit) in [(utf16(TEXT, false, true), 2), (utf32(TEXT, true, false), 4)] {
            let decoded = decode_text(&bytes).expect("decodes");
            let at = decoded.text.find("demo").expect("value present");
            let location = decoded.location(at);
            // Line 3, after `key = "` (7 characters).
            assert_eq!((location.line, location.column), (3, 8));
            let original = location.original_offset;
            let chars_before = TEXT[..at].encode_utf16().count();
            let expected = if unit == 2 {
                decoded.bom_len + chars_before * 2
            } else {
                decoded.bom_len + TEXT[..at].chars().count() * 4
            };
            assert_eq!(original, expected);
            // The original bytes there are the value's first character.
            assert_eq!(bytes[original..].iter().find(|&&b| b != 0), Some(&b'd'));
            // Past the astral character (two UTF-16 units, one UTF-32 unit): still exact.
            let after = decoded.text.find("-42").expect("suffix present");
            let after_original = decoded.original_offset(after);
            let expected_after = if unit == 2 {
                decoded.bom_len + TEXT[..after].encode_utf16().count() * 2
            } else {
                TEXT[..after].chars().count() * 4
            };
            assert_eq!(after_original, expected_after);
        }
        let decoded = decode_text(&utf16("a\nb", false, true)).expect("decodes");
        assert_eq!(
            decoded.location(2),
            TextLocation {
                line: 2,
                column: 1,
                original_offset: 2 + 4
            }
        );
    }

    #[test]
    fn utf8_binary_and_stray_nuls_are_left_alone() {
        assert_eq!(decode_text(TEXT.as_bytes()), None);
        assert_eq!(decode_text(b""), None);
        // One NUL near the start of an otherwise UTF-8 file is not UTF-16.
        assert_eq!(decode_text(b"ab\0cdefgh token = 1234\n"), None);
        // An executable's header.
        assert_eq!(
            decode_text(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0\x3e\0\x01\0\0\0"),
            None
        );
        // Mostly ASCII-in-UTF-16, but with a unit that is not text: not decoded without a mark.
        let mut bad = utf16("plain text here", false, false);
        bad.extend_from_slice(&[0x00, 0xd8]);
        assert_eq!(decode_text(&bad), None);
    }

    #[test]
    fn broken_units_after_a_mark_become_replacement_characters() {
        let mut bytes = utf16("ok", false, true);
        bytes.extend_from_slice(&[0x00, 0xd8, b'!', 0, 7]);
        let decoded = decode_text(&bytes).expect("has a mark");
        assert_eq!(decoded.text, "ok\u{fffd}!\u{fffd}");
        assert_eq!(
            decoded.original_offset(decoded.text.find('!').expect("!")),
            8
        );
        // The cut-off last unit is one byte, not two: the end maps to the original's end (the
        // fuzz target `decoders` found it two bytes past it).
        assert_eq!(decoded.original_offset(decoded.text.len()), bytes.len());
        let utf32 = [0, 0, 0xfe, 0xff, 0, 0, 0, b'a', 0, 0];
        let decoded = decode_text(&utf32).expect("has a mark");
        assert_eq!(
            (decoded.encoding, decoded.text.as_str()),
            (TextEncoding::Utf32Be, "a\u{fffd}")
        );
        assert_eq!(decoded.original_offset(decoded.text.len()), 10);
        assert_eq!(decoded.original_offset(1), 8);
    }
}
