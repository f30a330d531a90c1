//! Playout runs on absolute 20 ms deadlines: slot k leaves at t0 + k·20 ms
//! with timestamp ts0 + k·160, for ten simulated minutes without drift,
//! whatever the caller's wake-up jitter; a stall skips the missed slots
//! instead of bursting; a playlist with pacing yields exactly the frames,
//! silences and events it describes.

mod common;

use std::time::Duration;

use common::*;
use rand::Rng;
use voxpin_media::rtp::RtpPacket;
use voxpin_media::*;

const FRAME: Duration = Duration::from_millis(20);

fn session(seed: u64, send_when_idle: bool) -> (std::time::Instant, MediaSession) {
    let t0 = epoch();
    let mut config = SessionConfig::new(Codec::Pcmu, synthetic_library());
    config.remote = Some(addr("127.0.0.1:40000"));
    config.symmetric = false;
    config.send_when_idle = send_when_idle;
    config.inactivity_timeout = Duration::from_secs(3600);
    (t0, MediaSession::new(t0, config, &mut rng(seed)))
}

#[test]
fn every_slot_is_exact_over_ten_simulated_minutes() {
    let (t0, mut s) = session(1, true);
    let mut jitter = rng(2);
    let mut buf = [0u8; PACKET_LEN];
    let slots = 10 * 60 * 50;
    let mut first: Option<(u16, u32)> = None;
    for k in 0..slots {
        let deadline = s.poll_timeout().unwrap();
        assert_eq!(deadline, t0 + FRAME * k, "slot {k} deadline");
        // Wake up late by up to 19 ms: still the same slot, nothing skipped.
        let now = deadline + Duration::from_micros(jitter.random_range(0..19_000));
        let tx = s.poll_transmit(now, &mut buf).expect("a packet per slot");
        assert_eq!(tx.deadline, deadline);
        assert!(
            s.poll_transmit(now, &mut buf[..]).is_none(),
            "one packet per slot"
        );
        let p = RtpPacket::parse(&buf[..tx.len]).unwrap();
        let (seq0, ts0) = *first.get_or_insert((p.sequence, p.timestamp));
        assert_eq!(p.sequence, seq0.wrapping_add(k as u16));
        assert_eq!(p.timestamp, ts0.wrapping_add(k * 160));
        assert_eq!(p.marker, k == 0, "marker only at the start");
        assert_eq!(p.ssrc, s.ssrc());
    }
    assert_eq!(s.counters().packets_sent, u64::from(slots));
    assert_eq!(s.counters().slots_skipped, 0);
}

#[test]
fn a_stall_skips_missed_slots_instead_of_bursting() {
    let (t0, mut s) = session(3, true);
    let mut buf = [0u8; PACKET_LEN];
    let mut last = None;
    for k in 0..10 {
        let tx = s.poll_transmit(t0 + FRAME * k, &mut buf).unwrap();
        last = Some(RtpPacket::parse(&buf[..tx.len]).unwrap().sequence);
    }
    // Next slot is 10 (200 ms); wake at 285 ms: slots 10..=13 are gone.
    let now = t0 + Duration::from_millis(285);
    let tx = s.poll_transmit(now, &mut buf).unwrap();
    assert_eq!(tx.deadline, t0 + FRAME * 14);
    let packet = buf;
    let p = RtpPacket::parse(&packet[..tx.len]).unwrap();
    assert_eq!(
        p.sequence,
        last.unwrap().wrapping_add(1),
        "sequence stays contiguous"
    );
    assert!(p.marker, "the discontinuity is marked");
    assert!(s.poll_transmit(now, &mut buf).is_none(), "no burst");
    assert_eq!(s.counters().slots_skipped, 4);
    assert_eq!(s.poll_timeout(), Some(t0 + FRAME * 15));
    let next = s.poll_transmit(t0 + FRAME * 15, &mut buf).unwrap();
    let q = RtpPacket::parse(&buf[..next.len]).unwrap();
    assert_eq!(q.timestamp.wrapping_sub(p.timestamp), 160);
    assert!(!q.marker);
}

