//! RTP packets (RFC 3550): the only module that names `rtp-rs`.
//!
//! [`RtpPacket::parse`] borrows a datagram and checks its header (version 2,
//! CSRC list, extension and padding lengths); [`RtpHeader::write`] builds a
//! packet into a caller-owned buffer without allocating.

use rtp_rs::{RtpPacketBuilder, RtpReader, RtpReaderError};

/// The size of an RTP header without CSRCs or extension.
pub const HEADER_LEN: usize = 12;

/// A synchronisation source identifier (RFC 3550 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ssrc(pub u32);

/// Why a datagram is not an RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Shorter than the 12-byte fixed header.
    #[error("datagram of {0} bytes is shorter than an RTP header")]
    TooShort(usize),
    /// The version field is not 2.
    #[error("RTP version {0} is not supported")]
    UnsupportedVersion(u8),
    /// The CSRC list or header extension runs past the end of the datagram.
    #[error("RTP header of {header_len} bytes is truncated at {buffer_len} bytes")]
    HeaderTruncated {
        /// Bytes the header claims.
        header_len: usize,
        /// Bytes present.
        buffer_len: usize,
    },
    /// The padding count is zero or larger than the payload.
    #[error("RTP padding length {0} is invalid")]
    PaddingInvalid(u8),
    /// The output buffer cannot hold the packet.
    #[error("buffer too small for the RTP packet")]
    BufferTooSmall,
}

/// A parsed RTP packet borrowing its datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    /// Payload type (7 bits).
    pub payload_type: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Source identifier.
    pub ssrc: Ssrc,
    /// Payload, without header, extension or padding.
    pub payload: &'a [u8],
}

impl<'a> RtpPacket<'a> {
    /// Parses a datagram. Never panics, whatever the bytes.
    pub fn parse(datagram: &'a [u8]) -> Result<Self, RtpError> {
        let reader = RtpReader::new(datagram).map_err(|e| match e {
            RtpReaderError::BufferTooShort(n) => RtpError::TooShort(n),
            RtpReaderError::UnsupportedVersion(v) => RtpError::UnsupportedVersion(v),
            RtpReaderError::HeadersTruncated {
                header_len,
                buffer_len,
            } => RtpError::HeaderTruncated {
                header_len,
                buffer_len,
            },
            RtpReaderError::PaddingLengthInvalid(n) => RtpError::PaddingInvalid(n),
        })?;
        Ok(RtpPacket {
            payload_type: reader.payload_type(),
            marker: reader.mark(),
            sequence: reader.sequence_number().into(),
            timestamp: reader.timestamp(),
            ssrc: Ssrc(reader.ssrc()),
            payload: reader.payload(),
        })
    }
}

/// The header fields of a packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    /// Payload type (0..=127).
    pub payload_type: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub sequence: u16,
    /// Media timestamp.
    pub timestamp: u32,
    /// Source identifier.
    pub ssrc: Ssrc,
}

impl RtpHeader {
    /// Writes header and payload into `out`, returning the packet length.
    pub fn write(&self, payload: &[u8], out: &mut [u8]) -> Result<usize, RtpError> {
        RtpPacketBuilder::new()
            .payload_type(self.payload_type & 0x7F)
            .marked(self.marker)
            .sequence(self.sequence.into())
            .timestamp(self.timestamp)
            .ssrc(self.ssrc.0)
            .payload(payload)
            .build_into(out)
            .map_err(|_| RtpError::BufferTooSmall)
    }
}

impl RtpHeader {
    /// Writes only the 12-byte header into `out` (the payload is already in
    /// place after it). `None` if `out` is shorter than [`HEADER_LEN`].
    pub fn write_header(&self, out: &mut [u8]) -> Option<()> {
        let head = out.get_mut(..HEADER_LEN)?;
        self.write(&[], head).ok().map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn write_then_parse() {
        let header = RtpHeader {
            payload_type: 8,
            marker: true,
            sequence: 65535,
            timestamp: 0xDEAD_BEEF,
            ssrc: Ssrc(0x0102_0304),
        };
        let mut buf = [0u8; 200];
        let len = header.write(&[0xD5; 160], &mut buf).unwrap();
        assert_eq!(len, 172);
        let p = RtpPacket::parse(&buf[..len]).unwrap();
        assert_eq!(p.payload_type, 8);
        assert!(p.marker);
        assert_eq!(p.sequence, 65535);
        assert_eq!(p.timestamp, 0xDEAD_BEEF);
        assert_eq!(p.ssrc, Ssrc(0x0102_0304));
        assert_eq!(p.payload, &[0xD5; 160][..]);
    }

    #[test]
    fn short_buffer_is_an_error() {
        let header = RtpHeader {
            payload_type: 0,
            marker: false,
            sequence: 1,
            timestamp: 1,
            ssrc: Ssrc(1),
        };
        assert_eq!(
            header.write(&[0; 160], &mut [0u8; 100]),
            Err(RtpError::BufferTooSmall)
        );
    }

    #[test]
    fn malformed_headers_are_errors() {
        assert_eq!(RtpPacket::parse(&[0x80; 5]), Err(RtpError::TooShort(5)));
        let mut v1 = [0u8; 12];
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::UnsupportedVersion(1)));
        let mut csrc = [0u8; 12];
        csrc[0] = 0x8F; // 15 CSRCs announced, none present
        assert!(matches!(
            RtpPacket::parse(&csrc),
            Err(RtpError::HeaderTruncated { .. })
        ));
        let mut pad = [0u8; 13];
        pad[0] = 0xA0;
        pad[12] = 9;
        assert_eq!(RtpPacket::parse(&pad), Err(RtpError::PaddingInvalid(9)));
    }

    proptest! {
        #[test]
        fn parse_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = RtpPacket::parse(&bytes) {
                prop_assert!(p.payload.len() <= bytes.len().saturating_sub(HEADER_LEN));
            }
        }

        #[test]
        fn round_trip(pt in 0u8..128, m: bool, seq: u16, ts: u32, ssrc: u32,
                      payload in proptest::collection::vec(any::<u8>(), 0..200)) {
            let header = RtpHeader { payload_type: pt, marker: m, sequence: seq, timestamp: ts, ssrc: Ssrc(ssrc) };
            let mut buf = [0u8; 256];
            let len = header.write(&payload, &mut buf).unwrap();
            let p = RtpPacket::parse(&buf[..len]).unwrap();
            prop_assert_eq!((p.payload_type, p.marker, p.sequence, p.timestamp, p.ssrc), (pt, m, seq, ts, Ssrc(ssrc)));
            prop_assert_eq!(p.payload, &payload[..]);
        }
    }
}
