//! Command-line interface definition.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use keyhound_rules::Severity;

/// Find exposed secrets (API keys, tokens, private keys, passwords) in files.
///
/// Exit codes: 0 no findings, 1 findings, 2 error.
#[derive(Debug, Parser)]
#[command(name = "keyhound", version, about, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files and directories (or `-` for stdin) for secrets.
    Scan(Box<ScanArgs>),
    /// List or check detection rules.
    Rules {
        /// What to do with the rules.
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Manage the git pre-commit hook.
    Hook {
        /// What to do with the hook.
        #[command(subcommand)]
        command: HookCommand,
    },
    /// Record today's findings as known, so `scan --baseline` fails only on new ones.
    Baseline {
        /// What to do with baselines.
        #[command(subcommand)]
        command: BaselineCommand,
    },
    /// Write or check a `.keyhound.toml` configuration file.
    Config {
        /// What to do with the configuration.
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

/// `keyhound baseline ...`.
#[derive(Debug, Subcommand)]
pub enum BaselineCommand {
    /// Scan like `keyhound scan` (same options) and write the findings' fingerprints, rule
    /// ids and first paths (never the secrets) to the file given with `-o`.
    Create(Box<ScanArgs>),
}

/// `keyhound config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Write a commented starting `.keyhound.toml`.
    Init {
        /// Where to write it.
        #[arg(short, long, value_name = "FILE", default_value = ".keyhound.toml")]
        output: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Validate a configuration file and print what it sets. Without FILE, the one `scan`
    /// would use for the current directory.
    Check {
        /// The file to check.
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
}

/// `keyhound hook ...`.
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Write a pre-commit hook that runs `keyhound scan --staged` into the repository holding
    /// the current directory.
    Install {
        /// Replace an existing pre-commit hook.
        #[arg(long)]
        force: bool,
    },
}

/// When to colour human output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// When writing to a terminal and NO_COLOR is unset.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Readable report for terminals.
    Human,
    /// One JSON document.
    Json,
    /// One JSON finding per line.
    Jsonl,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
}

/// Options shared by commands that load rules.
#[derive(Debug, Clone, Args)]
pub struct RuleArgs {
    /// Add the rules of this TOML file (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,
    /// Use only the rules from --rules, not the built-in ones.
    #[arg(long)]
    pub no_builtin_rules: bool,
}

/// `keyhound scan`.
#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads stdin. Defaults to the current directory.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Report format.
    #[arg(short, long, value_enum, default_value = "human")]
    pub format: FormatArg,
    /// Write the report to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Show secrets in full instead of redacted.
    #[arg(long)]
    pub show_secrets: bool,
    /// Worker threads (0: one per CPU).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Rules to load.
    #[command(flatten)]
    pub rules: RuleArgs,
    /// Skip paths matching this gitignore-style glob (repeatable); in git history, the path a
    /// secret entered under.
    #[arg(long = "exclude", value_name = "GLOB")]
    pub excludes: Vec<String>,
    /// Skip files larger than this (`512K`, `64M`, `2G`; `0` for no limit).
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = parse_size)]
    pub max_file_size: u64,
    /// Stop scanning an input once it has taken this many seconds (`0.5` allowed) for each
    /// 64 MiB of it; a file too large to hold (over 64 MiB) gets it for each part scanned at
    /// once (32 MiB a thread). Its findings so far are kept; it is named on stderr and
    /// counted as skipped (`time_budget`). Inputs take well under a second per 64 MiB, the
    /// worst ones found a few: the limit is for pathological input. `0` for no limit.
    #[arg(long, value_name = "SECS", default_value = "60", value_parser = parse_seconds)]
    pub input_time_budget: Duration,
    /// Skip files and blobs that look binary (a NUL byte in their first 8 KiB, and not UTF-16
    /// or UTF-32 text); by default they are scanned, as keys end up in compiled binaries,
    /// `.class` and `.pyc` files. Each one skipped is counted in the summary.
    #[arg(long)]
    pub skip_binary: bool,
    /// Respect .gitignore and .ignore files (by default ignored files such as .env are scanned).
    #[arg(long)]
    pub gitignore: bool,
    /// Follow symbolic links.
    #[arg(long)]
    pub follow_symlinks: bool,
    /// In a git repository, scan the working tree's files only, not the history.
    #[arg(long)]
    pub no_history: bool,
    /// Scan only what is staged in the index of the repository holding PATH (default `.`):
    /// the pre-commit check. Line numbers are those of the staged files; secrets a file
    /// already held at HEAD are not reported again.
    #[arg(long, conflicts_with_all = ["no_history", "branch"])]
    pub staged: bool,
    /// In a git repository, scan only what the commits after REV introduced (the CI check of
    /// a push or pull request), e.g. `--since-commit origin/main`. Secrets a changed file
    /// already held before are not reported again.
    #[arg(long, value_name = "REV", conflicts_with_all = ["no_history", "staged"])]
    pub since_commit: Option<String>,
    /// In a git repository, walk only the history reachable from this ref (default: every ref).
    #[arg(long, value_name = "REF")]
    pub branch: Option<String>,
    /// History scans: judge exposure and offboarding as of this date (YYYY-MM-DD) instead of
    /// the newest commit of the scanned refs
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<i64>,
    /// NHI1: an author with no commit in this many days before the newest commit has left
    /// (default: the config file's `nhi.offboarding_days`, else 180)
    #[arg(long, value_name = "DAYS")]
    pub offboarding_days: Option<u32>,

    /// Do not decode and rescan encoded text (base64, hex, percent-encoding, string escapes).
    #[arg(long)]
    pub no_decode: bool,
    /// Do not open archives (zip, jar, war, ear, apk, whl, nupkg, tar, tar.gz, gz, bz2): scan
    /// them as plain files (binary ones are skipped). By default their members are scanned,
    /// named `archive.zip!path/in/zip`, nested up to 3 deep.
    #[arg(long)]
    pub no_archives: bool,
    /// No progress bar and no summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// List on stderr every file and blob left unscanned, with the reason (the report's
    /// summary counts them by reason in any case).
    #[arg(short, long)]
    pub verbose: bool,
    /// Print how long each phase of the scan took on stderr (for a history: the blob pass
    /// and the lifecycle walk)
    #[arg(long)]
    pub stats: bool,
    /// History scans: also check each pack's trailing checksum (a second read of every pack)
    #[arg(long)]
    pub verify_pack: bool,
    /// History scans: hash every blob read and check it against its id
    #[arg(long)]
    pub verify_objects: bool,
    /// When to colour human output.
    #[arg(long, value_enum, default_value = "auto")]
    pub color: ColorChoice,
    /// Read this configuration file instead of looking for `.keyhound.toml` at the scanned
    /// root and at the repository's root.
    #[arg(long, value_name = "FILE", conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Use no configuration file.
    #[arg(long)]
    pub no_config: bool,
    /// Report (and fail on) only findings that are not in this baseline (made by `keyhound
    /// baseline create`); overrides the configuration's `baseline`.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// With a baseline, report the known findings too (SARIF `baselineState: unchanged`;
    /// new ones are `new`); only new ones make the exit code 1.
    #[arg(long)]
    pub baseline_include_known: bool,
    /// Exit 1 only for findings of this severity or above (low, medium, high, critical);
    /// overrides the configuration's `fail_on`. Every finding is still reported.
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// List on stderr what `keyhound:allow` comments and the configuration's allowlist kept
    /// out of the report, and why (SARIF: as suppressed results).
    #[arg(long)]
    pub report_allowed: bool,
    /// SARIF `automationDetails.id`: the category that keeps this analysis apart from others
    /// of the same tool in code scanning (e.g. `secrets/history`).
    #[arg(long, value_name = "CATEGORY")]
    pub sarif_category: Option<String>,
    /// Set by `keyhound baseline create`: write a baseline to `--output` instead of a report.
    #[arg(skip)]
    pub create_baseline: bool,
}

