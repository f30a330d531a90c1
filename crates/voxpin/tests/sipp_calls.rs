//! End to end against real peers: the `voxpin` binary on loopback with a
//! per-test config, SIPp as the carrier and the phone, the HTTP API driven
//! over TCP, and a UDP socket of the test's own as the ear of the phone.
//!
//! Each test has its own ports (see [`support::Ports::for_test`]) so they run
//! in parallel. Every wait is bounded. The tests skip, saying so, only when
//! `sipp` is not installed.

mod support;

use std::time::Duration;

use serde_json::{json, Value};

use support::{
    audio, config, count_runs, find_in_order, prompt_frames, prompts, scenario, sipp_available,
    sipp_messages, Ports, RtpSink, Sipp, Voxpin,
};

/// The application's number (the DID people call back).
const APP_NUMBER: &str = "+15550100100";
const INPUT_NUMBER: &str = "+15550100200";
const PERSON: &str = "+14155550100";

/// A read application without the gate, quick pacing, one repeat.
fn read_plan(sms: bool) -> String {
    format!(
        r#"
name = "login"
mode = "read"
code = "auto"
code_length = 6
repeats = 1
attempts = 3
trunk = "carrier"
number = "{APP_NUMBER}"
[gate]
enabled = false
[pacing]
digit_gap = "100ms"
group_gap = "200ms"
final_pause = "200ms"
[sms]
enabled = {sms}
template = "Your code is {{code}}"
"#
    )
}

/// A read application whose codes the client gives (so a test knows them).
fn read_manual_plan() -> String {
    read_plan(false)
        .replace("name = \"login\"", "name = \"login-manual\"")
        .replace("code = \"auto\"", "code = \"manual\"")
        .replace(APP_NUMBER, "+15550100300")
}

/// An input application with manual 4-digit codes and two attempts.
fn input_plan() -> String {
    format!(
        r#"
name = "signup"
mode = "input"
code = "manual"
code_length = 4
attempts = 2
trunk = "carrier"
number = "{INPUT_NUMBER}"
"#
    )
}

/// voxpin on the default test config with the read-mode `login` application.
fn start_login(ports: Ports) -> Voxpin {
    Voxpin::start(
        ports,
        &config(ports, "", ""),
        &[("login.toml", &read_plan(false))],
    )
}

/// SIPp as the carrier (answers what voxpin sends).
fn uas(v: &Voxpin, name: &str, scenario_file: &str, keys: &[(&str, String)]) -> Sipp {
    Sipp::start(name, v.dir.path(), &sipp_args(v, scenario_file, keys))
}

/// SIPp as a caller (calls voxpin's SIP port).
fn uac(v: &Voxpin, name: &str, scenario_file: &str, keys: &[(&str, String)]) -> Sipp {
    let mut args = vec![format!("127.0.0.1:{}", v.ports.sip)];
    args.extend(sipp_args(v, scenario_file, keys));
    Sipp::start(name, v.dir.path(), &args)
}

/// One call of `scenario_file` on this test's ports, with `-key` values.
fn sipp_args(v: &Voxpin, scenario_file: &str, keys: &[(&str, String)]) -> Vec<String> {
    let mut args = vec![
        "-sf".to_owned(),
        scenario(scenario_file).display().to_string(),
        "-i".into(),
        "127.0.0.1".into(),
        "-p".into(),
        v.ports.sipp.to_string(),
        "-mp".into(),
        v.ports.sipp_media.to_string(),
        "-m".into(),
        "1".into(),
        "-timeout".into(),
        "60s".into(),
    ];
    for (k, val) in keys {
        args.extend(["-key".to_owned(), (*k).to_owned(), val.clone()]);
    }
    args
}

