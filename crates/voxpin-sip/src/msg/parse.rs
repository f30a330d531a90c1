//! From bytes to a [`Message`]: keep-alives, the header/body boundary, unfolding, header lines,
//! the start line and Content-Length framing of datagrams.

use bytes::Bytes;

use super::error::excerpt;
use super::values::is_lws;
use super::{HeaderName, Headers, Message, Method, ParseError, Request, Response, Uri};

/// Largest message accepted (64 KiB): a datagram or a framed stream message.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// What one UDP datagram carried.
// A datagram is matched on and moved out at once; boxing the message would only add an
// allocation and hurt pattern matching.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Datagram {
    /// A SIP message.
    Message(Message),
    /// Only CR/LF bytes: an RFC 5626 keep-alive ping (answer `\r\n` over streams, ignore on UDP).
    KeepAlive,
}

/// Parses one UDP datagram. Leading CR/LF are skipped (keep-alives); the body is framed by
/// Content-Length and bytes after it are ignored (RFC 3261 §18.3); without Content-Length the
/// body runs to the end of the datagram.
pub fn parse_datagram(bytes: &[u8]) -> Result<Datagram, ParseError> {
    if bytes.len() > MAX_MESSAGE {
        return Err(ParseError::TooLarge {
            size: bytes.len(),
            limit: MAX_MESSAGE,
        });
    }
    let bytes = skip_keepalive(bytes);
    if bytes.is_empty() {
        return Ok(Datagram::KeepAlive);
    }
    let (head_end, body_start) = find_head_end(bytes).ok_or(ParseError::Incomplete)?;
    let (start, headers) = parse_head(&bytes[..head_end])?;
    let available = bytes.len() - body_start;
    let body = match content_length(headers.all(&HeaderName::ContentLength))? {
        Some(length) if length > available => {
            return Err(ParseError::TruncatedBody { length, available })
        }
        Some(length) => &bytes[body_start..body_start + length],
        None => &bytes[body_start..],
    };
    Ok(Datagram::Message(assemble(
        start,
        headers,
        Bytes::copy_from_slice(body),
    )))
}

/// Skips leading CR and LF bytes.
pub(crate) fn skip_keepalive(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| *b != b'\r' && *b != b'\n')
        .unwrap_or(bytes.len());
    &bytes[start..]
}

/// Finds the empty line that ends the header section: returns (end of the last header line,
/// start of the body). Accepts CRLF CRLF and, leniently, LF LF.
pub(crate) fn find_head_end(bytes: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|b| *b == b'\n') {
        let lf = i + offset;
        let next = lf + 1;
        if bytes.get(next) == Some(&b'\n') {
            return Some((lf, next + 1));
        }
        if bytes.get(next) == Some(&b'\r') && bytes.get(next + 1) == Some(&b'\n') {
            return Some((lf, next + 2));
        }
        i = next;
    }
    None
}

/// The start line of a message.
#[derive(Debug)]
pub(crate) enum StartLine {
    Request(Method, Uri),
    Response(u16, String),
}

/// Parses the start line and header lines (without the final empty line).
pub(crate) fn parse_head(head: &[u8]) -> Result<(StartLine, Headers), ParseError> {
    let head = std::str::from_utf8(head).map_err(|_| ParseError::NotUtf8)?;
    let mut lines = head.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let start_line = lines.next().unwrap_or_default();
    if start_line.contains('\r') {
        return Err(ParseError::StartLine);
    }
    let start = parse_start_line(start_line)?;
    let mut entries: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.contains('\r') {
            // CR only ends lines (RFC 3261 §7.3.1); a bare one inside is never valid.
            return Err(ParseError::HeaderLine(excerpt(line)));
        }
        if line.starts_with(is_lws) {
            // RFC 3261 §7.3.1: a line starting with whitespace continues the previous value;
            // the fold is equivalent to a single space.
            let (_, value) = entries
                .last_mut()
                .ok_or_else(|| ParseError::HeaderLine(excerpt(line)))?;
            let more = line.trim_matches(is_lws);
            if !more.is_empty() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(more);
            }
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| ParseError::HeaderLine(excerpt(line)))?;
        // HCOLON = *( SP / HTAB ) ":" SWS: whitespace may precede the colon.
        let name = name.trim_end_matches(is_lws);
        if !super::method::is_token(name) {
            return Err(ParseError::HeaderLine(excerpt(line)));
        }
        entries.push((name.to_owned(), value.trim_matches(is_lws).to_owned()));
    }
    let mut headers = Headers::new();
    for (name, value) in entries {
        headers.push(HeaderName::new(&name), value);
    }
    Ok((start, headers))
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if is_sip_version_prefix(line) {
        let (version, rest) = line.split_once(' ').ok_or(ParseError::StartLine)?;
        check_version(version)?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::StatusCode(excerpt(code)));
        }
        let status: u16 = code
            .parse()
            .map_err(|_| ParseError::StatusCode(excerpt(code)))?;
        if !(100..=699).contains(&status) {
            return Err(ParseError::StatusCode(excerpt(code)));
        }
        if reason.chars().any(|c| c.is_control() && c != '\t') {
            return Err(ParseError::StartLine);
        }
        return Ok(StartLine::Response(status, reason.to_owned()));
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::StartLine);
    };
    let method = Method::parse(method)?;
    let uri = Uri::parse(uri)?;
    check_version(version)?;
    Ok(StartLine::Request(method, uri))
}

/// Accepts `SIP/2.0`; a well-formed other version is [`ParseError::UnsupportedVersion`].
fn check_version(version: &str) -> Result<(), ParseError> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        return Ok(());
    }
    let number = version.get(4..).filter(|_| is_sip_version_prefix(version));
    let well_formed = number
        .and_then(|n| n.split_once('.'))
        .is_some_and(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        });
    if well_formed {
        Err(ParseError::UnsupportedVersion(excerpt(version)))
    } else {
        Err(ParseError::StartLine)
    }
}

