//! Field encryption (XChaCha20-Poly1305, row-bound associated data, key ids) and blind indexes.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

/// Length of an XChaCha20 nonce, stored in front of each ciphertext.
const NONCE_LEN: usize = 24;
/// Length of every key (data and blind-index keys).
pub const KEY_LEN: usize = 32;

/// What can go wrong with keys and ciphertexts. Never carries plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// The ciphertext names a key the keyring does not hold.
    #[error("no data key with id {0} is configured")]
    UnknownKey(String),
    /// Authentication failed: wrong key, wrong row/column, or tampered bytes.
    #[error("ciphertext does not authenticate for this row and column")]
    Unauthentic,
    /// Key material in the configuration is malformed.
    #[error("invalid key configuration: {0}")]
    BadConfig(String),
    /// The OS random source failed.
    #[error("the random number generator failed")]
    Rng,
}

/// A 256-bit secret key; redacted in `Debug`, zeroized on drop.
#[derive(Clone)]
pub struct SecretKey(Zeroizing<[u8; KEY_LEN]>);

impl SecretKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, CryptoError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        getrandom::fill(bytes.as_mut()).map_err(|_| CryptoError::Rng)?;
        Ok(Self(bytes))
    }

    /// Parses standard Base64 of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let mut decoded = B64
            .decode(text.trim())
            .map_err(|_| CryptoError::BadConfig("a key is not valid base64".into()))?;
        let result = <[u8; KEY_LEN]>::try_from(decoded.as_slice())
            .map(|b| Self(Zeroizing::new(b)))
            .map_err(|_| CryptoError::BadConfig(format!("a key must be {KEY_LEN} bytes")));
        decoded.zeroize();
        result
    }

    /// Standard Base64 of the key, for writing a key file.
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(B64.encode(self.0.as_ref()))
    }

    fn bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey([redacted])")
    }
}

/// Where a ciphertext belongs: table, column and the owning row's id. Used as AEAD associated
/// data, so a ciphertext copied to another row or column fails to decrypt.
#[derive(Clone, Copy, Debug)]
pub struct Aad<'a> {
    /// Table name.
    pub table: &'a str,
    /// Column name.
    pub column: &'a str,
    /// The owning row's primary key.
    pub row_id: &'a str,
}

impl Aad<'_> {
    fn bytes(&self) -> Vec<u8> {
        // Length-prefixed so that no two distinct triples encode the same.
        let mut out =
            Vec::with_capacity(self.table.len() + self.column.len() + self.row_id.len() + 12);
        for part in [self.table, self.column, self.row_id] {
            out.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
        out
    }
}

/// A ciphertext with the id of the key that sealed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// Id of the data key.
    pub key_id: String,
    /// `nonce (24 bytes) || ciphertext+tag`.
    pub bytes: Vec<u8>,
}

/// The data keys (several, one active for new writes) and the blind-index key.
#[derive(Clone)]
pub struct Keyring {
    keys: BTreeMap<String, XChaCha20Poly1305>,
    active: String,
    blind: SecretKey,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("key_ids", &self.keys.keys().collect::<Vec<_>>())
            .field("active", &self.active)
            .field("blind", &"[redacted]")
            .finish()
    }
}

impl Keyring {
    /// Builds a keyring; `active` must be one of `keys`. Key ids are 1–32 of `A-Za-z0-9_-`.
    pub fn new(
        keys: impl IntoIterator<Item = (String, SecretKey)>,
        active: &str,
        blind_index_key: SecretKey,
    ) -> Result<Self, CryptoError> {
        let mut map = BTreeMap::new();
        for (id, key) in keys {
            let id_ok = (1..=32).contains(&id.len())
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
            if !id_ok {
                return Err(CryptoError::BadConfig(
                    "key ids are 1-32 of A-Z a-z 0-9 _ -".into(),
                ));
            }
            let cipher = XChaCha20Poly1305::new(key.bytes().into());
            if map.insert(id, cipher).is_some() {
                return Err(CryptoError::BadConfig("duplicate key id".into()));
            }
        }
        if !map.contains_key(active) {
            return Err(CryptoError::BadConfig(format!(
                "the active key {active} is not among the configured keys"
            )));
        }
        Ok(Self {
            keys: map,
            active: active.to_owned(),
            blind: blind_index_key,
        })
    }

    /// The id of the key used for new writes.
    pub fn active_key_id(&self) -> &str {
        &self.active
    }

    /// The ids of every configured data key.
    pub fn key_ids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Encrypts `plaintext` for one field of one row under the active key with a random nonce.
    pub fn seal(&self, plaintext: &[u8], aad: Aad<'_>) -> Result<Sealed, CryptoError> {
        self.seal_under(&self.active, plaintext, aad)
    }

