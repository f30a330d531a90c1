//! voxpin's configuration file for a run on loopback: voxpin listens on
//! `127.0.0.1` (SIP over UDP, TCP off), and SIPp is its only trunk,
//! `carrier`, which may send from `127.0.0.1` only.
//!
//! The text keeps one `key = value` per line, in a fixed order, so a test can
//! still adjust one line with `str::replace` (`listen_tcp = "off"`,
//! `transport = "udp"`, `inbound_acl = ["127.0.0.1/32"]`).

use std::path::Path;

/// What a run chooses; [`VoxpinConfig::to_toml`] writes the file.
///
/// Durations are voxpin's duration strings (`"500ms"`, `"5s"`). The `*_extra`
/// fields are TOML lines added as they are (a missing final newline is
/// supplied), so a caller can set keys this type does not name.
#[derive(Debug, Clone)]
pub struct VoxpinConfig<'a> {
    /// voxpin's SIP port (`[sip] listen_udp`).
    pub sip_port: u16,
    /// First port of voxpin's RTP range (`[rtp] port_min`).
    pub rtp_port_min: u16,
    /// Last port of voxpin's RTP range, inclusive (`[rtp] port_max`).
    pub rtp_port_max: u16,
    /// More `[rtp]` lines, e.g. `realtime_priority = 10`.
    pub rtp_extra: &'a str,
    /// voxpin's HTTP API port (`[api] listen`).
    pub api_port: u16,
    /// The one API key accepted (`[api] keys`).
    pub api_key: &'a str,
    /// `[api] rate_limit_per_minute`; `None` leaves voxpin's default.
    pub rate_limit_per_minute: Option<u32>,
    /// `[limits] max_concurrent_calls`.
    pub max_concurrent_calls: u32,
    /// `[limits] drain_deadline`.
    pub drain_deadline: &'a str,
    /// `[logging] level`.
    pub log_level: &'a str,
    /// `[prompts] dir`, written as it displays (no quotes or backslashes in it).
    pub prompts_dir: &'a Path,
    /// SIPp's SIP port (`[trunks.carrier] port`).
    pub carrier_port: u16,
    /// `[trunks.carrier] dtmf`; `None` leaves voxpin's default.
    pub carrier_dtmf: Option<&'a str>,
    /// `[trunks.carrier] ring_timeout`.
    pub ring_timeout: &'a str,
    /// More `[trunks.carrier]` lines, e.g. digest credentials.
    pub trunk_extra: &'a str,
    /// Lines after the trunk: further tables such as `[sms]`.
    pub extra: &'a str,
}

impl VoxpinConfig<'_> {
    /// The configuration file's text. Records go to `records/calls.jsonl`
    /// and dialplans are read from `dialplans/`, both relative to the
    /// directory voxpin runs in; prompts are in English by default.
    pub fn to_toml(&self) -> String {
        let rate_limit = self
            .rate_limit_per_minute
            .map(|n| format!("rate_limit_per_minute = {n}\n"))
            .unwrap_or_default();
        let dtmf = self
            .carrier_dtmf
            .map(|mode| format!("dtmf = \"{mode}\"\n"))
            .unwrap_or_default();
        format!(
            r#"[sip]
listen_udp = "127.0.0.1:{sip}"
listen_tcp = "off"
advertised_address = "127.0.0.1"

[rtp]
address = "127.0.0.1"
port_min = {rtp_min}
port_max = {rtp_max}
{rtp_extra}
[api]
listen = "127.0.0.1:{api}"
keys = ["{key}"]
{rate_limit}
[limits]
max_concurrent_calls = {max_calls}
drain_deadline = "{drain}"

[records]
path = "records/calls.jsonl"

[logging]
level = "{level}"

[dialplans]
dir = "dialplans"

[prompts]
dir = "{prompts}"
default_language = "en"

[trunks.carrier]
host = "127.0.0.1"
port = {carrier}
transport = "udp"
codecs = ["pcmu"]
{dtmf}inbound_acl = ["127.0.0.1/32"]
ring_timeout = "{ring}"
{trunk_extra}{extra}"#,
            sip = self.sip_port,
            rtp_min = self.rtp_port_min,
            rtp_max = self.rtp_port_max,
            rtp_extra = lines(self.rtp_extra),
            api = self.api_port,
            key = self.api_key,
            max_calls = self.max_concurrent_calls,
            drain = self.drain_deadline,
            level = self.log_level,
            prompts = self.prompts_dir.display(),
            carrier = self.carrier_port,
            ring = self.ring_timeout,
            trunk_extra = lines(self.trunk_extra),
            extra = lines(self.extra),
        )
    }
}