/// True when `text` starts with `SIP/` in any case (a Status-Line or a version).
pub(crate) fn is_sip_version_prefix(text: &str) -> bool {
    text.as_bytes()
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case(b"SIP/"))
}

/// Validates the Content-Length lines: at most one, a decimal number, within [`MAX_MESSAGE`].
pub(crate) fn content_length<'a>(
    mut values: impl Iterator<Item = &'a str>,
) -> Result<Option<usize>, ParseError> {
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ParseError::DuplicateContentLength);
    }
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::InvalidContentLength(excerpt(value)));
    }
    // Digits only, so a parse failure means overflow: saturate and report it as too large.
    let length = value.parse::<usize>().unwrap_or(usize::MAX);
    if length > MAX_MESSAGE {
        return Err(ParseError::ContentLengthTooLarge {
            length,
            limit: MAX_MESSAGE,
        });
    }
    Ok(Some(length))
}

pub(crate) fn assemble(start: StartLine, headers: Headers, body: Bytes) -> Message {
    match start {
        StartLine::Request(method, uri) => Message::Request(Request {
            method,
            uri,
            headers,
            body,
        }),
        StartLine::Response(status, reason) => Message::Response(Response {
            status,
            reason,
            headers,
            body,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP pc33.example.com;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: Bob <sip:bob@example.com>\r\n\
From: Alice <sip:alice@example.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@pc33.example.com\r\n\
CSeq: 314159 INVITE\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 4\r\n\r\nv=0\r\ntrailing junk";

    fn request(bytes: &[u8]) -> Request {
        match parse_datagram(bytes) {
            Ok(Datagram::Message(Message::Request(r))) => r,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn parses_an_invite_and_ignores_trailing_bytes() {
        let r = request(INVITE);
        assert_eq!(r.method, Method::Invite);
        assert_eq!(r.uri.to_string(), "sip:bob@example.com");
        assert_eq!(r.headers.cseq().unwrap().seq, 314159);
        assert_eq!(&r.body[..], b"v=0\r");
    }

    #[test]
    fn unfolds_expands_compact_names_and_allows_space_before_colon() {
        let r = request(
            b"OPTIONS sip:x@example.com SIP/2.0\r\nv : SIP/2.0/UDP h\r\n ;branch=z9hG4bK1\r\n\
i:abc\r\nSubject: a\r\n\tb\r\n\r\n",
        );
        assert_eq!(r.headers.top_via().unwrap().branch(), Some("z9hG4bK1"));
        assert_eq!(r.headers.call_id().unwrap(), "abc");
        assert_eq!(r.headers.get(&HeaderName::Subject), Some("a b"));
        assert!(r.body.is_empty());
    }

    #[test]
    fn keepalives_and_leading_crlf() {
        assert_eq!(parse_datagram(b"\r\n\r\n").unwrap(), Datagram::KeepAlive);
        assert_eq!(parse_datagram(b"").unwrap(), Datagram::KeepAlive);
        let mut with_crlf = b"\r\n".to_vec();
        with_crlf.extend_from_slice(INVITE);
        assert_eq!(request(&with_crlf).method, Method::Invite);
    }

    #[test]
    fn responses_parse_with_empty_reason() {
        let bytes =
            b"SIP/2.0 100 \r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 0\r\n\r\n";
        match parse_datagram(bytes).unwrap() {
            Datagram::Message(Message::Response(r)) => {
                assert_eq!((r.status, r.reason.as_str()), (100, ""));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse_datagram(b"SIP/2.0 4294967301 Huge\r\n\r\n"),
            Err(ParseError::StatusCode(_))
        ));
    }

    #[test]
    fn content_length_errors() {
        let with = |cl: &str| {
            let text = format!("OPTIONS sip:h SIP/2.0\r\n{cl}\r\n\r\nbody");
            parse_datagram(text.as_bytes())
        };
        assert_eq!(
            with("Content-Length: 1\r\nl: 1"),
            Err(ParseError::DuplicateContentLength)
        );
        assert!(matches!(
            with("Content-Length: -1"),
            Err(ParseError::InvalidContentLength(_))
        ));
        assert!(matches!(
            with("Content-Length: 99999999999999999999999"),
            Err(ParseError::ContentLengthTooLarge { .. })
        ));
        assert!(matches!(
            with("Content-Length: 70000"),
            Err(ParseError::ContentLengthTooLarge { .. })
        ));
        assert_eq!(
            with("Content-Length: 10"),
            Err(ParseError::TruncatedBody {
                length: 10,
                available: 4
            })
        );
    }

    #[test]
    fn start_line_errors() {
        assert!(matches!(
            parse_datagram(b"INVITE sip:h SIP/7.0\r\n\r\n"),
            Err(ParseError::UnsupportedVersion(_))
        ));
        assert!(parse_datagram(b"INVITE <sip:h> SIP/2.0\r\n\r\n").is_err());
        assert!(parse_datagram(b"INVITE  sip:h SIP/2.0\r\n\r\n").is_err());
        assert_eq!(
            parse_datagram(b"INVITE sip:h SIP/2.0\r\n"),
            Err(ParseError::Incomplete)
        );
        assert!(matches!(
            parse_datagram(b"INVITE sip:h SIP/2.0\r\nX: a\rb\r\n\r\n"),
            Err(ParseError::HeaderLine(_))
        ));
        assert!(matches!(
            parse_datagram(b"INVITE sip:h SIP/2.0\r\nNoColon\r\n\r\n"),
            Err(ParseError::HeaderLine(_))
        ));
    }
}
