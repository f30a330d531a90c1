//! Fuzzes RFC 4733 payload parsing and the DTMF receiver: any sequence of
//! (SSRC, timestamp, payload, time step) must never panic, and every digit
//! it reports is a DTMF character.
//!
//! Run with `cargo +nightly fuzz run telephone_event` in `crates/voxpin-media/fuzz`.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use voxpin_media::dtmf::{DtmfReceiver, TelephoneEvent};
use voxpin_media::Ssrc;

fuzz_target!(|data: &[u8]| {
    // Fuzzing needs some instant; the value does not matter.
    #[allow(clippy::disallowed_methods)]
    let mut now = Instant::now();
    let mut rx = DtmfReceiver::new();
    for chunk in data.chunks(10) {
        let [ssrc, ts_hi, ts_lo, step, payload @ ..] = chunk else {
            break;
        };
        if let Ok(ev) = TelephoneEvent::parse(payload) {
            assert_eq!(TelephoneEvent::parse(&ev.to_bytes()), Ok(ev));
            let ts = u32::from_be_bytes([0, 0, *ts_hi, *ts_lo]);
            rx.handle_event(now, Ssrc(u32::from(*ssrc & 3)), ts, ev);
        }
        now += Duration::from_millis(u64::from(*step));
        rx.handle_timeout(now);
        while let Some(d) = rx.poll_digit() {
            assert!("0123456789*#ABCD".contains(d.digit));
        }
    }
});
