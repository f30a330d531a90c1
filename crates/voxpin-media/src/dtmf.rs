//! DTMF as RFC 4733 telephone events: the payload format and the receiver.
//!
//! # Receiver rules
//!
//! One keypress is one event, identified by **(SSRC, RTP timestamp, event
//! code)**, never by sequence number: every packet of an event shares its
//! timestamp, the final packet (E bit) is sent three times, and some senders
//! (SIPp's pcaps) reuse one sequence number for all three.
//!
//! - A digit is reported on the **first end packet** of its event, or as soon
//!   as a packet of a *different* event from the same stream shows the earlier
//!   one is over (its end packets were lost), or when no update for the open
//!   event has arrived for [`STALE_EVENT`].
//! - Later packets of an event already reported are duplicates and ignored —
//!   unless a *non-end* packet with the same key arrives at least
//!   [`REUSE_GAP`] after the report: a sender replaying a recording (SIPp)
//!   repeats the timestamp for the same digit pressed twice. When the report
//!   came from [`STALE_EVENT`] (the sender paused mid-event, no end packet
//!   yet), a packet whose duration has grown past the last one seen is that
//!   same event resuming, not a new press; only a duration that starts over
//!   is a new press.
//! - The first packet may carry duration 0, may lack the marker (a lost start
//!   is recovered from any later update), and may arrive from a new SSRC.
//! - A long event is split by the sender into segments: the last packet of a
//!   full segment reports duration 0xFFFF without the E bit and the next
//!   segment has a new timestamp. Such a continuation is the same keypress.
//! - Events above 15 (flash, modem tones) are ignored.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::rtp::Ssrc;

/// RTP clock rate of telephone events negotiated with G.711 (8 kHz).
pub const EVENT_CLOCK_RATE: u32 = 8000;

/// An open event with no update for this long is reported as ended.
pub const STALE_EVENT: Duration = Duration::from_millis(500);

/// A non-end packet repeating a reported key this long after the report is a
/// new keypress (see the module rules).
pub const REUSE_GAP: Duration = Duration::from_millis(60);

/// How many reported events are remembered for duplicate suppression.
const REMEMBERED: usize = 16;

/// One RFC 4733 telephone-event payload (4 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code: 0–9 digits, 10 `*`, 11 `#`, 12–15 `A`–`D`.
    pub event: u8,
    /// End-of-event (E) bit.
    pub end: bool,
    /// Volume in −dBm0 (0–63).
    pub volume: u8,
    /// Duration so far, in timestamp units.
    pub duration: u16,
}

/// Why a payload is not a telephone event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TelephoneEventError {
    /// Fewer than the four bytes of an event.
    #[error("telephone-event payload of {0} bytes is shorter than 4")]
    TooShort(usize),
}

impl TelephoneEvent {
    /// Parses the first four bytes of `payload` (trailing bytes are ignored).
    pub fn parse(payload: &[u8]) -> Result<Self, TelephoneEventError> {
        match payload {
            [event, flags, hi, lo, ..] => Ok(TelephoneEvent {
                event: *event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3F,
                duration: u16::from_be_bytes([*hi, *lo]),
            }),
            _ => Err(TelephoneEventError::TooShort(payload.len())),
        }
    }

    /// The four payload bytes.
    pub fn to_bytes(&self) -> [u8; 4] {
        let [hi, lo] = self.duration.to_be_bytes();
        let flags = (self.volume & 0x3F) | if self.end { 0x80 } else { 0 };
        [self.event, flags, hi, lo]
    }

    /// The DTMF character of this event, if it is one.
    pub fn digit(&self) -> Option<char> {
        event_to_digit(self.event)
    }
}

/// Maps an event code to its DTMF character (`0-9 * # A-D`).
pub fn event_to_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

/// Maps a DTMF character to its event code.
pub fn digit_to_event(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        _ => None,
    }
}

