//! Runs the lifecycle walk alone, for profiling it apart from the blob pass (whose engine
//! work would otherwise dominate a profile): `trace REPO BLOB...` traces the given blobs
//! through the whole history, with every object of the object database as the set of present
//! blobs (a superset of what the scan passes, so the missing-blob check costs what it costs in
//! a scan), and prints what it found and how long the walk took.
//!
//! For instruction counts, independent of the machine's load:
//! `valgrind --tool=callgrind target/release/examples/trace REPO BLOB...`.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, bail};
use keyhound_sources::git::{GitRepository, ObjectId, TraceRequest};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        bail!("usage: trace REPO BLOB...");
    };
    let blobs: HashMap<ObjectId, Vec<u32>> = args
        .enumerate()
        .map(|(key, hex)| {
            let id =
                ObjectId::from_hex(hex.as_bytes()).with_context(|| format!("blob id {hex}"))?;
            Ok((id, vec![key as u32]))
        })
        .collect::<anyhow::Result<_>>()?;
    let rule_of_secret = vec![0; blobs.len()];
    let repo = GitRepository::open(Path::new(&path)).context("not a git repository")?;
    let present: gix::hashtable::HashSet<ObjectId> = gix::open(&path)?
        .objects
        .iter()?
        .collect::<Result<_, _>>()
        .context("listing the object database")?;
    let started = Instant::now();
    let trace = repo.trace(&TraceRequest {
        blobs: &blobs,
        rule_of_secret: &rule_of_secret,
        branch: None,
        since: None,
        present: Some(&present),
        lines: &HashMap::new(),
    })?;
    let elapsed = started.elapsed();
    for (key, secret) in trace.secrets.iter().enumerate() {
        println!(
            "secret {key}: {} paths, first seen {:?}",
            secret.paths.len(),
            secret.first_seen.map(|c| trace.commits[c].id)
        );
    }
    println!(
        "{} commits walked, {} errors, {:.3} s",
        trace.commits_walked,
        trace.errors.len(),
        elapsed.as_secs_f64()
    );
    Ok(())
}