/// Runs `s` slot by slot until the playlist finishes; returns frame labels
/// and (frame index, event) pairs.
fn run_playlist(
    t0: std::time::Instant,
    s: &mut MediaSession,
) -> (Vec<String>, Vec<(usize, MediaEvent)>) {
    let mut buf = [0u8; PACKET_LEN];
    let mut labels = Vec::new();
    let mut events = Vec::new();
    for k in 0..1000u32 {
        let tx = s.poll_transmit(t0 + FRAME * k, &mut buf).unwrap();
        labels.push(label(RtpPacket::parse(&buf[..tx.len]).unwrap().payload));
        while let Some(ev) = s.poll_event() {
            let done = ev == MediaEvent::PlaylistFinished;
            events.push((labels.len(), ev));
            if done {
                return (labels, events);
            }
        }
    }
    panic!("playlist never finished");
}

#[test]
fn a_paced_code_yields_the_right_frame_sequence_and_events() {
    let (t0, mut s) = session(4, true);
    let pacing = Pacing {
        digit_gap: Duration::from_millis(40),
        group_sizes: vec![3, 3],
        group_gap: Duration::from_millis(100),
        final_pause: Duration::from_millis(50),
    };
    let en = Language::new("en").unwrap();
    let playlist = Playlist::new(en)
        .with(ItemTag(1), PlayItem::Prompt("your-code-is".into()))
        .with(ItemTag(2), PlayItem::Silence(Duration::from_millis(50)))
        .with(
            ItemTag(3),
            PlayItem::Code {
                digits: CodeDigits::new("481516").unwrap(),
                pacing,
            },
        )
        .with(ItemTag(4), PlayItem::Prompt("goodbye".into()));
    s.play(t0, &playlist).unwrap();
    let (labels, events) = run_playlist(t0, &mut s);

    let mut expected: Vec<&str> = vec!["your-code-is"; 3];
    expected.extend(["-"; 3]); // 50 ms rounds up to 3 frames
    for (i, d) in ["4", "8", "1", "5", "1", "6"].iter().enumerate() {
        expected.extend([*d, *d]);
        let gap = match i {
            2 => 5, // group gap 100 ms
            5 => 3, // final pause 50 ms → 3 frames
            _ => 2, // digit gap 40 ms
        };
        expected.extend(std::iter::repeat_n("-", gap));
    }
    expected.push("goodbye");
    assert_eq!(labels, expected);
    let finished_at = 3 + 3 + 6 * 2 + 2 * 4 + 5 + 3;
    assert_eq!(
        events,
        vec![
            (3, MediaEvent::ItemFinished(ItemTag(1))),
            (6, MediaEvent::ItemFinished(ItemTag(2))),
            (finished_at, MediaEvent::ItemFinished(ItemTag(3))),
            (finished_at + 1, MediaEvent::ItemFinished(ItemTag(4))),
            (finished_at + 1, MediaEvent::PlaylistFinished),
        ]
    );
}

#[test]
fn grouping_runs_on_past_the_last_group_and_play_replaces() {
    let (t0, mut s) = session(5, true);
    let pacing = Pacing {
        digit_gap: Duration::from_millis(20),
        group_sizes: vec![2],
        group_gap: Duration::from_millis(60),
        final_pause: Duration::ZERO,
    };
    let en = Language::new("en").unwrap();
    let code = Playlist::new(en.clone()).with(
        ItemTag(9),
        PlayItem::Code {
            digits: CodeDigits::new("1234").unwrap(),
            pacing,
        },
    );
    // Something else was playing: play() replaces it without its events.
    let other = Playlist::new(en).with(ItemTag(8), PlayItem::Prompt("goodbye".into()));
    s.play(t0, &other).unwrap();
    s.play(t0, &code).unwrap();
    let (labels, events) = run_playlist(t0, &mut s);
    let expected = [
        "1", "1", "-", "2", "2", "-", "-", "-", "3", "3", "-", "4", "4",
    ];
    assert_eq!(labels, expected);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].1, MediaEvent::ItemFinished(ItemTag(9)));
}

