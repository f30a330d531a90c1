//! The engine configuration, `config/voxpin.toml`.
//!
//! Parse, don't validate: the TOML text is deserialized into raw serde structs
//! that refuse unknown keys, then [`Config::parse`] resolves them into typed
//! values (socket addresses, durations, CIDRs, secrets read from their files or
//! environment variables). Every error names the file, the key, the line where
//! it can be found and the reason.
//!
//! ```
//! use voxpin::config::{Config, MapEnvironment};
//! let text = "[api]\nkeys = [\"an-example-key-0001\"]\n";
//! let config = Config::parse("voxpin.toml", text, &MapEnvironment::default()).unwrap();
//! assert_eq!(config.api.listen.port(), 8080);
//! ```
//!
//! Relative paths (`dialplans.dir`, `records.path`, `api.keys_file`,
//! `http.ca_file`, ...) are taken relative to the working directory voxpin
//! starts in.

mod raw;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnet::IpNet;
use voxpin_api::ApiKey;
use zeroize::Zeroizing;

use raw::RawConfig;

/// The whole resolved configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The file this configuration was read from (for messages).
    pub file: PathBuf,
    /// `[sip]`: where the SIP endpoint listens and its timers.
    pub sip: SipConfig,
    /// `[rtp]`: the media address and port range.
    pub rtp: RtpConfig,
    /// `[api]`: the HTTP API listener and its keys.
    pub api: ApiConfig,
    /// `[store]`: where OTPs are kept.
    pub store: StoreBackend,
    /// `[limits]`: call limits and the shutdown drain deadline.
    pub limits: LimitsConfig,
    /// `[sms]`: the driver for SMS after a call.
    pub sms: SmsConfig,
    /// `[webhooks]`: signing and retries of status callbacks.
    pub webhooks: WebhookConfig,
    /// `[http]`: the outbound HTTP client (SMS gateway, status callbacks).
    pub http: HttpClientConfig,
    /// `[records]`: the JSON-lines call record file.
    pub records: RecordsConfig,
    /// `[logging]`: log format and level.
    pub logging: LoggingConfig,
    /// `[dialplans] dir`: one TOML file per OTP application.
    pub dialplans_dir: PathBuf,
    /// `[prompts] dir`: `<dir>/<language>/<prompt>.wav`.
    pub prompts_dir: PathBuf,
    /// `[prompts] default_language`: the language used when a request names none.
    pub default_language: String,
    /// `[trunks.NAME]`: carrier SIP trunks, by name.
    pub trunks: BTreeMap<String, Trunk>,
}

/// `[sip]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SipConfig {
    /// UDP listen address (`"off"` disables it).
    pub listen_udp: Option<SocketAddr>,
    /// TCP listen address (`"off"` disables it).
    pub listen_tcp: Option<SocketAddr>,
    /// The address put in Via, Contact and SDP origin.
    pub advertised_address: IpAddr,
    /// RFC 3261 T1 (round-trip estimate), default 500 ms.
    pub t1: Duration,
    /// RFC 3261 T2 (maximum retransmit interval), default 4 s.
    pub t2: Duration,
    /// RFC 3261 T4 (maximum time a message stays in the network), default 5 s.
    pub t4: Duration,
    /// The `User-Agent` / `Server` header value.
    pub user_agent: String,
}

/// `[rtp]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RtpConfig {
    /// The local address RTP sockets bind to.
    pub address: IpAddr,
    /// The address written into SDP (`c=`); defaults to `address`.
    pub advertised_address: IpAddr,
    /// First port of the range (even).
    pub port_min: u16,
    /// Last port of the range (inclusive).
    pub port_max: u16,
    /// Send slots per 20 ms frame: the media loop wakes every
    /// `20 ms / pacing_phases` and sends the packets due in that slot.
    pub pacing_phases: u32,
    /// SCHED_FIFO priority (1–99) for the engine thread, which paces every
    /// call's RTP; 0 leaves it at normal priority.
    pub realtime_priority: u8,
}

/// `[api]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiConfig {
    /// The HTTP listen address.
    pub listen: SocketAddr,
    /// Every accepted key, from `keys`, `keys_file` and `keys_env` together.
    /// `Debug` shows only fingerprints.
    pub keys: Vec<ApiKey>,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Requests per minute allowed per key (a burst of this size, refilled evenly).
    pub rate_limit_per_minute: NonZeroU32,
}

/// `[store] backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreBackend {
    /// The in-process store (state is lost on restart).
    Memory,
}

/// `[limits]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LimitsConfig {
    /// Calls (both directions) at once; over it inbound calls get 503 and
    /// outbound ones wait in the queue.
    pub max_concurrent_calls: u32,
    /// On SIGTERM live calls may finish for at most this long.
    pub drain_deadline: Duration,
}

/// `[sms]`.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SmsConfig {
    /// The sender id (`{from}`).
    pub from: String,
    /// The message text template (`{text}`); may use `{code}`, `{to}`, `{from}`.
    pub text: String,
    /// How the message leaves.
    pub driver: SmsDriverConfig,
}

