//! Shared pieces of the end-to-end tests: a running `voxpin` binary with a
//! per-test config in a temporary directory, SIPp processes, a tiny HTTP
//! client for the API, and an RTP receiver that checks what the carrier heard.
//!
//! Nothing here sleeps to wait: every wait polls a condition until a bounded
//! deadline and fails with what it saw.

#![allow(dead_code)]

pub mod pcap;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use voxpin_testkit::config::VoxpinConfig;
use voxpin_testkit::pcap::{dtmf_event, rtp_packet, telephone_event, TELEPHONE_EVENT_PT};

/// The API key every test config accepts.
pub const API_KEY: &str = "e2e-test-key-0123456789";

/// Whether SIPp is installed; tests skip (with a message) when it is not.
pub fn sipp_available() -> bool {
    let found = Command::new("sipp")
        .arg("-v")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !found {
        eprintln!("SKIPPED: `sipp` is not installed (Debian: apt-get install sip-tester)");
    }
    found
}

/// The repository root (prompts live there).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate sits two levels below the repository root")
        .to_path_buf()
}

/// A scenario file shipped with the tests.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/scenarios")
        .join(name)
}

/// Ports of one test: SIP, API and an RTP range, all distinct per test.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// voxpin's SIP port.
    pub sip: u16,
    /// SIPp's SIP port.
    pub sipp: u16,
    /// voxpin's HTTP API port.
    pub api: u16,
    /// First port of voxpin's RTP range (ten ports).
    pub rtp: u16,
    /// The test's own RTP receiver (what the carrier "hears").
    pub sink: u16,
    /// SIPp's media port.
    pub sipp_media: u16,
}

impl Ports {
    /// Ports for one test, probed free on loopback: SIP in 15000–16999, API
    /// in 18000–19999, a block of 40 RTP ports in 25000–39999. Each test
    /// gets its own, so tests run in parallel (and beside other runs of the
    /// suite). `n` only spreads the starting points.
    pub fn for_test(n: u16) -> Self {
        let sip = free_block(15000, 16999, 2, n);
        let api = free_block(18000, 19999, 1, n);
        let rtp = free_block(25000, 39999, 40, n);
        Self {
            sip,
            sipp: sip + 1,
            api,
            rtp,
            sink: rtp + 20,
            sipp_media: rtp + 30,
        }
    }
}

/// The first of `len` consecutive ports in `low..=high`, all free for UDP
/// and TCP on loopback, from a random starting point.
fn free_block(low: u16, high: u16, len: u16, n: u16) -> u16 {
    let span = u32::from(high - low - len) / 2;
    for _ in 0..500 {
        let offset = (rand::random::<u32>().wrapping_add(u32::from(n) * 7919)) % span;
        let base = low + (offset * 2) as u16;
        let free = (base..base + len).all(|p| {
            UdpSocket::bind(("127.0.0.1", p)).is_ok()
                && std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
        });
        if free {
            return base;
        }
    }
    panic!("no {len} free ports in {low}-{high}");
}

/// A config for one test on `ports`: SIPp on `ports.sipp` is the trunk
/// `carrier`, voxpin's RTP range is the first 20 ports of `ports.rtp`.
/// `trunk_extra`: more `[trunks.carrier]` lines; `extra`: tables after it.
pub fn config(ports: Ports, trunk_extra: &str, extra: &str) -> String {
    let prompts = repo_root().join("prompts");
    VoxpinConfig {
        sip_port: ports.sip,
        rtp_port_min: ports.rtp,
        rtp_port_max: ports.rtp + 19,
        rtp_extra: "",
        api_port: ports.api,
        api_key: API_KEY,
        rate_limit_per_minute: None,
        max_concurrent_calls: 10,
        drain_deadline: "5s",
        log_level: "info",
        prompts_dir: &prompts,
        carrier_port: ports.sipp,
        carrier_dtmf: None,
        ring_timeout: "3s",
        trunk_extra,
        extra,
    }
    .to_toml()
}

/// A running voxpin; killed when dropped.
pub struct Voxpin {
    child: Child,
    /// The test's directory (config, dialplans, records, logs).
    pub dir: tempfile::TempDir,
    /// Its ports.
    pub ports: Ports,
}

