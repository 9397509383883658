//! Damaged object databases: every way a pack, its index or a loose object can be broken is
//! reported by name, and every intact blob is still read.

use std::path::Path;

use keyhound_sources::odb::OdbOptions;

use crate::common::{
    PackRow, blobs_by_git, blobs_by_keyhound, blobs_with, each_blob_visited_or_named, git,
    pack_index, pack_rows, packed_history, rewrite, write,
};

/// Reads with two threads and nothing optional checked.
fn plain() -> OdbOptions {
    OdbOptions {
        threads: 2,
        ..OdbOptions::default()
    }
}

/// The name of the repository's pack file, which errors about it must carry.
fn pack_name(repo: &Path) -> String {
    let index = pack_index(repo);
    index
        .with_extension("pack")
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// A blob that deltas are built on, and a blob delta that nothing is built on.
fn base_and_leaf(rows: &[PackRow]) -> (PackRow, PackRow) {
    let is_base = |r: &PackRow| rows.iter().any(|d| d.base.as_ref() == Some(&r.id));
    let base = rows
        .iter()
        .find(|r| r.kind == "blob" && r.base.is_none() && is_base(r))
        .expect("a blob that deltas are built on")
        .clone();
    let leaf = rows
        .iter()
        .find(|r| r.kind == "blob" && r.base.is_some() && !is_base(r))
        .expect("a blob delta nothing is built on")
        .clone();
    (base, leaf)
}

#[test]
fn a_corrupt_delta_base_is_reported_with_what_is_lost_and_every_other_blob_still_read() {
    let dir = packed_history();
    let repo = dir.path();
    let expected = blobs_by_git(repo);
    let (base, _) = base_and_leaf(&pack_rows(repo));
    // Past the entry header, garble the compressed data.
    rewrite(&pack_index(repo).with_extension("pack"), |bytes| {
        let start = base.offset + base.in_pack / 2;
        for b in &mut bytes[start..start + 8] {
            *b ^= 0x5a;
        }
    });

    let (found, errors) = blobs_by_keyhound(repo);
    let error = &errors[0];
    for named in [
        &base.id,
        &pack_name(repo),
        &format!("offset {}", base.offset),
    ] {
        assert!(error.contains(named.as_str()), "names {named}: {error}");
    }
    assert!(error.contains("CRC32"), "says why: {error}");
    assert!(error.contains("gix cannot read it either"), "{error}");
    assert!(error.contains("objects built on it are lost"), "{error}");
    // Each object lost with it is named in an error of its own.
    for lost in &errors[1..] {
        assert!(
            lost.contains(&format!("delta base {}", base.id)) || lost.contains("its delta base"),
            "{lost}"
        );
    }
    assert!(errors.len() > 1, "{errors:#?}");
    assert!(!found.contains_key(&base.id));
    let visited = each_blob_visited_or_named(&expected, &found, &errors);
    assert!(visited > 1, "the blobs not built on it are read");
    let notes = git(repo, &["rev-parse", "HEAD:notes.txt"]);
    assert_eq!(found[notes.trim()].0, b"unrelated notes\n");
}

#[test]
fn a_truncated_pack_names_every_object_it_loses_and_reads_the_rest() {
    let dir = packed_history();
    let repo = dir.path();
    let expected = blobs_by_git(repo);
    let pack = pack_index(repo).with_extension("pack");
    rewrite(&pack, |bytes| bytes.truncate(bytes.len() / 2));

    let (found, errors) = blobs_with(repo, &plain());
    assert!(!errors.is_empty());
    for error in &errors {
        assert!(error.contains(&pack_name(repo)), "names the pack: {error}");
        assert!(error.contains("at offset"), "names where: {error}");
    }
    let visited = each_blob_visited_or_named(&expected, &found, &errors);
    assert!(visited > 0, "the blobs in the first half are still read");
    assert!(
        visited < expected.len(),
        "the second half is lost: {errors:#?}"
    );
}

#[test]
fn a_corrupt_delta_is_reported_and_its_base_and_siblings_still_read() {
    let dir = packed_history();
    let repo = dir.path();
    let expected = blobs_by_git(repo);
    let (_, leaf) = base_and_leaf(&pack_rows(repo));
    rewrite(&pack_index(repo).with_extension("pack"), |bytes| {
        // The last bytes of the entry: its zlib checksum and the delta's last instructions.
        let end = leaf.offset + leaf.in_pack;
        for b in &mut bytes[end - 3..end] {
            *b ^= 0xff;
        }
    });

    let (found, errors) = blobs_with(repo, &plain());
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains(&leaf.id), "{}", errors[0]);
    assert!(errors[0].contains(&pack_name(repo)), "{}", errors[0]);
    assert!(!found.contains_key(&leaf.id));
    assert_eq!(
        each_blob_visited_or_named(&expected, &found, &errors),
        expected.len() - 1
    );
}

