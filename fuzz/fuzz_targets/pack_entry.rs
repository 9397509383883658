//! libFuzzer entry for [`keyhound_fuzz::pack_entry`]: the checks are in the library, which the stable
//! smoke test (`tests/smoke.rs`) runs too.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyhound_fuzz::pack_entry(data));
