//! Header names (canonical spellings, compact forms) and the ordered header list with typed
//! accessors.

use std::fmt;
use std::hash::{Hash, Hasher};

use super::values::split_list;
use super::{CSeq, NameAddr, ParseError, Via};

/// A SIP header name. Names compare case-insensitively; known names print in their canonical
/// spelling, compact forms (`i l f t v m c e k s o r u x y b a j d n`) are expanded on parse.
#[derive(Debug, Clone)]
pub enum HeaderName {
    /// `Via` (compact `v`).
    Via,
    /// `From` (compact `f`).
    From,
    /// `To` (compact `t`).
    To,
    /// `Call-ID` (compact `i`).
    CallId,
    /// `CSeq`.
    CSeq,
    /// `Contact` (compact `m`).
    Contact,
    /// `Max-Forwards`.
    MaxForwards,
    /// `Content-Length` (compact `l`).
    ContentLength,
    /// `Content-Type` (compact `c`).
    ContentType,
    /// `Route`.
    Route,
    /// `Record-Route`.
    RecordRoute,
    /// `Allow`.
    Allow,
    /// `Accept`.
    Accept,
    /// `Supported` (compact `k`).
    Supported,
    /// `Require`.
    Require,
    /// `Unsupported`.
    Unsupported,
    /// `Proxy-Require`.
    ProxyRequire,
    /// `Authorization`.
    Authorization,
    /// `WWW-Authenticate`.
    WwwAuthenticate,
    /// `Proxy-Authenticate`.
    ProxyAuthenticate,
    /// `Proxy-Authorization`.
    ProxyAuthorization,
    /// `Expires`.
    Expires,
    /// `User-Agent`.
    UserAgent,
    /// `Server`.
    Server,
    /// `Retry-After`.
    RetryAfter,
    /// `Reason` (RFC 3326).
    Reason,
    /// `Event` (compact `o`).
    Event,
    /// `Subject` (compact `s`).
    Subject,
    /// Any other header, spelled as received (or canonically for expanded compact forms).
    Other(String),
}

/// Known names with their canonical spelling, in declaration order.
const KNOWN: &[(HeaderName, &str)] = &[
    (HeaderName::Via, "Via"),
    (HeaderName::From, "From"),
    (HeaderName::To, "To"),
    (HeaderName::CallId, "Call-ID"),
    (HeaderName::CSeq, "CSeq"),
    (HeaderName::Contact, "Contact"),
    (HeaderName::MaxForwards, "Max-Forwards"),
    (HeaderName::ContentLength, "Content-Length"),
    (HeaderName::ContentType, "Content-Type"),
    (HeaderName::Route, "Route"),
    (HeaderName::RecordRoute, "Record-Route"),
    (HeaderName::Allow, "Allow"),
    (HeaderName::Accept, "Accept"),
    (HeaderName::Supported, "Supported"),
    (HeaderName::Require, "Require"),
    (HeaderName::Unsupported, "Unsupported"),
    (HeaderName::ProxyRequire, "Proxy-Require"),
    (HeaderName::Authorization, "Authorization"),
    (HeaderName::WwwAuthenticate, "WWW-Authenticate"),
    (HeaderName::ProxyAuthenticate, "Proxy-Authenticate"),
    (HeaderName::ProxyAuthorization, "Proxy-Authorization"),
    (HeaderName::Expires, "Expires"),
    (HeaderName::UserAgent, "User-Agent"),
    (HeaderName::Server, "Server"),
    (HeaderName::RetryAfter, "Retry-After"),
    (HeaderName::Reason, "Reason"),
    (HeaderName::Event, "Event"),
    (HeaderName::Subject, "Subject"),
];