#[test]
fn a_delta_whose_base_is_not_an_entry_is_reported_not_skipped_in_silence() {
    let dir = packed_history();
    let repo = dir.path();
    let expected = blobs_by_git(repo);
    let rows = pack_rows(repo);
    let (_, leaf) = base_and_leaf(&rows);
    let pack = pack_index(repo).with_extension("pack");
    // An offset delta's header: type and size bytes, then the distance back to its base.
    // Moving the distance by one points it into the middle of another entry.
    rewrite(&pack, |bytes| {
        let mut at = leaf.offset;
        while bytes[at] & 0x80 != 0 {
            at += 1;
        }
        at += 1;
        while bytes[at] & 0x80 != 0 {
            at += 1;
        }
        bytes[at] = if bytes[at] & 0x7f == 0 {
            bytes[at] + 1
        } else {
            bytes[at] - 1
        };
    });

    let (found, errors) = blobs_with(repo, &plain());
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let error = &errors[0];
    assert!(error.contains(&leaf.id), "{error}");
    assert!(error.contains("its delta base at offset"), "{error}");
    assert!(error.contains("is not in the pack"), "{error}");
    assert_eq!(
        each_blob_visited_or_named(&expected, &found, &errors),
        expected.len() - 1
    );
}

/// Where the 32-bit offset of the object at position `position` sits in a version 2 index of
/// `count` objects: after the header (8), the fan-out (1024), the ids and the CRC32s.
fn offset_field(count: usize, position: usize) -> usize {
    8 + 1024 + count * 20 + count * 4 + position * 4
}

/// The position of object `id` in the sorted id table of the index.
fn index_position(rows: &[PackRow], id: &str) -> usize {
    let mut ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    ids.sort_unstable();
    ids.iter().position(|&i| i == id).unwrap()
}

#[test]
fn an_index_that_points_into_the_middle_of_an_entry_is_reported() {
    let dir = packed_history();
    let repo = dir.path();
    let expected = blobs_by_git(repo);
    let rows = pack_rows(repo);
    let notes = git(repo, &["rev-parse", "HEAD:notes.txt"])
        .trim()
        .to_string();
    let row = rows.iter().find(|r| r.id == notes).unwrap().clone();
    let field = offset_field(rows.len(), index_position(&rows, &notes));
    rewrite(&pack_index(repo), |bytes| {
        let moved = u32::try_from(row.offset + 2).unwrap().to_be_bytes();
        bytes[field..field + 4].copy_from_slice(&moved);
    });

    let (found, errors) = blobs_with(repo, &plain());
    assert!(!errors.is_empty());
    assert!(
        errors.iter().any(|e| e.contains(&notes)),
        "names the object: {errors:#?}"
    );
    assert!(!found.contains_key(&notes));
    each_blob_visited_or_named(&expected, &found, &errors);

    // The index's own checksum no longer matches: `verify_pack` says so.
    let verified = OdbOptions {
        verify_pack: true,
        ..plain()
    };
    let (_, errors) = blobs_with(repo, &verified);
    let idx_name = pack_index(repo)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        errors
            .iter()
            .any(|e| e.contains(&idx_name) && e.contains("trailing checksum")),
        "{errors:#?}"
    );
}

#[test]
fn a_wrong_crc_in_the_index_is_recovered_through_gix_and_caught_by_verify_pack() {
    let dir = packed_history();
    let repo = dir.path();
    let expected = blobs_by_git(repo);
    let rows = pack_rows(repo);
    let (base, _) = base_and_leaf(&rows);
    let crc_field = 8 + 1024 + rows.len() * 20 + index_position(&rows, &base.id) * 4;
    rewrite(&pack_index(repo), |bytes| bytes[crc_field] ^= 0x01);

    // The entry's bytes are intact: gix reads the object, its content hashes to its id, and
    // everything built on it is read.
    let (found, errors) = blobs_with(repo, &plain());
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        each_blob_visited_or_named(&expected, &found, &errors),
        expected.len()
    );
    let verified = OdbOptions {
        verify_pack: true,
        ..plain()
    };
    let (found, errors) = blobs_with(repo, &verified);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains(".idx"), "{}", errors[0]);
    assert_eq!(found.len(), expected.len());
}