impl Voxpin {
    /// Writes `config` and `dialplans` (file name, text) into a temp dir and
    /// starts `voxpin run` there; waits until the API answers.
    pub fn start(ports: Ports, config: &str, dialplans: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("dialplans")).expect("dialplans dir");
        for (name, text) in dialplans {
            std::fs::write(dir.path().join("dialplans").join(name), text).expect("write dialplan");
        }
        std::fs::write(dir.path().join("voxpin.toml"), config).expect("write config");
        let log = std::fs::File::create(dir.path().join("voxpin.log")).expect("log file");
        let child = Command::new(env!("CARGO_BIN_EXE_voxpin"))
            .args(["run", "--config", "voxpin.toml"])
            .current_dir(dir.path())
            .env("RUST_LOG", "info,voxpin=debug,voxpin_engine=debug")
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .spawn()
            .expect("start voxpin");
        let v = Self { child, dir, ports };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok((200, _)) = v.try_api("GET", "/healthz", None) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "voxpin did not come up:\n{}",
                v.log()
            );
            wait_a_moment();
        }
        v
    }

    /// The process's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("voxpin.log")).unwrap_or_default()
    }

    /// The call records written so far.
    pub fn records(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.path().join("records/calls.jsonl"))
            .unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// An API request; panics on transport errors.
    pub fn api(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.try_api(method, path, body)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\n{}", self.log()))
    }

    fn try_api(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> std::io::Result<(u16, Value)> {
        http(
            self.ports.api,
            method,
            path,
            body.map(|b| b.to_string()).as_deref(),
            Some(API_KEY),
        )
    }

    /// Creates an OTP; returns its id.
    pub fn send(&self, body: Value) -> String {
        let (status, v) = self.api("POST", "/v1/otp", Some(&body));
        assert_eq!(status, 201, "POST /v1/otp: {v}\n{}", self.log());
        v["id"].as_str().expect("id").to_owned()
    }

    /// Polls `GET /v1/otp/{id}` until `pred` holds (20 s at most).
    pub fn wait_otp(&self, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, v) = self.api("GET", &format!("/v1/otp/{id}"), None);
            if pred(&v) {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "waited in vain for {what}; last: {v:#}\n{}",
                self.log()
            );
            wait_a_moment();
        }
    }

    /// Sends a signal to the process.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "voxpin did not exit:\n{}",
                self.log()
            );
            wait_a_moment();
        }
    }
}

impl Drop for Voxpin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("---- voxpin log ----\n{}", self.log());
        }
    }
}

/// The pause between two polls of a condition. The condition, checked
/// against a bounded deadline, decides when a wait ends; this only keeps the
/// polling from spinning.
pub fn wait_a_moment() {
    std::thread::sleep(Duration::from_millis(50));
}

/// A minimal HTTP/1.1 client (one request per connection).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&str>,
    key: Option<&str>,
) -> std::io::Result<(u16, Value)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    let auth = key
        .map(|k| format!("Authorization: Bearer {k}\r\n"))
        .unwrap_or_default();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let text = String::from_utf8_lossy(&resp);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad response: {text}")))?;
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    Ok((
        status,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    ))
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest.get(n + 2..).unwrap_or("");
    }
    out
}

/// A running SIPp.
pub struct Sipp {
    child: Child,
    name: String,
}

impl Sipp {
    /// Starts SIPp with `args` (scenario, ports, keys...).
    pub fn start(name: &str, dir: &Path, args: &[String]) -> Self {
        let log = std::fs::File::create(dir.join(format!("sipp-{name}.log"))).expect("sipp log");
        let child = Command::new("sipp")
            .args(args)
            .args(["-nostdin", "-trace_err", "-trace_msg"])
            .current_dir(dir)
            .stdout(log.try_clone().expect("clone"))
            .stderr(log)
            .spawn()
            .expect("start sipp");
        Self {
            child,
            name: name.to_owned(),
        }
    }

    /// Waits (bounded) for SIPp to end; returns its exit code.
    pub fn wait(&mut self, within: Duration) -> i32 {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code().unwrap_or(-1);
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!("sipp `{}` did not finish within {within:?}", self.name);
            }
            wait_a_moment();
        }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SIPp messages log (every message sent and received) under `dir`.
pub fn sipp_messages(dir: &Path) -> String {
    let mut all = String::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with("_messages.log") || name.ends_with("_errors.log") {
                all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
    }
    all
}

/// One RTP packet as received.
#[derive(Debug, Clone)]
pub struct Received {
    /// Where it came from.
    pub source: SocketAddr,
    /// Payload type.
    pub payload_type: u8,
    /// The payload.
    pub payload: Vec<u8>,
}

/// A UDP socket the carrier's SDP points at: records every RTP packet.
pub struct RtpSink {
    socket: UdpSocket,
    packets: Arc<Mutex<Vec<Received>>>,
}

