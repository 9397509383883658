//! A git delta applied to a base, both from arbitrary bytes (the base's length as four bytes,
//! little-endian, then the base, then the delta): never a panic, and a result has exactly the
//! size the delta declares.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// The result size a delta declares: its second size varint.
fn declared_result(delta: &[u8]) -> Option<usize> {
    let mut sizes = [0usize; 2];
    let mut at = 0;
    for size in &mut sizes {
        let mut shift = 0;
        loop {
            let byte = *delta.get(at)?;
            at += 1;
            *size |= usize::from(byte & 0x7f).checked_shl(shift)?;
            shift += 7;
            if byte & 0x80 == 0 {
                break;
            }
        }
    }
    Some(sizes[1])
}

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (base, delta) = rest.split_at(len);
    if let Ok(out) = keyhound_sources::fuzzing::apply_delta(base, delta) {
        assert_eq!(Some(out.len()), declared_result(delta));
    }
});
