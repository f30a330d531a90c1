//! Building offers and answers, and reading answers (RFC 3264).

use super::description::Format;
use super::{
    Attribute, Codec, Connection, Direction, LocalMedia, MediaDescription, Negotiated, Origin,
    SdpError, SessionDescription, TELEPHONE_EVENT_PAYLOAD_TYPE,
};

/// Builds our offer: one audio stream with `local.codecs` in order, then
/// `telephone-event` on payload type 101, `a=ptime` and `a=sendrecv`.
pub fn offer(local: &LocalMedia, session_id: u64) -> SessionDescription {
    let mut formats: Vec<String> = local
        .codecs
        .iter()
        .map(|c| c.payload_type().to_string())
        .collect();
    let mut attributes: Vec<Attribute> = local
        .codecs
        .iter()
        .map(|c| rtpmap(c.payload_type(), c.encoding_name()))
        .collect();
    if local.telephone_event {
        formats.push(TELEPHONE_EVENT_PAYLOAD_TYPE.to_string());
        attributes.push(rtpmap(TELEPHONE_EVENT_PAYLOAD_TYPE, "telephone-event"));
        attributes.push(fmtp(TELEPHONE_EVENT_PAYLOAD_TYPE, "0-16"));
    }
    attributes.push(ptime(local.ptime_ms));
    attributes.push(flag(Direction::SendRecv.as_str()));
    let stream = audio_stream(local.port, formats, attributes);
    session(local, session_id, vec![stream])
}

/// Answers a peer's offer (RFC 3264 §6).
///
/// The first RTP audio stream with a codec in `local.codecs` is accepted, using
/// the offerer's first such codec (the offerer's preference); every other stream
/// is rejected with port 0. `telephone-event` is answered on the offerer's
/// payload type. The direction mirrors the offer (`sendonly` → `recvonly`, …);
/// a `c=0.0.0.0` offer (RFC 2543 hold) counts as the peer not receiving.
///
/// [`SdpError::NoCommonCodec`] means the caller should answer 488 Not Acceptable Here.
pub fn answer(
    offer: &SessionDescription,
    local: &LocalMedia,
    session_id: u64,
) -> Result<(SessionDescription, Negotiated), SdpError> {
    let mut chosen: Option<(usize, Codec, u8)> = None;
    for (index, m) in offer.media.iter().enumerate() {
        if m.port == 0 || !m.is_rtp_audio() {
            continue;
        }
        let common = m.payload_formats().find_map(|(pt, f)| match f {
            Format::Audio(codec) if local.codecs.contains(&codec) => Some((codec, pt)),
            _ => None,
        });
        if let Some((codec, pt)) = common {
            chosen = Some((index, codec, pt));
            break;
        }
    }
    let (chosen_index, codec, payload_type) = chosen.ok_or(SdpError::NoCommonCodec)?;
    let offered = offer
        .media
        .get(chosen_index)
        .ok_or(SdpError::NoCommonCodec)?;
    let remote = offered.remote(offer)?;
    let mut peer_direction = offered.direction(offer);
    if remote.ip().is_unspecified() {
        peer_direction = peer_direction.intersect(Direction::SendOnly);
    }
    let direction = peer_direction.reversed();
    let telephone_event = offered.telephone_event().filter(|_| local.telephone_event);

    let mut formats = vec![payload_type.to_string()];
    let mut attributes = vec![rtpmap(payload_type, codec.encoding_name())];
    if let Some(pt) = telephone_event {
        formats.push(pt.to_string());
        attributes.push(rtpmap(pt, "telephone-event"));
        attributes.push(fmtp(pt, "0-16"));
    }
    attributes.push(ptime(local.ptime_ms));
    attributes.push(flag(direction.as_str()));

    let media = offer
        .media
        .iter()
        .enumerate()
        .map(|(index, m)| {
            if index == chosen_index {
                audio_stream(local.port, formats.clone(), attributes.clone())
            } else {
                rejected_stream(m)
            }
        })
        .collect();
    let negotiated = Negotiated {
        remote,
        codec,
        payload_type,
        telephone_event,
        ptime_ms: offered.ptime_ms().unwrap_or(local.ptime_ms),
        direction,
    };
    Ok((session(local, session_id, media), negotiated))
}

