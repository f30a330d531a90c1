//! Fuzzes what a UAS does with one untrusted datagram: parse, check or salvage, answer, and
//! print. Properties beyond "no panic": a parsed message prints to bytes that parse again to
//! the same message (Content-Length aside).
//!
//! Run with `cargo +nightly fuzz run parse_message` in `crates/voxpin-sip/fuzz`; seed the
//! corpus with `tests/fixtures/rfc4475/*.dat`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use voxpin_sip::msg::{
    check_request, check_response, parse_datagram, salvage, Datagram, HeaderName, Message,
    UasCapabilities,
};

fn without_content_length(mut m: Message) -> Message {
    match &mut m {
        Message::Request(r) => r.headers.remove(&HeaderName::ContentLength),
        Message::Response(r) => r.headers.remove(&HeaderName::ContentLength),
    }
    m
}

fuzz_target!(|data: &[u8]| {
    match parse_datagram(data) {
        Ok(Datagram::Message(message)) => {
            match &message {
                Message::Request(req) => {
                    if let Err(rejection) = check_request(req, &UasCapabilities::default()) {
                        let _ = rejection.response(req, "fuzz").to_bytes();
                    }
                }
                Message::Response(resp) => {
                    let _ = check_response(resp);
                }
            }
            let printed = message.to_bytes();
            match parse_datagram(&printed) {
                Ok(Datagram::Message(again)) => assert_eq!(
                    without_content_length(again),
                    without_content_length(message),
                    "print/parse round trip changed the message"
                ),
                other => panic!("our printed message does not parse: {other:?}"),
            }
        }
        Ok(Datagram::KeepAlive) => {}
        Err(error) => {
            if let Some(salvaged) = salvage(data) {
                let response = salvaged.response(error.response_status(), error.response_reason());
                let _ = response.to_bytes();
            }
        }
    }
});
