//! Redaction of secrets for human output and logs.

/// Shortens `secret` so it can be recognised but not used: `ghp_AbC…9xYz` for long secrets,
/// `abc…yz` for medium ones, `…` (nothing of it) for short ones such as passwords. Multi-line
/// secrets (private keys) keep only their first line's start.
pub fn redact(secret: &str) -> String {
    let first_line = secret.lines().next().unwrap_or("");
    let chars: Vec<char> = first_line.chars().collect();
    let n = chars.len();
    let (head, tail) = if secret.contains('\n') {
        (n.min(16), 0)
    } else if n > 24 {
        (7, 4)
    } else if n >= 12 {
        (3, 2)
    } else {
        (0, 0)
    };
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[n - tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_little() {
        assert_eq!(
            redact("ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123459xYz"),
            "ghp_AbC…9xYz"
        );
        assert_eq!(redact("hunter2hunter2"), "hun…r2");
        assert_eq!(redact("hunter2"), "…");
        assert_eq!(
            redact("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"),
            "-----BEGIN RSA P…"
        );
        assert_eq!(redact("pässwörd-lång-ünïcode-secret"), "pässwör…cret");
    }
}
