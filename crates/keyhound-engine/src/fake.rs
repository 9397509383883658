//! Deterministic fake values for fixtures, tests and benches. Never real credentials: they only
//! have the shape (alphabet, length, checksum) of one, so the engine's filters treat them as
//! real.

/// A deterministic pseudo-random string of `len` characters over `alphabet` (xorshift64: no
/// entropy source needed, and the same `seed` always gives the same string).
pub fn fake_string(seed: u64, alphabet: &[u8], len: usize) -> String {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            alphabet[(state % alphabet.len() as u64) as usize] as char
        })
        .collect()
}
