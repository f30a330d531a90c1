use super::*;

fn env() -> MapEnvironment {
    let mut env = MapEnvironment::default();
    env.vars
        .insert("CARRIER_PASSWORD".into(), "s3cret-pass".into());
    env.vars.insert(
        "API_KEYS".into(),
        "env-key-000000001, env-key-000000002".into(),
    );
    env.files.insert(
        PathBuf::from("keys.txt"),
        "# ops keys\nfile-key-00000001\n\n".into(),
    );
    env
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse("voxpin.toml", text, &env())
}

fn invalid(text: &str) -> (String, usize, String) {
    match parse(text).unwrap_err() {
        ConfigError::Invalid {
            key, line, reason, ..
        } => (key, line, reason),
        other => panic!("expected Invalid, got {other}"),
    }
}

#[test]
fn the_shipped_config_resolves() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/voxpin.toml");
    let text = std::fs::read_to_string(path).unwrap();
    let config = Config::parse("config/voxpin.toml", &text, &env()).unwrap();
    assert!(config.sip.listen_udp.unwrap().ip().is_loopback());
    assert!(!config.api.keys.is_empty());
    assert!(config.trunks.contains_key("default"));
}

#[test]
fn empty_file_takes_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c.sip.listen_udp, Some("127.0.0.1:5060".parse().unwrap()));
    assert_eq!(c.sip.t1, Duration::from_millis(500));
    assert_eq!(c.rtp.port_min, 20000);
    assert_eq!(c.rtp.pacing_phases, voxpin_engine::DEFAULT_PACER_PHASES);
    assert_eq!(c.rtp.realtime_priority, 0, "normal priority unless asked");
    assert_eq!(c.store, StoreBackend::Memory);
    assert_eq!(c.limits.max_concurrent_calls, 100);
    assert!(matches!(c.sms.driver, SmsDriverConfig::Log));
    assert_eq!(c.logging.format, LogFormat::Text);
    assert!(c.trunks.is_empty());
}

#[test]
fn full_trunk_resolves() {
    let c = parse(
        r#"
[trunks.carrier]
host = "192.0.2.10"
port = 5080
transport = "tcp"
username = "acme"
password_env = "CARRIER_PASSWORD"
realm = "sip.example.net"
from_user = "+14155550000"
register = true
codecs = ["pcma", "pcmu"]
dtmf = "auto"
inbound_acl = ["192.0.2.0/24", "198.51.100.7"]
ring_timeout = "45s"
retry = { attempts = 2, delay = "2m", on = ["busy"] }
"#,
    )
    .unwrap();
    let t = &c.trunks["carrier"];
    assert_eq!(t.port, 5080);
    assert_eq!(t.transport, Transport::Tcp);
    let auth = t.auth.as_ref().unwrap();
    assert_eq!(auth.password.expose(), "s3cret-pass");
    assert_eq!(t.from_domain, "192.0.2.10");
    assert_eq!(t.codecs, [Codec::Pcma, Codec::Pcmu]);
    assert_eq!(t.dtmf, DtmfMode::Auto);
    assert_eq!(t.inbound_acl.len(), 2);
    assert_eq!(t.ring_timeout, Duration::from_secs(45));
    assert_eq!(t.retry.attempts, 2);
    assert!(t.retry.on_busy && !t.retry.on_no_answer);
    let shown = format!("{c:?}");
    assert!(!shown.contains("s3cret-pass"), "password in Debug: {shown}");
}

#[test]
fn ip_host_defaults_its_acl_and_retry_is_off() {
    let c = parse("[trunks.t]\nhost = \"127.0.0.1\"\nport = 5070\n").unwrap();
    let t = &c.trunks["t"];
    assert_eq!(
        t.inbound_acl,
        vec!["127.0.0.1/32".parse::<IpNet>().unwrap()]
    );
    assert_eq!(t.retry.attempts, 0);
    let c = parse("[trunks.t]\nhost = \"sip.example.net\"\n").unwrap();
    assert!(c.trunks["t"].inbound_acl.is_empty());
}

