//! SIP request methods and the token alphabet shared by the grammar.

use std::fmt;

use super::ParseError;

/// A SIP request method. Unknown but well-formed methods are kept as [`Method::Extension`]
/// (RFC 3261 §8.2.1: a UAS answers them with 501, it does not fail to parse them).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE (RFC 3261).
    Invite,
    /// ACK (RFC 3261).
    Ack,
    /// BYE (RFC 3261).
    Bye,
    /// CANCEL (RFC 3261).
    Cancel,
    /// OPTIONS (RFC 3261).
    Options,
    /// REGISTER (RFC 3261).
    Register,
    /// INFO (RFC 6086).
    Info,
    /// PRACK (RFC 3262).
    Prack,
    /// UPDATE (RFC 3311).
    Update,
    /// SUBSCRIBE (RFC 6665).
    Subscribe,
    /// NOTIFY (RFC 6665).
    Notify,
    /// REFER (RFC 3515).
    Refer,
    /// MESSAGE (RFC 3428).
    Message,
    /// PUBLISH (RFC 3903).
    Publish,
    /// Any other well-formed method token, spelled as received (methods are case-sensitive).
    Extension(String),
}

impl Method {
    /// Parses a method token. Method names are case-sensitive (RFC 3261 §7.1): `invite` is an
    /// extension method, not INVITE.
    pub fn parse(token: &str) -> Result<Method, ParseError> {
        if !is_token(token) {
            return Err(ParseError::Method(super::error::excerpt(token)));
        }
        Ok(match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "OPTIONS" => Method::Options,
            "REGISTER" => Method::Register,
            "INFO" => Method::Info,
            "PRACK" => Method::Prack,
            "UPDATE" => Method::Update,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other => Method::Extension(other.to_owned()),
        })
    }

    /// The method as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Options => "OPTIONS",
            Method::Register => "REGISTER",
            Method::Info => "INFO",
            Method::Prack => "PRACK",
            Method::Update => "UPDATE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Extension(name) => name,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// True for the characters of RFC 3261 `token`.
pub(crate) fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-.!%*_+`'~".contains(c)
}

/// True when `s` is a non-empty RFC 3261 `token`.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_token_char)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_methods_round_trip() {
        for name in [
            "INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "INFO", "PRACK",
        ] {
            let m = Method::parse(name).unwrap();
            assert!(!matches!(m, Method::Extension(_)), "{name}");
            assert_eq!(m.to_string(), name);
        }
    }

    #[test]
    fn extension_methods_are_kept_case_sensitive() {
        assert_eq!(
            Method::parse("NEWMETHOD").unwrap(),
            Method::Extension("NEWMETHOD".into())
        );
        assert_eq!(
            Method::parse("invite").unwrap(),
            Method::Extension("invite".into())
        );
        assert_eq!(
            Method::parse("!interesting-Method0123456789_*+`.%indeed'~")
                .unwrap()
                .to_string(),
            "!interesting-Method0123456789_*+`.%indeed'~"
        );
    }

    #[test]
    fn non_tokens_are_rejected() {
        assert!(Method::parse("").is_err());
        assert!(Method::parse("IN VITE").is_err());
        assert!(Method::parse("<INVITE>").is_err());
    }
}
