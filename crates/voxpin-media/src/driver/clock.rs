//! Precise sleeping for pacing threads: absolute deadlines and a small
//! timer slack.
//!
//! `std::thread::sleep` takes a duration: a thread preempted between
//! reading the clock and going to sleep wakes that much later than meant.
//! [`sleep_until`] sleeps to an absolute [`Instant`] with
//! `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME)` instead, and
//! [`set_timer_slack`] stops the kernel from firing the timer up to 50 µs
//! late to batch it with others (real-time threads get no slack anyway).

use std::io;
use std::num::NonZeroU64;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rustix::time::Timespec;

/// Sets the calling thread's timer slack (Linux `PR_SET_TIMERSLACK`; at
/// least 1 ns, since zero would mean "the default"). The media workers use
/// 1 µs unless told otherwise ([`WorkerOptions::timer_slack`](super::WorkerOptions::timer_slack)).
pub fn set_timer_slack(slack: Duration) -> io::Result<()> {
    let nanos = u64::try_from(slack.as_nanos()).unwrap_or(u64::MAX).max(1);
    rustix::thread::set_current_timer_slack(NonZeroU64::new(nanos)).map_err(io::Error::from)
}

/// Sleeps the calling thread until `deadline` (returns at once if it has
/// passed). The wake-up is tied to the deadline, not to when the call
/// began; a signal may end the sleep early, so callers re-check the time.
pub fn sleep_until(deadline: Instant) {
    static CLOCK: OnceLock<MonotonicClock> = OnceLock::new();
    CLOCK.get_or_init(MonotonicClock::new).sleep_until(deadline);
}

/// Maps `Instant`s onto `CLOCK_MONOTONIC` (the clock behind `Instant` on
/// Linux) through one pair of readings taken together.
pub(super) struct MonotonicClock {
    base: Instant,
    base_ts: Timespec,
}

impl MonotonicClock {
    pub(super) fn new() -> Self {
        let base_ts = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
        MonotonicClock {
            base: Instant::now(),
            base_ts,
        }
    }

    pub(super) fn sleep_until(&self, deadline: Instant) {
        let offset = deadline.saturating_duration_since(self.base);
        let target = Timespec::try_from(offset)
            .ok()
            .and_then(|o| self.base_ts.checked_add(o));
        match target {
            // An interruption (EINTR) just ends this sleep early; callers
            // loop with a fresh deadline.
            Some(t) => {
                let _ = rustix::thread::clock_nanosleep_absolute(
                    rustix::thread::ClockId::Monotonic,
                    &t,
                );
            }
            None => {
                let now = Instant::now();
                std::thread::sleep(deadline.saturating_duration_since(now));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_sleep_wakes_at_the_instant_not_before() {
        // `Instant` and the absolute sleep must share one clock: waking
        // before the deadline would mean they do not.
        let clock = MonotonicClock::new();
        for micros in [0u64, 300, 2_000] {
            let deadline = Instant::now() + Duration::from_micros(micros);
            clock.sleep_until(deadline);
            let woke = Instant::now();
            assert!(woke >= deadline, "woke {:?} early", deadline - woke);
        }
    }

    #[test]
    fn the_public_sleep_and_slack_work() {
        set_timer_slack(Duration::from_micros(1)).unwrap();
        assert_eq!(rustix::thread::current_timer_slack().unwrap(), 1_000);
        let deadline = Instant::now() + Duration::from_micros(500);
        sleep_until(deadline);
        assert!(Instant::now() >= deadline);
        sleep_until(deadline - Duration::from_millis(1)); // past: returns at once
    }
}