#[test]
fn verify_pack_checks_the_trailing_checksum_and_is_off_by_default() {
    let dir = packed_history();
    let repo = dir.path();
    let expected = blobs_by_git(repo);
    rewrite(&pack_index(repo).with_extension("pack"), |bytes| {
        let last = bytes.len() - 1;
        bytes[last] ^= 0x80;
    });
    let (found, errors) = blobs_with(repo, &plain());
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(found.len(), expected.len());

    let verified = OdbOptions {
        verify_pack: true,
        ..plain()
    };
    let (found, errors) = blobs_with(repo, &verified);
    assert_eq!(found.len(), expected.len(), "the entries are intact");
    // The pack's checksum is wrong, and the index names another pack's checksum.
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains(&pack_name(repo)) && e.contains("trailing checksum")),
        "{errors:#?}"
    );
}

#[test]
fn verify_objects_catches_an_index_that_names_the_wrong_object() {
    let dir = packed_history();
    let repo = dir.path();
    let rows = pack_rows(repo);
    let notes = git(repo, &["rev-parse", "HEAD:notes.txt"])
        .trim()
        .to_string();
    let position = index_position(&rows, &notes);
    // The last byte of the id: the table stays sorted, lookups of the real id fail.
    let field = 8 + 1024 + position * 20 + 19;
    let mut renamed = String::new();
    rewrite(&pack_index(repo), |bytes| {
        bytes[field] ^= 0x01;
        renamed = bytes[8 + 1024 + position * 20..][..20]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
    });

    // Unchecked, the content is handed out under the id the index gives it.
    let (found, _) = blobs_with(repo, &plain());
    assert_eq!(found[&renamed].0, b"unrelated notes\n");
    let verified = OdbOptions {
        verify_objects: true,
        ..plain()
    };
    let (found, errors) = blobs_with(repo, &verified);
    assert!(!found.contains_key(&renamed));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains(&renamed) && errors[0].contains(&format!("hashes to {notes}")),
        "{}",
        errors[0]
    );
}

#[test]
fn a_pack_whose_index_cannot_be_read_is_reported_and_loose_blobs_still_read() {
    let dir = packed_history();
    let repo = dir.path();
    write(repo, "later.txt", b"written after the repack\n");
    git(repo, &["add", "later.txt"]);
    let later = git(repo, &["rev-parse", ":later.txt"]).trim().to_string();
    let index = pack_index(repo);
    rewrite(&index, |bytes| bytes.truncate(100));

    let (found, errors) = blobs_with(repo, &plain());
    assert_eq!(found[&later].0, b"written after the repack\n");
    let idx_name = index.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains(&idx_name), "{}", errors[0]);
    let packs =
        keyhound_sources::pack::Packs::open(&repo.join(".git/objects"), gix::hash::Kind::Sha1);
    assert_eq!(packs.errors().len(), 1);
    assert!(packs.errors()[0].to_string().contains(&idx_name));
}

/// A repository of loose objects only: three files committed.
fn loose_history() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    for (name, content) in [
        ("a.txt", "alpha\n"),
        ("b.txt", "bravo\n"),
        ("c.txt", "charlie\n"),
    ] {
        write(repo, name, content.as_bytes());
    }
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "Three files"]);
    dir
}

/// The file of loose object `id`.
fn loose_file(repo: &Path, id: &str) -> std::path::PathBuf {
    repo.join(".git/objects").join(&id[..2]).join(&id[2..])
}

#[test]
fn a_bad_loose_object_is_reported_by_file_and_the_others_read() {
    for (damage, why) in [
        ("truncated", "inflate"),
        ("garbled", "corrupt"),
        ("lying header", "header"),
    ] {
        let dir = loose_history();
        let repo = dir.path();
        let expected = blobs_by_git(repo);
        let bad = git(repo, &["rev-parse", "HEAD:b.txt"]).trim().to_string();
        let file = loose_file(repo, &bad);
        rewrite(&file, |bytes| match damage {
            "truncated" => bytes.truncate(bytes.len() - 6),
            "garbled" => {
                for b in &mut bytes[4..10] {
                    *b ^= 0x55;
                }
            }
            _ => {
                // A valid stream whose header claims far more than the file can hold.
                *bytes = zlib_stored(b"blob 99999999999\0bravo\n");
            }
        });

        let (found, errors) = blobs_with(repo, &plain());
        assert_eq!(errors.len(), 1, "{damage}: {errors:#?}");
        let error = errors[0].to_lowercase();
        assert!(
            error.contains(&bad[2..]),
            "{damage}: names the file: {error}"
        );
        assert!(error.contains(why), "{damage}: says why: {error}");
        assert!(
            error.contains("gix cannot read it either"),
            "{damage}: {error}"
        );
        assert_eq!(
            each_blob_visited_or_named(&expected, &found, &errors),
            expected.len() - 1,
            "{damage}"
        );
    }
}

