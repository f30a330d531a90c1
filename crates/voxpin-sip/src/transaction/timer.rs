//! The RFC 3261 timer values and a fixed timer table.
//!
//! Every transaction keeps its deadlines in a [`TimerTable`]: one slot per
//! named [`Timer`], no field per timer. The table never reads the clock; the
//! owner arms timers relative to the `now` it was handed and asks the table
//! which timer is due at a later `now`.

use std::time::{Duration, Instant};

/// T1, the round-trip time estimate: 500 ms (RFC 3261 section 17.1.1.1,
/// table 4). Retransmission intervals start at T1 and transaction lifetimes
/// are multiples of it (64·T1 = 32 s).
pub const T1: Duration = Duration::from_millis(500);

/// T2, the maximum retransmit interval for non-INVITE requests and INVITE
/// responses: 4 s (RFC 3261 section 17.1.2.2, table 4).
pub const T2: Duration = Duration::from_secs(4);

/// T4, the maximum time a message stays in the network: 5 s (RFC 3261
/// section 17.1.2.2, table 4). Drives timers I and K.
pub const T4: Duration = Duration::from_secs(5);

/// Timer D, how long a client INVITE transaction absorbs retransmitted final
/// responses: "at least 32 seconds" for unreliable transports (RFC 3261
/// section 17.1.1.2, table 4).
pub const TIMER_D: Duration = Duration::from_secs(32);

/// `now + after`, saturating instead of panicking when `after` is absurdly
/// large (a configured or peer-supplied duration): the deadline then lies a
/// century ahead, which is as good as never.
pub fn deadline_after(now: Instant, after: Duration) -> Instant {
    const FAR: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    now.checked_add(after.min(FAR))
        .or_else(|| now.checked_add(Duration::from_secs(3600)))
        .unwrap_or(now)
}

/// The base timer values of RFC 3261 table 4, configurable per endpoint.
///
/// Lowering T1 on a fast network shortens every retransmission interval and
/// every transaction lifetime (RFC 3261 section 17.1.1.1 allows a smaller T1
/// when the round-trip time is known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerConfig {
    /// The round-trip time estimate, [`T1`] by default.
    pub t1: Duration,
    /// The retransmit cap, [`T2`] by default.
    pub t2: Duration,
    /// The maximum message lifetime, [`T4`] by default.
    pub t4: Duration,
}

impl Default for TimerConfig {
    fn default() -> Self {
        Self {
            t1: T1,
            t2: T2,
            t4: T4,
        }
    }
}

impl TimerConfig {
    /// 64·T1: timers B, F, H, J, L and M (32 s with the default T1).
    pub fn transaction_timeout(&self) -> Duration {
        self.t1.saturating_mul(64)
    }

    /// Timer D: [`TIMER_D`] on unreliable transports, zero on reliable ones.
    pub fn timer_d(&self, reliable: bool) -> Duration {
        if reliable {
            Duration::ZERO
        } else {
            TIMER_D.max(self.transaction_timeout())
        }
    }

    /// The next retransmit interval after `interval` for timers E and G:
    /// doubled, capped at T2 (RFC 3261 sections 17.1.2.2 and 17.2.1).
    pub fn backoff_capped(&self, interval: Duration) -> Duration {
        interval.saturating_mul(2).min(self.t2)
    }
}

/// The transaction timers of RFC 3261 table 4 and RFC 6026 section 8, in
/// RFC order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Client INVITE: request retransmit interval, starts at T1, doubles.
    A,
    /// Client INVITE: transaction timeout, 64·T1.
    B,
    /// Client INVITE: wait for response retransmissions, 32 s (0 on TCP).
    D,
    /// Client non-INVITE: request retransmit interval, T1 doubling to T2.
    E,
    /// Client non-INVITE: transaction timeout, 64·T1.
    F,
    /// Server INVITE: response retransmit interval, T1 doubling to T2.
    G,
    /// Server INVITE: wait for ACK receipt, 64·T1.
    H,
    /// Server INVITE: wait for ACK retransmissions, T4 (0 on TCP).
    I,
    /// Server non-INVITE: wait for request retransmissions, 64·T1 (0 on TCP).
    J,
    /// Client non-INVITE: wait for response retransmissions, T4 (0 on TCP).
    K,
    /// Server INVITE (RFC 6026): wait for 2xx and ACK retransmissions in
    /// Accepted, 64·T1.
    L,
    /// Client INVITE (RFC 6026): wait for 2xx retransmissions in Accepted,
    /// 64·T1.
    M,
}

