//! The repository a scan ran in, for SARIF: its root, remote URL, HEAD commit and branch.
//! Read with gix.

use std::path::Path;

use keyhound_report::{SarifRun, VersionControl};

/// The SARIF run facts for a scan of `path`: when it is inside a git working tree, that tree's
/// root as `%SRCROOT%` and the repository's state; otherwise nothing (paths stay as given).
pub fn sarif_run(path: &Path) -> SarifRun {
    let Ok(base_dir) = std::env::current_dir() else {
        return SarifRun::default();
    };
    let Ok(repo) = gix::discover(path) else {
        return SarifRun::default();
    };
    let Some(root) = repo.workdir().and_then(|w| std::path::absolute(w).ok()) else {
        return SarifRun::default();
    };
    let revision_id = repo.head_id().ok().map(|id| id.to_string());
    let branch = repo
        .head_name()
        .ok()
        .flatten()
        .map(|name| name.shorten().to_string());
    let remote = repo
        .remote_default_name(gix::remote::Direction::Fetch)
        .and_then(|name| repo.find_remote(&*name).ok());
    let repository_uri = remote
        .as_ref()
        .and_then(|r| r.url(gix::remote::Direction::Fetch))
        .map(|url| public_url(url.clone()));
    SarifRun {
        src_root: Some(root),
        base_dir: Some(base_dir),
        version_control: repository_uri.map(|repository_uri| VersionControl {
            repository_uri,
            revision_id,
            branch,
        }),
        category: None,
    }
}

/// `url` as a URI without credentials: user and password dropped, `scp`-like forms
/// (`git@host:owner/repo`) written as `ssh://host/owner/repo`, a trailing `.git` kept.
fn public_url(mut url: gix::Url) -> String {
    url.set_user(None);
    url.set_password(None);
    let Some(host) = url.host() else {
        return url.to_bstring().to_string();
    };
    let port = url.port.map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path.to_string();
    format!(
        "{}://{host}{port}/{}",
        url.scheme.as_str(),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_their_credentials() {
        let url = |s: &str| public_url(gix::Url::from_bytes(s.into()).expect("a URL"));
        assert_eq!(
            url("https://user:hunter2@git.example.invalid/acme/ledger.git"),
            "https://git.example.invalid/acme/ledger.git"
        );
        assert_eq!(
            url("git@git.example.invalid:acme/ledger.git"),
            "ssh://git.example.invalid/acme/ledger.git"
        );
    }
}