/// Reads the peer's answer to the offer we sent (RFC 3264 §7).
///
/// The audio stream of our offer must be accepted (non-zero port) with one of
/// the codecs we offered; otherwise [`SdpError::Rejected`] or
/// [`SdpError::NoCommonCodec`].
pub fn accept_answer(
    offer_sent: &SessionDescription,
    answer: &SessionDescription,
) -> Result<Negotiated, SdpError> {
    let index = offer_sent
        .media
        .iter()
        .position(|m| m.port != 0 && m.is_rtp_audio())
        .ok_or(SdpError::Rejected)?;
    let ours = offer_sent.media.get(index).ok_or(SdpError::Rejected)?;
    let theirs = answer.media.get(index).ok_or(SdpError::Rejected)?;
    if theirs.port == 0 || !theirs.is_rtp_audio() {
        return Err(SdpError::Rejected);
    }
    let offered_codecs: Vec<(u8, Codec)> = ours
        .payload_formats()
        .filter_map(|(pt, f)| match f {
            Format::Audio(codec) => Some((pt, codec)),
            _ => None,
        })
        .collect();
    let (payload_type, codec) = theirs
        .payload_formats()
        .find_map(|(pt, f)| match f {
            Format::Audio(codec) if offered_codecs.contains(&(pt, codec)) => Some((pt, codec)),
            _ => None,
        })
        .ok_or(SdpError::NoCommonCodec)?;
    let telephone_event = match (ours.telephone_event(), theirs.telephone_event()) {
        (Some(_), Some(pt)) => Some(pt),
        _ => None,
    };
    let remote = theirs.remote(answer)?;
    let mut peer_direction = theirs.direction(answer);
    if remote.ip().is_unspecified() {
        peer_direction = peer_direction.intersect(Direction::SendOnly);
    }
    let our_intent = ours.direction(offer_sent);
    Ok(Negotiated {
        remote,
        codec,
        payload_type,
        telephone_event,
        ptime_ms: theirs
            .ptime_ms()
            .or(ours.ptime_ms())
            .unwrap_or(DEFAULT_PTIME_MS),
        direction: our_intent.intersect(peer_direction.reversed()),
    })
}

/// The packet time assumed when neither side states one (RFC 3551 §4.5).
const DEFAULT_PTIME_MS: u32 = 20;

fn session(
    local: &LocalMedia,
    session_id: u64,
    media: Vec<MediaDescription>,
) -> SessionDescription {
    SessionDescription {
        origin: Origin {
            username: "-".to_owned(),
            session_id: session_id.to_string(),
            session_version: session_id.to_string(),
            connection: Connection::for_ip(local.address),
        },
        session_name: "-".to_owned(),
        connection: Some(Connection::for_ip(local.address)),
        attributes: Vec::new(),
        other_lines: vec![('t', "0 0".to_owned())],
        media,
    }
}

fn audio_stream(port: u16, formats: Vec<String>, attributes: Vec<Attribute>) -> MediaDescription {
    MediaDescription {
        media: "audio".to_owned(),
        port,
        protocol: "RTP/AVP".to_owned(),
        formats,
        connection: None,
        attributes,
        other_lines: Vec::new(),
    }
}

/// RFC 3264 §6: a rejected stream keeps its media type, protocol and at least one format.
fn rejected_stream(offered: &MediaDescription) -> MediaDescription {
    let formats = match offered.formats.first() {
        Some(first) => vec![first.clone()],
        None => vec!["0".to_owned()],
    };
    MediaDescription {
        media: offered.media.clone(),
        port: 0,
        protocol: offered.protocol.clone(),
        formats,
        connection: None,
        attributes: Vec::new(),
        other_lines: Vec::new(),
    }
}

fn rtpmap(pt: u8, encoding: &str) -> Attribute {
    Attribute {
        name: "rtpmap".to_owned(),
        value: Some(format!("{pt} {encoding}/8000")),
    }
}

fn fmtp(pt: u8, params: &str) -> Attribute {
    Attribute {
        name: "fmtp".to_owned(),
        value: Some(format!("{pt} {params}")),
    }
}

fn ptime(ms: u32) -> Attribute {
    Attribute {
        name: "ptime".to_owned(),
        value: Some(ms.to_string()),
    }
}

