//! CODEOWNERS at the size of a large monorepo's: parsing a generated file of 1,000 lines (four
//! shapes of pattern: anchored directories, extensions, `**` and wildcards under a directory)
//! and looking up the owners of a path three directories deep. With
//! `KEYHOUND_BENCH_CODEOWNERS=FILE`, a real file too: parsing it, and looking up one path made
//! from each of its patterns (wildcards filled in, directories given a file), the time given per
//! path. Run with `cargo bench -p keyhound-findings`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use keyhound_findings::CodeOwners;

fn codeowners_file(lines: usize) -> String {
    (0..lines)
        .map(|i| match i % 4 {
            0 => format!("/services/svc{i}/ @org/team{i}\n"),
            1 => format!("*.ext{i} @user{i}\n"),
            2 => format!("docs/**/part{i}.md @a @b\n"),
            _ => format!("src/mod{i}/*.rs @org/x{i} ops{i}@example.org\n"),
        })
        .collect()
}

/// A path that each pattern of `text` matches: `**` becomes two directories, `*` and `?` a
/// letter, a directory pattern gets a file inside it.
fn paths_from_patterns(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with(['#', '[', '^']))
        .filter_map(|line| line.split_whitespace().next())
        .map(|pattern| {
            let mut path = pattern
                .trim_start_matches('/')
                .replace('\\', "")
                .replace("**", "a/b")
                .replace(['*', '?'], "x");
            if path.is_empty() || path.ends_with('/') {
                path.push_str("file.txt");
            }
            path
        })
        .collect()
}

fn bench_file(c: &mut Criterion, file: &str) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
    let paths = paths_from_patterns(&text);
    let owners = CodeOwners::parse(&text);
    let owned = paths
        .iter()
        .filter(|p| !owners.owners_of(p).is_empty())
        .count();
    eprintln!(
        "{file}: {} lines, {} paths from its patterns, {owned} of them owned",
        text.lines().count(),
        paths.len()
    );
    let mut group = c.benchmark_group("codeowners/file");
    group.bench_function("parse", |b| b.iter(|| CodeOwners::parse(black_box(&text))));
    group.throughput(Throughput::Elements(paths.len() as u64));
    group.bench_function("owners_of each path", |b| {
        b.iter(|| {
            for path in &paths {
                black_box(owners.owners_of(black_box(path)));
            }
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    if let Ok(file) = std::env::var("KEYHOUND_BENCH_CODEOWNERS") {
        bench_file(c, &file);
    }
    let text = codeowners_file(1000);
    let owners = CodeOwners::parse(&text);
    assert_eq!(
        owners.owners_of("services/svc400/deep/x.rs"),
        ["@org/team400"]
    );
    c.bench_function("codeowners/parse 1000 lines", |b| {
        b.iter(|| CodeOwners::parse(black_box(&text)))
    });
    c.bench_function("codeowners/owners_of", |b| {
        b.iter(|| owners.owners_of(black_box("services/svc400/deep/x.rs")))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
