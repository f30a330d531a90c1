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