fn status(v: &Voxpin, id: &str) -> String {
    v.api("GET", &format!("/v1/otp/{id}"), None).1["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn events_of(otp: &Value, kind: &str) -> usize {
    otp["events"]
        .as_array()
        .map_or(0, |e| e.iter().filter(|e| e["type"] == kind).count())
}

/// The digit prompts of `code`, then checks they were heard in order.
fn assert_heard_code(sink: &RtpSink, lead: &str, code: &str) {
    let library = prompts();
    let mut wanted = vec![prompt_frames(&library, lead)];
    wanted.extend(
        code.chars()
            .map(|c| prompt_frames(&library, &c.to_string())),
    );
    let heard = audio(&sink.packets());
    assert!(
        find_in_order(&heard, &wanted).is_some(),
        "the carrier did not hear `{lead}` and the code's digits in order ({} frames)",
        heard.len()
    );
}

#[test]
fn outbound_read_call_delivers_then_verify_right_wrong_and_exhausted() {
    if !sipp_available() {
        return;
    }
    let ports = Ports::for_test(1);
    let v = start_login(ports);
    let sink = RtpSink::bind(ports.sink);
    let mut sipp = uas(
        &v,
        "uas",
        "uas_answer.xml",
        &[("audio_port", ports.sink.to_string())],
    );
    let id = v.send(json!({"application": "login", "to": PERSON}));
    let delivered = v.wait_otp(&id, "delivered", |o| o["status"] == "delivered");
    assert_eq!(
        sipp.wait(Duration::from_secs(30)),
        0,
        "SIPp saw a clean call\n{}",
        sipp_messages(v.dir.path())
    );
    assert!(events_of(&delivered, "code_played") >= 1);

    // The code as the carrier heard it: find which digit prompts were played.
    let library = prompts();
    let heard = audio(&sink.packets());
    let digits: Vec<Vec<Vec<u8>>> = (0..10)
        .map(|d| prompt_frames(&library, &d.to_string()))
        .collect();
    let start = find_in_order(&heard, &[prompt_frames(&library, "your-code-is")])
        .expect("\"your code is\" was heard")[0];
    let mut code = String::new();
    let mut i = start;
    while code.len() < 6 && i < heard.len() {
        match (0..10).find_map(|d| {
            find_in_order(heard.get(i..).unwrap_or_default(), &[digits[d].clone()])
                .filter(|at| at[0] == 0)
                .map(|_| d)
        }) {
            Some(d) => {
                code.push(char::from(b'0' + d as u8));
                i += digits[d].len() * 9 / 10;
            }
            None => i += 1,
        }
    }
    assert_eq!(code.len(), 6, "six digits were heard");
    assert_heard_code(&sink, "your-code-is", &code);

    // A wrong code costs an attempt; the right one verifies.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (s, r) = v.api(
        "POST",
        &format!("/v1/otp/{id}/verify"),
        Some(&json!({"code": wrong})),
    );
    assert_eq!(s, 200, "{r}");
    assert_eq!(r["valid"], false);
    assert_eq!(r["attempts_remaining"], 2);
    let (_, r) = v.api(
        "POST",
        &format!("/v1/otp/{id}/verify"),
        Some(&json!({"code": code})),
    );
    assert_eq!(r["valid"], true, "{r}");
    assert_eq!(status(&v, &id), "verified");

    let records = v.records();
    assert_eq!(records.len(), 1, "one call record");
    assert_eq!(records[0]["disposition"], "ANSWERED");
    assert!(
        !records[0].to_string().contains(&code),
        "the record never holds the code"
    );
    assert!(!v.log().contains(&code), "the log never holds the code");
}

#[test]
fn verify_attempts_exhausted_fails_the_otp() {
    if !sipp_available() {
        return;
    }
    let ports = Ports::for_test(2);
    let v = Voxpin::start(
        ports,
        &config(ports, "", ""),
        &[("login-manual.toml", &read_manual_plan())],
    );
    let sink = RtpSink::bind(ports.sink);
    let mut sipp = uas(
        &v,
        "uas",
        "uas_answer.xml",
        &[("audio_port", ports.sink.to_string())],
    );
    let id = v.send(json!({"application": "login-manual", "to": PERSON, "code": "246813"}));
    v.wait_otp(&id, "delivered", |o| o["status"] == "delivered");
    assert_eq!(sipp.wait(Duration::from_secs(30)), 0);
    assert_heard_code(&sink, "your-code-is", "246813");
    let mut remaining = Vec::new();
    for guess in ["111111", "222222", "333333"] {
        let (s, r) = v.api(
            "POST",
            &format!("/v1/otp/{id}/verify"),
            Some(&json!({"code": guess})),
        );
        assert_eq!(s, 200, "{r}");
        assert_eq!(r["valid"], false);
        remaining.push(r["attempts_remaining"].as_u64().unwrap_or(99));
    }
    assert_eq!(remaining, [2, 1, 0], "attempts decrease");
    assert_eq!(status(&v, &id), "failed");
    let (s, r) = v.api(
        "POST",
        &format!("/v1/otp/{id}/verify"),
        Some(&json!({"code": "246813"})),
    );
    assert!(
        s >= 400 || r["valid"] == false,
        "a failed OTP never verifies: {s} {r}"
    );
}

