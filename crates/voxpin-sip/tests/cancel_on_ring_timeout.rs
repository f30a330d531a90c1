//! An outbound call that rings past its ring timeout is cancelled: the
//! caller sends CANCEL, the callee answers 200 to the CANCEL and 487 to the
//! INVITE, the caller ACKs the 487, and both report why the call ended.
//! A caller hanging up while it rings takes the same path with another cause.

mod support;

use std::time::Duration;

use support::{NetConfig, Pair};
use voxpin_sip::{Event, HangupCause, Side};

#[test]
fn ring_timeout_cancels_with_no_answer() {
    let mut pair = Pair::new(11, NetConfig::perfect());
    let mut call = pair.outbound_call();
    call.ring_timeout = Duration::from_secs(5);
    let start = pair.now;
    let outbound = pair.a.endpoint.call(pair.now, call);
    assert!(pair.run_until(Duration::from_secs(1), |p| p.b.incoming().is_some()));
    let inbound = pair.b.incoming().unwrap();
    pair.b.endpoint.ringing(pair.now, inbound);

    assert!(pair.run_until(Duration::from_secs(10), |p| p.a.ended(outbound).is_some()));
    let elapsed = pair.now.saturating_duration_since(start);
    assert!(
        elapsed >= Duration::from_secs(5) && elapsed < Duration::from_millis(5100),
        "ended after {elapsed:?}"
    );
    assert_eq!(
        pair.a.ended(outbound),
        Some(&Event::Ended {
            call: outbound,
            cause: HangupCause::NoAnswer,
            status: Some(487),
            by: Side::Local
        })
    );
    assert_eq!(
        pair.b.ended(inbound),
        Some(&Event::Ended {
            call: inbound,
            cause: HangupCause::OriginatorCancel,
            status: Some(487),
            by: Side::Remote
        })
    );
    assert_eq!(pair.sent_starting("CANCEL "), 1);
    assert_eq!(pair.sent_starting("SIP/2.0 487"), 1);
    assert_eq!(pair.sent_starting("ACK "), 1, "the 487 is ACKed");
    assert_eq!(HangupCause::NoAnswer.as_str(), "NO_ANSWER");
}

#[test]
fn hangup_while_ringing_cancels_with_originator_cancel() {
    let mut pair = Pair::new(12, NetConfig::perfect());
    let outbound = pair.a.endpoint.call(pair.now, pair.outbound_call());
    assert!(pair.run_until(Duration::from_secs(1), |p| p.b.incoming().is_some()));
    let inbound = pair.b.incoming().unwrap();
    pair.b.endpoint.ringing(pair.now, inbound);
    assert!(pair.run_until(Duration::from_secs(1), |p| p
        .a
        .saw(|e| matches!(e, Event::Provisional { status: 180, .. }))));
    pair.a.endpoint.hangup(pair.now, outbound);
    assert!(pair.run_until(Duration::from_secs(1), |p| p.a.ended(outbound).is_some()));
    assert!(matches!(
        pair.a.ended(outbound),
        Some(Event::Ended {
            cause: HangupCause::OriginatorCancel,
            by: Side::Local,
            ..
        })
    ));
    assert!(pair.b.ended(inbound).is_some());
}

#[test]
fn cancel_waits_for_a_provisional_response() {
    // RFC 3261 section 9.1: no CANCEL before a provisional response.
    let mut pair = Pair::new(13, NetConfig::perfect());
    let mut call = pair.outbound_call();
    call.ring_timeout = Duration::from_millis(100);
    let outbound = pair.a.endpoint.call(pair.now, call);
    pair.run_for(Duration::from_millis(150));
    assert_eq!(pair.sent_starting("CANCEL "), 0);
    // The callee's 100 Trying (sent after 200 ms) releases the CANCEL.
    assert!(pair.run_until(Duration::from_secs(2), |p| p.a.ended(outbound).is_some()));
    assert_eq!(pair.sent_starting("SIP/2.0 100 Trying"), 1);
    assert_eq!(pair.sent_starting("CANCEL "), 1);
    assert!(matches!(
        pair.a.ended(outbound),
        Some(Event::Ended {
            cause: HangupCause::NoAnswer,
            ..
        })
    ));
}

