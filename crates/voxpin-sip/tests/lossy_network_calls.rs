//! Whole calls survive a bad network: with 20 % loss, 10 % duplication and
//! jitter that reorders datagrams, every call over many seeds is set up,
//! confirmed and torn down, both sides agree on how it ended, and no state
//! is left behind; calls cancelled on their ring timeout end cleanly too.
//! Retransmissions (INVITE, provisional, 2xx, BYE, CANCEL, 487) and
//! absorption of duplicates do the work; each call takes milliseconds of
//! real time.

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::{NetConfig, Pair};
use voxpin_sip::{Event, HangupCause, Side};

fn one_call(seed: u64, net: NetConfig, caller_hangs_up: bool) {
    let mut pair = Pair::new(seed, net);
    let outbound = pair.a.endpoint.call(pair.now, pair.outbound_call());
    assert!(
        pair.run_until(Duration::from_secs(30), |p| p.b.incoming().is_some()),
        "INVITE never arrived"
    );
    let inbound = pair.b.incoming().unwrap();
    assert_eq!(
        pair.b.count(|e| matches!(e, Event::IncomingCall { .. })),
        1,
        "duplicates and retransmissions are absorbed"
    );
    pair.b.endpoint.ringing(pair.now, inbound);
    pair.b
        .endpoint
        .answer(pair.now, inbound, Bytes::from_static(b"v=0\r\n"));
    assert!(
        pair.run_until(Duration::from_secs(30), |p| {
            p.a.saw(|e| matches!(e, Event::Answered { .. }))
                && p.b.saw(|e| matches!(e, Event::Confirmed { .. }))
        }),
        "call never confirmed"
    );
    assert_eq!(pair.a.count(|e| matches!(e, Event::Answered { .. })), 1);
    assert_eq!(pair.b.count(|e| matches!(e, Event::Confirmed { .. })), 1);

    let (hanger, other) = if caller_hangs_up {
        pair.a.endpoint.hangup(pair.now, outbound);
        (outbound, inbound)
    } else {
        pair.b.endpoint.hangup(pair.now, inbound);
        (inbound, outbound)
    };
    assert!(
        pair.run_until(Duration::from_secs(40), |p| {
            p.a.ended(outbound).is_some() && p.b.ended(inbound).is_some()
        }),
        "BYE never arrived"
    );
    let (local, remote) = if caller_hangs_up {
        (&pair.a, &pair.b)
    } else {
        (&pair.b, &pair.a)
    };
    assert!(matches!(
        local.ended(hanger),
        Some(Event::Ended {
            cause: HangupCause::NormalClearing,
            by: Side::Local,
            ..
        })
    ));
    assert!(matches!(
        remote.ended(other),
        Some(Event::Ended {
            cause: HangupCause::NormalClearing,
            by: Side::Remote,
            ..
        })
    ));
    for peer in [&pair.a, &pair.b] {
        assert_eq!(peer.count(|e| matches!(e, Event::Ended { .. })), 1);
    }
    // Let every timer run out: all state is released.
    pair.run_for(Duration::from_secs(120));
    for peer in [&pair.a, &pair.b] {
        assert_eq!(peer.endpoint.call_count(), 0);
        assert_eq!(peer.endpoint.transaction_count(), 0);
        assert_eq!(peer.count(|e| matches!(e, Event::Ended { .. })), 1);
    }
}

#[test]
fn calls_complete_over_a_lossy_reordering_network() {
    for seed in 0..60 {
        one_call(seed, NetConfig::lossy(), seed % 2 == 0);
    }
}

#[test]
fn calls_complete_over_a_very_bad_network() {
    let net = NetConfig {
        latency: Duration::from_millis(50),
        jitter: Duration::from_millis(400),
        loss: 0.4,
        duplicate: 0.3,
    };
    for seed in 100..130 {
        one_call(seed, net, seed % 2 == 1);
    }
}

#[test]
fn retransmissions_are_seen_on_the_wire() {
    // With loss, the INVITE or the 2xx has to be sent more than once for
    // some seed; the counters prove retransmission really happened.
    let mut retransmitted_invite = false;
    let mut retransmitted_2xx = false;
    for seed in 0..20 {
        let mut pair = Pair::new(seed, NetConfig::lossy());
        let outbound = pair.a.endpoint.call(pair.now, pair.outbound_call());
        assert!(pair.run_until(Duration::from_secs(30), |p| p.b.incoming().is_some()));
        let inbound = pair.b.incoming().unwrap();
        pair.b
            .endpoint
            .answer(pair.now, inbound, Bytes::from_static(b"v=0\r\n"));
        assert!(pair.run_until(Duration::from_secs(30), |p| p
            .b
            .saw(|e| matches!(e, Event::Confirmed { .. }))));
        retransmitted_invite |= pair.sent_starting("INVITE ") > 1;
        retransmitted_2xx |= pair.sent_starting("SIP/2.0 200 OK") > 1;
        pair.a.endpoint.hangup(pair.now, outbound);
    }
    assert!(retransmitted_invite && retransmitted_2xx);
}

#[test]
fn ring_timeouts_cancel_cleanly_over_a_lossy_network() {
    for seed in 200..240 {
        let mut pair = Pair::new(seed, NetConfig::lossy());
        let mut call = pair.outbound_call();
        call.ring_timeout = Duration::from_secs(3);
        let outbound = pair.a.endpoint.call(pair.now, call);
        assert!(pair.run_until(Duration::from_secs(30), |p| p.b.incoming().is_some()));
        let inbound = pair.b.incoming().unwrap();
        pair.b.endpoint.ringing(pair.now, inbound);
        assert!(
            pair.run_until(Duration::from_secs(60), |p| {
                p.a.ended(outbound).is_some() && p.b.ended(inbound).is_some()
            }),
            "both sides end"
        );
        assert!(matches!(
            pair.a.ended(outbound),
            Some(Event::Ended {
                cause: HangupCause::NoAnswer,
                by: Side::Local,
                ..
            })
        ));
        assert!(matches!(
            pair.b.ended(inbound),
            Some(Event::Ended {
                cause: HangupCause::OriginatorCancel,
                by: Side::Remote,
                ..
            })
        ));
        pair.run_for(Duration::from_secs(120));
        for peer in [&pair.a, &pair.b] {
            assert_eq!(peer.endpoint.call_count(), 0);
            assert_eq!(peer.endpoint.transaction_count(), 0);
        }
    }
}
