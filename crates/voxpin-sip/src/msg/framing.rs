//! Stream (TCP) framing: splitting a byte stream into messages by Content-Length.

use bytes::{Bytes, BytesMut};

use super::parse::{content_length, find_head_end, parse_datagram, skip_keepalive};
use super::{Datagram, Message, ParseError};

/// Splits a stream (one TCP connection) into SIP messages.
///
/// Push received bytes with [`StreamFramer::push`], then call [`StreamFramer::next_message`]
/// until it returns `None`. Leading CR/LF between messages (keep-alives) are skipped. A message
/// without Content-Length has an empty body. A framing error (bad or duplicate Content-Length,
/// an over-long message) poisons the framer: the connection should be closed.
///
/// ```
/// use voxpin_sip::msg::StreamFramer;
/// let mut framer = StreamFramer::new(64 * 1024);
/// framer.push(b"\r\n\r\nOPTIONS sip:h SIP/2.0\r\nContent-Length: 0\r\n\r\nOPT").unwrap();
/// assert!(matches!(framer.next_message(), Some(Ok(_))));
/// assert!(framer.next_message().is_none()); // "OPT" waits for more bytes
/// ```
#[derive(Debug)]
pub struct StreamFramer {
    buffer: BytesMut,
    max_message: usize,
    poisoned: bool,
    /// RFC 5626 pings (CRLF CRLF between messages) seen and not yet answered.
    pending_pongs: usize,
    /// Line ends skipped since the last message; two make a ping.
    skipped_line_ends: usize,
}

impl StreamFramer {
    /// A framer accepting messages (headers and body) of at most `max_message` bytes. The
    /// buffer never holds more than twice that.
    pub fn new(max_message: usize) -> StreamFramer {
        StreamFramer {
            buffer: BytesMut::new(),
            max_message,
            poisoned: false,
            pending_pongs: 0,
            skipped_line_ends: 0,
        }
    }

    /// Appends received bytes. Fails when the framer is poisoned or the unconsumed bytes
    /// would exceed twice the message limit (drain with `next_message` after every push).
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ParseError> {
        if self.poisoned {
            return Err(ParseError::StreamPoisoned);
        }
        let size = self.buffer.len().saturating_add(bytes.len());
        let limit = self.max_message.saturating_mul(2);
        if size > limit {
            self.poisoned = true;
            return Err(ParseError::TooLarge { size, limit });
        }
        self.buffer.extend_from_slice(bytes);
        Ok(())
    }

    /// The next complete message, parsed. A message that frames correctly but fails to parse is
    /// returned as an error without poisoning the framer; use [`StreamFramer::next_frame`] to
    /// keep the raw bytes (for example to salvage a stateless error response).
    pub fn next_message(&mut self) -> Option<Result<Message, ParseError>> {
        let frame = match self.next_frame()? {
            Ok(frame) => frame,
            Err(e) => return Some(Err(e)),
        };
        Some(match parse_datagram(&frame) {
            Ok(Datagram::Message(m)) => Ok(m),
            // A frame never starts with CR/LF, so it is never a keep-alive.
            Ok(Datagram::KeepAlive) => Err(ParseError::Incomplete),
            Err(e) => Err(e),
        })
    }

    /// The raw bytes of the next complete message (headers and exactly Content-Length body
    /// bytes), or `None` when more bytes are needed or the framer is poisoned.
    pub fn next_frame(&mut self) -> Option<Result<Bytes, ParseError>> {
        if self.poisoned {
            return None;
        }
        let skip = self.buffer.len() - skip_keepalive(&self.buffer).len();
        let skipped = self.buffer.split_to(skip);
        self.skipped_line_ends += skipped.iter().filter(|b| **b == b'\n').count();
        self.pending_pongs += self.skipped_line_ends / 2;
        self.skipped_line_ends %= 2;
        if self.buffer.is_empty() {
            return None;
        }
        let Some((head_end, body_start)) = find_head_end(&self.buffer) else {
            if self.buffer.len() > self.max_message {
                let size = self.buffer.len();
                return Some(Err(self.poison(ParseError::TooLarge {
                    size,
                    limit: self.max_message,
                })));
            }
            return None;
        };
        let length = match content_length_lenient(&self.buffer[..head_end]) {
            Ok(length) => length.unwrap_or(0),
            Err(e) => return Some(Err(self.poison(e))),
        };
        let total = body_start.saturating_add(length);
        if total > self.max_message {
            return Some(Err(self.poison(ParseError::TooLarge {
                size: total,
                limit: self.max_message,
            })));
        }
        if self.buffer.len() < total {
            return None;
        }
        self.skipped_line_ends = 0;
        Some(Ok(self.buffer.split_to(total).freeze()))
    }

