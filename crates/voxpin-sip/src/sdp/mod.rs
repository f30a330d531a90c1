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

mod description;
mod negotiate;

use std::fmt;
use std::net::{IpAddr, SocketAddr};

pub use description::{Attribute, Connection, MediaDescription, Origin, SessionDescription};
pub use negotiate::{accept_answer, answer, offer};

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
