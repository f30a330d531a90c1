//! Helpers shared by the behaviour tests: a fixed epoch, seeded RNGs,
//! a synthetic prompt library and RTP packet builders.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use voxpin_media::dtmf::TelephoneEvent;
use voxpin_media::rtp::RtpHeader;
use voxpin_media::{Codec, PromptLibrary, Ssrc};

/// The instant simulated time starts from (the only clock read in tests).
#[allow(clippy::disallowed_methods)]
pub fn epoch() -> Instant {
    Instant::now()
}

/// A seeded RNG; the seed is printed so a failure can be replayed.
pub fn rng(seed: u64) -> ChaCha8Rng {
    println!("rng seed: {seed}");
    ChaCha8Rng::seed_from_u64(seed)
}

pub fn addr(s: &str) -> SocketAddr {
    s.parse().expect("test address")
}

/// The amplitude that marks synthetic prompt `name` (each frame constant).
pub fn marker_level(name: &str) -> i16 {
    match name {
        "your-code-is" => 500,
        "goodbye" => 700,
        d => 1000 + 1000 * d.parse::<i16>().unwrap_or(9),
    }
}

/// Synthetic prompts in `en`: digits 0–9 two frames each, `your-code-is`
/// three frames, `goodbye` one frame; every sample of a prompt is
/// [`marker_level`] so a frame identifies its prompt.
pub fn synthetic_library() -> Arc<PromptLibrary> {
    let mut b = PromptLibrary::builder();
    for d in 0..=9 {
        let name = d.to_string();
        b.add_samples("en", &name, &[marker_level(&name); 320])
            .unwrap();
    }
    b.add_samples("en", "your-code-is", &[marker_level("your-code-is"); 480])
        .unwrap();
    b.add_samples("en", "goodbye", &[marker_level("goodbye"); 160])
        .unwrap();
    Arc::new(b.build())
}

/// Which synthetic prompt (or silence) a PCMU payload is.
pub fn label(payload: &[u8]) -> String {
    let first = payload.first().copied().unwrap_or(0);
    assert!(payload.iter().all(|&b| b == first), "frame mixes prompts");
    if first == Codec::Pcmu.silence_byte() {
        return "-".into();
    }
    for name in [
        "your-code-is",
        "goodbye",
        "0",
        "1",
        "2",
        "3",
        "4",
        "5",
        "6",
        "7",
        "8",
        "9",
    ] {
        if Codec::Pcmu.encode_sample(marker_level(name)) == first {
            return name.into();
        }
    }
    panic!("unknown frame {first:#04x}");
}

/// An RTP packet.
pub fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 12 + payload.len()];
    let len = RtpHeader {
        payload_type: pt,
        marker,
        sequence: seq,
        timestamp: ts,
        ssrc: Ssrc(ssrc),
    }
    .write(payload, &mut out)
    .unwrap();
    out.truncate(len);
    out
}

/// An RFC 4733 packet.
#[allow(clippy::too_many_arguments)]
pub fn dtmf(
    pt: u8,
    marker: bool,
    seq: u16,
    ts: u32,
    ssrc: u32,
    event: u8,
    end: bool,
    duration: u16,
) -> Vec<u8> {
    let payload = TelephoneEvent {
        event,
        end,
        volume: 10,
        duration,
    }
    .to_bytes();
    rtp(pt, marker, seq, ts, ssrc, &payload)
}

/// A 20 ms PCMU silence packet.
pub fn audio(seq: u16, ts: u32, ssrc: u32) -> Vec<u8> {
    rtp(0, false, seq, ts, ssrc, &[0xFF; 160])
}
