//! Structured header values: addresses (`From`, `To`, `Contact`), `Via` and `CSeq`, and the
//! shared header-parameter grammar.

use std::fmt;

use super::method::{is_token, is_token_char};
use super::uri::{find_param, parse_host_port};
use super::{Method, Param, ParseError, Uri};

/// An address as in `From`, `To`, `Contact`, `Route`: optional display name, URI, and header
/// parameters (`;tag=...`, `;expires=...`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NameAddr {
    /// The display name, unquoted and unescaped.
    pub display_name: Option<String>,
    /// The address URI.
    pub uri: Uri,
    /// Header parameters (not URI parameters), values as received.
    pub params: Vec<Param>,
}

impl NameAddr {
    /// An address with no display name or parameters.
    pub fn new(uri: Uri) -> NameAddr {
        NameAddr {
            display_name: None,
            uri,
            params: Vec::new(),
        }
    }

    /// Parses `"Display" <uri>;params`, `Display Words <uri>;params` or `uri;params`
    /// (in the last form parameters belong to the header, RFC 3261 §20.10).
    pub fn parse(text: &str) -> Result<NameAddr, ParseError> {
        let text = text.trim_matches(is_lws);
        let (display_name, rest) = if text.starts_with('"') {
            let (name, rest) = take_quoted(text).ok_or(ParseError::Address("unbalanced quotes"))?;
            let rest = rest.trim_start_matches(is_lws);
            if !rest.starts_with('<') {
                return Err(ParseError::Address("display name without <uri>"));
            }
            (Some(name), rest)
        } else if let Some(open) = text.find('<') {
            let words = text[..open].trim_matches(is_lws);
            if text[..open].contains('"') {
                return Err(ParseError::Address("unbalanced quotes"));
            }
            if !words.split(is_lws).all(|w| w.is_empty() || is_token(w)) {
                return Err(ParseError::Address("display name is not tokens"));
            }
            let name = (!words.is_empty()).then(|| words.to_owned());
            (name, &text[open..])
        } else {
            (None, text)
        };
        let (uri, rest) = if let Some(inner) = rest.strip_prefix('<') {
            let close = inner.find('>').ok_or(ParseError::Address("missing '>'"))?;
            (Uri::parse(&inner[..close])?, &inner[close + 1..])
        } else {
            if rest.contains('"') {
                return Err(ParseError::Address("unbalanced quotes"));
            }
            let end = rest
                .find(|c: char| c == ';' || is_lws(c))
                .unwrap_or(rest.len());
            let uri = Uri::parse(&rest[..end])?;
            if !uri.headers.is_empty() {
                // RFC 3261 §20: a URI with headers must be in name-addr form (inside <>).
                return Err(ParseError::Address("URI with headers outside <>"));
            }
            (uri, &rest[end..])
        };
        let params = parse_params(rest).map_err(ParseError::Address)?;
        Ok(NameAddr {
            display_name,
            uri,
            params,
        })
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        find_param(&self.params, "tag").and_then(|p| p.value.as_deref())
    }

    /// Sets (or replaces) the `tag` parameter.
    pub fn set_tag(&mut self, tag: &str) {
        set_param(&mut self.params, "tag", Some(tag));
    }

    /// The first header parameter named `name`; `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name).map(|p| p.value.as_deref())
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = &self.display_name {
            f.write_str("\"")?;
            for c in name.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\" ")?;
        }
        write!(f, "<{}>", self.uri)?;
        for p in &self.params {
            write!(f, ";{p}")?;
        }
        Ok(())
    }
}

/// One `Via` entry: `SIP/2.0/<transport> <host>[:<port>];params`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Via {
    /// Transport token, upper-cased (`UDP`, `TCP`, `TLS`, ...).
    pub transport: String,
    /// Sent-by host (IPv6 with brackets).
    pub host: String,
    /// Sent-by port.
    pub port: Option<u16>,
    /// Via parameters (`branch`, `received`, `rport`, ...), values as received.
    pub params: Vec<Param>,
}

impl Via {
    /// Parses one Via entry (not a comma-separated list: use [`super::Headers::vias`]).
    pub fn parse(text: &str) -> Result<Via, ParseError> {
        Via::parse_with(text, true)
    }

    /// Parses a Via; with `strict_version` false any `SIP/x.y` protocol is accepted (for
    /// answering a request of a foreign version with 505).
    pub(crate) fn parse_with(text: &str, strict_version: bool) -> Result<Via, ParseError> {
        let text = text.trim_matches(is_lws);
        let (name, rest) = split_slash(text).ok_or(ParseError::Via("no protocol"))?;
        let (version, rest) = split_slash(rest).ok_or(ParseError::Via("no transport"))?;
        if !name.eq_ignore_ascii_case("SIP") || strict_version && version != "2.0" {
            return Err(ParseError::Via("protocol is not SIP/2.0"));
        }
        let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        let (transport, rest) = rest.split_at(end);
        if transport.is_empty() || !rest.starts_with(is_lws) {
            return Err(ParseError::Via("bad transport"));
        }
        let rest = rest.trim_start_matches(is_lws);
        let end = rest
            .find(|c: char| c == ';' || is_lws(c))
            .unwrap_or(rest.len());
        let (host, port) = parse_host_port(&rest[..end]).map_err(ParseError::Via)?;
        let params = parse_params(&rest[end..]).map_err(ParseError::Via)?;
        Ok(Via {
            transport: transport.to_ascii_uppercase(),
            host,
            port,
            params,
        })
    }

