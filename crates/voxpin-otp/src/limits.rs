//! Per-application policy and limits, passed in by the caller (from the
//! application's dialplan) each time an OTP is created.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// How an application's OTPs behave once created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// How long an OTP stays valid (default 10 min, at most
    /// [`Policy::MAX_TTL`]).
    pub ttl: Duration,
    /// Verification attempts per OTP (default 5); then it is `failed`.
    pub max_attempts: u32,
    /// How many times one call may read the code (default 3).
    pub repeats: u32,
    /// Least time between two API verifications of one OTP (default 3 s;
    /// zero turns the limit off). Codes keyed in on a call are paced by the
    /// call itself and not limited.
    pub verify_interval: Duration,
    /// Whether the right code keeps verifying after the first success
    /// (default false: single use).
    pub reusable: bool,
}

impl Policy {
    /// The longest time to live accepted.
    pub const MAX_TTL: Duration = Duration::from_secs(24 * 60 * 60);
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            ttl: Duration::from_secs(10 * 60),
            max_attempts: 5,
            repeats: 3,
            verify_interval: Duration::from_secs(3),
            reusable: false,
        }
    }
}

/// A number of events allowed per sliding window, e.g. 3 per hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimit {
    /// Events allowed in any window.
    pub count: u32,
    /// The window's length.
    pub window: Duration,
}

/// An application's sending limits. `None` means unlimited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// OTPs per phone number (within the application) per window.
    pub per_number: Option<RateLimit>,
    /// OTPs for the whole application per window.
    pub per_application: Option<RateLimit>,
    /// Calls of the application in progress at once (OTPs queued or in a
    /// call that has not hung up).
    pub max_concurrent_calls: Option<u32>,
    /// Whether a new OTP for a number cancels that number's live OTPs
    /// (true) or leaves them valid beside it (false).
    pub replace_previous: bool,
}

/// Which limit refused a send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitScope {
    /// Sends per phone number.
    PhoneNumber,
    /// Sends per application.
    Application,
}

impl std::fmt::Display for LimitScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LimitScope::PhoneNumber => "phone number",
            LimitScope::Application => "application",
        })
    }
}

/// The send times inside the current window of one [`RateLimit`]: a sliding
/// log, never longer than the limit's count.
#[derive(Debug, Clone, Default)]
pub(crate) struct SendLog {
    sends: VecDeque<SystemTime>,
}

impl SendLog {
    /// How long until one more send fits under `limit` at `now`; `None` if
    /// it fits now. Forgets sends older than the window.
    pub(crate) fn wait(&mut self, limit: &RateLimit, now: SystemTime) -> Option<Duration> {
        self.forget(limit.window, now);
        let count = usize::try_from(limit.count).unwrap_or(usize::MAX);
        if self.sends.len() < count {
            return None;
        }
        // The send that must leave the window before one more fits; with a
        // count of 0 nothing ever fits, so report a whole window.
        let leaves_at = count
            .checked_sub(1)
            .and_then(|keep| self.sends.len().checked_sub(keep))
            .and_then(|leaving| leaving.checked_sub(1))
            .and_then(|leaving| self.sends.get(leaving))
            .and_then(|sent| sent.checked_add(limit.window));
        let wait = match leaves_at {
            Some(at) => at.duration_since(now).unwrap_or(Duration::ZERO),
            None => limit.window,
        };
        Some(wait.max(Duration::from_millis(1)))
    }

    /// Records a send at `now`, keeping at most `keep` entries.
    pub(crate) fn record(&mut self, now: SystemTime, keep: u32) {
        self.sends.push_back(now);
        while self.sends.len() > usize::try_from(keep).unwrap_or(usize::MAX) {
            self.sends.pop_front();
        }
    }

    /// Drops sends at or before `now - window`. A clock that went backwards
    /// keeps them (they count until the clock passes them again).
    pub(crate) fn forget(&mut self, window: Duration, now: SystemTime) {
        while let Some(&oldest) = self.sends.front() {
            match now.duration_since(oldest) {
                Ok(age) if age >= window => {
                    self.sends.pop_front();
                }
                _ => break,
            }
        }
    }

    /// Whether nothing is logged.
    pub(crate) fn is_empty(&self) -> bool {
        self.sends.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    #[test]
    fn sliding_window_allows_count_per_window() {
        let limit = RateLimit {
            count: 3,
            window: Duration::from_secs(3600),
        };
        let mut log = SendLog::default();
        for s in [0, 10, 20] {
            assert_eq!(log.wait(&limit, t(s)), None);
            log.record(t(s), limit.count);
        }
        assert_eq!(log.wait(&limit, t(30)), Some(Duration::from_secs(3570)));
        assert_eq!(log.wait(&limit, t(3599)), Some(Duration::from_secs(1)));
        assert_eq!(log.wait(&limit, t(3600)), None);
        log.record(t(3600), limit.count);
        assert_eq!(log.wait(&limit, t(3601)), Some(Duration::from_secs(9)));
    }

    #[test]
    fn zero_count_never_allows() {
        let limit = RateLimit {
            count: 0,
            window: Duration::from_secs(60),
        };
        let mut log = SendLog::default();
        assert_eq!(log.wait(&limit, t(0)), Some(Duration::from_secs(60)));
    }
}
