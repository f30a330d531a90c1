//! The TOML shape of `voxpin.toml` (unknown keys refused) and its resolution
//! into [`Config`]. Resolution errors are `(dotted key, reason)`.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;
use serde::Deserialize;
use voxpin_api::ApiKey;

use super::{
    parse_duration, ApiConfig, BodyFormat, Codec, Config, DtmfMode, Environment, HttpClientConfig,
    HttpMethod, LimitsConfig, LogFormat, LoggingConfig, RecordsConfig, RetryPolicy, RtpConfig,
    Secret, SipConfig, SmsConfig, SmsDriverConfig, SmsHttpConfig, StoreBackend, Transport, Trunk,
    TrunkAuth, WebhookConfig,
};

/// `(dotted key, reason)`.
pub(super) type Fault = (String, String);

fn fault(key: impl Into<String>, reason: impl Into<String>) -> Fault {
    (key.into(), reason.into())
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    sip: RawSip,
    #[serde(default)]
    rtp: RawRtp,
    #[serde(default)]
    api: RawApi,
    #[serde(default)]
    store: RawStore,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    sms: RawSms,
    #[serde(default)]
    webhooks: RawWebhooks,
    #[serde(default)]
    http: RawHttp,
    #[serde(default)]
    records: RawRecords,
    #[serde(default)]
    logging: RawLogging,
    #[serde(default)]
    dialplans: RawDir,
    #[serde(default)]
    prompts: RawPrompts,
    #[serde(default)]
    trunks: BTreeMap<String, RawTrunk>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSip {
    listen_udp: Option<String>,
    listen_tcp: Option<String>,
    advertised_address: Option<String>,
    t1: Option<String>,
    t2: Option<String>,
    t4: Option<String>,
    user_agent: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRtp {
    address: Option<String>,
    advertised_address: Option<String>,
    port_min: Option<u16>,
    port_max: Option<u16>,
    pacing_phases: Option<u32>,
    realtime_priority: Option<u8>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    listen: Option<String>,
    #[serde(default)]
    keys: Vec<String>,
    keys_file: Option<PathBuf>,
    keys_env: Option<String>,
    max_body_bytes: Option<usize>,
    rate_limit_per_minute: Option<u32>,
}

impl std::fmt::Debug for RawApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawApi")
            .field("listen", &self.listen)
            .field("keys", &format_args!("<{} redacted>", self.keys.len()))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    backend: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_concurrent_calls: Option<u32>,
    drain_deadline: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSms {
    driver: Option<String>,
    from: Option<String>,
    text: Option<String>,
    url: Option<String>,
    method: Option<String>,
    body_format: Option<String>,
    body: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    retries: Option<u32>,
    retry_delay: Option<String>,
    timeout: Option<String>,
}

impl std::fmt::Debug for RawSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawSms")
            .field("driver", &self.driver)
            .finish_non_exhaustive()
    }
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhooks {
    secret: Option<String>,
    secret_env: Option<String>,
    retries: Option<u32>,
    retry_delay: Option<String>,
    timeout: Option<String>,
}

impl std::fmt::Debug for RawWebhooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawWebhooks")
            .field("secret_env", &self.secret_env)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    ca_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRecords {
    path: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLogging {
    format: Option<String>,
    level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDir {
    dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrompts {
    dir: Option<PathBuf>,
    default_language: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrunk {
    host: Option<String>,
    port: Option<u16>,
    transport: Option<String>,
    username: Option<String>,
    password: Option<String>,
    password_env: Option<String>,
    realm: Option<String>,
    from_user: Option<String>,
    from_domain: Option<String>,
    register: Option<bool>,
    codecs: Option<Vec<String>>,
    dtmf: Option<String>,
    inbound_acl: Option<Vec<String>>,
    ring_timeout: Option<String>,
    retry: Option<RawRetry>,
}

impl std::fmt::Debug for RawTrunk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawTrunk")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetry {
    attempts: Option<u32>,
    delay: Option<String>,
    on: Option<Vec<String>>,
}

/// Resolves every section.
pub(super) fn resolve(raw: RawConfig, env: &dyn Environment) -> Result<Config, Fault> {
    let sip = resolve_sip(raw.sip)?;
    let rtp = resolve_rtp(raw.rtp)?;
    let api = resolve_api(raw.api, env)?;
    let store = match raw.store.backend.as_deref().unwrap_or("memory") {
        "memory" => StoreBackend::Memory,
        other => {
            return Err(fault(
                "store.backend",
                format!("unknown backend `{other}` (expected `memory`)"),
            ))
        }
    };
    let limits = LimitsConfig {
        max_concurrent_calls: match raw.limits.max_concurrent_calls.unwrap_or(100) {
            0 => return Err(fault("limits.max_concurrent_calls", "must be at least 1")),
            n => n,
        },
        drain_deadline: duration(
            "limits.drain_deadline",
            raw.limits.drain_deadline.as_deref(),
            "30s",
        )?,
    };
    let sms = resolve_sms(raw.sms)?;
    let webhooks = resolve_webhooks(raw.webhooks, env)?;
    let http = resolve_http(raw.http, env)?;
    let logging = LoggingConfig {
        format: match raw.logging.format.as_deref().unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(fault(
                    "logging.format",
                    format!("unknown format `{other}` (expected `text` or `json`)"),
                ))
            }
        },
        level: non_empty("logging.level", raw.logging.level, "info")?,
    };
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&logging.level) {
        return Err(fault(
            "logging.level",
            format!("not a log filter directive: {e}"),
        ));
    }
    let mut trunks = BTreeMap::new();
    for (name, trunk) in raw.trunks {
        let resolved = resolve_trunk(&name, trunk, env)?;
        trunks.insert(name, resolved);
    }
    Ok(Config {
        file: PathBuf::new(),
        sip,
        rtp,
        api,
        store,
        limits,
        sms,
        webhooks,
        http,
        records: RecordsConfig {
            path: raw
                .records
                .path
                .unwrap_or_else(|| PathBuf::from("var/calls.jsonl")),
        },
        logging,
        dialplans_dir: raw.dialplans.dir.unwrap_or_else(|| "dialplans".into()),
        prompts_dir: raw.prompts.dir.unwrap_or_else(|| "prompts".into()),
        default_language: non_empty(
            "prompts.default_language",
            raw.prompts.default_language,
            "en",
        )?,
        trunks,
    })
}

fn resolve_sip(raw: RawSip) -> Result<SipConfig, Fault> {
    let listen_udp = listen("sip.listen_udp", raw.listen_udp.as_deref())?;
    let listen_tcp = listen("sip.listen_tcp", raw.listen_tcp.as_deref())?;
    let Some(first) = listen_udp.or(listen_tcp) else {
        return Err(fault(
            "sip.listen_udp",
            "both listen_udp and listen_tcp are off; at least one is needed",
        ));
    };
    let advertised_address = match raw.advertised_address {
        Some(text) => ip("sip.advertised_address", &text)?,
        None if first.ip().is_unspecified() => {
            return Err(fault(
                "sip.advertised_address",
                "required when listening on a wildcard address (0.0.0.0 or ::)",
            ))
        }
        None => first.ip(),
    };
    let t1 = duration("sip.t1", raw.t1.as_deref(), "500ms")?;
    let t2 = duration("sip.t2", raw.t2.as_deref(), "4s")?;
    let t4 = duration("sip.t4", raw.t4.as_deref(), "5s")?;
    if t1.is_zero() || t1 > t2 {
        return Err(fault("sip.t1", "must be above zero and not above t2"));
    }
    Ok(SipConfig {
        listen_udp,
        listen_tcp,
        advertised_address,
        t1,
        t2,
        t4,
        user_agent: non_empty("sip.user_agent", raw.user_agent, "voxpin")?,
    })
}

fn listen(key: &str, text: Option<&str>) -> Result<Option<SocketAddr>, Fault> {
    match text.unwrap_or("127.0.0.1:5060") {
        "off" => Ok(None),
        text => text.parse().map(Some).map_err(|_| {
            fault(
                key,
                format!("`{text}` is not an address:port (e.g. 127.0.0.1:5060) or `off`"),
            )
        }),
    }
}

fn ip(key: &str, text: &str) -> Result<IpAddr, Fault> {
    text.parse()
        .map_err(|_| fault(key, format!("`{text}` is not an IP address")))
}

fn duration(key: &str, text: Option<&str>, default: &str) -> Result<Duration, Fault> {
    parse_duration(text.unwrap_or(default)).map_err(|reason| fault(key, reason))
}

fn non_empty(key: &str, text: Option<String>, default: &str) -> Result<String, Fault> {
    match text {
        None => Ok(default.to_owned()),
        Some(t) if t.trim().is_empty() => Err(fault(key, "must not be empty")),
        Some(t) => Ok(t),
    }
}

fn resolve_rtp(raw: RawRtp) -> Result<RtpConfig, Fault> {
    let address = ip("rtp.address", raw.address.as_deref().unwrap_or("127.0.0.1"))?;
    let advertised_address = match raw.advertised_address {
        Some(text) => ip("rtp.advertised_address", &text)?,
        None if address.is_unspecified() => {
            return Err(fault(
                "rtp.advertised_address",
                "required when rtp.address is a wildcard address",
            ))
        }
        None => address,
    };
    let port_min = raw.port_min.unwrap_or(20000);
    let port_max = raw.port_max.unwrap_or(29999);
    if port_min < 1024 || port_min % 2 != 0 {
        return Err(fault(
            "rtp.port_min",
            "must be an even port of 1024 or above",
        ));
    }
    if port_max <= port_min {
        return Err(fault("rtp.port_max", "must be above rtp.port_min"));
    }
    let pacing_phases = raw
        .pacing_phases
        .unwrap_or(voxpin_engine::DEFAULT_PACER_PHASES);
    if !(1..=400).contains(&pacing_phases) {
        return Err(fault(
            "rtp.pacing_phases",
            "must be from 1 (one 20 ms tick) to 400 (50 µs ticks)",
        ));
    }
    let realtime_priority = raw.realtime_priority.unwrap_or(0);
    if realtime_priority > 99 {
        return Err(fault(
            "rtp.realtime_priority",
            "must be 0 (normal priority) or a SCHED_FIFO priority from 1 to 99",
        ));
    }
    Ok(RtpConfig {
        address,
        advertised_address,
        port_min,
        port_max,
        pacing_phases,
        realtime_priority,
    })
}

fn resolve_api(raw: RawApi, env: &dyn Environment) -> Result<ApiConfig, Fault> {
    let listen_text = raw.listen.as_deref().unwrap_or("127.0.0.1:8080");
    let listen = listen_text.parse().map_err(|_| {
        fault(
            "api.listen",
            format!("`{listen_text}` is not an address:port"),
        )
    })?;
    let mut texts: Vec<(String, String)> = raw
        .keys
        .into_iter()
        .enumerate()
        .map(|(i, k)| (format!("api.keys[{i}]"), k))
        .collect();
    if let Some(path) = raw.keys_file {
        let text = env.read_file(&path).map_err(|e| {
            fault(
                "api.keys_file",
                format!("cannot read `{}`: {e}", path.display()),
            )
        })?;
        texts.extend(key_lines(&text).map(|k| ("api.keys_file".to_owned(), k)));
    }
    if let Some(name) = raw.keys_env {
        let value = env.var(&name).ok_or_else(|| {
            fault(
                "api.keys_env",
                format!("environment variable `{name}` is not set"),
            )
        })?;
        texts.extend(
            value
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .map(|k| ("api.keys_env".to_owned(), k.to_owned())),
        );
    }
    let mut keys = Vec::with_capacity(texts.len());
    for (key, text) in texts {
        let api_key = ApiKey::new(text).map_err(|e| fault(key, format!("{e}")))?;
        keys.push(api_key);
    }
    let max_body_bytes = raw.max_body_bytes.unwrap_or(16 * 1024);
    if max_body_bytes < 256 {
        return Err(fault("api.max_body_bytes", "must be at least 256"));
    }
    let rate_limit_per_minute = NonZeroU32::new(raw.rate_limit_per_minute.unwrap_or(600))
        .ok_or_else(|| fault("api.rate_limit_per_minute", "must be at least 1"))?;
    Ok(ApiConfig {
        listen,
        keys,
        max_body_bytes,
        rate_limit_per_minute,
    })
}

/// Key file lines: one key a line, `#` comments and blank lines skipped.
fn key_lines(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
}

fn resolve_sms(raw: RawSms) -> Result<SmsConfig, Fault> {
    let from = non_empty("sms.from", raw.from, "voxpin")?;
    let text = non_empty("sms.text", raw.text, "Your code is {code}")?;
    let driver = match raw.driver.as_deref().unwrap_or("log") {
        "log" => {
            if raw.url.is_some() {
                return Err(fault("sms.url", "only used by driver = \"http\""));
            }
            SmsDriverConfig::Log
        }
        "http" => {
            let url = raw
                .url
                .ok_or_else(|| fault("sms.url", "required by driver = \"http\""))?;
            if !url.starts_with("http://") && !url.starts_with("https://") {
                return Err(fault("sms.url", "must start with http:// or https://"));
            }
            let method = match raw.method.as_deref().unwrap_or("POST") {
                "GET" | "get" => HttpMethod::Get,
                "POST" | "post" => HttpMethod::Post,
                other => {
                    return Err(fault(
                        "sms.method",
                        format!("unknown method `{other}` (expected GET or POST)"),
                    ))
                }
            };
            let body_format = match raw.body_format.as_deref().unwrap_or("form") {
                "form" => BodyFormat::Form,
                "json" => BodyFormat::Json,
                other => {
                    return Err(fault(
                        "sms.body_format",
                        format!("unknown format `{other}` (expected `form` or `json`)"),
                    ))
                }
            };
            if method == HttpMethod::Get && raw.body.is_some() {
                return Err(fault(
                    "sms.body",
                    "a GET request has no body; put the placeholders in sms.url",
                ));
            }
            SmsDriverConfig::Http(SmsHttpConfig {
                url,
                method,
                body_format,
                body: raw.body,
                headers: raw
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k, Secret::new(v)))
                    .collect(),
                retries: raw.retries.unwrap_or(3),
                retry_delay: duration("sms.retry_delay", raw.retry_delay.as_deref(), "1s")?,
                timeout: duration("sms.timeout", raw.timeout.as_deref(), "5s")?,
            })
        }
        other => {
            return Err(fault(
                "sms.driver",
                format!("unknown driver `{other}` (expected `log` or `http`)"),
            ))
        }
    };
    Ok(SmsConfig { from, text, driver })
}