impl RtpSink {
    /// Binds `127.0.0.1:port` and starts receiving.
    pub fn bind(port: u16) -> Self {
        let socket = UdpSocket::bind(("127.0.0.1", port)).expect("bind RTP sink");
        let packets = Arc::new(Mutex::new(Vec::new()));
        let rx = socket.try_clone().expect("clone socket");
        let store = packets.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while let Ok((n, source)) = rx.recv_from(&mut buf) {
                if n < 12 {
                    continue;
                }
                let cc = usize::from(buf[0] & 0x0f);
                let start = 12 + 4 * cc;
                if let Ok(mut p) = store.lock() {
                    p.push(Received {
                        source,
                        payload_type: buf[1] & 0x7f,
                        payload: buf.get(start..n).unwrap_or_default().to_vec(),
                    });
                }
            }
        });
        Self { socket, packets }
    }

    /// A copy of what arrived so far.
    pub fn packets(&self) -> Vec<Received> {
        self.packets.lock().map(|p| p.clone()).unwrap_or_default()
    }

    /// Waits until `pred` holds over the packets (bounded).
    pub fn wait_until(&self, within: Duration, what: &str, pred: impl Fn(&[Received]) -> bool) {
        let deadline = Instant::now() + within;
        loop {
            if pred(&self.packets()) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "RTP: waited in vain for {what} ({} packets)",
                self.packets().len()
            );
            wait_a_moment();
        }
    }

    /// Sends one RFC 4733 digit (PT 101) to where the audio came from.
    pub fn send_digit(&self, digit: char, ts: u32, seq: &mut u16) {
        let Some(dest) = self.packets().first().map(|p| p.source) else {
            panic!("no RTP received yet, so no address to send DTMF to");
        };
        let event = dtmf_event(digit).unwrap_or(11);
        for step in 1..=4u16 {
            let payload = telephone_event(event, false, step * 160);
            let pkt = rtp_packet(TELEPHONE_EVENT_PT, step == 1, *seq, ts, 0x7e57, &payload);
            *seq = seq.wrapping_add(1);
            self.socket.send_to(&pkt, dest).expect("send DTMF");
        }
        for _ in 0..3 {
            let payload = telephone_event(event, true, 800);
            let pkt = rtp_packet(TELEPHONE_EVENT_PT, false, *seq, ts, 0x7e57, &payload);
            self.socket.send_to(&pkt, dest).expect("send DTMF end");
        }
        *seq = seq.wrapping_add(1);
    }
}

/// The frames (20 ms payloads) of a prompt as the engine sends them.
pub fn prompt_frames(library: &voxpin_media::PromptLibrary, name: &str) -> Vec<Vec<u8>> {
    let lang = voxpin_media::Language::new("en").expect("language");
    let prompt = library
        .prompt(&lang, name)
        .unwrap_or_else(|| panic!("prompt {name} missing"));
    (0..prompt.frame_count())
        .filter_map(|i| {
            prompt
                .frame(voxpin_media::Codec::Pcmu, i)
                .map(|b| b.to_vec())
        })
        .collect()
}

/// The prompt library shipped in the repository.
pub fn prompts() -> voxpin_media::PromptLibrary {
    voxpin_media::PromptLibrary::load_dir(&repo_root().join("prompts")).expect("load prompts")
}

/// Whether `frames` (a prompt) were heard starting at `received[at]`: the
/// received frames from there are the prompt's frames in order, some possibly
/// missing (under load the sender skips the slots of a stall rather than
/// bursting, and the first frames may be among them), at least 80 % present.
/// Returns how many received frames it spans.
fn heard_at(received: &[Vec<u8>], at: usize, frames: &[Vec<u8>]) -> Option<usize> {
    let first = received.get(at)?;
    let skip = frames.iter().take(4).position(|f| f == first)?;
    let (mut r, mut matched) = (at, 0usize);
    for f in frames.iter().skip(skip) {
        if received.get(r) == Some(f) {
            r += 1;
            matched += 1;
        }
    }
    (matched * 10 >= frames.len() * 8).then_some(r - at)
}

/// Positions where `prompts` (each a frame sequence) appear, in order, in
/// the received audio; `None` if one is missing.
pub fn find_in_order(received: &[Vec<u8>], prompts: &[Vec<Vec<u8>>]) -> Option<Vec<usize>> {
    let mut from = 0;
    let mut at = Vec::new();
    for frames in prompts {
        let (pos, span) =
            (from..received.len()).find_map(|i| heard_at(received, i, frames).map(|s| (i, s)))?;
        at.push(pos);
        from = pos + span;
    }
    Some(at)
}

/// How many times `frames` appear as a contiguous run in `received`.
pub fn count_runs(received: &[Vec<u8>], frames: &[Vec<u8>]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < received.len() {
        match heard_at(received, i, frames) {
            Some(span) if !frames.is_empty() => {
                n += 1;
                i += span;
            }
            _ => i += 1,
        }
    }
    n
}

/// The audio payloads (PT 0) of the received packets.
pub fn audio(packets: &[Received]) -> Vec<Vec<u8>> {
    packets
        .iter()
        .filter(|p| p.payload_type == 0)
        .map(|p| p.payload.clone())
        .collect()
}

/// A local HTTP receiver (an SMS gateway stand-in): answers 200 to every
/// request and keeps the request texts.
pub struct HttpReceiver {
    /// Its port.
    pub port: u16,
    requests: Arc<Mutex<Vec<String>>>,
}

impl HttpReceiver {
    /// Listens on `127.0.0.1:port`.
    pub fn start(port: u16) -> Self {
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", port)).expect("bind HTTP receiver");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let store = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let mut stream = stream;
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then the body by Content-Length.
                while let Ok(n) = stream.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some((head, body)) = text.split_once("\r\n\r\n") {
                        let len = head
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if body.len() >= len {
                            break;
                        }
                    }
                }
                if let Ok(mut r) = store.lock() {
                    r.push(String::from_utf8_lossy(&buf).into_owned());
                }
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK",
                );
            }
        });
        Self { port, requests }
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}
