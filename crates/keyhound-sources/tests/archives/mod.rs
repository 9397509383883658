//! Archives: members handed on under nested names, limits that stop bombs, and damaged
//! archives reported by name with their readable members still handed on.

use keyhound_sources::Excludes;
use keyhound_sources::archive::{
    self, ArchiveError, Format, Limits, RATIO_GRACE, SkipReason, Skipped, Stats,
};

use crate::common::{bzip2, gzip, tar_of, zip_of};

/// The members handed on (name, bytes), in order, and the stats.
fn open(name: &str, bytes: &[u8], limits: &Limits) -> (Vec<(String, Vec<u8>)>, Stats) {
    open_as(name, bytes, limits, false)
}

/// [`open`], reading the archive from memory or, when `streamed`, as a stream.
fn open_as(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    streamed: bool,
) -> (Vec<(String, Vec<u8>)>, Stats) {
    let none = Excludes::new(&[]).expect("no globs");
    open_excluding(name, bytes, limits, streamed, &none)
}

/// [`open_as`], skipping the members `excludes` matches.
fn open_excluding(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    streamed: bool,
    excludes: &Excludes,
) -> (Vec<(String, Vec<u8>)>, Stats) {
    let format = Format::detect(name, bytes).expect("an archive");
    let mut members = Vec::new();
    let mut on_member = |name: &str, bytes: &[u8]| {
        members.push((name.to_string(), bytes.to_vec()));
    };
    let stats = if streamed {
        archive::scan_reader(
            name,
            format,
            &mut &bytes[..],
            limits,
            excludes,
            &mut on_member,
        )
    } else {
        archive::scan_bytes(name, format, bytes, limits, excludes, &mut on_member)
    };
    assert_eq!(stats.members, members.len() as u64);
    (members, stats)
}

fn names(members: &[(String, Vec<u8>)]) -> Vec<&str> {
    members.iter().map(|(name, _)| name.as_str()).collect()
}

fn skipped(name: &str, reason: SkipReason) -> Skipped {
    Skipped {
        name: name.to_string(),
        reason,
    }
}

#[test]
fn formats_are_detected_by_magic_bytes_whatever_the_name() {
    let zip = zip_of(&[("a.txt", b"hello")]);
    let tar = tar_of(&[("a.txt", b"hello")]);
    assert_eq!(Format::detect("", &zip), Some(Format::Zip));
    assert_eq!(Format::detect("notes.txt", &zip), Some(Format::Zip));
    assert_eq!(Format::detect("", &tar), Some(Format::Tar));
    assert_eq!(Format::detect("", &gzip(b"x")), Some(Format::Gzip));
    assert_eq!(Format::detect("", &bzip2(b"x")), Some(Format::Bzip2));
    // Text is never an archive, whatever its name says (a Git LFS pointer, say).
    let pointer = b"version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 12\n";
    assert_eq!(Format::detect("big.zip", pointer), None);
    assert_eq!(Format::detect("README.md", b"# ustar BZh91AY&SY PK"), None);
    // Binary bytes that are no known archive: the extension decides.
    let garbage = [0u8, 1, 2, 3, 0xff, 0xfe];
    assert_eq!(Format::detect("lib/app.JAR", &garbage), Some(Format::Zip));
    assert_eq!(Format::detect("a.tgz", &garbage), Some(Format::Gzip));
    assert_eq!(Format::detect("a.tar.bz2", &garbage), Some(Format::Bzip2));
    assert_eq!(Format::detect("image.png", &garbage), None);
}