    /// [`Keyring::seal`] under the data key `key_id`.
    fn seal_under(
        &self,
        key_id: &str,
        plaintext: &[u8],
        aad: Aad<'_>,
    ) -> Result<Sealed, CryptoError> {
        let cipher = self
            .keys
            .get(key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).map_err(|_| CryptoError::Rng)?;
        let aad = aad.bytes();
        let ct = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| CryptoError::Unauthentic)?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + ct.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&ct);
        Ok(Sealed {
            key_id: key_id.to_owned(),
            bytes,
        })
    }

    /// The key check of data key `key_id`: a constant sealed under it, bound to the key id (a
    /// MAC of the constant under the key, never the key), as lowercase hex.
    pub fn key_check(&self, key_id: &str) -> Result<String, CryptoError> {
        let sealed = self.seal_under(key_id, KEY_CHECK_CONSTANT, key_check_aad(key_id))?;
        Ok(hex(&sealed.bytes))
    }

    /// Whether `check` (from [`Keyring::key_check`]) was made by this keyring's `key_id`.
    pub fn matches_key_check(&self, key_id: &str, check: &str) -> bool {
        let Some(bytes) = unhex(check) else {
            return false;
        };
        self.open(key_id, &bytes, key_check_aad(key_id))
            .is_ok_and(|plain| plain.as_slice() == KEY_CHECK_CONSTANT)
    }

    /// The check of the blind-index key: its blind index of a constant.
    pub fn blind_key_check(&self) -> String {
        self.blind_index("key-check", KEY_CHECK_CONSTANT)
    }

    /// Decrypts a field; fails (never returns garbage) if key, row, column or bytes differ.
    pub fn open(
        &self,
        key_id: &str,
        bytes: &[u8],
        aad: Aad<'_>,
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let cipher = self
            .keys
            .get(key_id)
            .ok_or_else(|| CryptoError::UnknownKey(key_id.to_owned()))?;
        if bytes.len() < NONCE_LEN {
            return Err(CryptoError::Unauthentic);
        }
        let (nonce, ct) = bytes.split_at(NONCE_LEN);
        let nonce = <[u8; NONCE_LEN]>::try_from(nonce).map_err(|_| CryptoError::Unauthentic)?;
        let aad = aad.bytes();
        cipher
            .decrypt(&XNonce::from(nonce), Payload { msg: ct, aad: &aad })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Unauthentic)
    }

    /// A keyed blind index: hex HMAC-SHA256 under the blind-index key of `label || 0 || value`.
    /// Equal values under the same label give equal indexes; nothing else can be learnt.
    pub fn blind_index(&self, label: &str, value: &[u8]) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(self.blind.bytes()) else {
            unreachable!("HMAC accepts keys of any length");
        };
        mac.update(label.as_bytes());
        mac.update(&[0]);
        mac.update(value);
        hex(&mac.finalize().into_bytes())
    }
}

/// What a key check seals.
const KEY_CHECK_CONSTANT: &[u8] = b"onboard key check v1";

/// The associated data of the key check of `key_id`.
fn key_check_aad(key_id: &str) -> Aad<'_> {
    Aad {
        table: "key_checks",
        column: "check_mac",
        row_id: key_id,
    }
}

/// Bytes from lowercase or uppercase hexadecimal.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Lowercase hexadecimal.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ring(active: &str) -> Keyring {
        Keyring::new(
            [
                ("k1".to_owned(), SecretKey::generate().unwrap()),
                ("k2".to_owned(), SecretKey::generate().unwrap()),
            ],
            active,
            SecretKey::generate().unwrap(),
        )
        .unwrap()
    }

    const ROW_A: Aad<'static> = Aad {
        table: "users",
        column: "ssn_ciphertext",
        row_id: "a",
    };

    #[test]
    fn seal_then_open_round_trips_and_nonces_differ() {
        let ring = ring("k1");
        let one = ring.seal(b"123456789", ROW_A).unwrap();
        let two = ring.seal(b"123456789", ROW_A).unwrap();
        assert_ne!(one.bytes, two.bytes, "random nonces");
        assert_eq!(
            ring.open(&one.key_id, &one.bytes, ROW_A)
                .unwrap()
                .as_slice(),
            b"123456789"
        );
    }

    #[test]
    fn another_row_column_or_key_fails() {
        let ring = ring("k1");
        let sealed = ring.seal(b"123456789", ROW_A).unwrap();
        let row_b = Aad {
            row_id: "b",
            ..ROW_A
        };
        let col = Aad {
            column: "ein_ciphertext",
            ..ROW_A
        };
        assert_eq!(
            ring.open("k1", &sealed.bytes, row_b),
            Err(CryptoError::Unauthentic)
        );
        assert_eq!(
            ring.open("k1", &sealed.bytes, col),
            Err(CryptoError::Unauthentic)
        );
        assert_eq!(
            ring.open("k2", &sealed.bytes, ROW_A),
            Err(CryptoError::Unauthentic)
        );
        assert!(matches!(
            ring.open("k9", &sealed.bytes, ROW_A),
            Err(CryptoError::UnknownKey(_))
        ));
    }

    #[test]
    fn blind_index_is_keyed_and_label_separated() {
        let a = ring("k1");
        let b = ring("k1");
        assert_eq!(
            a.blind_index("ssn", b"123456789"),
            a.blind_index("ssn", b"123456789")
        );
        assert_ne!(
            a.blind_index("ssn", b"123456789"),
            a.blind_index("ein", b"123456789")
        );
        assert_ne!(
            a.blind_index("ssn", b"123456789"),
            b.blind_index("ssn", b"123456789")
        );
        assert_eq!(a.blind_index("ssn", b"1").len(), 64);
    }

    #[test]
    fn active_key_must_exist_and_debug_is_redacted() {
        assert!(Keyring::new([], "k1", SecretKey::generate().unwrap()).is_err());
        let text = format!("{:?}", ring("k2"));
        assert!(text.contains("k2") && text.contains("[redacted]"));
    }
}
