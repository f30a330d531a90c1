//! SDP offer/answer for one audio stream (RFC 4566, RFC 3264).
//!
//! voxpin speaks G.711 only: PCMU (static payload type 0) and PCMA (8), plus
//! `telephone-event/8000` (RFC 4733) for DTMF. This module parses what a peer
//! sends, builds our offers and answers, and reduces a completed exchange to a
//! [`Negotiated`] value the media layer can use directly.
//!
//! ```
//! use voxpin_sip::sdp::{self, Codec, LocalMedia};
//!
//! let ours = LocalMedia {
//!     address: "192.0.2.10".parse().unwrap(),
//!     port: 30000,
//!     codecs: vec![Codec::Pcmu, Codec::Pcma],
//!     telephone_event: true,
//!     ptime_ms: 20,
//! };
//! // A peer's offer arrives in an INVITE body:
//! let offer = b"v=0\r\no=- 1 1 IN IP4 198.51.100.7\r\ns=-\r\nc=IN IP4 198.51.100.7\r\nt=0 0\r\n\
//!               m=audio 4000 RTP/AVP 8 120\r\na=rtpmap:120 telephone-event/8000\r\n";
//! let offer = sdp::SessionDescription::parse(offer).unwrap();
//! let (answer, media) = sdp::answer(&offer, &ours, 42).unwrap();
//! assert_eq!(media.codec, Codec::Pcma);
//! assert_eq!(media.telephone_event, Some(120)); // the offerer's payload type, mirrored
//! assert_eq!(media.remote, "198.51.100.7:4000".parse().unwrap());
//! let body = answer.to_bytes(); // the 200 OK body
//! # assert!(body.starts_with(b"v=0\r\n"));
//! ```
//!
//! Scope: one audio stream is negotiated; other streams in an offer are
//! rejected with port 0 as RFC 3264 §6 requires. No SRTP, no ICE, no video.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

/// The payload type voxpin offers for `telephone-event/8000`.
pub const TELEPHONE_EVENT_PAYLOAD_TYPE: u8 = 101;

/// Largest SDP body parsed; anything larger is refused (a SIP message is capped at 64 KiB anyway).
pub const MAX_SDP_LEN: usize = 16 * 1024;

/// The audio codecs voxpin can send and receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// G.711 µ-law, static payload type 0.
    Pcmu,
    /// G.711 A-law, static payload type 8.
    Pcma,
}

impl Codec {
    /// The static RTP payload type (RFC 3551).
    pub fn payload_type(self) -> u8 {
        match self {
            Codec::Pcmu => 0,
            Codec::Pcma => 8,
        }
    }

    /// The encoding name used in `a=rtpmap`.
    pub fn encoding_name(self) -> &'static str {
        match self {
            Codec::Pcmu => "PCMU",
            Codec::Pcma => "PCMA",
        }
    }

    fn from_encoding(name: &str, clock_rate: u32) -> Option<Codec> {
        if clock_rate != 8000 {
            return None;
        }
        if name.eq_ignore_ascii_case("PCMU") {
            Some(Codec::Pcmu)
        } else if name.eq_ignore_ascii_case("PCMA") {
            Some(Codec::Pcma)
        } else {
            None
        }
    }
}

/// A media direction attribute (RFC 3264 §5.1), seen from the side that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Send and receive (the default when no attribute is present).
    SendRecv,
    /// Send only.
    SendOnly,
    /// Receive only.
    RecvOnly,
    /// Neither send nor receive.
    Inactive,
}

