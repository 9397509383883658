//! Bounded-memory scanning of inputs too large to hold: overlapping chunks, optionally scanned
//! by several threads at once so that one large file uses every core.

use std::io::{self, Read};

use crate::location::Locator;
use crate::{Engine, Match, RawMatch, ScanStats, Scratch};

/// Bytes read per chunk (per thread). Each chunk is scanned with [`STREAM_OVERLAP`] more bytes
/// around it, so larger chunks waste less: at 32 MiB the overlap adds 3 % (at 8 MiB it added
/// 12 %).
pub const STREAM_CHUNK: usize = 32 << 20;
/// Bytes carried over between chunks; longer than any match window, so no match is cut.
pub const STREAM_OVERLAP: usize = 1 << 20;

/// Reads into `buf[*filled..]` until it is full or the input ends; returns whether it ended.
///
/// Plain `read` calls into a buffer allocated once, zeroed (by the allocator, page by page as
/// the reads first touch it): `read_to_end` on a `Take` probed with small reads, doubled them
/// from 8 KiB at every fill, and grew the vector past the chunk (a `mremap` and fresh pages at
/// each fill): reading a 256 MiB file cost 0.39 s of system time that way, 0.21-0.26 s this way
/// (`keyhound scan FILE -j 1`, file in the page cache).
fn fill(reader: &mut dyn Read, buf: &mut [u8], filled: &mut usize) -> io::Result<bool> {
    while *filled < buf.len() {
        match reader.read(&mut buf[*filled..]) {
            Ok(0) => return Ok(true),
            Ok(n) => *filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// How a stream is cut: bytes per chunk, overlap, threads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cuts {
    pub(crate) chunk: usize,
    pub(crate) overlap: usize,
    pub(crate) threads: usize,
}

impl Cuts {
    pub(crate) fn new(threads: usize) -> Self {
        Self {
            chunk: STREAM_CHUNK,
            overlap: STREAM_OVERLAP,
            threads: threads.max(1),
        }
    }
}

/// Scans `buf` (whose matches anchored at or past `emit_below` are left for the next buffer)
/// into `raw`: in one piece, or cut into `threads` parts of at least `chunk` bytes, each scanned
/// on its own thread with `overlap` bytes of context either side and keeping the matches
/// anchored in its own part. Returns them sorted as one scan of `buf` sorts them. The parts
/// use `part_scratch` (one per thread, kept from buffer to buffer so that their regex caches
/// stay warm).
#[allow(clippy::too_many_arguments)]
fn scan_buffer(
    engine: &Engine,
    buf: &[u8],
    emit_below: usize,
    cuts: Cuts,
    scratch: &mut Scratch,
    part_scratch: &mut [Scratch],
    stats: &mut ScanStats,
    raw: &mut Vec<RawMatch>,
) {
    let parts = emit_below
        .div_ceil(cuts.chunk.max(1))
        .clamp(1, cuts.threads);
    if parts == 1 {
        engine.scan_raw(buf, scratch, stats, 0, raw);
        return;
    }
    let part = emit_below.div_ceil(parts);
    let results: Vec<(Vec<RawMatch>, ScanStats)> = std::thread::scope(|scope| {
        let handles: Vec<_> = part_scratch[..parts]
            .iter_mut()
            .enumerate()
            .map(|(i, scratch)| {
                let own = i * part..((i + 1) * part).min(emit_below);
                let last = i + 1 == parts;
                scope.spawn(move || {
                    let from = own.start.saturating_sub(cuts.overlap);
                    let to = if last {
                        buf.len()
                    } else {
                        (own.end + cuts.overlap).min(buf.len())
                    };
                    let mut stats = ScanStats::default();
                    let mut found = Vec::new();
                    engine.scan_raw(&buf[from..to], scratch, &mut stats, 0, &mut found);
                    found.retain(|m| {
                        let anchor = from + m.anchor;
                        own.start <= anchor && (last || anchor < own.end)
                    });
                    for m in &mut found {
                        m.shift(from);
                    }
                    (found, stats)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    for (found, part_stats) in results {
        raw.extend(found);
        stats.add(&ScanStats {
            bytes: 0,
            ..part_stats
        });
    }
    stats.bytes += buf.len() as u64;
    raw.sort_by_key(|m| (m.span.start, m.span.end, m.rule));
}

pub(crate) fn scan(
    engine: &Engine,
    reader: &mut dyn Read,
    scratch: &mut Scratch,
    stats: &mut ScanStats,
    on_match: &mut dyn FnMut(Match, &[u8], usize),
    cuts: Cuts,
) -> io::Result<()> {
    let Cuts {
        chunk,
        overlap,
        threads,
    } = cuts;
    let mut buf = vec![0u8; chunk * threads + overlap];
    let mut filled = 0;
    // Absolute offset of buf[0], lines before it, and characters between its line's start and it.
    let (mut base, mut line_base, mut column_base) = (0usize, 0usize, 0usize);
    let mut raw = Vec::new();
    let mut part_scratch: Vec<Scratch> = Vec::new();
    part_scratch.resize_with(threads, Scratch::default);
    loop {
        let eof = fill(reader, &mut buf, &mut filled)?;
        let data = &buf[..filled];
        raw.clear();
        let emit_below = if eof { filled } else { filled - overlap };
        let timed_out = stats.timed_out;
        scan_buffer(
            engine,
            data,
            emit_below,
            cuts,
            scratch,
            &mut part_scratch,
            stats,
            &mut raw,
        );
        // Out of time (`EngineOptions::time_budget`): this buffer's findings are the last.
        let last = eof || stats.timed_out > timed_out;
        let mut locator = Locator::with_line_base(data, line_base);
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
                decoded: m.decoding,
                secret: m
                    .decoded_secret
                    .unwrap_or_else(|| data[m.secret.clone()].to_vec()),
                span: base + m.span.start..base + m.span.end,
            };
            on_match(found, data, base);
        }
        if last {
            return Ok(());
        }
        let kept = &data[emit_below..];
        let dropped = &data[..emit_below];
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
        buf.copy_within(emit_below..filled, 0);
        filled = kept_len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineOptions;
    use keyhound_rules::RuleSet;

    fn rules() -> RuleSet {
        let mut rules = RuleSet::new();
        let toml = crate::fake::fake_rule_toml("acme.key", "acme_");
        rules.add_toml("t.toml", &toml).expect("rule loads");
        rules
    }

    #[test]
    fn a_stream_out_of_time_stops_after_the_part_that_ran_out() {
        let rules = rules();
        let secret = "acme_Q7w9E2r4T6y8U1i3O5p7A9s2";
        // The first chunk: a secret, then more regex windows than one budget check allows
        // (see `BUDGET_CHECK_BYTES`); the second: another secret.
        let mut text = format!("{secret}\n");
        text.push_str(&"acme_ no key\n".repeat(3000));
        let first_chunk = 64 << 10;
        assert!(text.len() < first_chunk);
        text.push_str(&" ".repeat(first_chunk - text.len()));
        text.push_str(&format!("\n{secret}\n"));
        let run = |time_budget| {
            let options = EngineOptions {
                time_budget,
                ..EngineOptions::default()
            };
            let engine = Engine::new(&rules, options).unwrap();
            let mut found = Vec::new();
            let mut stats = ScanStats::default();
            scan(
                &engine,
                &mut text.as_bytes(),
                &mut Scratch::default(),
                &mut stats,
                &mut |m, _, _| found.push(m.span.start),
                Cuts {
                    chunk: first_chunk,
                    overlap: 64,
                    threads: 1,
                },
            )
            .unwrap();
            (found, stats.timed_out)
        };
        assert_eq!(run(None), (vec![5, first_chunk + 6], 0));
        // Out of time in the first chunk: its secret is kept, the rest is not read.
        assert_eq!(run(Some(std::time::Duration::ZERO)), (vec![5], 1));
    }

    /// A reader that hands out at most `step` bytes a call, is interrupted every third call,
    /// and fails for good once `fail_at` bytes are out.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
        calls: usize,
        fail_at: Option<usize>,
        given: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            self.calls += 1;
            if self.calls.is_multiple_of(3) {
                return Err(io::ErrorKind::Interrupted.into());
            }
            if self.fail_at.is_some_and(|at| self.given >= at) {
                return Err(io::Error::other("the disk went away"));
            }
            let n = self.step.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            self.given += n;
            Ok(n)
        }
    }

    /// Short reads and interrupted reads fill each chunk as one read would; an error of the
    /// reader ends the scan with that error, never as a clean end of input.
    #[test]
    fn short_and_interrupted_reads_fill_chunks_and_read_errors_surface() {
        let rules = rules();
        let engine = Engine::new(&rules, EngineOptions::default()).unwrap();
        let secret = "acme_Q7w9E2r4T6y8U1i3O5p7A9s2";
        let text = format!("{}{secret}\n", "filler text ".repeat(50)).repeat(20);
        let whole = engine.scan(
            text.as_bytes(),
            &mut Scratch::default(),
            &mut ScanStats::default(),
        );
        assert_eq!(whole.len(), 20);
        let cuts = Cuts {
            chunk: 300,
            overlap: 64,
            threads: 1,
        };
        let run = |fail_at| {
            let mut reader = Trickle {
                data: text.as_bytes(),
                step: 7,
                calls: 0,
                fail_at,
                given: 0,
            };
            let mut found = Vec::new();
            let mut stats = ScanStats::default();
            let result = scan(
                &engine,
                &mut reader,
                &mut Scratch::default(),
                &mut stats,
                &mut |m, _, _| found.push(m.span),
                cuts,
            );
            (result, found, stats.bytes)
        };
        let (result, found, bytes) = run(None);
        result.unwrap();
        assert_eq!(
            found,
            whole.iter().map(|m| m.span.clone()).collect::<Vec<_>>()
        );
        assert_eq!(bytes, text.len() as u64);
        let (result, _, _) = run(Some(text.len() / 2));
        assert_eq!(result.unwrap_err().to_string(), "the disk went away");
    }

    #[test]
    fn chunked_scan_matches_whole_scan_at_every_boundary() {
        let rules = rules();
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
        for (chunk, threads) in [
            (64, 1),
            (100, 1),
            (257, 1),
            (1000, 1),
            (64, 3),
            (100, 2),
            (257, 4),
        ] {
            let mut got = Vec::new();
            let mut stats = ScanStats::default();
            scan(
                &engine,
                &mut text.as_bytes(),
                &mut scratch,
                &mut stats,
                &mut |m, _, _| got.push(m),
                Cuts {
                    chunk,
                    overlap: 64,
                    threads,
                },
            )
            .unwrap();
            assert_eq!(stats.bytes, text.len() as u64, "each byte counted once");
            let spans = |v: &Vec<Match>| v.iter().map(|m| m.span.clone()).collect::<Vec<_>>();
            assert_eq!(
                spans(&got),
                spans(&whole),
                "chunk size {chunk}, {threads} threads"
            );
            for (g, w) in got.iter().zip(&whole) {
                assert_eq!(g, w, "chunk size {chunk}, {threads} threads");
            }
        }
    }
}