#[test]
fn zip_members_are_handed_on_with_nested_names_and_exact_bytes() {
    let jar = zip_of(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        ("c/d.properties", b"db.password=hunter2\n"),
    ]);
    let outer = zip_of(&[
        ("readme.txt.stored", b"stored, not deflated\n"),
        ("lib/b.jar", &jar),
        ("config/app.env", b"KEY=value\nOTHER=1\n"),
    ]);
    let (members, stats) = open("dist/a.zip", &outer, &Limits::default());
    assert_eq!(
        names(&members),
        [
            "dist/a.zip!readme.txt.stored",
            "dist/a.zip!lib/b.jar!META-INF/MANIFEST.MF",
            "dist/a.zip!lib/b.jar!c/d.properties",
            "dist/a.zip!config/app.env",
        ]
    );
    assert_eq!(members[2].1, b"db.password=hunter2\n");
    assert_eq!(members[3].1, b"KEY=value\nOTHER=1\n");
    assert!(
        stats.skipped.is_empty() && stats.errors.is_empty(),
        "{stats:?}"
    );
}

#[test]
fn tar_gz_bz2_and_gz_open_as_one_level_and_nest_with_zips() {
    let inner_zip = zip_of(&[("keys/id.txt", b"token=abc\n")]);
    let tar = tar_of(&[
        ("./pkg/Cargo.toml", b"[package]\nname = \"x\"\n"),
        ("pkg/vendor.zip", &inner_zip),
    ]);
    let (members, stats) = open("crates/x-1.0.crate", &gzip(&tar), &Limits::default());
    assert_eq!(
        names(&members),
        [
            "crates/x-1.0.crate!pkg/Cargo.toml",
            "crates/x-1.0.crate!pkg/vendor.zip!keys/id.txt",
        ]
    );
    assert_eq!(members[1].1, b"token=abc\n");
    assert!(stats.errors.is_empty(), "{stats:?}");

    let (members, _) = open("backup.tar.bz2", &bzip2(&tar), &Limits::default());
    assert_eq!(members.len(), 2);
    assert_eq!(members[0].0, "backup.tar.bz2!pkg/Cargo.toml");

    // One compressed file: its member is named after it, without the suffix.
    let (members, _) = open("logs/app.log.gz", &gzip(b"line 1\n"), &Limits::default());
    assert_eq!(
        members,
        [("logs/app.log.gz!app.log".to_string(), b"line 1\n".to_vec())]
    );
    let (members, _) = open("dump.sql.bz2", &bzip2(b"select 1;\n"), &Limits::default());
    assert_eq!(names(&members), ["dump.sql.bz2!dump.sql"]);
    // No name to go by (a blob of the history): the name the gzip header keeps, else a
    // placeholder.
    let mut with_name = Vec::new();
    {
        use std::io::Write;
        let mut encoder = flate2::GzBuilder::new()
            .filename("settings.json")
            .write(&mut with_name, flate2::Compression::default());
        encoder.write_all(b"{}").unwrap();
        encoder.finish().unwrap();
    }
    let (members, _) = open("", &with_name, &Limits::default());
    assert_eq!(names(&members), ["!settings.json"]);
    let (members, _) = open("", &bzip2(b"x"), &Limits::default());
    assert_eq!(names(&members), ["!(decompressed)"]);
}

