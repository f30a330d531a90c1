//! Strict RTP: the far end's source is fixed by SDP, or learned once at
//! call start from a few in-sequence packets and then locked; packets from
//! anywhere else are dropped and counted, so neither "RTP bleed" nor
//! injected DTMF works. Malformed packets and wild sequence jumps are
//! counted and dropped without a panic; silence raises an inactivity event.

mod common;

use std::time::Duration;

use common::*;
use proptest::prelude::*;
use voxpin_media::*;

fn config(symmetric: bool, remote: Option<&str>) -> SessionConfig {
    let mut c = SessionConfig::new(Codec::Pcmu, synthetic_library());
    c.symmetric = symmetric;
    c.remote = remote.map(addr);
    c.telephone_event = Some(101);
    c.inband_dtmf = false;
    c.inactivity_timeout = Duration::from_secs(5);
    c
}

fn digits(s: &mut MediaSession) -> String {
    let mut out = String::new();
    while let Some(ev) = s.poll_event() {
        if let MediaEvent::Digit { digit, .. } = ev {
            out.push(digit);
        }
    }
    out
}

#[test]
fn negotiated_source_only_and_injected_dtmf_is_dropped() {
    let t = epoch();
    let mut s = MediaSession::new(t, config(false, Some("192.0.2.1:4000")), &mut rng(1));
    let peer = addr("192.0.2.1:4000");
    let attacker = addr("198.51.100.7:4000");
    s.handle_rtp(t, peer, &audio(1, 0, 7));
    s.handle_rtp(t, peer, &audio(2, 160, 7));
    // The attacker sends a complete keypress, even with the right SSRC.
    for (i, end) in [false, true, true, true].iter().enumerate() {
        s.handle_rtp(
            t,
            attacker,
            &dtmf(101, i == 0, 3 + i as u16, 320, 7, 5, *end, 800),
        );
    }
    assert_eq!(digits(&mut s), "");
    assert_eq!(s.counters().dropped_wrong_source, 4);
    assert_eq!(s.destination(), Some(peer));
    // The real peer's digit is heard.
    s.handle_rtp(t, peer, &dtmf(101, true, 3, 320, 7, 1, true, 800));
    assert_eq!(digits(&mut s), "1");
}

#[test]
fn symmetric_rtp_learns_once_from_in_sequence_packets_then_locks() {
    let t = epoch();
    let mut s = MediaSession::new(t, config(true, Some("10.0.0.5:4000")), &mut rng(2));
    assert_eq!(
        s.destination(),
        Some(addr("10.0.0.5:4000")),
        "SDP address until learned"
    );
    let nat = addr("203.0.113.9:61000");
    let other = addr("203.0.113.66:5000");
    // Interleaved sources restart the learning; nothing is locked yet.
    s.handle_rtp(t, nat, &audio(10, 0, 1));
    s.handle_rtp(t, other, &audio(500, 0, 2));
    s.handle_rtp(t, nat, &audio(11, 160, 1));
    assert_eq!(s.poll_event(), None);
    // Three in sequence from one source (11, 12, 13) lock it.
    s.handle_rtp(t, nat, &audio(12, 320, 1));
    assert_eq!(s.poll_event(), None);
    s.handle_rtp(t, nat, &audio(13, 480, 1));
    assert_eq!(s.poll_event(), Some(MediaEvent::SourceLocked(nat)));
    assert_eq!(s.destination(), Some(nat));
    assert_eq!(s.counters().dropped_learning, 4);
    s.handle_rtp(t, nat, &audio(14, 640, 1));
    // After the lock nobody else gets in, however well they count.
    for i in 0..10u16 {
        s.handle_rtp(t, other, &audio(501 + i, 160 * u32::from(i), 2));
    }
    s.handle_rtp(t, other, &dtmf(101, true, 520, 9000, 2, 3, true, 800));
    assert_eq!(s.counters().dropped_wrong_source, 11);
    assert_eq!(digits(&mut s), "");
    // The locked source's packets go on being accepted, DTMF included.
    s.handle_rtp(t, nat, &audio(15, 800, 1));
    s.handle_rtp(t, nat, &dtmf(101, true, 16, 960, 1, 4, true, 800));
    assert_eq!(digits(&mut s), "4");
    assert_eq!(s.counters().dropped_sequence, 0);
}

