//! RFC 4733 DTMF as a pcap file SIPp can replay with `play_pcap_audio`.
//!
//! SIPp's own `dtmf_2833_*.pcap` files give every press of a digit the same
//! RTP timestamp, so a code with a repeated digit would look like one long
//! press. These are generated per test: one SSRC, increasing sequence
//! numbers, a distinct timestamp per digit, the end packet sent three times.

use std::time::Duration;

/// Payload type we offer for telephone-event (voxpin's offers use 101).
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// One RTP packet and when it leaves, relative to the first.
struct Timed {
    at: Duration,
    rtp: Vec<u8>,
}

/// Builds the pcap bytes for `digits`: a silence packet at t = 0, the first
/// digit at `lead_in`, each digit 100 ms long, `gap` between digits.
pub fn dtmf_pcap(digits: &str, lead_in: Duration, gap: Duration) -> Vec<u8> {
    let ssrc = 0x5eed_0001_u32;
    let mut seq: u16 = 1000;
    let mut packets = Vec::new();
    let mut next_seq = || {
        seq = seq.wrapping_add(1);
        seq
    };
    // A single PCMU silence packet opens the stream so the lead-in is honoured.
    packets.push(Timed {
        at: Duration::ZERO,
        rtp: rtp(0, false, next_seq(), 0, ssrc, &[0xff; 160]),
    });
    let mut at = lead_in;
    for (i, d) in digits.chars().enumerate() {
        let event = match d {
            '0'..='9' => d as u8 - b'0',
            '*' => 10,
            '#' => 11,
            _ => continue,
        };
        let ts = 8000 + (i as u32) * 16_000;
        for step in 1..=5u16 {
            let payload = event_payload(event, false, step * 160);
            packets.push(Timed {
                at: at + Duration::from_millis(u64::from(step - 1) * 20),
                rtp: rtp(
                    TELEPHONE_EVENT_PT,
                    step == 1,
                    next_seq(),
                    ts,
                    ssrc,
                    &payload,
                ),
            });
        }
        let end_seq = next_seq();
        for k in 0..3u64 {
            let payload = event_payload(event, true, 800);
            packets.push(Timed {
                at: at + Duration::from_millis(100 + k * 20),
                rtp: rtp(TELEPHONE_EVENT_PT, false, end_seq, ts, ssrc, &payload),
            });
        }
        at += Duration::from_millis(160) + gap;
    }
    to_pcap(&packets)
}

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
    let packets: Vec<Timed> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let payload: Vec<u8> = f.iter().map(|&x| ulaw(x)).collect();
            Timed {
                at: Duration::from_millis(20 * i as u64),
                rtp: rtp(
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
    to_pcap(&packets)
}

/// G.711 μ-law of one sample (ITU-T G.711, as the media crate encodes).
fn ulaw(sample: i16) -> u8 {
    voxpin_media::g711::linear_to_ulaw(sample)
}

fn event_payload(event: u8, end: bool, duration: u16) -> [u8; 4] {
    let [hi, lo] = duration.to_be_bytes();
    [event, if end { 0x80 | 10 } else { 10 }, hi, lo]
}

/// An RTP packet (version 2, no CSRC, no extension).
pub fn rtp(pt: u8, marker: bool, seq: u16, ts: u32, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + payload.len());
    p.push(0x80);
    p.push(if marker { 0x80 | pt } else { pt });
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&ts.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// Wraps RTP payloads in Ethernet/IPv4/UDP frames of a classic pcap file.
fn to_pcap(packets: &[Timed]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    let base = 1_700_000_000u64;
    for p in packets {
        let udp_len = 8 + p.rtp.len();
        let ip_len = 20 + udp_len;
        let mut frame = Vec::with_capacity(14 + ip_len);
        frame.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1,
        ];
        ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
        let sum = checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&6000u16.to_be_bytes());
        frame.extend_from_slice(&6002u16.to_be_bytes());
        frame.extend_from_slice(&(udp_len as u16).to_be_bytes());
        frame.extend_from_slice(&0u16.to_be_bytes());
        frame.extend_from_slice(&p.rtp);
        let secs = base + p.at.as_secs();
        out.extend_from_slice(&(secs as u32).to_le_bytes());
        out.extend_from_slice(&p.at.subsec_micros().to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&frame);
    }
    out
}

fn checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}
