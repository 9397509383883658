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

/// The rules-file text (TOML) of one fixture rule `id`: keyword `keyword`, then a secret of 24
/// ASCII letters and digits (the `secret` group), with an example and a negative example.
pub fn fake_rule_toml(id: &str, keyword: &str) -> String {
    format!(
        r#"
[[rule]]
id = "{id}"
name = "Test key"
provider = "Test"
kind = "api-key"
keywords = ["{keyword}"]
pattern = '''{keyword}(?P<secret>[A-Za-z0-9]{{24}})'''
confidence = "high"
severity = "high"
privilege = "scoped"
lifetime = "static"
rotation = {{ url = "https://example.invalid/rotate", max_age_days = 90 }}
examples = ['{keyword}Q7w9E2r4T6y8U1i3O5p7A9s2']
negative_examples = ['{keyword}short']
"#
    )
}
