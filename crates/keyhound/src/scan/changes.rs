//! `--staged` and `--since-commit`: scan the blobs a change brings, and keep only the secrets
//! it brings (not those a touched file already held).

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use keyhound_report::SkipReason;
use keyhound_sources::Excludes;
use keyhound_sources::git::{ChangedBlob, GitRepository, ObjectId};

use super::sink::{Matches, Pending, Scanner, Sink};

/// Drops the blobs whose paths `--exclude` matches, counting each as skipped.
pub(crate) fn drop_excluded(blobs: &mut Vec<ChangedBlob>, excludes: &Excludes, sink: &Sink) {
    blobs.retain(|blob| {
        let excluded = excludes.matches_relative(&blob.path);
        if excluded {
            sink.skip(SkipReason::Excluded, &blob.path, "excluded");
        }
        !excluded
    });
}

/// Scans `blobs` of `repo` (on the current rayon pool), each under its path, and returns the
/// matches whose secrets the blobs they replaced did not already hold.
pub(crate) fn scan_changes(
    scanner: &Scanner<'_>,
    repo: &GitRepository,
    blobs: &[ChangedBlob],
    max_file_size: Option<u64>,
) -> Vec<Pending> {
    let matches = Matches::default();
    let errors = repo.for_each_blob(blobs, &|blob, bytes| {
        if let Some(limit) = max_file_size.filter(|&l| bytes.len() as u64 > l) {
            let detail = format!("too large ({} bytes, the limit is {limit})", bytes.len());
            scanner.sink.skip(SkipReason::TooLarge, &blob.path, detail);
        } else {
            scanner.bytes(&blob.path, Some(blob.id), bytes, &matches);
        }
    });
    // One error per blob that could not be read; the message names it.
    for error in errors {
        let message = error.to_string();
        scanner.sink.unreadable(&message, message.clone());
    }
    drop_inherited(scanner, repo, blobs, matches.into_vec())
}

/// Drops the matches whose secret a blob's pre-image already held. Only pre-images of blobs
/// with matches are read.
fn drop_inherited(
    scanner: &Scanner<'_>,
    repo: &GitRepository,
    blobs: &[ChangedBlob],
    matches: Vec<Pending>,
) -> Vec<Pending> {
    let with_matches: HashSet<ObjectId> = matches.iter().filter_map(|p| p.blob).collect();
    let mut reader = repo.reader();
    let mut held: HashMap<ObjectId, Vec<PreImage>> = HashMap::new();
    for blob in blobs {
        if blob.replaced.is_empty() || !with_matches.contains(&blob.id) {
            continue;
        }
        let mut images = Vec::new();
        for &id in &blob.replaced {
            match reader.read(id, &blob.path) {
                Ok(bytes) => {
                    let mut found: HashMap<usize, HashSet<Vec<u8>>> = HashMap::new();
                    // Compared as scanned: UTF-16/32 text as the UTF-8 it decodes to.
                    let bytes: Rc<Vec<u8>> = match keyhound_sources::encoding::decode_text(&bytes) {
                        Some(decoded) => decoded.text.into_bytes().into(),
                        None => bytes,
                    };
                    for (rule, secret) in scanner.secrets(&bytes) {
                        found.entry(rule).or_default().insert(secret);
                    }
                    images.push(PreImage { bytes, found });
                }
                Err(e) => scanner.sink.error(e.to_string()),
            }
        }
        held.insert(blob.id, images);
    }
    matches
        .into_iter()
        .filter(|pending| {
            let images = pending.blob.and_then(|b| held.get(&b));
            !images
                .into_iter()
                .flatten()
                .any(|image| image.holds(pending))
        })
        .collect()
}

/// The content a changed blob replaced (as text, decoded like the scan decodes it), and the
/// secrets the engine finds in it, by rule.
struct PreImage {
    bytes: Rc<Vec<u8>>,
    found: HashMap<usize, HashSet<Vec<u8>>>,
}

impl PreImage {
    /// Whether the pending match's secret was already here: found by the same rule (decoded
    /// ones too), or present as is.
    fn holds(&self, pending: &Pending) -> bool {
        self.found
            .get(&pending.rule)
            .is_some_and(|secrets| secrets.contains(pending.secret.as_slice()))
            || (!pending.secret.is_empty()
                && memchr::memmem::find(&self.bytes, &pending.secret).is_some())
    }
}
