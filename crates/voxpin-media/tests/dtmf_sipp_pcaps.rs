//! SIPp's own RFC 4733 captures, byte for byte: the twelve
//! `dtmf_2833_*.pcap` files shipped by Debian's `sip-tester` package (what
//! SIPp sends with `<exec play_pcap_audio=...>`). They share one SSRC, keep
//! a fixed timestamp per digit, jump sequence numbers between files and
//! repeat one sequence number for the three end packets. Played in a row,
//! with a digit repeated, every keypress must be heard exactly once.
//!
//! The captures are read from the installed package (CI installs
//! `sip-tester`); they are not copied into this repository.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use voxpin_media::*;

const PCAP_DIR: &str = "/usr/share/sip-tester";

/// (microseconds since the first packet, UDP payload) of every packet.
fn read_pcap(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (install Debian's sip-tester package)",
            path.display()
        )
    });
    let le = match bytes.get(..4) {
        Some([0xd4, 0xc3, 0xb2, 0xa1]) => true,
        Some([0xa1, 0xb2, 0xc3, 0xd4]) => false,
        _ => panic!("{}: not a classic pcap file", path.display()),
    };
    let u32_at = |b: &[u8], at: usize| {
        let x: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if le {
            u32::from_le_bytes(x)
        } else {
            u32::from_be_bytes(x)
        }
    };
    assert_eq!(u32_at(&bytes, 20), 1, "Ethernet link type");
    let mut out = Vec::new();
    let mut at = 24;
    let mut first = None;
    while at + 16 <= bytes.len() {
        let micros = u64::from(u32_at(&bytes, at)) * 1_000_000 + u64::from(u32_at(&bytes, at + 4));
        let len = u32_at(&bytes, at + 8) as usize;
        let frame = &bytes[at + 16..at + 16 + len];
        at += 16 + len;
        // Ethernet (14) + IPv4 (IHL words) + UDP (8).
        assert_eq!(&frame[12..14], &[0x08, 0x00], "IPv4");
        let ihl = usize::from(frame[14] & 0x0F) * 4;
        assert_eq!(frame[14 + 9], 17, "UDP");
        let udp = 14 + ihl;
        let start = *first.get_or_insert(micros);
        out.push((micros - start, frame[udp + 8..].to_vec()));
    }
    out
}

fn pcap_for(digit: char) -> Vec<(u64, Vec<u8>)> {
    let name = match digit {
        '*' => "star".to_string(),
        '#' => "pound".to_string(),
        d => d.to_string(),
    };
    read_pcap(&Path::new(PCAP_DIR).join(format!("dtmf_2833_{name}.pcap")))
}

fn play(sequence: &str, gap: Duration) -> (String, MediaCounters) {
    let t0 = epoch();
    let peer = addr("192.0.2.50:49176");
    let mut c = SessionConfig::new(Codec::Pcmu, synthetic_library());
    c.remote = Some(peer);
    c.symmetric = false;
    c.telephone_event = Some(101);
    c.inband_dtmf = false;
    let mut s = MediaSession::new(t0, c, &mut rng(1));
    let mut now = t0;
    let mut heard = String::new();
    for digit in sequence.chars() {
        let packets = pcap_for(digit);
        assert_eq!(packets.len(), 10, "{digit}: SIPp's capture layout");
        let start = now;
        for (micros, datagram) in packets {
            now = start + Duration::from_micros(micros);
            s.handle_rtp(now, peer, &datagram);
        }
        now += gap;
        s.handle_timeout(now);
        while let Some(ev) = s.poll_event() {
            if let MediaEvent::Digit { digit, source, .. } = ev {
                assert_eq!(source, DigitSource::Rfc4733);
                heard.push(digit);
            }
        }
    }
    (heard, *s.counters())
}

#[test]
fn each_sipp_capture_is_one_keypress() {
    for d in "0123456789*#".chars() {
        let (heard, _) = play(&d.to_string(), Duration::from_millis(200));
        assert_eq!(heard, d.to_string());
    }
}

#[test]
fn a_sipp_digit_sequence_with_a_repeat_is_heard_exactly() {
    let code = "15*#0119";
    let (heard, counters) = play(code, Duration::from_millis(250));
    assert_eq!(heard, code);
    assert_eq!(counters.dropped_wrong_source, 0);
    assert_eq!(counters.dropped_malformed, 0);
}