/// `keyhound rules ...`.
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// List the rules.
    List {
        /// Rules to load.
        #[command(flatten)]
        rules: RuleArgs,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Validate rule files with the real engine: ids unique, patterns compile, every example
    /// matches, no negative example matches, every rule has a keyword or a waiver. Checks the
    /// built-in rules when no file is given.
    Check {
        /// Rule files to check.
        #[arg(value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Convert a gitleaks configuration's custom rules and allowlists into a keyhound rules
    /// file (use it with `--rules` or the configuration's `rules`), naming on stderr each
    /// construct that cannot be carried over.
    ImportGitleaks {
        /// The gitleaks configuration (`.gitleaks.toml`).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Where to write the keyhound rules.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Where to write the allowlists and rule path limits, as `.keyhound.toml` keys
        /// (default: print them on stdout, to paste into the configuration).
        #[arg(long, value_name = "FILE")]
        config_out: Option<PathBuf>,
    },
}

/// Parses a severity name: low, medium, high, critical.
pub fn parse_severity(text: &str) -> Result<Severity, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "low" => Ok(Severity::Low),
        "medium" => Ok(Severity::Medium),
        "high" => Ok(Severity::High),
        "critical" => Ok(Severity::Critical),
        _ => Err(format!(
            "`{text}` is not a severity (low, medium, high, critical)"
        )),
    }
}

/// Parses `YYYY-MM-DD` as the end of that day, UTC, in seconds since the Unix epoch.
pub fn parse_date(text: &str) -> Result<i64, String> {
    let bad = || format!("`{text}` is not a date (use YYYY-MM-DD)");
    let mut parts = text.trim().splitn(3, '-');
    let mut next = |range: std::ops::RangeInclusive<i64>| {
        parts
            .next()
            .and_then(|p| p.parse::<i64>().ok())
            .filter(|v| range.contains(v))
            .ok_or_else(bad)
    };
    let (year, month, day) = (next(1970..=9999)?, next(1..=12)?, next(1..=31)?);
    // Days from civil date, after Howard Hinnant's `days_from_civil`.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(days * 86_400 + 86_399)
}

/// Parses a number of seconds, fractions allowed (`60`, `0.5`).
pub fn parse_seconds(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    text.parse::<f64>()
        .ok()
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .ok_or_else(|| format!("`{text}` is not a number of seconds (try 60 or 0.5)"))
}

/// Parses `123`, `512K`, `64M`, `2G` (powers of 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let value: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size (try 512K, 64M, 2G)"))?;
    let shift = match unit.to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        _ => return Err(format!("`{text}` has an unknown unit (use K, M or G)")),
    };
    value
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("`{text}` is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("0"), Ok(0));
        assert_eq!(parse_size("512K"), Ok(512 * 1024));
        assert_eq!(parse_size("64m"), Ok(64 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert!(parse_size("12Q").is_err());
        assert!(parse_size("M").is_err());
    }

    #[test]
    fn seconds_parse_with_fractions() {
        assert_eq!(parse_seconds("60"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_seconds(" 0.25"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_seconds("0"), Ok(Duration::ZERO));
        for bad in ["-1", "NaN", "inf", "1e400", "5s", ""] {
            assert!(parse_seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn dates_parse_as_the_end_of_the_day_utc() {
        assert_eq!(parse_date("1970-01-01"), Ok(86_399));
        assert_eq!(parse_date("2000-03-01"), Ok(951_868_800 + 86_399));
        assert!(parse_date("2026-13-01").is_err());
        assert!(parse_date("yesterday").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