#[test]
fn outbound_input_call_verifies_rfc4733_digits() {
    if !sipp_available() {
        return;
    }
    let ports = Ports::for_test(3);
    let v = Voxpin::start(
        ports,
        &config(ports, "dtmf = \"rfc4733\"", ""),
        &[("signup.toml", &input_plan())],
    );
    let pcap = v.dir.path().join("code.pcap");
    std::fs::write(
        &pcap,
        support::pcap::dtmf_pcap(
            "4812",
            Duration::from_millis(3500),
            Duration::from_millis(300),
        ),
    )
    .expect("pcap");
    let scenario_text = std::fs::read_to_string(scenario("uas_dtmf.xml"))
        .expect("scenario")
        .replace("[pcap]", &pcap.display().to_string());
    let scenario_path = v.dir.path().join("uas_dtmf.xml");
    std::fs::write(&scenario_path, scenario_text).expect("scenario copy");
    let mut sipp = uas(&v, "uas", scenario_path.to_str().expect("utf-8 path"), &[]);
    let id = v.send(json!({"application": "signup", "to": PERSON, "code": "4812"}));
    let otp = v.wait_otp(&id, "verified", |o| o["status"] == "verified");
    assert_eq!(
        sipp.wait(Duration::from_secs(40)),
        0,
        "{}",
        sipp_messages(v.dir.path())
    );
    let masked = otp["events"].as_array().map_or(0, |e| {
        e.iter()
            .filter(|e| e["type"] == "keypress" && e["masked"] == true)
            .count()
    });
    assert_eq!(masked, 4, "four masked keypresses: {otp:#}");
}

#[test]
fn callback_from_the_known_number_hears_the_code_unknown_hears_invalid_request() {
    if !sipp_available() {
        return;
    }
    let ports = Ports::for_test(4);
    // The outbound call is refused (busy) so the person "missed" it.
    let v = start_login(ports);
    let mut busy = uas(&v, "busy", "uas_busy.xml", &[]);
    let id = v.send(json!({"application": "login", "to": PERSON}));
    v.wait_otp(&id, "busy", |o| o["status"] == "busy");
    assert_eq!(busy.wait(Duration::from_secs(20)), 0);
    drop(busy);

    let sink = RtpSink::bind(ports.sink);
    let mut call = uac(
        &v,
        "callback",
        "uac_callback.xml",
        &[
            ("caller", PERSON.to_owned()),
            ("called", APP_NUMBER.to_owned()),
            ("audio_port", ports.sink.to_string()),
        ],
    );
    assert_eq!(
        call.wait(Duration::from_secs(40)),
        0,
        "{}",
        sipp_messages(v.dir.path())
    );
    let otp = v.api("GET", &format!("/v1/otp/{id}"), None).1;
    assert!(events_of(&otp, "callback") >= 1, "{otp:#}");
    assert!(events_of(&otp, "code_played") >= 1, "{otp:#}");
    let library = prompts();
    assert!(
        count_runs(
            &audio(&sink.packets()),
            &prompt_frames(&library, "your-code-is")
        ) >= 1
    );
    drop(call);

    let stranger = RtpSink::bind(ports.sink + 2);
    let mut call = uac(
        &v,
        "stranger",
        "uac_callback.xml",
        &[
            ("caller", "+14155559999".to_owned()),
            ("called", APP_NUMBER.to_owned()),
            ("audio_port", (ports.sink + 2).to_string()),
        ],
    );
    assert_eq!(
        call.wait(Duration::from_secs(30)),
        0,
        "a BYE after \"invalid request\""
    );
    let heard = audio(&stranger.packets());
    assert_eq!(
        count_runs(&heard, &prompt_frames(&library, "invalid-request")),
        1
    );
    assert_eq!(
        count_runs(&heard, &prompt_frames(&library, "your-code-is")),
        0,
        "no code for a stranger"
    );
}

