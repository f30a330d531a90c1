//! Hundreds of calls in flight at once between two endpoints: each is set
//! up, confirmed and torn down independently, none is confused with
//! another, and the whole run (simulated minutes) takes a fraction of a
//! second. Prints the set-up rate the endpoints sustained in real time.

mod support;

use std::collections::HashSet;
use std::time::Duration;

use bytes::Bytes;
use support::{NetConfig, Pair};
use voxpin_sip::Event;

#[test]
fn five_hundred_concurrent_calls_complete_independently() {
    const CALLS: usize = 500;
    let mut pair = Pair::new(61, NetConfig::lossy());
    #[allow(clippy::disallowed_methods)] // measures the harness's real run time
    let started = std::time::Instant::now();
    let outbound: Vec<_> = (0..CALLS)
        .map(|_| pair.a.endpoint.call(pair.now, pair.outbound_call()))
        .collect();
    assert!(pair.run_until(Duration::from_secs(30), |p| {
        p.b.count(|e| matches!(e, Event::IncomingCall { .. })) == CALLS
    }));
    let inbound: Vec<_> = pair
        .b
        .events
        .iter()
        .filter_map(|e| match e {
            Event::IncomingCall { call, .. } => Some(*call),
            _ => None,
        })
        .collect();
    let unique: HashSet<_> = inbound.iter().collect();
    assert_eq!(unique.len(), CALLS);
    for call in &inbound {
        pair.b
            .endpoint
            .answer(pair.now, *call, Bytes::from_static(b"v=0\r\n"));
    }
    assert!(pair.run_until(Duration::from_secs(60), |p| {
        p.a.count(|e| matches!(e, Event::Answered { .. })) == CALLS
            && p.b.count(|e| matches!(e, Event::Confirmed { .. })) == CALLS
    }));
    for call in &outbound {
        pair.a.endpoint.hangup(pair.now, *call);
    }
    assert!(pair.run_until(Duration::from_secs(60), |p| {
        p.b.count(|e| matches!(e, Event::Ended { .. })) == CALLS
    }));
    pair.run_for(Duration::from_secs(120));
    assert_eq!(pair.a.endpoint.call_count(), 0);
    assert_eq!(pair.b.endpoint.call_count(), 0);
    assert_eq!(pair.a.endpoint.transaction_count(), 0);
    assert_eq!(pair.b.endpoint.transaction_count(), 0);
    #[allow(clippy::disallowed_methods)]
    let elapsed = started.elapsed();
    eprintln!(
        "{CALLS} calls over a lossy network: {} datagrams, {elapsed:?} real time ({:.0} calls/s)",
        pair.net.sent.len(),
        CALLS as f64 / elapsed.as_secs_f64()
    );
}

/// A benchmark, not a test: `cargo test --release -p voxpin-sip --test
/// many_concurrent_calls -- --ignored --nocapture`. Two endpoints wired back
/// to back with no network model; reports the full call cycles (INVITE, 200,
/// ACK, BYE, 200) per second of CPU on one core.
#[test]
#[ignore]
fn benchmark_call_cycles_per_second() {
    use rand::SeedableRng;
    use voxpin_sip::{Endpoint, EndpointConfig, Transport};
    const CALLS: usize = 20_000;
    const BATCH: usize = 500;
    let a_addr = "192.0.2.1:5060".parse().unwrap();
    let b_addr = "192.0.2.2:5070".parse().unwrap();
    let mut now = support::origin();
    let endpoint = |contact, seed| {
        Endpoint::new(
            EndpointConfig {
                contact,
                ..EndpointConfig::default()
            },
            Box::new(rand_chacha::ChaCha8Rng::seed_from_u64(seed)),
            now,
        )
    };
    let mut a = endpoint(a_addr, 1);
    let mut b = endpoint(b_addr, 2);
    let pair = Pair::new(0, NetConfig::perfect());
    let template = pair.outbound_call();
    #[allow(clippy::disallowed_methods)] // benchmark wall time
    let started = std::time::Instant::now();
    let mut ended = 0;
    let mut datagrams = 0usize;
    for _ in 0..CALLS / BATCH {
        for _ in 0..BATCH {
            let mut call = template.clone();
            call.destination = b_addr;
            a.call(now, call);
        }
        let mut batch_ended = 0;
        while batch_ended < BATCH {
            now += Duration::from_millis(1);
            a.handle_timeout(now);
            b.handle_timeout(now);
            let mut moved = true;
            while moved {
                moved = false;
                while let Some(t) = a.poll_transmit() {
                    datagrams += 1;
                    b.handle_datagram(now, Transport::Udp, a_addr, &t.payload);
                    moved = true;
                }
                while let Some(t) = b.poll_transmit() {
                    datagrams += 1;
                    a.handle_datagram(now, Transport::Udp, b_addr, &t.payload);
                    moved = true;
                }
                while let Some(e) = b.poll_event() {
                    if let Event::IncomingCall { call, .. } = e {
                        b.answer(now, call, Bytes::from_static(b"v=0\r\n"));
                        moved = true;
                    }
                }
                while let Some(e) = a.poll_event() {
                    match e {
                        Event::Answered { call, .. } => {
                            a.hangup(now, call);
                            moved = true;
                        }
                        Event::Ended { .. } => batch_ended += 1,
                        _ => {}
                    }
                }
            }
        }
        ended += batch_ended;
    }
    #[allow(clippy::disallowed_methods)]
    let elapsed = started.elapsed();
    eprintln!(
        "{ended} call cycles, {datagrams} datagrams in {elapsed:?}: {:.0} calls/s, {:.1} µs per datagram (both ends)",
        ended as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1e6 / datagrams as f64
    );
    assert_eq!(ended, CALLS);
}

/// A benchmark, not a test: resident memory per established call, both
/// endpoints together (`--release -- --ignored --nocapture`, Linux only).
#[test]
#[ignore]
fn benchmark_memory_per_established_call() {
    fn resident_bytes() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
        let pages: usize = statm
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        pages * 4096
    }
    const CALLS: usize = 4000;
    let mut pair = Pair::new(62, NetConfig::perfect());
    // Warm up allocator pools with one call.
    pair.a.endpoint.call(pair.now, pair.outbound_call());
    pair.run_for(Duration::from_secs(1));
    pair.net.sent.clear();
    let before = resident_bytes();
    for _ in 0..CALLS {
        pair.a.endpoint.call(pair.now, pair.outbound_call());
    }
    pair.run_for(Duration::from_millis(100));
    let inbound: Vec<_> = pair
        .b
        .events
        .iter()
        .filter_map(|e| match e {
            Event::IncomingCall { call, .. } => Some(*call),
            _ => None,
        })
        .collect();
    for call in inbound {
        pair.b
            .endpoint
            .answer(pair.now, call, Bytes::from_static(b"v=0\r\n"));
    }
    pair.run_for(Duration::from_millis(100));
    pair.net.sent.clear();
    pair.net.sent.shrink_to_fit();
    pair.a.events.clear();
    pair.a.events.shrink_to_fit();
    pair.b.events.clear();
    pair.b.events.shrink_to_fit();
    let after = resident_bytes();
    eprintln!(
        "{CALLS} established calls: {} KiB resident growth, {:.1} KiB per call (both ends, transactions still alive)",
        after.saturating_sub(before) / 1024,
        after.saturating_sub(before) as f64 / 1024.0 / CALLS as f64
    );
    assert_eq!(pair.a.endpoint.call_count(), CALLS + 1);
}
