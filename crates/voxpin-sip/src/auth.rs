//! HTTP digest authentication for SIP (RFC 2617, RFC 7616, RFC 3261 §22).
//!
//! A carrier answers our INVITE or REGISTER with 401 (`WWW-Authenticate`) or
//! 407 (`Proxy-Authenticate`). We parse the challenge, compute the response
//! and resend the request with `Authorization` / `Proxy-Authorization`.
//!
//! ```
//! use voxpin_sip::auth::{self, Challenge, Credentials};
//!
//! let challenge = Challenge::parse(
//!     r#"Digest realm="carrier.example", nonce="abc123", qop="auth", algorithm=MD5"#,
//! ).unwrap();
//! let creds = Credentials { username: "alice".into(), password: "s3cret".into(), realm: None };
//! let value = auth::authorization_for(&challenge, &creds, "INVITE", "sip:+15551234@carrier.example",
//!                                     "0a4f113b", 1).unwrap();
//! assert!(value.starts_with(r#"Digest username="alice", realm="carrier.example""#));
//! assert!(!format!("{creds:?}").contains("s3cret"));
//! ```
//!
//! Supported: algorithms MD5, MD5-sess, SHA-256, SHA-256-sess; `qop=auth` and
//! the RFC 2069 form without qop; `userhash`. Not supported: `qop=auth-int`
//! alone (refused with [`AuthError::UnsupportedQop`]), SHA-512-256, Basic.

use std::fmt;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::msg::Method;

/// A username and password for one realm (or for any realm when `realm` is `None`).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name to authenticate as.
    pub username: String,
    /// The password. Never printed: `Debug` shows `<redacted>`.
    pub password: String,
    /// Only answer challenges for this realm; `None` answers any realm.
    pub realm: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("realm", &self.realm)
            .finish()
    }
}

/// The hash function named by the `algorithm` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (the default when the parameter is absent).
    Md5,
    /// `MD5-sess`.
    Md5Sess,
    /// `SHA-256` (RFC 7616).
    Sha256,
    /// `SHA-256-sess` (RFC 7616).
    Sha256Sess,
}

impl Algorithm {
    /// The parameter value as written in headers.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Md5Sess => "MD5-sess",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    fn parse(value: &str) -> Option<Algorithm> {
        [
            Algorithm::Md5,
            Algorithm::Md5Sess,
            Algorithm::Sha256,
            Algorithm::Sha256Sess,
        ]
        .into_iter()
        .find(|a| a.as_str().eq_ignore_ascii_case(value))
    }

    fn is_session(self) -> bool {
        matches!(self, Algorithm::Md5Sess | Algorithm::Sha256Sess)
    }

    /// Lower-case hex of the hash of `data`.
    fn hash(self, data: &str) -> String {
        match self {
            Algorithm::Md5 | Algorithm::Md5Sess => hex::encode(Md5::digest(data.as_bytes())),
            Algorithm::Sha256 | Algorithm::Sha256Sess => {
                hex::encode(Sha256::digest(data.as_bytes()))
            }
        }
    }
}

/// Why a challenge could not be parsed or answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The scheme is not `Digest` (e.g. `Basic`).
    #[error("authentication scheme is not Digest")]
    UnsupportedScheme,
    /// The `algorithm` parameter names a hash we do not implement.
    #[error("unsupported digest algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// The challenge offers only qop values other than `auth` (e.g. `auth-int`).
    #[error("challenge offers no supported qop")]
    UnsupportedQop,
    /// A required parameter (`realm`, `nonce`) is absent.
    #[error("challenge lacks the {0} parameter")]
    MissingParameter(&'static str),
    /// The parameter list does not follow the `name=value, …` grammar.
    #[error("malformed challenge: {0}")]
    Malformed(&'static str),
    /// The credentials are for another realm than the challenge's.
    #[error("no credentials for the challenged realm")]
    RealmMismatch,
}

/// A parsed `WWW-Authenticate` or `Proxy-Authenticate` digest challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The protection space.
    pub realm: String,
    /// The server's nonce.
    pub nonce: String,
    /// Opaque data to echo back.
    pub opaque: Option<String>,
    /// The hash algorithm.
    pub algorithm: Algorithm,
    /// Whether the server offered `qop=auth` (otherwise the RFC 2069 form is used).
    pub qop_auth: bool,
    /// `stale=true`: the previous response was right but its nonce expired.
    pub stale: bool,
    /// `userhash=true` (RFC 7616 §3.4.4): send a hashed username.
    pub userhash: bool,
}