#[test]
fn keys_come_from_all_three_places_and_never_show() {
    let c = parse(
        "[api]\nkeys = [\"inline-key-000001\"]\nkeys_file = \"keys.txt\"\nkeys_env = \"API_KEYS\"\n",
    )
    .unwrap();
    assert_eq!(c.api.keys.len(), 4);
    let shown = format!("{:?}", c.api);
    for k in ["inline-key", "file-key", "env-key"] {
        assert!(!shown.contains(k), "{shown}");
    }
}

#[test]
fn unknown_key_is_a_syntax_error_with_its_line() {
    let err = parse("[sip]\nlisten_udp = \"127.0.0.1:5060\"\nlisten_sctp = \"x\"\n").unwrap_err();
    let ConfigError::Syntax { line, message, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(*line, 3);
    assert!(message.contains("listen_sctp"), "{message}");
    assert!(err.to_string().starts_with("voxpin.toml:3:"), "{err}");
}

#[test]
fn a_value_of_the_wrong_type_names_its_dotted_key() {
    let err = parse("[sip]\nt1 = \"500ms\"\n\n[rtp]\naddress = \"127.0.0.1\"\nport_min = \"x\"\n")
        .unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with("voxpin.toml:6: rtp.port_min: "),
        "{shown}"
    );
    assert!(shown.contains("expected u16"), "{shown}");
}

#[test]
fn unknown_trunk_key_is_refused() {
    let err = parse("[trunks.t]\nhost = \"h\"\ndtmf_mode = \"rfc4733\"\n").unwrap_err();
    assert!(err.to_string().contains("dtmf_mode"), "{err}");
}

#[test]
fn bad_values_name_key_line_and_reason() {
    let (key, line, reason) = invalid("[trunks.carrier]\nhost = \"h\"\n\ndtmf = \"loud\"\n");
    assert_eq!(key, "trunks.carrier.dtmf");
    assert_eq!(line, 4);
    assert!(reason.contains("loud"), "{reason}");

    let (key, line, _) = invalid("[sip]\nt1 = \"5\"\n");
    assert_eq!((key.as_str(), line), ("sip.t1", 2));

    let (key, _, reason) = invalid("[api]\nkeys = [\"short\"]\n");
    assert_eq!(key, "api.keys[0]");
    assert!(reason.contains("16"), "{reason}");
    assert!(!reason.contains("short"), "the key must not be echoed");

    let (key, _, _) =
        invalid("[trunks.t]\nhost = \"h\"\npassword_env = \"MISSING\"\nusername = \"u\"\n");
    assert_eq!(key, "trunks.t.password_env");

    let (key, _, _) = invalid("[trunks.t]\nhost = \"h\"\nregister = true\n");
    assert_eq!(key, "trunks.t.register");

    let (key, _, _) = invalid("[trunks.t]\nhost = \"h\"\ninbound_acl = [\"10.0.0.0/33\"]\n");
    assert_eq!(key, "trunks.t.inbound_acl");

    let (key, _, _) = invalid("[sip]\nlisten_udp = \"0.0.0.0:5060\"\n");
    assert_eq!(key, "sip.advertised_address");

    let (key, _, _) = invalid("[rtp]\nport_min = 20001\n");
    assert_eq!(key, "rtp.port_min");

    let (key, line, reason) = invalid("[rtp]\npacing_phases = 0\n");
    assert_eq!((key.as_str(), line), ("rtp.pacing_phases", 2));
    assert!(reason.contains("400"), "{reason}");
    let (key, _, _) = invalid("[rtp]\npacing_phases = 401\n");
    assert_eq!(key, "rtp.pacing_phases");

    let (key, line, reason) = invalid("[rtp]\nrealtime_priority = 100\n");
    assert_eq!((key.as_str(), line), ("rtp.realtime_priority", 2));
    assert!(reason.contains("SCHED_FIFO"), "{reason}");

    let (key, _, _) = invalid("[sms]\ndriver = \"http\"\n");
    assert_eq!(key, "sms.url");

    let (key, _, _) = invalid("[store]\nbackend = \"redis\"\n");
    assert_eq!(key, "store.backend");

    let (key, _, _) = invalid("[webhooks]\nsecret = \"whsec_!!\"\n");
    assert_eq!(key, "webhooks.secret");

    let (key, _, _) = invalid("[trunks.\"bad name\"]\nhost = \"h\"\n");
    assert_eq!(key, "trunks.bad name");
}

