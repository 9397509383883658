//! The progress bar on stderr, shown only once a scan has taken a moment.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// Scans shorter than this never show a progress bar.
const PROGRESS_DELAY: Duration = Duration::from_millis(300);

/// A progress bar on stderr that appears only once a scan has taken a moment.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    /// Files scanned so far, shown by the bar's `{files}` key.
    files: Arc<AtomicU64>,
    start: Instant,
    shown: AtomicBool,
}

impl Progress {
    pub(crate) fn new(enabled: bool) -> Self {
        let files = Arc::new(AtomicU64::new(0));
        let bar = enabled.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
            let counted = Arc::clone(&files);
            if let Ok(style) = ProgressStyle::with_template(
                "{spinner} {files} files, {bytes} scanned ({bytes_per_sec}) {elapsed} {msg}",
            ) {
                bar.set_style(style.with_key(
                    "files",
                    move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let _ = write!(w, "{}", counted.load(Ordering::Relaxed));
                    },
                ));
            }
            bar
        });
        Self {
            bar,
            files,
            start: Instant::now(),
            shown: AtomicBool::new(false),
        }
    }

    /// One more file of `bytes` scanned.
    pub(crate) fn advance(&self, bytes: u64) {
        let Some(bar) = &self.bar else { return };
        self.files.fetch_add(1, Ordering::Relaxed);
        bar.inc(bytes);
        if !self.shown.load(Ordering::Relaxed)
            && self.start.elapsed() > PROGRESS_DELAY
            && !self.shown.swap(true, Ordering::Relaxed)
        {
            bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
            bar.enable_steady_tick(Duration::from_millis(100));
        }
    }

    /// Names the stage the scan is in, after the counts.
    pub(crate) fn stage(&self, what: &'static str) {
        if let Some(bar) = &self.bar {
            bar.set_message(what);
        }
    }

    /// Runs `f` (which prints to stderr) with the bar out of the way.
    pub(crate) fn suspend(&self, f: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Wall-clock and process CPU time since a start, for `--stats`: on a shared machine the
/// CPU time says what a phase cost when the wall clock cannot.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PhaseClock {
    wall: Instant,
    cpu: Option<Duration>,
}

/// What one phase took.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PhaseTime {
    pub wall: Duration,
    /// Process CPU time (all threads, user and system); `None` where it cannot be read.
    pub cpu: Option<Duration>,
}

impl PhaseClock {
    pub(crate) fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: process_cpu_time(),
        }
    }

    /// The time since the start.
    pub(crate) fn elapsed(&self) -> PhaseTime {
        PhaseTime {
            wall: self.wall.elapsed(),
            cpu: process_cpu_time()
                .zip(self.cpu)
                .map(|(now, then)| now.saturating_sub(then)),
        }
    }
}

impl std::fmt::Display for PhaseTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.3} s", self.wall.as_secs_f64())?;
        if let Some(cpu) = self.cpu {
            write!(f, " (CPU {:.2} s)", cpu.as_secs_f64())?;
        }
        Ok(())
    }
}

/// The CPU time of this process so far, user and system, from `/proc/self/stat` (Linux; the
/// kernel counts it in clock ticks, 100 a second on every Linux architecture's default).
fn process_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name, in parentheses, may hold spaces: fields are counted after it.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}
