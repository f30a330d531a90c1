//! `Idempotency-Key` for `POST /v1/otp`, as Stripe and the IETF draft
//! define it:
//!
//! - same key and same body: the saved response is returned again
//!   (`Idempotent-Replayed: true`) and nothing is created or called twice;
//! - same key, other body: 422 `idempotency_key_reused`;
//! - same key while the first request is still being processed: 409
//!   `idempotency_in_progress`;
//! - keys are scoped to the API key that sent them and kept for
//!   [`RETENTION`] (24 h), then purged.
//!
//! Only outcomes that will not change on retry are saved (2xx and 4xx other
//! than 409 and 429); after a 429 or a 5xx the key is freed so the client can
//! retry with it.

use std::time::{Duration, SystemTime};

use axum::body::Bytes;
use axum::http::StatusCode;
use dashmap::mapref::entry::Entry as MapEntry;
use dashmap::DashMap;
use sha2::{Digest, Sha256};

use crate::auth::KeyId;

/// How long a key and its response are kept.
pub const RETENTION: Duration = Duration::from_secs(24 * 60 * 60);
/// Longest accepted key.
pub const MAX_KEY_LEN: usize = 255;

/// A saved response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    /// Its status.
    pub status: StatusCode,
    /// Its JSON body.
    pub body: Bytes,
}

#[derive(Debug)]
struct Record {
    fingerprint: [u8; 32],
    created: SystemTime,
    response: Option<Saved>,
}

/// What to do with a request carrying a key.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First use: process it, then [`IdempotencyCache::finish`].
    Fresh,
    /// Answer with the saved response.
    Replay(Saved),
    /// The first request with this key is still running.
    InFlight,
    /// The key was used with another body.
    Mismatch,
}

/// The keys in use and their responses.
#[derive(Debug, Default)]
pub struct IdempotencyCache {
    records: DashMap<(KeyId, String), Record>,
}

impl IdempotencyCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Claims `key` for a request with `body` at `now`.
    pub fn claim(&self, owner: &KeyId, key: &str, body: &[u8], now: SystemTime) -> Claim {
        let fingerprint: [u8; 32] = Sha256::digest(body).into();
        match self.records.entry((owner.clone(), key.to_owned())) {
            MapEntry::Occupied(mut e) => {
                let r = e.get();
                if expired(r.created, now) {
                    e.insert(Record {
                        fingerprint,
                        created: now,
                        response: None,
                    });
                    return Claim::Fresh;
                }
                if r.fingerprint != fingerprint {
                    return Claim::Mismatch;
                }
                match &r.response {
                    Some(saved) => Claim::Replay(saved.clone()),
                    None => Claim::InFlight,
                }
            }
            MapEntry::Vacant(e) => {
                e.insert(Record {
                    fingerprint,
                    created: now,
                    response: None,
                });
                Claim::Fresh
            }
        }
    }

    /// Saves the outcome of a [`Claim::Fresh`] request, or frees the key
    /// when the outcome may change on retry (409, 429, 5xx).
    pub fn finish(&self, owner: &KeyId, key: &str, status: StatusCode, body: Bytes) {
        let id = (owner.clone(), key.to_owned());
        let keep = status.is_success()
            || (status.is_client_error()
                && status != StatusCode::CONFLICT
                && status != StatusCode::TOO_MANY_REQUESTS);
        if keep {
            if let Some(mut r) = self.records.get_mut(&id) {
                r.response = Some(Saved { status, body });
            }
        } else {
            self.records.remove(&id);
        }
    }

    /// Forgets keys older than [`RETENTION`]; returns how many went.
    pub fn purge(&self, now: SystemTime) -> usize {
        let before = self.records.len();
        self.records.retain(|_, r| !expired(r.created, now));
        before.saturating_sub(self.records.len())
    }

    /// Keys held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

fn expired(created: SystemTime, now: SystemTime) -> bool {
    now.duration_since(created).unwrap_or(Duration::ZERO) >= RETENTION
}

/// Checks a key's form: 1 to 255 printable ASCII characters.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::ApiKey;

    fn owner() -> KeyId {
        ApiKey::new("idempotency-owner-1".into())
            .unwrap()
            .id()
            .clone()
    }

    #[test]
    fn lifecycle() {
        let c = IdempotencyCache::new();
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let o = owner();
        assert_eq!(c.claim(&o, "k", b"a", t0), Claim::Fresh);
        assert_eq!(c.claim(&o, "k", b"a", t0), Claim::InFlight);
        assert_eq!(c.claim(&o, "k", b"b", t0), Claim::Mismatch);
        c.finish(&o, "k", StatusCode::CREATED, Bytes::from_static(b"{}"));
        let Claim::Replay(saved) = c.claim(&o, "k", b"a", t0) else {
            panic!("replay expected")
        };
        assert_eq!(saved.status, StatusCode::CREATED);
        // another API key has its own namespace
        let other = ApiKey::new("idempotency-owner-2".into())
            .unwrap()
            .id()
            .clone();
        assert_eq!(c.claim(&other, "k", b"b", t0), Claim::Fresh);
        // after 24 h the key is gone
        let later = t0 + RETENTION;
        assert_eq!(c.purge(later - Duration::from_secs(1)), 0);
        assert_eq!(c.purge(later), 2);
        assert!(c.is_empty());
    }

    #[test]
    fn retryable_outcomes_free_the_key() {
        let c = IdempotencyCache::new();
        let t0 = SystemTime::UNIX_EPOCH;
        let o = owner();
        assert_eq!(c.claim(&o, "k", b"a", t0), Claim::Fresh);
        c.finish(&o, "k", StatusCode::TOO_MANY_REQUESTS, Bytes::new());
        assert_eq!(c.claim(&o, "k", b"b", t0), Claim::Fresh);
        c.finish(&o, "k", StatusCode::UNPROCESSABLE_ENTITY, Bytes::new());
        assert!(matches!(c.claim(&o, "k", b"b", t0), Claim::Replay(_)));
    }

    #[test]
    fn key_form() {
        assert!(valid_key("order-42"));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
        assert!(!valid_key(&"x".repeat(256)));
    }
}
