//! rsip as a test oracle. The message layer parses in-tree (docs/decisions/0001); these tests
//! keep it honest against an independent parser on ordinary traffic, and pin the rsip faults
//! that made the in-tree parser necessary, so a future rsip release that fixes them shows up.

use rsip::headers::ToTypedHeader;
use rsip::message::HeadersExt;

use super::*;

const INVITE: &[u8] = b"INVITE sip:bob@biloxi.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@biloxi.example.com>\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@pc33.atlanta.example.com>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\r\nv=0\n";

const OK: &[u8] = b"SIP/2.0 200 OK\r\n\
Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds;received=192.0.2.1\r\n\
To: Bob <sip:bob@biloxi.example.com>;tag=a6c85cf\r\n\
From: Alice <sip:alice@atlanta.example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.atlanta.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Content-Length: 0\r\n\r\n";

fn ours(bytes: &[u8]) -> Message {
    match parse_datagram(bytes) {
        Ok(Datagram::Message(m)) => m,
        other => panic!("{other:?}"),
    }
}

fn rsip_parse(bytes: &[u8]) -> Result<rsip::SipMessage, rsip::Error> {
    rsip::SipMessage::try_from(bytes)
}

/// The fields both parsers must agree on for an ordinary request.
fn assert_request_agrees(bytes: &[u8]) {
    let Message::Request(ours) = ours(bytes) else {
        panic!("not a request")
    };
    let Ok(rsip::SipMessage::Request(theirs)) = rsip_parse(bytes) else {
        panic!("rsip failed")
    };
    assert_eq!(ours.method.to_string(), theirs.method.to_string());
    assert_eq!(ours.uri.user.as_deref(), theirs.uri.user());
    assert_eq!(ours.uri.host, theirs.uri.host().to_string());
    assert_eq!(
        ours.headers.call_id().unwrap(),
        theirs
            .call_id_header()
            .unwrap()
            .to_string()
            .trim_start_matches("Call-ID: ")
    );
    assert_eq!(
        ours.headers.cseq().unwrap().seq,
        theirs.cseq_header().unwrap().seq().unwrap()
    );
    let their_tag = theirs
        .from_header()
        .unwrap()
        .tag()
        .unwrap()
        .map(|t| t.to_string());
    assert_eq!(
        ours.headers.from().unwrap().tag().map(String::from),
        their_tag
    );
    assert_eq!(&ours.body[..], &theirs.body[..]);
}

#[test]
fn ordinary_requests_agree_with_rsip() {
    assert_request_agrees(INVITE);
    // What we print must read the same way to an independent parser.
    let Message::Request(mut bye) = ours(INVITE) else {
        panic!("not a request")
    };
    bye.method = Method::Bye;
    bye.headers.set(HeaderName::CSeq, "314160 BYE");
    bye.body = bytes::Bytes::new();
    bye.headers.remove(&HeaderName::ContentType);
    assert_request_agrees(&bye.to_bytes());
}

#[test]
fn ordinary_responses_agree_with_rsip() {
    let Message::Response(ours) = ours(OK) else {
        panic!("not a response")
    };
    let Ok(rsip::SipMessage::Response(theirs)) = rsip_parse(OK) else {
        panic!("rsip failed")
    };
    assert_eq!(ours.status, theirs.status_code.code());
    let their_tag = theirs
        .to_header()
        .unwrap()
        .tag()
        .unwrap()
        .map(|t| t.to_string());
    assert_eq!(
        ours.headers.to().unwrap().tag().map(String::from),
        their_tag
    );
    let printed = Response::for_request(
        &match self::ours(INVITE) {
            Message::Request(r) => r,
            Message::Response(_) => panic!("not a request"),
        },
        180,
        "Ringing",
    )
    .to_bytes();
    let Ok(rsip::SipMessage::Response(ringing)) = rsip_parse(&printed) else {
        panic!("rsip failed")
    };
    assert_eq!(ringing.status_code.code(), 180);
}

/// Replaces the first occurrence of `from` in `base`.
fn variant(base: &[u8], from: &str, to: &str) -> Vec<u8> {
    String::from_utf8_lossy(base)
        .replacen(from, to, 1)
        .into_bytes()
}

#[test]
fn rsip_faults_that_the_in_tree_parser_fixes() {
    // Dotted user parts: rsip reads no user; we read "t.watson".
    let dotted = variant(INVITE, "sip:bob@biloxi", "sip:t.watson@biloxi");
    let Ok(rsip::SipMessage::Request(r)) = rsip_parse(&dotted) else {
        panic!("rsip failed")
    };
    assert_ne!(r.uri.user(), Some("t.watson"));
    let Message::Request(ours_dotted) = ours(&dotted) else {
        panic!("not a request")
    };
    assert_eq!(ours_dotted.uri.user.as_deref(), Some("t.watson"));

    // IPv6 hosts in From: rsip cannot read the header.
    let v6 = variant(
        INVITE,
        "<sip:alice@atlanta.example.com>",
        "<sip:linphone@[fd00::2]>",
    );
    let rsip_from = rsip_parse(&v6).ok().and_then(|m| {
        let rsip::SipMessage::Request(r) = m else {
            return None;
        };
        r.from_header().ok()?.typed().ok()
    });
    assert!(rsip_from.is_none());
    assert_eq!(ours(&v6).headers().from().unwrap().uri.host, "[fd00::2]");

    // Extension methods: rsip rejects the message.
    let ext = variant(
        &variant(INVITE, "INVITE sip", "NEWMETHOD sip"),
        "314159 INVITE",
        "1 NEWMETHOD",
    );
    assert!(rsip_parse(&ext).is_err());
    assert!(
        matches!(ours(&ext), Message::Request(r) if r.method == Method::Extension("NEWMETHOD".into()))
    );

    // Folded headers and whitespace before the colon: rsip rejects the message.
    let folded = variant(INVITE, "Max-Forwards: 70", "Max-Forwards :\r\n 70");
    assert!(rsip_parse(&folded).is_err());
    assert_eq!(ours(&folded).headers().max_forwards(), Some(Ok(70)));

    // Compact names: rsip keeps "i" as an unknown header, so the message has no Call-ID.
    let compact = variant(INVITE, "Call-ID:", "i:");
    let Ok(rsip::SipMessage::Request(r)) = rsip_parse(&compact) else {
        panic!("rsip failed")
    };
    assert!(r.call_id_header().is_err());
    assert!(ours(&compact).headers().call_id().is_ok());

    // Content-Length framing: rsip takes trailing datagram bytes as body.
    let mut trailing = INVITE.to_vec();
    trailing.extend_from_slice(b"garbage");
    let Ok(rsip::SipMessage::Request(r)) = rsip_parse(&trailing) else {
        panic!("rsip failed")
    };
    assert_ne!(r.body.len(), 4);
    assert_eq!(ours(&trailing).body().len(), 4);
}
