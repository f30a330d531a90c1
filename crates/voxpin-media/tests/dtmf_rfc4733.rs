//! RFC 4733 digits as real senders send them. One keypress is one
//! (SSRC, timestamp, event); it is reported once, on its first end packet or
//! when a later event shows it ended, whatever the sender's habits:
//! SIPp (three end packets with one sequence number, one SSRC for all digits
//! apart from the audio, timestamps repeated when a digit repeats), pjsua
//! (payload type 120, digits back to back), baresip (audio interleaved,
//! distinct sequence numbers on the end packets), a first packet with
//! duration 0, an SSRC change, a lost start, lost ends and long events split
//! into segments.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::*;
use voxpin_media::*;

const PEER: &str = "192.0.2.10:30000";

struct Call {
    t: Instant,
    s: MediaSession,
    peer: SocketAddr,
}

impl Call {
    fn new(te: u8, seed: u64) -> Call {
        let t = epoch();
        let peer = addr(PEER);
        let mut config = SessionConfig::new(Codec::Pcmu, synthetic_library());
        config.remote = Some(peer);
        config.symmetric = false;
        config.telephone_event = Some(te);
        config.inband_dtmf = false;
        Call {
            t,
            s: MediaSession::new(t, config, &mut rng(seed)),
            peer,
        }
    }

    /// Delivers `packet` `ms` milliseconds after the previous one.
    fn at(&mut self, ms: u64, packet: Vec<u8>) {
        self.t += Duration::from_millis(ms);
        self.s.handle_rtp(self.t, self.peer, &packet);
    }

    fn digits(&mut self) -> String {
        let mut out = String::new();
        while let Some(ev) = self.s.poll_event() {
            if let MediaEvent::Digit { digit, source, .. } = ev {
                assert_eq!(source, DigitSource::Rfc4733);
                out.push(digit);
            }
        }
        out
    }
}

/// One digit the RFC 4733 way: start (marker), updates every 50 ms, three
/// end packets. `end_seq_step` 0 repeats the sequence number (SIPp).
fn keypress(
    pt: u8,
    seq: &mut u16,
    ts: u32,
    ssrc: u32,
    event: u8,
    end_seq_step: u16,
) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    for (i, d) in [0u16, 400, 800].iter().enumerate() {
        out.push((
            if i == 0 { 0 } else { 50 },
            dtmf(pt, i == 0, *seq, ts, ssrc, event, false, *d),
        ));
        *seq = seq.wrapping_add(1);
    }
    for i in 0..3 {
        out.push((
            if i == 0 { 50 } else { 0 },
            dtmf(pt, false, *seq, ts, ssrc, event, true, 1040),
        ));
        *seq = seq.wrapping_add(end_seq_step);
    }
    if end_seq_step == 0 {
        *seq = seq.wrapping_add(1);
    }
    out
}

#[test]
fn sipp_pcap_pattern_one_sequence_number_for_the_end_packets() {
    let mut c = Call::new(101, 1);
    // Audio on its own SSRC.
    for i in 0..5u16 {
        c.at(20, audio(100 + i, 1000 + u32::from(i) * 160, 0xAAAA));
    }
    // Digits "1", "2" then "1" again: one DTMF SSRC, fixed timestamps per
    // digit (the replayed "1" repeats its timestamp and sequence numbers).
    let mut seq = 5000;
    let one = keypress(101, &mut seq, 8000, 0xD7F0, 1, 0);
    let two = keypress(101, &mut seq, 16000, 0xD7F0, 2, 0);
    for (ms, p) in one.iter().chain(two.iter()) {
        c.at(*ms, p.clone());
    }
    // The first packet of the new SSRC is on RFC 3550 probation (dropped),
    // the digit is still recovered from its later packets.
    assert_eq!(c.digits(), "12");
    c.t += Duration::from_millis(500);
    for (ms, p) in one {
        c.at(ms, p);
    }
    assert_eq!(
        c.digits(),
        "1",
        "a replayed digit with the same timestamp is a new keypress"
    );
    // One probation drop per new SSRC: the audio's and the digits'.
    assert_eq!(c.s.counters().dropped_sequence, 2);
}

#[test]
fn pjsua_pattern_payload_type_120_back_to_back() {
    let mut c = Call::new(120, 2);
    for i in 0..3u16 {
        c.at(20, audio(i, u32::from(i) * 160, 0x5151));
    }
    // Each event starts right where the previous one ended (no gap), same
    // SSRC as the audio, which pauses during digits.
    let mut seq = 3;
    let mut ts = 480;
    for event in [5, 5, 3] {
        for (ms, p) in keypress(120, &mut seq, ts, 0x5151, event, 1) {
            c.at(ms, p);
        }
        ts += 1040;
    }
    assert_eq!(c.digits(), "553");
    // The same bytes on the "usual" 101 are not telephone events here.
    let before = c.s.counters().ignored_payload_type;
    c.at(20, dtmf(101, true, seq, ts, 0x5151, 9, true, 800));
    assert_eq!(c.digits(), "");
    assert_eq!(c.s.counters().ignored_payload_type, before + 1);
}

