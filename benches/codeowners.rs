//! CODEOWNERS at the size of a large monorepo's: parsing a generated file of 1,000 lines (four
//! shapes of pattern: anchored directories, extensions, `**` and wildcards under a directory)
//! and looking up the owners of a path three directories deep. Run with
//! `cargo bench -p keyhound-findings`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
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

fn bench(c: &mut Criterion) {
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
