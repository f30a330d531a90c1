//! URIs (`sip:`, `sips:`, `tel:` and opaque others) and the `;name=value` parameters they
//! share with header values.

use std::fmt;

use super::ParseError;

/// A URI scheme. Schemes compare case-insensitively, so they are normalised on parse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// `sip:`
    Sip,
    /// `sips:`
    Sips,
    /// `tel:` (RFC 3966)
    Tel,
    /// Any other syntactically valid scheme, lower-cased. A UAS answers 416 for these.
    Other(String),
}

impl Scheme {
    /// The scheme as printed, without the colon.
    pub fn as_str(&self) -> &str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
            Scheme::Tel => "tel",
            Scheme::Other(s) => s,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `name[=value]` parameter, of a URI (`;transport=tcp`), of URI headers (`?subject=x`) or
/// of a header value (`;tag=1234`). Values are kept as received (quotes and escapes included) so
/// that printing gives back the same text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Param {
    /// Parameter name as received (compare with `eq_ignore_ascii_case`).
    pub name: String,
    /// Value, absent for flag parameters such as `;lr` or `;rport`.
    pub value: Option<String>,
}

impl Param {
    /// A parameter with a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Param {
        Param {
            name: name.into(),
            value: Some(value.into()),
        }
    }

    /// A flag parameter without a value.
    pub fn flag(name: impl Into<String>) -> Param {
        Param {
            name: name.into(),
            value: None,
        }
    }
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={}", self.name, v),
            None => f.write_str(&self.name),
        }
    }
}

/// Finds the first parameter named `name` (case-insensitively).
pub(crate) fn find_param<'a>(params: &'a [Param], name: &str) -> Option<&'a Param> {
    params.iter().find(|p| p.name.eq_ignore_ascii_case(name))
}

/// A parsed URI. For `sip:`/`sips:` every field is meaningful; a `tel:` URI keeps its number in
/// `user` and its parameters in `params` with an empty `host`; any other scheme keeps its
/// opaque remainder in `host`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Uri {
    /// The scheme.
    pub scheme: Scheme,
    /// The user part (with `:password` if one was given), still percent-escaped.
    pub user: Option<String>,
    /// Host name, IPv4 address, or IPv6 reference with its brackets (`[fd00::2]`).
    pub host: String,
    /// Explicit port.
    pub port: Option<u16>,
    /// URI parameters (`;transport=tcp;lr`).
    pub params: Vec<Param>,
    /// URI headers (`?subject=project&priority=urgent`).
    pub headers: Vec<Param>,
}

impl Uri {
    /// A `sip:` URI with a host only.
    pub fn sip(host: impl Into<String>) -> Uri {
        Uri {
            scheme: Scheme::Sip,
            user: None,
            host: host.into(),
            port: None,
            params: Vec::new(),
            headers: Vec::new(),
        }
    }

    /// Parses a URI. The text must be exactly the URI: no surrounding whitespace or brackets.
    pub fn parse(text: &str) -> Result<Uri, ParseError> {
        let (scheme, rest) = text.split_once(':').ok_or(ParseError::Uri("no scheme"))?;
        let scheme = parse_scheme(scheme)?;
        if rest.is_empty() {
            return Err(ParseError::Uri("empty after the scheme"));
        }
        match scheme {
            Scheme::Sip | Scheme::Sips => parse_sip(scheme, rest),
            Scheme::Tel => parse_tel(rest),
            Scheme::Other(_) => {
                if !rest.chars().all(is_opaque_char) {
                    return Err(ParseError::Uri("invalid character"));
                }
                Ok(Uri {
                    host: rest.to_owned(),
                    ..Uri::with_scheme(scheme)
                })
            }
        }
    }

    fn with_scheme(scheme: Scheme) -> Uri {
        Uri {
            scheme,
            ..Uri::sip("")
        }
    }

