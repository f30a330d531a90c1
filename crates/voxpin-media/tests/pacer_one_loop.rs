//! One pacer drives many sessions: every packet leaves on its session's
//! absolute 20 ms grid, sessions are spread evenly over the phases of the
//! period, a stall is absorbed by skipping rather than bursting, sessions
//! come and go mid-tick without anyone losing a slot, and events carry the
//! session key.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::*;
use voxpin_media::pacer::PacerError;
use voxpin_media::rtp::RtpPacket;
use voxpin_media::*;

const FRAME: Duration = Duration::from_millis(20);

fn session(t: Instant, i: u64) -> MediaSession {
    let mut c = SessionConfig::new(Codec::Pcmu, synthetic_library());
    c.remote = Some(addr(&format!("127.0.0.1:{}", 20_000 + i)));
    c.symmetric = false;
    c.inactivity_timeout = Duration::from_secs(3600);
    MediaSession::new(t, c, &mut rng(i))
}

/// Runs the pacer to `until`, waking exactly at each `poll_timeout`; returns
/// per session the (send time, timestamp, sequence) of every packet.
fn run(
    p: &mut Pacer,
    from: Instant,
    until: Instant,
) -> HashMap<SessionKey, Vec<(Instant, u32, u16)>> {
    let mut sent: HashMap<SessionKey, Vec<_>> = HashMap::new();
    let mut now = from;
    while now < until {
        while let Some(tx) = p.poll_transmit(now) {
            let r = RtpPacket::parse(tx.packet).unwrap();
            sent.entry(tx.key)
                .or_default()
                .push((now, r.timestamp, r.sequence));
        }
        now = p.poll_timeout().unwrap();
    }
    sent
}

#[test]
fn many_sessions_on_exact_grids_spread_over_the_period() {
    let t = epoch();
    let mut p = Pacer::new(t);
    for i in 0..200 {
        p.insert(t, SessionKey(i), session(t, i)).unwrap();
    }
    assert_eq!(
        p.insert(t, SessionKey(3), session(t, 3)),
        Err(PacerError::DuplicateKey(SessionKey(3)))
    );
    let sent = run(&mut p, t, t + Duration::from_secs(2));
    assert_eq!(sent.len(), 200);
    let mut per_phase = [0usize; 20];
    for (key, packets) in &sent {
        assert_eq!(packets.len(), 100, "{key:?}");
        let (first, ts0, seq0) = packets[0];
        let phase = first.saturating_duration_since(t).as_millis() as usize;
        assert!(phase < 20, "first packet within the first period");
        per_phase[phase] += 1;
        for (k, (at, ts, seq)) in packets.iter().enumerate() {
            assert_eq!(*at, first + FRAME * k as u32, "{key:?} slot {k}");
            assert_eq!(*ts, ts0.wrapping_add(160 * k as u32));
            assert_eq!(*seq, seq0.wrapping_add(k as u16));
        }
    }
    assert!(per_phase.iter().all(|&n| n == 10), "{per_phase:?}");
    let h = p.lateness();
    assert_eq!(h.count(), 20_000);
    assert_eq!(h.max(), Duration::ZERO, "woken exactly on time");
}

#[test]
fn a_stall_visits_each_session_once_and_skips_missed_slots() {
    let t = epoch();
    let mut p = Pacer::new(t);
    for i in 0..40 {
        p.insert(t, SessionKey(i), session(t, i)).unwrap();
    }
    run(&mut p, t, t + Duration::from_millis(100));
    // Stall for 250 ms, then catch up once.
    let now = t + Duration::from_millis(350);
    let mut keys = Vec::new();
    while let Some(tx) = p.poll_transmit(now) {
        keys.push(tx.key);
        assert!(
            tx.lateness < FRAME,
            "only the latest slot is sent: {:?}",
            tx.lateness
        );
    }
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 40, "one packet per session, no burst");
    let skipped: u64 = (0..40)
        .map(|i| p.session(SessionKey(i)).unwrap().counters().slots_skipped)
        .sum();
    assert!(skipped >= 40 * 11, "{skipped}");
    assert!(p.lateness().max() < FRAME);
}

#[test]
fn sessions_removed_mid_tick_do_not_cost_others_a_slot() {
    let t = epoch();
    let mut p = Pacer::with_phases(t, 1); // everyone on the same tick
    for i in 0..10 {
        p.insert(t, SessionKey(i), session(t, i)).unwrap();
    }
    let mut first_tick = Vec::new();
    for _ in 0..4 {
        first_tick.push(p.poll_transmit(t).unwrap().key);
    }
    // Remove two already served and one not yet served, mid-iteration.
    p.remove(first_tick[0]).unwrap();
    p.remove(first_tick[2]).unwrap();
    let pending = (0..10)
        .map(SessionKey)
        .find(|k| !first_tick.contains(k))
        .unwrap();
    p.remove(pending).unwrap();
    assert!(p.remove(pending).is_none());
    let mut rest = Vec::new();
    while let Some(tx) = p.poll_transmit(t) {
        rest.push(tx.key);
    }
    assert_eq!(
        rest.len(),
        10 - 4 - 1,
        "everyone left is served exactly once"
    );
    for k in &rest {
        assert!(!first_tick.contains(k));
    }
    assert_eq!(p.len(), 7);
    let next = run(&mut p, t + FRAME, t + FRAME * 2);
    assert_eq!(next.len(), 7);
}

#[test]
fn events_carry_the_session_key() {
    let t = epoch();
    let mut p = Pacer::new(t);
    p.insert(t, SessionKey(7), session(t, 7)).unwrap();
    let en = Language::new("en").unwrap();
    let list = Playlist::new(en).with(ItemTag(1), PlayItem::Prompt("goodbye".into()));
    p.play(t, SessionKey(7), &list).unwrap();
    assert!(matches!(
        p.play(t, SessionKey(8), &list),
        Err(PacerError::UnknownKey(_))
    ));
    run(&mut p, t, t + FRAME * 2);
    assert_eq!(
        p.poll_event(),
        Some((SessionKey(7), MediaEvent::ItemFinished(ItemTag(1))))
    );
    assert_eq!(
        p.poll_event(),
        Some((SessionKey(7), MediaEvent::PlaylistFinished))
    );
    let peer = addr("127.0.0.1:20007");
    p.handle_rtp(t, SessionKey(7), peer, &audio(1, 0, 1))
        .unwrap();
    p.handle_rtp(t, SessionKey(7), peer, &audio(2, 160, 1))
        .unwrap();
    assert_eq!(
        p.session(SessionKey(7))
            .unwrap()
            .counters()
            .packets_received,
        2
    );
    assert_eq!(p.poll_event(), None);
}
