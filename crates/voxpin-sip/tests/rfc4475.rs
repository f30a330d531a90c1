//! RFC 4475 torture messages: each of the 49 messages, byte for byte, goes through what a UAS
//! does with a UDP datagram — `parse_datagram`, then `check_request` (or `check_response`), or
//! `salvage` when the strict parse fails — and must end in the outcome RFC 4475 §3 describes.
//!
//! The UAS under test handles REGISTER and MESSAGE besides the calling methods, so that the
//! registrar and body checks the RFC describes are reached instead of a blanket 405.

use std::path::PathBuf;

use voxpin_sip::msg::{
    check_request, check_response, parse_datagram, salvage, Datagram, HeaderName, Message, Method,
    Request, UasCapabilities,
};

/// What the UAS does with a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// The request is processed normally.
    Accept,
    /// The request is answered with this error status (statelessly, from a salvage, when the
    /// strict parse failed).
    Respond(u16),
    /// A response that is passed on to transaction matching.
    Response,
    /// Silently discarded.
    Drop,
}
use Outcome::*;

/// (fixture, RFC 4475 section, expected outcome). Where the RFC allows a choice the comment
/// says which one and why.
const TABLE: &[(&str, &str, Outcome)] = &[
    // 3.1.1 Valid messages
    ("wsinv", "3.1.1.1", Accept),
    ("intmeth", "3.1.1.2", Respond(501)), // valid, but the method is unknown to us
    ("esc01", "3.1.1.3", Accept),
    ("escnull", "3.1.1.4", Accept),
    ("esc02", "3.1.1.5", Respond(501)), // RE%47IST%45R is not REGISTER
    ("lwsdisp", "3.1.1.6", Accept),
    ("longreq", "3.1.1.7", Accept),
    ("dblreq", "3.1.1.8", Accept), // the REGISTER; the INVITE after Content-Length is ignored
    ("semiuri", "3.1.1.9", Accept),
    ("transports", "3.1.1.10", Accept),
    ("mpart01", "3.1.1.11", Respond(415)), // valid; multipart bodies are not understood here
    ("unreason", "3.1.1.12", Response),
    ("noreason", "3.1.1.13", Response),
    // 3.1.2 Invalid messages
    ("badinv01", "3.1.2.1", Respond(400)),
    ("clerr", "3.1.2.2", Respond(400)), // over UDP: 400
    ("ncl", "3.1.2.3", Respond(400)),
    ("scalar02", "3.1.2.4", Respond(400)),
    ("scalarlg", "3.1.2.5", Drop),
    ("quotbal", "3.1.2.6", Respond(400)),
    ("ltgtruri", "3.1.2.7", Respond(400)),
    ("lwsruri", "3.1.2.8", Respond(400)),
    ("lwsstart", "3.1.2.9", Respond(400)), // rejecting is allowed; we are strict
    ("trws", "3.1.2.10", Respond(400)),    // likewise
    ("escruri", "3.1.2.11", Respond(400)),
    ("baddate", "3.1.2.12", Accept), // allowed: we never use the Date header
    ("regbadct", "3.1.2.13", Respond(400)),
    ("badaspec", "3.1.2.14", Respond(400)),
    ("baddn", "3.1.2.15", Respond(400)),
    ("badvers", "3.1.2.16", Respond(505)),
    ("mismatch01", "3.1.2.17", Respond(400)),
    ("mismatch02", "3.1.2.18", Respond(501)), // the RFC prefers 501 over 400
    ("bigcode", "3.1.2.19", Drop),
    // 3.2 Transaction layer
    ("badbranch", "3.2.1", Respond(400)), // 400 rather than an RFC 2543 fallback
    // 3.3 Application layer
    ("insuf", "3.3.1", Respond(400)),
    ("unkscm", "3.3.2", Respond(416)),
    ("novelsc", "3.3.3", Respond(416)),
    ("unksm2", "3.3.4", Respond(400)), // a registrar needs a SIP URI in To
    ("bext01", "3.3.5", Respond(420)),
    ("invut", "3.3.6", Respond(415)),
    ("regaut01", "3.3.7", Accept), // authorization is not a parsing matter
    ("multi01", "3.3.8", Respond(400)),
    ("mcl01", "3.3.9", Respond(400)),
    ("bcast", "3.3.10", Response),
    ("zeromf", "3.3.11", Accept), // Max-Forwards 0 only matters to proxies
    ("cparam01", "3.3.12", Accept),
    ("cparam02", "3.3.13", Accept),
    ("regescrt", "3.3.14", Accept),
    ("sdp01", "3.3.15", Respond(406)),
    // 3.4 Backward compatibility
    ("inv2543", "3.4.1", Accept),
];

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

