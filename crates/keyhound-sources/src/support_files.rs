//! Files the scan reads for itself rather than as inputs (ignore files, CODEOWNERS): only when
//! they are regular files, never waiting on a FIFO, and up to a bound.

use std::io::{self, Read};
use std::path::Path;

/// The bytes of `path`, a file the scan reads for itself (an ignore file, CODEOWNERS); `None`
/// when there is none. Anything but a regular file is an error, found before it is opened
/// (opening a FIFO would wait for a writer, opening a device may act on it) and again on the
/// file opened (without waiting), in case it was swapped in between; so is a file of more
/// than `max` bytes.
pub fn read_support_file(path: &Path, max: u64) -> io::Result<Option<Vec<u8>>> {
    let none_if_missing = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => Ok(None),
        _ => Err(e),
    };
    match std::fs::metadata(path) {
        Ok(meta) => regular(&meta)?,
        Err(e) => return none_if_missing(e),
    }
    let file = match open_without_waiting(path) {
        Ok(file) => file,
        Err(e) => return none_if_missing(e),
    };
    regular(&file.metadata()?)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::other(format!("larger than {max} bytes")));
    }
    Ok(Some(bytes))
}

/// An error unless `meta` is a regular file's, naming what it is instead.
fn regular(meta: &std::fs::Metadata) -> io::Result<()> {
    if meta.is_file() {
        return Ok(());
    }
    Err(io::Error::other(format!(
        "not a regular file ({})",
        kind_of(&meta.file_type())
    )))
}

/// What a file that is not a regular file is, in words.
fn kind_of(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_socket() {
            return "a socket";
        }
        if kind.is_block_device() || kind.is_char_device() {
            return "a device";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "neither a file nor a directory"
    }
}

/// Opens `path` for reading without waiting for a FIFO's writer (`O_NONBLOCK` on Unix; it
/// changes nothing for a regular file).
pub(crate) fn open_without_waiting(path: &Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}