#[test]
fn ring_timeout_cancels_and_busy_is_busy() {
    if !sipp_available() {
        return;
    }
    let ports = Ports::for_test(5);
    let v = start_login(ports);
    let mut sipp = uas(&v, "noanswer", "uas_no_answer.xml", &[]);
    let id = v.send(json!({"application": "login", "to": PERSON}));
    v.wait_otp(&id, "no_answer", |o| o["status"] == "no_answer");
    assert_eq!(
        sipp.wait(Duration::from_secs(20)),
        0,
        "SIPp got the CANCEL\n{}",
        sipp_messages(v.dir.path())
    );
    drop(sipp);
    let mut sipp = uas(&v, "busy", "uas_busy.xml", &[]);
    let id = v.send(json!({"application": "login", "to": "+14155550111"}));
    v.wait_otp(&id, "busy", |o| o["status"] == "busy");
    assert_eq!(sipp.wait(Duration::from_secs(20)), 0);
    let records = v.records();
    let dispositions: Vec<&str> = records
        .iter()
        .filter_map(|r| r["disposition"].as_str())
        .collect();
    assert_eq!(dispositions, ["NO ANSWER", "BUSY"]);
}

#[test]
fn a_source_outside_the_acl_gets_no_response() {
    if !sipp_available() {
        return;
    }
    let ports = Ports::for_test(6);
    let cfg = config(ports, "", "").replace(
        r#"inbound_acl = ["127.0.0.1/32"]"#,
        r#"inbound_acl = ["192.0.2.0/24"]"#,
    );
    let v = Voxpin::start(ports, &cfg, &[("login.toml", &read_plan(false))]);
    let mut probe = uac(
        &v,
        "probe",
        "uac_probe.xml",
        &[
            ("caller", PERSON.to_owned()),
            ("called", APP_NUMBER.to_owned()),
        ],
    );
    probe.wait(Duration::from_secs(20));
    let log = sipp_messages(v.dir.path());
    assert!(log.contains("INVITE sip:"), "SIPp sent its INVITE: {log}");
    assert!(
        !log.contains("SIP/2.0 1") && !log.contains("SIP/2.0 4") && !log.contains("SIP/2.0 5"),
        "no response at all: {log}"
    );
}

#[test]
fn digest_challenge_is_answered() {
    if !sipp_available() {
        return;
    }
    let ports = Ports::for_test(7);
    let auth = "username = \"voxpin\"\npassword = \"s3cret-pass\"";
    let v = Voxpin::start(
        ports,
        &config(ports, auth, ""),
        &[("login.toml", &read_plan(false))],
    );
    let _sink = RtpSink::bind(ports.sink);
    let mut sipp = uas(
        &v,
        "auth",
        "uas_auth.xml",
        &[
            ("audio_port", ports.sink.to_string()),
            ("user", "voxpin".to_owned()),
            ("pass", "s3cret-pass".to_owned()),
        ],
    );
    let id = v.send(json!({"application": "login", "to": PERSON}));
    v.wait_otp(&id, "delivered", |o| o["status"] == "delivered");
    assert_eq!(
        sipp.wait(Duration::from_secs(30)),
        0,
        "credentials accepted\n{}",
        sipp_messages(v.dir.path())
    );
    assert!(
        !v.log().contains("s3cret-pass"),
        "the password is never logged"
    );
}