#[test]
fn quiet_when_idle_restarts_on_the_slot_grid_with_a_marker() {
    let (t0, mut s) = session(6, false);
    let mut buf = [0u8; PACKET_LEN];
    assert!(
        s.poll_transmit(t0 + FRAME * 3, &mut buf).is_none(),
        "silent before play"
    );
    assert_eq!(s.next_send_deadline(), None);
    let en = Language::new("en").unwrap();
    let p = Playlist::new(en).with(ItemTag(1), PlayItem::Prompt("goodbye".into()));
    let start = t0 + Duration::from_millis(1234);
    s.play(start, &p).unwrap();
    assert_eq!(
        s.next_send_deadline(),
        Some(t0 + FRAME * 62),
        "next slot on the grid"
    );
    let tx = s.poll_transmit(t0 + FRAME * 62, &mut buf).unwrap();
    let packet = buf;
    let first = RtpPacket::parse(&packet[..tx.len]).unwrap();
    assert!(first.marker);
    assert_eq!(label(first.payload), "goodbye");
    assert_eq!(s.poll_event(), Some(MediaEvent::ItemFinished(ItemTag(1))));
    assert_eq!(s.poll_event(), Some(MediaEvent::PlaylistFinished));
    assert!(
        s.poll_transmit(t0 + FRAME * 63, &mut buf).is_none(),
        "quiet again"
    );
    // Playing again later keeps the timestamp on the same grid.
    s.play(t0 + FRAME * 100, &p).unwrap();
    let tx = s.poll_transmit(t0 + FRAME * 100, &mut buf).unwrap();
    let again = RtpPacket::parse(&buf[..tx.len]).unwrap();
    assert_eq!(again.timestamp.wrapping_sub(first.timestamp), 38 * 160);
    assert_eq!(again.sequence, first.sequence.wrapping_add(1));
    assert!(again.marker);
}

#[test]
fn stop_silences_at_once_and_unknown_prompts_are_refused() {
    let (t0, mut s) = session(7, true);
    let en = Language::new("en").unwrap();
    let p = Playlist::new(en.clone()).with(ItemTag(1), PlayItem::Prompt("your-code-is".into()));
    s.play(t0, &p).unwrap();
    let mut buf = [0u8; PACKET_LEN];
    let tx = s.poll_transmit(t0, &mut buf).unwrap();
    assert_eq!(label(&buf[12..tx.len]), "your-code-is");
    s.stop(t0 + FRAME);
    let tx = s.poll_transmit(t0 + FRAME, &mut buf).unwrap();
    assert_eq!(label(&buf[12..tx.len]), "-");
    assert_eq!(s.poll_event(), None);

    let missing = Playlist::new(en).with(ItemTag(2), PlayItem::Prompt("nope".into()));
    let e = s.play(t0, &missing).unwrap_err();
    assert_eq!(
        e.to_string(),
        "prompt en/nope.wav is not in the prompt library"
    );
    let mut b = PromptLibrary::builder();
    b.add_samples("xx", "1", &[0; 160]).unwrap();
    let mut config = SessionConfig::new(Codec::Pcma, std::sync::Arc::new(b.build()));
    config.remote = Some(addr("127.0.0.1:1"));
    let mut s = MediaSession::new(t0, config, &mut rng(8));
    let code = Playlist::new(Language::new("xx").unwrap()).with(
        ItemTag(3),
        PlayItem::Code {
            digits: CodeDigits::new("17").unwrap(),
            pacing: Pacing::default(),
        },
    );
    let e = s.play(t0, &code).unwrap_err().to_string();
    assert!(!e.contains('7'), "the code digit stays secret: {e}");
}