#[test]
fn a_zip_bomb_member_is_skipped_by_name_and_the_rest_scanned() {
    let zeros = vec![0u8; 8 << 20];
    let bomb = zip_of(&[
        ("a.txt", b"first\n"),
        ("bomb.bin", &zeros),
        ("z.txt", b"last\n"),
    ]);
    let (members, stats) = open("bomb.zip", &bomb, &Limits::default());
    assert_eq!(names(&members), ["bomb.zip!a.txt", "bomb.zip!z.txt"]);
    assert_eq!(
        stats.skipped,
        [skipped(
            "bomb.zip!bomb.bin",
            SkipReason::CompressionRatio { limit: 100 }
        )]
    );
    // A zip that lies about the size is not followed either: the inflated bytes overrun the
    // size declared, and the member is reported as damaged.
    let mut lying = bomb.clone();
    let declared = (zeros.len() as u32).to_le_bytes();
    let small = 1000u32.to_le_bytes();
    let mut replaced = 0;
    for i in 0..lying.len() - 4 {
        if lying[i..i + 4] == declared {
            lying[i..i + 4].copy_from_slice(&small);
            replaced += 1;
        }
    }
    assert_eq!(replaced, 2, "local and central headers");
    let (members, stats) = open("bomb.zip", &lying, &Limits::default());
    assert_eq!(names(&members), ["bomb.zip!a.txt", "bomb.zip!z.txt"]);
    assert!(stats.skipped.is_empty(), "{stats:?}");
    assert_eq!(stats.errors.len(), 1, "{stats:?}");
    assert!(
        matches!(&stats.errors[0], ArchiveError::Corrupt { name, .. } if name == "bomb.zip!bomb.bin"),
        "{stats:?}"
    );

    // A gzip bomb: the stream is abandoned.
    let (members, stats) = open("zeros.gz", &gzip(&zeros), &Limits::default());
    assert!(members.is_empty());
    assert_eq!(
        stats.skipped,
        [skipped(
            "zeros.gz!zeros",
            SkipReason::CompressionRatio { limit: 100 }
        )]
    );
    // Small repetitive members are not bombs.
    let small = vec![b' '; (RATIO_GRACE / 2) as usize];
    let (members, stats) = open(
        "s.zip",
        &zip_of(&[("spaces.txt", &small)]),
        &Limits::default(),
    );
    assert_eq!(members.len(), 1);
    assert!(stats.skipped.is_empty());
}

#[test]
fn nesting_size_total_and_count_limits_skip_and_name() {
    let level3 = zip_of(&[("deep.txt", b"deep\n")]);
    let level2 = zip_of(&[("l3.zip", &level3), ("two.txt", b"2\n")]);
    let level1 = zip_of(&[("l2.zip", &level2)]);
    let top = zip_of(&[("l1.zip", &level1), ("one.txt", b"1\n")]);
    let (members, stats) = open("top.zip", &top, &Limits::default());
    assert_eq!(
        names(&members),
        ["top.zip!l1.zip!l2.zip!two.txt", "top.zip!one.txt"]
    );
    assert_eq!(
        stats.skipped,
        [skipped(
            "top.zip!l1.zip!l2.zip!l3.zip",
            SkipReason::TooDeep { limit: 3 }
        )]
    );

    let limits = Limits {
        max_member_size: 10,
        ..Limits::default()
    };
    let zip = zip_of(&[("big.txt", b"0123456789A"), ("ok.txt", b"0123456789")]);
    let (members, stats) = open("s.zip", &zip, &limits);
    assert_eq!(names(&members), ["s.zip!ok.txt"]);
    assert_eq!(
        stats.skipped,
        [skipped(
            "s.zip!big.txt",
            SkipReason::MemberTooLarge { limit: 10 }
        )]
    );
    // A gzip stream has no declared size: it is read up to the limit and no further.
    let (members, stats) = open("big.txt.gz", &gzip(b"0123456789A"), &limits);
    assert!(members.is_empty());
    assert_eq!(
        stats.skipped[0].reason,
        SkipReason::MemberTooLarge { limit: 10 }
    );

    let limits = Limits {
        max_total_size: 25,
        ..Limits::default()
    };
    let zip = zip_of(&[
        ("a", &[b'a'; 10]),
        ("b", &[b'b'; 10]),
        ("c", &[b'c'; 10]),
        ("d", b"d"),
    ]);
    let (members, stats) = open("t.zip", &zip, &limits);
    assert_eq!(names(&members), ["t.zip!a", "t.zip!b"]);
    assert_eq!(
        stats.skipped,
        [skipped("t.zip!c", SkipReason::TotalSizeLimit { limit: 25 })]
    );

    let limits = Limits {
        max_members: 2,
        ..Limits::default()
    };
    let tar = tar_of(&[("a", b"a"), ("b", b"b"), ("c", b"c")]);
    let (members, stats) = open("n.tar", &tar, &limits);
    assert_eq!(names(&members), ["n.tar!a", "n.tar!b"]);
    assert_eq!(
        stats.skipped,
        [skipped("n.tar", SkipReason::MemberCountLimit { limit: 2 })]
    );
}