impl Direction {
    /// The attribute name (`sendrecv`, `sendonly`, `recvonly`, `inactive`).
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    /// The same stream seen from the other side: `sendonly` ↔ `recvonly`.
    pub fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            other => other,
        }
    }

    fn parse(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// What both sides allow: `sendrecv` ∩ `recvonly` = `recvonly`, and so on.
    fn intersect(self, other: Direction) -> Direction {
        let send = self.sends() && other.sends();
        let recv = self.receives() && other.receives();
        match (send, recv) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }

    fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What we can do locally: where we receive RTP and which codecs we accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalMedia {
    /// The address we receive RTP on (goes into `c=` and `o=`).
    pub address: IpAddr,
    /// The RTP port we receive on.
    pub port: u16,
    /// Codecs we accept, in our order of preference (used when we offer).
    pub codecs: Vec<Codec>,
    /// Whether we offer or accept `telephone-event/8000` (RFC 4733 DTMF).
    pub telephone_event: bool,
    /// Our packet time in milliseconds (`a=ptime`), normally 20.
    pub ptime_ms: u32,
}

/// The outcome of a completed offer/answer exchange, from our side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    /// Where to send RTP (the peer's connection address and media port).
    pub remote: SocketAddr,
    /// The codec both sides use.
    pub codec: Codec,
    /// The payload type carrying that codec (0 or 8, or a dynamic type the offer mapped to it).
    pub payload_type: u8,
    /// The payload type of `telephone-event/8000`, when both sides support it.
    pub telephone_event: Option<u8>,
    /// The packet time to send with: the peer's `a=ptime` when given, else ours.
    pub ptime_ms: u32,
    /// Our direction for the stream (`SendOnly` means we send and the peer does not).
    pub direction: Direction,
}

/// Why an SDP body could not be parsed or negotiated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SdpError {
    /// The body is larger than [`MAX_SDP_LEN`].
    #[error("SDP body of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// The body is not UTF-8.
    #[error("SDP body is not UTF-8")]
    NotUtf8,
    /// A mandatory line is absent (`v=`, `o=`).
    #[error("SDP lacks its `{0}=` line")]
    MissingLine(char),
    /// A line does not have the `x=value` shape or its value is malformed.
    #[error("SDP line {line} is malformed: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `v=` is not 0.
    #[error("SDP version is not 0")]
    UnsupportedVersion,
    /// The audio stream has no connection address, or it is not an IP literal.
    #[error("audio stream has no usable connection address")]
    NoConnectionAddress,
    /// No audio stream with a codec both sides support: answer 488 Not Acceptable Here.
    #[error("no common codec")]
    NoCommonCodec,
    /// The answer rejected our audio stream (port 0) or does not match our offer.
    #[error("the answer rejected or mismatched the offered audio stream")]
    Rejected,
}

/// A connection line (`c=IN IP4 addr` or `c=IN IP6 addr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `IP4` or `IP6`.
    pub address_type: String,
    /// The address as written (an IP literal, rarely a host name), without any `/ttl` suffix.
    pub address: String,
}

impl Connection {
    fn for_ip(ip: IpAddr) -> Connection {
        Connection {
            address_type: address_type(ip).to_owned(),
            address: ip.to_string(),
        }
    }

    /// The address as an IP, when it is a literal.
    pub fn ip(&self) -> Option<IpAddr> {
        self.address.parse().ok()
    }
}

/// The origin line (`o=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `-` when unused.
    pub username: String,
    /// The session id, kept as written (peers send numbers beyond 64 bits).
    pub session_id: String,
    /// The session version, kept as written.
    pub session_version: String,
    /// The network address of the originator.
    pub connection: Connection,
}

/// One `a=` line: a name and an optional value after `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The attribute name (`rtpmap`, `ptime`, `sendonly`, …).
    pub name: String,
    /// The text after the first `:`, if any.
    pub value: Option<String>,
}

/// One `m=` section with its connection and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    /// `audio`, `video`, …
    pub media: String,
    /// The transport port; 0 means the stream is rejected or disabled.
    pub port: u16,
    /// `RTP/AVP`, `RTP/SAVP`, …
    pub protocol: String,
    /// The format list (payload type numbers for RTP), in preference order.
    pub formats: Vec<String>,
    /// A media-level `c=`, which overrides the session-level one.
    pub connection: Option<Connection>,
    /// The `a=` lines, in order.
    pub attributes: Vec<Attribute>,
    /// Other lines (`i=`, `b=`, `k=`) kept verbatim as (type, value).
    pub other_lines: Vec<(char, String)>,
}