/// `[sms] driver` and its settings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SmsDriverConfig {
    /// Log the message that would be sent, code masked.
    Log,
    /// Send through an HTTP gateway (Kannel `sendsms` or a JSON API).
    Http(SmsHttpConfig),
}

/// `[sms]` keys used by the `http` driver.
#[derive(Clone)]
#[non_exhaustive]
pub struct SmsHttpConfig {
    /// URL template; placeholders are percent-encoded into it.
    pub url: String,
    /// `GET` or `POST`.
    pub method: HttpMethod,
    /// How `body` is encoded (and its placeholders escaped).
    pub body_format: BodyFormat,
    /// Body template (`POST` only); none sends an empty body.
    pub body: Option<String>,
    /// Extra request headers (for gateway credentials; values never shown).
    pub headers: Vec<(String, Secret)>,
    /// Retries after the first attempt.
    pub retries: u32,
    /// Delay before the first retry; doubles each time.
    pub retry_delay: Duration,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

impl fmt::Debug for SmsHttpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsHttpConfig")
            .field("url", &"<redacted>")
            .field("method", &self.method)
            .field("body_format", &self.body_format)
            .field(
                "headers",
                &self.headers.iter().map(|h| &h.0).collect::<Vec<_>>(),
            )
            .field("retries", &self.retries)
            .field("retry_delay", &self.retry_delay)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// An HTTP method the SMS driver may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// Placeholders in the URL only (Kannel `sendsms`).
    Get,
    /// URL and body templates.
    Post,
}

/// The encoding of an SMS body template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/x-www-form-urlencoded`; values are form-encoded.
    Form,
    /// `application/json`; values are JSON-string-escaped.
    Json,
}

/// `[webhooks]`: status callbacks.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// The Standard Webhooks signing secret (`whsec_…`); without one, status
    /// callbacks are not sent.
    pub secret: Option<Secret>,
    /// Retries after the first attempt.
    pub retries: u32,
    /// Delay before the first retry; doubles each time.
    pub retry_delay: Duration,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

/// `[http]`: what the outbound HTTP client (SMS gateway, status callbacks)
/// trusts for `https://`.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct HttpClientConfig {
    /// `ca_file`: a PEM bundle of CA certificates trusted in addition to the
    /// system store (for gateways and receivers behind a private CA).
    pub ca_file: Option<PathBuf>,
    /// The certificates read from `ca_file`, each parsed as a trust anchor.
    pub extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
}

/// `[records]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordsConfig {
    /// The JSON-lines file, one call per line (appended; parent made if missing).
    pub path: PathBuf,
}

/// `[logging]`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoggingConfig {
    /// Text for people, JSON for collectors.
    pub format: LogFormat,
    /// A `tracing` filter directive (`info`, `voxpin=debug,info`); `RUST_LOG` overrides.
    pub level: String,
}

/// `[logging] format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `[trunks.NAME]`: a carrier SIP trunk.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Trunk {
    /// The table name.
    pub name: String,
    /// The carrier's host name or address.
    pub host: String,
    /// The carrier's port.
    pub port: u16,
    /// The transport toward the carrier.
    pub transport: Transport,
    /// Digest credentials, when the carrier challenges.
    pub auth: Option<TrunkAuth>,
    /// The user part of From (overridden by the application's caller ID when it has one).
    pub from_user: Option<String>,
    /// The host part of From; defaults to `host`.
    pub from_domain: String,
    /// Keep a registration with the carrier.
    pub register: bool,
    /// Offered codecs, in preference order.
    pub codecs: Vec<Codec>,
    /// How DTMF is received from this trunk.
    pub dtmf: DtmfMode,
    /// Sources allowed to send us requests on this trunk.
    pub inbound_acl: Vec<IpNet>,
    /// How long an outbound call may ring before CANCEL.
    pub ring_timeout: Duration,
    /// Retrying outbound calls that were busy or not answered.
    pub retry: RetryPolicy,
}

/// Digest credentials of a trunk.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TrunkAuth {
    /// The digest user name.
    pub username: String,
    /// The digest password (from `password` or `password_env`).
    pub password: Secret,
    /// The expected realm; none accepts the carrier's.
    pub realm: Option<String>,
}

/// A SIP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
}

/// A codec name from `codecs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// G.711 µ-law (payload type 0).
    Pcmu,
    /// G.711 A-law (payload type 8).
    Pcma,
}

/// `dtmf` of a trunk (the names of Asterisk's `dtmf_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtmfMode {
    /// RFC 4733 telephone-events.
    Rfc4733,
    /// Tones in the audio.
    Inband,
    /// SIP INFO.
    Info,
    /// RFC 4733 when negotiated, in-band otherwise.
    Auto,
}

