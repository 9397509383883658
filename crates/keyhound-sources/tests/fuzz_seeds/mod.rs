//! The seed corpora of the fuzz targets in `fuzz/`: real pack entries, deltas and loose
//! objects, each checked here to decode as git decodes it. With `KEYHOUND_FUZZ_SEEDS=DIR`
//! set, they are also written to `DIR/pack_entry`, `DIR/delta_apply` and `DIR/loose_object`
//! (see the README's reliability section).

use std::collections::BTreeMap;
use std::path::Path;

use keyhound_sources::fuzzing;

use crate::common::{git, pack_index, pack_rows, packed_history, write};

/// Writes `seeds` under `$KEYHOUND_FUZZ_SEEDS/target`, when that is set.
fn save(target: &str, seeds: &[Vec<u8>]) {
    let Some(dir) = std::env::var_os("KEYHOUND_FUZZ_SEEDS") else {
        return;
    };
    let dir = Path::new(&dir).join(target);
    std::fs::create_dir_all(&dir).unwrap();
    for (n, seed) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{n:03}")), seed).unwrap();
    }
}

/// Every object's content by id, as `git cat-file` prints it.
fn content(repo: &Path, id: &str) -> Vec<u8> {
    let kind = git(repo, &["cat-file", "-t", id]);
    std::process::Command::new("git")
        .current_dir(repo)
        .args(["cat-file", kind.trim(), id])
        .output()
        .unwrap()
        .stdout
}

#[test]
fn fuzz_seeds_decode_as_git_decodes_them() {
    let dir = packed_history();
    let repo = dir.path();
    let rows = pack_rows(repo);
    let pack = std::fs::read(pack_index(repo).with_extension("pack")).unwrap();
    let mut entries = Vec::new();
    let mut deltas = Vec::new();
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for row in &rows {
        let entry = pack[row.offset..row.offset + row.in_pack].to_vec();
        let (declared, data) = fuzzing::pack_entry(&entry).unwrap();
        assert_eq!(data.len() as u64, declared, "{}", row.id);
        let object = contents
            .entry(row.id.clone())
            .or_insert_with(|| content(repo, &row.id))
            .clone();
        match &row.base {
            None => assert!(data == object, "{}: entry decodes to git's content", row.id),
            Some(base) => {
                let base = contents
                    .entry(base.clone())
                    .or_insert_with(|| content(repo, base))
                    .clone();
                let built = fuzzing::apply_delta(&base, &data).unwrap();
                assert!(built == object, "{}: delta builds git's content", row.id);
                // The delta target's input: base length (4 bytes, little-endian), base, delta.
                if base.len() < 4096 {
                    let mut input = u32::try_from(base.len()).unwrap().to_le_bytes().to_vec();
                    input.extend_from_slice(&base);
                    input.extend_from_slice(&data);
                    deltas.push(input);
                }
            }
        }
        if entry.len() < 4096 {
            entries.push(entry);
        }
    }
    assert!(entries.len() > 20 && deltas.len() > 10);

    // Loose objects of every kind.
    let loose = tempfile::tempdir().unwrap();
    git(loose.path(), &["init", "-q", "-b", "main"]);
    write(loose.path(), "app.env", b"API_TOKEN=not-a-real-token\n");
    write(loose.path(), "empty", b"");
    git(loose.path(), &["add", "-A"]);
    git(loose.path(), &["commit", "-q", "-m", "Loose objects"]);
    git(loose.path(), &["tag", "-a", "-m", "A tag", "v1"]);
    let mut objects = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for id in git(
        loose.path(),
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectname)",
        ],
    )
    .lines()
    {
        let file = loose
            .path()
            .join(".git/objects")
            .join(&id[..2])
            .join(&id[2..]);
        let bytes = std::fs::read(file).unwrap();
        let (kind, declared, read) = fuzzing::loose_object(&bytes).unwrap();
        assert_eq!(read.len() as u64, declared);
        assert_eq!(
            kind.to_string(),
            git(loose.path(), &["cat-file", "-t", id]).trim()
        );
        assert!(read == content(loose.path(), id), "{id}");
        kinds.insert(kind.to_string());
        objects.push(bytes);
    }
    assert_eq!(objects.len(), 5, "two blobs, a tree, a commit, a tag");
    assert_eq!(kinds.len(), 4, "{kinds:?}");

    save("pack_entry", &entries);
    save("delta_apply", &deltas);
    save("loose_object", &objects);
}
