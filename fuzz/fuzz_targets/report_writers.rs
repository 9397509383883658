//! libFuzzer entry for [`keyhound_fuzz::report_writers`]: the checks are in the library, which the stable
//! smoke test (`tests/smoke.rs`) runs too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyhound_fuzz::report_writers(data));
