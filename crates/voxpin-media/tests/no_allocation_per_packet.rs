//! The hot path does not allocate: once a pacer's sessions are running,
//! producing every packet of a simulated second for 200 calls, and receiving
//! audio and RFC 4733 digits for them, makes no heap allocation at all
//! (measured with a counting global allocator).

mod common;

use std::time::Duration;

use common::*;
use voxpin_media::*;

#[test]
fn steady_state_send_and_receive_make_no_allocation() {
    let t = epoch();
    let mut p = Pacer::new(t);
    let en = Language::new("en").unwrap();
    let list = Playlist::new(en)
        .with(ItemTag(1), PlayItem::Prompt("your-code-is".into()))
        .with(
            ItemTag(2),
            PlayItem::Code {
                digits: CodeDigits::new("481516").unwrap(),
                pacing: Pacing::default(),
            },
        );
    for i in 0..200u64 {
        let mut c = SessionConfig::new(Codec::Pcmu, synthetic_library());
        c.remote = Some(addr(&format!("127.0.0.1:{}", 20_000 + i)));
        c.symmetric = false;
        c.telephone_event = Some(101);
        c.inband_dtmf = true;
        p.insert(t, SessionKey(i), MediaSession::new(t, c, &mut rng(i)))
            .unwrap();
        p.play(t, SessionKey(i), &list).unwrap();
    }
    // Incoming packets prepared up front (building them allocates).
    let peers: Vec<_> = (0..200u64)
        .map(|i| addr(&format!("127.0.0.1:{}", 20_000 + i)))
        .collect();
    let peer = |i: u64| peers[i as usize];
    let audio_in: Vec<Vec<u8>> = (0..120u16)
        .map(|k| audio(k, u32::from(k) * 160, 9))
        .collect();
    let digit_in: Vec<Vec<u8>> = (0..4u16)
        .map(|k| dtmf(101, k == 0, 200 + k, 40_000, 9, 5, k > 0, 400))
        .collect();

    let mut now = t;
    let mut run = |p: &mut Pacer, from_slot: usize, slots: usize| {
        let mut sent = 0u64;
        let mut digits = 0u64;
        for k in from_slot..from_slot + slots {
            let until = t + Duration::from_millis(20 * (k as u64 + 1));
            while now < until {
                while p.poll_transmit(now).is_some() {
                    sent += 1;
                }
                now = p.poll_timeout().unwrap();
            }
            for i in 0..200 {
                if let Some(a) = audio_in.get(k) {
                    p.handle_rtp(now, SessionKey(i), peer(i), a).unwrap();
                }
            }
            if k == from_slot + 10 {
                for i in 0..200 {
                    for d in &digit_in {
                        p.handle_rtp(now, SessionKey(i), peer(i), d).unwrap();
                    }
                }
            }
            while let Some((_, ev)) = p.poll_event() {
                if matches!(ev, MediaEvent::Digit { .. }) {
                    digits += 1;
                }
            }
        }
        (sent, digits)
    };
    // Warm up: queues and buffers reach their working size.
    let (sent, digits) = run(&mut p, 0, 50);
    assert_eq!((sent, digits), (200 * 50, 200));
    let mut result = (0, 0);
    let info = allocation_counter::measure(|| {
        result = run(&mut p, 50, 50);
    });
    // The replayed keypress counts again (same key, new start packet later).
    assert_eq!(result, (200 * 50, 200), "a second of traffic ran");
    assert_eq!(info.count_total, 0, "allocations on the hot path: {info:?}");
}