#[test]
fn damaged_archives_are_named_and_their_readable_members_still_handed_on() {
    // A zip cut short: no directory, but the local headers before the cut can be read.
    let zip = zip_of(&[
        ("a.txt", b"alpha\n"),
        ("b.txt", b"bravo\n"),
        ("c.txt", b"charlie\n"),
    ]);
    let cut = &zip[..zip.len() - 60];
    let (members, stats) = open("cut.zip", cut, &Limits::default());
    assert_eq!(
        names(&members),
        ["cut.zip!a.txt", "cut.zip!b.txt", "cut.zip!c.txt"]
    );
    assert_eq!(stats.errors.len(), 1, "{stats:?}");
    assert!(
        matches!(&stats.errors[0], ArchiveError::Zip { name, .. } if name == "cut.zip"),
        "{:?}",
        stats.errors
    );
    assert!(stats.errors[0].to_string().starts_with("cut.zip: "));

    // One member's data corrupt (its checksum fails): named; the others handed on.
    let mut zip = zip_of(&[("a.txt.stored", b"alpha\n"), ("b.txt.stored", b"bravo\n")]);
    let at = zip.windows(6).position(|w| w == b"alpha\n").unwrap();
    zip[at] = b'A';
    let (members, stats) = open("crc.zip", &zip, &Limits::default());
    assert_eq!(names(&members), ["crc.zip!b.txt.stored"]);
    assert_eq!(stats.errors.len(), 1);
    let message = stats.errors[0].to_string();
    assert!(message.starts_with("crc.zip!a.txt.stored: "), "{message}");

    // A truncated tar.gz: the members before the damage are handed on, the archive named.
    let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
    let tgz = gzip(&tar_of(&[
        ("first.txt", b"first\n"),
        ("big.bin", &big),
        ("last", b"x"),
    ]));
    let (members, stats) = open("pkg.tgz", &tgz[..tgz.len() / 2], &Limits::default());
    assert_eq!(names(&members), ["pkg.tgz!first.txt"]);
    assert_eq!(stats.errors.len(), 1, "{stats:?}");
    assert!(
        matches!(&stats.errors[0], ArchiveError::Corrupt { name, format: Format::Gzip, .. } if name == "pkg.tgz"),
        "{:?}",
        stats.errors
    );

    // Not a zip at all, though binary and named like one.
    let (members, stats) = open("fake.jar", &[0u8, 1, 2, 3], &Limits::default());
    assert!(members.is_empty());
    assert_eq!(stats.errors.len(), 1);
}

#[test]
fn an_encrypted_member_is_skipped_by_name() {
    let mut zip = zip_of(&[("secret.txt.stored", b"hidden\n"), ("open.txt", b"open\n")]);
    // Set the "encrypted" flag of the first entry in its local and central headers.
    zip[6] |= 1;
    let central = zip.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    zip[central + 8] |= 1;
    let (members, stats) = open("e.zip", &zip, &Limits::default());
    assert_eq!(names(&members), ["e.zip!open.txt"]);
    assert_eq!(
        stats.skipped,
        [skipped("e.zip!secret.txt.stored", SkipReason::Encrypted)]
    );
}

