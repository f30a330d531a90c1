//! Why a SIP message or one of its header values could not be parsed.

/// A precise reason why bytes are not an acceptable SIP message (or a header value is not
/// acceptable for its header).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input ended before the end of the header section (no empty line yet).
    #[error("incomplete message: no end of the header section")]
    Incomplete,
    /// The message is larger than the allowed maximum.
    #[error("message of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size seen so far.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The header section is not valid UTF-8.
    #[error("header section is not valid UTF-8")]
    NotUtf8,
    /// The start line is neither a Request-Line nor a Status-Line.
    #[error("malformed start line")]
    StartLine,
    /// The SIP version is not `SIP/2.0`.
    #[error("unsupported SIP version {0:?}")]
    UnsupportedVersion(String),
    /// A method token contains characters outside the token alphabet.
    #[error("invalid method {0:?}")]
    Method(String),
    /// A status code is not a three-digit number between 100 and 699.
    #[error("invalid status code {0:?}")]
    StatusCode(String),
    /// A header line has no colon or an invalid header name.
    #[error("malformed header line {0:?}")]
    HeaderLine(String),
    /// A header value is malformed for its header.
    #[error("malformed {header} header value: {reason}")]
    HeaderValue {
        /// The header whose value is wrong (canonical spelling).
        header: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A required header is absent.
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A URI is malformed.
    #[error("malformed URI: {0}")]
    Uri(&'static str),
    /// A name-addr / addr-spec value is malformed.
    #[error("malformed address: {0}")]
    Address(&'static str),
    /// A Via value is malformed.
    #[error("malformed Via: {0}")]
    Via(&'static str),
    /// A CSeq value is malformed.
    #[error("malformed CSeq: {0}")]
    CSeq(&'static str),
    /// Content-Length appears more than once.
    #[error("Content-Length appears more than once")]
    DuplicateContentLength,
    /// Content-Length is not a non-negative decimal number.
    #[error("invalid Content-Length {0:?}")]
    InvalidContentLength(String),
    /// Content-Length announces more bytes than the message limit allows.
    #[error("Content-Length {length} exceeds the limit of {limit} bytes")]
    ContentLengthTooLarge {
        /// The announced length.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// Content-Length announces more body bytes than the datagram carries.
    #[error("Content-Length {length} but only {available} body bytes")]
    TruncatedBody {
        /// The announced length.
        length: usize,
        /// Bytes present after the header section.
        available: usize,
    },
    /// The stream framer hit an earlier error; the connection cannot be resynchronised.
    #[error("stream framing lost after an earlier error")]
    StreamPoisoned,
}

/// Longest piece of input an error carries (errors end up in logs; input can be 64 KiB).
const EXCERPT_CHARS: usize = 64;

/// The start of `input`, at most [`EXCERPT_CHARS`] characters, marked when cut.
pub(crate) fn excerpt(input: &str) -> String {
    match input.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &input[..cut]),
        None => input.to_owned(),
    }
}

impl ParseError {
    /// The status of the stateless error response a UAS sends when a request fails to parse
    /// with this error and enough of it can be salvaged: 505 for a foreign SIP version, 400
    /// otherwise.
    pub fn response_status(&self) -> u16 {
        match self {
            ParseError::UnsupportedVersion(_) => 505,
            _ => 400,
        }
    }

    /// The reason phrase matching [`ParseError::response_status`].
    pub fn response_reason(&self) -> &'static str {
        match self {
            ParseError::UnsupportedVersion(_) => "Version Not Supported",
            _ => "Bad Request",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_and_cut_on_characters() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(100);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn statuses_for_stateless_answers() {
        assert_eq!(
            ParseError::UnsupportedVersion("SIP/7.0".into()).response_status(),
            505
        );
        assert_eq!(ParseError::StartLine.response_status(), 400);
        assert_eq!(ParseError::StartLine.response_reason(), "Bad Request");
    }
}