    /// The first URI parameter named `name` (case-insensitive); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name).map(|p| p.value.as_deref())
    }

    /// `host[:port]` as printed.
    pub fn host_port(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{}", self.host, port),
            None => self.host.clone(),
        }
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        match self.scheme {
            Scheme::Sip | Scheme::Sips | Scheme::Tel => {
                if let Some(user) = &self.user {
                    f.write_str(user)?;
                    if self.scheme != Scheme::Tel {
                        f.write_str("@")?;
                    }
                }
                f.write_str(&self.host)?;
                if let Some(port) = self.port {
                    write!(f, ":{port}")?;
                }
                for p in &self.params {
                    write!(f, ";{p}")?;
                }
                for (i, h) in self.headers.iter().enumerate() {
                    write!(f, "{}{h}", if i == 0 { '?' } else { '&' })?;
                }
                Ok(())
            }
            Scheme::Other(_) => f.write_str(&self.host),
        }
    }
}

fn parse_scheme(s: &str) -> Result<Scheme, ParseError> {
    let mut chars = s.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return Err(ParseError::Uri("invalid scheme"));
    }
    Ok(match s.to_ascii_lowercase().as_str() {
        "sip" => Scheme::Sip,
        "sips" => Scheme::Sips,
        "tel" => Scheme::Tel,
        other => Scheme::Other(other.to_owned()),
    })
}

fn parse_sip(scheme: Scheme, rest: &str) -> Result<Uri, ParseError> {
    let (user, rest) = match rest.split_once('@') {
        Some((user, rest)) => {
            if user.is_empty() || !valid_escaped(user, is_user_char) {
                return Err(ParseError::Uri("invalid user part"));
            }
            (Some(user.to_owned()), rest)
        }
        None => (None, rest),
    };
    let (before_headers, headers) = match rest.split_once('?') {
        Some((a, h)) => (a, Some(h)),
        None => (rest, None),
    };
    let mut pieces = before_headers.split(';');
    let host_port = pieces.next().unwrap_or_default();
    let (host, port) = parse_host_port(host_port).map_err(ParseError::Uri)?;
    let mut params = Vec::new();
    for piece in pieces {
        params.push(parse_uri_param(piece)?);
    }
    let mut header_params = Vec::new();
    if let Some(headers) = headers {
        for piece in headers.split('&') {
            header_params.push(parse_uri_param(piece)?);
        }
    }
    Ok(Uri {
        scheme,
        user,
        host,
        port,
        params,
        headers: header_params,
    })
}

fn parse_tel(rest: &str) -> Result<Uri, ParseError> {
    let mut pieces = rest.split(';');
    let number = pieces.next().unwrap_or_default();
    if number.is_empty() || !valid_escaped(number, is_param_char) {
        return Err(ParseError::Uri("invalid telephone number"));
    }
    let mut params = Vec::new();
    for piece in pieces {
        params.push(parse_uri_param(piece)?);
    }
    Ok(Uri {
        user: Some(number.to_owned()),
        params,
        ..Uri::with_scheme(Scheme::Tel)
    })
}

fn parse_uri_param(piece: &str) -> Result<Param, ParseError> {
    let (name, value) = match piece.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (piece, None),
    };
    if name.is_empty() || !valid_escaped(name, is_param_char) {
        return Err(ParseError::Uri("invalid parameter name"));
    }
    if let Some(v) = value {
        if !valid_escaped(v, is_param_char) {
            return Err(ParseError::Uri("invalid parameter value"));
        }
    }
    Ok(Param {
        name: name.to_owned(),
        value: value.map(str::to_owned),
    })
}

