//! Property: whatever a sender does within RFC 4733 — any digits, any
//! number of updates, a lost start, one to three end packets with repeated
//! or distinct sequence numbers, duplicated updates, audio interleaved,
//! digits back to back or apart — every keypress is reported exactly once
//! and in order.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use voxpin_media::*;

#[derive(Debug, Clone)]
struct Press {
    event: u8,
    updates: u16,
    lose_start: bool,
    ends: u8,
    ends_share_seq: bool,
    duplicate_update: bool,
    gap_ms: u64,
}

fn press() -> impl Strategy<Value = Press> {
    (
        0u8..16,
        0u16..6,
        any::<bool>(),
        1u8..=3,
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(0u64), 20u64..300],
    )
        .prop_map(
            |(event, updates, lose_start, ends, ends_share_seq, duplicate_update, gap_ms)| Press {
                event,
                updates,
                lose_start,
                ends,
                ends_share_seq,
                duplicate_update,
                gap_ms,
            },
        )
}

proptest! {
    #[test]
    fn every_keypress_is_reported_once_in_order(
        presses in proptest::collection::vec(press(), 1..12),
        audio_between: bool,
        te in prop_oneof![Just(101u8), Just(96u8), Just(120u8)],
    ) {
        let t0 = epoch();
        let peer = addr("192.0.2.7:5004");
        let mut c = SessionConfig::new(Codec::Pcmu, synthetic_library());
        c.remote = Some(peer);
        c.symmetric = false;
        c.telephone_event = Some(te);
        let mut s = MediaSession::new(t0, c, &mut rng(21));
        let ssrc = 0x00C0_FFEE;
        let mut now = t0;
        let mut seq = 1000u16;
        let mut ts = 160_000u32;
        let send = |s: &mut MediaSession, now: std::time::Instant, p: Vec<u8>| s.handle_rtp(now, peer, &p);
        // The stream is established with audio first.
        for _ in 0..3 {
            send(&mut s, now, audio(seq, ts, ssrc));
            seq = seq.wrapping_add(1);
            ts += 160;
            now += Duration::from_millis(20);
        }
        let mut expected = String::new();
        for p in &presses {
            expected.push(voxpin_media::dtmf::event_to_digit(p.event).unwrap());
            let event_ts = ts;
            let mut duration = 0u16;
            for k in 0..=p.updates {
                let lost = k == 0 && p.lose_start && p.updates > 0;
                if !lost {
                    let pkt = dtmf(te, k == 0, seq, event_ts, ssrc, p.event, false, duration);
                    send(&mut s, now, pkt.clone());
                    if p.duplicate_update {
                        send(&mut s, now, pkt);
                    }
                }
                seq = seq.wrapping_add(1);
                if audio_between {
                    send(&mut s, now, audio(seq, ts, ssrc));
                    seq = seq.wrapping_add(1);
                }
                now += Duration::from_millis(50);
                duration += 400;
                ts += 400;
            }
            for _ in 0..p.ends {
                send(&mut s, now, dtmf(te, false, seq, event_ts, ssrc, p.event, true, duration));
                if !p.ends_share_seq {
                    seq = seq.wrapping_add(1);
                }
            }
            if p.ends_share_seq {
                seq = seq.wrapping_add(1);
            }
            now += Duration::from_millis(p.gap_ms);
            ts += (p.gap_ms as u32) * 8;
        }
        now += Duration::from_secs(1);
        s.handle_timeout(now);
        let mut heard = String::new();
        while let Some(ev) = s.poll_event() {
            if let MediaEvent::Digit { digit, .. } = ev {
                heard.push(digit);
            }
        }
        prop_assert_eq!(heard, expected);
    }
}
