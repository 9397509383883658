//! Engine throughput on realistic source text with sparse secrets, whole and prefilter alone.
//!
//! Two corpora of real source code, each in sorted file order, up to 32 MiB:
//! - sparse: the `.rs`, `.toml`, `.md`, `.json`, `.yml` and `.c` files of the crates in cargo's
//!   registry cache (`$CARGO_HOME/registry/src`, present on any machine that built keyhound), or
//!   the directory named by `KEYHOUND_BENCH_CORPUS`;
//! - dense: the `.c`, `.h`, `.sh` and `.txt` files of a git/git checkout named by
//!   `KEYHOUND_BENCH_DENSE` (skipped when unset): keyword-dense C code.
//!
//! A fake credential is inserted every 256 KiB, so the confirm stage runs as it does on real
//! repositories. The `startup` group times what every scan does before it reads a byte: loading
//! the built-in rules and building the engine (its prefilter), most of a tiny scan's start-up
//! (issue 12: under 20 ms, process start to exit). Run with `cargo bench -p keyhound-engine`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use keyhound_engine::prefilter::{Prefilter, PrefilterKind};
use keyhound_engine::{Engine, EngineOptions, ScanStats, Scratch};
use keyhound_rules::RuleSet;

const CORPUS_BYTES: usize = 32 << 20;
const SECRET_EVERY: usize = 256 << 10;

fn source_files(dir: &Path, extensions: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            source_files(&path, extensions, out);
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| extensions.contains(&e))
        {
            out.push(path);
        }
    }
}

fn corpus_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("KEYHOUND_BENCH_CORPUS") {
        return PathBuf::from(dir);
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    cargo_home.join("registry").join("src")
}

/// A deterministic fake credential of a few well-known shapes.
fn fake_secret(i: usize) -> String {
    let mut part = 0;
    let mut next = |alphabet: &[u8], n: usize| -> String {
        part += 1;
        keyhound_engine::fake::fake_string(i as u64 * 8 + part, alphabet, n)
    };
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    match i % 4 {
        0 => format!("\nAWS_ACCESS_KEY_ID=AKIA{}\n", next(UPPER, 16)),
        1 => format!(
            "\nSLACK_TOKEN=\"xoxb-{}-{}-{}\"\n",
            next(b"0123456789", 12),
            next(b"0123456789", 13),
            next(ALNUM, 24)
        ),
        2 => format!("\nstripe_key = 'sk_live_{}'\n", next(ALNUM, 32)),
        _ => format!("\nconst API = \"AIza{}\";\n", next(ALNUM, 35)),
    }
}

const SPARSE: &[&str] = &["rs", "toml", "md", "json", "yml", "yaml", "c", "h"];
const DENSE: &[&str] = &["c", "h", "sh", "txt"];

fn corpus(dir: &Path, extensions: &[&str]) -> Vec<u8> {
    let mut files = Vec::new();
    source_files(dir, extensions, &mut files);
    let mut text = Vec::with_capacity(CORPUS_BYTES + 4096);
    let mut next_secret = SECRET_EVERY;
    let mut secrets = 0;
    for path in files {
        if text.len() >= CORPUS_BYTES {
            break;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        text.extend_from_slice(&bytes);
        while text.len() >= next_secret {
            text.extend_from_slice(fake_secret(secrets).as_bytes());
            secrets += 1;
            next_secret += SECRET_EVERY;
        }
    }
    assert!(
        text.len() >= 1 << 20,
        "corpus too small ({} bytes): set KEYHOUND_BENCH_CORPUS to a directory of source code",
        text.len()
    );
    text.truncate(CORPUS_BYTES);
    text
}

fn bench(c: &mut Criterion) {
    let rules = RuleSet::builtin().expect("built-in rules load");
    let mut startup = c.benchmark_group("startup");
    startup.bench_function("load_builtin_rules", |b| {
        b.iter(|| black_box(RuleSet::builtin().expect("built-in rules load")))
    });
    startup.bench_function("build_engine", |b| {
        b.iter(|| black_box(Engine::new(&rules, EngineOptions::default()).expect("engine builds")))
    });
    startup.finish();
    let mut corpora = vec![("sparse", corpus(&corpus_dir(), SPARSE))];
    if let Some(dir) = std::env::var_os("KEYHOUND_BENCH_DENSE") {
        corpora.push(("dense", corpus(Path::new(&dir), DENSE)));
    }
    let keywords = rules.keywords();
    for (corpus_name, text) in &corpora {
        let mut group = c.benchmark_group(format!("engine/{corpus_name}"));
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.sample_size(10);
        for (name, decode) in [("scan", true), ("scan_no_decode", false)] {
            let engine = Engine::new(
                &rules,
                EngineOptions {
                    decode,
                    ..EngineOptions::default()
                },
            )
            .expect("engine builds");
            let mut scratch = Scratch::default();
            let mut stats = ScanStats::default();
            let found = engine.scan(text, &mut scratch, &mut stats);
            eprintln!(
                "{corpus_name}/{name}: {} bytes, {} matches, {} keyword hits, {} regex runs, {} decoded runs",
                text.len(),
                found.len(),
                stats.keyword_hits,
                stats.regex_runs,
                stats.decoded_runs
            );
            group.bench_function(name, |b| {
                b.iter(|| {
                    let mut stats = ScanStats::default();
                    black_box(engine.scan(black_box(text), &mut scratch, &mut stats))
                })
            });
        }
        for (name, kind) in [
            ("prefilter_scalar", PrefilterKind::Scalar),
            ("prefilter_simd", PrefilterKind::Simd),
            ("prefilter_avx2", PrefilterKind::Avx2),
        ] {
            let Ok(prefilter) = Prefilter::new(&keywords, kind) else {
                eprintln!("{name}: not available on this CPU");
                continue;
            };
            let mut hits = Vec::new();
            group.bench_function(name, |b| {
                b.iter(|| {
                    hits.clear();
                    prefilter.find_all(black_box(text), &mut hits);
                    black_box(hits.len())
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