/// A parsed or built session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    /// The `o=` line.
    pub origin: Origin,
    /// The `s=` line (`-` when we write it).
    pub session_name: String,
    /// The session-level `c=`, used by streams without their own.
    pub connection: Option<Connection>,
    /// Session-level `a=` lines (a direction here applies to every stream without its own).
    pub attributes: Vec<Attribute>,
    /// Other session-level lines (`i=`, `u=`, `e=`, `p=`, `b=`, `t=`, `r=`, `z=`, `k=`) kept verbatim.
    pub other_lines: Vec<(char, String)>,
    /// The `m=` sections.
    pub media: Vec<MediaDescription>,
}

impl SessionDescription {
    /// Parses an SDP body. Lines may end in CRLF or LF; unknown lines are kept; never panics.
    pub fn parse(bytes: &[u8]) -> Result<SessionDescription, SdpError> {
        if bytes.len() > MAX_SDP_LEN {
            return Err(SdpError::TooLarge(bytes.len()));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| SdpError::NotUtf8)?;
        let mut version_seen = false;
        let mut origin = None;
        let mut session_name = None;
        let mut connection = None;
        let mut attributes = Vec::new();
        let mut other_lines = Vec::new();
        let mut media: Vec<MediaDescription> = Vec::new();
        for (index, raw) in text.split('\n').enumerate() {
            let line_no = index + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() {
                continue;
            }
            let malformed = |reason| SdpError::Malformed {
                line: line_no,
                reason,
            };
            let mut chars = line.chars();
            let (kind, rest) = match (chars.next(), chars.next()) {
                (Some(kind), Some('=')) => (kind, chars.as_str()),
                _ => return Err(malformed("expected `x=value`")),
            };
            if !version_seen {
                if kind != 'v' {
                    return Err(SdpError::MissingLine('v'));
                }
                if rest.trim() != "0" {
                    return Err(SdpError::UnsupportedVersion);
                }
                version_seen = true;
                continue;
            }
            match (kind, media.last_mut()) {
                ('v', _) => return Err(malformed("repeated `v=` line")),
                ('m', _) => media.push(parse_media(rest).ok_or(malformed("bad `m=` line"))?),
                ('c', Some(m)) => {
                    m.connection = Some(parse_connection(rest).ok_or(malformed("bad `c=` line"))?)
                }
                ('a', Some(m)) => m.attributes.push(parse_attribute(rest)),
                (kind, Some(m)) => m.other_lines.push((kind, rest.to_owned())),
                ('o', None) => origin = Some(parse_origin(rest).ok_or(malformed("bad `o=` line"))?),
                ('s', None) => session_name = Some(rest.to_owned()),
                ('c', None) => {
                    connection = Some(parse_connection(rest).ok_or(malformed("bad `c=` line"))?)
                }
                ('a', None) => attributes.push(parse_attribute(rest)),
                (kind, None) => other_lines.push((kind, rest.to_owned())),
            }
        }
        if !version_seen {
            return Err(SdpError::MissingLine('v'));
        }
        Ok(SessionDescription {
            origin: origin.ok_or(SdpError::MissingLine('o'))?,
            session_name: session_name.unwrap_or_else(|| "-".to_owned()),
            connection,
            attributes,
            other_lines,
            media,
        })
    }

    /// Prints the description with CRLF line ends, ready for a SIP body.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = &self.origin;
        write!(f, "v=0\r\n")?;
        write!(
            f,
            "o={} {} {} IN {} {}\r\n",
            o.username,
            o.session_id,
            o.session_version,
            o.connection.address_type,
            o.connection.address
        )?;
        write!(f, "s={}\r\n", self.session_name)?;
        // RFC 4566 order: i u e p, then c, then b t r z k.
        let before_connection = |kind: char| matches!(kind, 'i' | 'u' | 'e' | 'p');
        for (kind, value) in self
            .other_lines
            .iter()
            .filter(|(k, _)| before_connection(*k))
        {
            write!(f, "{kind}={value}\r\n")?;
        }
        if let Some(c) = &self.connection {
            write!(f, "c=IN {} {}\r\n", c.address_type, c.address)?;
        }
        if !self.other_lines.iter().any(|(k, _)| *k == 't') {
            write!(f, "t=0 0\r\n")?;
        }
        for (kind, value) in self
            .other_lines
            .iter()
            .filter(|(k, _)| !before_connection(*k))
        {
            write!(f, "{kind}={value}\r\n")?;
        }
        write_attributes(f, &self.attributes)?;
        for m in &self.media {
            write!(f, "m={} {} {}", m.media, m.port, m.protocol)?;
            for format in &m.formats {
                write!(f, " {format}")?;
            }
            write!(f, "\r\n")?;
            if let Some(c) = &m.connection {
                write!(f, "c=IN {} {}\r\n", c.address_type, c.address)?;
            }
            for (kind, value) in &m.other_lines {
                write!(f, "{kind}={value}\r\n")?;
            }
            write_attributes(f, &m.attributes)?;
        }
        Ok(())
    }
}