#[test]
fn streamed_archives_are_read_member_by_member() {
    let tgz = gzip(&tar_of(&[("a/b.env", b"K=V\n"), ("c", b"c\n")]));
    let (members, stats) = open_as("big.tar.gz", &tgz, &Limits::default(), true);
    assert_eq!(
        members,
        [
            ("big.tar.gz!a/b.env".to_string(), b"K=V\n".to_vec()),
            ("big.tar.gz!c".to_string(), b"c\n".to_vec()),
        ]
    );
    assert!(stats.errors.is_empty());
    // A zip needs its directory, at its end: a stream is read into memory when it is no
    // larger than a member may be, and skipped by name otherwise.
    let zip = zip_of(&[("a", b"alpha")]);
    let (members, stats) = open_as("-", &zip, &Limits::default(), true);
    assert_eq!(members, [("-!a".to_string(), b"alpha".to_vec())]);
    assert!(stats.skipped.is_empty() && stats.errors.is_empty());
    let limit = zip.len() as u64 - 1;
    let limits = Limits {
        max_member_size: limit,
        ..Limits::default()
    };
    let (members, stats) = open_as("huge.zip", &zip, &limits, true);
    assert!(members.is_empty());
    assert_eq!(
        stats.skipped,
        [skipped("huge.zip", SkipReason::ZipNotInMemory { limit })]
    );
}

#[test]
fn excluded_members_are_skipped_as_files_would_be_and_counted() {
    let jar = zip_of(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        ("c/d.properties", b"db.password=hunter2\n"),
    ]);
    let files: &[(&str, &[u8])] = &[
        ("docs/guide.md", b"# guide\n"),
        ("src/app.env", b"KEY=value\n"),
        ("src/test/fixture.env", b"KEY=fixture\n"),
        ("lib/b.jar", &jar),
        ("lib/c.jar", &jar),
    ];
    let globs = |globs: &[&str]| {
        let globs: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
        Excludes::new(&globs).expect("globs")
    };
    let excludes = globs(&[
        "*.md",            // a name, at any depth of the archive
        "test",            // a directory name: everything under it
        "lib/c.jar",       // a path from the archive's root: the nested archive is not opened
        "*.properties",    // inside a nested archive too
        "nothing/here/**", // matches no member
    ]);
    let zip = zip_of(files);
    let tar_gz = gzip(&tar_of(files));
    for (name, bytes) in [("dist/a.zip", &zip), ("dist/a.tar.gz", &tar_gz)] {
        for streamed in [false, true] {
            let (members, stats) =
                open_excluding(name, bytes, &Limits::default(), streamed, &excludes);
            assert_eq!(
                names(&members),
                [
                    format!("{name}!src/app.env"),
                    format!("{name}!lib/b.jar!META-INF/MANIFEST.MF"),
                ],
                "{name}, streamed: {streamed}"
            );
            let excluded: Vec<_> = stats
                .skipped
                .iter()
                .map(|s| {
                    assert_eq!(s.reason, SkipReason::Excluded);
                    s.name.clone()
                })
                .collect();
            assert_eq!(
                excluded,
                [
                    format!("{name}!docs/guide.md"),
                    format!("{name}!src/test/fixture.env"),
                    format!("{name}!lib/b.jar!c/d.properties"),
                    format!("{name}!lib/c.jar"),
                ]
            );
        }
    }
    // A glob with `/` also matches the whole nested name, from the scan root.
    let whole_name = globs(&["dist/a.zip!src/**"]);
    let zip_as = |name| open_excluding(name, &zip, &Limits::default(), false, &whole_name);
    let (members, stats) = zip_as("dist/a.zip");
    assert_eq!(members.len(), 5, "{:?}", names(&members));
    assert_eq!(
        stats.skipped,
        [
            skipped("dist/a.zip!src/app.env", SkipReason::Excluded),
            skipped("dist/a.zip!src/test/fixture.env", SkipReason::Excluded),
        ]
    );
    // Another archive's path does not match.
    let (members, _) = zip_as("dist/b.zip");
    assert_eq!(members.len(), 7);
    // A single compressed file's member is matched by its name too.
    let (members, stats) = open_excluding(
        "logs/app.log.gz",
        &gzip(b"line 1\n"),
        &Limits::default(),
        false,
        &globs(&["*.log"]),
    );
    assert!(members.is_empty());
    assert_eq!(
        stats.skipped,
        [skipped("logs/app.log.gz!app.log", SkipReason::Excluded)]
    );
}
