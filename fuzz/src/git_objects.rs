//! The readers of git's object formats: pack entries, deltas and loose objects from arbitrary
//! bytes. Never a panic, and whatever reads has exactly the size it declares.

/// A pack entry (header and compressed data): what decodes has its header's size.
pub fn pack_entry(data: &[u8]) {
    if let Ok((declared, inflated)) = keyhound_sources::fuzzing::pack_entry(data) {
        assert_eq!(inflated.len() as u64, declared);
    }
}

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

/// A delta applied to a base (the base's length as four little-endian bytes, the base, the
/// delta): a result has exactly the size the delta declares.
pub fn delta_apply(data: &[u8]) {
    let Some((len, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let len = (u32::from_le_bytes(*len) as usize).min(rest.len());
    let (base, delta) = rest.split_at(len);
    if let Ok(out) = keyhound_sources::fuzzing::apply_delta(base, delta) {
        assert_eq!(Some(out.len()), declared_result(delta));
    }
}

/// A loose object file: content that reads has exactly the size its header declares.
pub fn loose_object(data: &[u8]) {
    if let Ok((_, declared, content)) = keyhound_sources::fuzzing::loose_object(data) {
        assert_eq!(content.len() as u64, declared);
    }
}