fn write_attributes(f: &mut fmt::Formatter<'_>, attributes: &[Attribute]) -> fmt::Result {
    for a in attributes {
        match &a.value {
            Some(value) => write!(f, "a={}:{}\r\n", a.name, value)?,
            None => write!(f, "a={}\r\n", a.name)?,
        }
    }
    Ok(())
}

fn parse_origin(rest: &str) -> Option<Origin> {
    let mut parts = rest.split_ascii_whitespace();
    let username = parts.next()?.to_owned();
    let session_id = parts.next()?.to_owned();
    let session_version = parts.next()?.to_owned();
    let connection = parse_connection_parts(&mut parts)?;
    Some(Origin {
        username,
        session_id,
        session_version,
        connection,
    })
}

fn parse_connection(rest: &str) -> Option<Connection> {
    parse_connection_parts(&mut rest.split_ascii_whitespace())
}

fn parse_connection_parts<'a>(parts: &mut impl Iterator<Item = &'a str>) -> Option<Connection> {
    if parts.next()? != "IN" {
        return None;
    }
    let address_type = parts.next()?;
    if address_type != "IP4" && address_type != "IP6" {
        return None;
    }
    // Multicast `addr/ttl[/count]`: keep the address only.
    let address = parts.next()?.split('/').next()?;
    if address.is_empty() || parts.next().is_some() {
        return None;
    }
    Some(Connection {
        address_type: address_type.to_owned(),
        address: address.to_owned(),
    })
}

fn parse_media(rest: &str) -> Option<MediaDescription> {
    let mut parts = rest.split_ascii_whitespace();
    let media = parts.next()?.to_owned();
    // `port/count` is allowed; we keep the port only.
    let port = parts.next()?.split('/').next()?.parse().ok()?;
    let protocol = parts.next()?.to_owned();
    let formats: Vec<String> = parts.map(str::to_owned).collect();
    Some(MediaDescription {
        media,
        port,
        protocol,
        formats,
        connection: None,
        attributes: Vec::new(),
        other_lines: Vec::new(),
    })
}

fn parse_attribute(rest: &str) -> Attribute {
    match rest.split_once(':') {
        Some((name, value)) => Attribute {
            name: name.trim().to_owned(),
            value: Some(value.trim().to_owned()),
        },
        None => Attribute {
            name: rest.trim().to_owned(),
            value: None,
        },
    }
}

fn address_type(ip: IpAddr) -> &'static str {
    match ip {
        IpAddr::V4(_) => "IP4",
        IpAddr::V6(_) => "IP6",
    }
}

/// One RTP payload format offered in an `m=` line, resolved through `a=rtpmap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Audio(Codec),
    TelephoneEvent,
    Other,
}

