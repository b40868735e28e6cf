//! The console's second factor: RFC 6238 TOTP (SHA-1, 30 s steps, 6 digits) through
//! `totp-rs`, one step of clock skew either way; a new secret is 160 random bits, shown once
//! as base32 and as an `otpauth://` URI.

use totp_rs::{Algorithm, Builder, Secret, Totp};
use zeroize::Zeroizing;

/// The issuer shown by authenticator apps.
const ISSUER: &str = "Onboard";

/// Why a TOTP could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    /// The random source failed.
    #[error("no randomness for a TOTP secret")]
    Rng,
    /// The secret or the account name was refused by totp-rs.
    #[error("totp: {0}")]
    Build(String),
}

/// A new TOTP secret: the raw bytes (stored sealed), its base32 form and its `otpauth://`
/// URI (both shown once).
pub struct NewSecret {
    /// Raw bytes.
    pub bytes: Zeroizing<Vec<u8>>,
    /// Base32, as typed into an authenticator.
    pub base32: Zeroizing<String>,
    /// `otpauth://totp/Onboard:<email>?secret=…&issuer=Onboard…`.
    pub uri: Zeroizing<String>,
}

impl std::fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewSecret([redacted])")
    }
}

fn totp(secret: &[u8], account: &str) -> Result<Totp, TotpError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.to_vec())
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', "_"))
        .build()
        .map_err(|e| TotpError::Build(e.to_string()))
}

/// A fresh secret for `account` (the operator's email).
pub fn new_secret(account: &str) -> Result<NewSecret, TotpError> {
    let mut bytes = Zeroizing::new(vec![0u8; 20]);
    getrandom::fill(&mut bytes).map_err(|_| TotpError::Rng)?;
    let t = totp(&bytes, account)?;
    let base32 = Zeroizing::new(Secret::from(bytes.to_vec()).to_base32());
    let uri = Zeroizing::new(t.to_url().map_err(|e| TotpError::Build(e.to_string()))?);
    Ok(NewSecret { bytes, base32, uri })
}

/// The step `code` is valid for at `unix_secs` (within one step either way), if any.
pub fn check(secret: &[u8], code: &str, unix_secs: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret, "").ok()?.check(code, unix_secs)
}

/// The raw bytes of a base32 secret as [`new_secret`] shows it (what an authenticator app
/// reads from the page; the browser test's second factor).
pub fn secret_from_base32(text: &str) -> Option<Zeroizing<Vec<u8>>> {
    Secret::try_from_base32(text.trim())
        .ok()
        .map(|s| Zeroizing::new(s.as_bytes().to_vec()))
}

/// The code of `secret` at `unix_secs` (tests and the browser test's second factor).
pub fn code_at(secret: &[u8], unix_secs: u64) -> Option<String> {
    Some(totp(secret, "").ok()?.generate(unix_secs).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA-1 rows: the ASCII secret "12345678901234567890", 8 digits.
    #[test]
    fn reproduces_the_rfc_6238_sha1_vectors() {
        let secret = b"12345678901234567890".to_vec();
        let t = Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_digits(8)
            .with_step_duration(30)
            .with_secret(secret)
            .build();
        let Ok(t) = t else {
            panic!("the RFC's secret builds a TOTP");
        };
        for (time, code) in [
            (59_u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(t.generate(time).to_string(), code, "T = {time}");
        }
    }

    #[test]
    fn a_code_checks_within_one_step_and_not_beyond() {
        let secret = [7u8; 20];
        let now = 1_700_000_000;
        let code = code_at(&secret, now).unwrap_or_default();
        assert_eq!(code.len(), 6);
        assert_eq!(check(&secret, &code, now), Some(now / 30));
        assert_eq!(check(&secret, &code, now + 30), Some(now / 30));
        assert_eq!(check(&secret, &code, now + 90), None);
        assert_eq!(check(&secret, "12345", now), None);
        assert_eq!(check(&secret, "abcdef", now), None);
    }

    #[test]
    fn a_new_secret_is_160_bits_and_its_uri_names_the_issuer() {
        let Ok(s) = new_secret("ana@example.com") else {
            panic!("a secret is made");
        };
        assert_eq!(s.bytes.len(), 20);
        assert_eq!(s.base32.len(), 32);
        assert!(
            s.uri
                .starts_with("otpauth://totp/Onboard:ana%40example.com?"),
            "{}",
            *s.uri
        );
        assert!(s.uri.contains(&format!("secret={}", *s.base32)));
    }
}
