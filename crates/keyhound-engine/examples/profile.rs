//! One engine stage over one file, for instruction counts under `valgrind --tool=callgrind`
//! (wall-clock numbers on a shared machine are noise; instruction counts are not).
//!
//! `cargo run --release -p keyhound-engine --example profile -- MODE FILE` where MODE is
//! `simd`, `avx2` or `scalar` (the prefilter alone, built-in keywords), `scan` (the whole engine over
//! the file in memory), `stream` (the whole engine over the file as a stream, as the CLI
//! reads large files), `plain` (`stream` without the decode-and-rescan stage) or `corpus` (FILE
//! is a directory: every file in it scanned in name order with one [`Scratch`], as a history
//! scan's thread meets blobs and the engine fuzz target its inputs; CPU time of the scans).

use keyhound_engine::prefilter::{Prefilter, PrefilterKind};
use keyhound_engine::{Engine, EngineOptions, ScanStats, Scratch};
use keyhound_rules::RuleSet;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, path] = args.as_slice() else {
        return Err("usage: profile simd|avx2|scalar|scan|stream|plain|corpus FILE".into());
    };
    let rules = RuleSet::builtin().map_err(|e| format!("built-in rules: {e:?}"))?;
    let started = std::time::Instant::now();
    match mode.as_str() {
        "simd" | "avx2" | "scalar" => {
            let text = std::fs::read(path)?;
            let keywords = rules.keywords();
            let kind = match mode.as_str() {
                "simd" => PrefilterKind::Simd,
                "avx2" => PrefilterKind::Avx2,
                _ => PrefilterKind::Scalar,
            };
            let prefilter = Prefilter::new(&keywords, kind)?;
            let mut hits = Vec::new();
            let mut fastest = f64::INFINITY;
            for _ in 0..5 {
                hits.clear();
                let pass = cpu_seconds();
                prefilter.find_all(&text, &mut hits);
                fastest = fastest.min(cpu_seconds() - pass);
            }
            println!(
                "{} keyword hits in {} bytes; fastest of 5 passes (CPU time) {:.1} ms ({:.2} GB/s)",
                hits.len(),
                text.len(),
                fastest * 1e3,
                text.len() as f64 / fastest / 1e9
            );
        }
        "scan" | "stream" | "plain" => {
            let options = EngineOptions {
                decode: mode != "plain",
                ..EngineOptions::default()
            };
            let engine = Engine::new(&rules, options)?;
            let mut scratch = Scratch::default();
            let mut stats = ScanStats::default();
            let mut matches = 0usize;
            if mode == "scan" {
                let text = std::fs::read(path)?;
                matches = engine.scan(&text, &mut scratch, &mut stats).len();
            } else {
                let mut file = std::fs::File::open(path)?;
                engine.scan_stream(&mut file, &mut scratch, &mut stats, &mut |_, _, _| {
                    matches += 1;
                })?;
            }
            println!("{matches} matches; {stats:?}");
        }
        "corpus" => {
            let engine = Engine::new(&rules, EngineOptions::default())?;
            let mut inputs: Vec<_> = std::fs::read_dir(path)?
                .map(|entry| entry.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            inputs.sort();
            let texts: Vec<Vec<u8>> = inputs.iter().map(std::fs::read).collect::<Result<_, _>>()?;
            let mut scratch = Scratch::default();
            let mut stats = ScanStats::default();
            let mut matches = 0usize;
            let cpu = cpu_seconds();
            for text in &texts {
                matches += engine.scan(text, &mut scratch, &mut stats).len();
            }
            println!(
                "{} inputs, {matches} matches, {:.3} s of CPU; {stats:?}",
                texts.len(),
                cpu_seconds() - cpu
            );
        }
        _ => return Err(format!("unknown mode {mode}").into()),
    }
    eprintln!("{:.3} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// This thread's time on a CPU so far (from `/proc/thread-self/schedstat`, in nanoseconds; the
/// wall clock of a shared machine counts other processes' turns too).
fn cpu_seconds() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |ns| ns / 1e9)
}
