//! Carrier trunks as the engine sees them: where to send INVITEs, how to
//! authenticate, which DTMF method the carrier uses, and which sources may
//! call us (the inbound ACL).
//!
//! The engine is sans-IO: the binary resolves host names before it builds a
//! [`Trunk`], so a trunk here carries a socket address, never a name to look up.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
use voxpin_sip::sdp::Codec;
use voxpin_sip::Transport;

/// The name of a trunk as written in the config (`[trunks.NAME]`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrunkName(pub String);

impl std::fmt::Display for TrunkName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a trunk carries the digits people press.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DtmfMode {
    /// RFC 4733 telephone-events in the RTP stream.
    Rfc4733,
    /// Tones in the audio, found by the in-band detector.
    Inband,
    /// SIP INFO requests (`application/dtmf-relay` or `application/dtmf`).
    Info,
    /// RFC 4733 when the far end negotiated telephone-event, in-band otherwise;
    /// SIP INFO digits are always accepted.
    #[default]
    Auto,
}

/// Digest credentials for a trunk (the password never appears in `Debug`).
#[derive(Clone, PartialEq, Eq)]
pub struct TrunkAuth {
    /// Digest user name.
    pub username: String,
    /// Digest password.
    pub password: String,
    /// Realm to answer; `None` answers any realm the carrier names.
    pub realm: Option<String>,
}

impl std::fmt::Debug for TrunkAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrunkAuth")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("realm", &self.realm)
            .finish()
    }
}

/// Whether and how unanswered outbound calls are tried again (off by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetryPolicy {
    /// Extra attempts after the first call (0: off).
    pub attempts: u32,
    /// The wait between the end of one attempt and the next.
    pub delay: Duration,
    /// Retry after busy (486, 600).
    pub on_busy: bool,
    /// Retry after no answer (ring timeout, 408, 480).
    pub on_no_answer: bool,
}

/// One carrier trunk.
#[derive(Debug, Clone)]
pub struct Trunk {
    /// The trunk's name, used by dialplans (`trunk = "NAME"`) and in records.
    pub name: TrunkName,
    /// The host as configured: the domain of the Request-URI and, unless
    /// `from_domain` is set, of the From header.
    pub host: String,
    /// Where INVITEs go (the resolved `host:port`).
    pub destination: SocketAddr,
    /// UDP or TCP.
    pub transport: Transport,
    /// Digest credentials for 401/407 challenges.
    pub auth: Option<TrunkAuth>,
    /// User part of From when the application has no number (Asterisk `from_user`).
    pub from_user: Option<String>,
    /// Domain of From (Asterisk `from_domain`); defaults to `host`.
    pub from_domain: Option<String>,
    /// Codecs offered, in order of preference.
    pub codecs: Vec<Codec>,
    /// How digits arrive.
    pub dtmf: DtmfMode,
    /// Networks allowed to send us requests over this trunk.
    pub inbound_acl: Vec<IpNet>,
    /// How long an outbound call may ring before we CANCEL it.
    pub ring_timeout: Duration,
    /// Retrying busy or unanswered calls.
    pub retry: RetryPolicy,
}

impl Trunk {
    /// Whether `source` is inside this trunk's inbound ACL.
    pub fn admits(&self, source: IpAddr) -> bool {
        self.inbound_acl.iter().any(|net| net.contains(&source))
    }

    /// The domain to put in From.
    pub fn from_domain(&self) -> &str {
        self.from_domain.as_deref().unwrap_or(&self.host)
    }
}

/// Every configured trunk, looked up by name or by inbound source.
#[derive(Debug, Clone, Default)]
pub struct Trunks {
    trunks: Vec<Trunk>,
}

impl Trunks {
    /// A set of trunks (order matters only when ACLs overlap: the first wins).
    pub fn new(trunks: Vec<Trunk>) -> Self {
        Self { trunks }
    }

    /// The trunk called `name`.
    pub fn by_name(&self, name: &str) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.name.0 == name)
    }

    /// The first trunk whose inbound ACL admits `source`; `None` means the
    /// request must be dropped without any response.
    pub fn admitting(&self, source: IpAddr) -> Option<&Trunk> {
        self.trunks.iter().find(|t| t.admits(canonical(source)))
    }

    /// All trunks.
    pub fn iter(&self) -> impl Iterator<Item = &Trunk> {
        self.trunks.iter()
    }

    /// Whether no trunk is configured.
    pub fn is_empty(&self) -> bool {
        self.trunks.is_empty()
    }
}

/// IPv4-mapped IPv6 sources (`::ffff:a.b.c.d`, as dual-stack sockets report
/// them) are matched as the IPv4 address they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn trunk(name: &str, acl: &[&str]) -> Trunk {
        Trunk {
            name: TrunkName(name.into()),
            host: "carrier.example".into(),
            destination: "127.0.0.1:5060".parse().expect("literal"),
            transport: Transport::Udp,
            auth: Some(TrunkAuth {
                username: "u".into(),
                password: "hunter2".into(),
                realm: None,
            }),
            from_user: None,
            from_domain: None,
            codecs: vec![Codec::Pcmu],
            dtmf: DtmfMode::Auto,
            inbound_acl: acl.iter().map(|s| s.parse().expect("literal")).collect(),
            ring_timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
        }
    }

    #[test]
    fn acl_admits_only_listed_networks() {
        let trunks = Trunks::new(vec![
            trunk("a", &["10.0.0.0/8"]),
            trunk("b", &["192.0.2.7/32", "2001:db8::/32"]),
        ]);
        let who = |s: &str| {
            trunks
                .admitting(s.parse().expect("literal"))
                .map(|t| t.name.0.clone())
        };
        assert_eq!(who("10.1.2.3").as_deref(), Some("a"));
        assert_eq!(who("192.0.2.7").as_deref(), Some("b"));
        assert_eq!(who("::ffff:192.0.2.7").as_deref(), Some("b"));
        assert_eq!(who("2001:db8::1").as_deref(), Some("b"));
        assert_eq!(who("192.0.2.8"), None);
        assert_eq!(who("127.0.0.1"), None);
    }

    #[test]
    fn password_is_redacted_in_debug() {
        let t = trunk("a", &[]);
        let shown = format!("{t:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn from_domain_defaults_to_host() {
        let mut t = trunk("a", &[]);
        assert_eq!(t.from_domain(), "carrier.example");
        t.from_domain = Some("voxpin.example".into());
        assert_eq!(t.from_domain(), "voxpin.example");
    }
}
