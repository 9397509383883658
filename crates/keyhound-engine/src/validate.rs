//! Offline checks on a candidate secret: published checksums, structure, entropy and placeholders.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use keyhound_rules::Validator;

/// Whether `secret` passes `validator`.
pub fn passes(validator: Validator, secret: &[u8]) -> bool {
    match validator {
        Validator::Crc32Base62 => crc32_base62(secret),
        Validator::Jwt => jwt(secret),
        Validator::Base64 => decode_standard(secret).is_some(),
        Validator::GcpServiceAccountBase64 => gcp_service_account_base64(secret),
        Validator::HasDigit => secret.iter().any(u8::is_ascii_digit),
        Validator::HasDigitOrSymbol => secret
            .iter()
            .any(|b| b.is_ascii_digit() || b"!#%&*+=?@^~$".contains(b)),
        Validator::Bech32 => bech32(secret),
    }
}

/// The Bech32 data alphabet (BIP-173), in value order.
const BECH32: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// The BIP-173 checksum state after `values`.
fn bech32_polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GEN: [u32; 5] = [
        0x3b6a_57b2,
        0x2650_8e6d,
        0x1ea1_19fa,
        0x3d42_33dd,
        0x2a14_62b3,
    ];
    let mut chk: u32 = 1;
    for v in values {
        let top = chk >> 25;
        chk = ((chk & 0x01ff_ffff) << 5) ^ u32::from(v);
        for (i, g) in GEN.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                chk ^= g;
            }
        }
    }
    chk
}

/// Whether `secret` is a Bech32 string (BIP-173: human-readable part, `1`, data of at least six
/// characters ending in the checksum) in one case, with a valid checksum. No length limit:
/// age identities are longer than BIP-173's 90 characters.
pub fn bech32(secret: &[u8]) -> bool {
    let has_upper = secret.iter().any(u8::is_ascii_uppercase);
    let has_lower = secret.iter().any(u8::is_ascii_lowercase);
    if has_upper && has_lower {
        return false;
    }
    let Some(sep) = secret.iter().rposition(|&b| b == b'1') else {
        return false;
    };
    let (hrp, data) = (&secret[..sep], &secret[sep + 1..]);
    if hrp.is_empty() || data.len() < 6 || !hrp.iter().all(|b| (33..=126).contains(b)) {
        return false;
    }
    let mut values = Vec::with_capacity(data.len());
    for &b in data {
        let Some(v) = BECH32.iter().position(|&c| c == b.to_ascii_lowercase()) else {
            return false;
        };
        values.push(v as u8);
    }
    let hrp = hrp.iter().map(u8::to_ascii_lowercase);
    let expanded = hrp
        .clone()
        .map(|b| b >> 5)
        .chain(std::iter::once(0))
        .chain(hrp.map(|b| b & 31));
    bech32_polymod(expanded.chain(values)) == 1
}

/// Encodes `data` (bytes, regrouped into 5-bit values) as a lowercase Bech32 string with human
/// readable part `hrp`: the inverse of [`bech32`], for fake test values.
pub fn bech32_encode(hrp: &str, data: &[u8]) -> String {
    let mut values = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in data {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            values.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        values.push(((acc << (5 - bits)) & 31) as u8);
    }
    let hrp_bytes = hrp.bytes().map(|b| b.to_ascii_lowercase());
    let expanded = hrp_bytes
        .clone()
        .map(|b| b >> 5)
        .chain(std::iter::once(0))
        .chain(hrp_bytes.map(|b| b & 31));
    let pm = bech32_polymod(expanded.chain(values.iter().copied()).chain([0; 6])) ^ 1;
    let mut out = hrp.to_ascii_lowercase();
    out.push('1');
    out.extend(values.iter().map(|&v| BECH32[v as usize] as char));
    out.extend((0..6).map(|i| BECH32[((pm >> (5 * (5 - i))) & 31) as usize] as char));
    out
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn base62_digit(b: u8) -> Option<u64> {
    BASE62.iter().position(|&c| c == b).map(|p| p as u64)
}

/// The last 36 bytes are 30 base62 characters and their CRC32 as 6 zero-padded base62 digits,
/// the scheme of GitHub's `gh?_` tokens and npm's `npm_` tokens.
pub fn crc32_base62(secret: &[u8]) -> bool {
    let Some(tail) = secret.len().checked_sub(36).map(|start| &secret[start..]) else {
        return false;
    };
    let (payload, checksum) = tail.split_at(30);
    if !payload.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let mut value: u64 = 0;
    for &b in checksum {
        let Some(d) = base62_digit(b) else {
            return false;
        };
        value = value * 62 + d;
    }
    value == u64::from(crc32fast::hash(payload))
}

/// Encodes `value` as `width` zero-padded base62 digits (the inverse of the checksum decoding).
pub fn base62_encode(mut value: u64, width: usize) -> String {
    let mut digits = vec![b'0'; width];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(value % 62) as usize];
        value /= 62;
    }
    String::from_utf8(digits).unwrap_or_default()
}