fn capabilities() -> UasCapabilities {
    let mut caps = UasCapabilities::default();
    caps.methods.extend([Method::Register, Method::Message]);
    caps
}

/// Runs one datagram through the UAS pipeline. Every error response it would send is printed
/// and parsed back, so the answers themselves are well-formed.
fn outcome(bytes: &[u8]) -> Outcome {
    match parse_datagram(bytes) {
        Ok(Datagram::Message(Message::Request(req))) => {
            match check_request(&req, &capabilities()) {
                Ok(()) => Accept,
                Err(rejection) => {
                    let response = rejection.response(&req, "uas-tag");
                    assert_reparses(&response.to_bytes(), rejection.status);
                    Respond(rejection.status)
                }
            }
        }
        Ok(Datagram::Message(Message::Response(resp))) => match check_response(&resp) {
            Ok(()) => Response,
            Err(_) => Drop,
        },
        Ok(Datagram::KeepAlive) => Drop,
        Err(error) => match salvage(bytes) {
            Some(salvaged) => {
                let status = error.response_status();
                let response = salvaged.response(status, error.response_reason());
                assert_reparses(&response.to_bytes(), status);
                Respond(status)
            }
            None => Drop,
        },
    }
}

fn assert_reparses(bytes: &[u8], status: u16) {
    match parse_datagram(bytes) {
        Ok(Datagram::Message(Message::Response(r))) => assert_eq!(r.status, status),
        other => panic!("our own {status} response does not parse: {other:?}"),
    }
}

