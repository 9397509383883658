//! The object databases a repository borrows from: `objects/info/alternates`.
//!
//! A repository made by `git clone --shared` (or `--reference`) holds few objects of its own:
//! its `objects/info/alternates` file names other object directories, one a line, whose packs
//! and loose objects are part of its database. Alternates may have alternates of their own;
//! relative paths are relative to the object directory whose file names them. Lines starting
//! with `#` are comments; a line in double quotes is C-quoted, as git writes paths with unusual
//! bytes.

use std::path::{Path, PathBuf};

/// Alternates followed from the repository's own object directory before giving up (git's
/// limit too).
const MAX_DEPTH: usize = 5;

/// An alternate object directory that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum AlternatesError {
    /// An alternates file exists but cannot be read.
    #[error("{}: cannot be read: {source}", path.display())]
    Read {
        /// The alternates file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An alternates file names a directory that does not exist.
    #[error("{}: names {}, which is not a directory", file.display(), dir.display())]
    Missing {
        /// The alternates file.
        file: PathBuf,
        /// The directory it names.
        dir: PathBuf,
    },
    /// Alternates nest deeper than git follows.
    #[error("{}: alternates nest more than {MAX_DEPTH} deep", file.display())]
    TooDeep {
        /// The alternates file not followed.
        file: PathBuf,
    },
}

impl AlternatesError {
    /// The file (or directory) the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Self::Read { path, .. } => path,
            Self::Missing { dir, .. } => dir,
            Self::TooDeep { file } => file,
        }
    }
}

/// The object directory `objects`, then every alternate it borrows from, depth first and each
/// once; with the alternates that could not be used.
pub(crate) fn object_dirs(objects: &Path) -> (Vec<PathBuf>, Vec<AlternatesError>) {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut seen: Vec<PathBuf> = Vec::new();
    let mut errors = Vec::new();
    let mut pending = vec![(objects.to_path_buf(), 0usize)];
    while let Some((dir, depth)) = pending.pop() {
        let canonical = dir.canonicalize().unwrap_or_else(|_| dir.clone());
        if seen.contains(&canonical) {
            continue;
        }
        seen.push(canonical);
        let file = dir.join("info").join("alternates");
        dirs.push(dir.clone());
        let listed = match std::fs::read(&file) {
            Ok(listed) => listed,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                errors.push(AlternatesError::Read { path: file, source });
                continue;
            }
        };
        let named = parse_alternates(&listed);
        if !named.is_empty() && depth >= MAX_DEPTH {
            errors.push(AlternatesError::TooDeep { file });
            continue;
        }
        // Pushed in reverse, so they are taken in the order the file lists them.
        for path in named.into_iter().rev() {
            let alternate = dir.join(path);
            if alternate.is_dir() {
                pending.push((alternate, depth + 1));
            } else {
                errors.push(AlternatesError::Missing {
                    file: file.clone(),
                    dir: alternate,
                });
            }
        }
    }
    (dirs, errors)
}

/// The paths an alternates file lists: one a line, comments and blank lines left out, quoted
/// lines unquoted.
pub(crate) fn parse_alternates(listed: &[u8]) -> Vec<PathBuf> {
    listed
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty() && !line.starts_with(b"#"))
        .map(|line| {
            let bytes = match line.strip_prefix(b"\"").and_then(|l| l.strip_suffix(b"\"")) {
                Some(quoted) => unquote(quoted),
                None => line.to_vec(),
            };
            path_from_bytes(bytes)
        })
        .collect()
}

/// Undoes git's C-style quoting: `\\`, `\"`, `\n`, `\t` and three-digit octal escapes.
fn unquote(quoted: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(quoted.len());
    let mut bytes = quoted.iter().copied().peekable();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b't') => out.push(b'\t'),
            Some(d @ b'0'..=b'3') => {
                let mut value = u32::from(d - b'0');
                for _ in 0..2 {
                    match bytes.peek() {
                        Some(&o @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(o - b'0');
                            bytes.next();
                        }
                        _ => break,
                    }
                }
                out.push(value as u8);
            }
            Some(other) => out.push(other),
            None => out.push(b'\\'),
        }
    }
    out
}

#[cfg(unix)]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::{AlternatesError, object_dirs, parse_alternates};
    use std::path::PathBuf;

    #[test]
    fn lists_paths_skipping_comments_and_unquoting() {
        let listed =
            b"# shared\n/srv/a/objects\n\n../../b/objects\r\n\"/srv/with\\040space\\\"q\"\n";
        assert_eq!(
            parse_alternates(listed),
            [
                PathBuf::from("/srv/a/objects"),
                PathBuf::from("../../b/objects"),
                PathBuf::from("/srv/with space\"q"),
            ]
        );
    }

    #[test]
    fn follows_nested_relative_alternates_once_each_and_reports_missing_ones() {
        let root = tempfile::tempdir().expect("temp dir");
        let dir = |name: &str| {
            let d = root.path().join(name).join("objects");
            std::fs::create_dir_all(d.join("info")).expect("objects dir");
            d
        };
        let (own, first, second) = (dir("own"), dir("first"), dir("second"));
        std::fs::write(
            own.join("info/alternates"),
            "../../first/objects\n../../gone/objects\n",
        )
        .expect("write alternates");
        // A cycle back to the repository itself is followed once.
        std::fs::write(
            first.join("info/alternates"),
            format!("{}\n{}\n", second.display(), own.display()),
        )
        .expect("write alternates");
        let (dirs, errors) = object_dirs(&own);
        assert_eq!(dirs, [own.clone(), own.join("../../first/objects"), second]);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            matches!(&errors[0], AlternatesError::Missing { dir, .. } if dir.ends_with("gone/objects")),
            "{}",
            errors[0]
        );
    }
}