/// Builds a token in the GitHub/npm checksum scheme: `prefix`, the 30-character base62
/// `payload`, then its CRC32 as 6 base62 digits. Used to make fake, well-formed test values.
pub fn crc32_base62_token(prefix: &str, payload: &str) -> String {
    let checksum = base62_encode(u64::from(crc32fast::hash(payload.as_bytes())), 6);
    format!("{prefix}{payload}{checksum}")
}

fn decode_standard(data: &[u8]) -> Option<Vec<u8>> {
    if data.contains(&b'=') {
        STANDARD.decode(data).ok()
    } else {
        STANDARD_NO_PAD.decode(data).ok()
    }
}

fn json_object(bytes: &[u8]) -> Option<serde_json::Map<String, serde_json::Value>> {
    match serde_json::from_slice::<serde_json::Value>(bytes).ok()? {
        serde_json::Value::Object(map) => Some(map),
        _ => None,
    }
}

/// Three base64url parts; the header is a JSON object with `alg`, the payload a JSON object.
pub fn jwt(secret: &[u8]) -> bool {
    let mut parts = secret.split(|&b| b == b'.');
    let (Some(header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let decode = |part: &[u8]| {
        URL_SAFE_NO_PAD
            .decode(part.strip_suffix(b"=").unwrap_or(part))
            .ok()
    };
    let header_ok = decode(header)
        .and_then(|h| json_object(&h))
        .is_some_and(|h| h.get("alg").is_some_and(serde_json::Value::is_string));
    header_ok && decode(payload).and_then(|p| json_object(&p)).is_some()
}

/// The secret decodes as base64 to a Google service-account key file.
pub fn gcp_service_account_base64(secret: &[u8]) -> bool {
    decode_standard(secret)
        .and_then(|d| json_object(&d))
        .is_some_and(|m| {
            m.get("type").and_then(serde_json::Value::as_str) == Some("service_account")
                && m.get("private_key")
                    .is_some_and(serde_json::Value::is_string)
        })
}

/// Shannon entropy of `data` in bits per byte.
pub fn shannon_entropy(data: &[u8]) -> f64 {
    if data.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in data {
        counts[b as usize] += 1;
    }
    let len = data.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// Substrings that mark a secret as a placeholder or documentation value, lowercase.
const PLACEHOLDER_MARKERS: &[&[u8]] = &[
    b"example",
    b"xxxxx",
    b"placeholder",
    b"your_",
    b"your-",
    b"yourkey",
    b"changeme",
    b"change_me",
    b"dummy",
    b"redacted",
    b"replace_me",
    b"insert_",
    b"sample",
    b"<",
    b">",
    b"${",
    b"{{",
    b"%s",
    b"*****",
    b".....",
    b"abcdefgh",
    b"12345678",
];

/// Whether `haystack` contains `needle`, ignoring ASCII case (`needle` is lowercase).
pub fn contains_ignore_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len()
        && haystack
            .windows(needle.len())
            .any(|w| w.eq_ignore_ascii_case(needle))
}

/// The shared placeholder filter: documentation values, template variables, masked values,
/// typed-in sequences (`abcd1234`) and strings of fewer than four distinct bytes.
pub fn is_placeholder(secret: &[u8]) -> bool {
    if PLACEHOLDER_MARKERS
        .iter()
        .any(|m| contains_ignore_ascii_case(secret, m))
        || has_typed_sequence(secret)
    {
        return true;
    }
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in secret {
        if !seen[b as usize] {
            seen[b as usize] = true;
            distinct += 1;
            if distinct >= 4 {
                return false;
            }
        }
    }
    true
}

/// Whether `secret` holds an ascending run of letters or digits that nobody's random generator
/// makes: six long (`4567890`), or two of four (`abcd1234`). A random base62 string has a run of
/// four at a given place with odds of one in 238,000.
fn has_typed_sequence(secret: &[u8]) -> bool {
    let mut runs_of_four = 0;
    let mut run = 1;
    for pair in secret.windows(2) {
        let next = pair[0].is_ascii_alphanumeric()
            && pair[1].is_ascii_alphanumeric()
            && pair[1] == pair[0].wrapping_add(1);
        if next {
            run += 1;
            if run == 4 {
                runs_of_four += 1;
            }
            if run >= 6 || runs_of_four >= 2 {
                return true;
            }
        } else {
            run = 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_sequences_are_placeholders_and_random_strings_are_not() {
        for typed in [
            &b"abcd1234defg5678"[..],
            b"a1b2c3d4567890ab",
            b"key-0123456789",
            b"ABCDEFxyz",
        ] {
            assert!(is_placeholder(typed), "{}", String::from_utf8_lossy(typed));
        }
        for random in [
            &b"Zq8Lm2Pw9Xc4Vb7Nt1Ry6Hs3Kd5Jf0"[..],
            b"bfyt92YrIx1j83Pf2WHeHe8Iqri2oKQxCLXkYsnjnD_3",
            // one run of four is not enough
            b"x7Kp1234Qm9Lw2Zr",
        ] {
            assert!(
                !is_placeholder(random),
                "{}",
                String::from_utf8_lossy(random)
            );
        }
        // Across a million random base62 strings of 40 characters, none looks typed.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let typed = (0..1_000_000u64)
            .filter(|&seed| {
                has_typed_sequence(crate::fake::fake_string(seed, alphabet, 40).as_bytes())
            })
            .count();
        assert!(typed < 10, "{typed} random strings looked typed");
    }

    #[test]
    fn crc32_base62_accepts_valid_and_rejects_tampered() {
        let token = crc32_base62_token("ghp_", "Zq8Lm2Pw9Xc4Vb7Nt1Ry6Hs3Kd5Jf0");
        assert!(crc32_base62(token.as_bytes()));
        let mut tampered = token.clone().into_bytes();
        tampered[10] = if tampered[10] == b'a' { b'b' } else { b'a' };
        assert!(!crc32_base62(&tampered));
        assert!(!crc32_base62(b"ghp_short"));
        let mut bad_digit = token.into_bytes();
        let last = bad_digit.len() - 1;
        bad_digit[last] = b'-';
        assert!(!crc32_base62(&bad_digit));
    }

    #[test]
    fn bech32_round_trips_and_rejects_tampering() {
        let key = bech32_encode("age-secret-key-", &[7u8; 32]).to_ascii_uppercase();
        assert!(key.starts_with("AGE-SECRET-KEY-1"), "{key}");
        assert_eq!(key.len(), 74);
        assert!(bech32(key.as_bytes()));
        assert!(bech32(key.to_ascii_lowercase().as_bytes()));
        let mut tampered = key.clone().into_bytes();
        tampered[20] = if tampered[20] == b'Q' { b'P' } else { b'Q' };
        assert!(!bech32(&tampered));
        let mut mixed = key.into_bytes();
        mixed[20] = mixed[20].to_ascii_lowercase();
        assert!(!bech32(&mixed), "mixed case is invalid Bech32");
        assert!(!bech32(b"nsec1"));
        assert!(!bech32(b"no separator"));
        assert!(!bech32(b"1qpzry9x8"), "empty human-readable part");
        assert!(!bech32(b"nsec1qqqqqbqqqqqq"), "b is not in the alphabet");
    }

    #[test]
    fn base62_encoding_is_zero_padded() {
        assert_eq!(base62_encode(0, 6), "000000");
        assert_eq!(base62_encode(61, 3), "00z");
        assert_eq!(base62_encode(62, 3), "010");
    }

    #[test]
    fn jwt_requires_json_header_with_alg() {
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let good = format!(
            "{}.{}.{}",
            enc(r#"{"alg":"HS256","typ":"JWT"}"#),
            enc(r#"{"sub":"svc"}"#),
            enc("sig")
        );
        assert!(jwt(good.as_bytes()));
        let no_alg = format!("{}.{}.x", enc(r#"{"typ":"JWT"}"#), enc(r#"{"sub":"svc"}"#));
        assert!(!jwt(no_alg.as_bytes()));
        let not_json = format!("{}.{}.x", enc("hello"), enc(r#"{"sub":"svc"}"#));
        assert!(!jwt(not_json.as_bytes()));
        assert!(!jwt(b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0"));
    }

    #[test]
    fn base64_and_service_account() {
        let sa = STANDARD.encode(r#"{"type": "service_account", "private_key": "k"}"#);
        assert!(passes(Validator::Base64, sa.as_bytes()));
        assert!(gcp_service_account_base64(sa.as_bytes()));
        let other = STANDARD.encode(r#"{"type": "authorized_user"}"#);
        assert!(!gcp_service_account_base64(other.as_bytes()));
        assert!(!passes(Validator::Base64, b"not base64!"));
    }

    #[test]
    fn entropy_orders_strings() {
        assert_eq!(shannon_entropy(b""), 0.0);
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(shannon_entropy(b"q8Lm2Pw9Xc4Vb7Nt1Ry6") > 4.0);
    }

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "xoxb-your-token-here",
            "${{ secrets.TOKEN }}",
            "<your-key>",
            "aaaaaaaaaaaaaaaa",
            "abababab",
            "********",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        assert!(!is_placeholder(b"Zq8Lm2Pw9Xc4Vb7Nt1Ry6Hs3Kd5Jf0"));
    }
}
