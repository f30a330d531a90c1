//! The pcap files SIPp replays with `play_pcap_audio` in these tests:
//! RFC 4733 DTMF from `voxpin-testkit` (shared with the benchmark), and
//! in-band DTMF tones, which only these tests play.

use std::time::Duration;

use voxpin_testkit::pcap::{pcap_file, rtp_packet, TimedPacket};

pub use voxpin_testkit::pcap::dtmf_pcap;

/// Builds the pcap bytes for `digits` as in-band DTMF tones in PCMU audio:
/// `lead_in` of silence, then per digit 120 ms of the tone pair and 200 ms
/// of silence, one 20 ms packet after another (a continuous stream).
pub fn inband_pcap(digits: &str, lead_in: Duration) -> Vec<u8> {
    const ROWS: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
    const COLS: [f64; 3] = [1209.0, 1336.0, 1477.0];
    let ssrc = 0x5eed_0002_u32;
    let mut frames: Vec<[i16; 160]> = Vec::new();
    let silence = (lead_in.as_millis() / 20) as usize;
    frames.extend(std::iter::repeat_n([0i16; 160], silence));
    let mut sample = 0u64;
    for d in digits.chars() {
        let (r, c) = match d {
            '1' => (0, 0),
            '2' => (0, 1),
            '3' => (0, 2),
            '4' => (1, 0),
            '5' => (1, 1),
            '6' => (1, 2),
            '7' => (2, 0),
            '8' => (2, 1),
            '9' => (2, 2),
            '*' => (3, 0),
            '0' => (3, 1),
            _ => (3, 2),
        };
        for _ in 0..6 {
            let mut f = [0i16; 160];
            for (n, s) in f.iter_mut().enumerate() {
                let t = (sample + n as u64) as f64 / 8000.0;
                let v = 0.25 * (2.0 * std::f64::consts::PI * ROWS[r] * t).sin()
                    + 0.25 * (2.0 * std::f64::consts::PI * COLS[c] * t).sin();
                *s = (v * f64::from(i16::MAX)) as i16;
            }
            sample += 160;
            frames.push(f);
        }
        frames.extend(std::iter::repeat_n([0i16; 160], 10));
        sample += 1600;
    }
    let packets: Vec<TimedPacket> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let payload: Vec<u8> = f.iter().map(|&x| ulaw(x)).collect();
            TimedPacket {
                at: Duration::from_millis(20 * i as u64),
                rtp: rtp_packet(
                    0,
                    i == 0,
                    2000u16.wrapping_add(i as u16),
                    (i as u32) * 160,
                    ssrc,
                    &payload,
                ),
            }
        })
        .collect();
    pcap_file(&packets)
}

/// G.711 μ-law of one sample (ITU-T G.711, as the media crate encodes).
fn ulaw(sample: i16) -> u8 {
    voxpin_media::g711::linear_to_ulaw(sample)
}
