//! The decoders: UTF-16 and UTF-32 text (`keyhound_sources::encoding`) and the engine's
//! base64 runs, over arbitrary bytes.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use keyhound_engine::fuzzing::{base64_runs, decode_base64_run};
use keyhound_sources::encoding::{DecodedText, TextEncoding, decode_text};

/// Both decoders over the same bytes.
pub fn decoders(data: &[u8]) {
    text(data);
    base64(data);
}

/// `text` written in `encoding`.
fn encode(text: &str, encoding: TextEncoding) -> Vec<u8> {
    let mut out = Vec::new();
    match encoding {
        TextEncoding::Utf16Le => text
            .encode_utf16()
            .for_each(|u| out.extend(u.to_le_bytes())),
        TextEncoding::Utf16Be => text
            .encode_utf16()
            .for_each(|u| out.extend(u.to_be_bytes())),
        TextEncoding::Utf32Le => text
            .chars()
            .for_each(|c| out.extend(u32::from(c).to_le_bytes())),
        TextEncoding::Utf32Be => text
            .chars()
            .for_each(|c| out.extend(u32::from(c).to_be_bytes())),
    }
    out
}

/// Offsets of `decoded`'s text to check: about 32 character boundaries, and its end.
fn sample_offsets(decoded: &DecodedText) -> Vec<usize> {
    let chars = decoded.text.chars().count();
    let step = (chars / 32).max(1);
    let mut offsets: Vec<usize> = decoded
        .text
        .char_indices()
        .step_by(step)
        .map(|(at, _)| at)
        .collect();
    offsets.push(decoded.text.len());
    offsets
}

/// UTF-16/32 decoding: text without a NUL or byte order mark is left alone; decoded offsets map
/// back inside the original, in order, on the same line; text decoded without a replacement
/// character encodes back to exactly the original bytes.
fn text(data: &[u8]) {
    let Some(decoded) = decode_text(data) else {
        return;
    };
    assert!(
        data.contains(&0) || data.starts_with(&[0xff, 0xfe]) || data.starts_with(&[0xfe, 0xff]),
        "decoded without a NUL byte or a byte order mark"
    );
    assert!(decoded.bom_len <= data.len());
    let mut previous = 0;
    for offset in sample_offsets(&decoded) {
        let location = decoded.location(offset);
        assert!(
            location.original_offset <= data.len(),
            "offset {offset} maps to {} past the original's {} bytes",
            location.original_offset,
            data.len()
        );
        assert!(location.original_offset >= previous, "offsets out of order");
        assert!(location.original_offset >= decoded.bom_len);
        previous = location.original_offset;
        let lines = decoded.text[..offset].matches('\n').count();
        assert_eq!(location.line, lines + 1, "line of offset {offset}");
        assert!(location.column >= 1);
    }
    if !decoded.text.contains('\u{fffd}') {
        assert_eq!(
            encode(&decoded.text, decoded.encoding),
            &data[decoded.bom_len..],
            "{:?} does not encode back",
            decoded.encoding
        );
    }
}

/// Base64 runs: in order, apart, inside the input, at least as long as asked, of the alphabet
/// (and padding); a run that decodes to text encodes back to the run.
fn base64(data: &[u8]) {
    let small = 1 + usize::from(data.first().copied().unwrap_or(0) % 40);
    let mut decoded = Vec::new();
    for min_len in [32, small] {
        let mut previous_end = 0;
        for run in base64_runs(data, min_len) {
            assert!(run.start >= previous_end && run.start < run.end && run.end <= data.len());
            previous_end = run.end;
            let bytes = &data[run.clone()];
            let body = bytes
                .strip_suffix(b"==")
                .or_else(|| bytes.strip_suffix(b"="))
                .unwrap_or(bytes);
            assert!(body.len() >= min_len, "run {run:?} shorter than {min_len}");
            assert!(
                body.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"+/-_".contains(&b)),
                "run {run:?} holds a byte outside the alphabet"
            );
            if decode_base64_run(bytes, &mut decoded) {
                assert!(decoded.len() >= 12);
                // A last character that completes no byte is left out, so the alphabet is
                // whichever encodes back to the rest.
                let encodes_back = [STANDARD_NO_PAD, URL_SAFE_NO_PAD].iter().any(|alphabet| {
                    let encoded = alphabet.encode(&decoded);
                    body.starts_with(encoded.as_bytes()) && body.len() - encoded.len() < 4
                });
                assert!(
                    encodes_back,
                    "run {run:?} decodes to bytes that do not encode back to it"
                );
            }
        }
    }
}
