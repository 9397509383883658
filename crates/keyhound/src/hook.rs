//! `keyhound hook install`: a git pre-commit hook that blocks commits adding secrets.

use std::process::ExitCode;

use anyhow::{Context, bail};
use keyhound_sources::git::GitRepository;

use crate::cli::HookCommand;

/// The hook script: scans the staged files; a non-zero exit blocks the commit.
const HOOK: &str = "#!/bin/sh\n\
# Installed by `keyhound hook install`: blocks commits that add secrets.\n\
exec keyhound scan --staged --quiet\n";

/// Runs a `hook` subcommand.
pub fn run(command: &HookCommand) -> anyhow::Result<ExitCode> {
    match command {
        HookCommand::Install { force } => install(*force),
    }
}

fn install(force: bool) -> anyhow::Result<ExitCode> {
    let repo = GitRepository::discover(std::path::Path::new("."))?;
    let hooks = repo.hooks_dir()?;
    let path = hooks.join("pre-commit");
    if path.exists() && !force {
        bail!(
            "{}: a pre-commit hook already exists; run `keyhound hook install --force` to replace it",
            path.display()
        );
    }
    std::fs::create_dir_all(&hooks)
        .with_context(|| format!("{}: cannot create", hooks.display()))?;
    std::fs::write(&path, HOOK).with_context(|| format!("{}: cannot write", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .with_context(|| format!("{}: cannot make executable", path.display()))?;
    }
    eprintln!("keyhound: installed {}", path.display());
    Ok(ExitCode::SUCCESS)
}
