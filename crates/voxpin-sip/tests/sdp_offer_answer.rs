//! SDP offer/answer holds for any local configuration: an offer we build and
//! print is parsed back and answered by a peer with other codecs, the answer is
//! parsed back and accepted, and both sides agree on codec, payload types and
//! addresses. Parsing arbitrary or mutated bodies never panics.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use proptest::prelude::*;
use voxpin_sip::sdp::{self, Codec, Direction, LocalMedia, SdpError, SessionDescription};

fn address() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|o| IpAddr::V4(Ipv4Addr::from(o))),
        any::<[u16; 8]>().prop_map(|s| IpAddr::V6(Ipv6Addr::from(s))),
    ]
    .prop_filter("a usable address", |ip| !ip.is_unspecified())
}

fn codecs() -> impl Strategy<Value = Vec<Codec>> {
    prop_oneof![
        Just(vec![Codec::Pcmu]),
        Just(vec![Codec::Pcma]),
        Just(vec![Codec::Pcmu, Codec::Pcma]),
        Just(vec![Codec::Pcma, Codec::Pcmu]),
    ]
}

fn local_media() -> impl Strategy<Value = LocalMedia> {
    (
        address(),
        1u16..,
        codecs(),
        any::<bool>(),
        prop_oneof![Just(20u32), Just(30), Just(10)],
    )
        .prop_map(
            |(address, port, codecs, telephone_event, ptime_ms)| LocalMedia {
                address,
                port,
                codecs,
                telephone_event,
                ptime_ms,
            },
        )
}

proptest! {
    #[test]
    fn offer_answer_round_trip(ours in local_media(), theirs in local_media(), id in any::<u64>()) {
        let offer = sdp::offer(&ours, id);
        let offer_on_wire = SessionDescription::parse(&offer.to_bytes()).expect("our offer parses");
        prop_assert_eq!(&offer_on_wire, &offer);

        let common = ours.codecs.iter().find(|c| theirs.codecs.contains(c)).copied();
        let result = sdp::answer(&offer_on_wire, &theirs, id ^ 1);
        let Some(expected_codec) = common else {
            prop_assert_eq!(result.map(|_| ()), Err(SdpError::NoCommonCodec));
            return Ok(());
        };
        let (answer, at_answerer) = result.expect("answerable");
        prop_assert_eq!(at_answerer.codec, expected_codec, "offerer's preference wins");
        prop_assert_eq!(at_answerer.remote, SocketAddr::new(ours.address, ours.port));
        prop_assert_eq!(at_answerer.ptime_ms, ours.ptime_ms);

        let answer_on_wire = SessionDescription::parse(&answer.to_bytes()).expect("answer parses");
        let at_offerer = sdp::accept_answer(&offer, &answer_on_wire).expect("accepted");
        prop_assert_eq!(at_offerer.codec, at_answerer.codec);
        prop_assert_eq!(at_offerer.payload_type, at_answerer.payload_type);
        prop_assert_eq!(at_offerer.telephone_event, at_answerer.telephone_event);
        let both_dtmf = ours.telephone_event && theirs.telephone_event;
        prop_assert_eq!(at_offerer.telephone_event, both_dtmf.then_some(101));
        prop_assert_eq!(at_offerer.remote, SocketAddr::new(theirs.address, theirs.port));
        prop_assert_eq!(at_offerer.ptime_ms, theirs.ptime_ms);
        prop_assert_eq!(at_offerer.direction, Direction::SendRecv);
        prop_assert_eq!(at_answerer.direction, Direction::SendRecv);
    }

    #[test]
    fn parse_never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = SessionDescription::parse(&bytes);
    }

    #[test]
    fn parse_and_answer_never_panic_on_mutated_offers(
        ours in local_media(),
        cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let mut bytes = sdp::offer(&ours, 7).to_bytes();
        for (at, byte) in cuts {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(parsed) = SessionDescription::parse(&bytes) {
            let _ = sdp::answer(&parsed, &ours, 8);
            let _ = sdp::accept_answer(&parsed, &parsed);
            let _ = SessionDescription::parse(&parsed.to_bytes());
        }
    }

    #[test]
    fn line_based_garbage_never_panics(lines in proptest::collection::vec(
        ("[vosctmab]", "[ -~]{0,40}"), 0..20)) {
        let mut text = String::from("v=0\r\n");
        for (kind, value) in lines {
            text.push_str(&format!("{kind}={value}\r\n"));
        }
        if let Ok(parsed) = SessionDescription::parse(text.as_bytes()) {
            let local = LocalMedia {
                address: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 4000,
                codecs: vec![Codec::Pcmu, Codec::Pcma],
                telephone_event: true,
                ptime_ms: 20,
            };
            let _ = sdp::answer(&parsed, &local, 1);
        }
    }
}