impl Timer {
    /// Every timer, in RFC order (the table's slot order).
    pub const ALL: [Timer; 12] = [
        Timer::A,
        Timer::B,
        Timer::D,
        Timer::E,
        Timer::F,
        Timer::G,
        Timer::H,
        Timer::I,
        Timer::J,
        Timer::K,
        Timer::L,
        Timer::M,
    ];

    fn slot(self) -> usize {
        self as usize
    }
}

/// One optional deadline per [`Timer`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimerTable {
    deadlines: [Option<Instant>; 12],
}

impl TimerTable {
    /// A table with no timer armed.
    pub fn new() -> Self {
        Self::default()
    }

    /// Arms `timer` to fire at `at`, replacing an earlier deadline.
    pub fn set(&mut self, timer: Timer, at: Instant) {
        self.deadlines[timer.slot()] = Some(at);
    }

    /// Disarms `timer`.
    pub fn stop(&mut self, timer: Timer) {
        self.deadlines[timer.slot()] = None;
    }

    /// Disarms every timer.
    pub fn stop_all(&mut self) {
        self.deadlines = [None; 12];
    }

    /// The deadline of `timer`, if armed.
    pub fn deadline(&self, timer: Timer) -> Option<Instant> {
        self.deadlines[timer.slot()]
    }

    /// The earliest armed deadline.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Disarms and returns the earliest timer due at `now` (ties go to the
    /// timer earlier in RFC order). Call repeatedly until `None`.
    pub fn pop_expired(&mut self, now: Instant) -> Option<Timer> {
        let mut best: Option<(Instant, Timer)> = None;
        for timer in Timer::ALL {
            if let Some(at) = self.deadlines[timer.slot()] {
                if at <= now && best.is_none_or(|(b, _)| at < b) {
                    best = Some((at, timer));
                }
            }
        }
        let (_, timer) = best?;
        self.stop(timer);
        Some(timer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_rfc_3261_table_4() {
        let config = TimerConfig::default();
        assert_eq!(config.t1, Duration::from_millis(500));
        assert_eq!(config.t2, Duration::from_secs(4));
        assert_eq!(config.t4, Duration::from_secs(5));
        assert_eq!(config.transaction_timeout(), Duration::from_secs(32));
        assert_eq!(config.timer_d(false), Duration::from_secs(32));
        assert_eq!(config.timer_d(true), Duration::ZERO);
    }

    #[test]
    fn backoff_doubles_up_to_t2() {
        let config = TimerConfig::default();
        let mut interval = config.t1;
        let mut seen = vec![];
        for _ in 0..6 {
            seen.push(interval.as_millis());
            interval = config.backoff_capped(interval);
        }
        assert_eq!(seen, [500, 1000, 2000, 4000, 4000, 4000]);
    }

    #[test]
    fn table_pops_earliest_first_and_disarms() {
        let start = crate::transaction::test_support::start();
        let mut table = TimerTable::new();
        table.set(Timer::B, start + Duration::from_secs(32));
        table.set(Timer::A, start + Duration::from_millis(500));
        assert_eq!(
            table.next_deadline(),
            Some(start + Duration::from_millis(500))
        );
        assert_eq!(table.pop_expired(start), None);
        let late = start + Duration::from_secs(40);
        assert_eq!(table.pop_expired(late), Some(Timer::A));
        assert_eq!(table.pop_expired(late), Some(Timer::B));
        assert_eq!(table.pop_expired(late), None);
        assert_eq!(table.next_deadline(), None);
    }

    #[test]
    fn deadlines_saturate_instead_of_overflowing() {
        let now = crate::transaction::test_support::start();
        assert_eq!(
            deadline_after(now, Duration::from_secs(2)),
            now + Duration::from_secs(2)
        );
        assert!(deadline_after(now, Duration::MAX) > now);
    }

    #[test]
    fn slots_follow_rfc_order() {
        for (index, timer) in Timer::ALL.iter().enumerate() {
            assert_eq!(timer.slot(), index);
        }
    }
}
