//! An outbound call that fails is reported with the Q.850 cause of its
//! final response (486 → USER_BUSY, 404 → UNALLOCATED_NUMBER, 603 →
//! CALL_REJECTED, 503 → NORMAL_TEMPORARY_FAILURE), the error response is
//! ACKed inside the INVITE transaction, and a peer that never answers ends
//! the call after Timer B (64·T1) with RECOVERY_ON_TIMER_EXPIRE. A second,
//! forked 2xx is ACKed and hung up without disturbing the answered call.

mod support;

use std::time::Duration;

use support::{reply, NetConfig, Pair, Scripted};
use voxpin_sip::msg::Method;
use voxpin_sip::{Event, HangupCause, Side};

#[test]
fn rejections_map_to_q850_causes() {
    for (seed, status, cause) in [
        (21, 486, "USER_BUSY"),
        (22, 404, "UNALLOCATED_NUMBER"),
        (23, 603, "CALL_REJECTED"),
        (24, 503, "NORMAL_TEMPORARY_FAILURE"),
        (25, 480, "NO_USER_RESPONSE"),
    ] {
        let mut pair = Pair::new(seed, NetConfig::perfect());
        let outbound = pair.a.endpoint.call(pair.now, pair.outbound_call());
        assert!(pair.run_until(Duration::from_secs(1), |p| p.b.incoming().is_some()));
        let inbound = pair.b.incoming().unwrap();
        pair.b.endpoint.reject(pair.now, inbound, status, vec![]);
        assert!(pair.run_until(Duration::from_secs(1), |p| p.a.ended(outbound).is_some()));
        match pair.a.ended(outbound) {
            Some(Event::Ended {
                cause: c,
                status: Some(s),
                by: Side::Remote,
                ..
            }) => {
                assert_eq!((c.as_str(), *s), (cause, status));
            }
            other => panic!("{status}: {other:?}"),
        }
        assert!(matches!(
            pair.b.ended(inbound),
            Some(Event::Ended {
                by: Side::Local,
                ..
            })
        ));
        // The ACK stops the callee's retransmission of the error (Timer G).
        pair.run_for(Duration::from_secs(10));
        assert_eq!(pair.sent_starting("ACK "), 1);
        assert_eq!(pair.sent_starting(&format!("SIP/2.0 {status}")), 1);
    }
}

#[test]
fn error_retransmissions_are_reacked_but_reported_once() {
    let mut s = Scripted::new(26);
    let call = s.endpoint.call(s.now, s.outbound_call());
    let invite = s.sent_requests().remove(0);
    let busy = reply(&invite, 486, "Busy Here", Some("peer"), &[]);
    s.deliver(&busy);
    let acks = s.sent_requests();
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].method, Method::Ack);
    assert_eq!(acks[0].headers.cseq().unwrap().seq, 1);
    assert_eq!(acks[0].headers.to().unwrap().tag(), Some("peer"));
    assert_eq!(
        acks[0].headers.top_via().unwrap().branch(),
        invite.headers.top_via().unwrap().branch(),
        "ACK for a non-2xx shares the INVITE's branch"
    );
    s.deliver(&busy);
    assert_eq!(s.sent_requests().len(), 1, "retransmitted 486 is re-ACKed");
    let ended = s
        .drain_events()
        .iter()
        .filter(|e| matches!(e, Event::Ended { call: c, .. } if *c == call))
        .count();
    assert_eq!(ended, 1);
}

#[test]
fn silent_peer_times_out_after_64_t1() {
    let mut s = Scripted::new(27);
    let start = s.now;
    let mut outbound = s.outbound_call();
    outbound.ring_timeout = Duration::from_secs(60);
    let call = s.endpoint.call(s.now, outbound);
    let mut invites = s.sent_requests().len();
    let mut ended_at = None;
    while ended_at.is_none() {
        let Some(at) = s.endpoint.poll_timeout() else {
            break;
        };
        s.now = at;
        s.endpoint.handle_timeout(at);
        invites += s
            .sent_requests()
            .iter()
            .filter(|r| r.method == Method::Invite)
            .count();
        if s.events.iter().any(|e| matches!(e, Event::Ended { .. })) {
            ended_at = Some(at.saturating_duration_since(start));
        }
    }
    assert_eq!(ended_at, Some(Duration::from_secs(32)));
    // Timer A: 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s.
    assert_eq!(invites, 7);
    assert!(s.events.contains(&Event::Ended {
        call,
        cause: HangupCause::RecoveryOnTimerExpire,
        status: None,
        by: Side::Remote
    }));
}

#[test]
fn unreachable_trunk_fails_the_call_at_once() {
    let mut s = Scripted::new(28);
    let call = s.endpoint.call(s.now, s.outbound_call());
    s.sent_requests();
    let peer = s.peer;
    s.endpoint
        .handle_transport_error(s.now, voxpin_sip::Transport::Udp, peer);
    assert!(s.drain_events().contains(&Event::Ended {
        call,
        cause: HangupCause::NetworkOutOfOrder,
        status: None,
        by: Side::Local
    }));
    assert_eq!(s.endpoint.transaction_count(), 0);
    s.advance(Duration::from_secs(40));
    assert!(
        s.sent_requests().is_empty(),
        "no retransmission after the error"
    );
    let ended = s
        .drain_events()
        .iter()
        .filter(|e| matches!(e, Event::Ended { .. }))
        .count();
    assert_eq!(ended, 1);
}

#[test]
fn a_forked_second_answer_is_acked_and_hung_up() {
    use voxpin_sip::msg::HeaderName;
    let mut s = Scripted::new(29);
    let call = s.endpoint.call(s.now, s.outbound_call());
    let invite = s.sent_requests().remove(0);
    let contact = [(HeaderName::Contact, "<sip:first@192.0.2.9>")];
    s.deliver(&reply(&invite, 200, "OK", Some("first"), &contact));
    let other = [(HeaderName::Contact, "<sip:second@192.0.2.9>")];
    s.deliver(&reply(&invite, 200, "OK", Some("second"), &other));
    let sent = s.sent_requests();
    let summary: Vec<_> = sent
        .iter()
        .map(|r| {
            (
                r.method.to_string(),
                r.headers.to().unwrap().tag().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("ACK".to_owned(), "first".to_owned()),
            ("ACK".to_owned(), "second".to_owned()),
            ("BYE".to_owned(), "second".to_owned())
        ]
    );
    assert_eq!(sent[2].uri.to_string(), "sip:second@192.0.2.9");
    let events = s.drain_events();
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Answered { .. }))
            .count(),
        1
    );
    assert!(!events
        .iter()
        .any(|e| matches!(e, Event::Ended { call: c, .. } if *c == call)));
}
