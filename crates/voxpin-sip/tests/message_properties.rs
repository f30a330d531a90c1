//! Message property tests: generated URIs, addresses, Vias, requests and responses print and
//! parse back to themselves; stream framing of arbitrarily chunked messages agrees with
//! datagram parsing; arbitrary and mutated bytes never make the parser, the UAS checks or the
//! salvage panic.

use bytes::Bytes;
use proptest::prelude::*;
use voxpin_sip::msg::{
    check_request, check_response, parse_datagram, salvage, CSeq, Datagram, HeaderName, Message,
    Method, NameAddr, Param, Request, Response, Scheme, StreamFramer, UasCapabilities, Uri, Via,
};

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9][A-Za-z0-9.!%*_+`'~-]{0,11}"
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Ack),
        Just(Method::Bye),
        Just(Method::Cancel),
        Just(Method::Options),
        Just(Method::Register),
        Just(Method::Info),
        Just(Method::Message),
        "[A-Z][A-Z0-9-]{1,10}".prop_map(|m| Method::parse(&m).expect("generated token")),
    ]
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z][a-z0-9-]{0,8}){0,3}",
        (any::<u8>(), any::<u8>(), any::<u8>(), any::<u8>())
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        any::<u128>().prop_map(|v| format!("[{}]", std::net::Ipv6Addr::from(v))),
    ]
}

fn uri_param() -> impl Strategy<Value = Param> {
    (
        "[a-z][a-z0-9-]{0,8}",
        proptest::option::of("[A-Za-z0-9.-]{1,8}|%[0-9a-f]{2}"),
    )
        .prop_map(|(name, value)| Param { name, value })
}

fn uri() -> impl Strategy<Value = Uri> {
    (
        prop_oneof![Just(Scheme::Sip), Just(Scheme::Sips)],
        proptest::option::of("[A-Za-z0-9._!~*'()&=+$,;?/-]{1,12}|[a-z]{1,4}%[0-9A-F]{2}[a-z]{0,4}"),
        host(),
        proptest::option::of(any::<u16>()),
        proptest::collection::vec(uri_param(), 0..3),
        proptest::collection::vec(uri_param(), 0..2),
    )
        .prop_map(|(scheme, user, host, port, params, headers)| Uri {
            scheme,
            user,
            host,
            port,
            params,
            headers,
        })
}

fn header_param() -> impl Strategy<Value = Param> {
    (
        token(),
        proptest::option::of(prop_oneof![token(), "\"[a-zA-Z ,;:=<>]{0,10}\""]),
    )
        .prop_map(|(name, value)| Param { name, value })
}

fn name_addr() -> impl Strategy<Value = NameAddr> {
    (
        proptest::option::of("[ -~\u{e9}\u{4e2d}\"\\\\]{0,16}"),
        uri(),
        proptest::collection::vec(header_param(), 0..3),
    )
        .prop_map(|(display_name, uri, params)| NameAddr {
            display_name,
            uri,
            params,
        })
}

fn via() -> impl Strategy<Value = Via> {
    (
        prop_oneof![
            Just("UDP"),
            Just("TCP"),
            Just("TLS"),
            Just("SCTP"),
            Just("WS")
        ],
        host(),
        proptest::option::of(any::<u16>()),
        "z9hG4bK[A-Za-z0-9]{1,16}",
        any::<bool>(),
    )
        .prop_map(|(transport, host, port, branch, rport)| {
            let mut params = vec![Param::new("branch", branch)];
            if rport {
                params.push(Param::flag("rport"));
            }
            Via {
                transport: transport.to_owned(),
                host,
                port,
                params,
            }
        })
}

/// Extension header lines: names of two or more characters (one-letter names are compact
/// forms), values printable and trimmed.
fn extension_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    proptest::collection::vec(
        ("X-[A-Za-z0-9-]{1,10}", "([!-~]([ !-~]{0,20}[!-~])?)?"),
        0..4,
    )
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..64)
}

fn request() -> impl Strategy<Value = Request> {
    (
        method(),
        uri(),
        proptest::collection::vec(via(), 1..4),
        name_addr(),
        name_addr(),
        "[A-Za-z0-9.@-]{1,24}",
        any::<u32>(),
        extension_headers(),
        body(),
    )
        .prop_map(|(method, uri, vias, from, to, call_id, seq, extra, body)| {
            let mut r = Request::new(method.clone(), uri);
            for v in vias {
                r.headers.push(HeaderName::Via, v.to_string());
            }
            r.headers.push(HeaderName::From, from.to_string());
            r.headers.push(HeaderName::To, to.to_string());
            r.headers.push(HeaderName::CallId, call_id);
            r.headers
                .push(HeaderName::CSeq, CSeq { seq, method }.to_string());
            r.headers.push(HeaderName::MaxForwards, "70");
            for (name, value) in extra {
                r.headers.push(HeaderName::new(&name), value);
            }
            if !body.is_empty() {
                r.headers.push(HeaderName::ContentType, "application/sdp");
            }
            r.body = Bytes::from(body);
            r
        })
}

fn response() -> impl Strategy<Value = Response> {
    (
        100u16..=699,
        "([!-~]([ -~\\u{a0}-\\u{10ffff}]{0,20}))?",
        request(),
    )
        .prop_map(|(status, reason, req)| {
            let mut resp = Response::for_request(&req, status, &reason);
            resp.body = req.body.clone();
            resp
        })
}

/// The message a parse of `m.to_bytes()` should give: `m` with one Content-Length at the end.
fn as_printed(m: Message) -> Message {
    let fix = |h: &mut voxpin_sip::msg::Headers, len: usize| {
        h.remove(&HeaderName::ContentLength);
        h.push(HeaderName::ContentLength, len.to_string());
    };
    match m {
        Message::Request(mut r) => {
            fix(&mut r.headers, r.body.len());
            Message::Request(r)
        }
        Message::Response(mut r) => {
            fix(&mut r.headers, r.body.len());
            Message::Response(r)
        }
    }
}

fn parse_message(bytes: &[u8]) -> Message {
    match parse_datagram(bytes) {
        Ok(Datagram::Message(m)) => m,
        other => panic!("{other:?} for:\n{}", String::from_utf8_lossy(bytes)),
    }
}

proptest! {
    // Whole generated messages are costly to build in a debug build: fewer cases keep
    // `cargo test` fast, and CI runs accumulate coverage across runs.
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn uris_round_trip(u in uri()) {
        prop_assert_eq!(Uri::parse(&u.to_string()), Ok(u));
    }

    #[test]
    fn addresses_round_trip(a in name_addr()) {
        prop_assert_eq!(NameAddr::parse(&a.to_string()), Ok(a));
    }

    #[test]
    fn vias_round_trip(v in via()) {
        prop_assert_eq!(Via::parse(&v.to_string()), Ok(v));
    }

    #[test]
    fn requests_round_trip(r in request()) {
        let parsed = parse_message(&r.to_bytes());
        prop_assert_eq!(&parsed, &as_printed(Message::Request(r.clone())));
        let Message::Request(parsed) = parsed else { unreachable!("checked equal to a request") };
        prop_assert_eq!(parsed.headers.cseq().map(|c| c.method), Ok(r.method.clone()));
        prop_assert!(parsed.headers.vias().is_ok());
    }

    #[test]
    fn responses_round_trip(r in response()) {
        let parsed = parse_message(&r.to_bytes());
        prop_assert_eq!(&parsed, &as_printed(Message::Response(r)));
        let Message::Response(parsed) = parsed else { unreachable!("checked equal to a response") };
        prop_assert_eq!(check_response(&parsed), Ok(()));
    }

    #[test]
    fn stream_framing_agrees_with_datagrams(
        messages in proptest::collection::vec(request(), 1..4),
        cuts in proptest::collection::vec(1usize..200, 0..20),
    ) {
        let mut stream = Vec::new();
        for m in &messages {
            stream.extend_from_slice(b"\r\n");
            stream.extend_from_slice(&m.to_bytes());
        }
        let mut framer = StreamFramer::new(64 * 1024);
        let mut got = Vec::new();
        let mut rest = &stream[..];
        for cut in cuts.into_iter().chain(std::iter::once(usize::MAX)) {
            let (chunk, after) = rest.split_at(cut.min(rest.len()));
            rest = after;
            framer.push(chunk).expect("within limits");
            while let Some(m) = framer.next_message() {
                got.push(m.expect("a well-formed message"));
            }
        }
        let expected: Vec<Message> =
            messages.into_iter().map(|m| as_printed(Message::Request(m))).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn mutated_messages_never_panic(
        r in request(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    ) {
        let mut bytes = r.to_bytes();
        for (at, byte, kind) in edits {
            if bytes.is_empty() { break; }
            let i = at.index(bytes.len());
            match kind {
                0 => bytes[i] = byte,
                1 => bytes.insert(i, byte),
                _ => { bytes.remove(i); }
            }
        }
        exercise(&bytes);
    }
}

proptest! {
    // Cheap inputs: many cases.
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        exercise(&bytes);
    }

    #[test]
    fn sip_shaped_noise_never_panics(
        parts in proptest::collection::vec(proptest::sample::select(SIP_PIECES), 0..80),
    ) {
        exercise(parts.concat().as_bytes());
    }
}

/// Pieces of SIP syntax that noise is made of.
const SIP_PIECES: &[&str] = &[
    "INVITE ",
    "SIP/2.0",
    " ",
    "\r\n",
    "\r\n ",
    ":",
    ";",
    ",",
    "<",
    ">",
    "\"",
    "\\",
    "@",
    "[",
    "]",
    "sip:",
    "Via",
    "l",
    "Content-Length",
    "CSeq",
    "From",
    "To",
    "i",
    "0",
    "9",
    "%",
    "é",
    "a",
];

/// Everything a UAS does with untrusted bytes. Whatever parses must also print and parse
/// back to the same message.
fn exercise(bytes: &[u8]) {
    if let Ok(Datagram::Message(m)) = parse_datagram(bytes) {
        assert_eq!(parse_message(&m.to_bytes()), as_printed(m), "round trip");
    }
    match parse_datagram(bytes) {
        Ok(Datagram::Message(Message::Request(req))) => {
            if let Err(rejection) = check_request(&req, &UasCapabilities::default()) {
                let _ = rejection.response(&req, "tag").to_bytes();
            }
            let _ = req.to_bytes();
        }
        Ok(Datagram::Message(Message::Response(resp))) => {
            let _ = check_response(&resp);
        }
        Ok(Datagram::KeepAlive) => {}
        Err(e) => {
            if let Some(s) = salvage(bytes) {
                let _ = s
                    .response(e.response_status(), e.response_reason())
                    .to_bytes();
            }
        }
    }
    let mut framer = StreamFramer::new(1024);
    for chunk in bytes.chunks(97) {
        if framer.push(chunk).is_err() {
            break;
        }
        while let Some(m) = framer.next_message() {
            let _ = m;
        }
    }
}