fn resolve_webhooks(raw: RawWebhooks, env: &dyn Environment) -> Result<WebhookConfig, Fault> {
    let secret = match (raw.secret, raw.secret_env) {
        (Some(_), Some(_)) => {
            return Err(fault(
                "webhooks.secret_env",
                "give secret or secret_env, not both",
            ))
        }
        (Some(s), None) => Some(("webhooks.secret", s)),
        (None, Some(name)) => Some((
            "webhooks.secret_env",
            env.var(&name).ok_or_else(|| {
                fault(
                    "webhooks.secret_env",
                    format!("environment variable `{name}` is not set"),
                )
            })?,
        )),
        (None, None) => None,
    };
    let secret = match secret {
        Some((key, s)) => {
            crate::webhook::decode_secret(&s).map_err(|reason| fault(key, reason))?;
            Some(Secret::new(s))
        }
        None => None,
    };
    Ok(WebhookConfig {
        secret,
        retries: raw.retries.unwrap_or(5),
        retry_delay: duration("webhooks.retry_delay", raw.retry_delay.as_deref(), "1s")?,
        timeout: duration("webhooks.timeout", raw.timeout.as_deref(), "5s")?,
    })
}

/// `[http] ca_file`: read and parsed now, so a missing or broken bundle
/// stops startup (and `voxpin check`) rather than the first https request.
fn resolve_http(raw: RawHttp, env: &dyn Environment) -> Result<HttpClientConfig, Fault> {
    let Some(path) = raw.ca_file else {
        return Ok(HttpClientConfig::default());
    };
    let extra_roots = crate::http_client::ca_file_roots(&path, env.read_file(&path))
        .map_err(|reason| fault("http.ca_file", reason))?;
    Ok(HttpClientConfig {
        ca_file: Some(path),
        extra_roots,
    })
}