#[test]
fn answer_crossing_the_cancel_is_acked_and_hung_up() {
    let mut pair = Pair::new(14, NetConfig::perfect());
    let outbound = pair.a.endpoint.call(pair.now, pair.outbound_call());
    assert!(pair.run_until(Duration::from_secs(1), |p| p.b.incoming().is_some()));
    let inbound = pair.b.incoming().unwrap();
    pair.b.endpoint.ringing(pair.now, inbound);
    assert!(pair.run_until(Duration::from_secs(1), |p| p
        .a
        .saw(|e| matches!(e, Event::Provisional { .. }))));
    // Both act at the same instant: the 200 and the CANCEL cross.
    pair.a.endpoint.hangup(pair.now, outbound);
    pair.b
        .endpoint
        .answer(pair.now, inbound, bytes::Bytes::from_static(b"v=0\r\n"));
    assert!(pair.run_until(Duration::from_secs(2), |p| p.b.ended(inbound).is_some()));
    assert!(!pair.a.saw(|e| matches!(e, Event::Answered { .. })));
    assert!(matches!(
        pair.a.ended(outbound),
        Some(Event::Ended {
            cause: HangupCause::OriginatorCancel,
            by: Side::Local,
            ..
        })
    ));
    assert_eq!(pair.sent_starting("BYE "), 1);
    assert!(matches!(
        pair.b.ended(inbound),
        Some(Event::Ended {
            cause: HangupCause::NormalClearing,
            by: Side::Remote,
            ..
        })
    ));
}

#[test]
fn a_bare_100_trying_is_enough_to_cancel() {
    use support::{reply, Scripted};
    use voxpin_sip::msg::Method;
    let mut s = Scripted::new(15);
    let mut call = s.outbound_call();
    call.ring_timeout = Duration::from_secs(5);
    let id = s.endpoint.call(s.now, call);
    let invite = s.sent_requests().remove(0);
    s.deliver(&reply(&invite, 100, "Trying", None, &[]));
    s.advance(Duration::from_secs(5));
    let sent = s.sent_requests();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].method, Method::Cancel);
    assert_eq!(
        sent[0].headers.top_via().unwrap().branch(),
        invite.headers.top_via().unwrap().branch(),
        "CANCEL shares the INVITE's branch"
    );
    s.deliver(&reply(&sent[0], 200, "OK", Some("t"), &[]));
    s.deliver(&reply(&invite, 487, "Request Terminated", Some("t"), &[]));
    assert!(s.drain_events().contains(&Event::Ended {
        call: id,
        cause: HangupCause::NoAnswer,
        status: Some(487),
        by: Side::Local
    }));
}

#[test]
fn a_peer_that_ignores_the_cancel_is_given_up_after_64_t1() {
    use support::{reply, Scripted};
    let mut s = Scripted::new(16);
    let mut call = s.outbound_call();
    call.ring_timeout = Duration::from_secs(5);
    let id = s.endpoint.call(s.now, call);
    let invite = s.sent_requests().remove(0);
    s.deliver(&reply(&invite, 180, "Ringing", Some("t"), &[]));
    s.advance(Duration::from_secs(5));
    assert_eq!(s.sent_requests().len(), 1, "the CANCEL");
    s.advance(Duration::from_secs(32));
    assert!(s.drain_events().contains(&Event::Ended {
        call: id,
        cause: HangupCause::NoAnswer,
        status: None,
        by: Side::Local
    }));
    s.advance(Duration::from_secs(40));
    assert_eq!(s.endpoint.transaction_count(), 0, "nothing leaks");
    assert_eq!(s.endpoint.call_count(), 0);
    assert_eq!(s.endpoint.poll_timeout(), None);
}