#[test]
fn every_torture_message_meets_its_expected_outcome() {
    let mut failures = Vec::new();
    for (name, section, expected) in TABLE {
        let got = outcome(&fixture(name));
        if got != *expected {
            failures.push(format!(
                "{name} (§{section}): expected {expected:?}, got {got:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_table_covers_all_49_fixtures() {
    let dir: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "fixtures", "rfc4475"]
        .iter()
        .collect();
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("fixture directory")
        .filter_map(|e| {
            e.ok()?
                .file_name()
                .into_string()
                .ok()?
                .strip_suffix(".dat")
                .map(String::from)
        })
        .collect();
    files.sort();
    let mut names: Vec<String> = TABLE.iter().map(|(n, _, _)| n.to_string()).collect();
    names.sort();
    assert_eq!(files.len(), 49);
    assert_eq!(files, names);
}

#[test]
fn parsed_messages_print_and_parse_back_to_the_same_message() {
    for (name, _, _) in TABLE {
        let Ok(Datagram::Message(first)) = parse_datagram(&fixture(name)) else {
            continue;
        };
        let printed = first.to_bytes();
        let Ok(Datagram::Message(second)) = parse_datagram(&printed) else {
            panic!(
                "{name}: printed form does not parse:\n{}",
                String::from_utf8_lossy(&printed)
            );
        };
        assert_eq!(
            without_content_length(first),
            without_content_length(second),
            "{name}"
        );
    }
}

fn without_content_length(mut m: Message) -> Message {
    match &mut m {
        Message::Request(r) => r.headers.remove(&HeaderName::ContentLength),
        Message::Response(r) => r.headers.remove(&HeaderName::ContentLength),
    }
    m
}

fn request(name: &str) -> Request {
    match parse_datagram(&fixture(name)) {
        Ok(Datagram::Message(Message::Request(r))) => r,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn valid_messages_parse_to_what_the_rfc_says_they_contain() {
    let wsinv = request("wsinv");
    assert_eq!(wsinv.headers.vias().unwrap().len(), 3);
    assert_eq!(
        wsinv.headers.from().unwrap().display_name.as_deref(),
        Some("J Rosenberg \\\"")
    );
    assert_eq!(wsinv.headers.from().unwrap().tag(), Some("98asjd8"));
    assert_eq!(wsinv.headers.to().unwrap().tag(), Some("1918181833n"));
    assert_eq!(wsinv.headers.cseq().unwrap().seq, 9);
    assert_eq!(wsinv.headers.max_forwards(), Some(Ok(68)));
    assert_eq!(wsinv.headers.get(&HeaderName::Subject), Some(""));
    assert_eq!(
        wsinv.headers.get(&HeaderName::new("NewFangledHeader")),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(wsinv.body.len(), 150);
    let contact = wsinv.headers.contact().unwrap().unwrap();
    assert_eq!(contact.display_name.as_deref(), Some("Quoted string \"\""));
    assert_eq!(contact.param("newparam"), Some(Some("newvalue")));

    let intmeth = request("intmeth");
    assert_eq!(
        intmeth.method.as_str(),
        "!interesting-Method0123456789_*+`.%indeed'~"
    );
    assert_eq!(
        intmeth.uri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );

    let esc01 = request("esc01");
    assert_eq!(esc01.uri.user.as_deref(), Some("sips%3Auser%40example.com"));
    assert_eq!(esc01.uri.host, "example.net");

    let esc02 = request("esc02");
    assert_eq!(esc02.headers.list(&HeaderName::Contact).count(), 2);
    assert_eq!(
        esc02.headers.from().unwrap().display_name.as_deref(),
        Some("%Z%45")
    );

    assert_eq!(
        request("lwsdisp")
            .headers
            .from()
            .unwrap()
            .display_name
            .as_deref(),
        Some("caller")
    );
    assert_eq!(request("longreq").headers.vias().unwrap().len(), 34);
    assert_eq!(request("dblreq").method, Method::Register);
    assert_eq!(
        request("semiuri").uri.user.as_deref(),
        Some("user;par=u%40example.net")
    );
    let transports: Vec<String> = request("transports")
        .headers
        .vias()
        .unwrap()
        .into_iter()
        .map(|v| v.transport)
        .collect();
    assert_eq!(transports, ["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"]);
    let mpart = request("mpart01");
    assert_eq!(
        mpart.body.len().to_string(),
        mpart.headers.get(&HeaderName::ContentLength).unwrap()
    );
    let cparam01 = request("cparam01").headers.contact().unwrap().unwrap();
    assert!(cparam01.uri.params.is_empty());
    assert_eq!(cparam01.param("unknownparam"), Some(None));
    let cparam02 = request("cparam02").headers.contact().unwrap().unwrap();
    assert_eq!(cparam02.uri.param("unknownparam"), Some(None));
    let inv2543 = request("inv2543");
    assert!(inv2543.headers.top_via().unwrap().branch().is_none());
    assert!(inv2543.body.ends_with(b"m=audio 49217 RTP/AVP 0\r\n"));
}

#[test]
fn error_responses_carry_the_headers_the_rfc_asks_for() {
    let caps = capabilities();
    let bext = check_request(&request("bext01"), &caps).unwrap_err();
    let unsupported = &bext
        .headers
        .iter()
        .find(|(n, _)| *n == HeaderName::Unsupported)
        .unwrap()
        .1;
    assert!(unsupported.contains("nothingSupportsThis"), "{unsupported}");
    let invut = check_request(&request("invut"), &caps).unwrap_err();
    assert_eq!(invut.headers[0].0, HeaderName::Accept);
    let intmeth = check_request(&request("intmeth"), &caps).unwrap_err();
    assert_eq!(intmeth.headers[0].0, HeaderName::Allow);
}

#[test]
fn truncating_fixtures_at_structural_points_never_panics() {
    // Every cut next to a delimiter, and every 11th byte elsewhere: the cuts that change how
    // a message parses, at a cost that keeps the suite fast.
    for (name, _, _) in TABLE {
        let bytes = fixture(name);
        for end in 0..bytes.len() {
            let before = end.checked_sub(1).and_then(|i| bytes.get(i)).copied();
            let delimiter = before.is_some_and(|b| b"\r\n:;,<>\" /@=".contains(&b));
            if delimiter || end % 11 == 0 {
                let _ = outcome(&bytes[..end]);
            }
        }
    }
}