#[test]
fn sms_after_the_call_reaches_the_gateway_with_the_code() {
    if !sipp_available() {
        return;
    }
    let ports = Ports::for_test(8);
    let gateway = support::HttpReceiver::start(ports.sink + 4);
    let sms = format!(
        "[sms]\ndriver = \"http\"\nurl = \"http://127.0.0.1:{}/send\"\nmethod = \"POST\"\nbody_format = \"json\"\nbody = '{{\"to\": \"{{to}}\", \"text\": \"{{text}}\"}}'\ntext = \"Your code is {{code}}\"\n",
        gateway.port
    );
    let plan = read_manual_plan().replace("enabled = false\ntemplate", "enabled = true\ntemplate");
    let v = Voxpin::start(
        ports,
        &config(ports, "", &sms),
        &[("login-manual.toml", &plan)],
    );
    let _sink = RtpSink::bind(ports.sink);
    let mut sipp = uas(
        &v,
        "uas",
        "uas_answer.xml",
        &[("audio_port", ports.sink.to_string())],
    );
    let id = v.send(json!({"application": "login-manual", "to": PERSON, "code": "864209", "sms_after_call": true}));
    let otp = v.wait_otp(&id, "the SMS result in the session record", |o| {
        events_of(o, "sms") >= 1
    });
    assert_eq!(sipp.wait(Duration::from_secs(30)), 0);
    let requests = gateway.requests();
    assert_eq!(requests.len(), 1, "one SMS: {requests:?}");
    assert!(requests[0].contains("864209"), "the SMS carries the code");
    assert!(requests[0].contains(PERSON), "to the OTP's number");
    let sms_event = otp["events"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["type"] == "sms"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(sms_event["result"]["outcome"], "sent", "{sms_event}");
    assert!(
        !otp.to_string().contains("864209"),
        "the record never holds the code"
    );
    assert!(!v.log().contains("864209"), "the log never holds the code");
}

#[test]
fn a_bad_dialplan_on_sighup_is_refused_and_calls_keep_working() {
    if !sipp_available() {
        return;
    }
    let ports = Ports::for_test(9);
    let v = start_login(ports);
    std::fs::write(
        v.dir.path().join("dialplans/broken.toml"),
        "name = \"broken\"\nmode = \"read\"\n[flow]\nstart = \"nowhere\"\n",
    )
    .expect("write");
    v.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !v.log().contains("dialplans refused") {
        assert!(
            std::time::Instant::now() < deadline,
            "the reload was not refused:\n{}",
            v.log()
        );
        support::wait_a_moment();
    }
    assert!(v.log().contains("broken.toml"), "the error names the file");
    // The old set still serves: a login call works end to end.
    let sink = RtpSink::bind(ports.sink);
    let mut sipp = uas(
        &v,
        "uas",
        "uas_answer.xml",
        &[("audio_port", ports.sink.to_string())],
    );
    let id = v.send(json!({"application": "login", "to": PERSON}));
    v.wait_otp(&id, "delivered", |o| o["status"] == "delivered");
    assert_eq!(sipp.wait(Duration::from_secs(30)), 0);
    assert!(
        count_runs(
            &audio(&sink.packets()),
            &prompt_frames(&prompts(), "your-code-is")
        ) >= 1
    );
}

#[test]
fn sigterm_lets_the_live_call_finish_then_exits_zero() {
    if !sipp_available() {
        return;
    }
    let ports = Ports::for_test(10);
    let mut v = start_login(ports);
    let sink = RtpSink::bind(ports.sink);
    let mut sipp = uas(
        &v,
        "uas",
        "uas_answer.xml",
        &[("audio_port", ports.sink.to_string())],
    );
    let id = v.send(json!({"application": "login", "to": PERSON}));
    v.wait_otp(&id, "answered", |o| o["status"] == "answered");
    v.signal("TERM");
    let status = v.wait_exit(Duration::from_secs(20));
    assert!(status.success(), "exit status {status:?}\n{}", v.log());
    assert_eq!(
        sipp.wait(Duration::from_secs(10)),
        0,
        "the live call ended cleanly"
    );
    assert!(
        count_runs(
            &audio(&sink.packets()),
            &prompt_frames(&prompts(), "your-code-is")
        ) >= 1,
        "the call went on after SIGTERM"
    );
    assert_eq!(v.records().len(), 1, "its record was written");
}

#[test]
fn outbound_read_call_over_tcp() {
    if !sipp_available() {
        return;
    }
    let ports = Ports::for_test(11);
    let cfg = config(ports, "", "")
        .replace(
            "listen_tcp = \"off\"",
            &format!("listen_tcp = \"127.0.0.1:{}\"", ports.sip),
        )
        .replace("transport = \"udp\"", "transport = \"tcp\"");
    let v = Voxpin::start(ports, &cfg, &[("login.toml", &read_plan(false))]);
    let sink = RtpSink::bind(ports.sink);
    let mut sipp = Sipp::start(
        "uas-tcp",
        v.dir.path(),
        &[
            "-sf".to_owned(),
            scenario("uas_answer.xml").display().to_string(),
            "-t".into(),
            "t1".into(),
            "-i".into(),
            "127.0.0.1".into(),
            "-p".into(),
            ports.sipp.to_string(),
            "-mp".into(),
            ports.sipp_media.to_string(),
            "-m".into(),
            "1".into(),
            "-timeout".into(),
            "60s".into(),
            "-key".into(),
            "audio_port".into(),
            ports.sink.to_string(),
        ],
    );
    // TCP has no retransmission to cover SIPp's start-up: wait until it listens.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", ports.sipp)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "SIPp never listened on TCP"
        );
        support::wait_a_moment();
    }
    let id = v.send(json!({"application": "login", "to": PERSON}));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while status(&v, &id) != "delivered" {
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered over TCP: {}\n{}",
            status(&v, &id),
            sipp_messages(v.dir.path())
        );
        support::wait_a_moment();
    }
    assert_eq!(
        sipp.wait(Duration::from_secs(30)),
        0,
        "{}",
        sipp_messages(v.dir.path())
    );
    assert!(
        count_runs(
            &audio(&sink.packets()),
            &prompt_frames(&prompts(), "your-code-is")
        ) >= 1
    );
}