impl MediaDescription {
    /// The value of the first attribute named `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name))
            .and_then(|a| a.value.as_deref())
    }

    /// The stream's direction attribute, falling back to the session level, then `sendrecv`.
    pub fn direction(&self, session: &SessionDescription) -> Direction {
        let own = self
            .attributes
            .iter()
            .find_map(|a| Direction::parse(&a.name));
        let shared = session
            .attributes
            .iter()
            .find_map(|a| Direction::parse(&a.name));
        own.or(shared).unwrap_or(Direction::SendRecv)
    }

    /// The `a=ptime` value in milliseconds, if present and sane (1–1000).
    pub fn ptime_ms(&self) -> Option<u32> {
        let ptime: u32 = self.attribute("ptime")?.trim().parse().ok()?;
        (1..=1000).contains(&ptime).then_some(ptime)
    }

    fn is_rtp_audio(&self) -> bool {
        self.media.eq_ignore_ascii_case("audio")
            && (self.protocol.eq_ignore_ascii_case("RTP/AVP")
                || self.protocol.eq_ignore_ascii_case("RTP/AVPF"))
    }

    /// Resolves payload type `pt` through `a=rtpmap` (or the static table for 0 and 8).
    fn format(&self, pt: u8) -> Format {
        let rtpmap = self.attributes.iter().find_map(|a| {
            if !a.name.eq_ignore_ascii_case("rtpmap") {
                return None;
            }
            let (number, encoding) = a.value.as_deref()?.split_once(char::is_whitespace)?;
            (number.trim().parse::<u8>().ok()? == pt).then_some(encoding.trim())
        });
        match rtpmap {
            Some(encoding) => {
                let mut parts = encoding.split('/');
                let name = parts.next().unwrap_or("");
                let rate: u32 = parts.next().and_then(|r| r.parse().ok()).unwrap_or(0);
                if let Some(codec) = Codec::from_encoding(name, rate) {
                    Format::Audio(codec)
                } else if name.eq_ignore_ascii_case("telephone-event") && rate == 8000 {
                    Format::TelephoneEvent
                } else {
                    Format::Other
                }
            }
            None => match pt {
                0 => Format::Audio(Codec::Pcmu),
                8 => Format::Audio(Codec::Pcma),
                _ => Format::Other,
            },
        }
    }

    /// The payload types in the format list, in order, resolved; non-numeric formats skipped.
    fn payload_formats(&self) -> impl Iterator<Item = (u8, Format)> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .filter(|pt| *pt < 128)
            .map(|pt| (pt, self.format(pt)))
    }

    fn telephone_event(&self) -> Option<u8> {
        self.payload_formats()
            .find(|(_, f)| *f == Format::TelephoneEvent)
            .map(|(pt, _)| pt)
    }

    /// Where the peer receives this stream: its `c=` (or the session's) and port.
    fn remote(&self, session: &SessionDescription) -> Result<SocketAddr, SdpError> {
        let connection = self.connection.as_ref().or(session.connection.as_ref());
        let ip = connection
            .and_then(Connection::ip)
            .ok_or(SdpError::NoConnectionAddress)?;
        Ok(SocketAddr::new(ip, self.port))
    }
}

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

    #[test]
    fn parse_errors_are_precise() {
        assert_eq!(
            SessionDescription::parse(b""),
            Err(SdpError::MissingLine('v'))
        );
        assert_eq!(
            SessionDescription::parse(b"v=1\r\n"),
            Err(SdpError::UnsupportedVersion)
        );
        assert_eq!(
            SessionDescription::parse(b"v=0\r\ns=-\r\n"),
            Err(SdpError::MissingLine('o'))
        );
        assert_eq!(
            SessionDescription::parse(b"v=0\nbogus\n"),
            Err(SdpError::Malformed {
                line: 2,
                reason: "expected `x=value`"
            })
        );
        assert_eq!(
            SessionDescription::parse(b"v=0\no=- 1 1 IN IP4 h\nm=audio x RTP/AVP 0\n"),
            Err(SdpError::Malformed {
                line: 3,
                reason: "bad `m=` line"
            })
        );
        assert_eq!(
            SessionDescription::parse(&[0xff; 3]),
            Err(SdpError::NotUtf8)
        );
    }

    #[test]
    fn print_parse_round_trip_keeps_unknown_lines() {
        let parsed = parse(PJSUA_OFFER);
        assert_eq!(parse(&parsed.to_string()), parsed);
        assert_eq!(
            parsed.media[0].other_lines,
            vec![('b', "TIAS:64000".to_owned())]
        );
    }
}
