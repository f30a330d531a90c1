//! RTP packets and the classic pcap files SIPp replays with
//! `play_pcap_audio`, in particular RFC 4733 DTMF keying a code.
//!
//! SIPp's own `dtmf_2833_*.pcap` files give every press of a digit the same
//! RTP timestamp, so a code with a repeated digit would look like one long
//! press. [`dtmf_pcap`] writes one SSRC, increasing sequence numbers, a
//! distinct timestamp per digit and the end packet three times.
//!
//! SIPp sends only the RTP inside each frame, from its own media port to the
//! peer's, at the times the records carry; the Ethernet, IPv4 and UDP headers
//! around it (loopback, ports 6000 → 6002) are there to make a valid file.

use std::net::Ipv4Addr;
use std::time::Duration;

/// Payload type of telephone-event in the SDP SIPp and voxpin exchange.
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// One RTP packet and when it leaves, relative to the first record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimedPacket {
    /// Offset from the start of the file.
    pub at: Duration,
    /// The RTP packet (header and payload).
    pub rtp: Vec<u8>,
}

/// An RTP packet: version 2, no padding, extension or CSRC; the marker bit
/// set when `marker`.
pub fn rtp_packet(
    payload_type: u8,
    marker: bool,
    sequence: u16,
    timestamp: u32,
    ssrc: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut p = Vec::with_capacity(12 + payload.len());
    p.push(0x80);
    p.push(if marker {
        0x80 | payload_type
    } else {
        payload_type
    });
    p.extend_from_slice(&sequence.to_be_bytes());
    p.extend_from_slice(&timestamp.to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// The RFC 4733 event code of a keypad digit: `0`–`9` are 0–9, `*` is 10,
/// `#` is 11; anything else (the A–D column included) has none here.
pub fn dtmf_event(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        _ => None,
    }
}

/// An RFC 4733 telephone-event payload (section 2.3): `event`, the end bit,
/// volume 10 (-10 dBm0) and `duration` in timestamp units (8 kHz).
pub fn telephone_event(event: u8, end: bool, duration: u16) -> [u8; 4] {
    let [hi, lo] = duration.to_be_bytes();
    [event, if end { 0x80 | 10 } else { 10 }, hi, lo]
}

/// A pcap file that keys `digits` as RFC 4733 events: one PCMU silence
/// packet at t = 0 (so SIPp honours the lead-in), then from `lead_in` on
/// each digit for 100 ms (five 20 ms packets, the first marked, then the
/// end packet three times), `gap` after the end of one digit's end packets
/// before the next. Characters without an event code are skipped, but still
/// count for the timestamp, which is 8000 + 16000 per position.
pub fn dtmf_pcap(digits: &str, lead_in: Duration, gap: Duration) -> Vec<u8> {
    let ssrc = 0x5eed_0001_u32;
    let mut seq: u16 = 1000;
    let mut next_seq = || {
        seq = seq.wrapping_add(1);
        seq
    };
    let mut packets = vec![TimedPacket {
        at: Duration::ZERO,
        rtp: rtp_packet(0, false, next_seq(), 0, ssrc, &[0xff; 160]),
    }];
    let mut at = lead_in;
    for (i, digit) in digits.chars().enumerate() {
        let Some(event) = dtmf_event(digit) else {
            continue;
        };
        let ts = 8000 + (i as u32) * 16_000;
        for step in 1..=5u16 {
            let payload = telephone_event(event, false, step * 160);
            packets.push(TimedPacket {
                at: at + Duration::from_millis(u64::from(step - 1) * 20),
                rtp: rtp_packet(
                    TELEPHONE_EVENT_PT,
                    step == 1,
                    next_seq(),
                    ts,
                    ssrc,
                    &payload,
                ),
            });
        }
        // RFC 4733 section 2.5.1.4: the end packet is sent three times,
        // with one sequence number.
        let end_seq = next_seq();
        let payload = telephone_event(event, true, 800);
        for k in 0..3u64 {
            packets.push(TimedPacket {
                at: at + Duration::from_millis(100 + k * 20),
                rtp: rtp_packet(TELEPHONE_EVENT_PT, false, end_seq, ts, ssrc, &payload),
            });
        }
        at += Duration::from_millis(160) + gap;
    }
    pcap_file(&packets)
}

/// A classic pcap file (microsecond timestamps, Ethernet link type) with
/// each packet in an Ethernet/IPv4/UDP frame from `127.0.0.1:6000` to
/// `127.0.0.1:6002`. Record times start at 1,700,000,000 s (November 2023)
/// plus each packet's `at`.
pub fn pcap_file(packets: &[TimedPacket]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4_u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes()); // version 2.4
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // GMT offset
    out.extend_from_slice(&0u32.to_le_bytes()); // timestamp accuracy
    out.extend_from_slice(&65535u32.to_le_bytes()); // snapshot length
    out.extend_from_slice(&1u32.to_le_bytes()); // Ethernet
    let base = 1_700_000_000u64;
    let lo = Ipv4Addr::LOCALHOST.octets();
    for packet in packets {
        let udp_len = 8 + packet.rtp.len();
        let ip_len = 20 + udp_len;
        let mut frame = Vec::with_capacity(14 + ip_len);
        frame.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00]);
        // IPv4, 20-byte header, don't fragment, TTL 64, UDP.
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 17, 0, 0];
        ip.extend_from_slice(&lo);
        ip.extend_from_slice(&lo);
        ip[2..4].copy_from_slice(&length_u16(ip_len).to_be_bytes());
        let sum = ipv4_checksum(&ip);
        ip[10..12].copy_from_slice(&sum.to_be_bytes());
        frame.extend_from_slice(&ip);
        frame.extend_from_slice(&6000u16.to_be_bytes());
        frame.extend_from_slice(&6002u16.to_be_bytes());
        frame.extend_from_slice(&length_u16(udp_len).to_be_bytes());
        frame.extend_from_slice(&0u16.to_be_bytes()); // no UDP checksum
        frame.extend_from_slice(&packet.rtp);
        let secs = base + packet.at.as_secs();
        let frame_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&(secs as u32).to_le_bytes());
        out.extend_from_slice(&packet.at.subsec_micros().to_le_bytes());
        out.extend_from_slice(&frame_len.to_le_bytes()); // captured
        out.extend_from_slice(&frame_len.to_le_bytes()); // on the wire
        out.extend_from_slice(&frame);
    }
    out
}

