//! Wall-clock time derived from the monotonic `now` the driver passes in.
//!
//! Records and the OTP store need wall time; the engine is told it with every
//! command and keeps the pair as an anchor, so every `Instant` maps to a
//! `SystemTime` without the engine reading a clock.

use std::time::{Instant, SystemTime};

/// A (monotonic, wall) pair taken at the same moment.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WallClock {
    instant: Instant,
    wall: SystemTime,
}

impl WallClock {
    /// Anchors wall time `wall` at `instant`.
    pub(crate) fn new(instant: Instant, wall: SystemTime) -> Self {
        Self { instant, wall }
    }

    /// Moves the anchor (the driver's clocks are the truth).
    pub(crate) fn update(&mut self, instant: Instant, wall: SystemTime) {
        *self = Self { instant, wall };
    }

    /// The wall time at `now`.
    pub(crate) fn wall(&self, now: Instant) -> SystemTime {
        if now >= self.instant {
            self.wall + now.saturating_duration_since(self.instant)
        } else {
            let back = self.instant.saturating_duration_since(now);
            self.wall
                .checked_sub(back)
                .unwrap_or(SystemTime::UNIX_EPOCH)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn maps_instants_both_ways_from_the_anchor() {
        #[allow(clippy::disallowed_methods)] // the one real origin; time then moves by arithmetic
        let t0 = Instant::now();
        let w0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let clock = WallClock::new(t0 + Duration::from_secs(10), w0);
        assert_eq!(
            clock.wall(t0 + Duration::from_secs(12)),
            w0 + Duration::from_secs(2)
        );
        assert_eq!(clock.wall(t0), w0 - Duration::from_secs(10));
    }
}
