//! A caller places a call, the callee rings and answers with SDP, the caller
//! ACKs, and either side hangs up with BYE: the basic UAC ↔ UAS exchange on
//! a perfect network, checked event by event and message by message.

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::{NetConfig, Pair};
use voxpin_sip::{Event, HangupCause, Side};

const ANSWER: &[u8] = b"v=0\r\no=- 2 2 IN IP4 192.0.2.2\r\n";

/// Runs the call up to the point where both sides consider it up.
fn establish(pair: &mut Pair) -> (voxpin_sip::CallId, voxpin_sip::CallId) {
    let outbound = pair.a.endpoint.call(pair.now, pair.outbound_call());
    assert!(pair.run_until(Duration::from_secs(1), |p| p.b.incoming().is_some()));
    let inbound = pair.b.incoming().unwrap();
    pair.b.endpoint.ringing(pair.now, inbound);
    assert!(pair.run_until(Duration::from_secs(1), |p| p
        .a
        .saw(|e| matches!(e, Event::Provisional { status: 180, .. }))));
    pair.b
        .endpoint
        .answer(pair.now, inbound, Bytes::from_static(ANSWER));
    assert!(pair.run_until(Duration::from_secs(1), |p| p
        .b
        .saw(|e| matches!(e, Event::Confirmed { .. }))));
    (outbound, inbound)
}

#[test]
fn caller_hangs_up_with_bye() {
    let mut pair = Pair::new(1, NetConfig::perfect());
    let (outbound, inbound) = establish(&mut pair);

    let offer = pair.outbound_call().sdp_offer;
    assert!(pair.b.saw(|e| matches!(
        e,
        Event::IncomingCall { sdp_offer: Some(o), .. } if *o == offer
    )));
    assert!(pair.a.saw(|e| matches!(
        e,
        Event::Answered { call, sdp_answer: Some(s) } if *call == outbound && s == ANSWER
    )));

    pair.a.endpoint.hangup(pair.now, outbound);
    assert!(pair.run_until(Duration::from_secs(1), |p| p.b.ended(inbound).is_some()));
    assert_eq!(
        pair.a.ended(outbound),
        Some(&Event::Ended {
            call: outbound,
            cause: HangupCause::NormalClearing,
            status: None,
            by: Side::Local
        })
    );
    assert_eq!(
        pair.b.ended(inbound),
        Some(&Event::Ended {
            call: inbound,
            cause: HangupCause::NormalClearing,
            status: None,
            by: Side::Remote
        })
    );
    assert_eq!(pair.sent_starting("INVITE "), 1);
    assert_eq!(pair.sent_starting("ACK "), 1);
    assert_eq!(pair.sent_starting("BYE "), 1);
    assert_eq!(pair.sent_starting("SIP/2.0 200 OK"), 2);
    // No 100 Trying: the callee rang within 200 ms.
    assert_eq!(pair.sent_starting("SIP/2.0 100"), 0);
}

#[test]
fn callee_hangs_up_with_bye() {
    let mut pair = Pair::new(2, NetConfig::perfect());
    let (outbound, inbound) = establish(&mut pair);
    pair.b.endpoint.hangup(pair.now, inbound);
    assert!(pair.run_until(Duration::from_secs(1), |p| p.a.ended(outbound).is_some()));
    assert!(matches!(
        pair.a.ended(outbound),
        Some(Event::Ended {
            cause: HangupCause::NormalClearing,
            by: Side::Remote,
            ..
        })
    ));
    assert!(matches!(
        pair.b.ended(inbound),
        Some(Event::Ended {
            by: Side::Local,
            ..
        })
    ));
}

#[test]
fn everything_is_forgotten_after_the_linger_time() {
    let mut pair = Pair::new(3, NetConfig::perfect());
    let (outbound, _) = establish(&mut pair);
    pair.a.endpoint.hangup(pair.now, outbound);
    pair.run_for(Duration::from_secs(40));
    assert_eq!(pair.a.endpoint.call_count(), 0);
    assert_eq!(pair.b.endpoint.call_count(), 0);
    assert_eq!(pair.a.endpoint.transaction_count(), 0);
    assert_eq!(pair.b.endpoint.transaction_count(), 0);
    assert_eq!(pair.a.endpoint.poll_timeout(), None);
    assert_eq!(pair.b.endpoint.poll_timeout(), None);
}

#[test]
fn slow_callee_gets_100_trying_sent_for_it() {
    let mut pair = Pair::new(4, NetConfig::perfect());
    pair.a.endpoint.call(pair.now, pair.outbound_call());
    pair.run_for(Duration::from_millis(400));
    assert_eq!(pair.sent_starting("SIP/2.0 100 Trying"), 1);
    assert_eq!(pair.sent_starting("INVITE "), 1, "100 Trying stops timer A");
}

#[test]
fn tcp_calls_use_tcp_throughout_and_never_retransmit() {
    let mut pair = Pair::new(5, NetConfig::perfect());
    let mut call = pair.outbound_call();
    call.transport = voxpin_sip::Transport::Tcp;
    let outbound = pair.a.endpoint.call(pair.now, call);
    assert!(pair.run_until(Duration::from_secs(1), |p| p.b.incoming().is_some()));
    let inbound = pair.b.incoming().unwrap();
    assert!(pair.b.saw(|e| matches!(
        e,
        Event::IncomingCall {
            transport: voxpin_sip::Transport::Tcp,
            ..
        }
    )));
    pair.b
        .endpoint
        .answer(pair.now, inbound, Bytes::from_static(ANSWER));
    assert!(pair.run_until(Duration::from_secs(1), |p| p
        .b
        .saw(|e| matches!(e, Event::Confirmed { .. }))));
    pair.a.endpoint.hangup(pair.now, outbound);
    pair.run_for(Duration::from_secs(40));
    assert!(pair.b.ended(inbound).is_some());
    assert_eq!(pair.sent_starting("INVITE "), 1);
    assert_eq!(pair.sent_starting("SIP/2.0 200 OK"), 2);
    assert!(pair
        .net
        .sent
        .iter()
        .all(|(_, _, text)| !text.contains("SIP/2.0/UDP")));
    assert!(pair.net.sent[0].2.contains("transport=tcp"));
    assert_eq!(pair.a.endpoint.transaction_count(), 0);
}

#[test]
fn endpoint_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<voxpin_sip::Endpoint>();
}
