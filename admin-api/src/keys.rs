//! Secrets the API hands out: tenant API keys (`sk_` + 32 base62 characters) and webhook
//! signing secrets (`whsec_` + 32 base62), drawn from the thread's cryptographic RNG, and the
//! SHA-256 hashing used to store and compare them.

use rand::Rng;
use rand::distr::Alphanumeric;
use sha2::{Digest, Sha256};

/// Prefix of tenant API keys.
pub(crate) const API_KEY_PREFIX: &str = "sk_";

/// Random characters after a prefix (32 base62 characters, about 190 bits).
const SECRET_CHARS: usize = 32;

/// How many characters of a key are stored and shown to tell keys apart.
const DISPLAY_PREFIX_LEN: usize = 10;

/// A fresh API key and its display prefix.
pub(crate) fn new_api_key() -> (String, String) {
    let key = format!("{API_KEY_PREFIX}{}", random_base62(SECRET_CHARS));
    let prefix = key.chars().take(DISPLAY_PREFIX_LEN).collect();
    (key, prefix)
}

/// A fresh webhook signing secret.
pub(crate) fn new_webhook_secret() -> String {
    format!("whsec_{}", random_base62(SECRET_CHARS))
}

/// Lower-case hex SHA-256 of `text`.
pub(crate) fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// True if `a` and `b` are equal, comparing their SHA-256 digests so the time taken does not
/// depend on where the inputs differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    let (da, db) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    da.iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

/// `n` random characters of `[0-9A-Za-z]`.
fn random_base62(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_have_the_documented_shape() {
        let (key, prefix) = new_api_key();
        assert!(key.starts_with("sk_"));
        assert_eq!(key.len(), 3 + 32);
        assert!(key[3..].chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(key.starts_with(&prefix));
        assert_eq!(prefix.len(), 10);
        assert_ne!(new_api_key().0, key);
    }

    #[test]
    fn hashing_is_stable_hex() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(same_secret("x", "x"));
        assert!(!same_secret("x", "y"));
        assert!(new_webhook_secret().starts_with("whsec_"));
    }
}
