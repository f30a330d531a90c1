//! A lenient reading of a request that failed the strict parse, just enough to answer it
//! statelessly (RFC 3261 §8.2.6, RFC 4475 §3: "respond with 400 if it can").

use super::parse::{find_head_end, is_sip_version_prefix, skip_keepalive};
use super::values::{is_lws, split_list};
use super::{HeaderName, Response, Via};

/// The headers a stateless error response needs, read leniently from a broken request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvage {
    method: String,
    vias: Vec<String>,
    from: String,
    to: String,
    call_id: String,
    cseq: String,
}

/// Reads Via/From/To/Call-ID/CSeq leniently from `bytes`. `None` when the bytes are a response,
/// an ACK (never answered), or lack any of those headers or a usable top Via: then drop.
pub fn salvage(bytes: &[u8]) -> Option<Salvage> {
    let bytes = skip_keepalive(bytes);
    let head_end = find_head_end(bytes).map_or(bytes.len(), |(end, _)| end);
    let head = String::from_utf8_lossy(&bytes[..head_end]);
    let mut lines = head.split('\n').map(|l| l.trim_end_matches('\r'));
    let start = lines.next()?;
    let method = start.split(is_lws).next()?.to_owned();
    if method.is_empty() || is_sip_version_prefix(&method) {
        return None;
    }
    let mut headers: Vec<(HeaderName, String)> = Vec::new();
    for line in lines {
        if line.starts_with(is_lws) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim_matches(is_lws));
            }
        } else if let Some((name, value)) = line.split_once(':') {
            let name = HeaderName::new(name.trim_matches(is_lws));
            headers.push((name, value.trim_matches(is_lws).to_owned()));
        }
    }
    let first = |name: HeaderName| {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let vias: Vec<String> = headers
        .iter()
        .filter(|(n, _)| *n == HeaderName::Via)
        .flat_map(|(_, v)| split_list(v))
        .map(str::to_owned)
        .collect();
    Via::parse_with(vias.first()?, false).ok()?;
    let cseq = first(HeaderName::CSeq)?;
    let cseq_method = cseq.split(is_lws).nth(1).unwrap_or_default();
    if method == "ACK" || cseq_method == "ACK" {
        return None;
    }
    Some(Salvage {
        method,
        vias,
        from: first(HeaderName::From)?,
        to: first(HeaderName::To)?,
        call_id: first(HeaderName::CallId)?,
        cseq,
    })
}

impl Salvage {
    /// The method token of the request line, as received.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The topmost Via (it parsed, perhaps with a foreign SIP version, when this salvage was
    /// made).
    pub fn top_via(&self) -> Option<Via> {
        self.vias
            .first()
            .and_then(|v| Via::parse_with(v, false).ok())
    }

    /// The Call-ID as received.
    pub fn call_id(&self) -> &str {
        &self.call_id
    }

    /// A stateless response carrying the salvaged headers verbatim.
    pub fn response(&self, status: u16, reason: &str) -> Response {
        let mut response = Response::new(status, reason);
        for via in &self.vias {
            response.headers.push(HeaderName::Via, via.clone());
        }
        response.headers.push(HeaderName::From, self.from.clone());
        response.headers.push(HeaderName::To, self.to.clone());
        response
            .headers
            .push(HeaderName::CallId, self.call_id.clone());
        response.headers.push(HeaderName::CSeq, self.cseq.clone());
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salvages_a_request_with_a_broken_to() {
        let bytes = b"INVITE <sip:b@h> SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
To: \"Broken <sip:b@h>\r\nFrom: <sip:a@h>;tag=1\r\ni: c1\r\nCSeq: 8 INVITE\r\n\r\n";
        let s = salvage(bytes).unwrap();
        assert_eq!(s.method(), "INVITE");
        assert_eq!(s.call_id(), "c1");
        let text = String::from_utf8(s.response(400, "Bad Request").to_bytes()).unwrap();
        assert!(
            text.starts_with("SIP/2.0 400 Bad Request\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n")
        );
        assert!(text.contains("To: \"Broken <sip:b@h>\r\n"));
        assert!(text.contains("CSeq: 8 INVITE\r\n"));
    }

    #[test]
    fn drops_what_cannot_be_answered() {
        assert!(salvage(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n\r\n").is_none());
        assert!(salvage(b"INVITE sip:h SIP/2.0\r\nCall-ID: x\r\n\r\n").is_none());
        let ack = b"ACK sip:h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: a\r\nTo: b\r\ni: c\r\nCSeq: 1 ACK\r\n\r\n";
        assert!(salvage(ack).is_none());
        assert!(salvage(b"").is_none());
    }
}