/// Compact forms (RFC 3261 §7.3.3 and the IANA registry) and the full names they stand for.
const COMPACT: &[(char, &str)] = &[
    ('i', "Call-ID"),
    ('l', "Content-Length"),
    ('f', "From"),
    ('t', "To"),
    ('v', "Via"),
    ('m', "Contact"),
    ('c', "Content-Type"),
    ('e', "Content-Encoding"),
    ('k', "Supported"),
    ('s', "Subject"),
    ('o', "Event"),
    ('r', "Refer-To"),
    ('u', "Allow-Events"),
    ('x', "Session-Expires"),
    ('y', "Identity"),
    ('b', "Referred-By"),
    ('a', "Accept-Contact"),
    ('j', "Reject-Contact"),
    ('d', "Request-Disposition"),
    ('n', "Identity-Info"),
];

impl HeaderName {
    /// The header name for `name` as written on the wire: known names (any case) map to their
    /// variant, one-letter compact forms are expanded, anything else is kept as written.
    pub fn new(name: &str) -> HeaderName {
        let mut chars = name.chars();
        let full = match (chars.next(), chars.next()) {
            (Some(c), None) => COMPACT
                .iter()
                .find(|(short, _)| short.eq_ignore_ascii_case(&c))
                .map_or(name, |(_, long)| long),
            _ => name,
        };
        KNOWN
            .iter()
            .find(|(_, spelled)| spelled.eq_ignore_ascii_case(full))
            .map_or_else(
                || HeaderName::Other(full.to_owned()),
                |(known, _)| known.clone(),
            )
    }

    /// The canonical spelling (or the received one for [`HeaderName::Other`]).
    pub fn as_str(&self) -> &str {
        match self {
            HeaderName::Via => "Via",
            HeaderName::From => "From",
            HeaderName::To => "To",
            HeaderName::CallId => "Call-ID",
            HeaderName::CSeq => "CSeq",
            HeaderName::Contact => "Contact",
            HeaderName::MaxForwards => "Max-Forwards",
            HeaderName::ContentLength => "Content-Length",
            HeaderName::ContentType => "Content-Type",
            HeaderName::Route => "Route",
            HeaderName::RecordRoute => "Record-Route",
            HeaderName::Allow => "Allow",
            HeaderName::Accept => "Accept",
            HeaderName::Supported => "Supported",
            HeaderName::Require => "Require",
            HeaderName::Unsupported => "Unsupported",
            HeaderName::ProxyRequire => "Proxy-Require",
            HeaderName::Authorization => "Authorization",
            HeaderName::WwwAuthenticate => "WWW-Authenticate",
            HeaderName::ProxyAuthenticate => "Proxy-Authenticate",
            HeaderName::ProxyAuthorization => "Proxy-Authorization",
            HeaderName::Expires => "Expires",
            HeaderName::UserAgent => "User-Agent",
            HeaderName::Server => "Server",
            HeaderName::RetryAfter => "Retry-After",
            HeaderName::Reason => "Reason",
            HeaderName::Event => "Event",
            HeaderName::Subject => "Subject",
            HeaderName::Other(name) => name,
        }
    }

    /// True for headers that may appear at most once in a message (RFC 3261 §7.3.1: the ones
    /// whose grammar is not a comma-separated list).
    pub fn is_single_valued(&self) -> bool {
        matches!(
            self,
            HeaderName::From
                | HeaderName::To
                | HeaderName::CallId
                | HeaderName::CSeq
                | HeaderName::MaxForwards
                | HeaderName::ContentLength
                | HeaderName::ContentType
                | HeaderName::Expires
        )
    }
}

impl From<&str> for HeaderName {
    fn from(name: &str) -> HeaderName {
        HeaderName::new(name)
    }
}

impl PartialEq for HeaderName {
    fn eq(&self, other: &HeaderName) -> bool {
        match (self, other) {
            // Known names are normalised by `new`: comparing variants is enough.
            (HeaderName::Other(_), _) | (_, HeaderName::Other(_)) => {
                self.as_str().eq_ignore_ascii_case(other.as_str())
            }
            _ => std::mem::discriminant(self) == std::mem::discriminant(other),
        }
    }
}

impl Eq for HeaderName {}

impl Hash for HeaderName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for b in self.as_str().bytes() {
            state.write_u8(b.to_ascii_lowercase());
        }
    }
}

