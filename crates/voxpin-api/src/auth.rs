//! API keys and Bearer authentication.
//!
//! Keys are held as SHA-256 digests next to the key itself (wiped on drop);
//! a presented token is hashed and compared against every configured digest
//! in constant time, so neither the match nor its position leaks through
//! timing. A key is known in logs, metrics and idempotency scopes only by its
//! [`KeyId`], the first 12 hex digits of its digest.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Shortest accepted key.
pub const MIN_KEY_LEN: usize = 16;
/// Longest accepted key.
pub const MAX_KEY_LEN: usize = 256;

/// A configured API key. `Debug` shows only its [`KeyId`].
#[derive(Clone)]
pub struct ApiKey {
    _secret: Zeroizing<String>,
    digest: [u8; 32],
    id: KeyId,
}

/// The public name of a key: the first 12 hex digits of its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(String);

impl KeyId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a key was refused at configuration time (the key itself is never shown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiKeyError {
    /// Too short or too long.
    #[error(
        "an API key must be {MIN_KEY_LEN} to {MAX_KEY_LEN} characters long (this one has {0})"
    )]
    Length(usize),
    /// Has a character outside printable ASCII (or a space).
    #[error("an API key may hold only printable ASCII characters without spaces")]
    Characters,
}

impl ApiKey {
    /// Checks and wraps a key.
    pub fn new(text: String) -> Result<Self, ApiKeyError> {
        let secret = Zeroizing::new(text);
        let len = secret.chars().count();
        if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&len) {
            return Err(ApiKeyError::Length(len));
        }
        if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ApiKeyError::Characters);
        }
        let digest: [u8; 32] = Sha256::digest(secret.as_bytes()).into();
        let id = KeyId(hex::encode(digest.get(..6).unwrap_or_default()));
        Ok(Self {
            _secret: secret,
            digest,
            id,
        })
    }

    /// The key's public id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey({})", self.id)
    }
}

/// The set of accepted keys.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<ApiKey>,
}

impl KeySet {
    /// The accepted keys.
    pub fn new(keys: Vec<ApiKey>) -> Self {
        Self { keys }
    }

    /// Whether no key is configured (every request is then refused).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key matching `token`, compared in constant time against all keys.
    pub fn authenticate(&self, token: &str) -> Option<KeyId> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.digest.ct_eq(&digest)) && found.is_none() {
                found = Some(key.id.clone());
            }
        }
        found
    }

    /// Extracts the token of an `Authorization: Bearer <token>` value.
    pub fn bearer(header: &str) -> Option<&str> {
        let (scheme, token) = header.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim())
            .filter(|t| !t.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_authenticate_and_never_show() {
        let key = ApiKey::new("a-very-secret-key-001".into()).unwrap();
        let id = key.id().clone();
        assert!(!format!("{key:?}").contains("secret"));
        let set = KeySet::new(vec![
            ApiKey::new("another-key-0000002".into()).unwrap(),
            key,
        ]);
        assert_eq!(set.authenticate("a-very-secret-key-001"), Some(id));
        assert_eq!(set.authenticate("a-very-secret-key-002"), None);
        assert_eq!(set.authenticate(""), None);
    }

    #[test]
    fn key_rules() {
        assert_eq!(
            ApiKey::new("short".into()).unwrap_err(),
            ApiKeyError::Length(5)
        );
        assert_eq!(
            ApiKey::new("has a space in it!!".into()).unwrap_err(),
            ApiKeyError::Characters
        );
    }

    #[test]
    fn bearer_parsing() {
        assert_eq!(KeySet::bearer("Bearer abc"), Some("abc"));
        assert_eq!(KeySet::bearer("bearer   abc "), Some("abc"));
        assert_eq!(KeySet::bearer("Basic abc"), None);
        assert_eq!(KeySet::bearer("Bearer "), None);
        assert_eq!(KeySet::bearer("Bearer"), None);
    }

    #[test]
    fn bearer_never_panics_on_odd_headers() {
        for header in [
            "",
            " ",
            "Bearer  ",
            "\u{e9}Bearer x",
            "Bearer \u{e9}",
            "Bearer\tx",
            "x y z",
        ] {
            let _ = KeySet::bearer(header);
        }
    }
}
