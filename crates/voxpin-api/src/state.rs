//! The router's shared state.

use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use voxpin_otp::OtpStore;

use crate::auth::{KeyId, KeySet};
use crate::engine::{Catalogue, Clock, Dialer};
use crate::idempotency::IdempotencyCache;

/// Renders the Prometheus text for `GET /metrics`.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// Limits of the HTTP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiSettings {
    /// Largest accepted request body in bytes (413 above).
    pub max_body_bytes: usize,
    /// Requests per minute per API key (429 above), as a burst of this size
    /// refilled evenly over the minute.
    pub rate_limit_per_minute: NonZeroU32,
}

impl ApiSettings {
    /// Settings with these limits.
    pub fn new(max_body_bytes: usize, rate_limit_per_minute: NonZeroU32) -> Self {
        Self {
            max_body_bytes,
            rate_limit_per_minute,
        }
    }
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            max_body_bytes: 16 * 1024,
            rate_limit_per_minute: NonZeroU32::new(600).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// Everything the handlers share; cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) store: Arc<dyn OtpStore>,
    pub(crate) catalogue: Arc<dyn Catalogue>,
    pub(crate) dialer: Arc<dyn Dialer>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) keys: KeySet,
    pub(crate) settings: ApiSettings,
    pub(crate) limiter: DefaultKeyedRateLimiter<KeyId>,
    pub(crate) idempotency: IdempotencyCache,
    pub(crate) metrics: Option<MetricsRender>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("keys", &self.inner.keys)
            .field("settings", &self.inner.settings)
            .field("idempotency_keys", &self.inner.idempotency.len())
            .finish_non_exhaustive()
    }
}

impl ApiState {
    /// State over a store, the applications, the engine, a clock and the keys.
    pub fn new(
        store: Arc<dyn OtpStore>,
        catalogue: Arc<dyn Catalogue>,
        dialer: Arc<dyn Dialer>,
        clock: Arc<dyn Clock>,
        keys: KeySet,
        settings: ApiSettings,
    ) -> Self {
        let limiter = RateLimiter::keyed(Quota::per_minute(settings.rate_limit_per_minute));
        Self {
            inner: Arc::new(Inner {
                store,
                catalogue,
                dialer,
                clock,
                keys,
                settings,
                limiter,
                idempotency: IdempotencyCache::new(),
                metrics: None,
            }),
        }
    }

    /// Serves `GET /metrics` with `render` (without it, `/metrics` is 404).
    /// Call before cloning the state.
    pub fn with_metrics(mut self, render: MetricsRender) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.metrics = Some(render);
        }
        self
    }

    /// One housekeeping sweep (run about once a minute): forgets
    /// idempotency keys older than 24 h and idle rate-limit buckets.
    /// Returns the idempotency keys forgotten.
    pub fn purge(&self) -> usize {
        let now = self.inner.clock.now();
        self.inner.limiter.retain_recent();
        self.inner.idempotency.purge(now)
    }
}
