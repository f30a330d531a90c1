//! Fuzzes a whole session's receive path: strict source learning, RFC 3550
//! sequence validation, RFC 4733 and in-band DTMF, with datagrams cut from
//! the input and alternating between two sources. Nothing may panic and
//! every datagram must be counted.
//!
//! Run with `cargo +nightly fuzz run session_receive` in `crates/voxpin-media/fuzz`.
#![no_main]

use std::sync::Arc;
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rand::rngs::StdRng;
use rand::SeedableRng;
use voxpin_media::{Codec, MediaSession, PromptLibrary, SessionConfig, PACKET_LEN};

fuzz_target!(|data: &[u8]| {
    #[allow(clippy::disallowed_methods)]
    let start = Instant::now();
    let mut config = SessionConfig::new(Codec::Pcmu, Arc::new(PromptLibrary::default()));
    config.telephone_event = Some(101);
    config.learn_packets = 2;
    config.remote = Some("127.0.0.1:4000".parse().expect("literal address"));
    let mut session = MediaSession::new(start, config, &mut StdRng::seed_from_u64(7));
    let sources = [
        "127.0.0.1:4000".parse().expect("literal"),
        "10.0.0.1:5000".parse().expect("literal"),
    ];
    let mut count = 0u64;
    let mut buf = [0u8; PACKET_LEN];
    for (i, datagram) in data.split(|&b| b == 0xFE).enumerate() {
        let now = start + Duration::from_millis(i as u64 * 7);
        session.handle_rtp(now, sources[i % 2], datagram);
        count += 1;
        session.handle_timeout(now);
        while session.poll_transmit(now, &mut buf).is_some() {}
        while session.poll_event().is_some() {}
    }
    assert_eq!(session.counters().packets_received, count);
});