    /// The `branch` parameter.
    pub fn branch(&self) -> Option<&str> {
        find_param(&self.params, "branch").and_then(|p| p.value.as_deref())
    }

    /// The `received` parameter.
    pub fn received(&self) -> Option<&str> {
        find_param(&self.params, "received").and_then(|p| p.value.as_deref())
    }

    /// The `rport` parameter (RFC 3581): `Some(None)` when present without a value.
    pub fn rport(&self) -> Option<Option<u16>> {
        find_param(&self.params, "rport").map(|p| p.value.as_deref().and_then(|v| v.parse().ok()))
    }

    /// `host[:port]` of the sent-by.
    pub fn sent_by(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{}", self.host, port),
            None => self.host.clone(),
        }
    }

    /// Sets (or replaces) a parameter; `None` makes it a flag.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        set_param(&mut self.params, name, value);
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.sent_by())?;
        for p in &self.params {
            write!(f, ";{p}")?;
        }
        Ok(())
    }
}

/// `CSeq`: sequence number and method.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CSeq {
    /// Sequence number (a 32-bit unsigned integer, RFC 3261 §8.1.1.5).
    pub seq: u32,
    /// Method of the request this CSeq belongs to.
    pub method: Method,
}

impl CSeq {
    /// Parses `<number> <method>`.
    pub fn parse(text: &str) -> Result<CSeq, ParseError> {
        let text = text.trim_matches(is_lws);
        let (number, method) = text
            .split_once(is_lws)
            .ok_or(ParseError::CSeq("no method"))?;
        let seq = super::header::parse_decimal(number, u32::MAX)
            .ok_or(ParseError::CSeq("sequence number is not a 32-bit number"))?;
        let method = Method::parse(method.trim_start_matches(is_lws))
            .map_err(|_| ParseError::CSeq("bad method"))?;
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// Linear white space inside an (already unfolded) header value.
pub(crate) fn is_lws(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits a list header value on commas outside quoted strings and angle brackets.
pub(crate) fn split_list(value: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut in_quotes, mut in_angle, mut escaped) = (false, false, false);
    let mut start = 0;
    for (i, c) in value.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '<' if !in_quotes => in_angle = true,
            '>' if !in_quotes => in_angle = false,
            ',' if !in_quotes && !in_angle => {
                items.push(value[start..i].trim_matches(is_lws));
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(value[start..].trim_matches(is_lws));
    items.retain(|s| !s.is_empty());
    items
}

/// Splits `token LWS? "/" LWS? rest` into (token, rest).
fn split_slash(text: &str) -> Option<(&str, &str)> {
    let (head, rest) = text.split_once('/')?;
    Some((head.trim_matches(is_lws), rest.trim_start_matches(is_lws)))
}

/// Takes a quoted string from the start of `text`: returns its unescaped content and the rest.
pub(crate) fn take_quoted(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    if chars.next()?.1 != '"' {
        return None;
    }
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?.1),
            '"' => return Some((out, &text[i + 1..])),
            _ => out.push(c),
        }
    }
    None
}

/// Parses `*( LWS? ";" LWS? name [ LWS? "=" LWS? value ] )` up to the end of `text`.
/// Quoted values keep their quotes.
pub(crate) fn parse_params(text: &str) -> Result<Vec<Param>, &'static str> {
    let mut params = Vec::new();
    let mut rest = text.trim_start_matches(is_lws);
    while !rest.is_empty() {
        rest = rest
            .strip_prefix(';')
            .ok_or("junk where a parameter should start")?;
        rest = rest.trim_start_matches(is_lws);
        let end = rest.find(|c: char| !is_token_char(c)).unwrap_or(rest.len());
        let (name, after) = rest.split_at(end);
        if name.is_empty() {
            return Err("empty parameter name");
        }
        rest = after.trim_start_matches(is_lws);
        let value = if let Some(after_eq) = rest.strip_prefix('=') {
            let after_eq = after_eq.trim_start_matches(is_lws);
            if after_eq.starts_with('"') {
                let (_, after_q) = take_quoted(after_eq).ok_or("unbalanced quotes")?;
                let raw = &after_eq[..after_eq.len() - after_q.len()];
                rest = after_q;
                Some(raw.to_owned())
            } else {
                let end = after_eq
                    .find(|c: char| !(is_token_char(c) || "[]:".contains(c)))
                    .unwrap_or(after_eq.len());
                if end == 0 {
                    return Err("empty parameter value");
                }
                rest = &after_eq[end..];
                Some(after_eq[..end].to_owned())
            }
        } else {
            None
        };
        params.push(Param {
            name: name.to_owned(),
            value,
        });
        rest = rest.trim_start_matches(is_lws);
    }
    Ok(params)
}

