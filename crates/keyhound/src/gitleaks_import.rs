//! `keyhound rules import-gitleaks`.

use std::path::Path;
use std::process::ExitCode;

/// Runs the import.
pub fn run(_file: &Path, _output: &Path, _config_out: Option<&Path>) -> anyhow::Result<ExitCode> {
    anyhow::bail!("import-gitleaks: not built yet")
}