#[test]
fn durations_parse() {
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86400)));
    assert!(parse_duration("5").is_err());
    assert!(parse_duration("s").is_err());
    assert!(parse_duration("5d").is_err());
    assert!(parse_duration("99999999999999999999h").is_err());
}

proptest::proptest! {
    #[test]
    fn parsing_never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    #[test]
    fn line_lookup_never_panics(text in "\\PC{0,200}", key in "[a-z.]{0,20}") {
        let _ = line_of_key(&text, &key);
        let _ = line_at(&text, key.len() * 7);
    }
}

#[test]
fn pacing_and_priority_are_read() {
    let c = parse("[rtp]\npacing_phases = 20\nrealtime_priority = 10\n").unwrap();
    assert_eq!(c.rtp.pacing_phases, 20);
    assert_eq!(c.rtp.realtime_priority, 10);
}

/// A self-signed CA certificate and its key, as PEM.
fn ca_pem() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = params.self_signed(&key).unwrap();
    (ca.pem(), key.serialize_pem())
}

#[test]
fn a_ca_file_is_read_and_a_bad_one_names_key_file_and_reason() {
    let (ca, key) = ca_pem();
    let mut env = env();
    env.files.insert("ca.pem".into(), format!("{ca}{ca}"));
    env.files.insert("key.pem".into(), key);
    env.files.insert(
        "broken.pem".into(),
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
    );
    let parse = |text: &str| Config::parse("voxpin.toml", text, &env);
    let config = parse("[http]\nca_file = \"ca.pem\"\n").unwrap();
    assert_eq!(config.http.ca_file, Some(PathBuf::from("ca.pem")));
    assert_eq!(config.http.extra_roots.len(), 2);
    assert!(parse("").unwrap().http.extra_roots.is_empty());

    for (file, reason) in [
        ("missing.pem", "cannot read `missing.pem`: "),
        ("key.pem", "`key.pem`: no PEM certificate in it"),
        (
            "broken.pem",
            "`broken.pem`: certificate 1 of the bundle is not a usable CA certificate",
        ),
    ] {
        let err = parse(&format!(
            "[logging]\nlevel = \"info\"\n[http]\nca_file = \"{file}\"\n"
        ))
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!("voxpin.toml:4: http.ca_file: {reason}")),
            "{text}"
        );
    }

    let err = parse("[http]\nca = \"ca.pem\"\n").unwrap_err();
    assert!(
        matches!(&err, ConfigError::Syntax { line: 2, .. }),
        "unknown keys are refused: {err}"
    );
}

#[test]
fn sms_urls_may_be_http_or_https() {
    for url in [
        "http://127.0.0.1:13013/send",
        "https://gateway.example/send",
    ] {
        let text = format!("[sms]\ndriver = \"http\"\nurl = \"{url}\"\n");
        assert!(parse(&text).is_ok(), "{url}");
    }
    let (key, line, reason) = invalid("[sms]\ndriver = \"http\"\nurl = \"ftp://gw/send\"\n");
    assert_eq!((key.as_str(), line), ("sms.url", 3));
    assert!(reason.contains("http:// or https://"), "{reason}");
}