/// A header length field; RTP packets are far below 64 KiB, so the
/// saturation never shows.
fn length_u16(len: usize) -> u16 {
    u16::try_from(len).unwrap_or(u16::MAX)
}

/// The IPv4 header checksum (RFC 791): the ones' complement of the ones'
/// complement sum of the header's 16-bit words.
fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One record of a pcap file, its frame taken apart.
    #[derive(Debug)]
    struct Record {
        at: Duration,
        ip: Vec<u8>,
        udp: Vec<u8>,
        rtp: Vec<u8>,
    }

    fn u16_be(b: &[u8], at: usize) -> u16 {
        u16::from_be_bytes([b[at], b[at + 1]])
    }

    fn u32_be(b: &[u8], at: usize) -> u32 {
        u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    fn u32_le(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// Reads `file` back, checking the global header and every record's
    /// lengths on the way.
    fn read(file: &[u8]) -> Vec<Record> {
        assert_eq!(
            u32_le(file, 0),
            0xa1b2_c3d4,
            "magic: microseconds, little-endian"
        );
        assert_eq!(&file[4..8], &[2, 0, 4, 0], "version 2.4");
        assert_eq!(u32_le(file, 16), 65535, "snapshot length");
        assert_eq!(u32_le(file, 20), 1, "link type Ethernet");
        let mut records = Vec::new();
        let mut at = 24;
        while at < file.len() {
            let secs = u32_le(file, at);
            let micros = u32_le(file, at + 4);
            let captured = u32_le(file, at + 8) as usize;
            assert_eq!(u32_le(file, at + 12) as usize, captured, "whole frames");
            let frame = &file[at + 16..at + 16 + captured];
            at += 16 + captured;
            assert_eq!(&frame[12..14], &[0x08, 0x00], "EtherType IPv4");
            let ip = frame[14..34].to_vec();
            assert_eq!(ip[0], 0x45);
            assert_eq!(ip[9], 17, "UDP");
            assert_eq!(
                usize::from(u16_be(&ip, 2)),
                captured - 14,
                "IP total length"
            );
            assert_eq!(ipv4_checksum(&ip), 0, "the checksum sums to all ones");
            assert_eq!(&ip[12..20], &[127, 0, 0, 1, 127, 0, 0, 1]);
            let udp = frame[34..42].to_vec();
            assert_eq!(usize::from(u16_be(&udp, 4)), captured - 34, "UDP length");
            assert!(micros < 1_000_000);
            records.push(Record {
                at: Duration::from_secs(u64::from(secs) - 1_700_000_000)
                    + Duration::from_micros(u64::from(micros)),
                ip,
                udp,
                rtp: frame[42..].to_vec(),
            });
        }
        assert_eq!(at, file.len(), "no trailing bytes");
        records
    }

    #[test]
    fn rtp_packet_fields_sit_where_rfc_3550_puts_them() {
        let p = rtp_packet(101, true, 0xbeef, 0x0102_0304, 0x5eed_0001, &[9, 8]);
        assert_eq!(p.len(), 14);
        assert_eq!(p[0], 0x80, "version 2, no padding, extension or CSRC");
        assert_eq!(p[1], 0x80 | 101, "marker and payload type");
        assert_eq!(u16_be(&p, 2), 0xbeef);
        assert_eq!(u32_be(&p, 4), 0x0102_0304);
        assert_eq!(u32_be(&p, 8), 0x5eed_0001);
        assert_eq!(&p[12..], &[9, 8]);
        assert_eq!(rtp_packet(0, false, 1, 0, 0, &[])[1], 0);
    }

    #[test]
    fn telephone_events_carry_event_end_bit_volume_and_duration() {
        assert_eq!(telephone_event(5, false, 320), [5, 10, 0x01, 0x40]);
        assert_eq!(telephone_event(11, true, 800), [11, 0x80 | 10, 0x03, 0x20]);
        let events: Vec<_> = "0189*#A".chars().map(dtmf_event).collect();
        assert_eq!(
            events,
            [Some(0), Some(1), Some(8), Some(9), Some(10), Some(11), None]
        );
    }

    #[test]
    fn the_pcap_file_reads_back_packet_for_packet() {
        let packets = [
            TimedPacket {
                at: Duration::ZERO,
                rtp: rtp_packet(0, true, 7, 0, 42, &[0xff; 160]),
            },
            TimedPacket {
                at: Duration::from_millis(2_345),
                rtp: rtp_packet(0, false, 8, 160, 42, &[0x7f; 3]),
            },
        ];
        let records = read(&pcap_file(&packets));
        assert_eq!(records.len(), 2);
        for (record, packet) in records.iter().zip(&packets) {
            assert_eq!(record.at, packet.at);
            assert_eq!(record.rtp, packet.rtp);
            assert_eq!(u16_be(&record.udp, 0), 6000);
            assert_eq!(u16_be(&record.udp, 2), 6002);
            assert_eq!(record.ip[8], 64, "TTL");
        }
        assert_eq!(pcap_file(&[]).len(), 24, "the global header alone");
    }

    #[test]
    fn dtmf_pcap_keys_each_digit_as_rfc_4733_events() {
        let lead_in = Duration::from_millis(500);
        let gap = Duration::from_millis(100);
        let records = read(&dtmf_pcap("1#1", lead_in, gap));
        assert_eq!(
            records.len(),
            1 + 3 * 8,
            "silence, then 5 + 3 packets a digit"
        );

        let silence = &records[0];
        assert_eq!(silence.at, Duration::ZERO);
        assert_eq!(silence.rtp[1], 0, "PCMU, no marker");
        assert_eq!(&silence.rtp[12..], &[0xff; 160][..]);

        let mut sequences = vec![u16_be(&silence.rtp, 2)];
        for (i, (digit, event)) in [('1', 1u8), ('#', 11), ('1', 1)].into_iter().enumerate() {
            let start = lead_in + (Duration::from_millis(160) + gap) * i as u32;
            let packets = &records[1 + i * 8..1 + (i + 1) * 8];
            for (k, record) in packets.iter().enumerate() {
                let rtp = &record.rtp;
                let end = k >= 5;
                assert_eq!(rtp[1] & 0x7f, TELEPHONE_EVENT_PT);
                assert_eq!(rtp[1] & 0x80 != 0, k == 0, "only the first is marked");
                assert_eq!(
                    u32_be(rtp, 4),
                    8000 + 16_000 * i as u32,
                    "one timestamp a digit"
                );
                assert_eq!(u32_be(rtp, 8), 0x5eed_0001, "one SSRC");
                let duration = if end { 800 } else { 160 * (k as u16 + 1) };
                assert_eq!(
                    &rtp[12..],
                    &telephone_event(event, end, duration),
                    "digit {digit}, packet {k}"
                );
                assert_eq!(record.at, start + Duration::from_millis(20 * k as u64));
                if k <= 5 {
                    sequences.push(u16_be(rtp, 2));
                } else {
                    assert_eq!(u16_be(rtp, 2), u16_be(&packets[5].rtp, 2), "end repeats");
                }
            }
        }
        let expected: Vec<u16> = (1001..1001 + sequences.len() as u16).collect();
        assert_eq!(sequences, expected, "sequence numbers count up by one");
    }

    #[test]
    fn dtmf_pcap_skips_what_has_no_event_but_keeps_its_time_slot_in_the_timestamp() {
        let records = read(&dtmf_pcap("x2", Duration::ZERO, Duration::ZERO));
        assert_eq!(records.len(), 1 + 8);
        assert_eq!(records[1].at, Duration::ZERO, "no time passes for `x`");
        assert_eq!(u32_be(&records[1].rtp, 4), 8000 + 16_000);
        assert_eq!(records[1].rtp[12], 2);
    }
}