impl Challenge {
    /// Parses a header value such as `Digest realm="x", nonce="y", qop="auth"`.
    ///
    /// Parameter names are case-insensitive, values may be tokens or quoted
    /// strings with `\` escapes; unknown parameters are ignored; never panics.
    pub fn parse(value: &str) -> Result<Challenge, AuthError> {
        let value = value.trim_start();
        let (scheme, rest) = value
            .split_once(|c: char| c.is_ascii_whitespace())
            .unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("Digest") {
            return Err(AuthError::UnsupportedScheme);
        }
        let params = parse_params(rest)?;
        let find = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let realm = find("realm").ok_or(AuthError::MissingParameter("realm"))?;
        let nonce = find("nonce").ok_or(AuthError::MissingParameter("nonce"))?;
        let algorithm = match find("algorithm") {
            None => Algorithm::Md5,
            Some(name) => Algorithm::parse(name)
                .ok_or_else(|| AuthError::UnsupportedAlgorithm(name.to_owned()))?,
        };
        let qop_auth = match find("qop") {
            None => false,
            Some(list) => {
                if !list
                    .split(',')
                    .any(|q| q.trim().eq_ignore_ascii_case("auth"))
                {
                    return Err(AuthError::UnsupportedQop);
                }
                true
            }
        };
        let flag = |name| find(name).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(Challenge {
            realm: realm.to_owned(),
            nonce: nonce.to_owned(),
            opaque: find("opaque").map(str::to_owned),
            algorithm,
            qop_auth,
            stale: flag("stale"),
            userhash: flag("userhash"),
        })
    }
}

/// Parses `name=value` pairs separated by commas; values are tokens or quoted strings.
fn parse_params(input: &str) -> Result<Vec<(String, String)>, AuthError> {
    let mut params = Vec::new();
    let mut rest = input;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_ascii_whitespace() || c == ',');
        if rest.is_empty() {
            return Ok(params);
        }
        let eq = rest
            .find('=')
            .ok_or(AuthError::Malformed("parameter without `=`"))?;
        let name = rest.get(..eq).unwrap_or("").trim();
        if name.is_empty() || !name.bytes().all(is_token_byte) {
            return Err(AuthError::Malformed("bad parameter name"));
        }
        rest = rest.get(eq + 1..).unwrap_or("").trim_start();
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut unescaped = String::new();
            let mut chars = quoted.char_indices();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => match chars.next() {
                        Some((_, escaped)) => unescaped.push(escaped),
                        None => break,
                    },
                    '"' => {
                        end = Some(i + 1);
                        break;
                    }
                    other => unescaped.push(other),
                }
            }
            let end = end.ok_or(AuthError::Malformed("unterminated quoted string"))?;
            value = unescaped;
            rest = quoted.get(end..).unwrap_or("");
        } else {
            let end = rest.find(',').unwrap_or(rest.len());
            let token = rest.get(..end).unwrap_or("").trim();
            if token.is_empty() || !token.bytes().all(is_token_byte) {
                return Err(AuthError::Malformed("bad token value"));
            }
            value = token.to_owned();
            rest = rest.get(end..).unwrap_or("");
        }
        let rest_trimmed = rest.trim_start();
        if !rest_trimmed.is_empty() && !rest_trimmed.starts_with(',') {
            return Err(AuthError::Malformed("expected `,` between parameters"));
        }
        params.push((name.to_owned(), value));
    }
}

/// RFC 7230 `tchar`, plus `/` which some servers put in unquoted nonces.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:@=".contains(&b)
}