impl fmt::Display for HeaderName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The headers of a message: an ordered list of (name, value) pairs, values unfolded and
/// trimmed. A header repeated on several lines appears several times, in order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(HeaderName, String)>,
}

impl Headers {
    /// An empty header list.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// The first value of `name`.
    pub fn get(&self, name: &HeaderName) -> Option<&str> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, one per header line, in order (list values are not split).
    pub fn all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every element of a list header (`Via`, `Route`, `Allow`, `Supported`, ...), splitting
    /// comma-separated values outside quotes and angle brackets.
    pub fn list<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a str> + 'a {
        self.all(name).flat_map(split_list)
    }

    /// Appends a header line.
    pub fn push(&mut self, name: HeaderName, value: impl Into<String>) {
        self.entries.push((name, value.into()));
    }

    /// Inserts a header line before all others (a new topmost Via, for instance).
    pub fn push_front(&mut self, name: HeaderName, value: impl Into<String>) {
        self.entries.insert(0, (name, value.into()));
    }

    /// Replaces every line of `name` with one line carrying `value` (at the position of the
    /// first one, or at the end).
    pub fn set(&mut self, name: HeaderName, value: impl Into<String>) {
        let value = value.into();
        match self.entries.iter().position(|(n, _)| *n == name) {
            Some(first) => {
                self.entries[first].1 = value;
                let mut index = 0;
                self.entries.retain(|(n, _)| {
                    index += 1;
                    index - 1 == first || *n != name
                });
            }
            None => self.entries.push((name, value)),
        }
    }

    /// Removes every line of `name`.
    pub fn remove(&mut self, name: &HeaderName) {
        self.entries.retain(|(n, _)| n != name);
    }

    /// All header lines in order.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &str)> {
        self.entries.iter().map(|(n, v)| (n, v.as_str()))
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no header line.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The topmost Via.
    pub fn top_via(&self) -> Result<Via, ParseError> {
        let first = self.list(&HeaderName::Via).next();
        Via::parse(first.ok_or(ParseError::MissingHeader("Via"))?)
    }

    /// Every Via, top first, splitting comma-joined values.
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        let vias = self
            .list(&HeaderName::Via)
            .map(Via::parse)
            .collect::<Result<Vec<_>, _>>()?;
        if vias.is_empty() {
            return Err(ParseError::MissingHeader("Via"));
        }
        Ok(vias)
    }

    /// The From address.
    pub fn from(&self) -> Result<NameAddr, ParseError> {
        NameAddr::parse(
            self.get(&HeaderName::From)
                .ok_or(ParseError::MissingHeader("From"))?,
        )
    }

    /// The To address.
    pub fn to(&self) -> Result<NameAddr, ParseError> {
        NameAddr::parse(
            self.get(&HeaderName::To)
                .ok_or(ParseError::MissingHeader("To"))?,
        )
    }

    /// The Call-ID (non-empty, no whitespace).
    pub fn call_id(&self) -> Result<&str, ParseError> {
        let id = self
            .get(&HeaderName::CallId)
            .ok_or(ParseError::MissingHeader("Call-ID"))?;
        if id.is_empty() || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ParseError::HeaderValue {
                header: "Call-ID",
                reason: "not a word",
            });
        }
        Ok(id)
    }

    /// The CSeq.
    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        CSeq::parse(
            self.get(&HeaderName::CSeq)
                .ok_or(ParseError::MissingHeader("CSeq"))?,
        )
    }

    /// The first Contact address, if any (`*` is reported as an error: use [`Headers::get`]).
    pub fn contact(&self) -> Option<Result<NameAddr, ParseError>> {
        self.list(&HeaderName::Contact).next().map(NameAddr::parse)
    }

    /// Max-Forwards (0..=255, leading zeros allowed), if present.
    pub fn max_forwards(&self) -> Option<Result<u32, ParseError>> {
        self.get(&HeaderName::MaxForwards).map(|v| {
            parse_decimal(v, 255).ok_or(ParseError::HeaderValue {
                header: "Max-Forwards",
                reason: "not 0..=255",
            })
        })
    }

    /// The Content-Type value (media type with parameters), if present.
    pub fn content_type(&self) -> Option<&str> {
        self.get(&HeaderName::ContentType)
    }
}

