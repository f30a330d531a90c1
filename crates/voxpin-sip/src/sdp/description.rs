//! The SDP model (RFC 4566): parsing, printing and per-stream lookups.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use super::{Codec, Direction, SdpError, MAX_SDP_LEN};

/// A connection line (`c=IN IP4 addr` or `c=IN IP6 addr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// `IP4` or `IP6`.
    pub address_type: String,
    /// The address as written (an IP literal, rarely a host name), without any `/ttl` suffix.
    pub address: String,
}

impl Connection {
    pub(super) fn for_ip(ip: IpAddr) -> Connection {
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
pub(super) enum Format {
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

    pub(super) fn is_rtp_audio(&self) -> bool {
        self.media.eq_ignore_ascii_case("audio")
            && (self.protocol.eq_ignore_ascii_case("RTP/AVP")
                || self.protocol.eq_ignore_ascii_case("RTP/AVPF"))
    }

    /// Resolves payload type `pt` through `a=rtpmap` (or the static table for 0 and 8).
    pub(super) fn format(&self, pt: u8) -> Format {
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
    pub(super) fn payload_formats(&self) -> impl Iterator<Item = (u8, Format)> + '_ {
        self.formats
            .iter()
            .filter_map(|f| f.parse::<u8>().ok())
            .filter(|pt| *pt < 128)
            .map(|pt| (pt, self.format(pt)))
    }

    pub(super) fn telephone_event(&self) -> Option<u8> {
        self.payload_formats()
            .find(|(_, f)| *f == Format::TelephoneEvent)
            .map(|(pt, _)| pt)
    }

    /// Where the peer receives this stream: its `c=` (or the session's) and port.
    pub(super) fn remote(&self, session: &SessionDescription) -> Result<SocketAddr, SdpError> {
        let connection = self.connection.as_ref().or(session.connection.as_ref());
        let ip = connection
            .and_then(Connection::ip)
            .ok_or(SdpError::NoConnectionAddress)?;
        Ok(SocketAddr::new(ip, self.port))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> SessionDescription {
        SessionDescription::parse(text.as_bytes()).expect("test SDP parses")
    }

    const PJSUA_OFFER: &str = "v=0\r\no=- 3912345678 3912345678 IN IP4 192.0.2.5\r\ns=pjmedia\r\n\
        b=AS:84\r\nt=0 0\r\na=X-nat:0\r\nm=audio 4000 RTP/AVP 96 9 8 0 120\r\n\
        c=IN IP4 192.0.2.5\r\nb=TIAS:64000\r\na=rtcp:4001 IN IP4 192.0.2.5\r\na=sendrecv\r\n\
        a=rtpmap:96 opus/48000/2\r\na=rtpmap:9 G722/8000\r\na=rtpmap:8 PCMA/8000\r\n\
        a=rtpmap:0 PCMU/8000\r\na=rtpmap:120 telephone-event/8000\r\na=fmtp:120 0-16\r\n";

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
