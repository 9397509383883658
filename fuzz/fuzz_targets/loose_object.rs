//! A loose object file from arbitrary bytes: never a panic, and content that reads has exactly
//! the size its header declares.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((_, declared, content)) = keyhound_sources::fuzzing::loose_object(data) {
        assert_eq!(content.len() as u64, declared);
    }
});
