//! Report and baseline files, written atomically: into a temporary file beside the target
//! (mode 0600 on unix: a report may hold secrets with `--show-secrets`, and always holds where
//! they are), flushed to disk, then renamed over the target. A reader never sees half a
//! report, a failed write leaves the previous file as it was, and no partial file is left.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Writes `path` with what `write` writes, atomically. A target that exists but is not a
/// regular file (`/dev/stdout`, a FIFO, a terminal) cannot be replaced: it is written in place.
/// A symbolic link stays one: the file it points to is replaced (a dangling one is replaced).
pub(crate) fn write_file<E: From<io::Error>>(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> Result<(), E>,
) -> Result<(), E> {
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            // A dangling link is replaced by the report.
            resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
            resolved.as_path()
        }
        _ => path,
    };
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(io::Error::new(io::ErrorKind::IsADirectory, "is a directory").into());
        }
        Ok(meta) if !meta.is_file() => {
            let mut out = BufWriter::new(OpenOptions::new().write(true).open(path)?);
            write(&mut out)?;
            return Ok(out.flush()?);
        }
        _ => {}
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let temp = TempFile::create(dir, &name.to_string_lossy())?;
    let mut out = BufWriter::new(&temp.file);
    write(&mut out)?;
    out.flush()?;
    drop(out);
    temp.file.sync_all()?;
    std::fs::rename(&temp.path, path)?;
    temp.disarm();
    // The rename itself is durable once the directory is synced; not every system allows it.
    if let Ok(dir) = File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// A new file beside the target, removed when dropped unless disarmed.
struct TempFile {
    path: PathBuf,
    file: File,
    armed: bool,
}

impl TempFile {
    /// Creates `.NAME.PID.N.tmp` in `dir` (the first N free), readable by its owner only.
    fn create(dir: &Path, name: &str) -> io::Result<Self> {
        let pid = std::process::id();
        let mut attempt = 0u32;
        loop {
            let path = dir.join(format!(".{name}.{pid}.{attempt}.tmp"));
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(&path) {
                Ok(file) => {
                    return Ok(Self {
                        path,
                        file,
                        armed: true,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Keeps the file: it has been renamed into place.
    fn disarm(mut self) {
        self.armed = false;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if self.armed {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("report.json");
        std::fs::write(&target, "old").expect("write");
        let failed = write_file(&target, |out| {
            out.write_all(b"half a rep")?;
            Err(io::Error::other("the writer failed"))
        });
        assert_eq!(
            failed.map_err(|e| e.to_string()),
            Err("the writer failed".to_string())
        );
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["report.json"]);
    }

    #[test]
    fn the_new_file_replaces_the_old_one_with_mode_0600() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("report.json");
        std::fs::write(&target, "old").expect("write");
        write_file::<io::Error>(&target, |out| out.write_all(b"new")).expect("written");
        assert_eq!(std::fs::read_to_string(&target).expect("read"), "new");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&target)
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(dir.path()).expect("list").count(), 1);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("report.json", dir.path().join("latest.json"))
                .expect("link");
            write_file::<io::Error>(&dir.path().join("latest.json"), |out| {
                out.write_all(b"newer")
            })
            .expect("written");
            let link = std::fs::symlink_metadata(dir.path().join("latest.json")).expect("meta");
            assert!(link.file_type().is_symlink(), "the link stays a link");
            assert_eq!(std::fs::read_to_string(&target).expect("read"), "newer");
            std::fs::remove_file(dir.path().join("latest.json")).expect("remove");
        }
        let into_dir = write_file::<io::Error>(dir.path(), |out| out.write_all(b"x"));
        assert_eq!(
            into_dir.map_err(|e| e.kind()),
            Err(io::ErrorKind::IsADirectory)
        );
    }
}