#[test]
fn baresip_pattern_audio_interleaved_distinct_end_sequence_numbers() {
    let mut c = Call::new(101, 3);
    let ssrc = 0xBA5E;
    let mut seq = 40_000u16;
    let mut audio_ts = 0u32;
    let next = |seq: &mut u16| {
        let s = *seq;
        *seq = seq.wrapping_add(1);
        s
    };
    for _ in 0..3 {
        let s = next(&mut seq);
        c.at(20, audio(s, audio_ts, ssrc));
        audio_ts += 160;
    }
    for event in [7u8, 0, 11] {
        let ts = audio_ts;
        for d in [0u16, 160, 320, 480] {
            let s = next(&mut seq);
            c.at(10, dtmf(101, d == 0, s, ts, ssrc, event, false, d));
            let s = next(&mut seq);
            c.at(10, audio(s, audio_ts, ssrc));
            audio_ts += 160;
        }
        for _ in 0..3 {
            let s = next(&mut seq);
            c.at(5, dtmf(101, false, s, ts, ssrc, event, true, 640));
        }
        for _ in 0..3 {
            let s = next(&mut seq);
            c.at(20, audio(s, audio_ts, ssrc));
            audio_ts += 160;
        }
    }
    assert_eq!(c.digits(), "70#");
}

#[test]
fn first_packet_with_duration_zero_lost_start_and_lost_end() {
    let mut c = Call::new(96, 4);
    let ssrc = 0x1234;
    c.at(20, audio(1, 0, ssrc));
    c.at(20, audio(2, 160, ssrc));
    // "4": starts with duration 0, ends normally; reported on the first end.
    c.at(20, dtmf(96, true, 3, 320, ssrc, 4, false, 0));
    assert_eq!(c.digits(), "");
    c.at(50, dtmf(96, false, 4, 320, ssrc, 4, true, 400));
    assert_eq!(c.digits(), "4");
    c.at(0, dtmf(96, false, 5, 320, ssrc, 4, true, 400));
    c.at(0, dtmf(96, false, 6, 320, ssrc, 4, true, 400));
    assert_eq!(c.digits(), "", "duplicate end packets");
    // "9": start packets lost; the first seen is an update without marker.
    c.at(200, dtmf(96, false, 9, 4000, ssrc, 9, false, 480));
    // Its end packets are all lost; "6" begins: "9" must have ended.
    c.at(300, dtmf(96, true, 13, 8000, ssrc, 6, false, 160));
    assert_eq!(c.digits(), "9");
    c.at(50, dtmf(96, false, 14, 8000, ssrc, 6, true, 560));
    assert_eq!(c.digits(), "6");
    // A late, reordered update of "6" after its end is not a new digit.
    c.at(1, dtmf(96, false, 12, 8000, ssrc, 6, false, 320));
    assert_eq!(c.digits(), "");
}

#[test]
fn ssrc_change_mid_call_and_mid_event() {
    let mut c = Call::new(101, 5);
    for i in 0..3u16 {
        c.at(20, audio(i, u32::from(i) * 160, 0xAAAA));
    }
    // "2" begins on the old SSRC and never ends there (re-INVITE, new stream).
    c.at(20, dtmf(101, true, 3, 480, 0xAAAA, 2, false, 0));
    c.at(50, dtmf(101, false, 4, 480, 0xAAAA, 2, false, 400));
    // The new SSRC's first packet is on probation; the second counts.
    c.at(20, audio(7000, 0, 0xBBBB));
    assert_eq!(c.digits(), "");
    c.at(20, audio(7001, 160, 0xBBBB));
    c.at(20, dtmf(101, true, 7002, 320, 0xBBBB, 3, false, 0));
    assert_eq!(
        c.digits(),
        "2",
        "the old stream's open event is closed by the new one"
    );
    c.at(50, dtmf(101, false, 7003, 320, 0xBBBB, 3, true, 400));
    assert_eq!(c.digits(), "3");
}

#[test]
fn long_event_split_into_segments_is_one_keypress() {
    let mut c = Call::new(101, 6);
    let ssrc = 0x10AA;
    c.at(20, audio(1, 0, ssrc));
    c.at(20, audio(2, 160, ssrc));
    let mut seq = 3u16;
    let mut send = |c: &mut Call, ms: u64, ts: u32, end: bool, d: u16, m: bool| {
        c.at(ms, dtmf(101, m, seq, ts, ssrc, 11, end, d));
        seq += 1;
    };
    // Segment 1: 0xFFFF units (~8.2 s), ending without the E bit.
    send(&mut c, 20, 320, false, 0, true);
    for d in (8000..65535).step_by(8000) {
        send(&mut c, 1000, 320, false, d as u16, false);
    }
    send(&mut c, 190, 320, false, 0xFFFF, false);
    assert_eq!(c.digits(), "");
    // Segment 2 starts at ts + 0xFFFF and ends the event.
    let ts2 = 320 + 0xFFFF;
    send(&mut c, 50, ts2, false, 400, false);
    send(&mut c, 50, ts2, false, 800, false);
    for _ in 0..3 {
        send(&mut c, 0, ts2, true, 1200, false);
    }
    let mut digits = Vec::new();
    while let Some(ev) = c.s.poll_event() {
        if let MediaEvent::Digit {
            digit, duration, ..
        } = ev
        {
            digits.push((digit, duration));
        }
    }
    assert_eq!(digits.len(), 1, "{digits:?}");
    assert_eq!(digits[0].0, '#');
    assert_eq!(digits[0].1, Duration::from_micros((65535 + 1200) * 125));
}

#[test]
fn an_event_whose_end_never_comes_is_reported_after_it_goes_stale() {
    let mut c = Call::new(101, 7);
    c.at(20, audio(1, 0, 9));
    c.at(20, audio(2, 160, 9));
    c.at(20, dtmf(101, true, 3, 320, 9, 8, false, 160));
    let deadline = c.t + Duration::from_millis(500);
    assert!(c.s.poll_timeout().unwrap() <= deadline);
    c.s.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(c.digits(), "");
    c.s.handle_timeout(deadline);
    assert_eq!(c.digits(), "8");
    // Its late end packets change nothing.
    c.at(600, dtmf(101, false, 4, 320, 9, 8, true, 800));
    assert_eq!(c.digits(), "");
}