/// `retry` of a trunk: off unless `attempts > 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Extra attempts after the first call (0 = off).
    pub attempts: u32,
    /// The wait between attempts.
    pub delay: Duration,
    /// Retry after a busy answer.
    pub on_busy: bool,
    /// Retry after the ring timeout.
    pub on_no_answer: bool,
}

/// A secret string (password, signing secret, header value): wiped on drop and
/// never shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: String) -> Self {
        Self(Zeroizing::new(value))
    }

    /// The value, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The file.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The text is not TOML, has an unknown key or a value of the wrong type.
    #[error("{file}:{line}: {key}{message}")]
    Syntax {
        /// The file.
        file: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// The dotted key on that line followed by `: ` (`rtp.port_min: `),
        /// or empty when the line sets no key.
        key: String,
        /// The parser's explanation (names the key).
        message: String,
    },
    /// A key has a value of the right type that is not acceptable.
    #[error("{file}:{line}: {key}: {reason}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line (0 when unknown).
        line: usize,
        /// The dotted key (`trunks.carrier.port`).
        key: String,
        /// What is wrong and what is expected.
        reason: String,
    },
}

impl ConfigError {
    /// The dotted key at fault, when the error is about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

/// Where `*_env` and `*_file` keys are looked up (real or, in tests, a map).
pub trait Environment {
    /// The environment variable `name`, if set.
    fn var(&self, name: &str) -> Option<String>;
    /// The contents of a file named by the configuration.
    fn read_file(&self, path: &Path) -> std::io::Result<String>;
}

/// The process environment and file system.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }

    fn read_file(&self, path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}

/// An environment made of maps, for tests and examples.
#[derive(Debug, Default, Clone)]
pub struct MapEnvironment {
    /// Environment variables.
    pub vars: BTreeMap<String, String>,
    /// Files by path.
    pub files: BTreeMap<PathBuf, String>,
}

impl Environment for MapEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        self.vars.get(name).cloned()
    }

    fn read_file(&self, path: &Path) -> std::io::Result<String> {
        self.files
            .get(path)
            .cloned()
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
}

impl Config {
    /// Reads and resolves the file at `path` against the process environment.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let label = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: label.clone(),
            source,
        })?;
        Self::parse(&label, &text, &ProcessEnvironment)
    }

    /// Parses and resolves `text`; `file` names it in errors.
    pub fn parse(file: &str, text: &str, env: &dyn Environment) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Syntax {
            file: file.to_owned(),
            line: e.span().map_or(0, |s| line_at(text, s.start)),
            key: e
                .span()
                .and_then(|s| key_at(text, s.start))
                .map_or_else(String::new, |k| format!("{k}: ")),
            message: e.message().to_owned(),
        })?;
        let mut config = raw::resolve(raw, env).map_err(|(key, reason)| ConfigError::Invalid {
            file: file.to_owned(),
            line: line_of_key(text, &key),
            key,
            reason,
        })?;
        config.file = PathBuf::from(file);
        Ok(config)
    }
}

/// The 1-based line holding byte `offset` of `text`.
fn line_at(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()
        .get(..end)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count() + 1)
}

/// The dotted key set on the line holding byte `offset` (`[rtp]` then
/// `port_min = "x"` gives `rtp.port_min`), when that line is `key = value`.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let start = text
        .get(..offset.min(text.len()))?
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let line = text.get(start..)?.lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim().replace([' ', '"'], "");
    if key.is_empty() || key.starts_with('[') || key.starts_with('#') {
        return None;
    }
    let table = text
        .get(..start)?
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|h| {
            h.trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .replace([' ', '"'], "")
        })
        .unwrap_or_default();
    Some(if table.is_empty() {
        key
    } else {
        format!("{table}.{key}")
    })
}

/// Best-effort 1-based line of a dotted key (`trunks.carrier.port`): the line
/// that sets it, else its table header, else 0.
fn line_of_key(text: &str, key: &str) -> usize {
    let (table, leaf) = match key.rsplit_once('.') {
        Some((t, l)) => (t, l),
        None => ("", key),
    };
    let mut current = String::new();
    let mut header_line = 0;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[') {
            current = name
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .replace([' ', '"'], "");
            if current == key {
                return n + 1;
            }
            if current == table {
                header_line = n + 1;
            }
            continue;
        }
        if current == table {
            if let Some(rest) = trimmed.strip_prefix(leaf) {
                if rest.trim_start().starts_with('=') {
                    return n + 1;
                }
            }
        }
    }
    header_line
}

/// Parses `500ms`, `30s`, `2m`, `24h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{text}` has no unit (use ms, s, m or h)"))?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` does not start with a whole number"))?;
    let secs = |mul: u64| {
        n.checked_mul(mul)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("`{text}` is too long"))
    };
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => secs(1),
        "m" => secs(60),
        "h" => secs(3600),
        _ => Err(format!(
            "`{text}` has unknown unit `{unit}` (use ms, s, m or h)"
        )),
    }
}

#[cfg(test)]
mod tests;