#[test]
fn a_bad_loose_copy_of_a_packed_object_is_read_from_the_pack() {
    let dir = loose_history();
    let repo = dir.path();
    let expected = blobs_by_git(repo);
    let bad = git(repo, &["rev-parse", "HEAD:b.txt"]).trim().to_string();
    let file = loose_file(repo, &bad);
    let good = std::fs::read(&file).unwrap();
    git(repo, &["repack", "-aq"]);
    // Put back a broken loose copy beside the packed one.
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, &good[..good.len() - 4]).unwrap();

    let (found, errors) = blobs_with(repo, &plain());
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(found.len(), expected.len());
    assert_eq!(found[&bad].0, b"bravo\n");
}

/// A zlib stream of `data` in one stored (uncompressed) block.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01, 0x01];
    let len = u16::try_from(data.len()).unwrap();
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&(!len).to_le_bytes());
    out.extend_from_slice(data);
    let (mut a, mut b) = (1u32, 0u32);
    for &byte in data {
        a = (a + u32::from(byte)) % 65521;
        b = (b + a) % 65521;
    }
    out.extend_from_slice(&((b << 16) | a).to_be_bytes());
    out
}

#[test]
fn a_shared_clone_reads_the_blobs_of_its_alternates() {
    let source = packed_history();
    write(source.path(), "loose.txt", b"a loose blob of the source\n");
    git(source.path(), &["add", "loose.txt"]);
    git(source.path(), &["commit", "-q", "-m", "Loose"]);
    let clones = tempfile::tempdir().unwrap();
    git(
        clones.path(),
        &[
            "clone",
            "-q",
            "--shared",
            &source.path().to_string_lossy(),
            "shared",
        ],
    );
    let clone = clones.path().join("shared");
    assert!(clone.join(".git/objects/info/alternates").is_file());
    assert!(
        std::fs::read_dir(clone.join(".git/objects/pack")).map_or(0, Iterator::count) == 0,
        "the clone has no pack of its own"
    );
    write(&clone, "own.txt", b"the clone's own blob\n");
    git(&clone, &["add", "own.txt"]);
    git(&clone, &["commit", "-q", "-m", "Own"]);

    let expected = blobs_by_git(&clone);
    let (found, errors) = blobs_with(&clone, &plain());
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        each_blob_visited_or_named(&expected, &found, &errors),
        expected.len()
    );
    let own = git(&clone, &["rev-parse", "HEAD:own.txt"])
        .trim()
        .to_string();
    let loose = git(&clone, &["rev-parse", "HEAD:loose.txt"])
        .trim()
        .to_string();
    assert_eq!(found[&own].0, b"the clone's own blob\n");
    assert_eq!(found[&loose].0, b"a loose blob of the source\n");

    // An alternate that has gone away is reported, and the clone's own objects still read.
    std::fs::write(
        clone.join(".git/objects/info/alternates"),
        "/nonexistent/objects\n",
    )
    .unwrap();
    let (found, errors) = blobs_with(&clone, &plain());
    assert!(found.contains_key(&own));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains("/nonexistent/objects"), "{}", errors[0]);
}

#[test]
fn an_intact_repository_passes_every_check_with_every_blob_read() {
    let dir = packed_history();
    let repo = dir.path();
    write(repo, "loose.txt", b"a loose blob\n");
    git(repo, &["add", "loose.txt"]);
    let expected = blobs_by_git(repo);
    let checked = OdbOptions {
        verify_pack: true,
        verify_objects: true,
        ..plain()
    };
    let (found, errors) = blobs_with(repo, &checked);
    assert!(errors.is_empty(), "{errors:#?}");
    let loose = git(repo, &["rev-parse", ":loose.txt"]).trim().to_string();
    assert_eq!(found[&loose].0, b"a loose blob\n");
    // The staged blob is in the database, though no commit holds it.
    assert_eq!(found.len(), expected.len() + 1);
}
