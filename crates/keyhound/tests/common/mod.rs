//! Shared helpers for the CLI tests: running the binary, temp trees, fake credentials.

use std::path::Path;
use std::process::{Command, Output, Stdio};

/// A `keyhound` command with colour and progress off.
pub fn keyhound() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_keyhound"));
    cmd.env("NO_COLOR", "1").stdin(Stdio::null());
    cmd
}

/// `keyhound scan` into a JSON report on stdout, secrets shown, no progress: put before a
/// test's own arguments.
pub const SCAN_JSON: [&str; 5] = ["scan", "-q", "-f", "json", "--show-secrets"];

/// Runs `keyhound` with `args` in `dir`.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    keyhound()
        .current_dir(dir)
        .args(args)
        .output()
        .expect("keyhound runs")
}

/// The process's exit code.
pub fn code(output: &Output) -> i32 {
    output.status.code().expect("exited normally")
}

/// Stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Writes `files` (relative path, contents) under `dir`, creating directories.
pub fn write_tree(dir: &Path, files: &[(&str, &str)]) {
    for (path, contents) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, contents).expect("write fixture");
    }
}

pub use keyhound_engine::fake::fake_string as random_string;

/// A fake GitHub classic PAT with a valid checksum.
pub fn github_pat(seed: u64) -> String {
    let payload = random_string(
        seed,
        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        30,
    );
    keyhound_engine::validate::crc32_base62_token("ghp_", &payload)
}

/// Parses a JSON report.
pub fn json(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

/// The finding of a JSON report (made with `--show-secrets`) whose secret is `secret`.
pub fn finding<'a>(report: &'a serde_json::Value, secret: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["secret"] == secret)
        .unwrap_or_else(|| panic!("no finding with that secret in {report}"))
}

/// The workspace's `testdata/` directory.
pub fn testdata() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata")
}

/// Runs `git` (tests only: the product reads repositories with gix) in `dir` with a fixed
/// identity and date, panicking on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_dated(dir, args, "2024-03-05T10:00:00Z")
}

/// [`git`] with the author and committer date `date`.
pub fn git_dated(dir: &Path, args: &[&str], date: &str) -> String {
    git_as(dir, args, ("Dana Deploy", "dana@ledger.invalid"), date)
}

/// [`git`] as `who` (name, email), author and committer, dated `date`.
pub fn git_as(dir: &Path, args: &[&str], who: (&str, &str), date: &str) -> String {
    let output = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", who.0)
        .env("GIT_AUTHOR_EMAIL", who.1)
        .env("GIT_COMMITTER_NAME", who.0)
        .env("GIT_COMMITTER_EMAIL", who.1)
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A new repository in `dir` with `main` as its first branch.
pub fn git_init(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
}

/// Writes `files` and commits them with `message`.
pub fn commit(dir: &Path, files: &[(&str, &str)], message: &str) -> String {
    write_tree(dir, files);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", message]);
    git(dir, &["rev-parse", "HEAD"])
}

/// [`commit`] as `who` (name, email), dated `date`; files given as `None` are removed.
pub fn commit_as(
    dir: &Path,
    files: &[(&str, Option<&str>)],
    message: &str,
    who: (&str, &str),
    date: &str,
) -> String {
    for (path, content) in files {
        match content {
            Some(content) => write_tree(dir, &[(path, content)]),
            None => std::fs::remove_file(dir.join(path)).expect("remove"),
        }
    }
    git_as(dir, &["add", "-A"], who, date);
    git_as(dir, &["commit", "-q", "-m", message], who, date);
    git(dir, &["rev-parse", "HEAD"])
}

/// [`commit`] dated `date` (commits one second apart, as real ones are, for range walks).
pub fn commit_dated(dir: &Path, files: &[(&str, &str)], message: &str, date: &str) -> String {
    write_tree(dir, files);
    git_dated(dir, &["add", "-A"], date);
    git_dated(dir, &["commit", "-q", "-m", message], date);
    git(dir, &["rev-parse", "HEAD"])
}