#[test]
fn an_inband_dtmf_trunk_hears_tones_from_sipp() {
    if !sipp_available() {
        return;
    }
    let ports = Ports::for_test(12);
    let v = Voxpin::start(
        ports,
        &config(ports, "dtmf = \"inband\"", ""),
        &[("signup.toml", &input_plan())],
    );
    let pcap = v.dir.path().join("tones.pcap");
    std::fs::write(
        &pcap,
        support::pcap::inband_pcap("4812", Duration::from_millis(3500)),
    )
    .expect("pcap");
    let scenario_text = std::fs::read_to_string(scenario("uas_dtmf.xml"))
        .expect("scenario")
        .replace("[pcap]", &pcap.display().to_string());
    let scenario_path = v.dir.path().join("uas_tones.xml");
    std::fs::write(&scenario_path, scenario_text).expect("scenario copy");
    let mut sipp = uas(&v, "uas", scenario_path.to_str().expect("utf-8 path"), &[]);
    let id = v.send(json!({"application": "signup", "to": PERSON, "code": "4812"}));
    v.wait_otp(&id, "verified", |o| o["status"] == "verified");
    assert_eq!(
        sipp.wait(Duration::from_secs(40)),
        0,
        "{}",
        sipp_messages(v.dir.path())
    );
}

#[test]
fn a_tcp_trunk_nobody_listens_on_ends_the_call_at_once() {
    // No SIPp here: the carrier's TCP port is closed on purpose.
    let ports = Ports::for_test(13);
    let cfg = config(ports, "", "")
        .replace(
            "listen_tcp = \"off\"",
            &format!("listen_tcp = \"127.0.0.1:{}\"", ports.sip),
        )
        .replace("transport = \"udp\"", "transport = \"tcp\"");
    let v = Voxpin::start(ports, &cfg, &[("login.toml", &read_plan(false))]);
    let id = v.send(json!({"application": "login", "to": PERSON}));
    // wait_otp gives up after 20 s, before Timer B (64·T1 = 32 s) could end
    // the call: reaching `error` shows the refused connect ended it.
    let otp = v.wait_otp(&id, "error", |o| o["status"] == "error");
    let hangup = otp["events"]
        .as_array()
        .and_then(|events| events.iter().find(|e| e["type"] == "hangup"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(hangup["cause"], 27, "DESTINATION_OUT_OF_ORDER: {otp:#}");
}
