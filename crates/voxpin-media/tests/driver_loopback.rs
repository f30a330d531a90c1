//! The driver over real loopback sockets: a worker plays a prompt to a
//! plain UDP "phone", learns the phone's address from its RTP (symmetric
//! RTP), hears its RFC 4733 digit, and releases the port on removal.
#![cfg(feature = "driver")]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::*;
use tokio::net::UdpSocket;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::timeout;
use voxpin_media::driver::{MediaWorker, PortAllocator, PortRange};
use voxpin_media::rtp::RtpPacket;
use voxpin_media::*;

async fn next(
    events: &mut UnboundedReceiver<(SessionKey, MediaEvent)>,
) -> (SessionKey, MediaEvent) {
    timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("event in time")
        .expect("worker running")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plays_learns_and_hears_a_digit_over_loopback() {
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let ports = PortAllocator::new(
        ip,
        PortRange {
            first: 38_200,
            last: 38_299,
        },
    );
    let (worker, mut events) = MediaWorker::spawn("rtp-test").unwrap();
    let phone = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let phone_addr = phone.local_addr().unwrap();

    let socket = ports.bind().unwrap();
    let ours = socket.local_addr().unwrap();
    assert_eq!(ours.port() % 2, 0);
    let mut config = SessionConfig::new(Codec::Pcmu, synthetic_library());
    config.telephone_event = Some(101);
    config.symmetric = true;
    config.remote = None; // learned from the phone's packets
    config.inband_dtmf = false;
    let session = MediaSession::new(epoch(), config, &mut rng(1));
    let key = SessionKey(1);
    worker.insert(key, session, socket).unwrap();
    let en = Language::new("en").unwrap();
    worker
        .play(
            key,
            Playlist::new(en).with(ItemTag(5), PlayItem::Prompt("your-code-is".into())),
        )
        .unwrap();

    // The phone talks first (NAT-style): three in-sequence packets lock it.
    for i in 0..3u16 {
        phone
            .send_to(&audio(i, u32::from(i) * 160, 77), ours)
            .await
            .unwrap();
    }
    assert_eq!(
        next(&mut events).await,
        (key, MediaEvent::SourceLocked(phone_addr))
    );

    // Now it hears our stream.
    let mut buf = [0u8; 1500];
    let mut labels = Vec::new();
    while labels.len() < 5 {
        let (n, from) = timeout(Duration::from_secs(5), phone.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(from, ours, "symmetric: sent from the port we receive on");
        labels.push(label(RtpPacket::parse(&buf[..n]).unwrap().payload));
    }
    assert!(labels.iter().any(|l| l == "your-code-is"), "{labels:?}");

    for (i, (end, d)) in [
        (false, 0),
        (false, 160),
        (true, 480),
        (true, 480),
        (true, 480),
    ]
    .iter()
    .enumerate()
    {
        let p = dtmf(101, i == 0, 3 + i as u16, 480, 77, 7, *end, *d);
        phone.send_to(&p, ours).await.unwrap();
    }
    let mut seen = Vec::new();
    while !seen.iter().any(|e| matches!(e, MediaEvent::Digit { .. })) {
        seen.push(next(&mut events).await.1);
    }
    assert!(
        seen.contains(&MediaEvent::Digit {
            digit: '7',
            source: DigitSource::Rfc4733,
            duration: Duration::from_millis(60)
        }),
        "{seen:?}"
    );

    let report = worker.report().unwrap();
    assert_eq!(report.sessions, 1);
    assert!(report.packets_sent >= 5);
    assert_eq!(report.packets_received, 8);
    worker.remove(key).unwrap();
    let _ = worker.report().unwrap(); // the removal has been processed
                                      // The port is free again (the allocator hands it out once more in turn).
    let again: Vec<_> = (0..50).map(|_| ports.bind().unwrap()).collect();
    assert!(again.iter().any(|s| s.local_addr().unwrap() == ours));
    worker.shutdown();
}
