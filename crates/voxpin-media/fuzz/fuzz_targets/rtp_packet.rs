//! Fuzzes RTP header parsing. Properties beyond "no panic": the payload lies
//! inside the datagram after the fixed header, and a parsed packet rebuilt
//! from its fields parses back to the same fields and payload.
//!
//! Run with `cargo +nightly fuzz run rtp_packet` in `crates/voxpin-media/fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voxpin_media::rtp::{RtpHeader, RtpPacket, HEADER_LEN};

fuzz_target!(|data: &[u8]| {
    let Ok(p) = RtpPacket::parse(data) else {
        return;
    };
    assert!(p.payload.len() + HEADER_LEN <= data.len());
    let header = RtpHeader {
        payload_type: p.payload_type,
        marker: p.marker,
        sequence: p.sequence,
        timestamp: p.timestamp,
        ssrc: p.ssrc,
    };
    let mut buf = vec![0u8; HEADER_LEN + p.payload.len()];
    let len = header
        .write(p.payload, &mut buf)
        .expect("buffer sized for the packet");
    let q = RtpPacket::parse(&buf[..len]).expect("rebuilt packet parses");
    assert_eq!(
        (
            q.payload_type,
            q.marker,
            q.sequence,
            q.timestamp,
            q.ssrc,
            q.payload
        ),
        (
            p.payload_type,
            p.marker,
            p.sequence,
            p.timestamp,
            p.ssrc,
            p.payload
        )
    );
});