/// Parses `host[:port]` where host may be an IPv6 reference in brackets (kept with them).
pub(crate) fn parse_host_port(s: &str) -> Result<(String, Option<u16>), &'static str> {
    let (host, port) = if let Some(inner) = s.strip_prefix('[') {
        let close = inner.find(']').ok_or("unterminated IPv6 reference")?;
        let (addr, after) = inner.split_at(close);
        if addr.is_empty()
            || !addr
                .chars()
                .all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.')
        {
            return Err("invalid IPv6 reference");
        }
        let after = &after[1..]; // skip ']' (ASCII, found above)
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("junk after IPv6 reference")?),
        };
        (&s[..close + 2], port)
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if host.is_empty() {
        return Err("empty host");
    }
    if !host.starts_with('[')
        && !host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_')
    {
        return Err("invalid host");
    }
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
            Some(p.parse::<u16>().map_err(|_| "port out of range")?)
        }
        Some(_) => return Err("invalid port"),
    };
    Ok((host.to_owned(), port))
}

/// Characters of the user part (unreserved, user-unreserved, and `:` plus the password set).
fn is_user_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.!~*'()&=+$,;?/:".contains(c)
}

/// Characters of URI parameter names and values and URI headers.
fn is_param_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.!~*'()[]/:&+$".contains(c)
}

/// Characters of an opaque (non-SIP) URI remainder.
fn is_opaque_char(c: char) -> bool {
    c.is_ascii_graphic() && !"<>\"".contains(c)
}

/// True when every character is allowed or part of a well-formed `%HH` escape.
fn valid_escaped(s: &str, allowed: fn(char) -> bool) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).is_some_and(|b| b.is_ascii_hexdigit());
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else if b.is_ascii() && allowed(char::from(b)) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_full_sip_uri() {
        let u =
            Uri::parse("sip:alice:pw@example.com:5070;transport=tcp;lr?subject=hi&x=y").unwrap();
        assert_eq!(u.scheme, Scheme::Sip);
        assert_eq!(u.user.as_deref(), Some("alice:pw"));
        assert_eq!(u.host, "example.com");
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.param("transport"), Some(Some("tcp")));
        assert_eq!(u.param("LR"), Some(None));
        assert_eq!(u.headers.len(), 2);
        assert_eq!(
            u.to_string(),
            "sip:alice:pw@example.com:5070;transport=tcp;lr?subject=hi&x=y"
        );
    }

    #[test]
    fn dotted_user_parts_are_users() {
        let u = Uri::parse("sip:t.watson@example.org").unwrap();
        assert_eq!(u.user.as_deref(), Some("t.watson"));
        assert_eq!(u.host, "example.org");
    }

    #[test]
    fn ipv6_hosts_keep_their_brackets() {
        let u = Uri::parse("sip:linphone@[fd00::2]:5062").unwrap();
        assert_eq!(u.host, "[fd00::2]");
        assert_eq!(u.port, Some(5062));
        assert_eq!(u.to_string(), "sip:linphone@[fd00::2]:5062");
        assert!(Uri::parse("sip:[fd00::2").is_err());
        assert!(Uri::parse("sip:[zz::1]").is_err());
    }

    #[test]
    fn escaped_users_stay_escaped() {
        let u = Uri::parse("sip:sips%3Auser%40example.com@example.net").unwrap();
        assert_eq!(u.user.as_deref(), Some("sips%3Auser%40example.com"));
        assert!(Uri::parse("sip:bad%4@example.net").is_err());
    }

    #[test]
    fn other_schemes_parse_as_opaque() {
        let u = Uri::parse("NEWSCHEME:luckynumbers.example.com").unwrap();
        assert_eq!(u.scheme, Scheme::Other("newscheme".into()));
        assert_eq!(u.to_string(), "newscheme:luckynumbers.example.com");
        let t = Uri::parse("tel:+1-201-555-0123;phone-context=x").unwrap();
        assert_eq!(t.user.as_deref(), Some("+1-201-555-0123"));
        assert_eq!(t.to_string(), "tel:+1-201-555-0123;phone-context=x");
    }

    #[test]
    fn rejects_malformed_uris() {
        for bad in [
            "",
            "sip",
            "sip:",
            "sip:user@",
            "sip:a b",
            "sip:host:99999",
            "1ip:host",
            "sip:h:",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad:?}");
        }
    }
}