    /// True once for each RFC 5626 keep-alive ping (CRLF CRLF) seen between messages: the
    /// driver answers each with a single CRLF pong. Call after `next_message`/`next_frame`.
    pub fn poll_pong(&mut self) -> bool {
        if self.pending_pongs == 0 {
            return false;
        }
        self.pending_pongs -= 1;
        true
    }

    /// True once a framing error has made the stream unusable.
    pub fn is_poisoned(&self) -> bool {
        self.poisoned
    }

    fn poison(&mut self, error: ParseError) -> ParseError {
        self.poisoned = true;
        self.buffer.clear();
        error
    }
}

/// Content-Length of a header section that may not parse strictly: header lines whose name is
/// `Content-Length` or `l` (any case, whitespace before the colon allowed).
fn content_length_lenient(head: &[u8]) -> Result<Option<usize>, ParseError> {
    let head = String::from_utf8_lossy(head);
    let values = head.split('\n').skip(1).filter_map(|line| {
        let (name, value) = line.split_once(':')?;
        let name = name.trim_end_matches([' ', '\t']);
        let is_cl = name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l");
        is_cl.then(|| value.trim_matches([' ', '\t', '\r']))
    });
    content_length(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"MESSAGE sip:h SIP/2.0\r\nl: 5\r\nCall-ID: x\r\n\r\nhello";

    #[test]
    fn frames_pipelined_messages_byte_by_byte() {
        let mut stream = b"\r\n\r\n".to_vec();
        stream.extend_from_slice(MSG);
        stream.extend_from_slice(b"\r\n");
        stream.extend_from_slice(MSG);
        let mut framer = StreamFramer::new(1024);
        let mut bodies = Vec::new();
        for byte in &stream {
            framer.push(std::slice::from_ref(byte)).unwrap();
            while let Some(m) = framer.next_message() {
                bodies.push(m.unwrap().body().clone());
            }
        }
        assert_eq!(
            bodies,
            [Bytes::from_static(b"hello"), Bytes::from_static(b"hello")]
        );
    }

    #[test]
    fn parse_errors_do_not_poison_but_framing_errors_do() {
        let mut framer = StreamFramer::new(1024);
        framer.push(b"BAD LINE\r\nl: 0\r\n\r\n").unwrap();
        framer.push(MSG).unwrap();
        assert!(matches!(framer.next_message(), Some(Err(_))));
        assert!(matches!(framer.next_message(), Some(Ok(_))));
        framer
            .push(b"OPTIONS sip:h SIP/2.0\r\nl: 1\r\nl: 1\r\n\r\nx")
            .unwrap();
        assert_eq!(
            framer.next_message(),
            Some(Err(ParseError::DuplicateContentLength))
        );
        assert!(framer.is_poisoned());
        assert!(framer.next_message().is_none());
        assert_eq!(framer.push(b"x"), Err(ParseError::StreamPoisoned));
    }

    #[test]
    fn oversized_messages_are_rejected() {
        let mut framer = StreamFramer::new(64);
        framer
            .push(b"OPTIONS sip:h SIP/2.0\r\nContent-Length: 100\r\n\r\n")
            .unwrap();
        assert!(matches!(
            framer.next_message(),
            Some(Err(ParseError::TooLarge { .. }))
        ));
        let mut framer = StreamFramer::new(16);
        framer.push(&[b'a'; 20]).unwrap();
        assert!(matches!(
            framer.next_message(),
            Some(Err(ParseError::TooLarge { .. }))
        ));
        let mut framer = StreamFramer::new(16);
        assert!(framer.push(&[b'a'; 40]).is_err());
    }
}