fn set_param(params: &mut Vec<Param>, name: &str, value: Option<&str>) {
    let value = value.map(str::to_owned);
    match params
        .iter_mut()
        .find(|p| p.name.eq_ignore_ascii_case(name))
    {
        Some(p) => p.value = value,
        None => params.push(Param {
            name: name.to_owned(),
            value,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::Scheme;

    #[test]
    fn name_addr_forms() {
        let a = NameAddr::parse("\"Mr. \\\"J\\\" User\" <sip:j.user@example.com>;tag=ab").unwrap();
        assert_eq!(a.display_name.as_deref(), Some("Mr. \"J\" User"));
        assert_eq!(a.uri.user.as_deref(), Some("j.user"));
        assert_eq!(a.tag(), Some("ab"));
        assert_eq!(
            a.to_string(),
            "\"Mr. \\\"J\\\" User\" <sip:j.user@example.com>;tag=ab"
        );

        let b = NameAddr::parse("Bob Smith <sip:bob@example.com>").unwrap();
        assert_eq!(b.display_name.as_deref(), Some("Bob Smith"));

        let c = NameAddr::parse("sip:carol@example.com;tag=x").unwrap();
        assert!(c.uri.params.is_empty());
        assert_eq!(c.tag(), Some("x"));

        let d = NameAddr::parse("<sip:linphone@[fd00::2]:5062>;expires=60").unwrap();
        assert_eq!(d.uri.host, "[fd00::2]");
        assert_eq!(d.param("expires"), Some(Some("60")));
    }

    #[test]
    fn name_addr_rejects_bad_quoting_and_brackets() {
        assert!(NameAddr::parse("\"Mr. J. User <sip:j.user@example.com>").is_err());
        assert!(NameAddr::parse("<sip:a@example.com").is_err());
        assert!(NameAddr::parse("Bad \"Name <sip:a@example.com>").is_err());
        assert!(NameAddr::parse("").is_err());
        assert!(NameAddr::parse("sip:a@example.com?Route=%3Csip:b%3E").is_err());
        assert!(NameAddr::parse("<sip:a@example.com?Route=%3Csip:b%3E>").is_ok());
    }

    #[test]
    fn set_tag_replaces() {
        let mut a = NameAddr::new(Uri::sip("example.com"));
        a.set_tag("1");
        a.set_tag("2");
        assert_eq!(a.to_string(), "<sip:example.com>;tag=2");
        assert_eq!(a.uri.scheme, Scheme::Sip);
    }

    #[test]
    fn via_forms() {
        let v =
            Via::parse("SIP / 2.0 / udp host.example:5061 ; branch=z9hG4bK7;rport;received=[::1]")
                .unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.sent_by(), "host.example:5061");
        assert_eq!(v.branch(), Some("z9hG4bK7"));
        assert_eq!(v.rport(), Some(None));
        assert_eq!(v.received(), Some("[::1]"));
        assert_eq!(
            v.to_string(),
            "SIP/2.0/UDP host.example:5061;branch=z9hG4bK7;rport;received=[::1]"
        );
        let mut v = Via::parse("SIP/2.0/TCP [2001:db8::9]").unwrap();
        v.set_param("rport", Some("5060"));
        assert_eq!(v.rport(), Some(Some(5060)));
        assert!(Via::parse("SIP/3.0/UDP h").is_err());
        assert!(Via::parse("SIP/2.0/UDP").is_err());
        assert!(Via::parse("SIP/2.0/UDP h;branch=\"x").is_err());
    }

    #[test]
    fn cseq_forms() {
        assert_eq!(CSeq::parse("42 INVITE").unwrap().to_string(), "42 INVITE");
        assert_eq!(
            CSeq::parse("1\tNEWMETHOD").unwrap().method,
            Method::Extension("NEWMETHOD".into())
        );
        assert!(CSeq::parse("36893488147419103232 INVITE").is_err());
        assert!(CSeq::parse("-1 INVITE").is_err());
        assert_eq!(CSeq::parse("0009 INVITE").unwrap().seq, 9);
        assert_eq!(CSeq::parse("4294967295 ACK").unwrap().seq, u32::MAX);
        assert!(CSeq::parse("4294967296 ACK").is_err());
        assert!(CSeq::parse("1").is_err());
    }

    #[test]
    fn split_list_respects_quotes_and_brackets() {
        assert_eq!(
            split_list("\"a, b\" <sip:x>, <sip:y;p=1,2>,, z"),
            ["\"a, b\" <sip:x>", "<sip:y;p=1,2>", "z"]
        );
    }
}