/// Parses a decimal number (leading zeros allowed) no larger than `max`.
pub(crate) fn parse_decimal(text: &str, max: u32) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = text.trim_start_matches('0');
    if significant.len() > 10 {
        return None;
    }
    let value = if significant.is_empty() {
        0
    } else {
        significant.parse::<u64>().ok()?
    };
    u32::try_from(value).ok().filter(|v| *v <= max)
}

impl<'a> IntoIterator for &'a Headers {
    type Item = (&'a HeaderName, &'a str);
    type IntoIter = Box<dyn Iterator<Item = (&'a HeaderName, &'a str)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise_and_compare_case_insensitively() {
        assert_eq!(HeaderName::new("call-id"), HeaderName::CallId);
        assert_eq!(HeaderName::new("i"), HeaderName::CallId);
        assert_eq!(HeaderName::new("L").as_str(), "Content-Length");
        assert_eq!(HeaderName::new("e").as_str(), "Content-Encoding");
        assert_eq!(
            HeaderName::new("www-authenticate").to_string(),
            "WWW-Authenticate"
        );
        assert_eq!(HeaderName::new("X-Foo"), HeaderName::Other("x-foo".into()));
        assert_eq!(HeaderName::Other("VIA".into()), HeaderName::Via);
        assert_eq!(HeaderName::new("X-Foo").to_string(), "X-Foo");
    }

    #[test]
    fn known_table_and_canonical_spellings_agree() {
        for (known, spelled) in KNOWN {
            assert_eq!(known.as_str(), *spelled);
            assert_eq!(HeaderName::new(&spelled.to_ascii_uppercase()), *known);
        }
    }

    #[test]
    fn every_compact_form_expands() {
        for (short, long) in COMPACT {
            assert_eq!(HeaderName::new(&short.to_string()).as_str(), *long);
        }
    }

    #[test]
    fn set_replaces_all_lines_in_place() {
        let mut h = Headers::new();
        h.push(HeaderName::Via, "a");
        h.push(HeaderName::To, "t");
        h.push(HeaderName::Via, "b");
        h.set(HeaderName::Via, "c");
        let lines: Vec<_> = h.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        assert_eq!(lines, ["Via: c", "To: t"]);
        h.remove(&HeaderName::To);
        assert_eq!(h.len(), 1);
        h.push_front(HeaderName::Via, "top");
        assert_eq!(h.get(&HeaderName::Via), Some("top"));
    }

    #[test]
    fn typed_accessors() {
        let mut h = Headers::new();
        h.push(
            HeaderName::Via,
            "SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/TCP b.example",
        );
        h.push(HeaderName::Via, "SIP/2.0/UDP c.example:5070");
        h.push(HeaderName::From, "\"Alice\" <sip:alice@example.com>;tag=9");
        h.push(HeaderName::To, "sip:bob@[fd00::2]");
        h.push(HeaderName::CallId, "abc@host");
        h.push(HeaderName::CSeq, "7 INVITE");
        h.push(HeaderName::MaxForwards, "70");
        assert_eq!(h.top_via().unwrap().branch(), Some("z9hG4bK1"));
        assert_eq!(h.vias().unwrap().len(), 3);
        assert_eq!(h.from().unwrap().tag(), Some("9"));
        assert_eq!(h.to().unwrap().uri.host, "[fd00::2]");
        assert_eq!(h.call_id().unwrap(), "abc@host");
        assert_eq!(h.cseq().unwrap().seq, 7);
        assert_eq!(h.max_forwards(), Some(Ok(70)));
        assert!(h.contact().is_none());
        h.set(HeaderName::MaxForwards, "0068");
        assert_eq!(h.max_forwards(), Some(Ok(68)));
        h.set(HeaderName::MaxForwards, "300");
        assert!(matches!(h.max_forwards(), Some(Err(_))));
        h.set(HeaderName::CallId, "");
        assert!(h.call_id().is_err());
    }
}
