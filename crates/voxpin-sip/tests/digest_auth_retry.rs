//! A carrier that challenges the INVITE with 401 or 407 gets exactly one
//! retry carrying digest credentials: same Call-ID and From tag, CSeq + 1,
//! a new branch, `Authorization` (401) or `Proxy-Authorization` (407). A
//! second challenge, or a challenge without credentials, ends the call as
//! CALL_REJECTED. The ACK carries the INVITE's credentials, a challenged
//! BYE is retried once the same way, and the password never appears in
//! what is sent or reported.

mod support;

use support::{reply, Scripted};
use voxpin_sip::auth::Credentials;
use voxpin_sip::msg::{HeaderName, Method};
use voxpin_sip::{Event, HangupCause, Side};

const CHALLENGE: &str =
    "Digest realm=\"carrier.example\", nonce=\"4e6f6e6365\", qop=\"auth\", algorithm=MD5";

fn credentials() -> Credentials {
    Credentials {
        username: "trunk-user".to_owned(),
        password: "s3cret-pass".to_owned(),
        realm: None,
    }
}

fn challenged(status: u16, seed: u64) -> (Scripted, voxpin_sip::CallId, voxpin_sip::msg::Request) {
    let mut s = Scripted::new(seed);
    let mut call = s.outbound_call();
    call.credentials = Some(credentials());
    let id = s.endpoint.call(s.now, call);
    let invite = s.sent_requests().remove(0);
    let (reason, header) = if status == 401 {
        ("Unauthorized", HeaderName::WwwAuthenticate)
    } else {
        (
            "Proxy Authentication Required",
            HeaderName::ProxyAuthenticate,
        )
    };
    s.deliver(&reply(
        &invite,
        status,
        reason,
        Some("c1"),
        &[(header, CHALLENGE)],
    ));
    (s, id, invite)
}

#[test]
fn www_authenticate_is_answered_once_with_authorization() {
    let (mut s, call, first) = challenged(401, 31);
    let sent = s.sent_requests();
    assert_eq!(sent.len(), 2, "ACK for the 401, then the new INVITE");
    assert_eq!(sent[0].method, Method::Ack);
    let retry = &sent[1];
    assert_eq!(retry.method, Method::Invite);
    assert_eq!(retry.headers.cseq().unwrap().seq, 2);
    assert_eq!(
        retry.headers.call_id().unwrap(),
        first.headers.call_id().unwrap()
    );
    assert_eq!(
        retry.headers.from().unwrap().tag(),
        first.headers.from().unwrap().tag()
    );
    assert_ne!(
        retry.headers.top_via().unwrap().branch(),
        first.headers.top_via().unwrap().branch()
    );
    let auth = retry
        .headers
        .get(&HeaderName::Authorization)
        .unwrap()
        .to_owned();
    assert!(auth.starts_with("Digest username=\"trunk-user\""), "{auth}");
    assert!(auth.contains("realm=\"carrier.example\""));
    assert!(auth.contains("qop=auth"));
    assert!(!String::from_utf8_lossy(&retry.to_bytes()).contains("s3cret-pass"));
    assert!(retry.body == first.body, "the retry carries the same offer");

    // The carrier accepts the retry.
    s.deliver(&reply(
        retry,
        200,
        "OK",
        Some("c2"),
        &[(HeaderName::Contact, "<sip:gw@192.0.2.9>")],
    ));
    let events = s.drain_events();
    assert!(events
        .iter()
        .any(|e| matches!(e, Event::Answered { call: c, .. } if *c == call)));
    assert!(!format!("{events:?}").contains("s3cret-pass"));
    let ack = s.sent_requests().remove(0);
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(
        ack.headers.get(&HeaderName::Authorization),
        Some(auth.as_str()),
        "the ACK carries the INVITE's credentials (RFC 3261 13.2.2.4)"
    );
}

#[test]
fn a_challenged_bye_is_sent_again_with_credentials() {
    let (mut s, call, _) = challenged(407, 35);
    let retry = s.sent_requests().pop().unwrap();
    let contact = [(HeaderName::Contact, "<sip:gw@192.0.2.9>")];
    s.deliver(&reply(&retry, 200, "OK", Some("c2"), &contact));
    s.sent_requests(); // the ACK
    s.endpoint.hangup(s.now, call);
    let bye = s.sent_requests().remove(0);
    assert_eq!(bye.method, Method::Bye);
    let challenge = [(HeaderName::ProxyAuthenticate, CHALLENGE)];
    s.deliver(&reply(
        &bye,
        407,
        "Proxy Authentication Required",
        None,
        &challenge,
    ));
    let again = s.sent_requests();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].method, Method::Bye);
    assert_eq!(
        again[0].headers.cseq().unwrap().seq,
        bye.headers.cseq().unwrap().seq + 1
    );
    let auth = again[0]
        .headers
        .get(&HeaderName::ProxyAuthorization)
        .unwrap();
    assert!(auth.contains("uri=\"sip:gw@192.0.2.9\""), "{auth}");
    // A second challenge is not answered.
    s.deliver(&reply(
        &again[0],
        407,
        "Proxy Authentication Required",
        None,
        &challenge,
    ));
    assert!(s.sent_requests().is_empty());
}

#[test]
fn proxy_authenticate_is_answered_with_proxy_authorization() {
    let (mut s, _, _) = challenged(407, 32);
    let retry = s.sent_requests().pop().unwrap();
    assert!(retry.headers.get(&HeaderName::ProxyAuthorization).is_some());
    assert!(retry.headers.get(&HeaderName::Authorization).is_none());
}

#[test]
fn a_second_challenge_ends_the_call() {
    let (mut s, call, _) = challenged(401, 33);
    let retry = s.sent_requests().pop().unwrap();
    s.deliver(&reply(
        &retry,
        401,
        "Unauthorized",
        Some("c3"),
        &[(HeaderName::WwwAuthenticate, CHALLENGE)],
    ));
    let sent = s.sent_requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].method, Method::Ack, "no third INVITE");
    assert!(s.drain_events().contains(&Event::Ended {
        call,
        cause: HangupCause::CallRejected,
        status: Some(401),
        by: Side::Remote
    }));
}

#[test]
fn a_challenge_without_credentials_ends_the_call() {
    let mut s = Scripted::new(34);
    let call = s.endpoint.call(s.now, s.outbound_call());
    let invite = s.sent_requests().remove(0);
    s.deliver(&reply(
        &invite,
        407,
        "Proxy Authentication Required",
        Some("c1"),
        &[(HeaderName::ProxyAuthenticate, CHALLENGE)],
    ));
    assert!(s.drain_events().contains(&Event::Ended {
        call,
        cause: HangupCause::CallRejected,
        status: Some(407),
        by: Side::Remote
    }));
}
