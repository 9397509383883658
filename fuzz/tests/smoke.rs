//! A short run of every fuzz target on stable, without libFuzzer (CI runs it from `.ci/run`):
//! each target's seeds ([`keyhound_fuzz::seeds`]), the files of `corpus/TARGET` and of
//! `$KEYHOUND_FUZZ_SEEDS/TARGET` when present, then random mutations of them (bit flips,
//! interesting bytes, inserted, deleted and repeated ranges, splices), not coverage-guided.
//! `KEYHOUND_FUZZ_SMOKE_SECS` bounds the mutation phase of each target (default 10 s).
//! With `KEYHOUND_FUZZ_SEEDS` set, the seeds are also written there, to start a libFuzzer
//! corpus. An input that fails a check is saved under `target/fuzz-smoke/`.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keyhound_fuzz::{TARGETS, seeds};

/// The longest input tried, as libFuzzer's `-max_len=8192` in the README's commands.
const MAX_LEN: usize = 8192;

/// xorshift64*: a fixed sequence, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that parsers of text and of binary formats treat specially.
const INTERESTING: &[u8] = b"\0\xff\x7f\x80\n\r\"'=[]{}\\#:/+-_ ";

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, other: &[u8]) {
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        match rng.below(7) {
            0 if len > 0 => {
                let at = rng.below(len);
                input[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                input[at] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let at = rng.below(len + 1);
                let bytes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.next() as u8).collect();
                input.splice(at..at, bytes);
            }
            3 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(16)).min(len);
                input.drain(at..end);
            }
            4 if len > 0 => {
                let at = rng.below(len);
                let end = (at + 1 + rng.below(64)).min(len);
                let copy = input[at..end].to_vec();
                let to = rng.below(len + 1);
                input.splice(to..to, copy);
            }
            5 => {
                let keep = rng.below(len + 1);
                input.truncate(keep);
                input.extend_from_slice(&other[rng.below(other.len() + 1)..]);
            }
            _ => input.truncate(rng.below(len + 1)),
        }
    }
    input.truncate(MAX_LEN);
}

/// The files directly in `dir`, if it exists.
fn files(dir: &Path) -> Vec<Vec<u8>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .filter(|bytes| bytes.len() <= MAX_LEN)
        .collect()
}

fn run(target: &str, check: fn(&[u8]), input: &[u8]) {
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(input))) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-smoke");
        let saved = dir.join(format!("{target}-failure"));
        if std::fs::create_dir_all(&dir).is_ok() && std::fs::write(&saved, input).is_ok() {
            eprintln!("{target}: the failing input is in {}", saved.display());
        }
        resume_unwind(panic);
    }
}

fn smoke(target: &str) {
    let (_, check) = *TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .expect("a target of TARGETS");
    let seeds = seeds::for_target(target);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut inputs = files(&corpus);
    if let Some(dir) = std::env::var_os("KEYHOUND_FUZZ_SEEDS").map(|d| Path::new(&d).join(target)) {
        inputs.extend(files(&dir));
        std::fs::create_dir_all(&dir).expect("seed directory");
        for (n, seed) in seeds.iter().enumerate() {
            std::fs::write(dir.join(format!("smoke-seed-{n:04}")), seed).expect("seed written");
        }
    }
    inputs.extend(seeds);
    inputs.push(Vec::new());
    let start = Instant::now();
    for input in &inputs {
        run(target, check, input);
    }
    let seeded = start.elapsed();
    let budget = std::env::var("KEYHOUND_FUZZ_SMOKE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(Duration::from_secs(10), Duration::from_secs_f64);
    let mut rng = Rng(0x6b65_7968_6f75_6e64 ^ target.len() as u64);
    let mut mutated = 0u64;
    let mut input = Vec::new();
    while start.elapsed() < seeded + budget {
        input.clear();
        input.extend_from_slice(&inputs[rng.below(inputs.len())]);
        let other = &inputs[rng.below(inputs.len())];
        mutate(&mut rng, &mut input, other);
        run(target, check, &input);
        mutated += 1;
    }
    eprintln!(
        "{target}: {} seeds in {seeded:.1?}, {mutated} mutations in {:.1?}",
        inputs.len(),
        start.elapsed() - seeded
    );
}

macro_rules! smoke_tests {
    ($($target:ident),* $(,)?) => {
        $(
            #[test]
            fn $target() {
                smoke(stringify!($target));
            }
        )*
        #[test]
        fn every_target_has_a_smoke_test() {
            let tested = [$(stringify!($target)),*];
            for (name, _) in TARGETS {
                assert!(tested.contains(&name), "{name} has no smoke test");
            }
        }
    };
}

smoke_tests!(
    prefilter_differential,
    pack_entry,
    delta_apply,
    loose_object,
    rule_loader,
    engine_full_ruleset,
    decoders,
    codeowners,
    config,
    report_writers,
);