/// A keypress reported by the [`DtmfReceiver`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedDigit {
    /// The DTMF character.
    pub digit: char,
    /// How long the key was held, as far as the packets tell.
    pub duration: Duration,
    /// The stream that carried it.
    pub ssrc: Ssrc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EventKey {
    ssrc: Ssrc,
    timestamp: u32,
    event: u8,
}

#[derive(Debug, Clone, Copy)]
struct OpenEvent {
    key: EventKey,
    /// Largest duration seen in the current segment.
    duration: u16,
    /// Summed durations of completed segments (long events).
    earlier_segments: u64,
    last_update: Instant,
}

#[derive(Debug, Clone, Copy)]
struct Reported {
    key: EventKey,
    at: Instant,
    /// Reported for staleness, with this last duration seen (`None`: an end
    /// packet or a following event closed it).
    stale_at_duration: Option<u16>,
}

/// Turns RFC 4733 packets into keypresses (rules in the module docs).
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    open: Option<OpenEvent>,
    reported: [Option<Reported>; REMEMBERED],
    next_slot: usize,
    digits: VecDeque<ReceivedDigit>,
}

impl DtmfReceiver {
    /// A receiver with nothing open.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one telephone-event packet's fields.
    pub fn handle_event(&mut self, now: Instant, ssrc: Ssrc, timestamp: u32, ev: TelephoneEvent) {
        if event_to_digit(ev.event).is_none() {
            return;
        }
        let key = EventKey {
            ssrc,
            timestamp,
            event: ev.event,
        };
        if let Some(index) = self.reported_index(key) {
            let reuse = self.reported[index]
                .map(|r| {
                    let restarted = r.stale_at_duration.is_none_or(|d| ev.duration <= d);
                    !ev.end && now.saturating_duration_since(r.at) >= REUSE_GAP && restarted
                })
                .unwrap_or(false);
            if !reuse {
                return;
            }
            self.reported[index] = None;
        }
        match self.open {
            Some(mut open) if open.key == key => {
                open.duration = open.duration.max(ev.duration);
                open.last_update = now;
                self.open = Some(open);
            }
            Some(mut open)
                if open.key.ssrc == ssrc
                    && open.key.event == ev.event
                    && open.duration == u16::MAX =>
            {
                // The next segment of a long event.
                open.earlier_segments += u64::from(u16::MAX);
                open.key = key;
                open.duration = ev.duration;
                open.last_update = now;
                self.open = Some(open);
            }
            previous => {
                if previous.is_some() {
                    self.report_open(now, false);
                }
                self.open = Some(OpenEvent {
                    key,
                    duration: ev.duration,
                    earlier_segments: 0,
                    last_update: now,
                });
            }
        }
        if ev.end {
            self.report_open(now, false);
        }
    }