/// `text` as whole lines: with a final newline unless it is empty.
fn lines(text: &str) -> String {
    if text.is_empty() || text.ends_with('\n') {
        text.to_owned()
    } else {
        format!("{text}\n")
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use voxpin::config::{Config, DtmfMode, MapEnvironment, SmsDriverConfig};
    use voxpin_api::ApiKey;

    use super::*;

    /// The benchmark's choices: limits out of the way, engine thread tuned.
    fn bench_like() -> VoxpinConfig<'static> {
        VoxpinConfig {
            sip_port: 35060,
            rtp_port_min: 40000,
            rtp_port_max: 59998,
            rtp_extra: "realtime_priority = 10\npacing_phases = 4\n",
            api_port: 35080,
            api_key: "bench-key-0123456789abcdef",
            rate_limit_per_minute: Some(1_000_000),
            max_concurrent_calls: 2000,
            drain_deadline: "2s",
            log_level: "warn",
            prompts_dir: Path::new("/srv/voxpin/prompts"),
            carrier_port: 35070,
            carrier_dtmf: Some("rfc4733"),
            ring_timeout: "10s",
            trunk_extra: "",
            extra: "",
        }
    }

    fn parse(text: &str) -> Config {
        Config::parse("voxpin.toml", text, &MapEnvironment::default())
            .unwrap_or_else(|e| panic!("voxpin refuses the generated config: {e}\n{text}"))
    }

    #[test]
    fn voxpin_loads_what_it_writes_with_every_key_in_place() {
        let config = parse(&bench_like().to_toml());
        assert_eq!(
            config.sip.listen_udp,
            Some("127.0.0.1:35060".parse().unwrap())
        );
        assert_eq!(config.sip.listen_tcp, None);
        assert_eq!((config.rtp.port_min, config.rtp.port_max), (40000, 59998));
        assert_eq!(config.rtp.realtime_priority, 10);
        assert_eq!(config.rtp.pacing_phases, 4);
        assert_eq!(config.api.listen, "127.0.0.1:35080".parse().unwrap());
        let key = ApiKey::new("bench-key-0123456789abcdef".into()).expect("a valid key");
        let ids: Vec<_> = config.api.keys.iter().map(ApiKey::id).collect();
        assert_eq!(ids, [key.id()]);
        assert_eq!(config.api.rate_limit_per_minute.get(), 1_000_000);
        assert_eq!(config.limits.max_concurrent_calls, 2000);
        assert_eq!(config.limits.drain_deadline, Duration::from_secs(2));
        assert_eq!(config.dialplans_dir, Path::new("dialplans"));
        assert_eq!(config.prompts_dir, Path::new("/srv/voxpin/prompts"));
        assert_eq!(config.default_language, "en");
        let carrier = &config.trunks["carrier"];
        assert_eq!((carrier.host.as_str(), carrier.port), ("127.0.0.1", 35070));
        assert_eq!(carrier.dtmf, DtmfMode::Rfc4733);
        assert_eq!(carrier.inbound_acl.len(), 1);
        assert_eq!(carrier.ring_timeout, Duration::from_secs(10));
    }

    #[test]
    fn optional_keys_left_out_give_voxpins_defaults() {
        let mut choices = bench_like();
        choices.rtp_extra = "";
        choices.rate_limit_per_minute = None;
        choices.carrier_dtmf = None;
        let text = choices.to_toml();
        assert!(!text.contains("realtime_priority"));
        assert!(!text.contains("rate_limit_per_minute"));
        assert!(!text.contains("dtmf"));
        let config = parse(&text);
        assert_eq!(config.rtp.realtime_priority, 0);
        assert_ne!(config.api.rate_limit_per_minute.get(), 1_000_000);
    }

    #[test]
    fn extra_lines_land_in_the_trunk_and_after_it() {
        let mut choices = bench_like();
        choices.trunk_extra = "username = \"voxpin\"\npassword = \"s3cret-pass\"";
        choices.extra = "[sms]\ndriver = \"http\"\nurl = \"http://127.0.0.1:9/send\"\n\
                         body_format = \"json\"\nbody = '{}'\ntext = \"{code}\"";
        let text = choices.to_toml();
        assert!(text.ends_with("text = \"{code}\"\n"));
        let config = parse(&text);
        let auth = config.trunks["carrier"].auth.as_ref().expect("credentials");
        assert_eq!(auth.username, "voxpin");
        assert!(matches!(config.sms.driver, SmsDriverConfig::Http(_)));
    }

    #[test]
    fn tests_can_still_edit_single_lines() {
        let text = bench_like().to_toml();
        for line in [
            "listen_tcp = \"off\"",
            "transport = \"udp\"",
            "inbound_acl = [\"127.0.0.1/32\"]",
        ] {
            assert_eq!(text.matches(line).count(), 1, "{line}");
        }
    }
}
