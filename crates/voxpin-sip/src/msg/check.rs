//! What a UAS checks after a request parsed (RFC 3261 §8.2, RFC 4475 §3), and the stateless
//! error response each failure calls for.

use super::values::split_list;
use super::{HeaderName, Method, ParseError, Request, Response, Scheme};

/// What this UAS supports, used to decide 405/501, 420, 415 and the Allow / Accept /
/// Unsupported headers of the rejections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UasCapabilities {
    /// Methods handled (listed in `Allow`).
    pub methods: Vec<Method>,
    /// Option tags understood in `Require` (listed in `Supported`).
    pub extensions: Vec<String>,
    /// Body media types accepted, without parameters (listed in `Accept`).
    pub content_types: Vec<String>,
}

impl Default for UasCapabilities {
    /// A calling endpoint: INVITE, ACK, BYE, CANCEL, OPTIONS, INFO; no extensions; SDP and the
    /// two INFO DTMF body types.
    fn default() -> UasCapabilities {
        UasCapabilities {
            methods: vec![
                Method::Invite,
                Method::Ack,
                Method::Bye,
                Method::Cancel,
                Method::Options,
                Method::Info,
            ],
            extensions: Vec::new(),
            content_types: [
                "application/sdp",
                "application/dtmf-relay",
                "application/dtmf",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl UasCapabilities {
    /// The `Allow` header value.
    pub fn allow(&self) -> String {
        self.methods
            .iter()
            .map(Method::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The `Accept` header value.
    pub fn accept(&self) -> String {
        self.content_types.join(", ")
    }
}

/// Why a request is refused, and how: the status, reason phrase and extra headers of the error
/// response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Status code (400, 405, 415, 416, 420, 501, ...).
    pub status: u16,
    /// Reason phrase.
    pub reason: &'static str,
    /// Headers the response must carry (`Allow`, `Accept`, `Unsupported`, ...).
    pub headers: Vec<(HeaderName, String)>,
}

impl Rejection {
    fn new(status: u16, reason: &'static str) -> Rejection {
        Rejection {
            status,
            reason,
            headers: Vec::new(),
        }
    }

    fn with(mut self, name: HeaderName, value: String) -> Rejection {
        self.headers.push((name, value));
        self
    }

    /// The error response to `request`: the RFC 3261 §8.2.6 copied headers, `to_tag` added to
    /// To when it has none (and To parses), then this rejection's headers.
    pub fn response(&self, request: &Request, to_tag: &str) -> Response {
        let mut response = Response::for_request(request, self.status, self.reason);
        if let Ok(mut to) = request.headers.to() {
            if to.tag().is_none() {
                to.set_tag(to_tag);
                response.headers.set(HeaderName::To, to.to_string());
            }
        }
        for (name, value) in &self.headers {
            response.headers.push(name.clone(), value.clone());
        }
        response
    }
}

/// Checks a parsed request as a UAS must before processing it (RFC 3261 §8.2, RFC 4475 §3),
/// in this order:
///
/// 1. malformed essentials (Via, From, To, Call-ID, CSeq, Max-Forwards, Contact), repeated
///    single-value headers, headers in the Request-URI, an empty `z9hG4bK` branch → 400;
/// 2. unknown method → 501, known but not handled → 405, both with `Allow`;
/// 3. CSeq method different from the request method → 400;
/// 4. Request-URI scheme other than sip/sips/tel → 416;
/// 5. REGISTER whose To is not a sip/sips URI → 400;
/// 6. unknown `Require` option tags (not for ACK or CANCEL) → 420 with `Unsupported`;
/// 7. a body of an unknown Content-Type or encoding → 415 with `Accept`;
/// 8. an INVITE whose `Accept` excludes `application/sdp` → 406.
///
/// A foreign SIP version never parses: see [`super::ParseError::response_status`].
pub fn check_request(req: &Request, caps: &UasCapabilities) -> Result<(), Rejection> {
    check_syntax(req).map_err(|reason| Rejection::new(400, reason))?;
    if !caps.methods.contains(&req.method) {
        let (status, reason) = match req.method {
            Method::Extension(_) => (501, "Not Implemented"),
            _ => (405, "Method Not Allowed"),
        };
        return Err(Rejection::new(status, reason).with(HeaderName::Allow, caps.allow()));
    }
    if req.headers.cseq().map(|c| c.method) != Ok(req.method.clone()) {
        return Err(Rejection::new(400, "CSeq Method Mismatch"));
    }
    if !matches!(req.uri.scheme, Scheme::Sip | Scheme::Sips | Scheme::Tel) {
        return Err(Rejection::new(416, "Unsupported URI Scheme"));
    }
    if req.method == Method::Register {
        let to_scheme = req.headers.to().map(|to| to.uri.scheme);
        if !matches!(to_scheme, Ok(Scheme::Sip | Scheme::Sips)) {
            return Err(Rejection::new(400, "To Is Not A SIP URI"));
        }
    }
    if !matches!(req.method, Method::Ack | Method::Cancel) {
        let unsupported: Vec<&str> = req
            .headers
            .list(&HeaderName::Require)
            .filter(|tag| !caps.extensions.iter().any(|e| e.eq_ignore_ascii_case(tag)))
            .collect();
        if !unsupported.is_empty() {
            return Err(Rejection::new(420, "Bad Extension")
                .with(HeaderName::Unsupported, unsupported.join(", ")));
        }
    }
    if !req.body.is_empty() {
        let known = req.headers.content_type().is_some_and(|ct| {
            caps.content_types
                .iter()
                .any(|c| c.eq_ignore_ascii_case(media_type(ct)))
        });
        if !known {
            return Err(Rejection::new(415, "Unsupported Media Type")
                .with(HeaderName::Accept, caps.accept()));
        }
        let encoding = HeaderName::new("Content-Encoding");
        if req
            .headers
            .list(&encoding)
            .any(|e| !e.eq_ignore_ascii_case("identity"))
        {
            return Err(Rejection::new(415, "Unsupported Media Type")
                .with(HeaderName::new("Accept-Encoding"), "identity".to_owned()));
        }
    }
    if req.method == Method::Invite && req.headers.get(&HeaderName::Accept).is_some() {
        let sdp_ok = req.headers.list(&HeaderName::Accept).any(|range| {
            let range = media_type(range);
            ["application/sdp", "application/*", "*/*"]
                .iter()
                .any(|r| r.eq_ignore_ascii_case(range))
        });
        if !sdp_ok {
            return Err(Rejection::new(406, "Not Acceptable"));
        }
    }
    Ok(())
}

/// Checks a parsed response before it is matched to a transaction: its Via, From, To, Call-ID
/// and CSeq must be well-formed. A response that fails is dropped (RFC 4475 §3.1.2.5).
pub fn check_response(resp: &Response) -> Result<(), ParseError> {
    let h = &resp.headers;
    h.vias()?;
    h.from()?;
    h.to()?;
    h.call_id()?;
    h.cseq()?;
    Ok(())
}

/// The media type of a Content-Type or Accept element, without parameters.
fn media_type(value: &str) -> &str {
    value.split(';').next().unwrap_or_default().trim()
}

/// The 400 checks that do not depend on capabilities.
fn check_syntax(req: &Request) -> Result<(), &'static str> {
    let h = &req.headers;
    let mut seen: Vec<&HeaderName> = Vec::new();
    for (name, value) in h.iter() {
        if name.is_single_valued() {
            if seen.contains(&name) || split_list(value).len() > 1 && *name != HeaderName::CallId {
                return Err("Duplicate Single-Value Header");
            }
            seen.push(name);
        }
    }
    if !req.uri.headers.is_empty() {
        return Err("Headers In Request-URI");
    }
    let vias = h.vias().map_err(|_| "Malformed Via")?;
    if vias.first().and_then(|v| v.branch()) == Some("z9hG4bK") {
        return Err("Empty Branch");
    }
    h.from().map_err(|_| "Malformed From")?;
    h.to().map_err(|_| "Malformed To")?;
    h.call_id().map_err(|_| "Malformed Call-ID")?;
    h.cseq().map_err(|_| "Malformed CSeq")?;
    if let Some(Err(_)) = h.max_forwards() {
        return Err("Malformed Max-Forwards");
    }
    for contact in h.list(&HeaderName::Contact) {
        if contact != "*" && super::NameAddr::parse(contact).is_err() {
            return Err("Malformed Contact");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::{parse_datagram, Datagram, Message};

    fn request(extra: &str, method: &str, uri: &str) -> Request {
        let text = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
From: <sip:a@h>;tag=1\r\nTo: <sip:b@h>\r\nCall-ID: c\r\nCSeq: 1 {method}\r\n{extra}\r\n"
        );
        match parse_datagram(text.as_bytes()) {
            Ok(Datagram::Message(Message::Request(r))) => r,
            other => panic!("{other:?}"),
        }
    }

    fn status(req: &Request) -> Option<u16> {
        check_request(req, &UasCapabilities::default())
            .err()
            .map(|r| r.status)
    }

    #[test]
    fn accepts_an_ordinary_invite() {
        assert_eq!(status(&request("", "INVITE", "sip:b@h")), None);
    }

    #[test]
    fn statuses_for_each_failure() {
        assert_eq!(
            status(&request("CSeq: 2 INVITE\r\n", "INVITE", "sip:b@h")),
            Some(400)
        );
        let mut r = request("", "INVITE", "sip:b@h");
        r.headers.set(HeaderName::CSeq, "1 BYE");
        assert_eq!(status(&r), Some(400));
        assert_eq!(status(&request("", "NEWMETHOD", "sip:b@h")), Some(501));
        assert_eq!(status(&request("", "SUBSCRIBE", "sip:b@h")), Some(405));
        assert_eq!(status(&request("", "INVITE", "news:b.example")), Some(416));
        assert_eq!(
            status(&request("Require: foo\r\n", "INVITE", "sip:b@h")),
            Some(420)
        );
        assert_eq!(status(&request("Require: foo\r\n", "ACK", "sip:b@h")), None);
        assert_eq!(
            status(&request(
                "Content-Type: text/plain\r\nContent-Length: 1\r\n\r\nx",
                "INVITE",
                "sip:b@h"
            )),
            Some(415)
        );
    }

    #[test]
    fn rejections_carry_their_headers_and_a_to_tag() {
        let req = request("Require: foo, 100rel\r\n", "INVITE", "sip:b@h");
        let rejection = check_request(&req, &UasCapabilities::default()).unwrap_err();
        assert_eq!(
            rejection.headers,
            [(HeaderName::Unsupported, "foo, 100rel".to_owned())]
        );
        let resp = rejection.response(&req, "t1");
        assert_eq!(resp.status, 420);
        assert_eq!(resp.headers.to().unwrap().tag(), Some("t1"));
        assert_eq!(
            resp.headers.get(&HeaderName::Unsupported),
            Some("foo, 100rel")
        );
        let req = request("", "NEWMETHOD", "sip:b@h");
        let rejection = check_request(&req, &UasCapabilities::default()).unwrap_err();
        assert_eq!(
            rejection.headers[0].1,
            "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"
        );
    }
}
