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
    }
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
