//! Requests, responses, and how they print.

use bytes::Bytes;

use super::{HeaderName, Headers, Method, Uri};

/// A SIP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The method of the Request-Line.
    pub method: Method,
    /// The Request-URI.
    pub uri: Uri,
    /// Header lines in order (Content-Length is recomputed on print).
    pub headers: Headers,
    /// The body (exactly Content-Length bytes when parsed).
    pub body: Bytes,
}

/// A SIP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Status code, 100..=699.
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: String,
    /// Header lines in order (Content-Length is recomputed on print).
    pub headers: Headers,
    /// The body.
    pub body: Bytes,
}

/// Either kind of SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, uri: Uri) -> Request {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// The wire form: Request-Line, headers (Content-Length set from the body), CRLF, body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let start = format!("{} {} SIP/2.0", self.method, self.uri);
        print(&start, &self.headers, &self.body)
    }
}

impl Response {
    /// A response with no headers and no body.
    pub fn new(status: u16, reason: impl Into<String>) -> Response {
        Response {
            status,
            reason: reason.into(),
            headers: Headers::new(),
            body: Bytes::new(),
        }
    }

    /// A response to `request` carrying its Via (all), From, To, Call-ID and CSeq header lines,
    /// as RFC 3261 §8.2.6.2 requires. The caller adds a To tag where one is needed.
    pub fn for_request(request: &Request, status: u16, reason: &str) -> Response {
        let mut response = Response::new(status, reason);
        for name in [
            HeaderName::Via,
            HeaderName::From,
            HeaderName::To,
            HeaderName::CallId,
        ] {
            for value in request.headers.all(&name) {
                response.headers.push(name.clone(), value);
            }
        }
        if let Some(cseq) = request.headers.get(&HeaderName::CSeq) {
            response.headers.push(HeaderName::CSeq, cseq);
        }
        response
    }

    /// The wire form: Status-Line, headers (Content-Length set from the body), CRLF, body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let start = format!("SIP/2.0 {} {}", self.status, self.reason);
        print(&start, &self.headers, &self.body)
    }

    /// True for 1xx.
    pub fn is_provisional(&self) -> bool {
        self.status < 200
    }
}

impl Message {
    /// The headers of either kind.
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(r) => &r.headers,
            Message::Response(r) => &r.headers,
        }
    }

    /// The body of either kind.
    pub fn body(&self) -> &Bytes {
        match self {
            Message::Request(r) => &r.body,
            Message::Response(r) => &r.body,
        }
    }

    /// The wire form.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(r) => r.to_bytes(),
            Message::Response(r) => r.to_bytes(),
        }
    }
}

impl From<Request> for Message {
    fn from(r: Request) -> Message {
        Message::Request(r)
    }
}

impl From<Response> for Message {
    fn from(r: Response) -> Message {
        Message::Response(r)
    }
}

fn print(start_line: &str, headers: &Headers, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(start_line.len() + 32 * headers.len() + body.len() + 32);
    push_line_text(&mut out, start_line);
    out.extend_from_slice(b"\r\n");
    for (name, value) in headers.iter() {
        if *name == HeaderName::ContentLength {
            continue;
        }
        push_line_text(&mut out, name.as_str());
        out.extend_from_slice(b": ");
        push_line_text(&mut out, value);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(body);
    out
}

/// Appends text that must stay on one line: CR and LF (which could come from application
/// data such as a caller-id display name) become spaces, so no header can be injected.
fn push_line_text(out: &mut Vec<u8>, text: &str) {
    out.extend(
        text.bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite() -> Request {
        let mut r = Request::new(Method::Invite, Uri::parse("sip:bob@example.com").unwrap());
        r.headers
            .push(HeaderName::Via, "SIP/2.0/UDP a.example;branch=z9hG4bK1");
        r.headers
            .push(HeaderName::Via, "SIP/2.0/UDP b.example;branch=z9hG4bK2");
        r.headers
            .push(HeaderName::From, "<sip:alice@example.com>;tag=1");
        r.headers.push(HeaderName::To, "<sip:bob@example.com>");
        r.headers.push(HeaderName::CallId, "c1");
        r.headers.push(HeaderName::CSeq, "1 INVITE");
        r.headers.push(HeaderName::ContentLength, "999");
        r.headers.push(HeaderName::MaxForwards, "70");
        r.body = Bytes::from_static(b"v=0\r\n");
        r
    }

    #[test]
    fn request_prints_with_computed_content_length() {
        let text = String::from_utf8(invite().to_bytes()).unwrap();
        assert!(
            text.starts_with("INVITE sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP a.example")
        );
        assert!(text.ends_with("Max-Forwards: 70\r\nContent-Length: 5\r\n\r\nv=0\r\n"));
        assert!(!text.contains("999"));
    }

    #[test]
    fn response_for_request_copies_the_dialog_headers() {
        let resp = Response::for_request(&invite(), 180, "Ringing");
        let names: Vec<_> = resp.headers.iter().map(|(n, _)| n.to_string()).collect();
        assert_eq!(names, ["Via", "Via", "From", "To", "Call-ID", "CSeq"]);
        let text = String::from_utf8(resp.to_bytes()).unwrap();
        assert!(text.starts_with("SIP/2.0 180 Ringing\r\n"));
        assert!(text.ends_with("CSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"));
        assert!(resp.is_provisional());
    }

    #[test]
    fn line_breaks_in_values_cannot_inject_headers() {
        let mut r = invite();
        r.headers
            .set(HeaderName::Subject, "hi\r\nContact: <sip:evil@example.com>");
        let text = String::from_utf8(r.to_bytes()).unwrap();
        assert!(text.contains("Subject: hi  Contact: <sip:evil@example.com>\r\n"));
        let mut resp = Response::for_request(&r, 486, "Busy\r\nX: y");
        resp.headers.push(HeaderName::new("X-A"), "\n");
        let text = String::from_utf8(resp.to_bytes()).unwrap();
        assert!(text.starts_with("SIP/2.0 486 Busy  X: y\r\nVia:"));
        assert_eq!(text.matches("\r\n").count(), resp.headers.len() + 3);
    }
}