    /// Reports an open event that has gone stale. Call at [`Self::poll_timeout`].
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(open) = self.open {
            if now.saturating_duration_since(open.last_update) >= STALE_EVENT {
                self.report_open(now, true);
            }
        }
    }

    /// When [`Self::handle_timeout`] next has work, if an event is open.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.open.map(|o| o.last_update + STALE_EVENT)
    }

    /// The next reported keypress. Call after every `handle_*`.
    pub fn poll_digit(&mut self) -> Option<ReceivedDigit> {
        self.digits.pop_front()
    }

    fn reported_index(&self, key: EventKey) -> Option<usize> {
        self.reported
            .iter()
            .position(|r| matches!(r, Some(r) if r.key == key))
    }

    fn report_open(&mut self, now: Instant, stale: bool) {
        let Some(open) = self.open.take() else {
            return;
        };
        let Some(digit) = event_to_digit(open.key.event) else {
            return;
        };
        let samples = open.earlier_segments + u64::from(open.duration);
        self.digits.push_back(ReceivedDigit {
            digit,
            duration: Duration::from_micros(samples * 1_000_000 / u64::from(EVENT_CLOCK_RATE)),
            ssrc: open.key.ssrc,
        });
        self.reported[self.next_slot] = Some(Reported {
            key: open.key,
            at: now,
            stale_at_duration: stale.then_some(open.duration),
        });
        self.next_slot = (self.next_slot + 1) % REMEMBERED;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ev(event: u8, end: bool, duration: u16) -> TelephoneEvent {
        TelephoneEvent {
            event,
            end,
            volume: 10,
            duration,
        }
    }

    #[test]
    fn payload_round_trip_and_mapping() {
        let e = ev(11, true, 1600);
        assert_eq!(e.to_bytes(), [11, 0x8A, 0x06, 0x40]);
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()), Ok(e));
        assert_eq!(
            TelephoneEvent::parse(&[1, 2]),
            Err(TelephoneEventError::TooShort(2))
        );
        for code in 0..16 {
            let d = event_to_digit(code).unwrap();
            assert_eq!(digit_to_event(d), Some(code));
        }
        assert_eq!(event_to_digit(16), None);
        assert_eq!(digit_to_event('x'), None);
    }

    #[test]
    fn stale_event_is_reported_once() {
        let t0 = crate::test_epoch();
        let mut rx = DtmfReceiver::new();
        rx.handle_event(t0, Ssrc(1), 100, ev(4, false, 0));
        assert_eq!(rx.poll_digit(), None);
        assert_eq!(rx.poll_timeout(), Some(t0 + STALE_EVENT));
        rx.handle_timeout(t0 + STALE_EVENT);
        assert_eq!(rx.poll_digit().map(|d| d.digit), Some('4'));
        rx.handle_event(t0 + STALE_EVENT, Ssrc(1), 100, ev(4, true, 800));
        assert_eq!(rx.poll_digit(), None);
    }

    #[test]
    fn an_event_resuming_after_a_stall_is_still_one_press() {
        // The sender stalls (a loaded host) longer than STALE_EVENT between
        // updates of one keypress, then sends the rest of it at once.
        let t0 = crate::test_epoch();
        let mut rx = DtmfReceiver::new();
        rx.handle_event(t0, Ssrc(1), 100, ev(7, false, 160));
        rx.handle_event(
            t0 + Duration::from_millis(50),
            Ssrc(1),
            100,
            ev(7, false, 480),
        );
        let stalled = t0 + Duration::from_millis(50) + STALE_EVENT;
        rx.handle_timeout(stalled);
        assert_eq!(rx.poll_digit().map(|d| d.digit), Some('7'));
        let late = stalled + Duration::from_millis(200);
        rx.handle_event(late, Ssrc(1), 100, ev(7, false, 800));
        rx.handle_event(late, Ssrc(1), 100, ev(7, false, 1120));
        for _ in 0..3 {
            rx.handle_event(late, Ssrc(1), 100, ev(7, true, 1280));
        }
        rx.handle_timeout(late + STALE_EVENT);
        assert_eq!(rx.poll_digit(), None, "the resumed event is the same press");
    }

    #[test]
    fn a_replayed_press_after_a_stale_report_still_counts() {
        // A stale report, then the same recording replayed: the duration
        // starts over, so this is a second press.
        let t0 = crate::test_epoch();
        let mut rx = DtmfReceiver::new();
        rx.handle_event(t0, Ssrc(1), 100, ev(3, false, 480));
        rx.handle_timeout(t0 + STALE_EVENT);
        assert_eq!(rx.poll_digit().map(|d| d.digit), Some('3'));
        let again = t0 + STALE_EVENT + Duration::from_secs(1);
        rx.handle_event(again, Ssrc(1), 100, ev(3, false, 160));
        rx.handle_event(again, Ssrc(1), 100, ev(3, true, 800));
        assert_eq!(rx.poll_digit().map(|d| d.digit), Some('3'));
        assert_eq!(rx.poll_digit(), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..10)) {
            if let Ok(e) = TelephoneEvent::parse(&bytes) {
                // The reserved bit is not kept.
                let mut expected = [bytes[0], bytes[1] & 0xBF, bytes[2], bytes[3]];
                expected[1] &= 0xBF;
                prop_assert_eq!(e.to_bytes(), expected);
            }
        }
    }
}