fn flag(name: &str) -> Attribute {
    Attribute {
        name: name.to_owned(),
        value: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(address: &str) -> LocalMedia {
        LocalMedia {
            address: address.parse().expect("test address"),
            port: 30000,
            codecs: vec![Codec::Pcmu, Codec::Pcma],
            telephone_event: true,
            ptime_ms: 20,
        }
    }

    fn parse(text: &str) -> SessionDescription {
        SessionDescription::parse(text.as_bytes()).expect("test SDP parses")
    }

    const PJSUA_OFFER: &str = "v=0\r\no=- 3912345678 3912345678 IN IP4 192.0.2.5\r\ns=pjmedia\r\n\
        b=AS:84\r\nt=0 0\r\na=X-nat:0\r\nm=audio 4000 RTP/AVP 96 9 8 0 120\r\n\
        c=IN IP4 192.0.2.5\r\nb=TIAS:64000\r\na=rtcp:4001 IN IP4 192.0.2.5\r\na=sendrecv\r\n\
        a=rtpmap:96 opus/48000/2\r\na=rtpmap:9 G722/8000\r\na=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:0 PCMU/8000\r\na=rtpmap:120 telephone-event/8000\r\na=fmtp:120 0-16\r\n";

    #[test]
    fn offer_lists_codecs_in_order_with_telephone_event_101() {
        let sdp = offer(&local("192.0.2.10"), 7);
        let text = sdp.to_string();
        assert!(text.contains("m=audio 30000 RTP/AVP 0 8 101\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:101 telephone-event/8000\r\n"));
        assert!(text.contains("a=ptime:20\r\n"));
        assert!(text.contains("a=sendrecv\r\n"));
        assert!(text.contains("c=IN IP4 192.0.2.10\r\n"));
        assert!(text.starts_with("v=0\r\no=- 7 7 IN IP4 192.0.2.10\r\ns=-\r\n"));
    }

    #[test]
    fn answer_to_pjsua_mirrors_payload_type_120_and_picks_offerer_preference() {
        let (answer, n) = answer(&parse(PJSUA_OFFER), &local("192.0.2.10"), 9).expect("answer");
        assert_eq!(n.codec, Codec::Pcma, "PCMA comes before PCMU in the offer");
        assert_eq!(n.payload_type, 8);
        assert_eq!(n.telephone_event, Some(120));
        assert_eq!(n.remote, "192.0.2.5:4000".parse().expect("addr"));
        assert_eq!(n.direction, Direction::SendRecv);
        let text = answer.to_string();
        assert!(text.contains("m=audio 30000 RTP/AVP 8 120\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:120 telephone-event/8000\r\n"));
    }

    #[test]
    fn answer_without_common_codec_is_no_common_codec() {
        let offer = parse(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
             m=audio 4000 RTP/AVP 9 96\r\na=rtpmap:96 opus/48000/2\r\n",
        );
        assert_eq!(
            answer(&offer, &local("192.0.2.10"), 1).map(|_| ()),
            Err(SdpError::NoCommonCodec)
        );
    }

    #[test]
    fn answer_rejects_video_and_keeps_line_count() {
        let offer = parse(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
             m=video 5000 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\n\
             m=audio 4000 RTP/AVP 0\r\n",
        );
        let (answer, n) = answer(&offer, &local("192.0.2.10"), 1).expect("answer");
        assert_eq!(answer.media.len(), 2);
        assert_eq!(answer.media[0].port, 0);
        assert_eq!(answer.media[0].media, "video");
        assert_eq!(answer.media[1].port, 30000);
        assert_eq!(n.telephone_event, None, "not offered");
        assert_eq!(n.remote.port(), 4000);
    }

    #[test]
    fn answer_skips_rejected_audio_and_srtp() {
        let offer = parse(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
             m=audio 0 RTP/AVP 0\r\nm=audio 4002 RTP/SAVP 0\r\nm=audio 4004 RTP/AVP 0\r\n",
        );
        let (answer, n) = answer(&offer, &local("192.0.2.10"), 1).expect("answer");
        assert_eq!(n.remote.port(), 4004);
        let ports: Vec<u16> = answer.media.iter().map(|m| m.port).collect();
        assert_eq!(ports, vec![0, 0, 30000]);
    }

    #[test]
    fn direction_is_mirrored() {
        for (offered, expected) in [
            ("sendonly", Direction::RecvOnly),
            ("recvonly", Direction::SendOnly),
            ("inactive", Direction::Inactive),
            ("sendrecv", Direction::SendRecv),
        ] {
            let offer = parse(&format!(
                "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
                 m=audio 4000 RTP/AVP 0\r\na={offered}\r\n"
            ));
            let (answer, n) = answer(&offer, &local("192.0.2.10"), 1).expect("answer");
            assert_eq!(n.direction, expected, "offer {offered}");
            assert!(answer.to_string().contains(&format!("a={expected}\r\n")));
        }
    }

    #[test]
    fn session_level_direction_and_hold_address() {
        let offer = parse(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\n\
             m=audio 4000 RTP/AVP 0\r\n",
        );
        let (_, n) = answer(&offer, &local("192.0.2.10"), 1).expect("answer");
        assert_eq!(
            n.direction,
            Direction::RecvOnly,
            "c=0.0.0.0 is RFC 2543 hold"
        );
        let offer = parse(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
             a=recvonly\r\nm=audio 4000 RTP/AVP 0\r\n",
        );
        let (_, n) = answer(&offer, &local("192.0.2.10"), 1).expect("answer");
        assert_eq!(n.direction, Direction::SendOnly);
    }

    #[test]
    fn ipv6_media_level_connection() {
        let offer = parse(
            "v=0\r\no=linphone 1 1 IN IP6 fd00::2\r\ns=Talk\r\nt=0 0\r\n\
             m=audio 7078 RTP/AVP 96 0 8 101\r\nc=IN IP6 fd00::2\r\n\
             a=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\na=ptime:30\r\n",
        );
        let (answer, n) = answer(&offer, &local("fd00::1"), 1).expect("answer");
        assert_eq!(n.remote, "[fd00::2]:7078".parse().expect("addr"));
        assert_eq!(n.codec, Codec::Pcmu);
        assert_eq!(n.telephone_event, Some(101));
        assert_eq!(n.ptime_ms, 30, "the peer asked for 30 ms packets");
        assert!(answer.to_string().contains("c=IN IP6 fd00::1\r\n"));
    }

    #[test]
    fn dynamic_payload_type_for_pcmu_is_kept() {
        let offer = parse(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
             m=audio 4000 RTP/AVP 98\r\na=rtpmap:98 pcmu/8000\r\n",
        );
        let (_, n) = answer(&offer, &local("192.0.2.10"), 1).expect("answer");
        assert_eq!((n.codec, n.payload_type), (Codec::Pcmu, 98));
    }

    #[test]
    fn missing_connection_is_an_error() {
        let offer =
            parse("v=0\r\no=- 1 1 IN IP4 192.0.2.5\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n");
        assert_eq!(
            answer(&offer, &local("192.0.2.10"), 1).map(|_| ()),
            Err(SdpError::NoConnectionAddress)
        );
    }

    #[test]
    fn accept_answer_reads_codec_and_direction() {
        let ours = offer(&local("192.0.2.10"), 1);
        let theirs = parse(
            "v=0\r\no=- 5 5 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
             m=audio 4000 RTP/AVP 8 101\r\na=rtpmap:101 telephone-event/8000\r\na=recvonly\r\n",
        );
        let n = accept_answer(&ours, &theirs).expect("accepted");
        assert_eq!(n.codec, Codec::Pcma);
        assert_eq!(n.telephone_event, Some(101));
        assert_eq!(n.direction, Direction::SendOnly);
        assert_eq!(n.ptime_ms, 20);
    }

    #[test]
    fn accept_answer_rejected_stream_and_foreign_codec() {
        let ours = offer(&local("192.0.2.10"), 1);
        let rejected =
            parse("v=0\r\no=- 5 5 IN IP4 192.0.2.5\r\ns=-\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n");
        assert_eq!(accept_answer(&ours, &rejected), Err(SdpError::Rejected));
        let foreign = parse(
            "v=0\r\no=- 5 5 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\nt=0 0\r\n\
             m=audio 4000 RTP/AVP 9\r\n",
        );
        assert_eq!(accept_answer(&ours, &foreign), Err(SdpError::NoCommonCodec));
    }
}