#[test]
fn malformed_packets_and_wild_sequence_jumps_are_counted() {
    let t = epoch();
    let peer = addr("192.0.2.1:4000");
    let mut s = MediaSession::new(t, config(false, Some("192.0.2.1:4000")), &mut rng(3));
    s.handle_rtp(t, peer, &[]);
    s.handle_rtp(t, peer, &[0x80, 0, 0]);
    s.handle_rtp(t, peer, &[0x40; 20]); // version 1
    let mut truncated = audio(1, 0, 5);
    truncated[0] |= 0x0F; // 15 CSRCs that are not there
    truncated.truncate(20);
    s.handle_rtp(t, peer, &truncated);
    s.handle_rtp(t, peer, &audio(1, 0, 5));
    s.handle_rtp(t, peer, &audio(2, 160, 5));
    s.handle_rtp(t, peer, &rtp(101, false, 3, 320, 5, &[1, 2])); // short event
    s.handle_rtp(t, peer, &audio(30_000, 480, 5)); // wild jump
    let c = *s.counters();
    assert_eq!(c.packets_received, 8);
    assert_eq!(c.dropped_malformed, 5);
    assert_eq!(c.dropped_sequence, 2, "probation + jump");
}

#[test]
fn inactivity_is_reported_once_per_silence() {
    let t = epoch();
    let peer = addr("192.0.2.1:4000");
    let mut c = config(false, Some("192.0.2.1:4000"));
    c.send_when_idle = false;
    let mut s = MediaSession::new(t, c, &mut rng(4));
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_secs(5)));
    s.handle_timeout(t + Duration::from_millis(4999));
    assert_eq!(s.poll_event(), None);
    s.handle_timeout(t + Duration::from_secs(5));
    assert_eq!(s.poll_event(), Some(MediaEvent::Inactive));
    s.handle_timeout(t + Duration::from_secs(9));
    assert_eq!(s.poll_event(), None, "once");
    assert_eq!(s.poll_timeout(), None);
    // Traffic from a wrong source does not count as life.
    s.handle_rtp(
        t + Duration::from_secs(10),
        addr("192.0.2.99:4000"),
        &audio(1, 0, 1),
    );
    assert_eq!(s.poll_timeout(), None);
    let back = t + Duration::from_secs(11);
    s.handle_rtp(back, peer, &audio(1, 0, 1));
    s.handle_rtp(back, peer, &audio(2, 160, 1));
    assert_eq!(s.poll_timeout(), Some(back + Duration::from_secs(5)));
    s.handle_timeout(back + Duration::from_secs(5));
    assert_eq!(s.poll_event(), Some(MediaEvent::Inactive));
}

proptest! {
    #[test]
    fn any_datagram_is_handled_without_panic(
        datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..40),
        symmetric: bool,
    ) {
        let t = epoch();
        let peer = addr("192.0.2.1:4000");
        let mut c = config(symmetric, Some("192.0.2.1:4000"));
        c.inband_dtmf = true;
        c.learn_packets = 1;
        let mut s = MediaSession::new(t, c, &mut rng(5));
        for (i, d) in datagrams.iter().enumerate() {
            let mut d = d.clone();
            if let Some(b) = d.first_mut() {
                *b = (*b & 0x3F) | 0x80; // mostly version 2
            }
            s.handle_rtp(t + Duration::from_millis(i as u64 * 20), peer, &d);
            while s.poll_event().is_some() {}
        }
        prop_assert_eq!(s.counters().packets_received, datagrams.len() as u64);
    }
}
