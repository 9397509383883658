//! The checks of keyhound's fuzz targets, one function per target, each taking the fuzzer's
//! bytes. Each checks what must hold of the result, not only that nothing panics; a failed
//! check panics, which libFuzzer reports as a crash.
//!
//! The binaries in `fuzz_targets/` hand these functions to libFuzzer (`cargo +nightly fuzz run
//! TARGET`); `tests/smoke.rs` runs them on stable over the seeds of [`seeds`] and mutations of
//! them, so CI exercises every target without nightly or libFuzzer.

mod decoders;
mod git_objects;
mod inputs;
mod prefilter;
mod report_writers;
mod rules;
pub mod seeds;
mod text_inputs;

pub use decoders::decoders;
pub use git_objects::{delta_apply, loose_object, pack_entry};
pub use prefilter::prefilter_differential;
pub use report_writers::report_writers;
pub use rules::{engine_full_ruleset, rule_loader};
pub use text_inputs::{codeowners, config};

/// A target's checks, given the fuzzer's bytes.
pub type Check = fn(&[u8]);

/// Every target by name, as in `Cargo.toml`, with its function.
pub const TARGETS: [(&str, Check); 10] = [
    ("prefilter_differential", prefilter_differential),
    ("pack_entry", pack_entry),
    ("delta_apply", delta_apply),
    ("loose_object", loose_object),
    ("rule_loader", rule_loader),
    ("engine_full_ruleset", engine_full_ruleset),
    ("decoders", decoders),
    ("codeowners", codeowners),
    ("config", config),
    ("report_writers", report_writers),
];
