//! TCP stream framing: the RFC 4475 messages sent back to back on one connection, cut into
//! arbitrary chunks and separated by keep-alive pings, come out of `StreamFramer` exactly as
//! datagram parsing reads them one by one; framing errors close the stream instead of
//! desynchronising it.

use std::path::PathBuf;

use voxpin_sip::msg::{parse_datagram, Datagram, HeaderName, Message, ParseError, StreamFramer};

fn fixture(name: &str) -> Vec<u8> {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "fixtures",
        "rfc4475",
        &format!("{name}.dat"),
    ]
    .iter()
    .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Fixtures that parse and carry a Content-Length matching their body: the ones that can
/// travel on a stream.
const STREAMABLE: &[&str] = &[
    "wsinv",
    "intmeth",
    "esc01",
    "escnull",
    "esc02",
    "lwsdisp",
    "longreq",
    "semiuri",
    "transports",
    "mpart01",
    "unreason",
    "noreason",
    "scalar02",
    "scalarlg",
    "quotbal",
    "escruri",
    "baddate",
    "regbadct",
    "badaspec",
    "baddn",
    "mismatch01",
    "mismatch02",
    "badbranch",
    "insuf",
    "unkscm",
    "novelsc",
    "unksm2",
    "bext01",
    "invut",
    "regaut01",
    "multi01",
    "bcast",
    "zeromf",
    "cparam01",
    "cparam02",
    "regescrt",
    "sdp01",
];

fn datagram_message(bytes: &[u8]) -> Message {
    match parse_datagram(bytes) {
        Ok(Datagram::Message(m)) => m,
        other => panic!("{other:?}"),
    }
}

#[test]
fn torture_messages_back_to_back_frame_like_datagrams() {
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    for name in STREAMABLE {
        let bytes = fixture(name);
        let message = datagram_message(&bytes);
        let length = message
            .headers()
            .get(&HeaderName::ContentLength)
            .map(str::to_owned);
        assert_eq!(
            length,
            Some(message.body().len().to_string()),
            "{name} is not streamable"
        );
        stream.extend_from_slice(b"\r\n\r\n");
        stream.extend_from_slice(&bytes);
        expected.push(message);
    }
    for chunk in [1, 7, 100, 1500, stream.len()] {
        let mut framer = StreamFramer::new(64 * 1024);
        let (mut got, mut pongs) = (Vec::new(), 0);
        for piece in stream.chunks(chunk) {
            framer.push(piece).expect("within the buffer bound");
            while let Some(m) = framer.next_message() {
                got.push(m.expect("every streamable fixture parses"));
            }
            while framer.poll_pong() {
                pongs += 1;
            }
        }
        assert_eq!(got, expected, "chunks of {chunk}");
        assert_eq!(pongs, STREAMABLE.len(), "chunks of {chunk}");
    }
}

#[test]
fn content_length_past_the_data_waits_for_more_bytes() {
    // RFC 4475 §3.1.2.2: on a stream there is nothing to do but wait (and time out).
    let mut framer = StreamFramer::new(64 * 1024);
    framer.push(&fixture("clerr")).unwrap();
    assert!(framer.next_message().is_none());
    assert!(!framer.is_poisoned());
}

#[test]
fn ambiguous_content_length_closes_the_stream() {
    for (name, error) in [
        ("mcl01", ParseError::DuplicateContentLength),
        ("ncl", ParseError::InvalidContentLength("-999".into())),
    ] {
        let mut framer = StreamFramer::new(64 * 1024);
        framer.push(&fixture(name)).unwrap();
        framer.push(&fixture("zeromf")).unwrap();
        assert_eq!(framer.next_message(), Some(Err(error)), "{name}");
        assert!(framer.is_poisoned());
        assert!(
            framer.next_message().is_none(),
            "nothing after a framing error"
        );
    }
}

#[test]
fn a_message_that_frames_but_does_not_parse_is_skipped() {
    let mut framer = StreamFramer::new(64 * 1024);
    framer.push(&fixture("badvers")).unwrap();
    framer.push(&fixture("zeromf")).unwrap();
    let first = framer.next_frame().unwrap().unwrap();
    assert!(matches!(
        parse_datagram(&first),
        Err(ParseError::UnsupportedVersion(_))
    ));
    assert!(matches!(
        framer.next_message(),
        Some(Ok(Message::Request(_)))
    ));
}

#[test]
fn headers_that_never_end_are_cut_at_the_limit() {
    let mut framer = StreamFramer::new(1024);
    let mut endless = b"OPTIONS sip:h SIP/2.0\r\n".to_vec();
    while endless.len() <= 1024 {
        endless.extend_from_slice(b"X-Padding: yes\r\n");
    }
    framer.push(&endless).unwrap();
    assert!(matches!(
        framer.next_message(),
        Some(Err(ParseError::TooLarge { .. }))
    ));
    assert!(framer.is_poisoned());
}
