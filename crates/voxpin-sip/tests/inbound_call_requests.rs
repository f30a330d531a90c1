//! What the endpoint does as a callee with the requests a caller sends:
//! the 2xx is retransmitted (T1 doubling to T2) until the ACK and the call
//! is hung up with BYE after 64·T1 without one (a re-INVITE's 2xx is
//! retransmitted the same way); INFO DTMF (both body
//! formats) becomes digit events; re-INVITE is answered with the current
//! SDP; OPTIONS is answered with Allow/Accept; requests for unknown dialogs
//! get 481, out-of-order ones 500; broken or unsupported requests get
//! stateless errors.

mod support;

use std::time::Duration;

use bytes::Bytes;
use support::Scripted;
use voxpin_sip::msg::{HeaderName, Method, Response};
use voxpin_sip::{Event, HangupCause, Side};

const OFFER: &str = "v=0\r\no=- 9 9 IN IP4 192.0.2.9\r\n";
const ANSWER: &[u8] = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\n";

/// A request from the scripted caller (192.0.2.9:5060).
fn request(
    method: &str,
    cseq: u32,
    branch: &str,
    to_tag: Option<&str>,
    extra: &str,
    body: &str,
) -> Vec<u8> {
    let to_tag = to_tag.map(|t| format!(";tag={t}")).unwrap_or_default();
    let cseq_method = if method == "ACK" { "ACK" } else { method };
    format!(
        "{method} sip:otp@192.0.2.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:+15550100@192.0.2.9>;tag=caller\r\n\
         To: <sip:otp@192.0.2.1>{to_tag}\r\n\
         Call-ID: inbound-call-1\r\n\
         CSeq: {cseq} {cseq_method}\r\n\
         Contact: <sip:+15550100@192.0.2.9:5060>\r\n\
         {extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Delivers an INVITE, answers it and returns the callee's tag; the ACK is
/// not sent yet.
fn answered(s: &mut Scripted) -> (voxpin_sip::CallId, String, Response) {
    s.deliver(&request(
        "INVITE",
        1,
        "inv1",
        None,
        "Content-Type: application/sdp\r\n",
        OFFER,
    ));
    let call = match s.drain_events().first() {
        Some(Event::IncomingCall {
            call, sdp_offer, ..
        }) => {
            assert_eq!(sdp_offer.as_deref(), Some(OFFER.as_bytes()));
            *call
        }
        other => panic!("{other:?}"),
    };
    s.endpoint.answer(s.now, call, Bytes::from_static(ANSWER));
    let ok = s.sent_responses().remove(0);
    assert_eq!(ok.status, 200);
    assert_eq!(&ok.body[..], ANSWER);
    assert!(ok.headers.contact().is_some());
    let tag = ok.headers.to().unwrap().tag().unwrap().to_owned();
    (call, tag, ok)
}

fn confirmed(s: &mut Scripted) -> (voxpin_sip::CallId, String) {
    let (call, tag, _) = answered(s);
    s.deliver(&request("ACK", 1, "ack1", Some(&tag), "", ""));
    assert!(s.drain_events().contains(&Event::Confirmed { call }));
    (call, tag)
}

#[test]
fn two_hundred_is_retransmitted_until_ack() {
    let mut s = Scripted::new(41);
    let start = s.now;
    let (call, tag, _) = answered(&mut s);
    let mut at = Vec::new();
    while at.len() < 5 {
        let next = s.endpoint.poll_timeout().unwrap();
        s.now = next;
        s.endpoint.handle_timeout(next);
        for r in s.sent_responses() {
            assert_eq!(r.status, 200);
            at.push(next.saturating_duration_since(start).as_millis());
        }
    }
    assert_eq!(at, [500, 1500, 3500, 7500, 11500]);
    s.deliver(&request("ACK", 1, "ack1", Some(&tag), "", ""));
    assert!(s.drain_events().contains(&Event::Confirmed { call }));
    s.advance(Duration::from_secs(10));
    assert!(
        s.sent_responses().is_empty(),
        "the ACK stops retransmission"
    );
}

#[test]
fn missing_ack_ends_the_call_with_bye_after_64_t1() {
    let mut s = Scripted::new(42);
    let start = s.now;
    let (call, _, _) = answered(&mut s);
    s.advance(Duration::from_millis(31_900));
    assert!(s.sent_requests().is_empty());
    s.advance(Duration::from_millis(200));
    let bye = s.sent_requests();
    assert_eq!(bye.len(), 1);
    assert_eq!(bye[0].method, Method::Bye);
    assert_eq!(bye[0].headers.to().unwrap().tag(), Some("caller"));
    assert!(s.drain_events().contains(&Event::Ended {
        call,
        cause: HangupCause::RecoveryOnTimerExpire,
        status: None,
        by: Side::Local
    }));
    let _ = start;
}

#[test]
fn info_dtmf_becomes_digit_events() {
    let mut s = Scripted::new(43);
    let (call, tag) = confirmed(&mut s);
    s.deliver(&request(
        "INFO",
        2,
        "info1",
        Some(&tag),
        "Content-Type: application/dtmf-relay\r\n",
        "Signal=5\r\nDuration=160\r\n",
    ));
    s.deliver(&request(
        "INFO",
        3,
        "info2",
        Some(&tag),
        "Content-Type: application/dtmf\r\n",
        "#",
    ));
    let responses = s.sent_responses();
    assert_eq!(responses.iter().filter(|r| r.status == 200).count(), 2);
    let digits: Vec<_> = s
        .drain_events()
        .iter()
        .filter_map(|e| match e {
            Event::Dtmf {
                call: c,
                digit,
                duration,
            } if *c == call => Some((*digit, duration.as_millis())),
            _ => None,
        })
        .collect();
    assert_eq!(digits, [('5', 160), ('#', 100)]);
    // A retransmitted INFO is absorbed: no second event.
    s.deliver(&request(
        "INFO",
        3,
        "info2",
        Some(&tag),
        "Content-Type: application/dtmf\r\n",
        "#",
    ));
    assert_eq!(s.sent_responses().len(), 1);
    let count = s
        .drain_events()
        .iter()
        .filter(|e| matches!(e, Event::Dtmf { .. }))
        .count();
    assert_eq!(count, 2);
}

#[test]
fn reinvite_is_answered_with_the_current_sdp() {
    let mut s = Scripted::new(44);
    let (_, tag) = confirmed(&mut s);
    s.deliver(&request(
        "INVITE",
        2,
        "reinv",
        Some(&tag),
        "Content-Type: application/sdp\r\n",
        OFFER,
    ));
    let ok = s.sent_responses().remove(0);
    assert_eq!(ok.status, 200);
    assert_eq!(&ok.body[..], ANSWER);
    assert_eq!(ok.headers.cseq().unwrap().seq, 2);
    let calls = s
        .drain_events()
        .iter()
        .filter(|e| matches!(e, Event::IncomingCall { .. }))
        .count();
    assert_eq!(calls, 1, "no new call for a re-INVITE");
    // Its 2xx is retransmitted like the first one until the ACK arrives.
    s.advance(Duration::from_millis(600));
    assert_eq!(s.sent_responses().len(), 1);
    s.deliver(&request("ACK", 2, "reack", Some(&tag), "", ""));
    s.advance(Duration::from_secs(40));
    assert!(
        s.sent().is_empty(),
        "no more 2xx, and no BYE: the call stays up"
    );
    assert!(!s
        .drain_events()
        .iter()
        .any(|e| matches!(e, Event::Ended { .. })));
}

#[test]
fn bye_ends_the_call_and_unknown_dialogs_get_481() {
    let mut s = Scripted::new(45);
    let (call, tag) = confirmed(&mut s);
    s.deliver(&request("BYE", 2, "bye-x", Some("wrong-tag"), "", ""));
    assert_eq!(s.sent_responses()[0].status, 481);
    s.deliver(&request("INFO", 2, "info-x", Some("wrong-tag"), "", ""));
    assert_eq!(s.sent_responses()[0].status, 481);
    s.deliver(&request("INFO", 5, "info-5", Some(&tag), "", ""));
    assert_eq!(s.sent_responses()[0].status, 200);
    s.deliver(&request("BYE", 3, "bye-old", Some(&tag), "", ""));
    assert_eq!(
        s.sent_responses()[0].status,
        500,
        "CSeq lower than the last one"
    );
    assert!(!s
        .drain_events()
        .iter()
        .any(|e| matches!(e, Event::Ended { .. })));
    s.deliver(&request("BYE", 6, "bye1", Some(&tag), "", ""));
    assert_eq!(s.sent_responses()[0].status, 200);
    assert!(s.drain_events().contains(&Event::Ended {
        call,
        cause: HangupCause::NormalClearing,
        status: None,
        by: Side::Remote
    }));
}

#[test]
fn options_is_answered_with_allow_and_accept() {
    let mut s = Scripted::new(46);
    s.deliver(&request("OPTIONS", 1, "opt1", None, "", ""));
    let ok = s.sent_responses().remove(0);
    assert_eq!(ok.status, 200);
    let allow = ok.headers.get(&HeaderName::Allow).unwrap();
    for method in ["INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "INFO"] {
        assert!(allow.contains(method), "{allow}");
    }
    assert!(ok
        .headers
        .get(&HeaderName::Accept)
        .unwrap()
        .contains("application/sdp"));
    assert!(ok.headers.to().unwrap().tag().is_some());
    assert!(s.drain_events().is_empty());
    assert_eq!(s.endpoint.transaction_count(), 0, "answered statelessly");
}

#[test]
fn cancel_for_an_unknown_invite_gets_481() {
    let mut s = Scripted::new(47);
    s.deliver(&request("CANCEL", 1, "nope", None, "", ""));
    assert_eq!(s.sent_responses()[0].status, 481);
}

#[test]
fn unsupported_requests_get_stateless_errors() {
    let mut s = Scripted::new(48);
    s.deliver(&request(
        "INVITE",
        1,
        "req1",
        None,
        "Require: 100rel-nope\r\n",
        "",
    ));
    let rejection = s.sent_responses().remove(0);
    assert_eq!(rejection.status, 420);
    assert!(rejection.headers.get(&HeaderName::Unsupported).is_some());
    assert_eq!(s.endpoint.transaction_count(), 0, "answered statelessly");

    s.deliver(&request("SUBSCRIBE", 1, "sub1", None, "", ""));
    let status = s.sent_responses().remove(0).status;
    assert!(status == 405 || status == 501, "{status}");

    // A broken request still gets a 400 when its headers can be salvaged.
    let broken = b"INVITE sip:otp@192.0.2.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 192.0.2.9:5060;branch=z9hG4bKbroken\r\n\
        From: <sip:a@192.0.2.9>;tag=x\r\n\
        To: <sip:otp@192.0.2.1>\r\n\
        Call-ID: broken-1\r\n\
        CSeq: 1 INVITE\r\n\
        Content-Length: -5\r\n\r\n";
    s.deliver(broken);
    assert_eq!(s.sent_responses().remove(0).status, 400);
    // Garbage is dropped without a word, and nothing panics.
    s.deliver(b"\x00\x01garbage\r\n\r\n");
    s.deliver(b"SIP/2.0 200 OK\r\n\r\n");
    assert!(s.sent().is_empty());
    assert!(s.drain_events().is_empty());
}

#[test]
fn responses_follow_rport_and_received() {
    let mut s = Scripted::new(49);
    // The request claims 10.0.0.5:5099 in Via but arrives from 192.0.2.9:5060.
    let options = b"OPTIONS sip:otp@192.0.2.1 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 10.0.0.5:5099;branch=z9hG4bKnat1;rport\r\n\
        From: <sip:a@10.0.0.5>;tag=x\r\n\
        To: <sip:otp@192.0.2.1>\r\n\
        Call-ID: nat-1\r\n\
        CSeq: 1 OPTIONS\r\n\
        Content-Length: 0\r\n\r\n";
    s.deliver(options);
    let t = s.endpoint.poll_transmit().unwrap();
    assert_eq!(t.destination, s.peer, "rport: back to the source address");
    let text = String::from_utf8(t.payload).unwrap();
    assert!(text.contains("received=192.0.2.9"), "{text}");
    assert!(text.contains("rport=5060"), "{text}");

    // Without rport the response goes to the source IP at the Via port.
    let no_rport = String::from_utf8_lossy(options)
        .replace(";rport", "")
        .replace("nat1", "nat2");
    s.deliver(no_rport.as_bytes());
    let t = s.endpoint.poll_transmit().unwrap();
    assert_eq!(t.destination, "192.0.2.9:5099".parse().unwrap());
}

#[test]
fn an_undecided_inbound_call_is_given_up_after_the_guard() {
    let mut s = Scripted::new(50);
    s.deliver(&request("INVITE", 1, "slow", None, "", ""));
    let call = match s.drain_events().first() {
        Some(Event::IncomingCall { call, .. }) => *call,
        other => panic!("{other:?}"),
    };
    s.advance(Duration::from_secs(179));
    assert_eq!(
        s.sent_responses()
            .iter()
            .map(|r| r.status)
            .collect::<Vec<_>>(),
        [100]
    );
    s.advance(Duration::from_secs(1));
    assert_eq!(s.sent_responses()[0].status, 480);
    assert!(s.drain_events().contains(&Event::Ended {
        call,
        cause: HangupCause::NoAnswer,
        status: Some(480),
        by: Side::Local
    }));
}

#[test]
fn rfc_2543_caller_without_magic_cookie_is_served() {
    let mut s = Scripted::new(51);
    let old = |method: &str, cseq_method: &str| {
        format!(
            "{method} sip:otp@192.0.2.1:5060 SIP/2.0\r\n\
             Via: SIP/2.0/UDP 192.0.2.9:5060\r\n\
             From: <sip:old@192.0.2.9>;tag=o1\r\n\
             To: <sip:otp@192.0.2.1>\r\n\
             Call-ID: legacy-1\r\n\
             CSeq: 1 {cseq_method}\r\n\
             Content-Length: 0\r\n\r\n"
        )
    };
    s.deliver(old("INVITE", "INVITE").as_bytes());
    let call = match s.drain_events().first() {
        Some(Event::IncomingCall { call, .. }) => *call,
        other => panic!("{other:?}"),
    };
    s.deliver(old("INVITE", "INVITE").as_bytes());
    assert!(s.sent_responses().is_empty(), "retransmission absorbed");
    s.endpoint.reject(s.now, call, 486, vec![]);
    assert_eq!(s.sent_responses()[0].status, 486);
    s.deliver(old("ACK", "ACK").as_bytes());
    s.advance(Duration::from_secs(5));
    assert!(
        s.sent_responses().is_empty(),
        "the ACK matched the INVITE transaction and stopped Timer G"
    );
}

#[test]
fn the_same_invite_on_another_branch_is_a_merged_request() {
    let mut s = Scripted::new(52);
    s.deliver(&request("INVITE", 1, "fork-a", None, "", ""));
    s.deliver(&request("INVITE", 1, "fork-b", None, "", ""));
    let statuses: Vec<_> = s.sent_responses().iter().map(|r| r.status).collect();
    assert_eq!(statuses, [482]);
    let calls = s
        .drain_events()
        .iter()
        .filter(|e| matches!(e, Event::IncomingCall { .. }))
        .count();
    assert_eq!(calls, 1);
}

#[test]
fn delayed_offer_answer_arrives_in_the_ack() {
    let mut s = Scripted::new(53);
    s.deliver(&request("INVITE", 1, "late", None, "", ""));
    let call = match s.drain_events().first() {
        Some(Event::IncomingCall {
            call,
            sdp_offer: None,
            ..
        }) => *call,
        other => panic!("{other:?}"),
    };
    s.endpoint.answer(s.now, call, Bytes::from_static(ANSWER));
    let tag = s.sent_responses()[0]
        .headers
        .to()
        .unwrap()
        .tag()
        .unwrap()
        .to_owned();
    s.deliver(&request(
        "ACK",
        1,
        "late-ack",
        Some(&tag),
        "Content-Type: application/sdp\r\n",
        OFFER,
    ));
    let events = s.drain_events();
    let tail: Vec<_> = events.iter().rev().take(2).rev().cloned().collect();
    assert_eq!(
        tail,
        [
            Event::AckAnswer {
                call,
                sdp_answer: Bytes::from_static(OFFER.as_bytes())
            },
            Event::Confirmed { call }
        ]
    );
}
