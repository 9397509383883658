//! Bounded-memory scanning of inputs too large to hold: overlapping chunks.

use std::io::{self, Read};

use crate::location::Locator;
use crate::{Engine, Match, ScanStats, Scratch};

/// Bytes read per chunk.
pub const STREAM_CHUNK: usize = 8 << 20;
/// Bytes carried over between chunks; longer than any match window, so no match is cut.
pub const STREAM_OVERLAP: usize = 1 << 20;

/// Fills `buf` from `reader` up to `cap` bytes; returns whether the input ended.
fn fill(reader: &mut dyn Read, buf: &mut Vec<u8>, cap: usize) -> io::Result<bool> {
    while buf.len() < cap {
        let n = reader.take((cap - buf.len()) as u64).read_to_end(buf)?;
        if n == 0 {
            return Ok(true);
        }
    }
    Ok(false)
}

pub(crate) fn scan(
    engine: &Engine,
    reader: &mut dyn Read,
    scratch: &mut Scratch,
    stats: &mut ScanStats,
    on_match: &mut dyn FnMut(Match, &[u8], usize),
) -> io::Result<()> {
    scan_with(
        engine,
        reader,
        scratch,
        stats,
        on_match,
        STREAM_CHUNK,
        STREAM_OVERLAP,
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn scan_with(
    engine: &Engine,
    reader: &mut dyn Read,
    scratch: &mut Scratch,
    stats: &mut ScanStats,
    on_match: &mut dyn FnMut(Match, &[u8], usize),
    chunk: usize,
    overlap: usize,
) -> io::Result<()> {
    let cap = chunk + overlap;
    let mut buf = Vec::with_capacity(cap);
    // Absolute offset of buf[0], lines before it, and characters between its line's start and it.
    let (mut base, mut line_base, mut column_base) = (0usize, 0usize, 0usize);
    let mut raw = Vec::new();
    loop {
        let eof = fill(reader, &mut buf, cap)?;
        raw.clear();
        engine.scan_raw(&buf, scratch, stats, 0, &mut raw);
        let emit_below = if eof { buf.len() } else { buf.len() - overlap };
        let mut locator = Locator::with_line_base(&buf, line_base);
        for m in raw.drain(..) {
            if m.anchor >= emit_below {
                continue;
            }
            let mut location = locator.span(m.span.clone());
            for pos in [&mut location.start, &mut location.end] {
                if pos.line == line_base + 1 {
                    pos.column += column_base;
                }
            }
            let found = Match {
                rule: m.rule as usize,
                location,
                decoded: m.decoded_secret.is_some(),
                secret: m
                    .decoded_secret
                    .unwrap_or_else(|| buf[m.secret.clone()].to_vec()),
                span: base + m.span.start..base + m.span.end,
            };
            on_match(found, &buf, base);
        }
        if eof {
            return Ok(());
        }
        let kept = &buf[emit_below..];
        let dropped = &buf[..emit_below];
        let newlines = crate::location::count_newlines(dropped);
        let tail = match memchr::memrchr(b'\n', dropped) {
            Some(p) => &dropped[p + 1..],
            None => dropped,
        };
        let tail_chars = tail.iter().filter(|&&b| (b & 0xC0) != 0x80).count();
        column_base = if newlines == 0 {
            column_base + tail_chars
        } else {
            tail_chars
        };
        line_base += newlines;
        base += emit_below;
        let kept_len = kept.len();
        // The overlap is scanned again with the next chunk; count each input byte once.
        stats.bytes = stats.bytes.saturating_sub(kept_len as u64);
        buf.copy_within(emit_below.., 0);
        buf.truncate(kept_len);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineOptions;
    use keyhound_rules::RuleSet;

    const RULE: &str = r#"
[[rule]]
id = "acme.key"
name = "Acme key"
provider = "Acme"
kind = "api-key"
keywords = ["acme_"]
pattern = '''acme_(?P<secret>[A-Za-z0-9]{24})'''
confidence = "high"
severity = "high"
privilege = "scoped"
lifetime = "static"
rotation = { url = "https://acme.invalid/rotate", max_age_days = 90 }
examples = ["acme_Q7w9E2r4T6y8U1i3O5p7A9s2"]
negative_examples = ["acme_short"]
"#;

    #[test]
    fn chunked_scan_matches_whole_scan_at_every_boundary() {
        let mut rules = RuleSet::new();
        rules.add_toml("t.toml", RULE).unwrap();
        let engine = Engine::new(&rules, EngineOptions::default()).unwrap();
        let secret = "acme_Q7w9E2r4T6y8U1i3O5p7A9s2";
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&"filler é text ".repeat(i % 7));
            if i % 3 == 0 {
                text.push('\n');
            }
            text.push_str(secret);
            text.push(' ');
        }
        let mut scratch = Scratch::default();
        let mut stats = ScanStats::default();
        let whole = engine.scan(text.as_bytes(), &mut scratch, &mut stats);
        assert_eq!(whole.len(), 40);
        for chunk in [64, 100, 257, 1000] {
            let mut got = Vec::new();
            let mut stats = ScanStats::default();
            scan_with(
                &engine,
                &mut text.as_bytes(),
                &mut scratch,
                &mut stats,
                &mut |m, _, _| got.push(m),
                chunk,
                64,
            )
            .unwrap();
            assert_eq!(stats.bytes, text.len() as u64, "each byte counted once");
            let spans = |v: &Vec<Match>| v.iter().map(|m| m.span.clone()).collect::<Vec<_>>();
            assert_eq!(spans(&got), spans(&whole), "chunk size {chunk}");
            for (g, w) in got.iter().zip(&whole) {
                assert_eq!(g, w, "chunk size {chunk}");
            }
        }
    }
}