fn resolve_trunk(name: &str, raw: RawTrunk, env: &dyn Environment) -> Result<Trunk, Fault> {
    let key = |leaf: &str| format!("trunks.{name}.{leaf}");
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(fault(
            format!("trunks.{name}"),
            "a trunk name uses only letters, digits, `-` and `_`",
        ));
    }
    let host = raw
        .host
        .filter(|h| !h.trim().is_empty())
        .ok_or_else(|| fault(key("host"), "required"))?;
    let port = match raw.port.unwrap_or(5060) {
        0 => return Err(fault(key("port"), "must be 1-65535")),
        p => p,
    };
    let transport = match raw.transport.as_deref().unwrap_or("udp") {
        "udp" => Transport::Udp,
        "tcp" => Transport::Tcp,
        other => {
            return Err(fault(
                key("transport"),
                format!("unknown transport `{other}` (expected `udp` or `tcp`)"),
            ))
        }
    };
    let password = match (raw.password, raw.password_env) {
        (Some(_), Some(_)) => {
            return Err(fault(
                key("password_env"),
                "give password or password_env, not both",
            ))
        }
        (Some(p), None) => Some(Secret::new(p)),
        (None, Some(var)) => Some(Secret::new(env.var(&var).ok_or_else(|| {
            fault(
                key("password_env"),
                format!("environment variable `{var}` is not set"),
            )
        })?)),
        (None, None) => None,
    };
    let auth = match (raw.username, password) {
        (Some(username), Some(password)) => Some(TrunkAuth {
            username,
            password,
            realm: raw.realm,
        }),
        (None, Some(_)) => return Err(fault(key("username"), "required when a password is given")),
        (Some(_), None) => {
            return Err(fault(
                key("password"),
                "required when a username is given (or password_env)",
            ))
        }
        (None, None) => {
            if raw.realm.is_some() {
                return Err(fault(key("realm"), "only used with username and password"));
            }
            None
        }
    };
    let register = raw.register.unwrap_or(false);
    if register && auth.is_none() {
        return Err(fault(
            key("register"),
            "registration needs username and password",
        ));
    }
    let codecs = resolve_codecs(&key("codecs"), raw.codecs)?;
    let dtmf = match raw.dtmf.as_deref().unwrap_or("rfc4733") {
        "rfc4733" => DtmfMode::Rfc4733,
        "inband" => DtmfMode::Inband,
        "info" => DtmfMode::Info,
        "auto" => DtmfMode::Auto,
        other => {
            return Err(fault(
                key("dtmf"),
                format!("unknown mode `{other}` (expected rfc4733, inband, info or auto)"),
            ))
        }
    };
    let inbound_acl = match raw.inbound_acl {
        Some(list) => list
            .iter()
            .map(|c| parse_cidr(c).map_err(|r| fault(key("inbound_acl"), r)))
            .collect::<Result<Vec<_>, _>>()?,
        None => host
            .parse::<IpAddr>()
            .map(|ip| vec![IpNet::from(ip)])
            .unwrap_or_default(),
    };
    let ring_timeout = duration(&key("ring_timeout"), raw.ring_timeout.as_deref(), "30s")?;
    if ring_timeout < Duration::from_secs(1) || ring_timeout > Duration::from_secs(300) {
        return Err(fault(key("ring_timeout"), "must be between 1s and 300s"));
    }
    let retry = resolve_retry(name, raw.retry)?;
    Ok(Trunk {
        name: name.to_owned(),
        from_domain: raw.from_domain.unwrap_or_else(|| host.clone()),
        host,
        port,
        transport,
        auth,
        from_user: raw.from_user,
        register,
        codecs,
        dtmf,
        inbound_acl,
        ring_timeout,
        retry,
    })
}