/// Quotes `s` as an RFC 7230 quoted-string.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// The `Authorization` / `Proxy-Authorization` value answering `ch` for a
/// request with `method` and Request-URI `uri` (as written in the request line).
///
/// `cnonce` should be fresh random text per challenge and `nc` counts requests
/// sent with the same nonce, from 1. Both are ignored for a challenge without qop.
pub fn authorization(
    ch: &Challenge,
    creds: &Credentials,
    method: &Method,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> Result<String, AuthError> {
    authorization_for(ch, creds, method.as_str(), uri, cnonce, nc)
}

/// [`authorization`] with the method given by name (e.g. `INVITE`).
///
/// `cnonce` should be fresh random text per challenge and `nc` counts requests
/// sent with the same nonce, from 1. Both are ignored for a challenge without qop.
pub fn authorization_for(
    ch: &Challenge,
    creds: &Credentials,
    method: &str,
    uri: &str,
    cnonce: &str,
    nc: u32,
) -> Result<String, AuthError> {
    if let Some(realm) = &creds.realm {
        if realm != &ch.realm {
            return Err(AuthError::RealmMismatch);
        }
    }
    let algorithm = ch.algorithm;
    let mut ha1 = algorithm.hash(&format!(
        "{}:{}:{}",
        creds.username, ch.realm, creds.password
    ));
    if algorithm.is_session() {
        ha1 = algorithm.hash(&format!("{ha1}:{}:{cnonce}", ch.nonce));
    }
    let ha2 = algorithm.hash(&format!("{method}:{uri}"));
    let nc_text = format!("{nc:08x}");
    let response = if ch.qop_auth {
        algorithm.hash(&format!("{ha1}:{}:{nc_text}:{cnonce}:auth:{ha2}", ch.nonce))
    } else {
        algorithm.hash(&format!("{ha1}:{}:{ha2}", ch.nonce))
    };
    let username = if ch.userhash {
        algorithm.hash(&format!("{}:{}", creds.username, ch.realm))
    } else {
        creds.username.clone()
    };
    let mut value = format!(
        "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\", algorithm={}",
        quote(&username),
        quote(&ch.realm),
        quote(&ch.nonce),
        quote(uri),
        algorithm.as_str(),
    );
    if ch.qop_auth || algorithm.is_session() {
        value.push_str(&format!(", cnonce={}", quote(cnonce)));
    }
    if let Some(opaque) = &ch.opaque {
        value.push_str(&format!(", opaque={}", quote(opaque)));
    }
    if ch.qop_auth {
        value.push_str(&format!(", qop=auth, nc={nc_text}"));
    }
    if ch.userhash {
        value.push_str(", userhash=true");
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response_of(value: &str) -> String {
        let params = parse_params(value.trim_start_matches("Digest ")).expect("own output parses");
        params
            .into_iter()
            .find(|(n, _)| n == "response")
            .map(|(_, v)| v)
            .expect("response present")
    }

    fn mufasa() -> Credentials {
        Credentials {
            username: "Mufasa".into(),
            password: "Circle Of Life".into(),
            realm: None,
        }
    }

    #[test]
    fn rfc2617_section_3_5() {
        let ch = Challenge::parse(
            "Digest\r\n realm=\"testrealm@host.com\",\r\n qop=\"auth,auth-int\",\r\n \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\",\r\n \
             opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .expect("RFC 2617 challenge parses");
        assert!(ch.qop_auth);
        assert_eq!(ch.algorithm, Algorithm::Md5);
        let value =
            authorization_for(&ch, &mufasa(), "GET", "/dir/index.html", "0a4f113b", 1).expect("ok");
        assert_eq!(response_of(&value), "6629fae49393a05397450978507c4ef1");
        assert!(value.contains("nc=00000001"));
        assert!(value.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    }

    fn rfc7616_challenge(algorithm: &str) -> Challenge {
        Challenge::parse(&format!(
            "Digest realm=\"http-auth@example.org\", qop=\"auth, auth-int\", \
             algorithm={algorithm}, nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", \
             opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\""
        ))
        .expect("RFC 7616 challenge parses")
    }

    #[test]
    fn rfc7616_section_3_9_1_md5_and_sha256() {
        let creds = Credentials {
            password: "Circle of Life".into(),
            ..mufasa()
        };
        let cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        for (algorithm, expected) in [
            ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
            (
                "SHA-256",
                "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
            ),
        ] {
            let ch = rfc7616_challenge(algorithm);
            let value =
                authorization_for(&ch, &creds, "GET", "/dir/index.html", cnonce, 1).expect("ok");
            assert_eq!(response_of(&value), expected, "{algorithm}");
            assert!(value.contains(&format!("algorithm={algorithm}")));
        }
    }

    #[test]
    fn no_qop_uses_rfc2069_form() {
        let ch = Challenge::parse("Digest realm=\"r\", nonce=\"n\"").expect("parses");
        let creds = Credentials {
            username: "u".into(),
            password: "p".into(),
            realm: None,
        };
        let value = authorization_for(&ch, &creds, "INVITE", "sip:x@y", "c", 1).expect("ok");
        let ha1 = Algorithm::Md5.hash("u:r:p");
        let ha2 = Algorithm::Md5.hash("INVITE:sip:x@y");
        assert_eq!(
            response_of(&value),
            Algorithm::Md5.hash(&format!("{ha1}:n:{ha2}"))
        );
        assert!(
            !value.contains("qop") && !value.contains("cnonce"),
            "{value}"
        );
    }

    #[test]
    fn session_algorithm_hashes_nonce_and_cnonce_into_ha1() {
        let ch = Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=MD5-sess, qop=auth")
            .expect("parses");
        let creds = Credentials {
            username: "u".into(),
            password: "p".into(),
            realm: None,
        };
        let value = authorization_for(&ch, &creds, "REGISTER", "sip:y", "c", 2).expect("ok");
        let ha1 = Algorithm::Md5.hash(&format!("{}:n:c", Algorithm::Md5.hash("u:r:p")));
        let ha2 = Algorithm::Md5.hash("REGISTER:sip:y");
        let expected = Algorithm::Md5.hash(&format!("{ha1}:n:00000002:c:auth:{ha2}"));
        assert_eq!(response_of(&value), expected);
    }

    #[test]
    fn challenge_errors() {
        assert_eq!(
            Challenge::parse("Basic realm=\"x\""),
            Err(AuthError::UnsupportedScheme)
        );
        assert_eq!(
            Challenge::parse("Digest nonce=\"n\""),
            Err(AuthError::MissingParameter("realm"))
        );
        assert_eq!(
            Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=\"auth-int\""),
            Err(AuthError::UnsupportedQop)
        );
        assert_eq!(
            Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-512-256"),
            Err(AuthError::UnsupportedAlgorithm("SHA-512-256".into()))
        );
        assert_eq!(
            Challenge::parse("Digest realm=\"r, nonce=\"n\""),
            Err(AuthError::Malformed("expected `,` between parameters"))
        );
        assert_eq!(
            Challenge::parse("Digest realm=\"r"),
            Err(AuthError::Malformed("unterminated quoted string"))
        );
    }

    #[test]
    fn quoted_strings_escape_and_case_insensitive_names() {
        let ch =
            Challenge::parse(r#"digest REALM="a \"quoted\" realm" ,NONCE=abc/def, Stale=TRUE"#)
                .expect("parses");
        assert_eq!(ch.realm, "a \"quoted\" realm");
        assert_eq!(ch.nonce, "abc/def");
        assert!(ch.stale);
        let creds = Credentials {
            username: "x".into(),
            password: "y".into(),
            realm: None,
        };
        let value = authorization_for(&ch, &creds, "INVITE", "sip:a", "c", 1).expect("ok");
        assert!(value.contains(r#"realm="a \"quoted\" realm""#), "{value}");
    }

    #[test]
    fn method_form_matches_name_form() {
        let ch = Challenge::parse("Digest realm=\"r\", nonce=\"n\", qop=auth").expect("parses");
        let by_method = authorization(&ch, &mufasa(), &Method::Invite, "sip:a", "c", 1);
        let by_name = authorization_for(&ch, &mufasa(), "INVITE", "sip:a", "c", 1);
        assert_eq!(by_method, by_name);
    }

    #[test]
    fn realm_mismatch_and_redacted_password() {
        let ch = Challenge::parse("Digest realm=\"r\", nonce=\"n\"").expect("parses");
        let creds = Credentials {
            username: "u".into(),
            password: "hunter2".into(),
            realm: Some("other".into()),
        };
        assert_eq!(
            authorization_for(&ch, &creds, "INVITE", "sip:a", "c", 1),
            Err(AuthError::RealmMismatch)
        );
        assert!(!format!("{creds:?}").contains("hunter2"));
    }

    #[test]
    fn userhash_hashes_the_username() {
        let ch =
            Challenge::parse("Digest realm=\"r\", nonce=\"n\", algorithm=SHA-256, userhash=true")
                .expect("parses");
        let value = authorization_for(&ch, &mufasa(), "INVITE", "sip:a", "c", 1).expect("ok");
        let hashed = Algorithm::Sha256.hash("Mufasa:r");
        assert!(value.contains(&format!("username=\"{hashed}\"")), "{value}");
        assert!(value.ends_with("userhash=true"));
    }
}
