//! A pack entry (header and compressed data) from arbitrary bytes: never a panic, and what
//! decodes has exactly the size its header declares.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((declared, inflated)) = keyhound_sources::fuzzing::pack_entry(data) {
        assert_eq!(inflated.len() as u64, declared);
    }
});
