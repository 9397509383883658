//! Helpers shared by the crate's integration tests: repositories built with the git binary
//! (tests only: the product reads repositories with gix), and what keyhound reads from them.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use keyhound_sources::git::GitRepository;
use keyhound_sources::odb::OdbOptions;

/// Writes `contents` to `relative` under `root`, creating directories.
pub fn write(root: &Path, relative: &str, contents: &[u8]) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// Runs git (tests only: the product reads repositories with gix) and returns its stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_dated(dir, args, None)
}

/// [`git`] with author and committer dated `date` (git's own format), when given.
pub fn git_dated(dir: &Path, args: &[&str], date: Option<&str>) -> String {
    let mut command = std::process::Command::new("git");
    command
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Dana",
            "-c",
            "user.email=dana@ledger.invalid",
        ])
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    if let Some(date) = date {
        command
            .env("GIT_COMMITTER_DATE", date)
            .env("GIT_AUTHOR_DATE", date);
    }
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A repository whose history is one pack full of delta chains: a config file edited in 40
/// commits, a 200 KB file (copies of 64 KiB and more) changed in 5, and an unrelated file.
pub fn packed_history() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    write(repo, "notes.txt", b"unrelated notes\n");
    let mut config = String::from("[service]\n");
    let mut big: Vec<u8> = (0..200_000u32)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz\n"[(i % 27) as usize])
        .collect();
    for i in 0..40 {
        config.push_str(&format!("setting_{i} = value {}\n", i * 7919 % 1000));
        write(repo, "app/config.ini", config.as_bytes());
        if i % 8 == 0 {
            big[i * 4000] = b'#';
            write(repo, "data/big.txt", &big);
        }
        git(repo, &["add", "-A"]);
        git(repo, &["commit", "-q", "-m", &format!("Change {i}")]);
    }
    git(repo, &["repack", "-adfq", "--depth=50", "--window=50"]);
    dir
}

/// Every blob the history holds, with its content, as git reads it.
pub fn blobs_by_git(repo: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let listed = git(repo, &["rev-list", "--objects", "--all"]);
    let mut blobs = std::collections::BTreeMap::new();
    for line in listed.lines() {
        let id = line.split(' ').next().unwrap();
        if git(repo, &["cat-file", "-t", id]).trim() == "blob" {
            let content = std::process::Command::new("git")
                .current_dir(repo)
                .args(["cat-file", "blob", id])
                .output()
                .unwrap()
                .stdout;
            blobs.insert(id.to_string(), content);
        }
    }
    blobs
}

/// Each blob's content and how often it was visited, by id.
pub type Visited = std::collections::BTreeMap<String, (Vec<u8>, usize)>;

/// What `for_each_blob_in_odb` hands out with the default options, and the errors it reports.
pub fn blobs_by_keyhound(repo: &Path) -> (Visited, Vec<String>) {
    blobs_with(repo, &OdbOptions::default())
}

/// The one pack index of a repacked repository.
pub fn pack_index(repo: &Path) -> PathBuf {
    std::fs::read_dir(repo.join(".git/objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .unwrap()
}

/// What the odb pass with `options` hands out for the repository at `repo`, and the errors it
/// reports (as the CLI prints them).
pub fn blobs_with(repo: &Path, options: &OdbOptions) -> (Visited, Vec<String>) {
    let opened = GitRepository::open(repo).unwrap();
    let seen = Mutex::new(std::collections::BTreeMap::new());
    let pass = opened.for_each_blob_in_odb(options, &|id, data| {
        let mut seen = seen.lock().unwrap();
        let entry = seen
            .entry(id.to_string())
            .or_insert_with(|| (data.to_vec(), 0));
        entry.1 += 1;
    });
    (
        seen.into_inner().unwrap(),
        pass.errors.iter().map(ToString::to_string).collect(),
    )
}

/// One object of a pack, as `git verify-pack -v` lists it.
#[derive(Debug, Clone)]
pub struct PackRow {
    /// The object's id.
    pub id: String,
    /// `blob`, `tree`, `commit` or `tag`.
    pub kind: String,
    /// Bytes of its entry in the pack.
    pub in_pack: usize,
    /// Where its entry starts.
    pub offset: usize,
    /// The object it is a delta against, if it is one.
    pub base: Option<String>,
}

/// Every object of the repository's one pack, as `git verify-pack -v` lists it.
pub fn pack_rows(repo: &Path) -> Vec<PackRow> {
    let index = pack_index(repo);
    git(repo, &["verify-pack", "-v", &index.to_string_lossy()])
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() >= 5 && f[0].len() == 40)
        .map(|f| PackRow {
            id: f[0].to_string(),
            kind: f[1].to_string(),
            in_pack: f[3].parse().unwrap(),
            offset: f[4].parse().unwrap(),
            base: f.get(6).map(ToString::to_string),
        })
        .collect()
}

/// Rewrites the file at `path` (made writable first: git makes packs read-only) with `change`.
pub fn rewrite(path: &Path, change: impl FnOnce(&mut Vec<u8>)) {
    let mut permissions = std::fs::metadata(path).unwrap().permissions();
    #[allow(
        clippy::permissions_set_readonly_false,
        reason = "git makes packs read-only"
    )]
    permissions.set_readonly(false);
    std::fs::set_permissions(path, permissions).unwrap();
    let mut bytes = std::fs::read(path).unwrap();
    change(&mut bytes);
    std::fs::write(path, bytes).unwrap();
}

/// Checks that every blob of `expected` was either visited exactly once with its content, or
/// is named in one of `errors`: nothing lost in silence. Returns how many were visited.
pub fn each_blob_visited_or_named(
    expected: &std::collections::BTreeMap<String, Vec<u8>>,
    found: &Visited,
    errors: &[String],
) -> usize {
    let mut visited = 0;
    for (id, content) in expected {
        match found.get(id) {
            Some((read, visits)) => {
                assert_eq!(*visits, 1, "{id} visited once");
                assert!(read == content, "{id}: content differs from git's");
                visited += 1;
            }
            None => assert!(
                errors.iter().any(|e| e.contains(id.as_str())),
                "{id} neither visited nor named: {errors:#?}"
            ),
        }
    }
    for id in found.keys() {
        assert!(
            expected.contains_key(id),
            "{id} visited but not a blob of git's"
        );
    }
    visited
}

/// A zip holding `files` (name, contents), each deflated unless its name ends with `.stored`.
pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, contents) in files {
        let method = if name.ends_with(".stored") {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = SimpleFileOptions::default().compression_method(method);
        writer.start_file(*name, options).unwrap();
        writer.write_all(contents).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// A tar holding `files` (name, contents).
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, contents) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(contents.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, name, *contents).unwrap();
    }
    builder.into_inner().unwrap()
}

/// `bytes` gzip-compressed.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// `bytes` bzip2-compressed.
pub fn bzip2(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}