fn resolve_codecs(key: &str, raw: Option<Vec<String>>) -> Result<Vec<Codec>, Fault> {
    let names = raw.unwrap_or_else(|| vec!["pcmu".into(), "pcma".into()]);
    if names.is_empty() {
        return Err(fault(key, "at least one codec is needed (pcmu, pcma)"));
    }
    let mut codecs = Vec::with_capacity(names.len());
    for name in names {
        let codec = match name.to_ascii_lowercase().as_str() {
            "pcmu" | "ulaw" => Codec::Pcmu,
            "pcma" | "alaw" => Codec::Pcma,
            _ => {
                return Err(fault(
                    key,
                    format!("unknown codec `{name}` (expected pcmu or pcma)"),
                ))
            }
        };
        if codecs.contains(&codec) {
            return Err(fault(key, format!("codec `{name}` is listed twice")));
        }
        codecs.push(codec);
    }
    Ok(codecs)
}

/// `10.0.0.0/8`, or a bare address meaning that one host.
fn parse_cidr(text: &str) -> Result<IpNet, String> {
    text.parse::<IpNet>()
        .map(|n| n.trunc())
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{text}` is not a CIDR (e.g. 192.0.2.0/24) or an address"))
}

fn resolve_retry(name: &str, raw: Option<RawRetry>) -> Result<RetryPolicy, Fault> {
    let key = |leaf: &str| format!("trunks.{name}.retry.{leaf}");
    let raw = raw.unwrap_or(RawRetry {
        attempts: None,
        delay: None,
        on: None,
    });
    let mut policy = RetryPolicy {
        attempts: raw.attempts.unwrap_or(0),
        delay: duration(&key("delay"), raw.delay.as_deref(), "60s")?,
        on_busy: false,
        on_no_answer: false,
    };
    if policy.attempts > 5 {
        return Err(fault(key("attempts"), "at most 5 retries"));
    }
    for reason in raw
        .on
        .unwrap_or_else(|| vec!["busy".into(), "no_answer".into()])
    {
        match reason.as_str() {
            "busy" => policy.on_busy = true,
            "no_answer" => policy.on_no_answer = true,
            other => {
                return Err(fault(
                    key("on"),
                    format!("unknown reason `{other}` (expected busy or no_answer)"),
                ))
            }
        }
    }
    Ok(policy)
}
