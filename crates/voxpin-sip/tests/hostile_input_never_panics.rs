//! Whatever arrives from the network, the endpoint does not panic: random
//! bytes, and valid requests and responses (including ones aimed at a live
//! call's transactions and dialog) with bytes flipped, cut or spliced, fed
//! to an endpoint that has both an inbound and an outbound call in flight.
//! Afterwards it still completes a fresh call.

mod support;

use std::time::Duration;

use bytes::Bytes;
use proptest::prelude::*;
use support::{NetConfig, Pair};
use voxpin_sip::{Event, Transport};

/// Messages seen on the wire during a complete call, used as mutation seeds.
fn wire_messages() -> Vec<Vec<u8>> {
    let mut pair = Pair::new(71, NetConfig::perfect());
    let outbound = pair.a.endpoint.call(pair.now, pair.outbound_call());
    pair.run_until(Duration::from_secs(1), |p| p.b.incoming().is_some());
    let inbound = pair.b.incoming().unwrap();
    pair.b.endpoint.ringing(pair.now, inbound);
    pair.b
        .endpoint
        .answer(pair.now, inbound, Bytes::from_static(b"v=0\r\n"));
    pair.run_until(Duration::from_secs(1), |p| {
        p.b.saw(|e| matches!(e, Event::Confirmed { .. }))
    });
    pair.a.endpoint.hangup(pair.now, outbound);
    pair.run_for(Duration::from_secs(1));
    pair.net
        .sent
        .iter()
        .map(|(_, _, text)| text.clone().into_bytes())
        .collect()
}

/// A pair with one call ringing from `a` to `b` (so both have live state).
fn live_pair() -> Pair {
    let mut pair = Pair::new(72, NetConfig::perfect());
    pair.a.endpoint.call(pair.now, pair.outbound_call());
    pair.run_until(Duration::from_secs(1), |p| p.b.incoming().is_some());
    pair
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Cut(usize),
    Splice(usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<usize>().prop_map(Mutation::Cut),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 0..16)
        )
            .prop_map(|(i, v)| Mutation::Splice(i, v)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        if bytes.is_empty() {
            break;
        }
        match m {
            Mutation::Flip(i, b) => {
                let i = i % bytes.len();
                bytes[i] ^= b;
            }
            Mutation::Cut(i) => bytes.truncate(i % bytes.len()),
            Mutation::Splice(i, v) => {
                let i = i % bytes.len();
                bytes.splice(i..i, v.iter().copied());
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes_never_panic(datagrams in proptest::collection::vec(
        proptest::collection::vec(any::<u8>(), 0..600), 1..8)
    ) {
        let mut pair = live_pair();
        for bytes in &datagrams {
            let source = pair.a.address;
            pair.b.endpoint.handle_datagram(pair.now, Transport::Udp, source, bytes);
            pair.a.endpoint.handle_datagram(pair.now, Transport::Tcp, source, bytes);
        }
        pair.run_for(Duration::from_secs(40));
    }

    #[test]
    fn mutated_wire_messages_never_panic(
        picks in proptest::collection::vec((any::<usize>(), proptest::collection::vec(mutation(), 1..4)), 1..10)
    ) {
        let seeds = wire_messages();
        let mut pair = live_pair();
        for (pick, mutations) in &picks {
            let bytes = apply(seeds[pick % seeds.len()].clone(), mutations);
            let (a, b) = (pair.a.address, pair.b.address);
            pair.b.endpoint.handle_datagram(pair.now, Transport::Udp, a, &bytes);
            pair.a.endpoint.handle_datagram(pair.now, Transport::Udp, b, &bytes);
            pair.step();
        }
        pair.run_for(Duration::from_secs(40));
        // Still a working endpoint afterwards.
        let before = pair.a.count(|e| matches!(e, Event::Answered { .. }));
        pair.a.endpoint.call(pair.now, pair.outbound_call());
        let calls_before = pair.b.count(|e| matches!(e, Event::IncomingCall { .. }));
        let arrived = pair.run_until(Duration::from_secs(2), |p| {
            p.b.count(|e| matches!(e, Event::IncomingCall { .. })) > calls_before
        });
        prop_assert!(arrived, "a fresh INVITE still gets through");
        let newest = pair.b.events.iter().rev().find_map(|e| match e {
            Event::IncomingCall { call, .. } => Some(*call),
            _ => None,
        }).unwrap();
        pair.b.endpoint.answer(pair.now, newest, Bytes::from_static(b"v=0\r\n"));
        let answered = pair.run_until(Duration::from_secs(2), |p| {
            p.a.count(|e| matches!(e, Event::Answered { .. })) > before
        });
        prop_assert!(answered, "a fresh call is still answered");
    }
}
